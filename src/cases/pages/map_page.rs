//! The map of cases over a street's grids.

use super::*;
use crate::cases::places::Spot;

/// The map of one case over its grid, on the case's page. A grid links to its place page only
/// for a viewer who may browse places (`link_grids`): a resident's would be a 403.
pub(super) fn case_map(
    c: &mut dyn crate::store::Conn,
    grid_path: &str,
    case: &crate::cases::Case,
    link_grids: bool,
) -> crate::store::Result<Option<String>> {
    let areas: Vec<map::Area> = crate::cases::places::drawn_grids(c, &[grid_path.to_string()])?
        .iter()
        .map(|r| map::Area {
            label: r.str(1),
            href: link_grids.then(|| format!("/places/{}", r.i64(0))),
            geojson: r.str(2),
            highlight: false,
        })
        .collect();
    let spot = case.lat.zip(case.lon).map(|(lat, lon)| map::Spot {
        label: format!("#{}", case.id.0),
        href: None,
        geojson: serde_json::json!({"type": "Point", "coordinates": [lon, lat]}).to_string(),
        class: if case.late { map::LATE_CASE } else { map::CASE },
    });
    Ok(map::render(&areas, spot.as_slice(), &case.place_name))
}

/// A map of open cases over the grid polygons of a street (or one grid): one mark per building
/// with its count, late ones in the warning colour.
pub(super) fn cases_map(
    c: &mut dyn crate::store::Conn,
    area_paths: &[String],
    spots: &[Spot],
    t: Tr,
    title: &str,
    link_grids: bool,
) -> crate::store::Result<Option<String>> {
    let grids = crate::cases::places::drawn_grids(c, area_paths)?;
    let areas: Vec<map::Area> = grids
        .iter()
        .map(|r| map::Area {
            label: r.str(1),
            href: link_grids.then(|| format!("/places/{}", r.i64(0))),
            geojson: r.str(2),
            highlight: false,
        })
        .collect();
    let marks: Vec<map::Spot> = spots
        .iter()
        .filter_map(|s| {
            let (lat, lon) = s.at?;
            Some(map::Spot {
                label: spot_label(s, t),
                href: Some(spot_href(s)),
                geojson: serde_json::json!({"type": "Point", "coordinates": [lon, lat]})
                    .to_string(),
                class: if s.late > 0 {
                    map::LATE_CASE
                } else {
                    map::CASE
                },
            })
        })
        .collect();
    Ok(map::render(&areas, &marks, title))
}

/// "3号楼：5 件，其中 2 件超时".
fn spot_label(s: &Spot, t: Tr) -> String {
    let open = s.open.to_string();
    if s.late > 0 {
        let late = s.late.to_string();
        t.fill(
            "case.page.spot_late",
            &[("place", &s.name), ("n", &open), ("late", &late)],
        )
    } else {
        t.fill("case.page.spot", &[("place", &s.name), ("n", &open)])
    }
}

/// The open cases at a mark's place, in the queue.
fn spot_href(s: &Spot) -> String {
    format!("/cases?state=open&place={}", s.place_id)
}

#[derive(Template)]
#[template(path = "cases/map.html")]
pub(super) struct MapPage {
    pub(super) l: Layout,
    pub(super) map: Option<String>,
    pub(super) count: i64,
    pub(super) late: i64,
    /// Marks not drawn because their place has no shape on the map.
    pub(super) undrawn: i64,
    /// The marks as GeoJSON points for the map with pan and zoom (map.js draws them over the
    /// street's layers); the SVG map stays for pages without script.
    pub(super) points: String,
}

/// The marks with a location as a GeoJSON FeatureCollection: label, link, count, late.
fn spot_points(spots: &[Spot], t: Tr) -> String {
    let features: Vec<serde_json::Value> = spots
        .iter()
        .filter_map(|s| {
            let (lat, lon) = s.at?;
            Some(serde_json::json!({
                "type": "Feature",
                "properties": {
                    "href": spot_href(s),
                    "label": spot_label(s, t),
                    "count": s.open,
                    "late": s.late > 0,
                },
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }))
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()
}

pub(super) async fn map_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let viewer = Viewer::of(&caller);
    // Workers see their places; a department or property company the places it serves, with
    // the cases it may see there (its own).
    if viewer.verify.is_empty() && viewer.orgs.is_empty() {
        return Err(AppError::forbidden());
    }
    let t = Tr(ctx().lang);
    let title = t.s("case.page.map");
    let link_grids = caller.can_browse();
    let page = state
        .db
        .read(move |c| {
            let (spots, areas) = if viewer.verify.is_empty() {
                let mut areas = Vec::new();
                for org in &viewer.orgs {
                    areas.extend(crate::org::places::org_serves(c, *org)?);
                }
                (crate::cases::places::spots_of_orgs(c, &viewer.orgs)?, areas)
            } else {
                (
                    crate::cases::places::spots_under(c, &viewer.verify)?,
                    viewer.verify.clone(),
                )
            };
            let map = cases_map(c, &areas, &spots, t, title, link_grids)?;
            Ok(MapPage {
                l: Layout::new(None),
                map,
                count: spots.iter().map(|s| s.open).sum(),
                late: spots.iter().map(|s| s.late).sum(),
                undrawn: spots
                    .iter()
                    .filter(|s| s.at.is_none())
                    .map(|s| s.open)
                    .sum(),
                points: spot_points(&spots, t),
            })
        })
        .await?;
    Ok(render(
        &MapPage {
            l: Layout::new(Some(&caller)),
            ..page
        },
        StatusCode::OK,
    ))
}
