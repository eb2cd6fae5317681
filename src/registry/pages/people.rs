//! The pages of persons and households.

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/households/{id}", get(household_page))
        .route("/persons", get(persons_page))
        .route("/persons/{id}", get(person_page))
        .route("/persons/{id}/edit", post(person_edit))
        .route("/persons/{id}/reveal", post(reveal_page))
}

use crate::http::{ApiForm, Signed, check_csrf};
use crate::http::{Path, Query};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Lang;
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::registry::households::Household;
use crate::state::AppState;
use crate::web::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "registry/household.html")]
pub(crate) struct HouseholdPage {
    l: Layout,
    h: Household,
    can_reveal: bool,
    /// Whether the address links to its place page (a resident may not browse places).
    can_browse: bool,
    /// The street's tags (code, name in the reader's language): a street's own tags
    /// (低保户) are not catalogue keys.
    tag_names: Vec<(String, String)>,
    purposes: &'static [&'static str],
    /// A value just revealed: (person, field, value).
    revealed: Option<(i64, &'static str, String)>,
    error: Option<String>,
}

impl HouseholdPage {
    fn tag_name(&self, code: &str) -> String {
        self.tag_names
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| self.l.t.k_or("tag", code))
    }
    fn shown(&self, person: &i64, field: &str) -> Option<&str> {
        match &self.revealed {
            Some((p, f, v)) if p == person && *f == field => Some(v.as_str()),
            _ => None,
        }
    }
}

/// The street's tags with their names in the reader's language.
async fn street_tags(state: &AppState, caller: &Caller) -> AppResult<Vec<(String, String)>> {
    let street = caller.street_id;
    let en = ctx().lang == Lang::En;
    Ok(state
        .db
        .read(move |c| crate::registry::records::tag_names(c, street, en))
        .await?)
}

pub(crate) async fn household_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let h = crate::registry::access::household(&state, &caller, id).await?;
    Ok(render(&HouseholdPage {
        l: Layout::new(Some(&caller)),
        h,
        can_reveal: caller.reads_registry(),
        can_browse: caller.can_browse(),
        tag_names: street_tags(&state, &caller).await?,
        purposes: &crate::registry::access::PURPOSES,
        revealed: None,
        error: None,
    }))
}

#[derive(Template)]
#[template(path = "registry/persons.html")]
pub(crate) struct PersonsPage {
    l: Layout,
    f: crate::registry::http::PersonsQuery,
    tags: Vec<(String, String)>,
    grids: Vec<(String, String)>,
    presences: &'static [&'static str],
    items: Vec<crate::registry::persons::PersonBrief>,
    searched: bool,
    next: Option<String>,
    /// Where an export of this result would come from (the grid picked, or the caller's place).
    export_place: String,
}

impl PersonsPage {
    fn opt(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("")
    }
    fn num(v: &Option<i64>) -> String {
        v.map(|n| n.to_string()).unwrap_or_default()
    }
}

pub(crate) async fn persons_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<crate::registry::http::PersonsQuery>,
) -> AppResult<Response> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let filled = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let searched = filled(&q.q)
        || filled(&q.tag)
        || filled(&q.address)
        || filled(&q.presence)
        || filled(&q.under)
        || q.age_min.is_some()
        || q.age_max.is_some();
    let f = crate::registry::http::PersonsQuery {
        q: q.q.clone(),
        address: q.address.clone(),
        tag: q.tag.clone(),
        age_min: q.age_min,
        age_max: q.age_max,
        presence: q.presence.clone(),
        under: q.under.clone(),
        limit: None,
        offset: None,
        after: None,
    };
    let s = crate::registry::http::person_search(q)?;
    let (items, after) = if searched {
        crate::registry::access::search_persons(&state, &caller, s.clone()).await?
    } else {
        (Vec::new(), None)
    };
    let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let mut qs = String::new();
    for (k, v) in [
        ("q", f.q.clone()),
        ("address", f.address.clone()),
        ("tag", f.tag.clone()),
        ("presence", f.presence.clone()),
        ("under", f.under.clone()),
        ("age_min", f.age_min.map(|n| n.to_string())),
        ("age_max", f.age_max.map(|n| n.to_string())),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            qs.push_str(&format!("{k}={}&", enc(&v)));
        }
    }
    let next = after.map(|a| format!("/persons?{qs}after={}", enc(&a)));
    let (street, scope) = (caller.street_id, caller.scope.registry.clone());
    let en = ctx().lang == Lang::En;
    let (tags, grids) = state
        .db
        .read(move |c| {
            let tags = crate::registry::records::tag_names(c, street, en)?;
            let grids = crate::registry::persons::grids_for_filter(c, &scope, street)?;
            Ok((tags, grids))
        })
        .await?;
    let export_place = f
        .under
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| caller.scope.registry.first().cloned())
        .unwrap_or_default();
    Ok(render(&PersonsPage {
        l: Layout::new(Some(&caller)),
        f,
        tags,
        grids,
        presences: &crate::registry::persons::PRESENCES,
        items,
        searched,
        next,
        export_place,
    }))
}

#[derive(Template)]
#[template(path = "registry/person.html")]
pub(crate) struct PersonPage {
    l: Layout,
    p: crate::registry::persons::Person,
    can_edit: bool,
    error: Option<String>,
    residences: &'static [&'static str],
    presences: &'static [&'static str],
    /// The street's tags as (code, name).
    tag_options: Vec<(String, String)>,
    owned: Vec<(i64, String, f64)>,
    vehicles: Vec<crate::registry::records::Vehicle>,
}

impl PersonPage {
    /// A version's changes in the reader's words.
    fn changes(&self, v: &serde_json::Value) -> String {
        let mut said = crate::registry::records::describe_changes(v, self.l.t);
        // A tag given or ended is kept by its code ("+low_income …"): say its name.
        if v.get("tags").is_some() {
            for (code, name) in &self.tag_options {
                said = said.replace(code.as_str(), name);
            }
        }
        said
    }
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn tag_name(&self, code: &str) -> String {
        self.tag_options
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| code.to_string())
    }
}

#[derive(Deserialize)]
pub(crate) struct PersonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    residence: String,
    #[serde(default)]
    presence: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    emergency_name: String,
    #[serde(default)]
    emergency_phone: String,
}

pub(crate) async fn person_edit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<PersonForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let patch = crate::registry::persons::Patch {
        // An empty phone field leaves the number as it is (it is shown masked).
        phone: (!f.phone.trim().is_empty()).then_some(f.phone),
        residence: Some(f.residence),
        presence: Some(f.presence),
        notes: Some(f.notes),
        // The same for the emergency contact's number; emptying the name removes both.
        emergency_name: Some(f.emergency_name),
        emergency_phone: (!f.emergency_phone.trim().is_empty()).then_some(f.emergency_phone),
        ..Default::default()
    };
    match crate::registry::access::update_person(&state, &caller, id, patch, "form").await {
        Ok(_) => Ok(Redirect::to(&format!("/persons/{id}")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = e.message(ctx().lang);
            person_page_with(&state, &caller, id, Some(msg), e.status, None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct ErrQuery {
    err: Option<String>,
}

pub(crate) async fn person_page_with(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    status: StatusCode,
    err: Option<String>,
) -> AppResult<Response> {
    let p = crate::registry::access::person(state, caller, id).await?;
    let (street, scope) = (caller.street_id, caller.scope.clone());
    let en = ctx().lang == Lang::En;
    let (tag_options, owned, vehicles) = state
        .db
        .read(move |c| {
            let tags = crate::registry::records::tag_names(c, street, en)?;
            Ok((
                tags,
                crate::registry::records::units_owned(c, &scope, id)?,
                crate::registry::records::vehicles_of(c, id)?,
            ))
        })
        .await?;
    let error = error.or(err);
    let mut res = render(&PersonPage {
        l: Layout::new(Some(caller)),
        p,
        can_edit: caller.reads_registry(),
        error,
        residences: &crate::registry::persons::RESIDENCES,
        presences: &crate::registry::persons::PRESENCES,
        tag_options,
        owned,
        vehicles,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn person_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(b): Query<ErrQuery>,
) -> AppResult<Response> {
    person_page_with(&state, &caller, id, None, StatusCode::OK, b.err).await
}

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    note: String,
    household: i64,
}

pub async fn reveal_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(person): Path<i64>,
    ApiForm(f): ApiForm<RevealForm>,
) -> AppResult<Response> {
    use crate::registry::access::{self, Field};
    check_csrf(&caller, &f.csrf)?;
    let field = match f.field.as_str() {
        "id_number" => Field::IdNumber,
        "phone" => Field::Phone,
        "emergency_phone" => Field::EmergencyPhone,
        _ => return Err(AppError::bad_request("error.bad_form")),
    };
    let h = access::household(&state, &caller, f.household).await?;
    if !h.members.iter().any(|m| m.id == person) {
        return Err(AppError::not_found());
    }
    let (revealed, error, status) =
        match access::reveal(&state, &caller, person, field, &f.purpose, &f.note).await {
            Ok(v) => (Some((person, field.as_str(), v)), None, StatusCode::OK),
            Err(e) if e.status.is_client_error() => (None, Some(e.message(ctx().lang)), e.status),
            Err(e) => return Err(e),
        };
    let mut res = render(&HouseholdPage {
        l: Layout::new(Some(&caller)),
        h,
        can_reveal: true,
        can_browse: caller.can_browse(),
        tag_names: street_tags(&state, &caller).await?,
        purposes: &access::PURPOSES,
        revealed,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}
