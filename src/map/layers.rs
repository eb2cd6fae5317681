//! The street's own map layers, read from its places: its boundaries (street, communities,
//! grids), its buildings with their names and addresses, its roads when the street has
//! uploaded them, and the resident's own building. Public geography only: no layer names a
//! person, so reading one is not audited.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::org::geometry::Shape;
use crate::params;
use crate::store::{Conn, Result, Val, like_containing, under_paths};

/// Buildings drawn at most (a street has hundreds; beyond this the map shows its areas).
pub const MAX_BUILDINGS: usize = 5000;
/// Road features a street may upload at most.
pub const MAX_ROADS: usize = 5000;

/// A street's layers, each a GeoJSON FeatureCollection.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MapLayers {
    pub street_id: i64,
    pub street_name: String,
    /// The street's, communities' and grids' boundaries: Polygon features with `id`, `kind`
    /// (street, community, grid) and `name`.
    #[schema(value_type = Object)]
    pub areas: Value,
    /// Buildings: Point (or footprint Polygon) features with `id`, `name`, `address` and `own`
    /// (the caller's own building).
    #[schema(value_type = Object)]
    pub buildings: Value,
    /// Roads with their names (LineString features with `name`), when the street has
    /// uploaded them; `null` otherwise.
    #[schema(value_type = Option<Object>)]
    pub roads: Option<Value>,
    /// The caller's own building (a resident's home), if any.
    pub own_building: Option<i64>,
    /// A background tile layer the street has configured (off unless configured).
    pub tiles: Option<Tiles>,
}

/// A background tile layer: its URL template (`https://…/{z}/{x}/{y}.png`) and the
/// attribution its provider requires, shown on the map.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Tiles {
    pub url: String,
    pub attribution: String,
}

fn geometry(text: &str) -> Option<Value> {
    Shape::parse(text)?;
    serde_json::from_str(text).ok()
}

fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

/// The layers of a street; `own_unit` is the caller's home (a resident's unit), marked.
pub fn street(c: &mut dyn Conn, street: i64, own_unit: Option<i64>) -> Result<Option<MapLayers>> {
    let Some(s) = c.query_opt(
        "SELECT name FROM places WHERE id = $1 AND kind = 'street'",
        params![street],
    )?
    else {
        return Ok(None);
    };
    let own_building = match own_unit {
        Some(u) => c
            .query_opt(
                "SELECT parent_id FROM places WHERE id = $1 AND street_id = $2 AND kind = 'unit'",
                params![u, street],
            )?
            .and_then(|r| r.opt_i64(0)),
        None => None,
    };
    let rows = c.query(
        "SELECT id, kind, name, address, geojson FROM places WHERE (street_id = $1 OR id = $1) \
         AND kind IN ('street', 'community', 'grid', 'building') AND geojson IS NOT NULL ORDER BY depth, path",
        params![street],
    )?;
    let mut areas = Vec::new();
    let mut buildings = Vec::new();
    for r in &rows {
        let Some(g) = geometry(&r.str(4)) else {
            continue;
        };
        let (id, kind, name) = (r.i64(0), r.str(1), r.str(2));
        if kind == "building" {
            if buildings.len() < MAX_BUILDINGS {
                buildings.push(json!({
                    "type": "Feature",
                    "geometry": g,
                    "properties": {
                        "id": id,
                        "name": name,
                        "address": r.opt_str(3).unwrap_or_default(),
                        "own": Some(id) == own_building,
                    },
                }));
            }
        } else {
            areas.push(json!({
                "type": "Feature",
                "geometry": g,
                "properties": {"id": id, "kind": kind, "name": name},
            }));
        }
    }
    let roads = c
        .query_opt(
            "SELECT geojson FROM map_layers WHERE street_id = $1 AND layer = 'roads'",
            params![street],
        )?
        .and_then(|r| serde_json::from_str::<Value>(&r.str(0)).ok());
    Ok(Some(MapLayers {
        street_id: street,
        street_name: s.str(0),
        areas: collection(areas),
        buildings: collection(buildings),
        roads,
        own_building,
        tiles: None,
    }))
}

/// Why a roads layer is refused, as a catalogue key.
pub fn check_roads(v: &Value) -> std::result::Result<Value, &'static str> {
    if v.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err("map.err_roads_collection");
    }
    let Some(features) = v.get("features").and_then(Value::as_array) else {
        return Err("map.err_roads_collection");
    };
    if features.len() > MAX_ROADS {
        return Err("map.err_roads_many");
    }
    let mut out = Vec::with_capacity(features.len());
    for f in features {
        let g = f.get("geometry").cloned().unwrap_or(Value::Null);
        let kind = g.get("type").and_then(Value::as_str).unwrap_or_default();
        if !matches!(kind, "LineString" | "MultiLineString")
            || Shape::parse(&g.to_string()).is_none()
        {
            return Err("map.err_roads_line");
        }
        let name = f
            .get("properties")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string();
        if name.chars().count() > 100 || crate::kernel::text::check_line(&name).is_err() {
            return Err("map.err_roads_name");
        }
        // Only the line and its name are kept: nothing else rides along.
        out.push(json!({"type": "Feature", "geometry": g, "properties": {"name": name}}));
    }
    Ok(collection(out))
}

/// Stores (or, with no features, removes) a street's roads.
pub fn save_roads(c: &mut dyn Conn, street: i64, roads: &Value) -> Result<()> {
    let empty = roads
        .get("features")
        .and_then(Value::as_array)
        .is_none_or(|f| f.is_empty());
    if empty {
        c.exec(
            "DELETE FROM map_layers WHERE street_id = $1 AND layer = 'roads'",
            params![street],
        )?;
        return Ok(());
    }
    c.exec(
        "INSERT INTO map_layers (street_id, layer, geojson, updated_at) VALUES ($1, 'roads', $2, $3) \
         ON CONFLICT (street_id, layer) DO UPDATE SET geojson = excluded.geojson, updated_at = excluded.updated_at",
        params![street, roads.to_string(), crate::store::now_ms()],
    )?;
    Ok(())
}

/// The place a point lies in, named.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Located {
    pub id: i64,
    /// building, grid, community or street.
    pub kind: String,
    pub name: String,
}

pub fn name_of(c: &mut dyn Conn, id: i64) -> Result<Option<Located>> {
    Ok(c.query_opt(
        "SELECT id, kind, name FROM places WHERE id = $1",
        params![id],
    )?
    .map(|r| Located {
        id: r.i64(0),
        kind: r.str(1),
        name: r.str(2),
    }))
}

/// For what a place is picked: a person's records (imports, exports) or an account's place
/// (new accounts, grants). Each reads the caller's own part of the hierarchy for it.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PickFor {
    #[default]
    Registry,
    Users,
}

/// A place picked by name or address, with its path (what the forms take).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Picked {
    pub id: i64,
    /// street, community, grid or building.
    pub kind: String,
    pub name: String,
    /// Its code path (`310115/310115004/c01/g01`), the value the form sends.
    pub path: String,
    /// The names from the street down: 幸福街道 › 幸福社区 › 第一网格.
    pub label: String,
    pub address: Option<String>,
}

/// Places under `paths` whose name or address contains the words (or whose code path they are:
/// a form filled in before shows the name of what it holds), the widest first, at most `limit`.
/// With `units`, flats too (a device's place): a unit is found by its number under the
/// buildings whose name holds the other words (`3号楼 101`), and labelled with its building.
/// Words that are a place's id find that place (a form filled in before by id).
pub fn pick(
    c: &mut dyn Conn,
    paths: &[String],
    words: &str,
    units: bool,
    limit: i64,
) -> Result<Vec<Picked>> {
    let id: i64 = words.parse().unwrap_or(0);
    let kinds = if units {
        "('street', 'community', 'grid', 'building', 'unit')"
    } else {
        "('street', 'community', 'grid', 'building')"
    };
    // `3号楼 101`: the last word is the flat's, the rest its building's.
    let (building_words, unit_words) = match words.rsplit_once(char::is_whitespace) {
        Some((b, u)) if units && !b.trim().is_empty() => (b.trim(), u.trim()),
        _ => ("", ""),
    };
    let mut p: Vec<Val> = vec![
        like_containing(words).into(),
        words.to_string().into(),
        id.into(),
    ];
    let by_building = if unit_words.is_empty() {
        String::new()
    } else {
        p.push(like_containing(building_words).into());
        p.push(unit_words.to_string().into());
        "OR (kind = 'unit' AND name = $5 AND parent_id IN \
         (SELECT b.id FROM places b WHERE b.kind = 'building' AND b.name LIKE $4 ESCAPE '\\'))"
            .to_string()
    };
    let cond = under_paths("path", paths, p.len() + 1, &mut p);
    let rows = c.query(
        &format!(
            "SELECT id, kind, name, path, address FROM places \
             WHERE kind IN {kinds} \
             AND (name LIKE $1 ESCAPE '\\' OR address LIKE $1 ESCAPE '\\' OR path = $2 OR id = $3 {by_building}) \
             AND {cond} ORDER BY depth, path LIMIT {}",
            limit.clamp(1, 100)
        ),
        &p,
    )?;
    // The names of the places above them, in one read.
    let names = crate::org::places::names_above(c, rows.iter().map(|r| r.str(3)))?;
    Ok(rows
        .iter()
        .map(|r| {
            let path = r.str(3);
            let parts: Vec<&str> = path.split('/').collect();
            let mut label: Vec<String> = (1..parts.len())
                .filter_map(|i| names.get(&parts[..i].join("/")))
                .filter(|(kind, _)| {
                    matches!(kind.as_str(), "street" | "community" | "grid")
                        || (kind == "building" && r.str(1) == "unit")
                })
                .map(|(_, name)| name.clone())
                .collect();
            label.push(r.str(2));
            Picked {
                id: r.i64(0),
                kind: r.str(1),
                name: r.str(2),
                path,
                label: label.join(" › "),
                address: r.opt_str(4).filter(|a| !a.is_empty()),
            }
        })
        .collect())
}
