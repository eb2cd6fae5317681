//! The map of cases over a street's grids.

use super::*;

/// A map of cases over the grid polygons of a street (or one grid). A grid links to its place
/// page only for a viewer who may browse places (`link_grids`): a resident's would be a 403.
pub(super) fn cases_map(
    c: &mut dyn crate::store::Conn,
    area_paths: &[String],
    cases: &[crate::cases::Case],
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
    let spots: Vec<map::Spot> = cases
        .iter()
        .filter_map(|k| {
            Some(map::Spot {
                label: format!(
                    "#{} {}",
                    k.id.0,
                    k.description.chars().take(20).collect::<String>()
                ),
                href: Some(format!("/cases/{}", k.id.0)),
                geojson: serde_json::json!({"type": "Point", "coordinates": [k.lon?, k.lat?]})
                    .to_string(),
                class: if k.late { map::LATE_CASE } else { map::CASE },
            })
        })
        .collect();
    Ok(map::render(&areas, &spots, title))
}

#[derive(Template)]
#[template(path = "cases/map.html")]
pub(super) struct MapPage {
    pub(super) l: Layout,
    pub(super) map: Option<String>,
    pub(super) count: usize,
    pub(super) late: usize,
    /// The cases as GeoJSON points for the map with pan and zoom (map.js draws them over the
    /// street's layers); the SVG map stays for pages without script.
    pub(super) points: String,
}

/// The open cases with a location as a GeoJSON FeatureCollection: id, a short label, late.
fn case_points(cases: &[crate::cases::Case]) -> String {
    let features: Vec<serde_json::Value> = cases
        .iter()
        .filter_map(|k| {
            Some(serde_json::json!({
                "type": "Feature",
                "properties": {
                    "id": k.id.0,
                    "label": format!("#{} {}", k.id.0, k.description.chars().take(20).collect::<String>()),
                    "late": k.late,
                },
                "geometry": {"type": "Point", "coordinates": [k.lon?, k.lat?]},
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
    let now = crate::store::now_ms();
    let title = Tr(ctx().lang).s("case.page.map");
    let link_grids = caller.can_browse();
    let (map, count, late, points) = state
        .db
        .read(move |c| {
            let cases = crate::cases::list(
                c,
                &viewer,
                &Filter {
                    state: Some("open".into()),
                    limit: Some(500),
                    ..Filter::default()
                },
                now,
            );
            let cases = match cases {
                Ok(v) => v,
                Err(crate::cases::CaseError::Store(e)) => return Err(e),
                Err(_) => Vec::new(),
            };
            let mut areas = viewer.verify.clone();
            if areas.is_empty() {
                for org in &viewer.orgs {
                    areas.extend(crate::org::places::org_serves(c, *org)?);
                }
            }
            let map = cases_map(c, &areas, &cases, title, link_grids)?;
            let late = cases.iter().filter(|k| k.late).count();
            Ok((map, cases.len(), late, case_points(&cases)))
        })
        .await?;
    Ok(render(
        &MapPage {
            l: Layout::new(Some(&caller)),
            map,
            count,
            late,
            points,
        },
        StatusCode::OK,
    ))
}
