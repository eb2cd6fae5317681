//! Vehicles, their plates checked as GA 36 writes them.

use super::*;

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

pub(super) fn vehicles_where(
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
             WHERE {cond} ORDER BY v.plate, v.id LIMIT ${}",
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

/// Vehicles within the scope; `plate` matches any part of the plate: a page of `limit` by
/// plate, starting after the key `after` (`id:plate`, the `next` of the page before), with the
/// key of the next page when more follow. Within one street the walk follows the street's
/// plate index and stops after the page.
pub fn vehicles(
    c: &mut dyn Conn,
    scope: &Scope,
    plate: Option<&str>,
    limit: i64,
    after: Option<&str>,
) -> Result<(Vec<Vehicle>, Option<String>)> {
    let mut p = Vec::new();
    let mut conds = vec![under_paths("v.place_path", &scope.registry, 1, &mut p)];
    if let Some(street) = super::rentals::one_street(c, scope)? {
        p.push(Val::Int(street));
        conds.push(format!("v.street_id = ${}", p.len()));
    }
    if let Some((id, plate)) = after.and_then(vehicle_key) {
        p.push(Val::Text(plate));
        p.push(Val::Int(id));
        conds.push(format!(
            "(v.plate > ${k} OR (v.plate = ${k} AND v.id > ${i}))",
            k = p.len() - 1,
            i = p.len()
        ));
    }
    if let Some(q) = plate.map(|q| {
        crate::registry::import::normalise(q)
            .chars()
            .filter(|c| !matches!(c, ' ' | '·' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect::<String>()
    }) && !q.is_empty()
    {
        p.push(Val::Text(format!("%{}%", q.replace(['%', '_', '\\'], ""))));
        conds.push(format!("v.plate LIKE ${}", p.len()));
    }
    let mut page = vehicles_where(c, &conds.join(" AND "), p, limit + 1)?;
    let more = page.len() as i64 > limit;
    page.truncate(limit as usize);
    let next = page
        .last()
        .filter(|_| more)
        .map(|v| format!("{}:{}", v.id, v.plate));
    Ok((page, next))
}

/// A page key of [`vehicles`]: `id:plate`.
pub fn vehicle_key(s: &str) -> Option<(i64, String)> {
    let (id, plate) = s.split_once(':')?;
    Some((id.parse().ok()?, plate.to_string()))
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
    let owner = match find_person(
        c,
        keys,
        scope,
        None,
        &v.owner,
        "registry.refusal.owner_not_registered",
    )? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let (owner_id, street, path) = (owner.person.id, owner.street_id, owner.place_path);
    if c.query_opt(
        "SELECT id FROM vehicles WHERE street_id = $1 AND plate = $2",
        params![street, plate.as_str()],
    )?
    .is_some()
    {
        return conflict("registry.refusal.plate_registered");
    }
    let parking = v.parking.clone().unwrap_or_default().trim().to_string();
    if parking.chars().count() > 100 {
        return invalid("registry.refusal.parking_long");
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
            return invalid("registry.refusal.parking_long");
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
