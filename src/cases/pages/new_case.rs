//! The new-case form: reporting a case, its places, fields and photos.

use super::*;

/// An extra field as the form shows it.
pub(super) struct FieldView {
    pub(super) name: String,
    pub(super) label: String,
    pub(super) kind: &'static str,
    pub(super) required: bool,
    pub(super) options: Vec<String>,
    pub(super) value: String,
    pub(super) chosen: Vec<String>,
}

/// A category's extra fields on the report form, shown when its tile is chosen.
pub(super) struct FieldGroup {
    pub(super) code: String,
    pub(super) shown: bool,
    pub(super) fields: Vec<FieldView>,
}

/// A category's tile: code, name, chosen, icon (inline SVG).
pub(super) struct Tile {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) on: bool,
    pub(super) icon: &'static str,
}

#[derive(Template)]
#[template(path = "cases/new.html")]
pub(super) struct NewPage {
    pub(super) l: Layout,
    pub(super) tiles: Vec<Tile>,
    pub(super) groups: Vec<FieldGroup>,
    /// Said above the form: a draft kept over an expired session is back.
    pub(super) notice: Option<String>,
    pub(super) places: Vec<(i64, String)>,
    pub(super) place_id: String,
    /// The street's grids to mark a spot on ([`map::picker`]).
    pub(super) map: Option<String>,
    pub(super) lat: String,
    pub(super) lon: String,
    pub(super) share_location: bool,
    /// The reporter allows her photos on the public page (once approved).
    pub(super) public_photos: bool,
    pub(super) description: String,
    pub(super) address: String,
    pub(super) channels: Vec<(&'static str, &'static str)>,
    pub(super) channel: String,
    pub(super) reporter_name: String,
    pub(super) reporter_contact: String,
    pub(super) error: Option<String>,
}

/// The places a caller reports from: a resident's unit and building, a worker's buildings.
pub(super) fn report_places(
    c: &mut dyn crate::store::Conn,
    caller: &Caller,
) -> crate::store::Result<Vec<(i64, String)>> {
    let mut out = Vec::new();
    if let Some(pid) = caller.person_id
        && let Some((unit, unit_name, building)) = crate::cases::home_of(c, pid)?
    {
        let building_name = building.as_ref().map(|b| b.1.clone()).unwrap_or_default();
        out.push((unit, format!("{building_name} {unit_name}")));
        if let Some((b, name)) = building {
            out.push((b, name));
        }
    }
    let viewer = Viewer::of(caller);
    if !viewer.verify.is_empty() {
        for r in crate::cases::places::grids_and_buildings(c, &viewer.verify)? {
            out.push((r.i64(0), r.str(1)));
        }
    }
    Ok(out)
}

/// Buildings drawn on the map to mark a spot on, at most (beyond, the grids alone).
pub(super) const PICKER_BUILDINGS: usize = 800;

/// The street's areas and buildings for the map a report's spot is marked on: its grids (or,
/// when none are drawn, its communities, or the street itself), its buildings as dots.
pub(super) fn street_shapes(
    c: &mut dyn crate::store::Conn,
    street: i64,
) -> crate::store::Result<(Vec<map::Area>, Vec<map::Spot>)> {
    let rows = crate::cases::places::street_shapes(c, street)?;
    let area = |kind: &str| -> Vec<map::Area> {
        rows.iter()
            .filter(|r| r.str(2) == kind)
            .map(|r| map::Area {
                label: r.str(1),
                href: None,
                geojson: r.str(3),
                highlight: false,
            })
            .collect()
    };
    let mut areas = area("grid");
    for kind in ["community", "street"] {
        if areas.is_empty() {
            areas = area(kind);
        }
    }
    let buildings: Vec<&crate::store::Row> =
        rows.iter().filter(|r| r.str(2) == "building").collect();
    let spots = if buildings.len() <= PICKER_BUILDINGS {
        buildings
            .into_iter()
            .map(|r| map::Spot {
                label: r.str(1),
                href: None,
                geojson: r.str(3),
                class: map::BUILDING,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok((areas, spots))
}

pub(super) fn field_views(
    cat: Option<&Category>,
    values: &[(String, String)],
    t: Tr,
) -> Vec<FieldView> {
    let Some(cat) = cat else { return Vec::new() };
    cat.fields
        .iter()
        .map(|f| {
            let name = format!("extra.{}", f.key);
            let value = values
                .iter()
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(",");
            FieldView {
                label: f.label(t.0).to_string(),
                kind: match f.kind {
                    FieldType::Text => "text",
                    FieldType::Number => "number",
                    FieldType::Date => "date",
                    FieldType::Single => "single",
                    FieldType::Multi => "multi",
                },
                required: f.required,
                options: f.options.clone(),
                chosen: value.split(',').map(str::to_string).collect(),
                value,
                name,
            }
        })
        .collect()
}

pub(super) async fn new_page(
    state: &AppState,
    caller: &Caller,
    values: Vec<(String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    new_page_with(state, caller, values, error, None, status).await
}

pub(super) async fn new_page_with(
    state: &AppState,
    caller: &Caller,
    values: Vec<(String, String)>,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let street = street_of(caller)?;
    let c2 = caller.clone();
    // One form: the category's tiles, the place and its map, the category's own fields (all
    // categories', the chosen one's shown), so that choosing a category needs no reload.
    let (cats, places, (areas, spots)) = state
        .db
        .read(move |c| {
            Ok((
                crate::cases::categories(c, street)?,
                report_places(c, &c2)?,
                street_shapes(c, street)?,
            ))
        })
        .await?;
    let get = |k: &str| {
        values
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let t = Tr(ctx().lang);
    let category = get("category");
    let channels = channels_for(caller)
        .into_iter()
        .filter(|c| *c != Channel::Api)
        .map(|c| (c.as_str(), t.k("case.channel", c.as_str())))
        .collect();
    let (lat, lon) = (get("lat"), get("lon"));
    let marked = lat.parse::<f64>().ok().zip(lon.parse::<f64>().ok());
    let page = NewPage {
        map: map::picker(&areas, &spots, t.s("case.page.map_title"), marked),
        lat,
        lon,
        share_location: !get("share_location").is_empty(),
        public_photos: !get("public_photos").is_empty(),
        l: Layout::new(Some(caller)),
        tiles: cats
            .iter()
            .filter(|k| k.active)
            .map(|k| Tile {
                code: k.code.clone(),
                name: k.name(t.0).to_string(),
                on: k.code == category,
                icon: crate::cases::icons::icon(&k.code, &k.group),
            })
            .collect(),
        groups: cats
            .iter()
            .filter(|k| k.active && !k.fields.is_empty())
            .map(|k| FieldGroup {
                code: k.code.clone(),
                shown: k.code == category,
                fields: field_views(Some(k), if k.code == category { &values } else { &[] }, t),
            })
            .collect(),
        notice,
        places,
        place_id: get("place_id"),
        description: get("description"),
        address: get("address"),
        channels,
        channel: get("channel"),
        reporter_name: get("reporter_name"),
        reporter_contact: get("reporter_contact"),
        error,
    };
    Ok(render(&page, status))
}

#[derive(Deserialize)]
pub(super) struct NewQuery {
    pub(super) category: Option<String>,
    /// `1`: back from signing in again, with the report kept over the expired session.
    pub(super) draft: Option<String>,
}

pub(super) async fn new_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<NewQuery>,
    headers: axum::http::HeaderMap,
) -> AppResult<Response> {
    crate::cases::dedupe::warm_up_soon();
    if q.draft.as_deref() == Some("1")
        && let Some(values) = draft::restore(&headers)
    {
        let t = Tr(ctx().lang);
        let notice = Some(t.s("case.page.draft_back").to_string());
        return new_page_with(&state, &caller, values, None, notice, StatusCode::OK).await;
    }
    let values = q
        .category
        .map(|c| vec![("category".to_string(), c)])
        .unwrap_or_default();
    new_page(&state, &caller, values, None, StatusCode::OK).await
}

/// Photos a report may carry (more are added on the case page).
pub(super) const REPORT_PHOTOS: usize = 3;

/// A report form's fields and the photos chosen with it (multipart when photos are attached;
/// a plain form otherwise).
pub(super) async fn report_form(
    state: &Arc<AppState>,
    req: axum::extract::Request,
) -> AppResult<(Vec<(String, String)>, Vec<(Vec<u8>, bool)>)> {
    use axum::extract::FromRequest;
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let ApiForm(form) = ApiForm::<Vec<(String, String)>>::from_request(req, state).await?;
        return Ok((form, Vec::new()));
    }
    let mut m = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?;
    let (mut form, mut photos) = (Vec::new(), Vec::new());
    while let Some(field) = m
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        let name = field.name().unwrap_or("").to_string();
        let data = crate::cases::http::upload_bytes(field).await?;
        if name == "photo" {
            // A file input left empty still sends an empty part.
            if !data.is_empty() {
                photos.push(data.to_vec());
            }
        } else {
            form.push((name, String::from_utf8_lossy(&data).into_owned()));
        }
    }
    let share = form
        .iter()
        .any(|(k, v)| k == "share_location" && matches!(v.as_str(), "1" | "on" | "true"));
    Ok((form, photos.into_iter().map(|p| (p, share)).collect()))
}

pub(super) async fn new_submit(
    State(state): State<Arc<AppState>>,
    MaybeSigned(caller): MaybeSigned,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let had_draft = draft::held(req.headers());
    let (form, uploads) = report_form(&state, req).await?;
    let Some(caller) = caller else {
        // The session expired while the report was typed: keep it in this browser, say why
        // she must sign in again, and bring the form back filled once she has.
        let mut res =
            Redirect::to("/login?reason=expired&next=%2Fcases%2Fnew%3Fdraft%3D1").into_response();
        draft::set(&mut res, draft::keep(&form));
        return Ok(res);
    };
    // A form sent back with the reason; it cannot keep the files chosen (browsers do not
    // refill a file input), so it says so when there were any.
    let again = if uploads.is_empty() {
        ""
    } else {
        Tr(ctx().lang).s("case.page.photos_again")
    };
    let back = |e: AppError| {
        let msg = format!("{} {again}", e.message(ctx().lang));
        (Some(msg.trim_end().to_string()), e.status)
    };
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    check_csrf(&caller, &get("csrf"))?;
    // Photos are checked before the case is opened: a bad one sends the form back with the
    // reason, and no case is stored without the photos its reporter meant it to have.
    let photos = if uploads.len() > REPORT_PHOTOS {
        Err(AppError::invalid("case.err_report_photos"))
    } else {
        crate::cases::http::check_photos(uploads).await
    };
    let photos = match photos {
        Ok(p) => p,
        Err(e) if e.status.is_client_error() => {
            let (msg, status) = back(e);
            return new_page(&state, &caller, form, msg, status).await;
        }
        Err(e) => return Err(e),
    };
    let street = street_of(&caller)?;
    let code = get("category");
    let cat = state
        .db
        .read(move |c| crate::cases::category_by_code(c, street, &code))
        .await?;
    let mut extra = serde_json::Map::new();
    if let Some(cat) = &cat {
        for f in &cat.fields {
            let name = format!("extra.{}", f.key);
            let vals: Vec<String> = form
                .iter()
                .filter(|(k, v)| *k == name && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_string())
                .collect();
            if vals.is_empty() {
                continue;
            }
            let v = if f.kind == FieldType::Multi {
                serde_json::json!(vals)
            } else {
                serde_json::json!(vals.join(","))
            };
            extra.insert(f.key.clone(), v);
        }
    }
    // A spot is both numbers or none: anything else is said, not dropped.
    let point = match (get("lat"), get("lon")) {
        (a, o) if a.is_empty() && o.is_empty() => Some((None, None)),
        (a, o) => a
            .parse::<f64>()
            .ok()
            .zip(o.parse::<f64>().ok())
            .map(|(a, o)| (Some(a), Some(o))),
    };
    let Some((lat, lon)) = point else {
        let (msg, status) = back(AppError::invalid("case.err_point_pair"));
        return new_page(&state, &caller, form, msg, status).await;
    };
    let req = CaseRequest {
        category: get("category"),
        description: get("description"),
        place_id: get("place_id").parse().ok(),
        lat,
        lon,
        address: get("address"),
        extra,
        channel: Channel::parse(&get("channel")),
        reporter_name: get("reporter_name"),
        reporter_contact: get("reporter_contact"),
    };
    match intake(&state, &caller, req).await {
        Ok(out) => {
            let id = out.case.id.0;
            if !photos.is_empty() {
                // The case is stored; should its photos fail now (the disk), the case page
                // is shown all the same, where they can be added again.
                match crate::cases::http::attach_photos(&state, out.case, caller.user_id, photos)
                    .await
                {
                    // Her photos shown publicly once a worker approved them, if she allows it.
                    Ok(stored) if !get("public_photos").is_empty() => {
                        let ids: Vec<i64> = stored.iter().map(|p| p.id).collect();
                        state
                            .db
                            .write(move |c| {
                                ids.iter()
                                    .try_for_each(|p| crate::cases::public::allow_photo(c, *p))
                            })
                            .await?;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(case = id, error = %e.message(ctx().lang), "photos of a new report not stored");
                    }
                }
            }
            let mut res = Redirect::to(&format!("/cases/{id}?done=report")).into_response();
            if had_draft {
                draft::set(&mut res, draft::forget());
            }
            Ok(res)
        }
        Err(e) if e.status.is_client_error() => {
            let (msg, status) = back(e);
            new_page(&state, &caller, form, msg, status).await
        }
        Err(e) => Err(e),
    }
}
