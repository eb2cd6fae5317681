//! What the join area reads of the registry to let residents link an account to their own
//! record (issue 21, part 5): the protected fields of persons for its blind index, one
//! person's home, a household's members and the households under a place. Nothing here
//! leaves masked fields unmasked: the ciphertexts go to the caller, which holds the keys.
//!
//! And a hook run whenever persons are created or changed (by an import, the API or a form),
//! in the same transaction, so that whoever keeps something derived from them keeps it current
//! without the registry knowing who.

use std::sync::RwLock;

use crate::params;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result, Val};

/// A person's name and encrypted ID number.
#[derive(Clone, Debug)]
pub struct Protected {
    pub id: i64,
    pub street_id: i64,
    pub name: String,
    pub id_number_enc: Option<Vec<u8>>,
    /// When the record last changed (unix ms).
    pub updated_at: i64,
}

fn protected_row(r: &crate::store::Row) -> Protected {
    Protected {
        id: r.i64(0),
        street_id: r.i64(1),
        name: r.str(2),
        id_number_enc: r.blob(3),
        updated_at: r.i64(4),
    }
}

/// The protected fields of these persons.
pub fn protected(c: &mut dyn Conn, ids: &[i64]) -> Result<Vec<Protected>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let vals: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
        let rows = c.query(
            &format!(
                "SELECT id, street_id, name, id_number_enc, updated_at FROM persons WHERE id IN ({})",
                marks.join(", ")
            ),
            &vals,
        )?;
        out.extend(rows.iter().map(protected_row));
    }
    Ok(out)
}

/// The protected fields of persons after `after` (by id), at most `limit`.
pub fn protected_after(c: &mut dyn Conn, after: i64, limit: i64) -> Result<Vec<Protected>> {
    Ok(c
        .query(
            "SELECT id, street_id, name, id_number_enc, updated_at FROM persons WHERE id > $1 ORDER BY id LIMIT $2",
            params![after, limit],
        )?
        .iter()
        .map(protected_row)
        .collect())
}

/// The person of a street with this ID number, by its blind index (for other areas that take
/// a person by ID number, such as sensing's device files); none when there is none.
pub fn by_id_number_index(c: &mut dyn Conn, street_id: i64, bidx: &str) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT MAX(id) FROM persons WHERE street_id = $1 AND id_number_bidx = $2",
        params![street_id, bidx],
    )?
    .and_then(|r| r.opt_i64(0)))
}

/// Where a person lives now.
#[derive(Clone, Debug)]
pub struct Resident {
    pub id: i64,
    pub street_id: i64,
    pub name: String,
    pub relation: String,
    pub household_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub place_path: String,
    /// permanent, temporary or left.
    pub residence: String,
}

const RESIDENT: &str = "SELECT id, street_id, name, relation, household_id, unit_id, place_path, residence FROM persons";

fn resident_row(r: &crate::store::Row) -> Resident {
    Resident {
        id: r.i64(0),
        street_id: r.i64(1),
        name: r.str(2),
        relation: r.str(3),
        household_id: r.opt_i64(4),
        unit_id: r.opt_i64(5),
        place_path: r.str(6),
        residence: r.str(7),
    }
}

pub fn resident(c: &mut dyn Conn, id: i64) -> Result<Option<Resident>> {
    Ok(
        c.query_opt(&format!("{RESIDENT} WHERE id = $1"), params![id])?
            .map(|r| resident_row(&r)),
    )
}

/// The members of a household who have not left, head first.
pub fn members(c: &mut dyn Conn, household_id: i64) -> Result<Vec<Resident>> {
    Ok(c.query(
        &format!(
            "{RESIDENT} WHERE household_id = $1 AND residence <> 'left' \
                 ORDER BY CASE WHEN relation = 'head' THEN 0 ELSE 1 END, id"
        ),
        params![household_id],
    )?
    .iter()
    .map(resident_row)
    .collect())
}

/// Where each of these persons lives now: (id, household, unit path) of those who have not
/// left.
pub fn homes(c: &mut dyn Conn, ids: &[i64]) -> Result<Vec<(i64, Option<i64>, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let vals: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
        let rows = c.query(
            &format!(
                "SELECT id, household_id, place_path FROM persons WHERE residence <> 'left' AND id IN ({})",
                marks.join(", ")
            ),
            &vals,
        )?;
        out.extend(rows.iter().map(|r| (r.i64(0), r.opt_i64(1), r.str(2))));
    }
    Ok(out)
}

/// A household and its unit.
#[derive(Clone, Debug)]
pub struct HouseholdHome {
    pub id: i64,
    pub street_id: i64,
    pub unit_id: i64,
    pub unit_path: String,
}

const HOUSEHOLD: &str = "SELECT id, street_id, unit_id, place_path FROM households";

fn household_row(r: &crate::store::Row) -> HouseholdHome {
    HouseholdHome {
        id: r.i64(0),
        street_id: r.i64(1),
        unit_id: r.i64(2),
        unit_path: r.str(3),
    }
}

pub fn household(c: &mut dyn Conn, id: i64) -> Result<Option<HouseholdHome>> {
    Ok(
        c.query_opt(&format!("{HOUSEHOLD} WHERE id = $1"), params![id])?
            .map(|r| household_row(&r)),
    )
}

/// The households under a place (its path, or a path below it), in path order.
pub fn households_under(c: &mut dyn Conn, path: &str) -> Result<Vec<HouseholdHome>> {
    let mut p = Vec::new();
    let cond = crate::store::under_paths("place_path", &[path.to_string()], 1, &mut p);
    Ok(c.query(
        &format!("{HOUSEHOLD} WHERE {cond} ORDER BY place_path, id"),
        &p,
    )?
    .iter()
    .map(household_row)
    .collect())
}

/// What runs when persons were created or changed: the connection of the change's
/// transaction, the field keys, the persons' ids.
pub type OnSaved = fn(&mut dyn Conn, &FieldKeys, &[i64]) -> Result<()>;

static ON_SAVED: RwLock<Vec<OnSaved>> = RwLock::new(Vec::new());

/// Registers a hook run when persons are created or changed (once per hook).
pub fn on_saved(hook: OnSaved) {
    let mut hooks = ON_SAVED.write().unwrap_or_else(|e| e.into_inner());
    if !hooks.iter().any(|h| std::ptr::fn_addr_eq(*h, hook)) {
        hooks.push(hook);
    }
}

/// Runs every hook on persons just created or changed, inside the change's transaction.
pub(super) fn saved(c: &mut dyn Conn, keys: &FieldKeys, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let hooks = ON_SAVED.read().unwrap_or_else(|e| e.into_inner()).clone();
    for h in hooks {
        h(c, keys, ids)?;
    }
    Ok(())
}

/// A resident an audience reaches (notices, issue 22): who, her unit and its building, her
/// place.
#[derive(Clone, Debug, PartialEq)]
pub struct Reached {
    pub person_id: i64,
    pub unit_id: Option<i64>,
    /// The building of her unit; 0 when she has none.
    pub building_id: i64,
    pub place_path: String,
}

/// The residents of a street an audience reaches, in place order: those who have not left,
/// living under one of `paths` or in one of `households`, and — when `tags` is not empty —
/// holding one of the tags today.
pub fn reached(
    c: &mut dyn Conn,
    street_id: i64,
    paths: &[String],
    tags: &[String],
    households: &[i64],
) -> Result<Vec<Reached>> {
    let mut p: Vec<Val> = vec![Val::Int(street_id)];
    let mut whom = Vec::new();
    if !paths.is_empty() {
        whom.push(crate::store::under_paths("p.place_path", paths, 2, &mut p));
    }
    if !households.is_empty() {
        let marks: Vec<String> = households
            .iter()
            .map(|h| {
                p.push(Val::Int(*h));
                format!("${}", p.len())
            })
            .collect();
        whom.push(format!("p.household_id IN ({})", marks.join(", ")));
    }
    if whom.is_empty() {
        return Ok(Vec::new());
    }
    // `+p.street_id`: the street is not a way in. Left to itself SQLite would take the
    // (street, ID number) index and walk every resident of the street for a grid's list
    // (333 ms over a street of 40,000 for four elderly; 2 ms by the path index).
    let mut sql = format!(
        "SELECT p.id, p.unit_id, COALESCE(u.parent_id, 0), p.place_path FROM persons p \
         LEFT JOIN places u ON u.id = p.unit_id \
         WHERE +p.street_id = $1 AND p.residence <> 'left' AND ({})",
        whom.join(" OR ")
    );
    if !tags.is_empty() {
        p.push(Val::Text(crate::kernel::time::today().to_string()));
        let day = p.len();
        let marks: Vec<String> = tags
            .iter()
            .map(|t| {
                p.push(Val::Text(t.clone()));
                format!("${}", p.len())
            })
            .collect();
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM person_tags t WHERE t.person_id = p.id AND t.tag IN ({}) \
             AND t.valid_from <= ${day} AND (t.valid_to IS NULL OR t.valid_to >= ${day}))",
            marks.join(", ")
        ));
    }
    sql.push_str(" ORDER BY p.place_path, p.id");
    Ok(c.query(&sql, &p)?
        .iter()
        .map(|r| Reached {
            person_id: r.i64(0),
            unit_id: r.opt_i64(1),
            building_id: r.i64(2),
            place_path: r.str(3),
        })
        .collect())
}

/// Persons' names by id (for lists that show them masked).
pub fn names(c: &mut dyn Conn, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
    crate::store::texts_by_id(
        c,
        "SELECT id, name FROM persons WHERE id IN ({})",
        ids.iter().copied(),
    )
}

/// An owner of a unit, as the votes area takes its electorate (issue 22 part 4): the unit, the
/// person and her name (masked by the reader before it is shown).
#[derive(Clone, Debug)]
pub struct UnitOwner {
    pub unit_id: i64,
    pub person_id: i64,
    pub name: String,
}

/// The owners on record of the units under a place (a building), by unit then person.
pub fn owners_under(c: &mut dyn Conn, path: &str) -> Result<Vec<UnitOwner>> {
    let mut p = Vec::new();
    let cond = crate::store::under_paths("o.place_path", &[path.to_string()], 1, &mut p);
    Ok(c.query(
        &format!(
            "SELECT o.unit_id, o.person_id, p.name FROM unit_owners o \
             JOIN persons p ON p.id = o.person_id WHERE {cond} ORDER BY o.unit_id, o.person_id"
        ),
        &p,
    )?
    .iter()
    .map(|r| UnitOwner {
        unit_id: r.i64(0),
        person_id: r.i64(1),
        name: r.str(2),
    })
    .collect())
}

/// The households of a street under `paths`, as a subquery with the columns `id, unit_id,
/// place_path` for another area's set-based `INSERT … SELECT` (a sweep makes every household
/// of its scope a door in one statement, issue 23 part 2). Its parameters are pushed on
/// `params`, numbered from `params.len() + 1`.
pub fn households_source(street_id: i64, paths: &[String], params: &mut Vec<Val>) -> String {
    params.push(Val::Int(street_id));
    let street = params.len();
    let first = params.len() + 1;
    let under = crate::store::under_paths("place_path", paths, first, params);
    format!(
        "SELECT id, unit_id, place_path FROM households WHERE street_id = ${street} AND {under}"
    )
}

/// The names of households' heads by household id (a door list shows them masked).
pub fn heads(
    c: &mut dyn Conn,
    households: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    crate::store::texts_by_id(
        c,
        "SELECT h.id, p.name FROM households h JOIN persons p ON p.id = h.head_person_id WHERE h.id IN ({})",
        households.iter().copied(),
    )
}

/// The tags each of these persons holds on `day` (`YYYY-MM-DD`), in code order (the visits
/// and roster areas, issue 23, read who needs what live from the registry).
pub fn tags_of(
    c: &mut dyn Conn,
    ids: &[i64],
    day: &str,
) -> Result<std::collections::HashMap<i64, Vec<String>>> {
    let mut out: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let mut vals: Vec<Val> = vec![Val::Text(day.to_string())];
        let marks: Vec<String> = chunk
            .iter()
            .map(|i| {
                vals.push(Val::Int(*i));
                format!("${}", vals.len())
            })
            .collect();
        let rows = c.query(
            &format!(
                "SELECT person_id, tag FROM person_tags WHERE person_id IN ({}) \
                 AND valid_from <= $1 AND (valid_to IS NULL OR valid_to >= $1) ORDER BY person_id, tag",
                marks.join(", ")
            ),
            &vals,
        )?;
        for r in rows {
            let list = out.entry(r.i64(0)).or_default();
            let tag = r.str(1);
            if !list.contains(&tag) {
                list.push(tag);
            }
        }
    }
    Ok(out)
}

/// The household person `id` lives in (`org::hooks::household_of`: a caller's own household
/// joins her scope).
pub fn household_of(c: &mut dyn Conn, id: i64) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT household_id FROM persons WHERE id = $1",
        crate::params![id],
    )?
    .and_then(|r| r.opt_i64(0)))
}

/// The SQL of the people holding a tag on a day, for another area's subquery (sensing's rules
/// over tagged people's devices): `SELECT person_id …` and, with `units`, `SELECT unit_id …` (the
/// flats they live in). `street`, `tag` and `day` are the numbers of the caller's parameters
/// (the street's id, the tag's code, the day as `YYYY-MM-DD`). The registry keeps its tables'
/// SQL; the caller only places it.
pub fn tag_holders_sql(street: usize, tag: usize, day: usize, units: bool) -> String {
    let (col, join) = if units {
        ("pp.unit_id", " JOIN persons pp ON pp.id = t.person_id")
    } else {
        ("t.person_id", "")
    };
    format!(
        "SELECT {col} FROM person_tags t{join} WHERE t.street_id = ${street} AND t.tag = ${tag} \
         AND t.valid_from <= ${day} AND (t.valid_to IS NULL OR t.valid_to >= ${day})"
    )
}
