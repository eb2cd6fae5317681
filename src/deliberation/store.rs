//! The deliberation area's tables: proposals, their supports, timeline, photos, comments and
//! reports; bodies, members, meetings, agenda, attendance, decisions and their progress; the
//! thresholds per street. Reads of places (the hierarchy every area stands on) are here too.

use crate::params;
use crate::store::{Conn, Result, Row, Val};

// ---- places ---------------------------------------------------------------------------------

/// A place as deliberation needs it.
#[derive(Clone, Debug)]
pub struct Spot {
    pub id: i64,
    pub street_id: Option<i64>,
    pub kind: String,
    pub name: String,
    pub path: String,
    pub estate: Option<String>,
}

fn spot(r: &Row) -> Spot {
    Spot {
        id: r.i64(0),
        street_id: r.opt_i64(1),
        kind: r.str(2),
        name: r.str(3),
        path: r.str(4),
        estate: r.opt_str(5).filter(|s| !s.is_empty()),
    }
}

const SPOT: &str = "SELECT id, street_id, kind, name, path, estate FROM places";

/// The places on the way to `path` (its ancestors and itself), from the top.
pub fn places_above(c: &mut dyn Conn, path: &str) -> Result<Vec<Spot>> {
    let parts: Vec<&str> = path.split('/').collect();
    let prefixes: Vec<String> = (1..=parts.len()).map(|i| parts[..i].join("/")).collect();
    let marks: Vec<String> = (1..=prefixes.len()).map(|i| format!("${i}")).collect();
    let vals: Vec<Val> = prefixes.into_iter().map(Val::Text).collect();
    Ok(c.query(
        &format!("{SPOT} WHERE path IN ({}) ORDER BY depth", marks.join(", ")),
        &vals,
    )?
    .iter()
    .map(spot)
    .collect())
}

pub fn place(c: &mut dyn Conn, id: i64) -> Result<Option<Spot>> {
    Ok(c.query_opt(&format!("{SPOT} WHERE id = $1"), params![id])?
        .map(|r| spot(&r)))
}

// ---- thresholds -----------------------------------------------------------------------------

pub fn thresholds(c: &mut dyn Conn, street_id: i64) -> Result<Vec<(String, i64)>> {
    Ok(c.query(
        "SELECT scope_kind, supports FROM delib_thresholds WHERE street_id = $1",
        params![street_id],
    )?
    .iter()
    .map(|r| (r.str(0), r.i64(1)))
    .collect())
}

pub fn set_threshold(c: &mut dyn Conn, street_id: i64, kind: &str, n: i64) -> Result<()> {
    c.exec(
        "INSERT INTO delib_thresholds (street_id, scope_kind, supports) VALUES ($1, $2, $3) \
         ON CONFLICT (street_id, scope_kind) DO UPDATE SET supports = excluded.supports",
        params![street_id, kind, n],
    )?;
    Ok(())
}

// ---- proposals ------------------------------------------------------------------------------

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Proposal)]
pub struct Proposal {
    pub id: i64,
    #[serde(skip)]
    pub street_id: i64,
    /// building, estate or community.
    pub scope_kind: String,
    pub scope_place_id: i64,
    #[serde(skip)]
    pub scope_path: String,
    pub scope_estate: Option<String>,
    /// The scope as shown (a building's, an estate's or a community's name).
    pub scope_name: String,
    pub place_id: Option<i64>,
    #[serde(skip)]
    pub author_user_id: i64,
    #[serde(skip)]
    pub author_person_id: i64,
    /// The author, masked: "3号楼 张**".
    pub author: String,
    pub title: String,
    pub body: String,
    /// proposed, supported, on_agenda, decided, done, rejected or withdrawn.
    pub state: String,
    pub supports: i64,
    pub threshold: i64,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const PROPOSAL: &str = "SELECT id, street_id, scope_kind, scope_place_id, scope_path, scope_estate, scope_name, \
    place_id, author_user_id, author_person_id, author_label, title, body, state, supports, threshold, reason, \
    created_at, updated_at FROM proposals";

fn proposal(r: &Row) -> Proposal {
    Proposal {
        id: r.i64(0),
        street_id: r.i64(1),
        scope_kind: r.str(2),
        scope_place_id: r.i64(3),
        scope_path: r.str(4),
        scope_estate: r.opt_str(5),
        scope_name: r.str(6),
        place_id: r.opt_i64(7),
        author_user_id: r.i64(8),
        author_person_id: r.i64(9),
        author: r.str(10),
        title: r.str(11),
        body: r.str(12),
        state: r.str(13),
        supports: r.i64(14),
        threshold: r.i64(15),
        reason: r.opt_str(16),
        created_at: r.i64(17),
        updated_at: r.i64(18),
    }
}

pub struct NewProposal<'a> {
    pub street_id: i64,
    pub scope_kind: &'a str,
    pub scope_place_id: i64,
    pub scope_path: &'a str,
    pub scope_estate: Option<&'a str>,
    pub scope_name: &'a str,
    pub place_id: Option<i64>,
    pub author_user_id: i64,
    pub author_person_id: i64,
    pub author_label: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub threshold: i64,
    pub now: i64,
}

pub fn insert_proposal(c: &mut dyn Conn, p: NewProposal<'_>) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO proposals (street_id, scope_kind, scope_place_id, scope_path, scope_estate, scope_name, place_id, \
         author_user_id, author_person_id, author_label, title, body, state, supports, threshold, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'proposed', 0, $13, $14, $14) RETURNING id",
        params![
            p.street_id,
            p.scope_kind,
            p.scope_place_id,
            p.scope_path,
            p.scope_estate.map(str::to_string),
            p.scope_name,
            p.place_id,
            p.author_user_id,
            p.author_person_id,
            p.author_label,
            p.title,
            p.body,
            p.threshold,
            p.now
        ],
    )?
    .i64(0))
}

pub fn proposal_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Proposal>> {
    Ok(
        c.query_opt(&format!("{PROPOSAL} WHERE id = $1"), params![id])?
            .map(|r| proposal(&r)),
    )
}

/// The proposals of a street whose scope lies under one of `paths` (or is one of them), newest
/// first; at most `limit`.
pub fn proposals_under(
    c: &mut dyn Conn,
    street_id: i64,
    paths: &[String],
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<Proposal>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = vec![Val::Int(street_id), Val::Int(limit)];
    let cond = crate::store::under_paths("scope_path", paths, 3, &mut p);
    let st = match state {
        Some(s) => {
            p.push(Val::Text(s.to_string()));
            format!(" AND state = ${}", p.len())
        }
        None => String::new(),
    };
    Ok(c.query(
        &format!("{PROPOSAL} WHERE street_id = $1 AND {cond}{st} ORDER BY updated_at DESC, id DESC LIMIT $2"),
        &p,
    )?
    .iter()
    .map(proposal)
    .collect())
}

/// The proposals whose scope path is one of `paths` exactly (a resident's building, estate's
/// community and community), newest first.
pub fn proposals_at(
    c: &mut dyn Conn,
    street_id: i64,
    paths: &[String],
    limit: i64,
) -> Result<Vec<Proposal>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = vec![Val::Int(street_id), Val::Int(limit)];
    let marks: Vec<String> = paths
        .iter()
        .map(|x| {
            p.push(Val::Text(x.clone()));
            format!("${}", p.len())
        })
        .collect();
    Ok(c.query(
        &format!(
            "{PROPOSAL} WHERE street_id = $1 AND scope_path IN ({}) ORDER BY updated_at DESC, id DESC LIMIT $2",
            marks.join(", ")
        ),
        &p,
    )?
    .iter()
    .map(proposal)
    .collect())
}

pub fn set_state(
    c: &mut dyn Conn,
    id: i64,
    state: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    c.exec(
        "UPDATE proposals SET state = $1, reason = COALESCE($2, reason), updated_at = $3 WHERE id = $4",
        params![state, reason.map(str::to_string), now, id],
    )?;
    Ok(())
}

/// Counts one more support; returns the new count.
pub fn bump_supports(c: &mut dyn Conn, id: i64, now: i64) -> Result<i64> {
    c.exec(
        "UPDATE proposals SET supports = supports + 1, updated_at = $1 WHERE id = $2",
        params![now, id],
    )?;
    c.query_i64("SELECT supports FROM proposals WHERE id = $1", params![id])
}

// ---- supports -------------------------------------------------------------------------------

/// Records a person's support; false when she already supports it.
pub fn insert_support(
    c: &mut dyn Conn,
    street_id: i64,
    proposal_id: i64,
    person_id: i64,
    user_id: i64,
    label: &str,
    now: i64,
) -> Result<bool> {
    let n = c.exec(
        "INSERT INTO proposal_supports (street_id, proposal_id, person_id, user_id, label, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (proposal_id, person_id) DO NOTHING",
        params![street_id, proposal_id, person_id, user_id, label, now],
    )?;
    Ok(n == 1)
}

pub fn supports(c: &mut dyn Conn, proposal_id: i64, person_id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM proposal_supports WHERE proposal_id = $1 AND person_id = $2",
        params![proposal_id, person_id],
    )?
    .is_some())
}

/// Who supports a proposal: (person, label), first first.
pub fn supporters(c: &mut dyn Conn, proposal_id: i64) -> Result<Vec<(i64, String)>> {
    Ok(c.query(
        "SELECT person_id, label FROM proposal_supports WHERE proposal_id = $1 ORDER BY id",
        params![proposal_id],
    )?
    .iter()
    .map(|r| (r.i64(0), r.str(1)))
    .collect())
}

// ---- timeline -------------------------------------------------------------------------------

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ProposalEvent)]
pub struct Event {
    /// proposed, supported, on_agenda, decided, progress, done, rejected or withdrawn.
    pub kind: String,
    pub note: Option<String>,
    pub meeting_id: Option<i64>,
    pub decision_id: Option<i64>,
    pub at: i64,
}

#[allow(clippy::too_many_arguments)]
pub fn add_event(
    c: &mut dyn Conn,
    street_id: i64,
    proposal_id: i64,
    kind: &str,
    note: Option<&str>,
    meeting_id: Option<i64>,
    decision_id: Option<i64>,
    now: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO proposal_events (street_id, proposal_id, kind, note, meeting_id, decision_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            street_id,
            proposal_id,
            kind,
            note.map(str::to_string),
            meeting_id,
            decision_id,
            now
        ],
    )?;
    Ok(())
}

pub fn events(c: &mut dyn Conn, proposal_id: i64) -> Result<Vec<Event>> {
    Ok(c.query(
        "SELECT kind, note, meeting_id, decision_id, at FROM proposal_events WHERE proposal_id = $1 ORDER BY at, id",
        params![proposal_id],
    )?
    .iter()
    .map(|r| Event {
        kind: r.str(0),
        note: r.opt_str(1),
        meeting_id: r.opt_i64(2),
        decision_id: r.opt_i64(3),
        at: r.i64(4),
    })
    .collect())
}

// ---- comments -------------------------------------------------------------------------------

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ProposalComment)]
pub struct Comment {
    pub id: i64,
    #[serde(skip)]
    pub proposal_id: i64,
    #[serde(skip)]
    pub user_id: i64,
    #[serde(skip)]
    pub person_id: Option<i64>,
    /// The author, masked.
    pub author: String,
    /// Empty when hidden.
    pub body: String,
    pub created_at: i64,
    pub hidden: bool,
    /// Who hid it, and why.
    pub hidden_by: Option<String>,
    pub hidden_reason: Option<String>,
}

const COMMENT: &str = "SELECT id, proposal_id, user_id, person_id, author_label, body, created_at, hidden_at, \
    hidden_by_label, hidden_reason FROM proposal_comments";

fn comment(r: &Row) -> Comment {
    let hidden = r.opt_i64(7).is_some();
    Comment {
        id: r.i64(0),
        proposal_id: r.i64(1),
        user_id: r.i64(2),
        person_id: r.opt_i64(3),
        author: r.str(4),
        body: if hidden { String::new() } else { r.str(5) },
        created_at: r.i64(6),
        hidden,
        hidden_by: r.opt_str(8),
        hidden_reason: r.opt_str(9),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn insert_comment(
    c: &mut dyn Conn,
    street_id: i64,
    proposal_id: i64,
    user_id: i64,
    person_id: Option<i64>,
    label: &str,
    body: &str,
    now: i64,
) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO proposal_comments (street_id, proposal_id, user_id, person_id, author_label, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![street_id, proposal_id, user_id, person_id, label, body, now],
    )?
    .i64(0))
}

/// An account's comments since `since`.
pub fn comments_since(c: &mut dyn Conn, user_id: i64, since: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM proposal_comments WHERE user_id = $1 AND created_at > $2",
        params![user_id, since],
    )
}

pub fn comments(c: &mut dyn Conn, proposal_id: i64) -> Result<Vec<Comment>> {
    Ok(c.query(
        &format!("{COMMENT} WHERE proposal_id = $1 ORDER BY created_at, id"),
        params![proposal_id],
    )?
    .iter()
    .map(comment)
    .collect())
}

pub fn comment_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Comment>> {
    Ok(
        c.query_opt(&format!("{COMMENT} WHERE id = $1"), params![id])?
            .map(|r| comment(&r)),
    )
}

/// Hides a comment (once); false when it was hidden already.
pub fn hide_comment(
    c: &mut dyn Conn,
    id: i64,
    by: i64,
    label: &str,
    reason: &str,
    now: i64,
) -> Result<bool> {
    let n = c.exec(
        "UPDATE proposal_comments SET hidden_at = $1, hidden_by = $2, hidden_by_label = $3, hidden_reason = $4 \
         WHERE id = $5 AND hidden_at IS NULL",
        params![now, by, label, reason, id],
    )?;
    c.exec(
        "UPDATE comment_reports SET handled_at = $1 WHERE comment_id = $2 AND handled_at IS NULL",
        params![now, id],
    )?;
    Ok(n == 1)
}

// ---- reports --------------------------------------------------------------------------------

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CommentReport)]
pub struct Report {
    pub id: i64,
    pub comment_id: i64,
    pub proposal_id: i64,
    pub reason: String,
    pub created_at: i64,
    /// The comment's text as reported (empty once hidden).
    pub comment: String,
    pub comment_author: String,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_report(
    c: &mut dyn Conn,
    street_id: i64,
    comment_id: i64,
    proposal_id: i64,
    scope_path: &str,
    user_id: i64,
    reason: &str,
    now: i64,
) -> Result<bool> {
    let n = c.exec(
        "INSERT INTO comment_reports (street_id, comment_id, proposal_id, scope_path, user_id, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (comment_id, user_id) DO NOTHING",
        params![street_id, comment_id, proposal_id, scope_path, user_id, reason, now],
    )?;
    Ok(n == 1)
}

/// Open reports of a street under `paths`, oldest first.
pub fn open_reports(c: &mut dyn Conn, street_id: i64, paths: &[String]) -> Result<Vec<Report>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = vec![Val::Int(street_id)];
    let cond = crate::store::under_paths("r.scope_path", paths, 2, &mut p);
    Ok(c.query(
        &format!(
            "SELECT r.id, r.comment_id, r.proposal_id, r.reason, r.created_at, m.body, m.author_label \
             FROM comment_reports r JOIN proposal_comments m ON m.id = r.comment_id \
             WHERE r.street_id = $1 AND r.handled_at IS NULL AND {cond} ORDER BY r.created_at, r.id LIMIT 500"
        ),
        &p,
    )?
    .iter()
    .map(|r| Report {
        id: r.i64(0),
        comment_id: r.i64(1),
        proposal_id: r.i64(2),
        reason: r.str(3),
        created_at: r.i64(4),
        comment: r.str(5),
        comment_author: r.str(6),
    })
    .collect())
}

// ---- bodies and members ---------------------------------------------------------------------

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = DeliberationBody)]
pub struct Body {
    pub id: i64,
    #[serde(skip)]
    pub street_id: i64,
    /// council (议事会), owners_committee (业委会) or building (a building's residents).
    pub kind: String,
    pub name: String,
    pub place_id: i64,
    #[serde(skip)]
    pub place_path: String,
    pub org_id: Option<i64>,
}

const BODY: &str =
    "SELECT id, street_id, kind, name, place_id, place_path, org_id FROM delib_bodies";

fn body(r: &Row) -> Body {
    Body {
        id: r.i64(0),
        street_id: r.i64(1),
        kind: r.str(2),
        name: r.str(3),
        place_id: r.i64(4),
        place_path: r.str(5),
        org_id: r.opt_i64(6),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn insert_body(
    c: &mut dyn Conn,
    street_id: i64,
    kind: &str,
    name: &str,
    place_id: i64,
    place_path: &str,
    org_id: Option<i64>,
    now: i64,
) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO delib_bodies (street_id, kind, name, place_id, place_path, org_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![street_id, kind, name, place_id, place_path, org_id, now],
    )?
    .i64(0))
}

pub fn body_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Body>> {
    Ok(c.query_opt(&format!("{BODY} WHERE id = $1"), params![id])?
        .map(|r| body(&r)))
}

/// The bodies of a street at or under `paths`.
pub fn bodies_under(c: &mut dyn Conn, street_id: i64, paths: &[String]) -> Result<Vec<Body>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = vec![Val::Int(street_id)];
    let cond = crate::store::under_paths("place_path", paths, 2, &mut p);
    Ok(c.query(
        &format!("{BODY} WHERE street_id = $1 AND {cond} ORDER BY place_path, id"),
        &p,
    )?
    .iter()
    .map(body)
    .collect())
}

/// The bodies of which this account is a member today.
pub fn bodies_of_user(c: &mut dyn Conn, user_id: i64, today: &str) -> Result<Vec<Body>> {
    Ok(c.query(
        "SELECT b.id, b.street_id, b.kind, b.name, b.place_id, b.place_path, b.org_id FROM delib_bodies b \
         JOIN delib_members m ON m.body_id = b.id WHERE m.user_id = $1 AND m.term_start <= $2 \
         AND (m.term_end IS NULL OR m.term_end >= $2) ORDER BY b.id",
        params![user_id, today],
    )?
    .iter()
    .map(body)
    .collect())
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = BodyMember)]
pub struct Member {
    pub id: i64,
    pub body_id: i64,
    pub name: String,
    pub duty: Option<String>,
    #[serde(skip)]
    pub user_id: Option<i64>,
    /// YYYY-MM-DD.
    pub term_start: String,
    pub term_end: Option<String>,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_member(
    c: &mut dyn Conn,
    street_id: i64,
    body_id: i64,
    name: &str,
    duty: Option<&str>,
    user_id: Option<i64>,
    term_start: &str,
    term_end: Option<&str>,
    now: i64,
) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO delib_members (street_id, body_id, name, duty, user_id, term_start, term_end, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        params![
            street_id,
            body_id,
            name,
            duty.map(str::to_string),
            user_id,
            term_start,
            term_end.map(str::to_string),
            now
        ],
    )?
    .i64(0))
}

pub fn members(c: &mut dyn Conn, body_id: i64) -> Result<Vec<Member>> {
    Ok(c.query(
        "SELECT id, body_id, name, duty, user_id, term_start, term_end FROM delib_members WHERE body_id = $1 ORDER BY id",
        params![body_id],
    )?
    .iter()
    .map(|r| Member {
        id: r.i64(0),
        body_id: r.i64(1),
        name: r.str(2),
        duty: r.opt_str(3),
        user_id: r.opt_i64(4),
        term_start: r.str(5),
        term_end: r.opt_str(6),
    })
    .collect())
}

// ---- meetings -------------------------------------------------------------------------------

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = BodyMeeting)]
pub struct Meeting {
    pub id: i64,
    #[serde(skip)]
    pub street_id: i64,
    pub body_id: i64,
    pub title: String,
    pub starts_at: i64,
    pub location: String,
    pub minutes: Option<String>,
}

const MEETING: &str =
    "SELECT id, street_id, body_id, title, starts_at, location, minutes FROM delib_meetings";

fn meeting(r: &Row) -> Meeting {
    Meeting {
        id: r.i64(0),
        street_id: r.i64(1),
        body_id: r.i64(2),
        title: r.str(3),
        starts_at: r.i64(4),
        location: r.str(5),
        minutes: r.opt_str(6),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn insert_meeting(
    c: &mut dyn Conn,
    street_id: i64,
    body_id: i64,
    title: &str,
    starts_at: i64,
    location: &str,
    now: i64,
) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO delib_meetings (street_id, body_id, title, starts_at, location, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        params![street_id, body_id, title, starts_at, location, now],
    )?
    .i64(0))
}

pub fn meeting_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Meeting>> {
    Ok(
        c.query_opt(&format!("{MEETING} WHERE id = $1"), params![id])?
            .map(|r| meeting(&r)),
    )
}

pub fn meetings_of(c: &mut dyn Conn, body_id: i64) -> Result<Vec<Meeting>> {
    Ok(c.query(
        &format!("{MEETING} WHERE body_id = $1 ORDER BY starts_at DESC, id DESC"),
        params![body_id],
    )?
    .iter()
    .map(meeting)
    .collect())
}

pub fn set_minutes(c: &mut dyn Conn, id: i64, text: &str, now: i64) -> Result<()> {
    c.exec(
        "UPDATE delib_meetings SET minutes = $1, minutes_at = $2 WHERE id = $3",
        params![text, now, id],
    )?;
    Ok(())
}

/// Puts a proposal on a meeting's agenda; false when it is there already.
pub fn add_agenda(
    c: &mut dyn Conn,
    street_id: i64,
    meeting_id: i64,
    proposal_id: i64,
) -> Result<bool> {
    let pos = c.query_i64(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM delib_agenda WHERE meeting_id = $1",
        params![meeting_id],
    )?;
    let n = c.exec(
        "INSERT INTO delib_agenda (street_id, meeting_id, proposal_id, position) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (meeting_id, proposal_id) DO NOTHING",
        params![street_id, meeting_id, proposal_id, pos],
    )?;
    Ok(n == 1)
}

pub fn agenda(c: &mut dyn Conn, meeting_id: i64) -> Result<Vec<Proposal>> {
    Ok(c.query(
        &format!(
            "{PROPOSAL} WHERE id IN (SELECT proposal_id FROM delib_agenda WHERE meeting_id = $1) ORDER BY id"
        ),
        params![meeting_id],
    )?
    .iter()
    .map(proposal)
    .collect())
}

pub fn on_agenda_of(c: &mut dyn Conn, meeting_id: i64, proposal_id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM delib_agenda WHERE meeting_id = $1 AND proposal_id = $2",
        params![meeting_id, proposal_id],
    )?
    .is_some())
}

pub fn set_attendance(
    c: &mut dyn Conn,
    street_id: i64,
    meeting_id: i64,
    member_id: i64,
    mode: &str,
) -> Result<()> {
    c.exec(
        "INSERT INTO delib_attendance (street_id, meeting_id, member_id, mode) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (meeting_id, member_id) DO UPDATE SET mode = excluded.mode",
        params![street_id, meeting_id, member_id, mode],
    )?;
    Ok(())
}

/// A member's attendance at a meeting.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = MeetingAttendance)]
pub struct Attendance {
    pub member_id: i64,
    /// in_person, online or absent.
    pub mode: String,
}

pub fn attendance(c: &mut dyn Conn, meeting_id: i64) -> Result<Vec<Attendance>> {
    Ok(c.query(
        "SELECT member_id, mode FROM delib_attendance WHERE meeting_id = $1",
        params![meeting_id],
    )?
    .iter()
    .map(|r| Attendance {
        member_id: r.i64(0),
        mode: r.str(1),
    })
    .collect())
}

// ---- decisions ------------------------------------------------------------------------------

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = MeetingDecision)]
pub struct Decision {
    pub id: i64,
    #[serde(skip)]
    pub street_id: i64,
    pub meeting_id: i64,
    pub proposal_id: Option<i64>,
    pub text: String,
    pub responsible_org_id: Option<i64>,
    /// The responsible party as shown (an organisation's or a person's name).
    pub responsible: String,
    /// YYYY-MM-DD.
    pub due_date: String,
    /// open or done.
    pub state: String,
    pub done_at: Option<i64>,
}

const DECISION: &str = "SELECT id, street_id, meeting_id, proposal_id, text, responsible_org_id, responsible_name, \
    due_date, state, done_at FROM delib_decisions";

fn decision(r: &Row) -> Decision {
    Decision {
        id: r.i64(0),
        street_id: r.i64(1),
        meeting_id: r.i64(2),
        proposal_id: r.opt_i64(3),
        text: r.str(4),
        responsible_org_id: r.opt_i64(5),
        responsible: r.str(6),
        due_date: r.str(7),
        state: r.str(8),
        done_at: r.opt_i64(9),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn insert_decision(
    c: &mut dyn Conn,
    street_id: i64,
    meeting_id: i64,
    proposal_id: Option<i64>,
    text: &str,
    org_id: Option<i64>,
    responsible: &str,
    due_date: &str,
    now: i64,
) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO delib_decisions (street_id, meeting_id, proposal_id, text, responsible_org_id, responsible_name, \
         due_date, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8) RETURNING id",
        params![street_id, meeting_id, proposal_id, text, org_id, responsible, due_date, now],
    )?
    .i64(0))
}

pub fn decision_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Decision>> {
    Ok(
        c.query_opt(&format!("{DECISION} WHERE id = $1"), params![id])?
            .map(|r| decision(&r)),
    )
}

pub fn decisions_of_meeting(c: &mut dyn Conn, meeting_id: i64) -> Result<Vec<Decision>> {
    Ok(c.query(
        &format!("{DECISION} WHERE meeting_id = $1 ORDER BY id"),
        params![meeting_id],
    )?
    .iter()
    .map(decision)
    .collect())
}

pub fn decisions_of_proposal(c: &mut dyn Conn, proposal_id: i64) -> Result<Vec<Decision>> {
    Ok(c.query(
        &format!("{DECISION} WHERE proposal_id = $1 ORDER BY id"),
        params![proposal_id],
    )?
    .iter()
    .map(decision)
    .collect())
}

pub fn mark_done(c: &mut dyn Conn, id: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE delib_decisions SET state = 'done', done_at = $1 WHERE id = $2 AND state = 'open'",
        params![now, id],
    )? == 1)
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = DecisionProgress)]
pub struct Progress {
    pub decision_id: i64,
    pub note: String,
    pub by: String,
    pub at: i64,
}

pub fn add_progress(
    c: &mut dyn Conn,
    street_id: i64,
    decision_id: i64,
    note: &str,
    by: &str,
    now: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO delib_progress (street_id, decision_id, note, by_label, at) VALUES ($1, $2, $3, $4, $5)",
        params![street_id, decision_id, note, by, now],
    )?;
    Ok(())
}

pub fn progress_of(c: &mut dyn Conn, decision_id: i64) -> Result<Vec<Progress>> {
    Ok(c.query(
        "SELECT decision_id, note, by_label, at FROM delib_progress WHERE decision_id = $1 ORDER BY at, id",
        params![decision_id],
    )?
    .iter()
    .map(|r| Progress {
        decision_id: r.i64(0),
        note: r.str(1),
        by: r.str(2),
        at: r.i64(3),
    })
    .collect())
}

/// The person a comment's author is, if a resident.
pub fn comment_person(c: &mut dyn Conn, id: i64) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT person_id FROM proposal_comments WHERE id = $1",
        params![id],
    )?
    .and_then(|r| r.opt_i64(0)))
}

// ---- photos ---------------------------------------------------------------------------------

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ProposalPhoto)]
pub struct Photo {
    pub id: i64,
    #[serde(skip)]
    pub proposal_id: i64,
    #[serde(skip)]
    pub file: String,
    #[serde(skip)]
    pub thumb: String,
    pub content_type: String,
    pub bytes: i64,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_photo(
    c: &mut dyn Conn,
    street_id: i64,
    proposal_id: i64,
    file: &str,
    thumb: &str,
    mime: &str,
    bytes: i64,
    now: i64,
) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO proposal_photos (street_id, proposal_id, file, thumb, mime, bytes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![street_id, proposal_id, file, thumb, mime, bytes, now],
    )?
    .i64(0))
}

pub fn photos(c: &mut dyn Conn, proposal_id: i64) -> Result<Vec<Photo>> {
    Ok(c.query(
        "SELECT id, proposal_id, file, thumb, mime, bytes FROM proposal_photos WHERE proposal_id = $1 ORDER BY id",
        params![proposal_id],
    )?
    .iter()
    .map(|r| Photo {
        id: r.i64(0),
        proposal_id: r.i64(1),
        file: r.str(2),
        thumb: r.opt_str(3).unwrap_or_default(),
        content_type: r.str(4),
        bytes: r.i64(5),
    })
    .collect())
}
