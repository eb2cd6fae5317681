//! The call-ups area's tables: volunteers' profiles and the buildings they cover, calls, and
//! each call's recipients (frozen when it is sent) with their answers.

use serde::Serialize;
use utoipa::ToSchema;

use crate::params;
use crate::store::{Conn, Result, Row, Val, under_paths};

/// Skill codes as stored: enclosed in commas, so `LIKE '%,medical,%'` finds one.
pub fn join_skills(skills: &[String]) -> String {
    if skills.is_empty() {
        String::new()
    } else {
        format!(",{},", skills.join(","))
    }
}

pub fn split_skills(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// A volunteer's profile as stored.
pub struct ProfileRow {
    pub user_id: i64,
    pub street_id: i64,
    pub skills: Vec<String>,
    pub phone_enc: Option<Vec<u8>>,
    pub phone_masked: String,
    pub updated_at: i64,
    /// `resident`, `party_member` or `unit_staff`.
    pub affiliation: String,
    pub party_org: String,
    pub party_registered_on: Option<String>,
    pub unit_org_id: Option<i64>,
    /// Weekly slots (`mon_morning`).
    pub availability: Vec<String>,
    pub availability_note: String,
}

fn profile_row(r: &Row) -> ProfileRow {
    ProfileRow {
        user_id: r.i64(0),
        street_id: r.i64(1),
        skills: split_skills(&r.str(2)),
        phone_enc: r.blob(3).filter(|b| !b.is_empty()),
        phone_masked: r.str(4),
        updated_at: r.i64(5),
        affiliation: r.str(6),
        party_org: r.str(7),
        party_registered_on: r.opt_str(8),
        unit_org_id: r.opt_i64(9),
        availability: split_skills(&r.str(10)),
        availability_note: r.str(11),
    }
}

const PROFILE: &str = "SELECT user_id, street_id, skills, phone_enc, phone_masked, updated_at, affiliation, \
     party_org, party_registered_on, unit_org_id, availability, availability_note FROM callup_profiles";

pub fn profile(c: &mut dyn Conn, user_id: i64) -> Result<Option<ProfileRow>> {
    Ok(
        c.query_opt(&format!("{PROFILE} WHERE user_id = $1"), params![user_id])?
            .as_ref()
            .map(profile_row),
    )
}

/// The profiles of a street's volunteers, by account.
pub fn profiles(
    c: &mut dyn Conn,
    street_id: i64,
) -> Result<std::collections::HashMap<i64, ProfileRow>> {
    Ok(c.query(
        &format!("{PROFILE} WHERE street_id = $1"),
        params![street_id],
    )?
    .iter()
    .map(|r| {
        let p = profile_row(r);
        (p.user_id, p)
    })
    .collect())
}

/// The buildings each of a street's volunteers covers: `user → [(building id, path)]`.
pub fn covers(
    c: &mut dyn Conn,
    street_id: i64,
) -> Result<std::collections::HashMap<i64, Vec<(i64, String)>>> {
    let mut out: std::collections::HashMap<i64, Vec<(i64, String)>> = Default::default();
    for r in c.query(
        "SELECT user_id, building_id, building_path FROM callup_cover WHERE street_id = $1 ORDER BY user_id, building_path",
        params![street_id],
    )? {
        out.entry(r.i64(0))
            .or_default()
            .push((r.i64(1), r.str(2)));
    }
    Ok(out)
}

/// Writes a volunteer's profile whole: her skills, her buildings, and her phone when
/// `phone` is given (`Some(None)` clears it).
pub fn save_profile(
    c: &mut dyn Conn,
    user_id: i64,
    street_id: i64,
    skills: &[String],
    buildings: &[(i64, String)],
    phone: Option<Option<(Vec<u8>, String)>>,
    now: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO callup_profiles (user_id, street_id, skills, phone_masked, updated_at) VALUES ($1, $2, $3, '', $4) \
         ON CONFLICT (user_id) DO UPDATE SET street_id = $2, skills = $3, updated_at = $4",
        params![user_id, street_id, join_skills(skills), now],
    )?;
    if let Some(phone) = phone {
        let (enc, masked) = match phone {
            Some((e, m)) => (Some(e), m),
            None => (None, String::new()),
        };
        c.exec(
            "UPDATE callup_profiles SET phone_enc = $2, phone_masked = $3 WHERE user_id = $1",
            params![user_id, enc, masked],
        )?;
    }
    c.exec(
        "DELETE FROM callup_cover WHERE user_id = $1",
        params![user_id],
    )?;
    for (id, path) in buildings {
        c.exec(
            "INSERT INTO callup_cover (user_id, street_id, building_id, building_path) VALUES ($1, $2, $3, $4)",
            params![user_id, street_id, *id, path.as_str()],
        )?;
    }
    Ok(())
}

/// What a volunteer says she is: the affiliation and its particulars, written whole.
pub struct AffiliationRow<'a> {
    pub affiliation: &'a str,
    pub party_org: &'a str,
    pub party_registered_on: Option<String>,
    pub unit_org_id: Option<i64>,
}

/// Writes a volunteer's affiliation (her profile row exists: `save_profile` runs first).
pub fn save_affiliation(c: &mut dyn Conn, user_id: i64, a: &AffiliationRow) -> Result<()> {
    c.exec(
        "UPDATE callup_profiles SET affiliation = $2, party_org = $3, party_registered_on = $4, unit_org_id = $5 \
         WHERE user_id = $1",
        params![
            user_id,
            a.affiliation,
            a.party_org,
            a.party_registered_on.clone(),
            a.unit_org_id
        ],
    )?;
    Ok(())
}

/// Writes a volunteer's weekly slots and her note on them.
pub fn save_availability(
    c: &mut dyn Conn,
    user_id: i64,
    slots: &[String],
    note: &str,
) -> Result<()> {
    c.exec(
        "UPDATE callup_profiles SET availability = $2, availability_note = $3 WHERE user_id = $1",
        params![user_id, join_skills(slots), note],
    )?;
    Ok(())
}

/// A call as stored.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Callup)]
pub struct Call {
    pub id: i64,
    pub street_id: i64,
    pub title: String,
    /// What is needed.
    pub needs: String,
    /// When, Unix ms.
    pub starts_at: i64,
    /// Where: a place of the organiser's scope, and a note.
    pub place_id: i64,
    pub where_note: String,
    /// Whom: the volunteers of this community, grid or building.
    pub audience_id: i64,
    pub audience_path: String,
    /// Skill codes wanted (any of); empty for all.
    pub skills: Vec<String>,
    /// How many people are needed.
    pub wanted: i64,
    /// `normal` or `urgent`.
    pub urgency: String,
    /// `open`, `filled` or `cancelled`.
    pub state: String,
    pub close_reason: String,
    pub created_by: i64,
    pub created_by_name: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

const CALL: &str = "SELECT id, street_id, title, needs, starts_at, place_id, where_note, audience_id, audience_path, skills, \
     wanted, urgency, state, close_reason, created_by, created_by_name, created_at, closed_at FROM callups";

fn call(r: &Row) -> Call {
    Call {
        id: r.i64(0),
        street_id: r.i64(1),
        title: r.str(2),
        needs: r.str(3),
        starts_at: r.i64(4),
        place_id: r.i64(5),
        where_note: r.str(6),
        audience_id: r.i64(7),
        audience_path: r.str(8),
        skills: split_skills(&r.str(9)),
        wanted: r.i64(10),
        urgency: r.str(11),
        state: r.str(12),
        close_reason: r.str(13),
        created_by: r.i64(14),
        created_by_name: r.str(15),
        created_at: r.i64(16),
        closed_at: r.opt_i64(17),
    }
}

pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Call>> {
    Ok(c.query_opt(&format!("{CALL} WHERE id = $1"), params![id])?
        .as_ref()
        .map(call))
}

/// The calls to audiences under `paths`, open first, newest first (at most `limit`).
pub fn under(c: &mut dyn Conn, paths: &[String], limit: i64) -> Result<Vec<Call>> {
    let mut p: Vec<Val> = vec![Val::Int(limit)];
    let cond = under_paths("audience_path", paths, 2, &mut p);
    Ok(c.query(
        &format!(
            "{CALL} WHERE {cond} ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END, id DESC LIMIT $1"
        ),
        &p,
    )?
    .iter()
    .map(call)
    .collect())
}

/// The calls sent to a volunteer, open first, newest first, with her answer.
pub fn received(c: &mut dyn Conn, user_id: i64, limit: i64) -> Result<Vec<(Call, String)>> {
    let ids: Vec<(i64, String)> = c
        .query(
            "SELECT callup_id, answer FROM callup_recipients WHERE user_id = $1 ORDER BY callup_id DESC LIMIT $2",
            params![user_id, limit],
        )?
        .iter()
        .map(|r| (r.i64(0), r.str(1)))
        .collect();
    let mut out = Vec::new();
    for (id, answer) in ids {
        if let Some(k) = get(c, id)? {
            out.push((k, answer));
        }
    }
    out.sort_by_key(|(k, _)| (k.state != "open", std::cmp::Reverse(k.id)));
    Ok(out)
}

pub struct NewCall<'a> {
    pub street_id: i64,
    pub title: &'a str,
    pub needs: &'a str,
    pub starts_at: i64,
    pub place_id: i64,
    pub where_note: &'a str,
    pub audience_id: i64,
    pub audience_path: &'a str,
    pub skills: &'a [String],
    pub wanted: i64,
    pub urgency: &'a str,
    pub created_by: i64,
    pub created_by_name: &'a str,
}

/// Writes a call and its recipients (frozen from now on).
pub fn insert(c: &mut dyn Conn, n: &NewCall, recipients: &[i64], now: i64) -> Result<i64> {
    let id = c.query_i64(
        "INSERT INTO callups (street_id, title, needs, starts_at, place_id, where_note, audience_id, audience_path, skills, \
         wanted, urgency, state, created_by, created_by_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $13, $14) RETURNING id",
        params![
            n.street_id,
            n.title,
            n.needs,
            n.starts_at,
            n.place_id,
            n.where_note,
            n.audience_id,
            n.audience_path,
            join_skills(n.skills),
            n.wanted,
            n.urgency,
            n.created_by,
            n.created_by_name,
            now
        ],
    )?;
    let rows: Vec<Vec<Val>> = recipients
        .iter()
        .map(|u| vec![Val::Int(id), Val::Int(*u), Val::Int(n.street_id)])
        .collect();
    c.insert_many(
        "callup_recipients",
        &["callup_id", "user_id", "street_id"],
        &rows,
    )?;
    Ok(id)
}

/// A recipient and her answer.
#[derive(Clone, Debug)]
pub struct RecipientRow {
    pub user_id: i64,
    pub answer: String,
    pub note: String,
    pub answered_at: Option<i64>,
}

pub fn recipients(c: &mut dyn Conn, id: i64) -> Result<Vec<RecipientRow>> {
    Ok(c.query(
        "SELECT user_id, answer, note, answered_at FROM callup_recipients WHERE callup_id = $1 ORDER BY answered_at, user_id",
        params![id],
    )?
    .iter()
    .map(|r| RecipientRow {
        user_id: r.i64(0),
        answer: r.str(1),
        note: r.str(2),
        answered_at: r.opt_i64(3),
    })
    .collect())
}

pub fn recipient(c: &mut dyn Conn, id: i64, user_id: i64) -> Result<Option<RecipientRow>> {
    Ok(c.query_opt(
        "SELECT user_id, answer, note, answered_at FROM callup_recipients WHERE callup_id = $1 AND user_id = $2",
        params![id, user_id],
    )?
    .map(|r| RecipientRow {
        user_id: r.i64(0),
        answer: r.str(1),
        note: r.str(2),
        answered_at: r.opt_i64(3),
    }))
}

/// Records an answer while the call is open; whether it was (the call's row is read in the
/// same statement, so an answer never lands on a closed call).
pub fn answer(
    c: &mut dyn Conn,
    id: i64,
    user_id: i64,
    answer: &str,
    note: &str,
    now: i64,
) -> Result<bool> {
    Ok(c.exec(
        "UPDATE callup_recipients SET answer = $3, note = $4, answered_at = $5 \
         WHERE callup_id = $1 AND user_id = $2 AND EXISTS (SELECT 1 FROM callups k WHERE k.id = $1 AND k.state = 'open')",
        params![id, user_id, answer, note, now],
    )? == 1)
}

/// Closes an open call; whether it was open.
pub fn close(c: &mut dyn Conn, id: i64, state: &str, reason: &str, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE callups SET state = $2, close_reason = $3, closed_at = $4 WHERE id = $1 AND state = 'open'",
        params![id, state, reason, now],
    )? == 1)
}

/// The open calls a volunteer has not answered yet.
pub fn unanswered(c: &mut dyn Conn, user_id: i64) -> Result<Vec<Call>> {
    let ids: Vec<i64> = c
        .query(
            "SELECT r.callup_id FROM callup_recipients r JOIN callups k ON k.id = r.callup_id \
             WHERE r.user_id = $1 AND r.answer = '' AND k.state = 'open' ORDER BY r.callup_id DESC LIMIT 20",
            params![user_id],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    let mut out = Vec::new();
    for id in ids {
        if let Some(k) = get(c, id)? {
            out.push(k);
        }
    }
    Ok(out)
}

/// Answers by kind for a set of calls: `call → (coming, not available, recipients)`.
pub fn tallies(
    c: &mut dyn Conn,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, (i64, i64, i64)>> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let vals: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
        for r in c.query(
            &format!(
                "SELECT callup_id, \
                 CAST(SUM(CASE WHEN answer = 'coming' THEN 1 ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN answer = 'not_available' THEN 1 ELSE 0 END) AS BIGINT), \
                 CAST(COUNT(*) AS BIGINT) FROM callup_recipients WHERE callup_id IN ({}) GROUP BY callup_id",
                marks.join(", ")
            ),
            &vals,
        )? {
            out.insert(r.i64(0), (r.i64(1), r.i64(2), r.i64(3)));
        }
    }
    Ok(out)
}
