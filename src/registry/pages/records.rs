//! Pages for the registry's records beside persons: a unit's file (area, use, owners, rental
//! registrations, vehicles, history), the rental and vehicle lists, the street's tags, tag
//! and head-of-household forms, and population figures drawn as SVG bars. Every form goes
//! through the same store functions as the API; a refusal comes back on the page it came from.

use std::sync::Arc;

use crate::http::{Path, Query};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::audit::{self, Action, NewEntry};
use crate::http::{ApiForm, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Lang;
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::registry::http::{street_admin, writer};
use crate::registry::records::{self, Actor, Outcome, PersonPick};
use crate::registry::stats::Population;
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/units/{id}", get(unit_page).post(unit_edit))
        .route("/units/{id}/owners", post(owner_add))
        .route("/units/{id}/owners/{owner}/delete", post(owner_remove))
        .route("/units/{id}/rentals", post(rental_add))
        .route("/rentals", get(rentals_page))
        .route("/rentals/{id}/close", post(rental_close))
        .route("/vehicles", get(vehicles_page).post(vehicle_add))
        .route("/vehicles/{id}/delete", post(vehicle_remove))
        .route("/admin/tags", get(tags_page).post(tag_add))
        .route("/admin/tags/{code}/delete", post(tag_remove))
        .route("/persons/{id}/tags", post(person_tag_add))
        .route("/persons/{id}/tags/{tag}/end", post(person_tag_end))
        .route("/households/{id}/head", post(household_head))
        .route("/stats", get(stats_page))
}

#[derive(Deserialize, Default)]
struct Back {
    /// A refusal's message from the form that was posted.
    err: Option<String>,
}

/// Runs a form's change in one transaction; a refusal returns to `back` with its message.
async fn form_change<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    back: &str,
    subjects: Vec<String>,
    what: &str,
    f: impl FnOnce(&mut dyn crate::store::Conn) -> crate::store::Result<Outcome<T>> + Send + 'static,
) -> AppResult<Response> {
    let r = state
        .db
        .write_tx(move |c| -> AppResult<Outcome<T>> {
            match f(c)? {
                Ok(v) => Ok(Ok(v)),
                // Roll back whatever the refused change wrote before it was refused.
                Err(e) => Err(AppError::from(e)),
            }
        })
        .await;
    match r {
        Ok(_) => {
            state
                .audit
                .record(
                    NewEntry::by(caller, Action::Change)
                        .subjects(subjects)
                        .purpose(format!("form: {what}")),
                )
                .await?;
            Ok(Redirect::to(back).into_response())
        }
        Err(e) if e.status.is_client_error() && e.status != axum::http::StatusCode::NOT_FOUND => {
            let msg = e.message(ctx().lang);
            let enc: String = form_urlencoded::byte_serialize(msg.as_bytes()).collect();
            let sep = if back.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!("{back}{sep}err={enc}")).into_response())
        }
        Err(e) => Err(e),
    }
}

/// "330105…" (an ID number) or "1234" (a registry id) from a form field.
fn pick(text: &str) -> PersonPick {
    let t = text.trim();
    if !t.is_empty() && t.len() <= 12 && t.chars().all(|c| c.is_ascii_digit()) {
        PersonPick {
            person_id: t.parse().ok(),
            id_number: None,
        }
    } else {
        PersonPick {
            person_id: None,
            id_number: Some(t.to_string()),
        }
    }
}

fn actor(caller: &Caller) -> Actor<'static> {
    Actor {
        user_id: caller.user_id,
        source: "form",
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/unit.html")]
struct UnitPage {
    l: Layout,
    u: records::Unit,
    uses: &'static [&'static str],
    error: Option<String>,
}

impl UnitPage {
    /// A version's changes in the reader's words.
    fn changes(&self, v: &serde_json::Value) -> String {
        crate::registry::records::describe_changes(v, self.l.t)
    }
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn area(&self) -> String {
        self.u.area_m2.map(|a| format!("{a}")).unwrap_or_default()
    }
    fn use_is(&self, u: &str) -> bool {
        self.u.unit_use.as_deref() == Some(u)
    }
}

async fn unit_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(b): Query<Back>,
) -> AppResult<Response> {
    writer(&caller)?;
    let scope = caller.scope.clone();
    let (u, exists) = state
        .db
        .read(move |c| {
            let u = records::unit(c, &scope, id)?;
            let exists = u.is_some() || records::unit_exists(c, id)?;
            Ok((u, exists))
        })
        .await?;
    let Some(u) = u else {
        if exists {
            state
                .audit
                .record(NewEntry::by(&caller, Action::Denied).subjects([format!("unit:{id}")]))
                .await?;
        }
        return Err(AppError::not_found());
    };
    let subjects: Vec<String> = std::iter::once(format!("unit:{id}"))
        .chain(records::unit_subjects(&u).into_iter().map(audit::person))
        .collect();
    state
        .audit
        .record(NewEntry::by(&caller, Action::Read).subjects(subjects))
        .await?;
    Ok(render(&UnitPage {
        l: Layout::new(Some(&caller)),
        u,
        uses: records::unit_uses(),
        error: b.err,
    }))
}

#[derive(Deserialize)]
struct UnitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    unit_use: String,
}

async fn unit_edit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<UnitForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    writer(&caller)?;
    let (scope, who) = (caller.scope.clone(), actor(&caller));
    let patch = records::UnitPatch {
        area: Some(f.area),
        unit_use: Some(f.unit_use),
    };
    form_change(
        &state,
        &caller,
        &format!("/units/{id}"),
        vec![format!("unit:{id}")],
        "unit",
        move |c| records::update_unit(c, &scope, id, &patch, who),
    )
    .await
}

#[derive(Deserialize)]
struct OwnerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    share: String,
    #[serde(default)]
    since: String,
}

async fn owner_add(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<OwnerForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    writer(&caller)?;
    let (scope, keys, who) = (caller.scope.clone(), state.keys.clone(), actor(&caller));
    let share = crate::registry::import::normalise(&f.share)
        .trim()
        .trim_end_matches('%')
        .parse::<f64>()
        .unwrap_or(f64::NAN);
    let o = records::NewOwner {
        person: pick(&f.person),
        share_pct: share,
        since: Some(f.since),
    };
    form_change(
        &state,
        &caller,
        &format!("/units/{id}"),
        vec![format!("unit:{id}")],
        "owner added",
        move |c| records::add_owner(c, &keys, &scope, id, &o, who),
    )
    .await
}

async fn owner_remove(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, owner)): Path<(i64, i64)>,
    ApiForm(f): ApiForm<crate::http::CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    writer(&caller)?;
    let (scope, who) = (caller.scope.clone(), actor(&caller));
    form_change(
        &state,
        &caller,
        &format!("/units/{id}"),
        vec![format!("unit:{id}")],
        "owner removed",
        move |c| records::remove_owner(c, &scope, id, owner, who),
    )
    .await
}

#[derive(Deserialize)]
struct RentalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reg_no: String,
    #[serde(default)]
    landlord: String,
    /// ID numbers or registry ids, separated by commas or spaces.
    #[serde(default)]
    tenants: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
}

async fn rental_add(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RentalForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    writer(&caller)?;
    let (scope, keys, who) = (caller.scope.clone(), state.keys.clone(), actor(&caller));
    let r = records::NewRental {
        unit_id: id,
        reg_no: Some(f.reg_no),
        landlord: pick(&f.landlord),
        tenants: f
            .tenants
            .split([',', '，', '、', ' ', '\n', ';', '；'])
            .filter(|s| !s.trim().is_empty())
            .map(pick)
            .collect(),
        start_date: f.start_date,
        end_date: f.end_date,
        notes: None,
    };
    form_change(
        &state,
        &caller,
        &format!("/units/{id}"),
        vec![format!("unit:{id}")],
        "rental registered",
        move |c| records::create_rental(c, &keys, &scope, &r, who),
    )
    .await
}

// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/rentals.html")]
struct RentalsPage {
    l: Layout,
    items: Vec<records::Rental>,
    next: Option<String>,
    state_filter: String,
    expiring: bool,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct RentalsQuery {
    state: Option<String>,
    expiring: Option<String>,
    err: Option<String>,
    after: Option<String>,
}

async fn rentals_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<RentalsQuery>,
) -> AppResult<Response> {
    writer(&caller)?;
    let st = q
        .state
        .clone()
        .filter(|s| matches!(s.as_str(), "active" | "ended" | "cancelled"));
    let expiring = q.expiring.is_some();
    let scope = caller.scope.clone();
    let st2 = st.clone();
    let after = q.after.clone();
    let (items, next) = state
        .db
        .read(move |c| {
            records::rentals(
                c,
                &scope,
                st2.as_deref(),
                expiring.then_some(30),
                crate::registry::http::RENTALS_PAGE,
                after.as_deref(),
            )
        })
        .await?;
    let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let next = next.map(|n| {
        let mut url = String::from("/rentals?");
        if let Some(s) = &st {
            url.push_str(&format!("state={}&", enc(s)));
        }
        if expiring {
            url.push_str("expiring=1&");
        }
        url.push_str(&format!("after={}", enc(&n)));
        url
    });
    crate::registry::access::listed_people(
        &state,
        &caller,
        crate::registry::http::rental_people(&items),
    )
    .await?;
    Ok(render(&RentalsPage {
        l: Layout::new(Some(&caller)),
        items,
        next,
        state_filter: st.unwrap_or_default(),
        expiring,
        error: q.err,
    }))
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    state: String,
}

async fn rental_close(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CloseForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    writer(&caller)?;
    let (scope, who) = (caller.scope.clone(), actor(&caller));
    form_change(
        &state,
        &caller,
        "/rentals",
        vec![format!("rental:{id}")],
        "rental closed",
        move |c| records::close_rental(c, &scope, id, &f.state, who),
    )
    .await
}

// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/vehicles.html")]
struct VehiclesPage {
    l: Layout,
    items: Vec<records::Vehicle>,
    plate: String,
    error: Option<String>,
    /// The next page, when more follow, and the first, on a later page.
    next: Option<String>,
    first: Option<String>,
}

#[derive(Deserialize, Default)]
struct VehiclesQuery {
    plate: Option<String>,
    err: Option<String>,
    after: Option<String>,
}

async fn vehicles_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<VehiclesQuery>,
) -> AppResult<Response> {
    writer(&caller)?;
    let scope = caller.scope.clone();
    let plate = q.plate.clone().unwrap_or_default();
    let p2 = plate.clone();
    let after = q
        .after
        .clone()
        .filter(|a| records::vehicle_key(a).is_some());
    let a2 = after.clone();
    let (items, next) = state
        .db
        .read(move |c| {
            records::vehicles(
                c,
                &scope,
                Some(&p2),
                crate::registry::http::VEHICLES_PAGE,
                a2.as_deref(),
            )
        })
        .await?;
    let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let base = if plate.is_empty() {
        "/vehicles?".to_string()
    } else {
        format!("/vehicles?plate={}&", enc(&plate))
    };
    let next = next.map(|n| format!("{base}after={}", enc(&n)));
    let first = after.map(|_| base.trim_end_matches(['?', '&']).to_string());
    let mut people: Vec<i64> = items.iter().map(|v| v.owner.id).collect();
    people.sort_unstable();
    people.dedup();
    crate::registry::access::listed_people(&state, &caller, people).await?;
    Ok(render(&VehiclesPage {
        l: Layout::new(Some(&caller)),
        items,
        plate,
        error: q.err,
        next,
        first,
    }))
}

#[derive(Deserialize)]
struct VehicleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    plate: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    parking: String,
}

async fn vehicle_add(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<VehicleForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    writer(&caller)?;
    let (scope, keys, who) = (caller.scope.clone(), state.keys.clone(), actor(&caller));
    let v = records::NewVehicle {
        plate: f.plate,
        owner: pick(&f.owner),
        parking: Some(f.parking),
    };
    form_change(
        &state,
        &caller,
        "/vehicles",
        vec!["vehicle:new".into()],
        "vehicle registered",
        move |c| records::create_vehicle(c, &keys, &scope, &v, who),
    )
    .await
}

async fn vehicle_remove(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<crate::http::CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    writer(&caller)?;
    let (scope, who) = (caller.scope.clone(), actor(&caller));
    form_change(
        &state,
        &caller,
        "/vehicles",
        vec![format!("vehicle:{id}")],
        "vehicle removed",
        move |c| records::delete_vehicle(c, &scope, id, who),
    )
    .await
}

// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/tags.html")]
struct TagsPage {
    l: Layout,
    tags: Vec<records::TagDef>,
    can_edit: bool,
    error: Option<String>,
}

async fn tags_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(b): Query<Back>,
) -> AppResult<Response> {
    writer(&caller)?;
    let street = caller.street_id;
    let tags = state.db.read(move |c| records::tag_defs(c, street)).await?;
    Ok(render(&TagsPage {
        l: Layout::new(Some(&caller)),
        tags,
        can_edit: crate::org::access::is_street_admin(&caller),
        error: b.err,
    }))
}

#[derive(Deserialize)]
struct TagForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
}

async fn tag_add(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<TagForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let street = street_admin(&caller)?;
    let who = actor(&caller);
    let t = records::NewTag {
        code: f.code,
        name_zh: f.name_zh,
        name_en: Some(f.name_en),
    };
    form_change(
        &state,
        &caller,
        "/admin/tags",
        vec!["tags".into()],
        "tag defined",
        move |c| records::create_tag(c, street, &t, who),
    )
    .await
}

async fn tag_remove(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(code): Path<String>,
    ApiForm(f): ApiForm<crate::http::CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let street = street_admin(&caller)?;
    let who = actor(&caller);
    form_change(
        &state,
        &caller,
        "/admin/tags",
        vec!["tags".into()],
        "tag removed",
        move |c| records::delete_tag(c, street, &code, who),
    )
    .await
}

#[derive(Deserialize)]
struct PersonTagForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    #[serde(default)]
    source: String,
}

async fn person_tag_add(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<PersonTagForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    writer(&caller)?;
    let (scope, who) = (caller.scope.clone(), actor(&caller));
    let t = records::NewPersonTag {
        tag: f.tag,
        valid_from: Some(f.valid_from),
        valid_to: Some(f.valid_to),
        source: Some(f.source),
    };
    form_change(
        &state,
        &caller,
        &format!("/persons/{id}"),
        vec![audit::person(id)],
        "tags",
        move |c| records::add_person_tag(c, &scope, id, &t, who),
    )
    .await
}

async fn person_tag_end(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, tag)): Path<(i64, String)>,
    ApiForm(f): ApiForm<crate::http::CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    writer(&caller)?;
    let (scope, who) = (caller.scope.clone(), actor(&caller));
    form_change(
        &state,
        &caller,
        &format!("/persons/{id}"),
        vec![audit::person(id)],
        "tags",
        move |c| records::end_person_tag(c, &scope, id, &tag, who),
    )
    .await
}

#[derive(Deserialize)]
struct HeadForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    head: i64,
}

async fn household_head(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<HeadForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    writer(&caller)?;
    let (scope, who) = (caller.scope.clone(), actor(&caller));
    let patch = records::HouseholdPatch {
        head_person_id: Some(f.head),
        registered: None,
    };
    form_change(
        &state,
        &caller,
        &format!("/households/{id}"),
        vec![audit::household(id)],
        "head",
        move |c| records::update_household(c, &scope, id, &patch, who),
    )
    .await
}

// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/stats.html")]
struct StatsPage {
    l: Layout,
    p: Population,
    charts: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
struct StatsQuery {
    place: Option<i64>,
}

/// A horizontal bar chart as SVG: one bar per (label, count), the count at its end.
pub fn bars(rows: &[(String, i64)]) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let (w, row_h, label_w) = (420.0, 22.0, 110.0);
    let h = row_h * rows.len() as f64 + 4.0;
    // Its accessible name reads the figures out, as a screen reader cannot see the bars.
    let said = crate::web::esc(
        &rows
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect::<Vec<_>>()
            .join("，"),
    );
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" class="bars" role="img" aria-label="{said}"><title>{said}</title>"#
    );
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let bw = (w - label_w - 60.0) * (*n as f64) / max;
        s.push_str(&format!(
            r##"<text x="{x}" y="{ty}" text-anchor="end" font-size="12">{label}</text><rect x="{label_w}" y="{y}" width="{bw:.1}" height="{bh}" fill="#3b7dd8"><title>{label}: {n}</title></rect><text x="{nx:.1}" y="{ty}" font-size="12">{n}</text>"##,
            x = label_w - 6.0,
            ty = y + 14.0,
            label = crate::web::esc(label),
            bh = row_h - 6.0,
            nx = label_w + bw + 4.0,
        ));
    }
    s.push_str("</svg>");
    s
}

async fn stats_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<StatsQuery>,
) -> AppResult<Response> {
    let p = crate::registry::http::population_for(&state, &caller, q.place).await?;
    let l = Layout::new(Some(&caller));
    let en = ctx().lang == Lang::En;
    let street = caller.street_id;
    let tag_names = state
        .db
        .read(move |c| records::tag_names(c, street, en))
        .await?;
    let tr = |prefix: &str, k: &str| l.t.k(prefix, k).to_string();
    let mut charts = Vec::new();
    let sex: Vec<(String, i64)> = p
        .by_sex
        .iter()
        .map(|c| (tr("sex", &c.key), c.count))
        .collect();
    charts.push((l.t.s("stats.by_sex").to_string(), bars(&sex)));
    let age: Vec<(String, i64)> = p
        .by_age_band
        .iter()
        .map(|c| (c.key.clone(), c.count))
        .collect();
    charts.push((l.t.s("stats.by_age").to_string(), bars(&age)));
    let pres: Vec<(String, i64)> = p
        .by_presence
        .iter()
        .map(|c| (tr("presence", &c.key), c.count))
        .collect();
    charts.push((l.t.s("stats.by_presence").to_string(), bars(&pres)));
    let res: Vec<(String, i64)> = p
        .by_residence
        .iter()
        .map(|c| (tr("residence", &c.key), c.count))
        .collect();
    charts.push((l.t.s("stats.by_residence").to_string(), bars(&res)));
    let hukou: Vec<(String, i64)> = p
        .by_hukou
        .iter()
        .map(|c| {
            let k = if c.key == "registered" {
                "household.registered"
            } else {
                "household.not_registered"
            };
            (l.t.s(k).to_string(), c.count)
        })
        .collect();
    charts.push((l.t.s("stats.by_hukou").to_string(), bars(&hukou)));
    let tags: Vec<(String, i64)> = p
        .by_tag
        .iter()
        .map(|c| {
            let name = tag_names
                .iter()
                .find(|(code, _)| *code == c.key)
                .map(|(_, name)| name.clone())
                .unwrap_or_else(|| c.key.clone());
            (name, c.count)
        })
        .collect();
    if !tags.is_empty() {
        charts.push((l.t.s("stats.by_tag").to_string(), bars(&tags)));
    }
    if !p.by_child.is_empty() {
        let ch: Vec<(String, i64)> = p
            .by_child
            .iter()
            .map(|c| (c.name.clone(), c.residents))
            .collect();
        charts.push((l.t.s("stats.by_child").to_string(), bars(&ch)));
    }
    Ok(render(&StatsPage { l, p, charts }))
}
