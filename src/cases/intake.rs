//! Opening a case: placing a spot at a building or in a grid, checking the category's fields, routing and deadlines, storing it (`prepare` then `store`), and cases opened by sensors.

use super::*;

/// A new case as an intake channel hands it over.
#[derive(Clone, Debug, Default)]
pub struct NewCase {
    pub category: String,
    pub description: String,
    /// A place of the street (a building, unit, grid...); found from the point when absent.
    pub place_id: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: String,
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub reporter_id: Option<i64>,
    pub reporter_name: String,
    pub reporter_contact: Contact,
    pub open311_key_id: Option<i64>,
    /// Never wait for the word segmenter: when it is not loaded yet, store the description's
    /// character pairs only and let the cases job complete the terms. Set by intake that runs
    /// inside a write transaction (sensor alerts).
    pub terms_later: bool,
    /// Opened by a sensor alert: the category's required questions (是否有人被困) are for a
    /// person reporting; a device cannot answer them, and its case opens without them.
    pub from_sensor: bool,
}

/// The place a case belongs to, with the building and the point used for duplicates.
pub struct Located {
    pub place_id: i64,
    pub path: String,
    pub building_id: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A point marked this close to a building is at that building (a building is stored as one
/// point; this covers its footprint and the door in front of it).
pub const AT_BUILDING_M: f64 = 50.0;

/// When a street has no areas drawn (no grid, community or street polygon), a point is placed
/// in the nearest building up to this far away.
pub(super) const NEAREST_BUILDING_M: f64 = 2000.0;

/// Where a point marked on the map lies in a street: the building it is at (within
/// [`AT_BUILDING_M`]), else the smallest area drawn that holds it (grid, then community, then
/// the street); `None` when it is outside the street. A street without areas drawn falls back
/// to its nearest building within [`NEAREST_BUILDING_M`].
pub fn place_at(
    c: &mut dyn Conn,
    street_id: i64,
    lat: f64,
    lon: f64,
) -> Result<Option<Row>, StoreError> {
    let rows = c.query(
        "SELECT id, street_id, kind, path, parent_id, geojson FROM places \
         WHERE (street_id = $1 AND kind IN ('building', 'grid', 'community') OR id = $1) \
         AND geojson IS NOT NULL",
        params![street_id],
    )?;
    let mut nearest: Option<(f64, Row)> = None;
    let mut areas: Vec<(i64, Row)> = Vec::new();
    let mut drawn = false;
    for r in rows {
        let Some(shape) = geometry::Shape::parse(&r.str(5)) else {
            continue;
        };
        let kind = r.str(2);
        if kind == "building" {
            if let Some((y, x)) = shape.point() {
                let d = dedupe::distance_m(lat, lon, y, x);
                if nearest.as_ref().is_none_or(|(best, _)| d < *best) {
                    nearest = Some((d, r));
                }
            }
            continue;
        }
        drawn |= shape.outline().is_some();
        if shape.holds(lat, lon) {
            let rank = match kind.as_str() {
                "grid" => 0,
                "community" => 1,
                _ => 2,
            };
            areas.push((rank, r));
        }
    }
    let limit = if drawn {
        AT_BUILDING_M
    } else {
        NEAREST_BUILDING_M
    };
    if let Some((d, r)) = nearest
        && d <= limit
    {
        return Ok(Some(r));
    }
    Ok(areas
        .into_iter()
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, r)| r))
}

/// Finds where a case is: the place given (which must be in the street), or where the point
/// given lies ([`place_at`]). Coordinates default to the place's (a unit's: its building's).
pub fn locate(
    c: &mut dyn Conn,
    street_id: i64,
    place_id: Option<i64>,
    lat: Option<f64>,
    lon: Option<f64>,
) -> Result<Located, CaseError> {
    if lat.is_some() != lon.is_some() {
        return Err(CaseError::Invalid("case.err_point_pair"));
    }
    if let (Some(a), Some(o)) = (lat, lon)
        && (!(-90.0..=90.0).contains(&a) || !(-180.0..=180.0).contains(&o))
    {
        return Err(CaseError::Invalid("case.err_point"));
    }
    let row = match place_id {
        Some(id) => c
            .query_opt(
                "SELECT id, street_id, kind, path, parent_id, geojson FROM places WHERE id = $1",
                params![id],
            )?
            .filter(|r| r.opt_i64(1) == Some(street_id) || r.i64(0) == street_id)
            .ok_or(CaseError::Invalid("case.err_place"))?,
        None => {
            let (Some(a), Some(o)) = (lat, lon) else {
                return Err(CaseError::Invalid("case.err_no_place"));
            };
            place_at(c, street_id, a, o)?.ok_or(CaseError::Invalid("case.err_point_outside"))?
        }
    };
    let kind = row.str(2);
    let building_id = match kind.as_str() {
        "building" => Some(row.i64(0)),
        "unit" => row.opt_i64(4),
        _ => None,
    };
    let (mut la, mut lo) = (lat, lon);
    if la.is_none() || lo.is_none() {
        let geo = match (kind.as_str(), building_id) {
            ("unit", Some(b)) => c
                .query_opt("SELECT geojson FROM places WHERE id = $1", params![b])?
                .and_then(|r| r.opt_str(0)),
            _ => row.opt_str(5),
        };
        if let Some((y, x)) = geo
            .as_deref()
            .and_then(geometry::Shape::parse)
            .and_then(|s| s.centre())
        {
            la = Some(y);
            lo = Some(x);
        }
    }
    Ok(Located {
        place_id: row.i64(0),
        path: row.str(3),
        building_id,
        lat: la,
        lon: lo,
    })
}

/// Checks the extra fields against the category's definitions; returns them normalised.
pub fn check_extra(
    cat: &Category,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, CaseError> {
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    for key in extra.keys() {
        if !cat.fields.iter().any(|f| &f.key == key) {
            return Err(CaseError::Invalid("case.err_extra_unknown"));
        }
    }
    for f in &cat.fields {
        let v = extra.get(&f.key).filter(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        });
        let Some(v) = v else {
            if f.required {
                return Err(CaseError::Invalid("case.err_extra_required"));
            }
            continue;
        };
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let norm = match f.kind {
            FieldType::Text => {
                let s = text(v).ok_or(CaseError::Invalid("case.err_extra_type"))?;
                if s.chars().count() > 200 {
                    return Err(CaseError::Invalid("case.err_extra_type"));
                }
                Value::String(s)
            }
            FieldType::Number => {
                let n = match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                }
                .filter(|n| n.is_finite())
                .ok_or(CaseError::Invalid("case.err_extra_number"))?;
                serde_json::json!(n)
            }
            FieldType::Date => {
                let s = text(v).ok_or(CaseError::Invalid("case.err_extra_date"))?;
                chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map_err(|_| CaseError::Invalid("case.err_extra_date"))?;
                Value::String(s)
            }
            FieldType::Single => {
                let s = text(v).ok_or(CaseError::Invalid("case.err_extra_choice"))?;
                if !f.options.contains(&s) {
                    return Err(CaseError::Invalid("case.err_extra_choice"));
                }
                Value::String(s)
            }
            FieldType::Multi => {
                let items: Vec<String> = match v {
                    Value::Array(a) => a.iter().filter_map(text).collect(),
                    Value::String(s) => s
                        .split([',', '，'])
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect(),
                    _ => Vec::new(),
                };
                if items.is_empty() || items.iter().any(|i| !f.options.contains(i)) {
                    return Err(CaseError::Invalid("case.err_extra_choice"));
                }
                Value::Array(items.into_iter().map(Value::String).collect())
            }
        };
        out.insert(f.key.clone(), norm);
    }
    Ok(out)
}

/// A report checked and placed, with everything storing it needs: its category, place,
/// routing suggestion, deadlines and who to tell. [`prepare`] reads all of it, so intake can
/// do that on a reader and leave the one writer (on SQLite) only the inserts of [`store`].
pub struct Prepared {
    pub category: Category,
    pub located: Located,
    pub suggested_org_id: Option<i64>,
    pub warn_at: i64,
    pub due_at: i64,
    /// The extra fields, normalised, as stored.
    pub extra: String,
    /// The description segmented for duplicate detection.
    pub terms: String,
    /// Only the character pairs so far: the cases job completes them.
    pub terms_partial: bool,
    /// The officials told of the new case.
    pub dispatchers: Vec<i64>,
    /// The case's token (Open311 `token`), random.
    pub token: String,
}

/// Checks a report and reads what opening it needs: validates it, finds its place, the
/// organisation routing suggests and the accept deadline (in working time). Reads only.
pub fn prepare(
    c: &mut dyn Conn,
    street_id: i64,
    n: &NewCase,
    now: i64,
) -> Result<Prepared, CaseError> {
    let cat = category_by_code(c, street_id, n.category.trim())?
        .filter(|k| k.active)
        .ok_or(CaseError::Invalid("case.err_category"))?;
    let description = n.description.trim();
    if description.is_empty() {
        return Err(CaseError::Invalid("case.err_description"));
    }
    if description.chars().count() > 2000
        || n.address.chars().count() > 200
        || n.reporter_name.chars().count() > 100
    {
        return Err(CaseError::Invalid("case.err_too_long"));
    }
    use crate::kernel::text::{check_line, check_note};
    check_note(description)
        .and_then(|()| check_line(&n.address))
        .and_then(|()| check_line(&n.reporter_name))
        .map_err(CaseError::Invalid)?;
    let extra = if n.from_sensor && n.extra.is_empty() {
        serde_json::Map::new()
    } else {
        check_extra(&cat, &n.extra)?
    };
    let loc = locate(c, street_id, n.place_id, n.lat, n.lon)?;
    let suggested = route(c, cat.id, &loc.path)?;
    let cal = Calendar::load(c, street_id)?;
    let dur = cat.accept_hours * HOUR_MS;
    let (terms, terms_partial) = if n.terms_later {
        dedupe::segment_or_pairs(description)
    } else {
        (dedupe::segment(description), false)
    };
    // The operations centre learns of every new case.
    let dispatchers = notify::dispatchers(c, street_id, &loc.path, 0)?;
    Ok(Prepared {
        due_at: cal.add(now, dur),
        warn_at: cal.add(now, dur * 4 / 5),
        category: cat,
        located: loc,
        suggested_org_id: suggested,
        extra: serde_json::Value::Object(extra).to_string(),
        terms,
        terms_partial,
        dispatchers,
        token: crate::org::auth::random_token("")[..20].to_string(),
    })
}

/// Stores a prepared report as a new case, its report as the first event, and tells the
/// operations centre.
pub fn store(
    c: &mut dyn Conn,
    street_id: i64,
    channel: Channel,
    n: &NewCase,
    p: &Prepared,
    now: i64,
) -> Result<CaseId, CaseError> {
    let loc = &p.located;
    // A self-governed matter (留白) runs no clock: no deadline, no alarm.
    let governed = p.category.self_governed();
    let id = c.query_i64(
        "INSERT INTO cases (street_id, category_id, channel, state, priority, description, address, \
         place_id, place_path, building_id, lat, lon, extra, reporter_id, reporter_name, reporter_contact_enc, \
         open311_key_id, token, suggested_org_id, clock, clock_start, warn_at, due_at, next_alarm_at, \
         created_at, updated_at, terms, cell, terms_partial, reporter_contact_masked, self_governed) VALUES ($1, $2, $3, 'new', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15, $16, $17, $18, $26, $19, $20, $21, $20, $19, $19, $22, $23, $24, $25, $27) RETURNING id",
        params![
            street_id,
            p.category.id,
            channel.as_str(),
            p.category.priority,
            n.description.trim(),
            n.address.trim(),
            loc.place_id,
            loc.path.clone(),
            loc.building_id,
            loc.lat,
            loc.lon,
            p.extra.clone(),
            n.reporter_id,
            n.reporter_name.trim(),
            n.reporter_contact.enc.clone(),
            n.open311_key_id,
            p.token.as_str(),
            p.suggested_org_id,
            now,
            (!governed).then_some(p.warn_at),
            (!governed).then_some(p.due_at),
            p.terms.clone(),
            loc.lat.zip(loc.lon).map(|(a, o)| dedupe::cell(a, o)),
            p.terms_partial as i64,
            n.reporter_contact.masked.as_str(),
            if governed { "self" } else { "accept" },
            governed
        ],
    )?;
    let actor = if n.reporter_name.trim().is_empty() {
        channel.as_str().to_string()
    } else {
        n.reporter_name.trim().to_string()
    };
    record_event(
        c,
        street_id,
        id,
        now,
        (n.reporter_id, &actor),
        "report",
        "",
        State::New.as_str(),
        "",
        serde_json::json!({"channel": channel.as_str(), "suggested_org_id": p.suggested_org_id}),
    )?;
    notify::to_users(c, street_id, &p.dispatchers, "new", id, "", now)?;
    Ok(CaseId(id))
}

/// Opens a case in one transaction: [`prepare`] and [`store`].
pub fn create(
    c: &mut dyn Conn,
    street_id: i64,
    channel: Channel,
    n: &NewCase,
    now: i64,
) -> Result<CaseId, CaseError> {
    let p = prepare(c, street_id, n, now)?;
    store(c, street_id, channel, n, &p, now)
}

/// The grid worker responsible for a place: a grid worker of the grid that contains it.
pub fn grid_worker_for(c: &mut dyn Conn, place_path: &str) -> Result<Option<i64>, StoreError> {
    Ok(crate::org::users::grid_workers_of_street(c, place_path)?
        .into_iter()
        .find(|(_, grid)| crate::org::Scope::covers(std::slice::from_ref(grid), place_path))
        .map(|(id, _)| id))
}

/// Opens a case from a sensor alert (for the sensing module): channel `sensor`, routed like any
/// other case, accepted at once and dispatched to the grid worker responsible for the place
/// (or, when the grid has none, left for the operations centre to dispatch). Follow it with
/// [`state_of`].
pub fn open_from_sensor(
    c: &mut dyn Conn,
    street_id: i64,
    category_code: &str,
    place_id: i64,
    description: &str,
    now: i64,
) -> Result<CaseId, CaseError> {
    let id = create(
        c,
        street_id,
        Channel::Sensor,
        &NewCase {
            category: category_code.to_string(),
            description: description.to_string(),
            place_id: Some(place_id),
            // No name: the channel (传感器 / Sensor) says who reported it, in the reader's language.
            reporter_name: String::new(),
            terms_later: true,
            from_sensor: true,
            ..NewCase::default()
        },
        now,
    )?;
    let case = get(c, id.0, now)?.ok_or(CaseError::NotFound)?;
    let system = lifecycle::ActorRef::system(vec![Actor::Dispatcher]);
    lifecycle::apply(
        c,
        &case,
        &system,
        // The timeline says 受理 by the system; a note would be in one language only.
        &lifecycle::Step::new(Action::Accept, ""),
        now,
    )?;
    if let Some(worker) = grid_worker_for(c, &case.place_path)? {
        let case = get(c, id.0, now)?.ok_or(CaseError::NotFound)?;
        let mut step = lifecycle::Step::new(Action::Dispatch, "");
        step.user_id = Some(worker);
        lifecycle::apply(c, &case, &system, &step, now)?;
    }
    Ok(id)
}
