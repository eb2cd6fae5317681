//! A person's consent to a device watching over her (issue 21, part 6): a device is bound to a
//! person only with it, recorded in the same transaction as the binding — who recorded it,
//! when, how (a paper form, scanned, or in person) and for what purpose. Withdrawing it unbinds
//! the person; the device stays on its unit. Consents are kept after withdrawal, as a record.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::params;
use crate::store::{Conn, Result, Row};

/// How a consent was given.
pub const HOWS: [&str; 2] = ["paper_form", "in_person"];

/// A consent as the device page and the API show it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Consent {
    pub id: i64,
    pub device_id: i64,
    pub person_id: i64,
    /// `paper_form` (a signed form, scanned) or `in_person`.
    pub how: String,
    pub purpose: String,
    /// The account that recorded it (none for the demo's own data).
    pub recorded_by: Option<i64>,
    /// That account's name.
    pub recorded_by_name: Option<String>,
    pub recorded_at: i64,
    /// The scanned form's file reference.
    pub scan_ref: Option<String>,
    pub withdrawn_at: Option<i64>,
}

impl Consent {
    /// The translation key (section `consent`) of how it was given.
    pub fn how_key(&self) -> String {
        format!("consent.how_{}", self.how)
    }
}

/// A consent to record (each value already checked).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsent {
    /// `paper_form` (a signed form, scanned) or `in_person`.
    pub how: String,
    /// What the device watches over her for (e.g. 独居老人安全看护).
    pub purpose: String,
    /// The scanned form's file reference (for `paper_form`).
    #[serde(default)]
    pub scan_ref: Option<String>,
}

const COLS: &str =
    "id, device_id, person_id, how, purpose, recorded_by, recorded_at, scan_ref, withdrawn_at";

fn row(r: Row) -> Consent {
    Consent {
        id: r.i64(0),
        device_id: r.i64(1),
        person_id: r.i64(2),
        how: r.str(3),
        purpose: r.str(4),
        recorded_by: r.opt_i64(5),
        recorded_by_name: None,
        recorded_at: r.i64(6),
        scan_ref: r.opt_str(7),
        withdrawn_at: r.opt_i64(8),
    }
}

/// Records a consent of `person_id` for `device_id`, withdrawing any current one first.
#[allow(clippy::too_many_arguments)]
pub fn record(
    c: &mut dyn Conn,
    street_id: i64,
    device_id: i64,
    person_id: i64,
    consent: &NewConsent,
    by: Option<i64>,
    now: i64,
) -> Result<i64> {
    withdraw(c, device_id, by, now)?;
    c.query_i64(
        "INSERT INTO device_consents (street_id, device_id, person_id, how, purpose, recorded_by, \
         recorded_at, scan_ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        params![
            street_id,
            device_id,
            person_id,
            consent.how.as_str(),
            consent.purpose.trim(),
            by,
            now,
            consent
                .scan_ref
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
        ],
    )
}

/// Marks the device's current consent withdrawn; returns its person, if there was one.
pub fn withdraw(
    c: &mut dyn Conn,
    device_id: i64,
    by: Option<i64>,
    now: i64,
) -> Result<Option<i64>> {
    let cur = current(c, device_id)?;
    if cur.is_some() {
        c.exec(
            "UPDATE device_consents SET withdrawn_at = $2, withdrawn_by = $3 \
             WHERE device_id = $1 AND withdrawn_at IS NULL",
            params![device_id, now, by],
        )?;
    }
    Ok(cur.map(|c| c.person_id))
}

/// The device's current (not withdrawn) consent.
pub fn current(c: &mut dyn Conn, device_id: i64) -> Result<Option<Consent>> {
    let found = c
        .query_opt(
            &format!(
                "SELECT {COLS} FROM device_consents WHERE device_id = $1 AND withdrawn_at IS NULL"
            ),
            params![device_id],
        )?
        .map(row);
    let Some(mut found) = found else {
        return Ok(None);
    };
    if let Some(u) = found.recorded_by {
        found.recorded_by_name = crate::org::users::by_id(c, u)?.map(|u| u.display_name);
    }
    Ok(Some(found))
}

/// Records the demo's consents for its person-bound devices of a street (recorded in person,
/// by nobody in particular: the demo's data are made, not collected).
pub fn demo_all(c: &mut dyn Conn, street_id: i64, purpose: &str, now: i64) -> Result<()> {
    c.exec(
        "INSERT INTO device_consents (street_id, device_id, person_id, how, purpose, recorded_at) \
         SELECT street_id, id, person_id, 'in_person', CAST($2 AS TEXT), CAST($3 AS BIGINT) FROM devices \
         WHERE street_id = $1 AND person_id IS NOT NULL",
        params![street_id, purpose, now],
    )?;
    Ok(())
}
