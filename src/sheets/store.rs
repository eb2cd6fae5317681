//! The sheets area's tables: sheets, the residents each reached when it went out (with the
//! household and flat linli knew), one entry per household, and the organiser's corrections.

use super::model::{Correction, Entry, Item, Sheet};
use crate::notices::Audience;
use crate::params;
use crate::store::{Conn, Result, Row, StoreError, Val, under_paths};

const SHEET: &str = "SELECT id, street_id, title, intro, items, audience, audience_label, place_path, \
     deadline_at, household_limit, author_id, author, author_path, recipients, created_at, \
     closed_at, closed_by, close_reason FROM sheets";

fn sheet(r: &Row) -> Result<Sheet> {
    let items: Vec<Item> =
        serde_json::from_str(&r.str(4)).map_err(|e| StoreError::Db(format!("sheet items: {e}")))?;
    let audience: Audience = serde_json::from_str(&r.str(5))
        .map_err(|e| StoreError::Db(format!("sheet audience: {e}")))?;
    Ok(Sheet {
        id: r.i64(0),
        street_id: r.i64(1),
        title: r.str(2),
        intro: r.str(3),
        items,
        audience,
        audience_label: r.str(6),
        place_path: r.str(7),
        deadline_at: r.i64(8),
        household_limit: r.i64(9),
        author_id: r.i64(10),
        author: r.str(11),
        author_path: r.str(12),
        recipients: r.i64(13),
        created_at: r.i64(14),
        closed_at: r.opt_i64(15),
        closed_by: r.str(16),
        close_reason: r.str(17),
    })
}

pub struct NewSheet<'a> {
    pub street_id: i64,
    pub title: &'a str,
    pub intro: &'a str,
    pub items: &'a [Item],
    pub audience: &'a Audience,
    pub audience_label: &'a str,
    pub place_path: &'a str,
    pub deadline_at: i64,
    pub household_limit: i64,
    pub author_id: i64,
    pub author: &'a str,
    pub author_path: &'a str,
    pub now: i64,
}

/// A resident a sheet reached.
pub struct Recipient {
    pub person_id: i64,
    pub household_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub building_id: i64,
    pub place_path: String,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Writes a sheet and freezes its recipients.
pub fn insert(c: &mut dyn Conn, n: &NewSheet<'_>, to: &[Recipient]) -> Result<i64> {
    let id = c.query_i64(
        "INSERT INTO sheets (street_id, title, intro, items, audience, audience_label, place_path, \
         deadline_at, household_limit, author_id, author, author_path, recipients, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        params![
            n.street_id,
            n.title,
            n.intro,
            json(&n.items),
            json(n.audience),
            n.audience_label,
            n.place_path,
            n.deadline_at,
            n.household_limit,
            n.author_id,
            n.author,
            n.author_path,
            to.len() as i64,
            n.now
        ],
    )?;
    let rows: Vec<Vec<Val>> = to
        .iter()
        .map(|r| {
            vec![
                Val::Int(id),
                Val::Int(n.street_id),
                Val::Int(r.person_id),
                r.household_id.map(Val::Int).unwrap_or(Val::Null),
                r.unit_id.map(Val::Int).unwrap_or(Val::Null),
                Val::Int(r.building_id),
                Val::Text(r.place_path.clone()),
            ]
        })
        .collect();
    c.insert_many(
        "sheet_recipients",
        &[
            "sheet_id",
            "street_id",
            "person_id",
            "household_id",
            "unit_id",
            "building_id",
            "place_path",
        ],
        &rows,
    )?;
    Ok(id)
}

/// Closes a sheet early (before its deadline): when, by whom, why. False when it was
/// already closed.
pub fn close(c: &mut dyn Conn, id: i64, by: &str, reason: &str, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE sheets SET closed_at = $2, closed_by = $3, close_reason = $4 \
         WHERE id = $1 AND closed_at IS NULL AND deadline_at > $2",
        params![id, now, by, reason],
    )? == 1)
}

pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Sheet>> {
    c.query_opt(&format!("{SHEET} WHERE id = $1"), params![id])?
        .map(|r| sheet(&r))
        .transpose()
}

/// The sheets whose organisers write from under `paths`, newest first.
pub fn managed(c: &mut dyn Conn, paths: &[String], user: i64, limit: i64) -> Result<Vec<Sheet>> {
    let mut p: Vec<Val> = vec![Val::Int(user), Val::Int(limit)];
    let cond = under_paths("author_path", paths, 3, &mut p);
    c.query(
        &format!(
            "{SHEET} WHERE (author_id = $1 OR {cond}) ORDER BY deadline_at DESC, id DESC LIMIT $2"
        ),
        &p,
    )?
    .iter()
    .map(sheet)
    .collect()
}

/// The sheets a resident was among the recipients of, latest deadline first.
pub fn received(c: &mut dyn Conn, person: i64, limit: i64) -> Result<Vec<Sheet>> {
    c.query(
        &format!(
            "{SHEET} WHERE id IN (SELECT sheet_id FROM sheet_recipients WHERE person_id = $1) \
             ORDER BY deadline_at DESC, id DESC LIMIT $2"
        ),
        params![person, limit],
    )?
    .iter()
    .map(sheet)
    .collect()
}

/// How many sheets still open a resident has not answered for her household.
pub fn open_unanswered(c: &mut dyn Conn, person: i64, now: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM sheet_recipients r JOIN sheets s ON s.id = r.sheet_id \
         WHERE r.person_id = $1 AND s.deadline_at > $2 AND s.closed_at IS NULL AND NOT EXISTS (SELECT 1 FROM sheet_entries e \
         WHERE e.sheet_id = s.id AND e.withdrawn_at IS NULL AND e.household = \
         CASE WHEN r.household_id IS NULL THEN 'p:' || CAST(r.person_id AS TEXT) ELSE 'h:' || CAST(r.household_id AS TEXT) END)",
        params![person, now],
    )
}

pub fn recipient(c: &mut dyn Conn, sheet: i64, person: i64) -> Result<Option<Recipient>> {
    Ok(c.query_opt(
        "SELECT person_id, household_id, unit_id, building_id, place_path FROM sheet_recipients \
             WHERE sheet_id = $1 AND person_id = $2",
        params![sheet, person],
    )?
    .map(|r| Recipient {
        person_id: r.i64(0),
        household_id: r.opt_i64(1),
        unit_id: r.opt_i64(2),
        building_id: r.i64(3),
        place_path: r.str(4),
    }))
}

const ENTRY: &str = "SELECT id, sheet_id, household, person_id, unit_id, building_id, place_path, lines, \
     quantity, amount_fen, note, withdrawn_at, created_at, updated_at FROM sheet_entries";

fn entry(r: &Row) -> Entry {
    Entry {
        id: r.i64(0),
        sheet_id: r.i64(1),
        household: r.str(2),
        person_id: r.i64(3),
        unit_id: r.opt_i64(4),
        building_id: r.i64(5),
        place_path: r.str(6),
        lines: serde_json::from_str(&r.str(7)).unwrap_or_default(),
        quantity: r.i64(8),
        amount_fen: r.i64(9),
        note: r.str(10),
        withdrawn_at: r.opt_i64(11),
        created_at: r.i64(12),
        updated_at: r.i64(13),
    }
}

pub fn entry_of(c: &mut dyn Conn, sheet: i64, household: &str) -> Result<Option<Entry>> {
    Ok(c.query_opt(
        &format!("{ENTRY} WHERE sheet_id = $1 AND household = $2"),
        params![sheet, household],
    )?
    .map(|r| entry(&r)))
}

pub fn entry_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Entry>> {
    Ok(c.query_opt(&format!("{ENTRY} WHERE id = $1"), params![id])?
        .map(|r| entry(&r)))
}

/// The entries of a sheet that count (not withdrawn), in place order.
pub fn entries(c: &mut dyn Conn, sheet: i64) -> Result<Vec<Entry>> {
    Ok(c.query(
        &format!("{ENTRY} WHERE sheet_id = $1 AND withdrawn_at IS NULL ORDER BY place_path, id"),
        params![sheet],
    )?
    .iter()
    .map(entry)
    .collect())
}

/// What an entry holds after a change.
pub struct Lines<'a> {
    pub lines: &'a [i64],
    pub quantity: i64,
    pub amount_fen: i64,
    pub note: &'a str,
}

/// Writes a household's entry, or rewrites (and revives) the one it has.
pub fn upsert(
    c: &mut dyn Conn,
    street: i64,
    sheet: i64,
    household: &str,
    who: &Recipient,
    l: &Lines<'_>,
    now: i64,
) -> Result<i64> {
    let lines = json(&l.lines);
    if let Some(e) = entry_of(c, sheet, household)? {
        c.exec(
            "UPDATE sheet_entries SET person_id = $2, lines = $3, quantity = $4, amount_fen = $5, note = $6, \
             withdrawn_at = NULL, updated_at = $7 WHERE id = $1",
            params![e.id, who.person_id, lines, l.quantity, l.amount_fen, l.note, now],
        )?;
        return Ok(e.id);
    }
    c.query_i64(
        "INSERT INTO sheet_entries (sheet_id, street_id, household, person_id, unit_id, building_id, place_path, \
         lines, quantity, amount_fen, note, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
        params![
            sheet,
            street,
            household,
            who.person_id,
            who.unit_id.map(Val::Int).unwrap_or(Val::Null),
            who.building_id,
            who.place_path.clone(),
            lines,
            l.quantity,
            l.amount_fen,
            l.note,
            now
        ],
    )
}

/// An organiser's correction: the entry rewritten and the change kept.
pub fn correct(
    c: &mut dyn Conn,
    e: &Entry,
    l: &Lines<'_>,
    by: (i64, &str),
    texts: (&str, &str, &str),
    street: i64,
    now: i64,
) -> Result<i64> {
    c.exec(
        "UPDATE sheet_entries SET lines = $2, quantity = $3, amount_fen = $4, note = $5, updated_at = $6 WHERE id = $1",
        params![e.id, json(&l.lines), l.quantity, l.amount_fen, l.note, now],
    )?;
    c.query_i64(
        "INSERT INTO sheet_corrections (sheet_id, street_id, entry_id, by_user, by_name, at, before_text, after_text, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        params![e.sheet_id, street, e.id, by.0, by.1, now, texts.0, texts.1, texts.2],
    )
}

pub fn withdraw(c: &mut dyn Conn, id: i64, now: i64) -> Result<u64> {
    c.exec(
        "UPDATE sheet_entries SET withdrawn_at = $2, updated_at = $2 WHERE id = $1 AND withdrawn_at IS NULL",
        params![id, now],
    )
}

/// The corrections of a sheet (of one entry when given), newest first.
pub fn corrections(c: &mut dyn Conn, sheet: i64, entry: Option<i64>) -> Result<Vec<Correction>> {
    let mut p = vec![Val::Int(sheet)];
    let mut sql = "SELECT id, entry_id, by_user, by_name, at, before_text, after_text, reason \
                   FROM sheet_corrections WHERE sheet_id = $1"
        .to_string();
    if let Some(e) = entry {
        p.push(Val::Int(e));
        sql.push_str(" AND entry_id = $2");
    }
    sql.push_str(" ORDER BY at DESC, id DESC");
    Ok(c.query(&sql, &p)?
        .iter()
        .map(|r| Correction {
            id: r.i64(0),
            entry_id: r.i64(1),
            by_user: r.i64(2),
            by_name: r.str(3),
            at: r.i64(4),
            before: r.str(5),
            after: r.str(6),
            reason: r.str(7),
        })
        .collect())
}
