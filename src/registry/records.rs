//! The registry's records beside persons: housing units (area, use, owners and their shares),
//! households as editable records, rental registrations (出租房备案) with their tenants,
//! vehicles, and the tags an administrator defines. Every change keeps a version (who, when,
//! from which source, what) in `record_versions`. Reads take the caller's scope into their SQL;
//! a record outside it is "not found".

use serde::{Deserialize, Serialize};

use super::idnum::IdNumber;
use super::import::parse_date;
use super::plate::{Area, Plate, UNIT_USES, unit_use};
use crate::org::Scope;
use crate::params;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result, Val, now_ms, under_paths};

/// Why a change was refused: not found (or outside the scope), invalid input, or a clash
/// with an existing record. Messages are bilingual, as the import's reasons are.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    NotFound,
    Invalid(String),
    Conflict(String),
}

pub type Outcome<T> = std::result::Result<T, Refusal>;

fn invalid<T>(zh: &str, en: &str) -> Result<Outcome<T>> {
    Ok(Err(Refusal::Invalid(format!("{zh} / {en}"))))
}

fn conflict<T>(zh: &str, en: &str) -> Result<Outcome<T>> {
    Ok(Err(Refusal::Conflict(format!("{zh} / {en}"))))
}

impl From<Refusal> for crate::kernel::error::AppError {
    fn from(r: Refusal) -> Self {
        use crate::kernel::StatusCode;
        match r {
            Refusal::NotFound => crate::kernel::error::AppError::not_found(),
            Refusal::Invalid(m) => crate::kernel::error::AppError::with_message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                m,
            ),
            Refusal::Conflict(m) => {
                crate::kernel::error::AppError::with_message(StatusCode::CONFLICT, "conflict", m)
            }
        }
    }
}

/// One change to a record.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RecordVersion {
    /// Unix milliseconds.
    pub at: i64,
    pub actor: Option<String>,
    /// form, import or api.
    pub source: String,
    /// `{"field": [old, new]}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// Who makes a change, and through what.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub user_id: i64,
    pub source: &'a str,
}

fn keep_version(
    c: &mut dyn Conn,
    street_id: i64,
    entity: &str,
    entity_id: i64,
    who: Actor<'_>,
    changes: serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    c.exec(
        "INSERT INTO record_versions (street_id, entity, entity_id, at, actor_id, source, changes) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![street_id, entity, entity_id, now_ms(), who.user_id, who.source, serde_json::Value::Object(changes).to_string()],
    )?;
    Ok(())
}

pub fn versions(c: &mut dyn Conn, entity: &str, entity_id: i64) -> Result<Vec<RecordVersion>> {
    Ok(c.query(
        "SELECT v.at, u.username, v.source, v.changes FROM record_versions v LEFT JOIN users u ON u.id = v.actor_id \
         WHERE v.entity = $1 AND v.entity_id = $2 ORDER BY v.at DESC, v.id DESC LIMIT 200",
        params![entity, entity_id],
    )?
    .iter()
    .map(|r| RecordVersion {
        at: r.i64(0),
        actor: r.opt_str(1),
        source: r.str(2),
        changes: serde_json::from_str(&r.str(3)).unwrap_or(serde_json::Value::Null),
    })
    .collect())
}

/// A person named on another record: owner, landlord, tenant, vehicle owner.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PersonRef {
    pub id: i64,
    pub name: String,
    pub id_number_masked: Option<String>,
}

/// Finds a person of the street by id or by ID number (through the blind index).
fn find_person(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    street_id: i64,
    r: &PersonPick,
) -> Result<Outcome<PersonRef>> {
    let row = if let Some(id) = r.person_id {
        c.query_opt(
            "SELECT id, name, id_number_masked FROM persons WHERE id = $1 AND street_id = $2",
            params![id, street_id],
        )?
    } else if let Some(text) = r.id_number.as_deref() {
        let idn = match IdNumber::parse(text) {
            Ok(i) => i,
            Err(e) => return Ok(Err(Refusal::Invalid(e.to_string()))),
        };
        c.query_opt(
            "SELECT id, name, id_number_masked FROM persons WHERE id_number_bidx = $1 AND street_id = $2",
            params![keys.blind_index("id_number", idn.as_str()), street_id],
        )?
    } else {
        return invalid(
            "请给出人员编号或身份证号",
            "give the person's id or ID number",
        );
    };
    match row {
        Some(r) => Ok(Ok(PersonRef {
            id: r.i64(0),
            name: r.str(1),
            id_number_masked: r.opt_str(2),
        })),
        None => invalid(
            "实有人口中没有此人，请先登记",
            "this person is not in the registry; register them first",
        ),
    }
}

/// A person picked by registry id or by ID number.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PersonPick {
    #[serde(default)]
    pub person_id: Option<i64>,
    #[serde(default)]
    pub id_number: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Housing units

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Owner {
    pub id: i64,
    pub person: PersonRef,
    /// Percent of the unit, 0–100.
    pub share_pct: f64,
    pub since: Option<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Unit {
    pub id: i64,
    pub street_id: i64,
    pub path: String,
    pub name: String,
    pub address: Option<String>,
    pub floor_no: Option<i64>,
    pub area_m2: Option<f64>,
    /// self_occupied, rented, vacant or commercial.
    pub unit_use: Option<String>,
    pub owners: Vec<Owner>,
    pub rentals: Vec<Rental>,
    pub vehicles: Vec<Vehicle>,
    pub history: Vec<RecordVersion>,
}

struct UnitRow {
    id: i64,
    street_id: i64,
    path: String,
    name: String,
    address: Option<String>,
    floor_no: Option<i64>,
    area_m2: Option<f64>,
    unit_use: Option<String>,
}

fn unit_row(c: &mut dyn Conn, scope: &Scope, id: i64) -> Result<Option<UnitRow>> {
    let Some(r) = c.query_opt(
        "SELECT id, street_id, path, name, address, floor_no, area_m2, unit_use FROM places WHERE id = $1 AND kind = 'unit'",
        params![id],
    )?
    else {
        return Ok(None);
    };
    let path = r.str(2);
    if !Scope::covers(&scope.registry, &path) {
        return Ok(None);
    }
    Ok(Some(UnitRow {
        id: r.i64(0),
        street_id: r.i64(1),
        path,
        name: r.str(3),
        address: r.opt_str(4),
        floor_no: r.opt_i64(5),
        area_m2: r.opt_f64(6),
        unit_use: r.opt_str(7),
    }))
}

/// Whether a unit with this id exists at all (to tell a denial from a miss).
pub fn unit_exists(c: &mut dyn Conn, id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT id FROM places WHERE id = $1 AND kind = 'unit'",
        params![id],
    )?
    .is_some())
}

pub fn owners(c: &mut dyn Conn, unit_id: i64) -> Result<Vec<Owner>> {
    Ok(c.query(
        "SELECT o.id, p.id, p.name, p.id_number_masked, o.share_pct, o.since FROM unit_owners o \
         JOIN persons p ON p.id = o.person_id WHERE o.unit_id = $1 ORDER BY o.share_pct DESC, o.id",
        params![unit_id],
    )?
    .iter()
    .map(|r| Owner {
        id: r.i64(0),
        person: PersonRef {
            id: r.i64(1),
            name: r.str(2),
            id_number_masked: r.opt_str(3),
        },
        share_pct: r.f64(4),
        since: r.opt_str(5),
    })
    .collect())
}

/// A unit with its owners, rental registrations, its residents' vehicles and its history.
pub fn unit(c: &mut dyn Conn, scope: &Scope, id: i64) -> Result<Option<Unit>> {
    let Some(u) = unit_row(c, scope, id)? else {
        return Ok(None);
    };
    let owners = owners(c, id)?;
    let rentals = rentals_where(c, "r.unit_id = $1", vec![Val::Int(id)], 50)?;
    let vehicles = vehicles_where(
        c,
        "v.owner_id IN (SELECT id FROM persons WHERE unit_id = $1)",
        vec![Val::Int(id)],
        50,
    )?;
    let history = versions(c, "unit", id)?;
    Ok(Some(Unit {
        id: u.id,
        street_id: u.street_id,
        path: u.path,
        name: u.name,
        address: u.address,
        floor_no: u.floor_no,
        area_m2: u.area_m2,
        unit_use: u.unit_use,
        owners,
        rentals,
        vehicles,
        history,
    }))
}

/// The people a unit's page shows (owners, landlords, tenants, vehicle owners), for the audit.
pub fn unit_subjects(u: &Unit) -> Vec<i64> {
    let mut v: Vec<i64> = u.owners.iter().map(|o| o.person.id).collect();
    for r in &u.rentals {
        v.push(r.landlord.id);
        v.extend(r.tenants.iter().map(|t| t.id));
    }
    v.extend(u.vehicles.iter().map(|x| x.owner.id));
    v.sort_unstable();
    v.dedup();
    v
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct UnitPatch {
    /// Floor area in m², e.g. `85.5` or `85.5㎡`.
    #[serde(default)]
    pub area: Option<String>,
    /// self_occupied, rented, vacant or commercial (or 自住, 出租, 空置, 商用).
    #[serde(default)]
    pub unit_use: Option<String>,
}

pub fn update_unit(
    c: &mut dyn Conn,
    scope: &Scope,
    id: i64,
    patch: &UnitPatch,
    who: Actor<'_>,
) -> Result<Outcome<Vec<String>>> {
    let Some(u) = unit_row(c, scope, id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let mut changes = serde_json::Map::new();
    if let Some(a) = patch.area.as_deref().filter(|a| !a.trim().is_empty()) {
        let area = match Area::parse(a) {
            Ok(a) => a,
            Err(e) => return Ok(Err(Refusal::Invalid(e.to_string()))),
        };
        if u.area_m2 != Some(area.m2()) {
            c.exec(
                "UPDATE places SET area_m2 = $1 WHERE id = $2",
                params![area.m2(), id],
            )?;
            changes.insert("area_m2".into(), serde_json::json!([u.area_m2, area.m2()]));
        }
    }
    if let Some(s) = patch.unit_use.as_deref().filter(|s| !s.trim().is_empty()) {
        let Some(code) = unit_use(s) else {
            return invalid(
                "房屋用途应是 自住、出租、空置 或 商用",
                "a unit's use is self_occupied, rented, vacant or commercial",
            );
        };
        if u.unit_use.as_deref() != Some(code) {
            c.exec(
                "UPDATE places SET unit_use = $1 WHERE id = $2",
                params![code, id],
            )?;
            changes.insert("unit_use".into(), serde_json::json!([u.unit_use, code]));
        }
    }
    let changed: Vec<String> = changes.keys().cloned().collect();
    keep_version(c, u.street_id, "unit", id, who, changes)?;
    Ok(Ok(changed))
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewOwner {
    #[serde(flatten)]
    pub person: PersonPick,
    /// Percent of the unit; the unit's shares may add up to at most 100.
    pub share_pct: f64,
    /// When the ownership began (YYYY-MM-DD).
    #[serde(default)]
    pub since: Option<String>,
}

pub fn add_owner(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    scope: &Scope,
    unit_id: i64,
    o: &NewOwner,
    who: Actor<'_>,
) -> Result<Outcome<i64>> {
    let Some(u) = unit_row(c, scope, unit_id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    if !o.share_pct.is_finite() || o.share_pct <= 0.0 || o.share_pct > 100.0 {
        return invalid(
            "产权份额应在 0 到 100 之间",
            "a share is a percentage above 0 and at most 100",
        );
    }
    let since = match o.since.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => match parse_date(s) {
            Some(d) => Some(d.format("%Y-%m-%d").to_string()),
            None => return invalid("日期无法识别", "the date cannot be read"),
        },
        None => None,
    };
    let person = match find_person(c, keys, u.street_id, &o.person)? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    if c.query_opt(
        "SELECT id FROM unit_owners WHERE unit_id = $1 AND person_id = $2",
        params![unit_id, person.id],
    )?
    .is_some()
    {
        return conflict(
            "此人已是该房屋的产权人",
            "this person already owns a share of the unit",
        );
    }
    let held: f64 = c
        .query_one(
            "SELECT COALESCE(SUM(share_pct), 0) FROM unit_owners WHERE unit_id = $1",
            params![unit_id],
        )?
        .f64(0);
    if held + o.share_pct > 100.0 + 1e-9 {
        return Ok(Err(Refusal::Conflict(format!(
            "份额合计将超过 100%（已登记 {held}%） / the shares would add up to more than 100% ({held}% already registered)"
        ))));
    }
    let id = c
        .query_one(
            "INSERT INTO unit_owners (street_id, unit_id, place_path, person_id, share_pct, since, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            params![u.street_id, unit_id, u.path.clone(), person.id, o.share_pct, since.clone(), now_ms()],
        )?
        .i64(0);
    let mut ch = serde_json::Map::new();
    ch.insert(
        "owner".into(),
        serde_json::json!([null, format!("{} {}%", person.name, o.share_pct)]),
    );
    keep_version(c, u.street_id, "unit", unit_id, who, ch)?;
    Ok(Ok(id))
}

pub fn remove_owner(
    c: &mut dyn Conn,
    scope: &Scope,
    unit_id: i64,
    owner_id: i64,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    let Some(u) = unit_row(c, scope, unit_id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let Some(r) = c.query_opt(
        "SELECT p.name, o.share_pct FROM unit_owners o JOIN persons p ON p.id = o.person_id WHERE o.id = $1 AND o.unit_id = $2",
        params![owner_id, unit_id],
    )?
    else {
        return Ok(Err(Refusal::NotFound));
    };
    c.exec("DELETE FROM unit_owners WHERE id = $1", params![owner_id])?;
    let mut ch = serde_json::Map::new();
    ch.insert(
        "owner".into(),
        serde_json::json!([format!("{} {}%", r.str(0), r.f64(1)), null]),
    );
    keep_version(c, u.street_id, "unit", unit_id, who, ch)?;
    Ok(Ok(()))
}

/// The units a person owns (an owner may hold several), within the scope.
pub fn units_owned(
    c: &mut dyn Conn,
    scope: &Scope,
    person_id: i64,
) -> Result<Vec<(i64, String, f64)>> {
    let mut p = vec![Val::Int(person_id)];
    let cond = under_paths("o.place_path", &scope.registry, 2, &mut p);
    Ok(c.query(
        &format!(
            "SELECT u.id, COALESCE(u.address, u.name), o.share_pct FROM unit_owners o JOIN places u ON u.id = o.unit_id \
             WHERE o.person_id = $1 AND {cond} ORDER BY u.path"
        ),
        &p,
    )?
    .iter()
    .map(|r| (r.i64(0), r.str(1), r.f64(2)))
    .collect())
}

// ---------------------------------------------------------------------------------------------
// Rental registrations

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Rental {
    pub id: i64,
    pub unit_id: i64,
    pub address: Option<String>,
    /// 备案编号.
    pub reg_no: String,
    pub landlord: PersonRef,
    pub tenants: Vec<PersonRef>,
    pub start_date: String,
    pub end_date: String,
    /// active, ended or cancelled.
    pub state: String,
    /// True when active but past its end date: the registration needs renewing.
    pub expired: bool,
    pub notes: String,
}

fn rentals_where(c: &mut dyn Conn, cond: &str, mut p: Vec<Val>, limit: i64) -> Result<Vec<Rental>> {
    p.push(Val::Int(limit));
    let rows = c.query(
        &format!(
            "SELECT r.id, r.unit_id, u.address, r.reg_no, l.id, l.name, l.id_number_masked, r.start_date, r.end_date, r.state, r.notes \
             FROM rentals r JOIN places u ON u.id = r.unit_id JOIN persons l ON l.id = r.landlord_id \
             WHERE {cond} ORDER BY r.end_date DESC, r.id DESC LIMIT ${}",
            p.len()
        ),
        &p,
    )?;
    let today = crate::kernel::time::today().format("%Y-%m-%d").to_string();
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = r.i64(0);
        let tenants = c
            .query(
                "SELECT p.id, p.name, p.id_number_masked FROM rental_tenants t JOIN persons p ON p.id = t.person_id \
                 WHERE t.rental_id = $1 ORDER BY p.id",
                params![id],
            )?
            .iter()
            .map(|t| PersonRef {
                id: t.i64(0),
                name: t.str(1),
                id_number_masked: t.opt_str(2),
            })
            .collect();
        let state = r.str(9);
        let end = r.str(8);
        out.push(Rental {
            id,
            unit_id: r.i64(1),
            address: r.opt_str(2),
            reg_no: r.str(3),
            landlord: PersonRef {
                id: r.i64(4),
                name: r.str(5),
                id_number_masked: r.opt_str(6),
            },
            tenants,
            start_date: r.str(7),
            expired: state == "active" && end < today,
            end_date: end,
            state,
            notes: r.str(10),
        });
    }
    Ok(out)
}

/// Rental registrations within the scope, optionally only in one state or only those whose
/// end date falls within `expiring_days`.
pub fn rentals(
    c: &mut dyn Conn,
    scope: &Scope,
    state: Option<&str>,
    expiring_days: Option<i64>,
    limit: i64,
) -> Result<Vec<Rental>> {
    let mut p = Vec::new();
    let mut conds = vec![under_paths("r.place_path", &scope.registry, 1, &mut p)];
    if let Some(s) = state {
        p.push(Val::Text(s.to_string()));
        conds.push(format!("r.state = ${}", p.len()));
    }
    if let Some(days) = expiring_days {
        let until = crate::kernel::time::today() + chrono::Days::new(days.clamp(0, 3650) as u64);
        p.push(Val::Text(until.format("%Y-%m-%d").to_string()));
        conds.push(format!("r.state = 'active' AND r.end_date <= ${}", p.len()));
    }
    rentals_where(c, &conds.join(" AND "), p, limit)
}

pub fn rental(c: &mut dyn Conn, scope: &Scope, id: i64) -> Result<Option<Rental>> {
    let mut p = vec![Val::Int(id)];
    let cond = under_paths("r.place_path", &scope.registry, 2, &mut p);
    Ok(rentals_where(c, &format!("r.id = $1 AND {cond}"), p, 1)?
        .into_iter()
        .next())
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewRental {
    pub unit_id: i64,
    /// 备案编号; generated when left out.
    #[serde(default)]
    pub reg_no: Option<String>,
    pub landlord: PersonPick,
    #[serde(default)]
    pub tenants: Vec<PersonPick>,
    /// YYYY-MM-DD (or as sheets write dates).
    pub start_date: String,
    pub end_date: String,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Registers a rental. The landlord must own a share of the unit when its owners are known;
/// the unit's use becomes "rented".
pub fn create_rental(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    scope: &Scope,
    r: &NewRental,
    who: Actor<'_>,
) -> Result<Outcome<i64>> {
    let Some(u) = unit_row(c, scope, r.unit_id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let (Some(start), Some(end)) = (parse_date(&r.start_date), parse_date(&r.end_date)) else {
        return invalid(
            "租期日期无法识别",
            "the rental period's dates cannot be read",
        );
    };
    if end <= start {
        return invalid(
            "租期结束日期应晚于开始日期",
            "the rental must end after it starts",
        );
    }
    let landlord = match find_person(c, keys, u.street_id, &r.landlord)? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let owners = owners(c, u.id)?;
    if !owners.is_empty() && !owners.iter().any(|o| o.person.id == landlord.id) {
        return invalid(
            "出租人不是该房屋的产权人",
            "the landlord does not own a share of this unit",
        );
    }
    if r.tenants.is_empty() {
        return invalid("请至少登记一名承租人", "register at least one tenant");
    }
    let mut tenants = Vec::new();
    for t in &r.tenants {
        match find_person(c, keys, u.street_id, t)? {
            Ok(p) if p.id == landlord.id => {
                return invalid("出租人不能同时是承租人", "the landlord cannot be a tenant");
            }
            Ok(p) => tenants.push(p),
            Err(e) => return Ok(Err(e)),
        }
    }
    tenants.sort_by_key(|t| t.id);
    tenants.dedup_by_key(|t| t.id);
    let (start, end) = (
        start.format("%Y-%m-%d").to_string(),
        end.format("%Y-%m-%d").to_string(),
    );
    if c.query_opt(
        "SELECT id FROM rentals WHERE unit_id = $1 AND state = 'active' AND start_date < $2 AND end_date > $3",
        params![u.id, end.clone(), start.clone()],
    )?
    .is_some()
    {
        return conflict(
            "该房屋在此期间已有有效的出租备案",
            "the unit already has an active rental registration in this period",
        );
    }
    let reg_no = match r.reg_no.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(n) if n.chars().count() <= 40 => n.to_string(),
        Some(_) => return invalid("备案编号过长", "the registration number is too long"),
        None => {
            let n = c.query_i64(
                "SELECT COUNT(*) FROM rentals WHERE street_id = $1",
                params![u.street_id],
            )?;
            format!("ZL{}{:05}", &start[..4], n + 1)
        }
    };
    if c.query_opt(
        "SELECT id FROM rentals WHERE street_id = $1 AND reg_no = $2",
        params![u.street_id, reg_no.clone()],
    )?
    .is_some()
    {
        return conflict(
            "备案编号已被使用",
            "the registration number is already in use",
        );
    }
    let now = now_ms();
    let notes = r.notes.clone().unwrap_or_default();
    let id = c
        .query_one(
            "INSERT INTO rentals (street_id, unit_id, place_path, reg_no, landlord_id, start_date, end_date, state, notes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $9) RETURNING id",
            params![u.street_id, u.id, u.path.clone(), reg_no.clone(), landlord.id, start.clone(), end.clone(), notes, now],
        )?
        .i64(0);
    for t in &tenants {
        c.exec(
            "INSERT INTO rental_tenants (street_id, rental_id, person_id) VALUES ($1, $2, $3)",
            params![u.street_id, id, t.id],
        )?;
    }
    let mut ch = serde_json::Map::new();
    ch.insert("reg_no".into(), serde_json::json!([null, reg_no]));
    ch.insert("landlord".into(), serde_json::json!([null, landlord.name]));
    ch.insert(
        "tenants".into(),
        serde_json::json!([
            null,
            tenants
                .iter()
                .map(|t| t.name.clone())
                .collect::<Vec<_>>()
                .join("、")
        ]),
    );
    ch.insert(
        "period".into(),
        serde_json::json!([null, format!("{start} – {end}")]),
    );
    keep_version(c, u.street_id, "rental", id, who, ch)?;
    if u.unit_use.as_deref() != Some("rented") {
        c.exec(
            "UPDATE places SET unit_use = 'rented' WHERE id = $1",
            params![u.id],
        )?;
        let mut ch = serde_json::Map::new();
        ch.insert("unit_use".into(), serde_json::json!([u.unit_use, "rented"]));
        keep_version(c, u.street_id, "unit", u.id, who, ch)?;
    }
    Ok(Ok(id))
}

/// Ends (the tenants moved out) or cancels (registered in error) an active registration.
pub fn close_rental(
    c: &mut dyn Conn,
    scope: &Scope,
    id: i64,
    to: &str,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    if !matches!(to, "ended" | "cancelled") {
        return invalid(
            "出租备案只能终止（ended）或注销（cancelled）",
            "a registration can be ended or cancelled",
        );
    }
    let Some(r) = rental(c, scope, id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    if r.state != "active" {
        return conflict(
            "该备案已不在有效状态",
            "the registration is no longer active",
        );
    }
    let street = c.query_i64("SELECT street_id FROM rentals WHERE id = $1", params![id])?;
    let today = crate::kernel::time::today().format("%Y-%m-%d").to_string();
    let end = if to == "ended" && today < r.end_date {
        today
    } else {
        r.end_date.clone()
    };
    c.exec(
        "UPDATE rentals SET state = $1, end_date = $2, updated_at = $3 WHERE id = $4",
        params![to, end.clone(), now_ms(), id],
    )?;
    let mut ch = serde_json::Map::new();
    ch.insert("state".into(), serde_json::json!(["active", to]));
    if end != r.end_date {
        ch.insert("end_date".into(), serde_json::json!([r.end_date, end]));
    }
    keep_version(c, street, "rental", id, who, ch)?;
    Ok(Ok(()))
}

// ---------------------------------------------------------------------------------------------
// Vehicles

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Vehicle {
    pub id: i64,
    pub plate: String,
    pub new_energy: bool,
    pub owner: PersonRef,
    pub address: Option<String>,
    /// Where it parks (a space number, a garage).
    pub parking: String,
}

fn vehicles_where(
    c: &mut dyn Conn,
    cond: &str,
    mut p: Vec<Val>,
    limit: i64,
) -> Result<Vec<Vehicle>> {
    p.push(Val::Int(limit));
    Ok(c.query(
        &format!(
            "SELECT v.id, v.plate, v.new_energy, o.id, o.name, o.id_number_masked, u.address, v.parking \
             FROM vehicles v JOIN persons o ON o.id = v.owner_id LEFT JOIN places u ON u.id = o.unit_id \
             WHERE {cond} ORDER BY v.plate LIMIT ${}",
            p.len()
        ),
        &p,
    )?
    .iter()
    .map(|r| Vehicle {
        id: r.i64(0),
        plate: r.str(1),
        new_energy: r.bool(2),
        owner: PersonRef {
            id: r.i64(3),
            name: r.str(4),
            id_number_masked: r.opt_str(5),
        },
        address: r.opt_str(6),
        parking: r.str(7),
    })
    .collect())
}

/// Vehicles within the scope; `plate` matches any part of the plate.
pub fn vehicles(
    c: &mut dyn Conn,
    scope: &Scope,
    plate: Option<&str>,
    limit: i64,
) -> Result<Vec<Vehicle>> {
    let mut p = Vec::new();
    let mut conds = vec![under_paths("v.place_path", &scope.registry, 1, &mut p)];
    if let Some(q) = plate.map(|q| {
        super::import::normalise(q)
            .chars()
            .filter(|c| !matches!(c, ' ' | '·' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect::<String>()
    }) && !q.is_empty()
    {
        p.push(Val::Text(format!("%{}%", q.replace(['%', '_', '\\'], ""))));
        conds.push(format!("v.plate LIKE ${}", p.len()));
    }
    vehicles_where(c, &conds.join(" AND "), p, limit)
}

pub fn vehicles_of(c: &mut dyn Conn, person_id: i64) -> Result<Vec<Vehicle>> {
    vehicles_where(c, "v.owner_id = $1", vec![Val::Int(person_id)], 20)
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewVehicle {
    /// 沪A12345, or a new-energy plate such as 沪AD12345.
    pub plate: String,
    pub owner: PersonPick,
    #[serde(default)]
    pub parking: Option<String>,
}

pub fn create_vehicle(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    scope: &Scope,
    v: &NewVehicle,
    who: Actor<'_>,
) -> Result<Outcome<i64>> {
    let plate = match Plate::parse(&v.plate) {
        Ok(p) => p,
        Err(e) => return Ok(Err(Refusal::Invalid(e.to_string()))),
    };
    // The owner must be someone the caller may read.
    let mut p = Vec::new();
    let cond = under_paths("place_path", &scope.registry, 1, &mut p);
    let owner_row = match (&v.owner.person_id, &v.owner.id_number) {
        (Some(id), _) => {
            p.push(Val::Int(*id));
            c.query_opt(
                &format!(
                    "SELECT id, street_id, place_path FROM persons WHERE {cond} AND id = ${}",
                    p.len()
                ),
                &p,
            )?
        }
        (None, Some(text)) => {
            let idn = match IdNumber::parse(text) {
                Ok(i) => i,
                Err(e) => return Ok(Err(Refusal::Invalid(e.to_string()))),
            };
            p.push(Val::Text(keys.blind_index("id_number", idn.as_str())));
            c.query_opt(
                &format!(
                    "SELECT id, street_id, place_path FROM persons WHERE {cond} AND id_number_bidx = ${}",
                    p.len()
                ),
                &p,
            )?
        }
        (None, None) => {
            return invalid("请给出车主", "give the vehicle's owner");
        }
    };
    let Some(owner) = owner_row else {
        return invalid(
            "车主不在您负责的实有人口中",
            "the owner is not among the residents you keep",
        );
    };
    let (owner_id, street, path) = (owner.i64(0), owner.i64(1), owner.str(2));
    if c.query_opt(
        "SELECT id FROM vehicles WHERE street_id = $1 AND plate = $2",
        params![street, plate.as_str()],
    )?
    .is_some()
    {
        return conflict("该车牌已登记", "this plate is already registered");
    }
    let parking = v.parking.clone().unwrap_or_default().trim().to_string();
    if parking.chars().count() > 100 {
        return invalid("停车位描述过长", "the parking place is too long");
    }
    let now = now_ms();
    let id = c
        .query_one(
            "INSERT INTO vehicles (street_id, plate, new_energy, owner_id, place_path, parking, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            params![street, plate.as_str(), plate.is_new_energy(), owner_id, path, parking.clone(), now],
        )?
        .i64(0);
    let mut ch = serde_json::Map::new();
    ch.insert("plate".into(), serde_json::json!([null, plate.as_str()]));
    ch.insert("parking".into(), serde_json::json!([null, parking]));
    keep_version(c, street, "vehicle", id, who, ch)?;
    Ok(Ok(id))
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct VehiclePatch {
    #[serde(default)]
    pub parking: Option<String>,
}

pub fn update_vehicle(
    c: &mut dyn Conn,
    scope: &Scope,
    id: i64,
    patch: &VehiclePatch,
    who: Actor<'_>,
) -> Result<Outcome<Vec<String>>> {
    let mut p = vec![Val::Int(id)];
    let cond = under_paths("place_path", &scope.registry, 2, &mut p);
    let Some(r) = c.query_opt(
        &format!("SELECT street_id, parking FROM vehicles WHERE id = $1 AND {cond}"),
        &p,
    )?
    else {
        return Ok(Err(Refusal::NotFound));
    };
    let mut ch = serde_json::Map::new();
    if let Some(new) = patch.parking.as_deref().map(str::trim) {
        if new.chars().count() > 100 {
            return invalid("停车位描述过长", "the parking place is too long");
        }
        if new != r.str(1) {
            c.exec(
                "UPDATE vehicles SET parking = $1, updated_at = $2 WHERE id = $3",
                params![new, now_ms(), id],
            )?;
            ch.insert("parking".into(), serde_json::json!([r.str(1), new]));
        }
    }
    let changed = ch.keys().cloned().collect();
    keep_version(c, r.i64(0), "vehicle", id, who, ch)?;
    Ok(Ok(changed))
}

pub fn delete_vehicle(
    c: &mut dyn Conn,
    scope: &Scope,
    id: i64,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    let mut p = vec![Val::Int(id)];
    let cond = under_paths("place_path", &scope.registry, 2, &mut p);
    let Some(r) = c.query_opt(
        &format!("SELECT street_id, plate FROM vehicles WHERE id = $1 AND {cond}"),
        &p,
    )?
    else {
        return Ok(Err(Refusal::NotFound));
    };
    c.exec("DELETE FROM vehicles WHERE id = $1", params![id])?;
    let mut ch = serde_json::Map::new();
    ch.insert("plate".into(), serde_json::json!([r.str(1), null]));
    keep_version(c, r.i64(0), "vehicle", id, who, ch)?;
    Ok(Ok(()))
}

// ---------------------------------------------------------------------------------------------
// Households

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct HouseholdPatch {
    /// A member who becomes the head (户主); their relation becomes `head`.
    #[serde(default)]
    pub head_person_id: Option<i64>,
    /// Whether the household's hukou is registered here.
    #[serde(default)]
    pub registered: Option<bool>,
}

fn household_row(
    c: &mut dyn Conn,
    scope: &Scope,
    id: i64,
) -> Result<Option<(i64, Option<i64>, bool)>> {
    let mut p = vec![Val::Int(id)];
    let cond = under_paths("place_path", &scope.registry, 2, &mut p);
    Ok(c.query_opt(
        &format!(
            "SELECT street_id, head_person_id, registered FROM households WHERE id = $1 AND {cond}"
        ),
        &p,
    )?
    .map(|r| (r.i64(0), r.opt_i64(1), r.bool(2))))
}

pub fn update_household(
    c: &mut dyn Conn,
    scope: &Scope,
    id: i64,
    patch: &HouseholdPatch,
    who: Actor<'_>,
) -> Result<Outcome<Vec<String>>> {
    let Some((street, head, registered)) = household_row(c, scope, id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let mut ch = serde_json::Map::new();
    let now = now_ms();
    if let Some(new_head) = patch.head_person_id
        && Some(new_head) != head
    {
        if c.query_opt(
            "SELECT id FROM persons WHERE id = $1 AND household_id = $2 AND residence <> 'left'",
            params![new_head, id],
        )?
        .is_none()
        {
            return invalid(
                "户主须是本户的在册成员",
                "the head must be a member of the household who has not left",
            );
        }
        if let Some(old) = head {
            c.exec(
                "UPDATE persons SET relation = 'other', updated_at = $1 WHERE id = $2 AND relation = 'head'",
                params![now, old],
            )?;
        }
        c.exec(
            "UPDATE persons SET relation = 'head', updated_at = $1 WHERE id = $2",
            params![now, new_head],
        )?;
        c.exec(
            "UPDATE households SET head_person_id = $1, updated_at = $2 WHERE id = $3",
            params![new_head, now, id],
        )?;
        ch.insert("head_person_id".into(), serde_json::json!([head, new_head]));
    }
    if let Some(reg) = patch.registered
        && reg != registered
    {
        c.exec(
            "UPDATE households SET registered = $1, updated_at = $2 WHERE id = $3",
            params![reg, now, id],
        )?;
        ch.insert("registered".into(), serde_json::json!([registered, reg]));
    }
    let changed = ch.keys().cloned().collect();
    keep_version(c, street, "household", id, who, ch)?;
    Ok(Ok(changed))
}

/// Opens a new household in a unit (a family moving in beside another, or split off).
pub fn create_household(
    c: &mut dyn Conn,
    scope: &Scope,
    unit_id: i64,
    registered: bool,
    who: Actor<'_>,
) -> Result<Outcome<i64>> {
    let Some(u) = unit_row(c, scope, unit_id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let now = now_ms();
    let id = c
        .query_one(
            "INSERT INTO households (street_id, unit_id, place_path, registered, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            params![u.street_id, u.id, u.path.clone(), registered, now],
        )?
        .i64(0);
    let mut ch = serde_json::Map::new();
    ch.insert(
        "unit".into(),
        serde_json::json!([null, u.address.unwrap_or(u.name)]),
    );
    keep_version(c, u.street_id, "household", id, who, ch)?;
    Ok(Ok(id))
}

/// Moves a person into another household (within the scope), following it to its unit.
pub fn move_person(
    c: &mut dyn Conn,
    scope: &Scope,
    person_id: i64,
    household_id: i64,
    relation: &str,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    if !super::persons::RELATIONS.contains(&relation) {
        return invalid("与户主关系无法识别", "unknown relation to the head");
    }
    let Some((street, head, _)) = household_row(c, scope, household_id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let mut p = vec![Val::Int(person_id)];
    let cond = under_paths("place_path", &scope.registry, 2, &mut p);
    let Some(r) = c.query_opt(
        &format!("SELECT household_id, relation FROM persons WHERE id = $1 AND {cond}"),
        &p,
    )?
    else {
        return Ok(Err(Refusal::NotFound));
    };
    if relation == "head" && head.is_some() && head != Some(person_id) {
        return conflict(
            "该户已有户主；请先更换户主",
            "the household already has a head; change the head first",
        );
    }
    let (unit_id, path) = {
        let h = c.query_one(
            "SELECT unit_id, place_path FROM households WHERE id = $1",
            params![household_id],
        )?;
        (h.i64(0), h.str(1))
    };
    let old_household = r.opt_i64(0);
    let now = now_ms();
    c.exec(
        "UPDATE persons SET household_id = $1, unit_id = $2, place_path = $3, relation = $4, updated_at = $5 WHERE id = $6",
        params![household_id, unit_id, path.clone(), relation, now, person_id],
    )?;
    // Whoever headed the old household and leaves it leaves it without a head.
    if let Some(old) = old_household {
        c.exec(
            "UPDATE households SET head_person_id = NULL, updated_at = $1 WHERE id = $2 AND head_person_id = $3",
            params![now, old, person_id],
        )?;
    }
    if relation == "head" {
        c.exec(
            "UPDATE households SET head_person_id = $1, updated_at = $2 WHERE id = $3",
            params![person_id, now, household_id],
        )?;
    }
    c.exec(
        "UPDATE vehicles SET place_path = $1 WHERE owner_id = $2",
        params![path, person_id],
    )?;
    super::grams::reindex(c, person_id)?;
    let changes = serde_json::json!({
        "household_id": [old_household, household_id],
        "relation": [r.str(1), relation],
    });
    c.exec(
        "INSERT INTO person_versions (street_id, person_id, at, actor_id, source, changes) VALUES ($1, $2, $3, $4, $5, $6)",
        params![street, person_id, now, who.user_id, who.source, changes.to_string()],
    )?;
    Ok(Ok(()))
}

// ---------------------------------------------------------------------------------------------
// Tags

/// The tags every street has.
pub const BUILTIN_TAGS: [(&str, &str, &str); 7] = [
    ("elderly_alone", "独居老人", "elderly living alone"),
    ("disabled", "残疾人", "disabled"),
    ("party_member", "党员", "party member"),
    ("volunteer", "志愿者", "volunteer"),
    ("renter", "租户", "renter"),
    ("key_care", "重点关爱", "key care"),
    ("home_quarantine", "居家隔离", "under home quarantine"),
];

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TagDef {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// One of the tags every street has (not removable).
    pub builtin: bool,
    /// People holding it now.
    pub holders: i64,
}

/// The tags a street knows, without counting their holders: the built-in ones, then those
/// its administrators defined.
fn known_tags(c: &mut dyn Conn, street_id: Option<i64>) -> Result<Vec<TagDef>> {
    let mut out: Vec<TagDef> = BUILTIN_TAGS
        .iter()
        .map(|(code, zh, en)| TagDef {
            code: code.to_string(),
            name_zh: zh.to_string(),
            name_en: en.to_string(),
            builtin: true,
            holders: 0,
        })
        .collect();
    for r in c.query(
        "SELECT code, name_zh, name_en FROM tag_defs WHERE (CAST($1 AS BIGINT) IS NULL OR street_id = $1) ORDER BY id",
        params![street_id],
    )? {
        out.push(TagDef {
            code: r.str(0),
            name_zh: r.str(1),
            name_en: r.str(2),
            builtin: false,
            holders: 0,
        });
    }
    Ok(out)
}

/// The street's tags as (code, name in the language asked for), for forms and labels.
pub fn tag_names(
    c: &mut dyn Conn,
    street_id: Option<i64>,
    en: bool,
) -> Result<Vec<(String, String)>> {
    Ok(known_tags(c, street_id)?
        .into_iter()
        .map(|t| (t.code, if en { t.name_en } else { t.name_zh }))
        .collect())
}

/// The tags a street knows with how many people hold each (the tag administration's list).
pub fn tag_defs(c: &mut dyn Conn, street_id: Option<i64>) -> Result<Vec<TagDef>> {
    let counts: std::collections::HashMap<String, i64> = c
        .query(
            "SELECT tag, COUNT(*) FROM person_tags WHERE (CAST($1 AS BIGINT) IS NULL OR street_id = $1) GROUP BY tag",
            params![street_id],
        )?
        .iter()
        .map(|r| (r.str(0), r.i64(1)))
        .collect();
    let mut out = known_tags(c, street_id)?;
    for t in &mut out {
        t.holders = counts.get(&t.code).copied().unwrap_or(0);
    }
    Ok(out)
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewTag {
    /// Lower-case letters, digits and `_`, e.g. `low_income`.
    pub code: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: Option<String>,
}

pub fn create_tag(
    c: &mut dyn Conn,
    street_id: i64,
    t: &NewTag,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    let code = t.code.trim().to_ascii_lowercase();
    if code.is_empty()
        || code.len() > 32
        || !code
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        || !code.starts_with(|ch: char| ch.is_ascii_lowercase())
    {
        return invalid(
            "标签代码只能用小写字母、数字和下划线，以字母开头，不超过 32 位",
            "a tag code is lower-case letters, digits and _, starting with a letter, at most 32 long",
        );
    }
    let zh = t.name_zh.trim();
    if zh.is_empty() || zh.chars().count() > 20 {
        return invalid(
            "标签名称应为 1–20 个字",
            "a tag's name has 1 to 20 characters",
        );
    }
    let en = t
        .name_en
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&code);
    if BUILTIN_TAGS
        .iter()
        .any(|(c2, z, _)| *c2 == code || *z == zh)
        || c.query_opt(
            "SELECT id FROM tag_defs WHERE street_id = $1 AND (code = $2 OR name_zh = $3)",
            params![street_id, code.clone(), zh],
        )?
        .is_some()
    {
        return conflict(
            "同名或同代码的标签已存在",
            "a tag with this code or name exists",
        );
    }
    let id = c
        .query_one(
            "INSERT INTO tag_defs (street_id, code, name_zh, name_en, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            params![street_id, code.clone(), zh, en, who.user_id, now_ms()],
        )?
        .i64(0);
    let mut ch = serde_json::Map::new();
    ch.insert(
        "tag".into(),
        serde_json::json!([null, format!("{code} {zh}")]),
    );
    keep_version(c, street_id, "tag", id, who, ch)?;
    Ok(Ok(()))
}

pub fn delete_tag(
    c: &mut dyn Conn,
    street_id: i64,
    code: &str,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    if BUILTIN_TAGS.iter().any(|(c2, _, _)| *c2 == code) {
        return invalid("内置标签不能删除", "a built-in tag cannot be removed");
    }
    let Some(r) = c.query_opt(
        "SELECT id FROM tag_defs WHERE street_id = $1 AND code = $2",
        params![street_id, code],
    )?
    else {
        return Ok(Err(Refusal::NotFound));
    };
    if c.query_i64(
        "SELECT COUNT(*) FROM person_tags WHERE street_id = $1 AND tag = $2",
        params![street_id, code],
    )? > 0
    {
        return conflict(
            "仍有人员带有此标签，不能删除",
            "people still hold this tag; it cannot be removed",
        );
    }
    c.exec("DELETE FROM tag_defs WHERE id = $1", params![r.i64(0)])?;
    let mut ch = serde_json::Map::new();
    ch.insert("tag".into(), serde_json::json!([code, null]));
    keep_version(c, street_id, "tag", r.i64(0), who, ch)?;
    Ok(Ok(()))
}

/// Whether a tag code (or Chinese name) is known to the street; returns its code.
pub fn resolve_tag(c: &mut dyn Conn, street_id: Option<i64>, text: &str) -> Result<Option<String>> {
    let t = text.trim();
    if let Some((code, _, _)) = BUILTIN_TAGS.iter().find(|(c2, z, _)| *c2 == t || *z == t) {
        return Ok(Some(code.to_string()));
    }
    Ok(c.query_opt(
        "SELECT code FROM tag_defs WHERE (CAST($1 AS BIGINT) IS NULL OR street_id = $1) AND (code = $2 OR name_zh = $2)",
        params![street_id, t],
    )?
    .map(|r| r.str(0)))
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewPersonTag {
    /// A tag's code or Chinese name.
    pub tag: String,
    /// YYYY-MM-DD; today when left out.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// YYYY-MM-DD; open-ended when left out (a home quarantine ends, a disability does not).
    #[serde(default)]
    pub valid_to: Option<String>,
    /// Where the fact comes from: 民政, 残联, 社区走访, …
    #[serde(default)]
    pub source: Option<String>,
}

/// Gives a person (within the scope) a tag with its validity period and source.
pub fn add_person_tag(
    c: &mut dyn Conn,
    scope: &Scope,
    person_id: i64,
    t: &NewPersonTag,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    let mut p = vec![Val::Int(person_id)];
    let cond = under_paths("place_path", &scope.registry, 2, &mut p);
    let Some(street) = c
        .query_opt(
            &format!("SELECT street_id FROM persons WHERE id = $1 AND {cond}"),
            &p,
        )?
        .map(|r| r.i64(0))
    else {
        return Ok(Err(Refusal::NotFound));
    };
    let Some(code) = resolve_tag(c, Some(street), &t.tag)? else {
        return Ok(Err(Refusal::Invalid(format!(
            "标签“{}”无法识别 / unknown tag",
            t.tag.trim()
        ))));
    };
    let date = |s: &Option<String>| -> std::result::Result<Option<String>, ()> {
        match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_date(s)
                .map(|d| Some(d.format("%Y-%m-%d").to_string()))
                .ok_or(()),
        }
    };
    let (Ok(from), Ok(to)) = (date(&t.valid_from), date(&t.valid_to)) else {
        return invalid("有效期日期无法识别", "the validity dates cannot be read");
    };
    let from = from.unwrap_or_else(|| crate::kernel::time::today().format("%Y-%m-%d").to_string());
    if let Some(to) = &to
        && *to < from
    {
        return invalid(
            "有效期结束日期早于开始日期",
            "the validity ends before it begins",
        );
    }
    if c.query_opt(
        "SELECT id FROM person_tags WHERE person_id = $1 AND tag = $2 AND (valid_to IS NULL OR valid_to >= $3)",
        params![person_id, code.clone(), from.clone()],
    )?
    .is_some()
    {
        return conflict("此人已有该标签", "the person already holds this tag");
    }
    let source = t
        .source
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(who.source)
        .chars()
        .take(50)
        .collect::<String>();
    c.exec(
        "INSERT INTO person_tags (street_id, person_id, tag, valid_from, valid_to, source, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![street, person_id, code.clone(), from.clone(), to.clone(), source, now_ms()],
    )?;
    super::grams::reindex(c, person_id)?;
    let changes =
        serde_json::json!({ "tags": [null, format!("+{code} {from}–{}", to.unwrap_or_default())] });
    c.exec(
        "INSERT INTO person_versions (street_id, person_id, at, actor_id, source, changes) VALUES ($1, $2, $3, $4, $5, $6)",
        params![street, person_id, now_ms(), who.user_id, who.source, changes.to_string()],
    )?;
    Ok(Ok(()))
}

/// Ends a person's tag today (the row stays, with its period, as history).
pub fn end_person_tag(
    c: &mut dyn Conn,
    scope: &Scope,
    person_id: i64,
    tag: &str,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    let mut p = vec![Val::Int(person_id)];
    let cond = under_paths("place_path", &scope.registry, 2, &mut p);
    let Some(street) = c
        .query_opt(
            &format!("SELECT street_id FROM persons WHERE id = $1 AND {cond}"),
            &p,
        )?
        .map(|r| r.i64(0))
    else {
        return Ok(Err(Refusal::NotFound));
    };
    let today = crate::kernel::time::today();
    let yesterday = (today - chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();
    let today = today.format("%Y-%m-%d").to_string();
    let Some(r) = c.query_opt(
        "SELECT id, valid_from FROM person_tags WHERE person_id = $1 AND tag = $2 AND (valid_to IS NULL OR valid_to >= $3)",
        params![person_id, tag, today.clone()],
    )?
    else {
        return Ok(Err(Refusal::NotFound));
    };
    // A tag given today and ended today never held; otherwise it held until yesterday.
    let end = if r.str(1) >= today {
        r.str(1)
    } else {
        yesterday
    };
    c.exec(
        "UPDATE person_tags SET valid_to = $1 WHERE id = $2",
        params![end.clone(), r.i64(0)],
    )?;
    let changes = serde_json::json!({ "tags": [tag, format!("-{tag} ({end})")] });
    c.exec(
        "INSERT INTO person_versions (street_id, person_id, at, actor_id, source, changes) VALUES ($1, $2, $3, $4, $5, $6)",
        params![street, person_id, now_ms(), who.user_id, who.source, changes.to_string()],
    )?;
    Ok(Ok(()))
}

/// The uses a unit can have, for forms.
pub fn unit_uses() -> &'static [&'static str] {
    &UNIT_USES
}
