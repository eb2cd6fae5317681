//! The organisations pages (issue 21 part 3): the street's departments, property companies,
//! owners' committees and social organisations; one organisation with the places it serves,
//! its members and the categories routed to it.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::i18n::Lang;
use crate::kernel::{AppError, AppResult, ctx};
use crate::org::orgs::{KINDS, OrgRecord};
use crate::org::{Caller, access, places};
use crate::state::AppState;
use crate::web::{Layout, render};

use crate::setup::orgs::{self as svc, OrgDetail, OrgInput};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/orgs", get(orgs_page).post(org_create))
        .route("/admin/orgs/{id}", get(org_page))
        .route("/admin/orgs/{id}/edit", post(org_edit))
        .route("/admin/orgs/{id}/retire", post(org_retire))
        .route("/admin/orgs/{id}/routes", post(route_add))
        .route(
            "/admin/orgs/{id}/routes/{category_id}/{place_id}/delete",
            post(route_remove),
        )
}

/// A place a form may tick: the street, its communities and grids.
struct PlaceChoice {
    path: String,
    label: String,
    depth: usize,
    checked: bool,
}

/// The street and the communities and grids under it, for the served places' boxes.
async fn choices(
    state: &AppState,
    street: i64,
    ticked: Vec<String>,
) -> AppResult<Vec<PlaceChoice>> {
    Ok(state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            let Some(s) = places::by_id_unscoped(c, street)? else {
                return Ok(out);
            };
            let mut push = |p: &places::Place, depth: usize| {
                out.push(PlaceChoice {
                    checked: ticked.contains(&p.path),
                    path: p.path.clone(),
                    label: p.name.clone(),
                    depth,
                })
            };
            push(&s, 0);
            for community in places::children_full(c, s.id)? {
                push(&community, 1);
                for grid in places::children_full(c, community.id)? {
                    push(&grid, 2);
                }
            }
            Ok(out)
        })
        .await?)
}

#[derive(Template)]
#[template(path = "setup/orgs.html")]
struct OrgsPage {
    l: Layout,
    orgs: Vec<(OrgRecord, i64)>,
    kinds: [&'static str; 4],
    places: Vec<PlaceChoice>,
    f: OrgForm,
    error: Option<String>,
}

/// The organisation form; read from the pairs because the ticked places repeat `place=`.
#[derive(Clone, Debug, Default)]
struct OrgForm {
    csrf: String,
    kind: String,
    code: String,
    name: String,
    phone: String,
    place: Vec<String>,
}

impl OrgForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> OrgForm {
        let mut f = OrgForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "kind" => f.kind = v,
                "code" => f.code = v,
                "name" => f.name = v,
                "phone" => f.phone = v,
                "place" => f.place.push(v),
                _ => {}
            }
        }
        f
    }

    fn input(&self) -> OrgInput {
        OrgInput {
            kind: self.kind.clone(),
            code: self.code.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            places: self.place.clone(),
        }
    }
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

const DONE: [&str; 4] = ["create", "edit", "retire", "route"];

async fn orgs_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    list_with(&state, &caller, OrgForm::default(), None, StatusCode::OK).await
}

async fn list_with(
    state: &AppState,
    caller: &Caller,
    f: OrgForm,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let street = access::street_admin(caller)?;
    let orgs = svc::list(state, caller).await?;
    let places = choices(state, street, f.place.clone()).await?;
    let page = OrgsPage {
        l: Layout::new(Some(caller)),
        orgs,
        kinds: KINDS,
        places,
        f,
        error,
    };
    let mut r = render(&page);
    *r.status_mut() = status;
    Ok(r)
}

async fn org_create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(pairs): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = OrgForm::from_pairs(pairs);
    check_csrf(&caller, &f.csrf)?;
    match svc::create(&state, &caller, f.input()).await {
        Ok(id) => Ok(Redirect::to(&format!("/admin/orgs/{id}?done=create")).into_response()),
        Err(e) if shown_on_form(&e) => {
            let msg = e.message(ctx().lang);
            list_with(&state, &caller, f, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

/// Refusals the form shows (bad input, conflicts); 403 and 404 stay errors.
fn shown_on_form(e: &AppError) -> bool {
    e.status.is_client_error()
        && e.status != StatusCode::NOT_FOUND
        && e.status != StatusCode::FORBIDDEN
}

#[derive(Template)]
#[template(path = "setup/org.html")]
struct OrgPage {
    l: Layout,
    d: OrgDetail,
    kinds: [&'static str; 4],
    places: Vec<PlaceChoice>,
    /// (code, name) of the street's categories, for the route form.
    categories: Vec<(String, String)>,
    error: Option<String>,
}

impl OrgPage {
    fn route_name<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.l.lang == "en" { en } else { zh }
    }
}

async fn org_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let mut page = load(&state, &caller, id).await?;
    if let Some(d) = q.done.as_deref().filter(|d| DONE.contains(d)) {
        page.l.flash = Some(page.l.t.s(&format!("setup.orgs.done_{d}")).to_string());
    }
    Ok(render(&page))
}

async fn load(state: &AppState, caller: &Caller, id: i64) -> AppResult<OrgPage> {
    let street = access::street_admin(caller)?;
    let d = svc::detail(state, caller, id).await?;
    let ticked = d.places.iter().map(|(_, _, p, _)| p.clone()).collect();
    let places = choices(state, street, ticked).await?;
    let en = ctx().lang == Lang::En;
    let categories = state
        .db
        .read(move |c| crate::cases::categories(c, street))
        .await?
        .into_iter()
        .map(|k| (k.code, if en { k.name_en } else { k.name_zh }))
        .collect();
    Ok(OrgPage {
        l: Layout::new(Some(caller)),
        d,
        kinds: KINDS,
        places,
        categories,
        error: None,
    })
}

async fn again(state: &AppState, caller: &Caller, id: i64, e: AppError) -> AppResult<Response> {
    if !shown_on_form(&e) {
        return Err(e);
    }
    let mut page = load(state, caller, id).await?;
    page.error = Some(e.message(ctx().lang));
    let mut r = render(&page);
    *r.status_mut() = e.status;
    Ok(r)
}

async fn org_edit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(pairs): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = OrgForm::from_pairs(pairs);
    check_csrf(&caller, &f.csrf)?;
    match svc::update(&state, &caller, id, f.input()).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/orgs/{id}?done=edit")).into_response()),
        Err(e) => again(&state, &caller, id, e).await,
    }
}

async fn org_retire(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<crate::http::CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match svc::retire(&state, &caller, id).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/orgs/{id}?done=retire")).into_response()),
        Err(e) => again(&state, &caller, id, e).await,
    }
}

#[derive(Deserialize)]
struct RouteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    place: String,
}

async fn route_add(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RouteForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match svc::add_route(&state, &caller, id, &f.category, &f.place).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/orgs/{id}?done=route")).into_response()),
        Err(e) => again(&state, &caller, id, e).await,
    }
}

async fn route_remove(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, category_id, place_id)): Path<(i64, i64, i64)>,
    ApiForm(f): ApiForm<crate::http::CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match svc::remove_route(&state, &caller, id, category_id, place_id).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/orgs/{id}?done=route")).into_response()),
        Err(e) => again(&state, &caller, id, e).await,
    }
}
