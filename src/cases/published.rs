//! What Open311 reads and writes: integration keys, the street a jurisdiction names, and cases
//! as the public may see them (the channel in `open311.rs` answers with them).

use sha2::{Digest, Sha256};

use super::{Case, Channel, State as CaseState};
use crate::params;
use crate::store::{Conn, StoreError, Val, now_ms};

/// Creates an integration key for a street; returns it (only its hash is kept).
pub fn create_key(c: &mut dyn Conn, street_id: i64, name: &str) -> Result<String, StoreError> {
    let key = crate::org::auth::random_token("o311_");
    c.exec(
        "INSERT INTO open311_keys (street_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)",
        params![street_id, name, key_hash(&key), now_ms()],
    )?;
    Ok(key)
}

pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The street a jurisdiction names (its code), or the first street when none is given.
pub fn jurisdiction(
    c: &mut dyn Conn,
    id: Option<&str>,
) -> Result<Option<(i64, String)>, StoreError> {
    let row = match id.filter(|s| !s.is_empty()) {
        Some(code) => c.query_opt(
            "SELECT id, code FROM places WHERE kind = 'street' AND code = $1",
            params![code],
        )?,
        None => c.query_opt(
            "SELECT id, code FROM places WHERE kind = 'street' ORDER BY path LIMIT 1",
            &[],
        )?,
    };
    Ok(row.map(|r| (r.i64(0), r.str(1))))
}

/// A case as the public may see it: where it is rounded to its building (or, off any
/// building, to its area and a point within about a hundred metres).
pub struct Published {
    pub case: Case,
    /// The building's (or the area's) id and name.
    pub place_id: i64,
    pub place_name: String,
    pub point: Option<(f64, f64)>,
}

/// A point off any building, rounded to 0.001° (about a hundred metres).
pub fn rounded(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

pub fn load_requests(
    c: &mut dyn Conn,
    street: i64,
    ids: &[i64],
    codes: &[String],
    statuses: (bool, bool),
    range: (i64, i64),
    now: i64,
) -> Result<Vec<Published>, StoreError> {
    let mut p: Vec<Val> = vec![street.into(), range.0.into(), range.1.into()];
    let mut conds = published_conds();
    conds.push("c.created_at >= $2".into());
    conds.push("c.created_at <= $3".into());
    if !ids.is_empty() {
        let l: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        conds.push(format!("c.id IN ({})", l.join(", ")));
    }
    if !codes.is_empty() {
        let mut l = Vec::new();
        for code in codes {
            p.push(code.clone().into());
            l.push(format!("${}", p.len()));
        }
        conds.push(format!("k.code IN ({})", l.join(", ")));
    }
    let open = open_list();
    match statuses {
        (true, false) => conds.push(format!("c.state IN ({open})")),
        (false, true) => conds.push(format!("c.state NOT IN ({open})")),
        _ => {}
    }
    select(c, &conds, &p, now)
}

/// The published cases matching `conds` (over `cases c` and `case_categories k`), newest first.
fn select(
    c: &mut dyn Conn,
    conds: &[String],
    p: &[Val],
    now: i64,
) -> Result<Vec<Published>, StoreError> {
    let sql = format!(
        "SELECT {}, b.name, b.geojson FROM {} LEFT JOIN places b ON b.id = c.building_id \
         WHERE {} ORDER BY c.created_at DESC LIMIT 1000",
        super::CASE_COLS,
        super::CASE_FROM,
        conds.join(" AND ")
    );
    let n = super::CASE_COLS.split(", ").count();
    let mut out: Vec<Published> = c
        .query(&sql, p)?
        .into_iter()
        .map(|mut r| {
            let building = r.take_str(n);
            let point = r
                .opt_str(n + 1)
                .as_deref()
                .and_then(crate::org::geometry::Shape::parse)
                .and_then(|s| s.centre());
            let case = super::case_from(r, now);
            match (case.building_id, building) {
                (Some(b), Some(name)) => Published {
                    place_id: b,
                    place_name: name,
                    point,
                    case,
                },
                _ => Published {
                    place_id: case.place_id,
                    place_name: case.place_name.clone(),
                    point: case
                        .lat
                        .zip(case.lon)
                        .map(|(a, o)| (rounded(a), rounded(o))),
                    case,
                },
            }
        })
        .collect();
    super::query::name_cases(c, out.iter_mut().map(|p| &mut p.case))?;
    Ok(out)
}

/// The conditions every published case meets: its street, a public category not about
/// people, a channel that may be published.
fn published_conds() -> Vec<String> {
    let unpublished: Vec<String> = Channel::ALL
        .into_iter()
        .filter(|ch| !ch.published())
        .map(|ch| format!("'{}'", ch.as_str()))
        .collect();
    vec![
        "c.street_id = $1".to_string(),
        "k.public = 1".to_string(),
        "k.about_people = 0".to_string(),
        format!("c.channel NOT IN ({})", unpublished.join(", ")),
    ]
}

/// The states of a case that still needs work, as an SQL list.
fn open_list() -> String {
    CaseState::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the public page of a place shows: the published cases under `paths` (all of them when
/// `ids` is empty, else only those) still open, or fixed (closed after a resolution) since
/// `fixed_since`; of one category when given.
pub fn load_public(
    c: &mut dyn Conn,
    street: i64,
    paths: &[String],
    ids: &[i64],
    category: Option<&str>,
    fixed_since: i64,
    now: i64,
) -> Result<Vec<Published>, StoreError> {
    let mut p: Vec<Val> = vec![street.into(), fixed_since.into()];
    let mut conds = published_conds();
    conds.push(format!(
        "(c.state IN ({}) OR (c.state IN ('closed', 'rated') AND c.resolved_at IS NOT NULL \
         AND COALESCE(c.closed_at, c.resolved_at) >= $2))",
        open_list()
    ));
    if !paths.is_empty() {
        let n = p.len() + 1;
        conds.push(crate::store::under_paths("c.place_path", paths, n, &mut p));
    }
    if !ids.is_empty() {
        let l: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        conds.push(format!("c.id IN ({})", l.join(", ")));
    }
    if let Some(code) = category {
        p.push(code.to_string().into());
        conds.push(format!("k.code = ${}", p.len()));
    }
    select(c, &conds, &p, now)
}
/// The integration key with this hash: (key id, street id).
pub fn key_by_hash(c: &mut dyn Conn, hash: &str) -> Result<Option<(i64, i64)>, StoreError> {
    Ok(c.query_opt(
        "SELECT id, street_id FROM open311_keys WHERE key_hash = $1",
        params![hash],
    )?
    .map(|r| (r.i64(0), r.i64(1))))
}

/// A published case by its token: (id, token).
pub fn public_token(c: &mut dyn Conn, token: &str) -> Result<Option<(i64, String)>, StoreError> {
    Ok(c.query_opt(
        "SELECT c.id, c.token FROM cases c JOIN case_categories k ON k.id = c.category_id \
             WHERE c.token = $1 AND k.public = 1 AND k.about_people = 0",
        params![token],
    )?
    .map(|r| (r.i64(0), r.str(1))))
}
