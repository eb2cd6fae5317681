//! Exports of residents' records with graded approval (分级审批): a masked export of at most
//! the configured number of records is approved at once; anything unmasked or larger waits
//! for a user one level up the hierarchy. An approved export is downloaded by its requester
//! only, until it expires. Every step is logged.

use serde::Serialize;

use super::persons::Search;
use crate::params;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result, Val, now_ms, under_paths};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ExportRequest {
    pub id: i64,
    pub requester_id: i64,
    pub requester: String,
    pub place_id: i64,
    pub place_name: String,
    pub place_path: String,
    pub requester_scope: String,
    pub unmasked: bool,
    pub reason: String,
    pub records: i64,
    /// pending, approved or rejected.
    pub state: String,
    pub decided_by: Option<String>,
    pub comment: Option<String>,
    /// Unix milliseconds until which an approved export downloads.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    /// The search whose result is exported (JSON of its filters); none: everyone under the place.
    pub filter: Option<String>,
}

const COLS: &str = "r.id, r.requester_id, r.decided_by, r.place_id, p.name, r.place_path, r.requester_scope, r.unmasked, \
                    r.reason, r.records, r.state, r.decided_by, r.comment, r.expires_at, r.created_at, r.filter";
const FROM: &str = "export_requests r JOIN places p ON p.id = r.place_id";

/// Requests read by `sql`, their requesters and deciders named through org's surface (one read
/// of the accounts for the page, not a join on org's table).
fn read(c: &mut dyn Conn, sql: &str, params: &[Val]) -> Result<Vec<ExportRequest>> {
    let rows = c.query(sql, params)?;
    let ids = rows
        .iter()
        .flat_map(|r| std::iter::once(r.i64(1)).chain(r.opt_i64(2)))
        .collect::<std::collections::BTreeSet<i64>>();
    let names = crate::org::users::usernames(c, ids)?;
    Ok(rows
        .iter()
        .map(|r| {
            let mut e = from_row(r);
            e.requester = names.get(&e.requester_id).cloned().unwrap_or_default();
            e.decided_by = r.opt_i64(2).and_then(|d| names.get(&d).cloned());
            e
        })
        .collect())
}

fn from_row(r: &crate::store::Row) -> ExportRequest {
    ExportRequest {
        id: r.i64(0),
        requester_id: r.i64(1),
        requester: String::new(),
        place_id: r.i64(3),
        place_name: r.str(4),
        place_path: r.str(5),
        requester_scope: r.str(6),
        unmasked: r.bool(7),
        reason: r.str(8),
        records: r.i64(9),
        state: r.str(10),
        decided_by: None,
        comment: r.opt_str(12),
        expires_at: r.opt_i64(13),
        created_at: r.i64(14),
        filter: r.opt_str(15),
    }
}

/// The condition on `p` (persons) of an export: residents (not those who have left) under a
/// path, narrowed by a search's filters when the export is of a search's result.
fn export_cond(keys: &FieldKeys, path: &str, filter: Option<&Search>, p: &mut Vec<Val>) -> String {
    let mut conds = vec![
        "p.residence <> 'left'".to_string(),
        under_paths("p.place_path", &[path.to_string()], 1, p),
    ];
    if let Some(f) = filter {
        conds.extend(super::persons::filter_conds(keys, f, p));
    }
    conds.join(" AND ")
}

/// How many people an export holds.
pub fn count(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    path: &str,
    filter: Option<&Search>,
) -> Result<i64> {
    let mut p = Vec::new();
    let cond = export_cond(keys, path, filter, &mut p);
    c.query_i64(&format!("SELECT COUNT(*) FROM persons p WHERE {cond}"), &p)
}

pub struct NewRequest<'a> {
    pub requester_id: i64,
    pub street_id: Option<i64>,
    pub place_id: i64,
    pub place_path: &'a str,
    pub requester_scope: &'a str,
    pub unmasked: bool,
    pub reason: &'a str,
    pub records: i64,
    /// Approved at once (masked and within the limit) until this time.
    pub auto_approved_until: Option<i64>,
    pub filter: Option<&'a Search>,
}

pub fn create(c: &mut dyn Conn, r: NewRequest<'_>) -> Result<i64> {
    let (state, comment) = match r.auto_approved_until {
        Some(_) => ("approved", Some("within the limit for masked exports")),
        None => ("pending", None),
    };
    Ok(c.query_one(
        "INSERT INTO export_requests (street_id, requester_id, place_id, place_path, requester_scope, unmasked, reason, \
         records, state, comment, expires_at, created_at, filter) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        params![
            r.street_id,
            r.requester_id,
            r.place_id,
            r.place_path,
            r.requester_scope,
            r.unmasked,
            r.reason,
            r.records,
            state,
            comment,
            r.auto_approved_until,
            now_ms(),
            r.filter.map(|f| serde_json::to_string(f).unwrap_or_default())
        ],
    )?
    .i64(0))
}

pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<ExportRequest>> {
    Ok(read(
        c,
        &format!("SELECT {COLS} FROM {FROM} WHERE r.id = $1"),
        params![id],
    )?
    .pop())
}

pub fn mine(c: &mut dyn Conn, user_id: i64) -> Result<Vec<ExportRequest>> {
    read(
        c,
        &format!(
            "SELECT {COLS} FROM {FROM} WHERE r.requester_id = $1 ORDER BY r.id DESC LIMIT 100"
        ),
        params![user_id],
    )
}

/// Whether someone whose registry scope is `approver` stands one level (or more) above a
/// request made from `requester_scope`.
pub fn above(approver: &[String], requester_scope: &str) -> bool {
    approver
        .iter()
        .any(|p| requester_scope.starts_with(&format!("{p}/")))
}

/// Pending requests the approver may decide.
pub fn awaiting(
    c: &mut dyn Conn,
    approver: &[String],
    approver_id: i64,
) -> Result<Vec<ExportRequest>> {
    let mut p: Vec<Val> = Vec::new();
    let cond = under_paths("r.place_path", approver, 1, &mut p);
    let pending: Vec<ExportRequest> = read(
        c,
        &format!("SELECT {COLS} FROM {FROM} WHERE r.state = 'pending' AND {cond} ORDER BY r.id"),
        &p,
    )?
    .into_iter()
    .filter(|r| r.requester_id != approver_id && above(approver, &r.requester_scope))
    .collect();
    // Not those whose account the approver created or empowered lately: she may not decide them.
    let since = now_ms() - super::access::VOUCH_WINDOW_MS;
    let mut out = Vec::with_capacity(pending.len());
    for r in pending {
        if !crate::org::users::vouched_for(c, approver_id, r.requester_id, since)? {
            out.push(r);
        }
    }
    Ok(out)
}

pub fn decide(
    c: &mut dyn Conn,
    id: i64,
    by: i64,
    approve: bool,
    comment: &str,
    expires_at: i64,
) -> Result<bool> {
    let state = if approve { "approved" } else { "rejected" };
    Ok(c.exec(
        "UPDATE export_requests SET state = $1, decided_by = $2, decided_at = $3, comment = $4, expires_at = $5 \
         WHERE id = $6 AND state = 'pending'",
        params![state, by, now_ms(), comment, approve.then_some(expires_at), id],
    )? > 0)
}

/// Cells a spreadsheet would read as a formula are prefixed with an apostrophe
/// (OWASP: CSV injection).
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// The export's rows (the first is the header), and the people in it. The columns are the
/// import template's, with its Chinese headers and values (男/女, 户主, 常住, 人户一致, tag names),
/// so that an unmasked sheet can be corrected in Excel and imported again as it is.
pub fn table(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    path: &str,
    filter: Option<&Search>,
    unmasked: bool,
) -> Result<(Vec<Vec<String>>, Vec<i64>)> {
    use super::import::{COLUMNS, label};
    let mut p = Vec::new();
    let cond = export_cond(keys, path, filter, &mut p);
    let rows = c.query(
        &format!(
            "SELECT p.id, p.name, p.sex, p.birth_date, p.relation, u.address, u.path, p.id_number_enc, \
             p.id_number_masked, p.phone_enc, p.phone_masked, p.hukou_registered, p.residence, \
             p.presence, p.notes, p.street_id \
             FROM persons p LEFT JOIN places u ON u.id = p.unit_id \
             WHERE {cond} ORDER BY p.place_path, p.household_id, p.id"
        ),
        &p,
    )?;
    // Current tags by person, named as the street names them.
    let today = crate::kernel::time::today().format("%Y-%m-%d").to_string();
    let mut tp = Vec::new();
    let tcond = export_cond(keys, path, filter, &mut tp);
    tp.push(Val::Text(today));
    let mut tags: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    for r in c.query(
        &format!(
            "SELECT t.person_id, t.tag FROM person_tags t JOIN persons p ON p.id = t.person_id \
             WHERE {tcond} AND t.valid_from <= ${n} AND (t.valid_to IS NULL OR t.valid_to >= ${n}) \
             ORDER BY t.person_id, t.tag",
            n = tp.len()
        ),
        &tp,
    )? {
        tags.entry(r.i64(0)).or_default().push(r.str(1));
    }
    let mut names: std::collections::HashMap<Option<i64>, Vec<(String, String)>> =
        std::collections::HashMap::new();
    let mut out = Vec::with_capacity(rows.len() + 1);
    out.push(COLUMNS.iter().map(|(_, h)| h[0].to_string()).collect());
    let mut people = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = r.i64(0);
        people.push(id);
        let (idn, phone) = if unmasked {
            (
                r.blob(7).and_then(|b| keys.decrypt(&b)).unwrap_or_default(),
                r.blob(9).and_then(|b| keys.decrypt(&b)).unwrap_or_default(),
            )
        } else {
            (r.str(8), r.str(10))
        };
        let street = r.opt_i64(15);
        if let std::collections::hash_map::Entry::Vacant(e) = names.entry(street) {
            e.insert(super::records::tag_names(c, street, false)?);
        }
        let tag_names: Vec<String> = tags
            .get(&id)
            .map(|codes| {
                codes
                    .iter()
                    .map(|code| {
                        names[&street]
                            .iter()
                            .find(|(c, _)| c == code)
                            .map(|(_, n)| n.clone())
                            .unwrap_or_else(|| code.clone())
                    })
                    .collect()
            })
            .unwrap_or_default();
        // The unit as the import finds it: its address, or its path when it has none.
        let address = r.opt_str(5).filter(|a| !a.trim().is_empty());
        let unit = address.unwrap_or_else(|| r.str(6));
        let sex = match r.str(2).as_str() {
            "M" | "male" => "男".to_string(),
            "F" | "female" => "女".to_string(),
            other => other.to_string(),
        };
        let hukou = if r.bool(11) { "户籍" } else { "非户籍" };
        out.push(vec![
            r.str(1),
            idn,
            sex,
            r.str(3),
            phone,
            unit,
            label("relation", &r.str(4)).to_string(),
            hukou.to_string(),
            label("residence", &r.str(12)).to_string(),
            label("presence", &r.str(13)).to_string(),
            tag_names.join("、"),
            r.str(14),
        ]);
    }
    Ok((out, people))
}

/// Rows as CSV (UTF-8 with a byte-order mark, which Excel needs to read Chinese).
pub fn to_csv(rows: &[Vec<String>]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(rows.len() * 96 + 3);
    out.extend_from_slice(b"\xEF\xBB\xBF");
    let mut w = ::csv::Writer::from_writer(out);
    for row in rows {
        w.write_record(row.iter().map(|s| neutralise(s)))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// Writes rows (the first is the header) as an XLSX workbook with one sheet. Cells are text,
/// neutralised against formula injection as the CSV export is.
pub fn xlsx(rows: &[Vec<String>], sheet_name: &str) -> std::result::Result<Vec<u8>, String> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name).map_err(|e| e.to_string())?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let text = neutralise(cell);
            if r == 0 {
                ws.write_string_with_format(r as u32, c as u16, &text, &bold)
                    .map_err(|e| e.to_string())?;
            } else {
                ws.write_string(r as u32, c as u16, &text)
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    wb.save_to_buffer().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("+1"), "'+1");
        assert_eq!(neutralise("-2"), "'-2");
        assert_eq!(neutralise("@SUM"), "'@SUM");
        assert_eq!(neutralise("王芳"), "王芳");
    }

    #[test]
    fn approval_comes_from_above() {
        let street = vec!["310115/310115004".to_string()];
        assert!(above(&street, "310115/310115004/c01"));
        assert!(!above(&street, "310115/310115004"));
        assert!(!above(
            &["310115/310115004/c01".to_string()],
            "310115/310115004/c02/g0201"
        ));
    }
}
