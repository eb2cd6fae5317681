//! The pages of setting up a street: the first run, one-time account links, and the places
//! administration (a place, its children, its changes, imports and exports).

use std::sync::{Arc, RwLock};

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::i18n::Tr;
use crate::kernel::{AppError, AppResult, ctx};
use crate::org::place_edit::{Fields, PlaceVersion};
use crate::org::places::{self, Place, PlaceSummary};
use crate::org::{Caller, access, links, users};
use crate::state::AppState;
use crate::store::now_ms;
use crate::web::{Layout, render};

use super::places::{self as svc, NewPlace};
use super::street::{self, AdminSpec, StreetSpec};
use super::transfer::{self, Crs, Format, ImportReport};

mod orgs;
mod workers;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .merge(orgs::router())
        .merge(workers::router())
        .route("/setup", get(first_run_form).post(first_run_submit))
        .route("/activate", get(activate_form).post(activate_submit))
        .route("/admin/places", get(places_home))
        .route("/admin/places/{id}", get(place_admin))
        .route("/admin/places/{id}/edit", post(place_edit))
        .route("/admin/places/{id}/children", post(place_add_child))
        .route("/admin/places/{id}/move", post(place_move))
        .route("/admin/places/{id}/retire", post(place_retire))
        .route("/admin/places/{id}/import", post(place_import))
}

// ---------------------------------------------------------------------------------------------
// The first run

/// Whether this process waits for its street to be set up: armed by `linli serve` on an empty
/// database, with a code printed on the console so that only whoever started linli can claim
/// it; cleared once the street exists.
#[derive(Default)]
pub struct FirstRun {
    code: RwLock<Option<String>>,
}

fn first_run(state: &AppState) -> &FirstRun {
    state.area::<FirstRun>()
}

/// Arms the first-run page; returns the setup code to print.
pub fn arm_first_run(state: &AppState) -> String {
    let code = crate::org::auth::random_token("")[..12].to_string();
    *first_run(state)
        .code
        .write()
        .unwrap_or_else(|e| e.into_inner()) = Some(code.clone());
    code
}

fn pending_code(state: &AppState) -> Option<String> {
    first_run(state)
        .code
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// While the street is not set up, every page leads to the first-run page and the API says
/// why it cannot answer; the health checks and assets are served as usual.
pub async fn first_run_gate(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if pending_code(&state).is_none() {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let open = path == "/setup"
        || path.starts_with("/static/")
        || path.starts_with("/lang/")
        || matches!(
            path,
            "/healthz" | "/readyz" | "/metrics" | "/favicon.ico" | "/manifest.webmanifest"
        );
    if open {
        return next.run(req).await;
    }
    if path.starts_with("/api/") {
        return AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            crate::kernel::Code::Busy,
            "setup.first_run.api",
        )
        .into_response();
    }
    Redirect::to("/setup").into_response()
}

#[derive(Template)]
#[template(path = "setup/first_run.html")]
struct FirstRunPage {
    l: Layout,
    error: Option<String>,
    f: FirstRunForm,
    done: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct FirstRunForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    district_code: String,
    #[serde(default)]
    district_name: String,
    #[serde(default)]
    street_code: String,
    #[serde(default)]
    street_name: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

async fn first_run_form(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CodeQuery>,
) -> AppResult<Response> {
    if pending_code(&state).is_none() {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(render(&FirstRunPage {
        l: Layout::new(None),
        error: None,
        f: FirstRunForm {
            code: q.code.unwrap_or_default(),
            ..FirstRunForm::default()
        },
        done: None,
    }))
}

async fn first_run_submit(
    State(state): State<Arc<AppState>>,
    ApiForm(f): ApiForm<FirstRunForm>,
) -> AppResult<Response> {
    let Some(code) = pending_code(&state) else {
        return Ok(Redirect::to("/").into_response());
    };
    let t = Tr(ctx().lang);
    let again = |f: &FirstRunForm, msg: String| {
        let mut f = f.clone();
        f.password.clear();
        let mut r = render(&FirstRunPage {
            l: Layout::new(None),
            error: Some(msg),
            f,
            done: None,
        });
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    };
    // Compared as hashes: the time taken says nothing about the code.
    if crate::org::auth::token_hash(f.code.trim()) != crate::org::auth::token_hash(&code) {
        return Ok(again(&f, t.s("setup.first_run.bad_code").to_string()));
    }
    let spec = match StreetSpec::parse(
        &f.district_code,
        &f.district_name,
        &f.street_code,
        &f.street_name,
    ) {
        Ok(s) => s,
        Err(k) => return Ok(again(&f, t.s(k).to_string())),
    };
    let username = match users::Username::parse(&f.username) {
        Ok(u) => u,
        Err(k) => return Ok(again(&f, t.s(k).to_string())),
    };
    if let Err(k) = users::check_password_policy(&f.password) {
        return Ok(again(&f, t.s(k).to_string()));
    }
    let display = match crate::org::place_edit::check_name(&f.display_name) {
        Ok(d) => d,
        Err(k) => return Ok(again(&f, t.s(k).to_string())),
    };
    let pw = f.password.clone();
    let hash = tokio::task::spawn_blocking(move || users::hash_password(&pw))
        .await
        .map_err(|e| AppError::internal("hashing", e))?;
    let admin = AdminSpec {
        username,
        display_name: display,
        password_hash: Some(hash),
    };
    let res = state
        .db
        .write_tx(move |c| street::init(c, &spec, &admin, now_ms()))
        .await;
    match res {
        Ok(_) => {
            *first_run(&state)
                .code
                .write()
                .unwrap_or_else(|e| e.into_inner()) = None;
            state.places_changed();
            Ok(Redirect::to("/login?reason=set_up").into_response())
        }
        Err(street::InitError::Invalid(k)) => Ok(again(&f, t.s(k).to_string())),
        Err(street::InitError::AlreadySetUp { name, code }) => {
            *first_run(&state)
                .code
                .write()
                .unwrap_or_else(|e| e.into_inner()) = None;
            Ok(again(
                &f,
                t.fill(
                    "setup.first_run.exists",
                    &[("name", &name), ("code", &code)],
                ),
            ))
        }
        Err(street::InitError::Store(crate::store::StoreError::Conflict(_))) => {
            Ok(again(&f, t.s("error.username_taken").to_string()))
        }
        Err(street::InitError::Store(e)) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// One-time account links

#[derive(Template)]
#[template(path = "setup/activate.html")]
struct ActivatePage {
    l: Layout,
    token: String,
    username: String,
    error: Option<String>,
    /// Why the link cannot be used, and what to do instead.
    dead: Option<String>,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// A link that sets a password: an activation or a reset (a sign-in's second-factor challenge
/// is a link too, and sets nothing here).
async fn look_up(state: &AppState, token: String) -> AppResult<links::Found> {
    Ok(
        match state
            .db
            .read(move |c| links::find(c, &token, now_ms()))
            .await?
        {
            links::Found::Valid { purpose, .. }
                if purpose != links::Purpose::Activate.as_str()
                    && purpose != links::Purpose::Reset.as_str() =>
            {
                links::Found::Unknown
            }
            found => found,
        },
    )
}

fn dead_message(found: &links::Found) -> Option<String> {
    let t = Tr(ctx().lang);
    match found {
        links::Found::Valid { .. } => None,
        links::Found::Used => Some(t.s("setup.link.used").to_string()),
        links::Found::Expired => Some(t.s("setup.link.expired").to_string()),
        links::Found::Unknown => Some(t.s("setup.link.unknown").to_string()),
    }
}

async fn activate_form(
    State(state): State<Arc<AppState>>,
    Query(q): Query<TokenQuery>,
) -> AppResult<Response> {
    let token = q.token.unwrap_or_default();
    let found = look_up(&state, token.clone()).await?;
    let username = match &found {
        links::Found::Valid { username, .. } => username.clone(),
        _ => String::new(),
    };
    let dead = dead_message(&found);
    let mut r = render(&ActivatePage {
        l: Layout::new(None),
        token,
        username,
        error: None,
        dead: dead.clone(),
    });
    if dead.is_some() {
        *r.status_mut() = StatusCode::GONE;
    }
    Ok(r)
}

#[derive(Deserialize)]
struct ActivateForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

async fn activate_submit(
    State(state): State<Arc<AppState>>,
    ApiForm(f): ApiForm<ActivateForm>,
) -> AppResult<Response> {
    let t = Tr(ctx().lang);
    let found = look_up(&state, f.token.clone()).await?;
    let links::Found::Valid {
        link_id,
        user_id,
        username,
        purpose,
    } = found
    else {
        let dead = dead_message(&found);
        let mut r = render(&ActivatePage {
            l: Layout::new(None),
            token: f.token,
            username: String::new(),
            error: None,
            dead,
        });
        *r.status_mut() = StatusCode::GONE;
        return Ok(r);
    };
    let problem = if f.password != f.password2 {
        Some(t.s("setup.link.mismatch").to_string())
    } else {
        users::check_password_policy(&f.password)
            .err()
            .map(|k| t.s(k).to_string())
    };
    if let Some(msg) = problem {
        let mut r = render(&ActivatePage {
            l: Layout::new(None),
            token: f.token,
            username,
            error: Some(msg),
            dead: None,
        });
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(r);
    }
    let pw = f.password.clone();
    let hash = tokio::task::spawn_blocking(move || users::hash_password(&pw))
        .await
        .map_err(|e| AppError::internal("hashing", e))?;
    let used = state
        .db
        .write_tx(move |c| -> AppResult<bool> {
            if !links::consume(c, link_id, now_ms())? {
                return Ok(false);
            }
            users::set_password(c, user_id, &hash)?;
            users::set_active(c, user_id, true)?;
            Ok(true)
        })
        .await?;
    if !used {
        let mut r = render(&ActivatePage {
            l: Layout::new(None),
            token: f.token,
            username: String::new(),
            error: None,
            dead: Some(t.s("setup.link.used").to_string()),
        });
        *r.status_mut() = StatusCode::GONE;
        return Ok(r);
    }
    state.callers.clear();
    let mut e =
        crate::audit::NewEntry::anonymous(crate::audit::Action::PermissionChange, &username);
    e.actor_id = Some(user_id);
    state
        .audit
        .record(
            e.subjects([crate::audit::user(user_id)])
                .purpose(format!("{purpose} by one-time link")),
        )
        .await?;
    Ok(Redirect::to("/login?reason=activated").into_response())
}

// ---------------------------------------------------------------------------------------------
// Places administration

#[derive(Template)]
#[template(path = "setup/place.html")]
struct PlaceAdminPage {
    l: Layout,
    place: Place,
    crumbs: Vec<Place>,
    children: Vec<PlaceSummary>,
    child_kind: Option<&'static str>,
    /// The same, or empty.
    child: &'static str,
    /// Where it may move: the places of its parent's kind the caller edits.
    move_to: Vec<Place>,
    versions: Vec<VersionView>,
    retired: bool,
    can_import: bool,
    /// Whether the caller administers the street's organisations.
    orgs: bool,
    report: Option<ImportReport>,
    error: Option<String>,
    uses: Vec<&'static str>,
    f: Fields,
}

impl PlaceAdminPage {
    fn use_is(&self, u: &str) -> bool {
        self.f.unit_use.as_deref() == Some(u)
    }
}

struct VersionView {
    at: String,
    actor: String,
    source: String,
    changes: String,
}

fn version_view(v: &PlaceVersion, t: &Tr) -> VersionView {
    let changes = v
        .changes
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let pair = v.as_array();
                    let show = |x: Option<&serde_json::Value>| match x {
                        Some(serde_json::Value::Null) | None => "—".to_string(),
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(o) => o.to_string(),
                    };
                    match pair {
                        Some(p) if p.len() == 2 => format!(
                            "{}: {} → {}",
                            t.k_or("pfield", k),
                            show(p.first()),
                            show(p.get(1))
                        ),
                        _ => format!("{}: {}", t.k_or("pfield", k), show(Some(v))),
                    }
                })
                .collect::<Vec<_>>()
                .join("；")
        })
        .unwrap_or_default();
    VersionView {
        at: crate::kernel::time::local_time(v.at),
        actor: v.actor.clone().unwrap_or_else(|| "linli".into()),
        source: t.k_or("source", &v.source),
        changes,
    }
}

/// The caller's first place to set up: her street or community.
async fn places_home(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let paths = access::place_editor_paths(&caller);
    let Some(first) = paths.first().cloned() else {
        return Err(AppError::forbidden());
    };
    let place = state
        .db
        .read(move |c| places::by_path(c, &first))
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Redirect::to(&format!("/admin/places/{}", place.id)).into_response())
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn place_admin(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let mut page = load_page(&state, &caller, id).await?;
    if let Some(d) = q.done.as_deref().filter(|d| DONE.contains(d)) {
        page.l.flash = Some(page.l.t.s(&format!("setup.done.{d}")).to_string());
    }
    Ok(render(&page))
}

const DONE: [&str; 5] = ["edit", "child", "move", "retire", "import"];

async fn load_page(state: &AppState, caller: &Caller, id: i64) -> AppResult<PlaceAdminPage> {
    if !super::edits_places(caller) {
        return Err(AppError::forbidden());
    }
    let (place, versions) = svc::versions(state, caller, id).await?;
    access::require_place_editor(caller, &place.path)?;
    let scope = caller.scope.places.clone();
    let editor = access::place_editor_paths(caller);
    let p = place.clone();
    let (crumbs, children, move_to, retired) = state
        .db
        .read(move |c| {
            let crumbs = places::ancestors(c, &scope, &p)?;
            let children = if p.kind == "unit" {
                Vec::new()
            } else {
                places::children(c, &p)?
            };
            let parent_kind = crate::org::place_edit::KINDS
                .iter()
                .position(|k| *k == p.kind)
                .and_then(|i| i.checked_sub(1))
                .map(|i| crate::org::place_edit::KINDS[i]);
            let move_to = match parent_kind {
                Some(k) if !matches!(p.kind.as_str(), "district" | "street") => {
                    let street = p.path.split('/').take(2).collect::<Vec<_>>().join("/");
                    places::list(
                        c,
                        &editor,
                        &places::ListQuery {
                            kind: Some(k.to_string()),
                            under: Some(street),
                            limit: 500,
                            offset: 0,
                            with_total: false,
                        },
                    )?
                    .items
                    .into_iter()
                    .filter(|x| Some(x.id) != p.parent_id)
                    .collect()
                }
                _ => Vec::new(),
            };
            let retired = crate::org::place_edit::is_retired(c, p.id)?;
            Ok::<_, crate::store::StoreError>((crumbs, children, move_to, retired))
        })
        .await?;
    let l = Layout::new(Some(caller));
    let versions = versions.iter().map(|v| version_view(v, &l.t)).collect();
    let child_kind = crate::org::place_edit::child_kind(&place.kind).filter(|k| *k != "street");
    let can_import = matches!(place.kind.as_str(), "street" | "community" | "grid");
    Ok(PlaceAdminPage {
        l,
        f: Fields {
            name: Some(place.name.clone()),
            address: place.address.clone(),
            estate: place.estate.clone(),
            floors: place.floors,
            stairwells: place.stairwells,
            floor_no: place.floor_no,
            stairwell_no: place.stairwell_no,
            area_m2: place.area_m2,
            unit_use: place.unit_use.clone(),
            geojson: None,
        },
        place,
        crumbs,
        children,
        child_kind,
        child: child_kind.unwrap_or(""),
        move_to,
        versions,
        retired,
        can_import,
        orgs: access::is_street_admin(caller),
        report: None,
        error: None,
        uses: svc::USES.to_vec(),
    })
}

/// Shows the page again with an error (and the status of the refusal).
async fn again(state: &AppState, caller: &Caller, id: i64, e: AppError) -> AppResult<Response> {
    if !e.status.is_client_error()
        || e.status == StatusCode::NOT_FOUND
        || e.status == StatusCode::FORBIDDEN
    {
        return Err(e);
    }
    let mut page = load_page(state, caller, id).await?;
    page.error = Some(e.message(ctx().lang));
    let mut r = render(&page);
    *r.status_mut() = e.status;
    Ok(r)
}

/// The place form's fields: blanks are "not given".
#[derive(Clone, Debug, Default, Deserialize)]
struct PlaceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    estate: String,
    #[serde(default)]
    floors: String,
    #[serde(default)]
    stairwells: String,
    #[serde(default)]
    floor_no: String,
    #[serde(default)]
    stairwell_no: String,
    #[serde(default)]
    area_m2: String,
    #[serde(default)]
    unit_use: String,
}

impl PlaceForm {
    fn fields(&self) -> Result<Fields, AppError> {
        let text = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        };
        let int = |s: &str| -> Result<Option<i64>, AppError> {
            let s = crate::kernel::text::fold_width(s);
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<i64>()
                .map(Some)
                .map_err(|_| AppError::invalid("setup.error.number"))
        };
        let area = {
            let s = crate::kernel::text::fold_width(&self.area_m2);
            if s.is_empty() {
                None
            } else {
                Some(
                    s.parse::<f64>()
                        .map_err(|_| AppError::invalid("setup.error.area"))?,
                )
            }
        };
        Ok(Fields {
            name: text(&self.name),
            address: text(&self.address),
            estate: text(&self.estate),
            floors: int(&self.floors)?,
            stairwells: int(&self.stairwells)?,
            floor_no: int(&self.floor_no)?,
            stairwell_no: int(&self.stairwell_no)?,
            area_m2: area,
            unit_use: text(&self.unit_use),
            geojson: None,
        })
    }
}

async fn place_edit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<PlaceForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let res = match f.fields() {
        Ok(fields) => svc::update(&state, &caller, id, fields, "form")
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match res {
        Ok(()) => Ok(Redirect::to(&format!("/admin/places/{id}?done=edit")).into_response()),
        Err(e) => again(&state, &caller, id, e).await,
    }
}

async fn place_add_child(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<PlaceForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let res = match f.fields() {
        Ok(mut fields) => {
            fields.name = None;
            svc::create(
                &state,
                &caller,
                NewPlace {
                    parent_id: id,
                    code: f.code.clone(),
                    name: f.name.clone(),
                    fields,
                },
                "form",
            )
            .await
            .map(|_| ())
        }
        Err(e) => Err(e),
    };
    match res {
        Ok(()) => Ok(Redirect::to(&format!("/admin/places/{id}?done=child")).into_response()),
        Err(e) => again(&state, &caller, id, e).await,
    }
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    parent_id: i64,
}

async fn place_move(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<MoveForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match svc::move_to(&state, &caller, id, f.parent_id, "form").await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/places/{id}?done=move")).into_response()),
        Err(e) => again(&state, &caller, id, e).await,
    }
}

async fn place_retire(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<crate::http::CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match svc::retire(&state, &caller, id, "form").await {
        Ok(p) => {
            let to = p.parent_id.unwrap_or(id);
            Ok(Redirect::to(&format!("/admin/places/{to}?done=retire")).into_response())
        }
        Err(e) => again(&state, &caller, id, e).await,
    }
}

/// An upload of the 台账 or the map: a dry run shows the report; applying writes all or
/// nothing.
async fn place_import(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> AppResult<Response> {
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut dry_run = false;
    let mut crs = String::from("wgs84");
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "dry_run" => dry_run = field.text().await.unwrap_or_default() == "1",
            "crs" => crs = field.text().await.unwrap_or_default(),
            "file" => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes = crate::http::upload_bytes(field).await?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    check_csrf(&caller, &csrf)?;
    let (place, _) = svc::versions(&state, &caller, id).await?;
    let res = async {
        let (name, bytes) = file
            .filter(|(_, b)| !b.is_empty())
            .ok_or_else(|| AppError::invalid("setup.error.no_file"))?;
        let format =
            Format::of_file(&name).ok_or_else(|| AppError::invalid("setup.error.format"))?;
        let crs = Crs::parse(&crs).ok_or_else(|| AppError::invalid("setup.error.crs"))?;
        transfer::import(
            &state,
            &caller,
            &place.path,
            format,
            crs,
            bytes,
            dry_run,
            "import",
        )
        .await
    }
    .await;
    match res {
        Ok(report) if report.applied => {
            Ok(Redirect::to(&format!("/admin/places/{id}?done=import")).into_response())
        }
        Ok(report) => {
            let mut page = load_page(&state, &caller, id).await?;
            let refused = !report.refused.is_empty();
            page.report = Some(report);
            let mut r = render(&page);
            if refused {
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Ok(r)
        }
        Err(e) => again(&state, &caller, id, e).await,
    }
}
