//! Housing units: floor area, use, owners and their shares.

use super::*;

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

pub(super) struct UnitRow {
    pub(super) id: i64,
    pub(super) street_id: i64,
    pub(super) path: String,
    pub(super) name: String,
    pub(super) address: Option<String>,
    pub(super) floor_no: Option<i64>,
    pub(super) area_m2: Option<f64>,
    pub(super) unit_use: Option<String>,
}

pub(super) fn unit_row(c: &mut dyn Conn, scope: &Scope, id: i64) -> Result<Option<UnitRow>> {
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
            return invalid("registry.refusal.unit_use");
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
        return invalid("registry.refusal.owner_share");
    }
    let since = match o.since.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => match parse_date(s) {
            Some(d) => Some(d.format("%Y-%m-%d").to_string()),
            None => return invalid("registry.refusal.owner_date"),
        },
        None => None,
    };
    let person = match find_person(c, keys, scope, Some(u.street_id), &o.person, NOT_REGISTERED)? {
        Ok(p) => p.person,
        Err(e) => return Ok(Err(e)),
    };
    if c.query_opt(
        "SELECT id FROM unit_owners WHERE unit_id = $1 AND person_id = $2",
        params![unit_id, person.id],
    )?
    .is_some()
    {
        return conflict("registry.refusal.owner_exists");
    }
    let held: f64 = c
        .query_one(
            "SELECT COALESCE(SUM(share_pct), 0) FROM unit_owners WHERE unit_id = $1",
            params![unit_id],
        )?
        .f64(0);
    if held + o.share_pct > 100.0 + 1e-9 {
        return Ok(Err(Refusal::Conflict(crate::kernel::i18n::both(
            "unit.err_shares",
            &[("held", &held)],
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
