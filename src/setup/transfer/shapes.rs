//! The street's map from GeoJSON: grid and community boundaries and building footprints (or
//! points). A FeatureCollection whose features name their place in `properties` — `path`, or
//! `code`, or `name` (also 名称, 网格, 楼栋), with an optional `kind` — each checked: a valid
//! shape of the right type, a building inside its grid, the grids of a community not
//! overlapping (an overlap is reported with its area).

use std::collections::HashMap;

use geo::{Area, BooleanOps, Centroid, Contains, Geometry, MultiPolygon, Validation};
use serde_json::{Value, json};

use super::{ImportReport, PlacesCreated, Refusal, reason};
use crate::kernel::i18n::Lang;
use crate::kernel::{AppError, AppResult};
use crate::org::place_edit::{self, Fields};
use crate::org::places::{self, Place};
use crate::store::{Conn, now_ms};

use super::Crs;

/// One feature of the file, read.
#[derive(Clone, Debug)]
pub struct Feature {
    /// From 1, as a person counts them.
    pub number: usize,
    pub props: serde_json::Map<String, Value>,
    /// The geometry (WGS-84), or why it is unusable.
    pub geometry: Result<Geometry<f64>, String>,
}

impl Feature {
    fn label(&self) -> String {
        let name = ["name", "名称", "网格", "楼栋", "code", "path"]
            .iter()
            .find_map(|k| self.props.get(*k).and_then(Value::as_str))
            .unwrap_or("");
        if name.is_empty() {
            format!("#{}", self.number)
        } else {
            format!("#{} {name}", self.number)
        }
    }
}

/// Reads a FeatureCollection; one message (in `lang`) when the file is not one.
pub fn parse(bytes: &[u8], crs: Crs, lang: Lang) -> Result<Vec<Feature>, String> {
    let text = String::from_utf8_lossy(bytes);
    let v: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        reason(
            lang,
            "setup.geojson.not_json",
            &[("line", &e.line()), ("column", &e.column())],
        )
    })?;
    if v.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(reason(lang, "setup.geojson.not_collection", &[]));
    }
    let Some(features) = v.get("features").and_then(Value::as_array) else {
        return Err(reason(lang, "setup.geojson.not_collection", &[]));
    };
    let mut out = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let props = f
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let geometry = match f.get("geometry") {
            None | Some(Value::Null) => Err(reason(lang, "setup.geojson.no_geometry", &[])),
            Some(g) => g
                .to_string()
                .parse::<geojson::Geometry>()
                .ok()
                .and_then(|g| Geometry::<f64>::try_from(g).ok())
                .map(|g| convert(g, crs))
                .ok_or_else(|| reason(lang, "setup.geojson.bad_geometry", &[])),
        };
        out.push(Feature {
            number: i + 1,
            props,
            geometry,
        });
    }
    Ok(out)
}

fn convert(g: Geometry<f64>, crs: Crs) -> Geometry<f64> {
    use geo::MapCoords;
    match crs {
        Crs::Wgs84 => g,
        Crs::Gcj02 => g.map_coords(|c| {
            let (lat, lon) = gcj02_to_wgs84(c.y, c.x);
            geo::coord! { x: lon, y: lat }
        }),
    }
}

// GCJ-02 is WGS-84 shifted by a published nonlinear offset (a few hundred metres in
// China). The shift is applied forwards exactly; backwards by iterating, which converges to a
// few millimetres in three steps.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

fn shift(lat: f64, lon: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let (x, y) = (lon - 105.0, lat - 35.0);
    let common = (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    dlat += common;
    dlat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    dlon += common;
    dlon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sq = magic.sqrt();
    (
        dlat * 180.0 / ((A * (1.0 - EE)) / (magic * sq) * PI),
        dlon * 180.0 / (A / sq * rad.cos() * PI),
    )
}

/// WGS-84 to GCJ-02 (for the tests, and a tile layer in GCJ-02 later).
pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    let (dlat, dlon) = shift(lat, lon);
    (lat + dlat, lon + dlon)
}

pub fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    let (mut wlat, mut wlon) = (lat, lon);
    for _ in 0..4 {
        let (glat, glon) = wgs84_to_gcj02(wlat, wlon);
        wlat -= glat - lat;
        wlon -= glon - lon;
    }
    (wlat, wlon)
}

/// Square metres of an area given in degrees, near latitude `lat`.
fn square_metres(deg2: f64, lat: f64) -> f64 {
    deg2 * 111_320.0 * lat.to_radians().cos() * 110_540.0
}

fn as_area(g: &Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match g {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p.clone()])),
        Geometry::MultiPolygon(m) => Some(m.clone()),
        _ => None,
    }
}

/// Finds the place a feature names, under `root`: the one place, or the candidates when the
/// name fits several (none when it fits nothing).
fn find<'a>(all: &'a [Place], root: &Place, f: &Feature) -> Result<&'a Place, Vec<&'a Place>> {
    let s = |k: &str| f.props.get(k).and_then(Value::as_str).map(str::trim);
    let kind = s("kind").or_else(|| {
        if s("楼栋").is_some() || s("building").is_some() {
            Some("building")
        } else if s("网格").is_some() || s("grid").is_some() {
            Some("grid")
        } else {
            None
        }
    });
    if let Some(path) = s("path") {
        return all.iter().find(|p| p.path == path).ok_or_else(Vec::new);
    }
    let fits = |p: &&Place| kind.is_none_or(|k| p.kind == k) && p.path != root.path;
    if let Some(code) = s("code") {
        let m: Vec<&Place> = all.iter().filter(|p| p.code == code).filter(fits).collect();
        if m.len() == 1 {
            return Ok(m[0]);
        }
    }
    let Some(name) = ["name", "名称", "网格", "楼栋", "grid", "building"]
        .iter()
        .find_map(|k| s(k))
    else {
        return Err(Vec::new());
    };
    let m: Vec<&Place> = all
        .iter()
        .filter(|p| p.name == name || p.address.as_deref() == Some(name))
        .filter(|p| p.kind != "unit")
        .filter(fits)
        .collect();
    if m.len() == 1 { Ok(m[0]) } else { Err(m) }
}

/// Checks every feature and (unless refused or a dry run) stores the shapes.
pub fn import(
    c: &mut dyn Conn,
    root: &Place,
    features: &[Feature],
    lang: Lang,
    dry_run: bool,
    by: Option<i64>,
    source: &str,
) -> AppResult<ImportReport> {
    let all = super::sheet::load_under(c, &root.path)?;
    let mut report = ImportReport {
        created: PlacesCreated::default(),
        ..ImportReport::default()
    };
    let refuse = |report: &mut ImportReport, f: &Feature, why: String| {
        report.refused.push(Refusal {
            row: None,
            feature: Some(f.label()),
            reason: why,
        });
    };
    // The shapes as they will be: stored ones, replaced by the file's.
    let mut shapes: HashMap<String, Geometry<f64>> = all
        .iter()
        .filter_map(|p| {
            let g = p.geojson.as_deref()?;
            let g = g.parse::<geojson::Geometry>().ok()?;
            Some((p.path.clone(), Geometry::<f64>::try_from(g).ok()?))
        })
        .collect();
    let mut accepted: Vec<(&Place, &Feature, &Geometry<f64>)> = Vec::new();
    let mut claimed: HashMap<String, usize> = HashMap::new();
    for f in features {
        let place = match find(&all, root, f) {
            Ok(p) => p,
            Err(several) if several.len() > 1 => {
                let paths: Vec<&str> = several.iter().map(|p| p.path.as_str()).collect();
                refuse(
                    &mut report,
                    f,
                    reason(
                        lang,
                        "setup.geojson.several",
                        &[
                            ("scope", &root.name),
                            ("n", &several.len()),
                            ("paths", &paths.join(", ")),
                        ],
                    ),
                );
                continue;
            }
            Err(_) => {
                refuse(
                    &mut report,
                    f,
                    reason(lang, "setup.geojson.no_place", &[("scope", &root.name)]),
                );
                continue;
            }
        };
        let g = match &f.geometry {
            Ok(g) => g,
            Err(why) => {
                refuse(&mut report, f, why.clone());
                continue;
            }
        };
        if let Some(first) = claimed.insert(place.path.clone(), f.number) {
            refuse(
                &mut report,
                f,
                reason(
                    lang,
                    "setup.geojson.twice",
                    &[("first", &format!("#{first}"))],
                ),
            );
            continue;
        }
        let wants_area = matches!(place.kind.as_str(), "community" | "grid" | "street");
        let is_area = as_area(g).is_some();
        let is_point = matches!(g, Geometry::Point(_));
        let fits = if wants_area {
            is_area
        } else {
            is_area || is_point
        };
        if !fits || place.kind == "unit" {
            refuse(
                &mut report,
                f,
                reason(lang, "setup.geojson.wrong_type", &[]),
            );
            continue;
        }
        if let Err(e) = g.check_validation() {
            let key = if e.to_string().contains("intersect") {
                "setup.geojson.self_intersects"
            } else {
                "setup.geojson.invalid"
            };
            refuse(&mut report, f, reason(lang, key, &[("detail", &e)]));
            continue;
        }
        shapes.insert(place.path.clone(), g.clone());
        accepted.push((place, f, g));
    }
    // Buildings inside their grid; grids of one community apart.
    for (place, f, g) in &accepted {
        let parent = place.path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        if place.kind == "building"
            && let Some(grid) = shapes.get(parent).and_then(as_area)
        {
            let inside = match g {
                Geometry::Point(p) => grid.contains(p),
                other => other.centroid().is_some_and(|c| grid.contains(&c)),
            };
            if !inside {
                let gname = all
                    .iter()
                    .find(|p| p.path == parent)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                refuse(
                    &mut report,
                    f,
                    reason(lang, "setup.geojson.outside_grid", &[("grid", &gname)]),
                );
            }
        }
        if place.kind == "grid" {
            let Some(mine) = as_area(g) else { continue };
            for other in all.iter().filter(|o| {
                o.kind == "grid"
                    && o.path != place.path
                    && o.path.rsplit_once('/').map(|(p, _)| p) == Some(parent)
            }) {
                // Each pair once: the later feature (or the stored grid) reports it.
                if accepted
                    .iter()
                    .any(|(p, f2, _)| p.path == other.path && f2.number > f.number)
                {
                    continue;
                }
                let Some(theirs) = shapes.get(&other.path).and_then(as_area) else {
                    continue;
                };
                let overlap = mine.intersection(&theirs);
                let lat = mine.centroid().map(|c| c.y()).unwrap_or(31.0);
                let m2 = square_metres(overlap.unsigned_area(), lat);
                if m2 >= 1.0 {
                    refuse(
                        &mut report,
                        f,
                        reason(
                            lang,
                            "setup.geojson.overlap",
                            &[("other", &other.name), ("m2", &format!("{m2:.0}"))],
                        ),
                    );
                } else if m2 > 0.0 {
                    report.notes.push(reason(
                        lang,
                        "setup.geojson.touch",
                        &[("a", &place.name), ("b", &other.name)],
                    ));
                }
            }
        }
    }
    let stored: HashMap<&str, Option<&str>> = all
        .iter()
        .map(|p| (p.path.as_str(), p.geojson.as_deref()))
        .collect();
    let mut changes = Vec::new();
    for (place, _, g) in &accepted {
        let text = geojson::Geometry::from(*g).to_string();
        let same = stored
            .get(place.path.as_str())
            .copied()
            .flatten()
            .is_some_and(|old| {
                serde_json::from_str::<Value>(old).ok() == serde_json::from_str::<Value>(&text).ok()
            });
        if same {
            report.unchanged += 1;
        } else {
            report.updated += 1;
            changes.push((*place, text));
        }
    }
    if dry_run || !report.refused.is_empty() {
        return Ok(report);
    }
    let now = now_ms();
    for (place, text) in changes {
        let mut full = places::by_id_unscoped(c, place.id)?.ok_or_else(AppError::not_found)?;
        let had = full.geojson.is_some();
        let ch = place_edit::update(
            c,
            &full,
            &Fields {
                geojson: Some(text),
                ..Fields::default()
            },
        )?;
        if !ch.is_empty() {
            full.geojson = None;
            place_edit::record_version(
                c,
                &full,
                by,
                source,
                &json!({"geojson": [if had { "…" } else { "" }, "…"]}),
                now,
            )?;
        }
    }
    report.applied = true;
    Ok(report)
}

/// The shapes of the places under `root` as a FeatureCollection.
pub fn export(all: &[Place]) -> Vec<u8> {
    let features: Vec<Value> = all
        .iter()
        .filter_map(|p| {
            let g: Value = serde_json::from_str(p.geojson.as_deref()?).ok()?;
            let mut props = json!({"kind": p.kind, "code": p.code, "name": p.name, "path": p.path});
            if let Some(a) = &p.address {
                props["address"] = json!(a);
            }
            Some(json!({"type": "Feature", "properties": props, "geometry": g}))
        })
        .collect();
    serde_json::to_vec_pretty(&json!({"type": "FeatureCollection", "features": features}))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcj02_round_trips_and_shifts_by_hundreds_of_metres() {
        let (lat, lon) = (31.2304, 121.4737);
        let (glat, glon) = wgs84_to_gcj02(lat, lon);
        let shift_m = (((glat - lat) * 110_540.0).powi(2)
            + ((glon - lon) * 111_320.0 * lat.to_radians().cos()).powi(2))
        .sqrt();
        assert!((100.0..800.0).contains(&shift_m), "{shift_m}");
        let (blat, blon) = gcj02_to_wgs84(glat, glon);
        assert!((blat - lat).abs() < 1e-7 && (blon - lon).abs() < 1e-7);
    }

    #[test]
    fn files_that_are_not_collections_get_one_message() {
        assert!(parse(b"{nope", Crs::Wgs84, Lang::Zh).is_err());
        assert!(parse(br#"{"type":"Feature"}"#, Crs::Wgs84, Lang::En).is_err());
        let f = parse(
            br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}]}"#,
            Crs::Wgs84,
            Lang::En,
        )
        .unwrap();
        let g = f[0].geometry.as_ref().unwrap();
        assert!(
            g.check_validation().is_err(),
            "a bow tie is not a valid polygon"
        );
    }
}
