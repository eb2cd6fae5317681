//! The notices area's tables: `notices` (with its receipts' totals kept beside it, so a list
//! of notices never counts recipients), `notice_recipients` (frozen at publication, one row per
//! resident or account) and `notice_files`.

use std::collections::HashMap;

use super::model::{Audience, BuildingTotals, FileRef, Kind, Notice, Received, State, Unread};
use crate::params;
use crate::store::{Conn, Result, Val, under_paths};

const COLS: &str = "id, street_id, kind, code, title, body, audience, audience_label, ack_wanted, ack_by, \
     state, publish_at, published_at, expires_at, withdrawn_at, recipients, read_count, ack_count, \
     told_count, reached_count, author_id, author, author_path, created_at, problem";

fn cols(prefix: &str) -> String {
    COLS.split(", ")
        .map(|c| format!("{prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn notice_row(r: &crate::store::Row) -> Notice {
    Notice {
        id: r.i64(0),
        street_id: r.i64(1),
        kind: Kind::parse(&r.str(2)),
        code: r.str(3),
        title: r.str(4),
        body: r.str(5),
        audience: serde_json::from_str::<Audience>(&r.str(6)).unwrap_or_default(),
        audience_label: r.str(7),
        ack_wanted: r.bool(8),
        ack_by: r.opt_i64(9),
        state: State::parse(&r.str(10)),
        publish_at: r.opt_i64(11),
        published_at: r.opt_i64(12),
        expires_at: r.opt_i64(13),
        withdrawn_at: r.opt_i64(14),
        recipients: r.i64(15),
        read: r.i64(16),
        acknowledged: r.i64(17),
        told: r.i64(18),
        reached: r.i64(19),
        author_id: r.i64(20),
        author: r.str(21),
        author_path: r.str(22),
        created_at: r.i64(23),
        problem: r.opt_str(24),
        files: Vec::new(),
    }
}

/// A new notice's row.
pub struct NewNotice<'a> {
    pub street_id: i64,
    pub kind: Kind,
    pub code: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub audience: &'a Audience,
    pub audience_label: &'a str,
    pub ack_wanted: bool,
    pub ack_by: Option<i64>,
    pub state: State,
    pub publish_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub author_id: i64,
    pub author: &'a str,
    pub author_path: &'a str,
    pub now: i64,
}

pub fn insert(c: &mut dyn Conn, n: &NewNotice<'_>) -> Result<i64> {
    let audience = serde_json::to_string(n.audience).unwrap_or_else(|_| "{}".into());
    Ok(c.query_one(
        "INSERT INTO notices (street_id, kind, code, title, body, audience, audience_label, ack_wanted, \
         ack_by, state, publish_at, expires_at, author_id, author, author_path, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id",
        params![
            n.street_id,
            n.kind.as_str(),
            n.code,
            n.title,
            n.body,
            audience,
            n.audience_label,
            n.ack_wanted,
            n.ack_by,
            n.state.as_str(),
            n.publish_at,
            n.expires_at,
            n.author_id,
            n.author,
            n.author_path,
            n.now
        ],
    )?
    .i64(0))
}

/// A recipient as frozen at publication.
pub struct Recipient {
    pub person_id: Option<i64>,
    pub user_id: Option<i64>,
    pub building_id: i64,
    pub unit_id: Option<i64>,
    pub place_path: String,
}

/// Freezes a notice's recipients and publishes it: one statement per few hundred rows, the
/// denominator set once.
pub fn publish(
    c: &mut dyn Conn,
    id: i64,
    street_id: i64,
    recipients: &[Recipient],
    now: i64,
) -> Result<()> {
    const COLS: [&str; 8] = [
        "notice_id",
        "seq",
        "street_id",
        "person_id",
        "user_id",
        "building_id",
        "unit_id",
        "place_path",
    ];
    for (k, chunk) in recipients.chunks(2_000).enumerate() {
        let rows: Vec<Vec<Val>> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| {
                vec![
                    Val::Int(id),
                    Val::Int((k * 2_000 + i + 1) as i64),
                    Val::Int(street_id),
                    Val::from(r.person_id),
                    Val::from(r.user_id),
                    Val::Int(r.building_id),
                    Val::from(r.unit_id),
                    Val::Text(r.place_path.clone()),
                ]
            })
            .collect();
        c.insert_many("notice_recipients", &COLS, &rows)?;
    }
    let mut per: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for r in recipients {
        *per.entry(r.building_id).or_default() += 1;
    }
    let rows: Vec<Vec<Val>> = per
        .into_iter()
        .map(|(b, n)| {
            vec![
                Val::Int(id),
                Val::Int(b),
                Val::Int(street_id),
                Val::Int(n),
                Val::Int(n),
            ]
        })
        .collect();
    c.insert_many(
        "notice_buildings",
        &[
            "notice_id",
            "building_id",
            "street_id",
            "recipients",
            "unreached",
        ],
        &rows,
    )?;
    c.exec(
        "UPDATE notices SET state = 'published', published_at = $1, recipients = $2, problem = NULL, \
         updated_at = $1 WHERE id = $3",
        params![now, recipients.len() as i64, id],
    )?;
    Ok(())
}

pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Notice>> {
    let Some(mut n) = c
        .query_opt(
            &format!("SELECT {COLS} FROM notices WHERE id = $1"),
            params![id],
        )?
        .map(|r| notice_row(&r))
    else {
        return Ok(None);
    };
    n.files = files(c, id)?;
    Ok(Some(n))
}

pub fn by_code(c: &mut dyn Conn, code: &str) -> Result<Option<i64>> {
    Ok(
        c.query_opt("SELECT id FROM notices WHERE code = $1", params![code])?
            .map(|r| r.i64(0)),
    )
}

pub fn set_state(c: &mut dyn Conn, id: i64, state: State, now: i64) -> Result<u64> {
    let withdrawn = (state == State::Withdrawn).then_some(now);
    c.exec(
        "UPDATE notices SET state = $1, withdrawn_at = COALESCE($2, withdrawn_at), updated_at = $3 WHERE id = $4",
        params![state.as_str(), withdrawn, now, id],
    )
}

pub fn schedule(c: &mut dyn Conn, id: i64, at: i64, now: i64) -> Result<()> {
    c.exec(
        "UPDATE notices SET state = 'scheduled', publish_at = $1, problem = NULL, updated_at = $2 WHERE id = $3",
        params![at, now, id],
    )?;
    Ok(())
}

pub fn set_problem(c: &mut dyn Conn, id: i64, problem: &str, now: i64) -> Result<()> {
    c.exec(
        "UPDATE notices SET state = 'draft', problem = $1, updated_at = $2 WHERE id = $3",
        params![problem, now, id],
    )?;
    Ok(())
}

/// Scheduled notices whose time has come, oldest first.
pub fn due(c: &mut dyn Conn, now: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(c
        .query(
            "SELECT id FROM notices WHERE state = 'scheduled' AND publish_at <= $1 ORDER BY publish_at, id LIMIT $2",
            params![now, limit],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect())
}

/// The notices a street's workers manage under `paths` (by their author's place), newest
/// first, `limit` of them before the id `before`.
pub fn managed(
    c: &mut dyn Conn,
    street_id: i64,
    paths: &[String],
    author_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Notice>> {
    let mut p: Vec<Val> = vec![
        Val::Int(street_id),
        Val::Int(author_id),
        Val::Int(before.unwrap_or(i64::MAX)),
        Val::Int(limit),
    ];
    let under = under_paths("author_path", paths, 5, &mut p);
    Ok(c.query(
        &format!(
            "SELECT {COLS} FROM notices WHERE street_id = $1 AND id < $3 AND (author_id = $2 OR {under}) \
             ORDER BY id DESC LIMIT $4"
        ),
        &p,
    )?
    .iter()
    .map(notice_row)
    .collect())
}

/// Which of a recipient's notices: a resident's (by her person) or an account's.
#[derive(Clone, Copy, Debug)]
pub enum Whose {
    Person(i64),
    User(i64),
}

impl Whose {
    fn cond(self) -> (&'static str, i64) {
        match self {
            Whose::Person(p) => ("r.person_id = $1", p),
            Whose::User(u) => ("r.user_id = $1", u),
        }
    }
}

/// The published notices a recipient received, newest first.
pub fn received(c: &mut dyn Conn, whose: Whose, limit: i64) -> Result<Vec<Received>> {
    let (cond, id) = whose.cond();
    Ok(c.query(
        &format!(
            "SELECT {}, r.read_at, r.ack_at FROM notice_recipients r JOIN notices n ON n.id = r.notice_id \
             WHERE {cond} AND n.state = 'published' ORDER BY n.published_at DESC, n.id DESC LIMIT $2",
            cols("n.")
        ),
        params![id, limit],
    )?
    .iter()
    .map(|r| Received {
        notice: notice_row(r),
        read_at: r.opt_i64(25),
        ack_at: r.opt_i64(26),
    })
    .collect())
}

/// How many current notices a recipient has not opened.
pub fn unread_count(c: &mut dyn Conn, whose: Whose, now: i64) -> Result<i64> {
    let (cond, id) = whose.cond();
    c.query_i64(
        &format!(
            "SELECT COUNT(*) FROM notice_recipients r JOIN notices n ON n.id = r.notice_id \
             WHERE {cond} AND r.read_at IS NULL AND n.state = 'published' AND (n.expires_at IS NULL OR n.expires_at > $2)"
        ),
        params![id, now],
    )
}

/// A recipient's row of one notice: `(seq, read_at, ack_at)`.
pub type Receipt = (i64, Option<i64>, Option<i64>);

pub fn receipt(c: &mut dyn Conn, notice: i64, whose: Whose) -> Result<Option<Receipt>> {
    let (cond, id) = whose.cond();
    Ok(c.query_opt(
        &format!(
            "SELECT r.seq, r.read_at, r.ack_at FROM notice_recipients r WHERE {cond} AND r.notice_id = $2"
        ),
        params![id, notice],
    )?
    .map(|r| (r.i64(0), r.opt_i64(1), r.opt_i64(2))))
}

/// Marks a recipient's notice opened (the first time only); whether it was the first.
pub fn mark_read(c: &mut dyn Conn, notice: i64, seq: i64, now: i64) -> Result<bool> {
    let n = c.exec(
        "UPDATE notice_recipients SET read_at = $1 WHERE notice_id = $2 AND seq = $3 AND read_at IS NULL",
        params![now, notice, seq],
    )?;
    if n == 0 {
        return Ok(false);
    }
    // Reached unless a building leader had already told her.
    let (told, building) = c
        .query_opt(
            "SELECT told_at, building_id FROM notice_recipients WHERE notice_id = $1 AND seq = $2",
            params![notice, seq],
        )?
        .map(|r| (r.opt_i64(0).is_some(), r.i64(1)))
        .unwrap_or((false, 0));
    let reached = if told {
        ""
    } else {
        ", reached_count = reached_count + 1"
    };
    c.exec(
        &format!("UPDATE notices SET read_count = read_count + 1{reached} WHERE id = $1"),
        params![notice],
    )?;
    let unreached = if told {
        ""
    } else {
        ", unreached = unreached - 1"
    };
    c.exec(
        &format!(
            "UPDATE notice_buildings SET read_count = read_count + 1{unreached} \
             WHERE notice_id = $1 AND building_id = $2"
        ),
        params![notice, building],
    )?;
    Ok(true)
}

/// Marks a recipient's notice acknowledged (opening it too); whether it was the first time.
pub fn mark_ack(c: &mut dyn Conn, notice: i64, seq: i64, now: i64) -> Result<bool> {
    mark_read(c, notice, seq, now)?;
    let n = c.exec(
        "UPDATE notice_recipients SET ack_at = $1 WHERE notice_id = $2 AND seq = $3 AND ack_at IS NULL",
        params![now, notice, seq],
    )?;
    if n > 0 {
        c.exec(
            "UPDATE notices SET ack_count = ack_count + 1 WHERE id = $1",
            params![notice],
        )?;
        c.exec(
            "UPDATE notice_buildings SET ack_count = ack_count + 1 WHERE notice_id = $1 \
             AND building_id = (SELECT building_id FROM notice_recipients WHERE notice_id = $1 AND seq = $2)",
            params![notice, seq],
        )?;
    }
    Ok(n > 0)
}

/// A recipient's row as a building leader reaches it.
pub struct Row {
    pub seq: i64,
    pub person_id: Option<i64>,
    pub user_id: Option<i64>,
    pub place_path: String,
    pub read_at: Option<i64>,
    pub told_at: Option<i64>,
}

pub fn recipient(c: &mut dyn Conn, notice: i64, seq: i64) -> Result<Option<Row>> {
    Ok(c.query_opt(
        "SELECT seq, person_id, user_id, place_path, read_at, told_at FROM notice_recipients \
         WHERE notice_id = $1 AND seq = $2",
        params![notice, seq],
    )?
    .map(|r| Row {
        seq: r.i64(0),
        person_id: r.opt_i64(1),
        user_id: r.opt_i64(2),
        place_path: r.str(3),
        read_at: r.opt_i64(4),
        told_at: r.opt_i64(5),
    }))
}

/// Marks an unread recipient told in person or on paper; whether it changed anything.
pub fn mark_told(
    c: &mut dyn Conn,
    notice: i64,
    seq: i64,
    how: &str,
    by: i64,
    by_name: &str,
    now: i64,
) -> Result<bool> {
    let n = c.exec(
        "UPDATE notice_recipients SET told_at = $1, told_how = $2, told_by = $3, told_by_name = $4 \
         WHERE notice_id = $5 AND seq = $6 AND told_at IS NULL AND read_at IS NULL",
        params![now, how, by, by_name, notice, seq],
    )?;
    if n > 0 {
        c.exec(
            "UPDATE notices SET told_count = told_count + 1, reached_count = reached_count + 1 WHERE id = $1",
            params![notice],
        )?;
        c.exec(
            "UPDATE notice_buildings SET told_count = told_count + 1, unreached = unreached - 1 \
             WHERE notice_id = $1 \
             AND building_id = (SELECT building_id FROM notice_recipients WHERE notice_id = $1 AND seq = $2)",
            params![notice, seq],
        )?;
    }
    Ok(n > 0)
}

/// A notice's receipts per building (kept in `notice_buildings`), those whose building lies
/// under `paths` only when given (a building leader's), in the buildings' path order.
pub fn buildings(
    c: &mut dyn Conn,
    notice: i64,
    paths: Option<&[String]>,
) -> Result<Vec<BuildingTotals>> {
    let mut p: Vec<Val> = vec![Val::Int(notice)];
    let cond = match paths {
        Some(paths) => format!(" AND {}", under_paths("b.path", paths, 2, &mut p)),
        None => String::new(),
    };
    Ok(c.query(
        &format!(
            "SELECT nb.building_id, COALESCE(b.name, ''), nb.recipients, nb.read_count, nb.ack_count, \
             nb.told_count, nb.unreached FROM notice_buildings nb LEFT JOIN places b ON b.id = nb.building_id \
             WHERE nb.notice_id = $1{cond} ORDER BY COALESCE(b.path, ''), nb.building_id"
        ),
        &p,
    )?
    .iter()
    .map(|r| BuildingTotals {
        building_id: r.i64(0),
        name: r.str(1),
        recipients: r.i64(2),
        read: r.i64(3),
        acknowledged: r.i64(4),
        told: r.i64(5),
        unreached: r.i64(6),
    })
    .collect())
}

/// The recipients of a notice in one building (0: without one) who have not opened it,
/// under `paths` when given, in place order; their units' names and (for accounts) their
/// display names come with them, a person's name is read by the caller.
pub fn unread_in(
    c: &mut dyn Conn,
    notice: i64,
    building: i64,
    paths: Option<&[String]>,
) -> Result<Vec<Unread>> {
    let mut p: Vec<Val> = vec![Val::Int(notice), Val::Int(building)];
    let cond = match paths {
        Some(paths) => format!(" AND {}", under_paths("r.place_path", paths, 3, &mut p)),
        None => String::new(),
    };
    let rows = c.query(
        &format!(
            "SELECT r.seq, r.person_id, r.user_id, COALESCE(u.name, ''), r.told_at, r.told_how, r.told_by_name \
             FROM notice_recipients r LEFT JOIN places u ON u.id = r.unit_id \
             WHERE r.notice_id = $1 AND r.building_id = $2 AND r.read_at IS NULL{cond} \
             ORDER BY r.place_path, r.seq"
        ),
        &p,
    )?;
    Ok(rows
        .iter()
        .map(|r| Unread {
            seq: r.i64(0),
            unit: r.str(3),
            name_masked: String::new(),
            told_at: r.opt_i64(4),
            told_how: r.opt_str(5),
            told_by: r.opt_str(6),
            person_id: r.opt_i64(1),
            user_id: r.opt_i64(2),
        })
        .collect())
}

pub fn add_file(
    c: &mut dyn Conn,
    street_id: i64,
    notice: i64,
    f: &FileRef,
    sha256: &str,
    stored: &str,
    now: i64,
) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO notice_files (street_id, notice_id, name, mime, bytes, sha256, stored, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        params![street_id, notice, &f.name, &f.mime, f.bytes, sha256, stored, now],
    )?
    .i64(0))
}

pub fn files(c: &mut dyn Conn, notice: i64) -> Result<Vec<FileRef>> {
    Ok(c.query(
        "SELECT id, name, mime, bytes FROM notice_files WHERE notice_id = $1 ORDER BY id",
        params![notice],
    )?
    .iter()
    .map(|r| FileRef {
        id: r.i64(0),
        name: r.str(1),
        mime: r.str(2),
        bytes: r.i64(3),
    })
    .collect())
}

/// A file's name as stored in the data folder, with its type and name.
pub fn file(c: &mut dyn Conn, notice: i64, id: i64) -> Result<Option<(FileRef, String)>> {
    Ok(c.query_opt(
        "SELECT id, name, mime, bytes, stored FROM notice_files WHERE notice_id = $1 AND id = $2",
        params![notice, id],
    )?
    .map(|r| {
        (
            FileRef {
                id: r.i64(0),
                name: r.str(1),
                mime: r.str(2),
                bytes: r.i64(3),
            },
            r.str(4),
        )
    }))
}

/// The communities, grids and buildings under `paths`, in path order, for the audience
/// picker: `(id, name, kind, depth)`.
pub fn pickable(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<(i64, String, String, i64)>> {
    let mut p = Vec::new();
    let cond = under_paths("path", paths, 1, &mut p);
    Ok(c.query(
        &format!(
            "SELECT id, name, kind, depth FROM places WHERE {cond} \
                 AND kind IN ('street', 'community', 'grid', 'building') ORDER BY path LIMIT 5000"
        ),
        &p,
    )?
    .iter()
    .map(|r| (r.i64(0), r.str(1), r.str(2), r.i64(3)))
    .collect())
}

/// A place an audience names.
pub struct Place {
    pub name: String,
    pub path: String,
    pub street_id: Option<i64>,
}

/// Places by id (an audience checked and put in words).
pub fn places(c: &mut dyn Conn, ids: &[i64]) -> Result<HashMap<i64, Place>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let p: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
        for r in c.query(
            &format!(
                "SELECT id, name, path, street_id, kind FROM places WHERE id IN ({})",
                marks.join(", ")
            ),
            &p,
        )? {
            // A street's own row names no street above it: it is its own.
            let street = if r.str(4) == "street" {
                Some(r.i64(0))
            } else {
                r.opt_i64(3)
            };
            out.insert(
                r.i64(0),
                Place {
                    name: r.str(1),
                    path: r.str(2),
                    street_id: street,
                },
            );
        }
    }
    Ok(out)
}

/// The streets under some paths (a district administrator's).
pub fn streets_under(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<i64>> {
    let mut p = Vec::new();
    let cond = under_paths("path", paths, 1, &mut p);
    Ok(c.query(
        &format!("SELECT id FROM places WHERE kind = 'street' AND {cond}"),
        &p,
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// Sets a notice's receipts' totals from its recipients' rows (after rows were written in
/// bulk: the demo).
pub fn recount(c: &mut dyn Conn, id: i64) -> Result<()> {
    c.exec(
        "UPDATE notices SET \
         read_count = (SELECT COUNT(read_at) FROM notice_recipients WHERE notice_id = $1), \
         ack_count = (SELECT COUNT(ack_at) FROM notice_recipients WHERE notice_id = $1), \
         told_count = (SELECT COUNT(told_at) FROM notice_recipients WHERE notice_id = $1), \
         reached_count = (SELECT COUNT(*) FROM notice_recipients WHERE notice_id = $1 \
                          AND (read_at IS NOT NULL OR told_at IS NOT NULL)) \
         WHERE id = $1",
        params![id],
    )?;
    c.exec(
        "DELETE FROM notice_buildings WHERE notice_id = $1",
        params![id],
    )?;
    c.exec(
        "INSERT INTO notice_buildings (notice_id, building_id, street_id, recipients, read_count, ack_count, \
         told_count, unreached) SELECT notice_id, building_id, MIN(street_id), COUNT(*), COUNT(read_at), \
         COUNT(ack_at), COUNT(told_at), \
         CAST(SUM(CASE WHEN read_at IS NULL AND told_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) \
         FROM notice_recipients WHERE notice_id = $1 GROUP BY notice_id, building_id",
        params![id],
    )?;
    Ok(())
}
