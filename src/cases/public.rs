//! What residents see of the cases around them (issue 24 part 3), as cases keeps it: the
//! published cases of a place described without personal data (no names, no flats: the
//! building at most, the description masked), "me too" supports counted on a case (one per
//! account, never the reporter's own), photos shown only when their uploader allowed it and a
//! worker approved them, and the reporter's own updates on her open report's timeline.
//!
//! Other areas (the nearby pages) read these through cases' surface; cases never knows them.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

use super::published::load_public;
use super::{Case, CaseError, State, Why};
use crate::kernel::i18n::{Lang, Tr};
use crate::params;
use crate::store::{Conn, StoreError};

/// Days a fixed report stays on the public page.
pub const FIXED_DAYS: i64 = 30;
/// Metres within which a report with a point is "nearby" another point.
pub const NEAR_M: f64 = 200.0;
/// At most this many characters in a reporter's update.
pub const MAX_UPDATE: usize = 1000;

const DAY_MS: i64 = 86_400_000;

/// A report as residents may see it: no reporter, no flat, the description masked.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PublicReport {
    pub id: i64,
    /// The category's code.
    pub category: String,
    /// The category's name in the reader's language.
    pub category_name: String,
    pub state: State,
    /// `open` or `closed`.
    pub status: String,
    /// The state in words written for the public.
    pub status_text: String,
    /// The description with phone, ID and flat numbers masked.
    pub description: String,
    /// The building (or, off any building, the area) it is at, never the flat.
    pub place_id: i64,
    pub place_name: String,
    /// The building's centre, or the spot rounded to about a hundred metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// The organisation handling it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// Residents who said "me too".
    pub supports: i64,
    /// Photos shown publicly (allowed by their uploader and approved by a worker): their ids
    /// for `GET /api/v1/nearby/photos/{id}` (the thumbnail, without its location).
    pub photos: Vec<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    /// Where its building is: the case's place path (used to judge who may read it; never
    /// shown).
    #[serde(skip)]
    pub place_path: String,
    /// The account that reported it (never shown; whether the reader is its reporter).
    #[serde(skip)]
    pub reporter_id: Option<i64>,
}

/// What to read: the places (a community's path), one category, some cases only.
#[derive(Clone, Debug, Default)]
pub struct PublicQuery {
    pub street_id: i64,
    pub paths: Vec<String>,
    pub category: Option<String>,
    pub ids: Vec<i64>,
}

/// The published reports of `q`'s places still open or fixed within [`FIXED_DAYS`].
pub fn reports(
    c: &mut dyn Conn,
    q: &PublicQuery,
    lang: Lang,
    now: i64,
) -> Result<Vec<PublicReport>, StoreError> {
    let since = now - FIXED_DAYS * DAY_MS;
    let rows = load_public(
        c,
        q.street_id,
        &q.paths,
        &q.ids,
        q.category.as_deref(),
        since,
        now,
    )?;
    let ids: Vec<i64> = rows.iter().map(|p| p.case.id.0).collect();
    let counts = support_counts(c, &ids)?;
    let photos = public_photos(c, &ids)?;
    let t = Tr(lang);
    Ok(rows
        .into_iter()
        .map(|p| {
            let k = &p.case;
            let id = k.id.0;
            PublicReport {
                id,
                category: k.category.clone(),
                category_name: k.category_name(lang).to_string(),
                state: k.state,
                status: if k.is_open() { "open" } else { "closed" }.into(),
                status_text: t.k("open311.status", k.state.as_str()).to_string(),
                description: crate::privacy::mask::public_text(&k.description),
                place_id: p.place_id,
                place_name: p.place_name.clone(),
                lat: p.point.map(|x| x.0),
                lon: p.point.map(|x| x.1),
                agency: k.handler_org_name.clone(),
                supports: counts.get(&id).copied().unwrap_or(0),
                photos: photos.get(&id).cloned().unwrap_or_default(),
                created_at: k.created_at,
                updated_at: k.updated_at,
                resolved_at: k.resolved_at,
                closed_at: k.closed_at,
                place_path: k.place_path.clone(),
                reporter_id: k.reporter_id,
            }
        })
        .collect())
}

/// One published report (open, or fixed within [`FIXED_DAYS`]).
pub fn report(
    c: &mut dyn Conn,
    street: i64,
    id: i64,
    lang: Lang,
    now: i64,
) -> Result<Option<PublicReport>, StoreError> {
    let q = PublicQuery {
        street_id: street,
        ids: vec![id],
        ..PublicQuery::default()
    };
    Ok(reports(c, &q, lang, now)?.pop())
}

/// Open published reports of a category near a place: in the same building, or within
/// [`NEAR_M`] of a point when both have one (what a resident sees before reporting).
pub fn near(
    c: &mut dyn Conn,
    q: &PublicQuery,
    building_id: Option<i64>,
    point: Option<(f64, f64)>,
    lang: Lang,
    now: i64,
) -> Result<Vec<PublicReport>, StoreError> {
    let all = reports(c, q, lang, now)?;
    Ok(all
        .into_iter()
        .filter(|r| r.status == "open")
        .filter(|r| {
            building_id == Some(r.place_id)
                || point
                    .zip(r.lat.zip(r.lon))
                    .is_some_and(|((a, o), (b, p))| super::dedupe::distance_m(a, o, b, p) <= NEAR_M)
        })
        .collect())
}

fn support_counts(c: &mut dyn Conn, ids: &[i64]) -> Result<HashMap<i64, i64>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let l: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    Ok(c.query(
        &format!(
            "SELECT case_id, COUNT(*) FROM case_supports WHERE case_id IN ({}) GROUP BY case_id",
            l.join(", ")
        ),
        &[],
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1)))
    .collect())
}

fn public_photos(c: &mut dyn Conn, ids: &[i64]) -> Result<HashMap<i64, Vec<i64>>, StoreError> {
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let l: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    for r in c.query(
        &format!(
            "SELECT case_id, id FROM case_photos WHERE case_id IN ({}) AND public_ok = 1 \
             AND approved_at IS NOT NULL ORDER BY id",
            l.join(", ")
        ),
        &[],
    )? {
        out.entry(r.i64(0)).or_default().push(r.i64(1));
    }
    Ok(out)
}

/// The reporters of duplicates merged into a case: they learn when it is done, as its own
/// reporter does.
pub fn merged_reporters(c: &mut dyn Conn, case_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(c.query(
        "SELECT user_id FROM case_followers WHERE case_id = $1 ORDER BY user_id",
        params![case_id],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// How many residents said "me too" on a case.
pub fn supports(c: &mut dyn Conn, case_id: i64) -> Result<i64, StoreError> {
    c.query_i64(
        "SELECT COUNT(*) FROM case_supports WHERE case_id = $1",
        params![case_id],
    )
}

/// The cases among `ids` the account said "me too" on.
pub fn supported_by(c: &mut dyn Conn, ids: &[i64], user: i64) -> Result<HashSet<i64>, StoreError> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let l: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    Ok(c.query(
        &format!(
            "SELECT case_id FROM case_supports WHERE user_id = $1 AND case_id IN ({})",
            l.join(", ")
        ),
        params![user],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

fn conflict(key: &'static str) -> CaseError {
    CaseError::Conflict(Why::Key(key))
}

/// "Me too" on an open published report: counted once per account, never by its reporter.
/// Returns the count after it; an account that already supported it is refused (409).
pub fn support(
    c: &mut dyn Conn,
    report: &PublicReport,
    street: i64,
    user: i64,
    now: i64,
) -> Result<i64, CaseError> {
    if report.reporter_id == Some(user) {
        return Err(CaseError::Forbidden(Why::Key("case.err_support_own")));
    }
    if report.status != "open" {
        return Err(conflict("case.err_support_closed"));
    }
    let added = c.exec(
        "INSERT INTO case_supports (street_id, case_id, user_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
        params![street, report.id, user, now],
    )?;
    if added == 0 {
        return Err(conflict("case.err_support_twice"));
    }
    Ok(supports(c, report.id)?)
}

/// The reporter's update on her open report: a note on its timeline (`update`), in her
/// words as typed.
pub fn add_update(
    c: &mut dyn Conn,
    case: &Case,
    user: i64,
    name: &str,
    text: &str,
    now: i64,
) -> Result<(), CaseError> {
    if case.reporter_id != Some(user) {
        return Err(CaseError::NotFound);
    }
    if !case.is_open() {
        return Err(conflict("case.err_update_closed"));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(CaseError::Invalid("case.err_update_empty"));
    }
    if text.chars().count() > MAX_UPDATE {
        return Err(CaseError::Invalid("case.err_too_long"));
    }
    crate::kernel::text::check_note(text).map_err(CaseError::Invalid)?;
    super::record_event(
        c,
        case.street_id,
        case.id.0,
        now,
        (Some(user), name),
        "update",
        case.state.as_str(),
        case.state.as_str(),
        text,
        serde_json::json!({}),
    )?;
    c.exec(
        "UPDATE cases SET updated_at = $2 WHERE id = $1 AND updated_at < $2",
        params![case.id.0, now],
    )?;
    super::hooks::stepped(
        c,
        &super::hooks::Stepped {
            case,
            action: "update",
            to: case.state,
            by: Some(user),
            at: now,
            note: text,
        },
    )?;
    // Whoever handles it hears of it in linli.
    super::notify::to_handler(
        c,
        case.street_id,
        case.handler_org_id,
        case.handler_user_id,
        "reporter_update",
        case.id.0,
        text,
        now,
    )?;
    Ok(())
}

/// A worker's approval of a photo for the public page (faces and plates checked). Only a
/// photo its uploader allowed to be shown may be approved.
pub fn approve_photo(
    c: &mut dyn Conn,
    case_id: i64,
    photo_id: i64,
    by: i64,
    now: i64,
) -> Result<(), CaseError> {
    let Some(r) = c.query_opt(
        "SELECT public_ok, approved_at FROM case_photos WHERE id = $1 AND case_id = $2",
        params![photo_id, case_id],
    )?
    else {
        return Err(CaseError::NotFound);
    };
    if r.i64(0) != 1 {
        return Err(conflict("case.err_photo_not_allowed"));
    }
    if r.opt_i64(1).is_some() {
        return Ok(());
    }
    c.exec(
        "UPDATE case_photos SET approved_by = $3, approved_at = $4 WHERE id = $1 AND case_id = $2",
        params![photo_id, case_id, by, now],
    )?;
    Ok(())
}

/// A photo shown publicly: (case id, its thumbnail's file), when allowed and approved.
pub fn public_photo(c: &mut dyn Conn, photo_id: i64) -> Result<Option<(i64, String)>, StoreError> {
    Ok(c.query_opt(
        "SELECT case_id, thumb FROM case_photos WHERE id = $1 AND public_ok = 1 AND approved_at IS NOT NULL",
        params![photo_id],
    )?
    .map(|r| (r.i64(0), r.str(1))))
}

/// Marks a photo its uploader allows on the public page (asked when uploading).
pub fn allow_photo(c: &mut dyn Conn, photo_id: i64) -> Result<(), StoreError> {
    c.exec(
        "UPDATE case_photos SET public_ok = 1 WHERE id = $1",
        params![photo_id],
    )?;
    Ok(())
}

/// The photos of a case as their public state: (id, allowed by the uploader, approved).
pub fn photo_states(
    c: &mut dyn Conn,
    case_id: i64,
) -> Result<HashMap<i64, (bool, bool)>, StoreError> {
    Ok(c.query(
        "SELECT id, public_ok, approved_at FROM case_photos WHERE case_id = $1",
        params![case_id],
    )?
    .iter()
    .map(|r| (r.i64(0), (r.i64(1) == 1, r.opt_i64(2).is_some())))
    .collect())
}

/// The places whose public reports a caller reads: the community she lives or works in (a
/// resident's home, a grid worker's grid, widened to their community), a street's or a
/// community's whole place for those who work there, the places an organisation serves.
/// Empty for an account of no street.
pub fn reader_paths(
    c: &mut dyn Conn,
    caller: &crate::org::Caller,
) -> Result<Vec<String>, StoreError> {
    if caller.street_id.is_none() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<String> = Vec::new();
    for g in &caller.grants {
        if let Some(p) = &g.place {
            paths.push(p.path.clone());
        }
        if let Some(o) = &g.org {
            paths.extend(o.serves.iter().cloned());
        }
    }
    paths.sort();
    paths.dedup();
    let above = crate::org::places::names_above(c, paths.iter().cloned())?;
    let mut out: Vec<String> = paths
        .into_iter()
        .map(|p| {
            // The community above a place below one; the place itself otherwise.
            let parts: Vec<&str> = p.split('/').collect();
            (1..parts.len())
                .map(|i| parts[..i].join("/"))
                .find(|prefix| {
                    above
                        .get(prefix)
                        .is_some_and(|(kind, _)| kind == "community")
                })
                .unwrap_or(p)
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The building a place is or is in (a building, or a flat's building).
pub fn building_of(c: &mut dyn Conn, place_id: i64) -> Result<Option<i64>, StoreError> {
    Ok(c.query_opt(
        "SELECT p.id, p.kind, b.id, b.kind FROM places p LEFT JOIN places b ON b.id = p.parent_id \
         WHERE p.id = $1",
        params![place_id],
    )?
    .and_then(|r| match (r.str(1).as_str(), r.opt_str(3).as_deref()) {
        ("building", _) => Some(r.i64(0)),
        (_, Some("building")) => r.opt_i64(2),
        _ => None,
    }))
}
