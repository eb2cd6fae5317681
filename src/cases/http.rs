//! The JSON API for cases under `/api/v1`, documented in the OpenAPI document.

use std::sync::Arc;

use crate::http::{Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::{self, CalendarDay};
use super::dedupe::{self, Shown};
use super::lifecycle::{self, Action, ActorRef, Step};
use super::notify::{self, InboxItem};
use super::{Case, CaseError, Category, Channel, Event, Filter, NewCase, NewCategory, Viewer};
use crate::audit::{self, NewEntry};
use crate::http::ErrorBody;
use crate::http::{ApiJson, Signed};
use crate::kernel::error::{AppError, AppResult};
use crate::org::{Caller, Role};
use crate::state::AppState;
use crate::store::now_ms;

/// Cases' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_categories,
    save_category,
    set_category_route,
    get_calendar,
    put_calendar,
    create_case,
    duplicates,
    list_cases,
    get_case,
    transition,
    batch_cases,
    find_places,
    org_figures,
    list_inbox,
    read_inbox,
    read_all_inbox,
    set_webhook,
    upload_photo,
    get_photo,
    reveal_case
))]
pub struct CasesApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/case-categories",
            get(list_categories).post(save_category),
        )
        .route(
            "/api/v1/case-categories/{id}/routes",
            post(set_category_route),
        )
        .route(
            "/api/v1/calendar/{year}",
            get(get_calendar).put(put_calendar),
        )
        .route("/api/v1/cases", get(list_cases).post(create_case))
        .route("/api/v1/cases/duplicates", post(duplicates))
        .route("/api/v1/cases/batch", post(batch_cases))
        .route("/api/v1/cases/places", get(find_places))
        .route("/api/v1/cases/figures", get(org_figures))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/transitions", post(transition))
        .route("/api/v1/cases/{id}/reveal", post(reveal_case))
        .route(
            "/api/v1/cases/{id}/photos",
            post(upload_photo).layer(axum::extract::DefaultBodyLimit::max(
                super::photos::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/api/v1/cases/{id}/photos/{pid}", get(get_photo))
        .route("/api/v1/inbox", get(list_inbox))
        .route("/api/v1/inbox/{id}/read", post(read_inbox))
        .route("/api/v1/inbox/read-all", post(read_all_inbox))
        .route("/api/v1/orgs/{id}/webhook", put(set_webhook))
}

/// The street a caller works in; cases always belong to one.
pub fn street_of(caller: &Caller) -> AppResult<i64> {
    caller
        .street_id
        .ok_or_else(|| AppError::invalid("case.err_no_street"))
}

/// The service catalogue of the caller's street.
#[utoipa::path(get, path = "/api/v1/case-categories", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = [Category]), (status = 401, body = ErrorBody)))]
pub async fn list_categories(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Category>>> {
    let street = street_of(&caller)?;
    Ok(Json(
        state.db.read(move |c| super::categories(c, street)).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CreatedId {
    pub id: i64,
}

/// Adds a category, or replaces the one with the same code (street administrators).
#[utoipa::path(post, path = "/api/v1/case-categories", tag = "cases", request_body = NewCategory, security(("bearer" = [])),
    responses((status = 200, body = CreatedId), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_category(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(k): ApiJson<NewCategory>,
) -> AppResult<Json<CreatedId>> {
    let street = crate::org::access::street_admin(&caller)?;
    let id = state
        .db
        .write_tx(move |c| super::save_category(c, street, &k))
        .await
        .map_err(AppError::from)?;
    Ok(Json(CreatedId { id }))
}

#[derive(Deserialize, ToSchema)]
pub struct RouteRequest {
    /// The place (and everything under it) the organisation is responsible at.
    pub place_id: i64,
    pub org_id: i64,
}

/// Makes an organisation responsible for a category at a place (street administrators).
#[utoipa::path(post, path = "/api/v1/case-categories/{id}/routes", tag = "cases", request_body = RouteRequest,
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_category_route(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RouteRequest>,
) -> AppResult<StatusCode> {
    let street = crate::org::access::street_admin(&caller)?;
    state
        .db
        .write_tx(move |c| -> Result<(), CaseError> {
            super::category_by_id(c, id)?
                .filter(|k| k.street_id == street)
                .ok_or(CaseError::NotFound)?;
            c.query_opt(
                "SELECT id FROM organisations WHERE id = $1 AND street_id = $2",
                crate::params![r.org_id, street],
            )?
            .ok_or(CaseError::Invalid("case.err_org"))?;
            c.query_opt(
                "SELECT id FROM places WHERE id = $1 AND (street_id = $2 OR id = $2)",
                crate::params![r.place_id, street],
            )?
            .ok_or(CaseError::Invalid("case.err_place"))?;
            super::set_route(c, id, r.place_id, r.org_id)?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The exceptions to the working week in one year (holidays, make-up working days).
#[utoipa::path(get, path = "/api/v1/calendar/{year}", tag = "cases", params(("year" = i32, Path)),
    security(("bearer" = [])), responses((status = 200, body = [CalendarDay])))]
pub async fn get_calendar(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(year): Path<i32>,
) -> AppResult<Json<Vec<CalendarDay>>> {
    let street = street_of(&caller)?;
    Ok(Json(
        state
            .db
            .read(move |c| calendar::year(c, street, year))
            .await?,
    ))
}

/// Replaces a year's exceptions (street administrators). Deadlines set afterwards use it.
#[utoipa::path(put, path = "/api/v1/calendar/{year}", tag = "cases", params(("year" = i32, Path)),
    request_body = [CalendarDay], security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_calendar(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(year): Path<i32>,
    ApiJson(days): crate::http::ApiJsonList<Vec<CalendarDay>>,
) -> AppResult<StatusCode> {
    let street = crate::org::access::street_admin(&caller)?;
    if !(2000..=2100).contains(&year) || calendar::check_year(year, &days).is_err() {
        return Err(AppError::invalid("case.err_calendar"));
    }
    state
        .db
        .write(move |c| calendar::set_year(c, street, year, &days))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct CaseRequest {
    /// A category code from `/api/v1/case-categories`.
    pub category: String,
    pub description: String,
    /// A place of the street: building, unit, grid... Either this or a point.
    #[serde(default)]
    pub place_id: Option<i64>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub address: String,
    /// The category's extra fields, by key.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// resident, hotline, patrol or api; defaults from the caller's role.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// For a hotline call: the caller's name and phone.
    #[serde(default)]
    pub reporter_name: String,
    #[serde(default)]
    pub reporter_contact: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedCase {
    pub case: Case,
    /// Open cases that may be the same problem, as the caller may see them: cases in her
    /// scope for a worker, similar reports nearby without personal data for anyone else.
    pub duplicates: Vec<Shown>,
}

/// The channels a caller may report through, the first being the default.
pub fn channels_for(caller: &Caller) -> Vec<Channel> {
    let dispatcher = caller.has(Role::StreetAdmin)
        || caller.has(Role::CommunityWorker)
        || caller.has(Role::DistrictAdmin);
    if caller.has(Role::GridWorker) {
        vec![Channel::Patrol, Channel::Hotline, Channel::Api]
    } else if dispatcher {
        vec![Channel::Hotline, Channel::Patrol, Channel::Api]
    } else if caller.has(Role::DeptHandler) || caller.has(Role::PropertyManager) {
        vec![Channel::Api]
    } else {
        vec![Channel::Resident, Channel::Api]
    }
}

/// Opens a case from a signed-in caller (API or form), returning it with likely duplicates.
pub async fn intake(state: &AppState, caller: &Caller, r: CaseRequest) -> AppResult<CreatedCase> {
    let street = street_of(caller)?;
    let allowed = channels_for(caller);
    let channel = match r.channel {
        Some(ch) if allowed.contains(&ch) => ch,
        Some(_) => return Err(AppError::invalid("case.err_channel")),
        None => allowed[0],
    };
    let (name, contact) = if channel == Channel::Hotline {
        if r.reporter_name.trim().is_empty() {
            return Err(AppError::invalid("case.err_hotline_reporter"));
        }
        (r.reporter_name, r.reporter_contact)
    } else {
        (caller.display_name.clone(), r.reporter_contact)
    };
    let reporter_id = (channel != Channel::Hotline).then_some(caller.user_id);
    let contact = super::Contact::seal(&state.keys, &contact)?;
    let new = NewCase {
        category: r.category,
        description: r.description,
        place_id: r.place_id,
        lat: r.lat,
        lon: r.lon,
        address: r.address,
        extra: r.extra,
        reporter_id,
        reporter_name: name,
        reporter_contact: contact,
        open311_key_id: None,
        terms_later: false,
    };
    // Everything but the inserts runs on a reader, in parallel with other requests:
    // segmentation, validation, place, routing, deadlines and the duplicate search. On SQLite
    // there is one writer, and it only inserts.
    dedupe::ready().await;
    let now = now_ms();
    let viewer = Viewer::of(caller);
    let (new, prepared, duplicates) = state
        .db
        .read(move |c| -> crate::store::Result<Result<_, CaseError>> {
            let run = |c: &mut dyn crate::store::Conn| -> Result<_, CaseError> {
                let p = super::prepare(c, street, &new, now)?;
                let found = dedupe::suggest(
                    c,
                    &dedupe::Probe {
                        street_id: street,
                        category_id: p.category.id,
                        radius_m: p.category.dup_radius_m,
                        building_id: p.located.building_id,
                        lat: p.located.lat,
                        lon: p.located.lon,
                        terms: &p.terms,
                        exclude: None,
                    },
                    now,
                )?;
                let dups = dedupe::shown_to(c, &viewer, &p.category, found, now)?;
                Ok((new, p, dups))
            };
            Ok(run(c))
        })
        .await??;
    let case = state
        .db
        .write_tx(move |c| -> Result<Case, CaseError> {
            let id = super::store(c, street, channel, &new, &prepared, now)?;
            super::get(c, id.0, now)?.ok_or(CaseError::NotFound)
        })
        .await?;
    Ok(CreatedCase { case, duplicates })
}

/// Reports a problem. The channel defaults from the caller's role (resident, patrol for grid
/// workers, hotline for the operations centre, who then give the caller's name).
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CaseRequest, security(("bearer" = [])),
    responses((status = 201, body = CreatedCase), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_case(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<CaseRequest>,
) -> AppResult<(StatusCode, Json<CreatedCase>)> {
    let out = intake(&state, &caller, r).await?;
    record_shown(&state, &caller, &out.duplicates).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Audits likely duplicates shown to a caller, as a list of the cases (and of the reporters
/// whose words were shown).
pub async fn record_shown(state: &AppState, caller: &Caller, shown: &[Shown]) -> AppResult<()> {
    if shown.is_empty() {
        return Ok(());
    }
    state
        .audit
        .record(
            NewEntry::by(caller, audit::Action::List)
                .subjects(dedupe::audit_subjects(shown))
                .purpose("duplicates"),
        )
        .await?;
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct DuplicateProbe {
    pub category: String,
    pub description: String,
    #[serde(default)]
    pub place_id: Option<i64>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
}

/// Open cases that may be the same problem as a report being written (before it is sent): to
/// a worker, the cases in her scope (`kind: case`); to anyone else, similar reports nearby of
/// categories that may be published, without personal data (`kind: nearby`). Audited.
#[utoipa::path(post, path = "/api/v1/cases/duplicates", tag = "cases", request_body = DuplicateProbe, security(("bearer" = [])),
    responses((status = 200, body = [Shown]), (status = 422, body = ErrorBody)))]
pub async fn duplicates(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(p): ApiJson<DuplicateProbe>,
) -> AppResult<Json<Vec<Shown>>> {
    let street = street_of(&caller)?;
    let now = now_ms();
    let viewer = Viewer::of(&caller);
    let out = state
        .db
        .read(move |c| -> crate::store::Result<Result<_, CaseError>> {
            let run = |c: &mut dyn crate::store::Conn| -> Result<_, CaseError> {
                let cat = super::category_by_code(c, street, &p.category)?
                    .ok_or(CaseError::Invalid("case.err_category"))?;
                let loc = super::locate(c, street, p.place_id, p.lat, p.lon)?;
                let found = dedupe::suggest(
                    c,
                    &dedupe::Probe {
                        street_id: street,
                        category_id: cat.id,
                        radius_m: cat.dup_radius_m,
                        building_id: loc.building_id,
                        lat: loc.lat,
                        lon: loc.lon,
                        terms: &dedupe::segment(&p.description),
                        exclude: None,
                    },
                    now,
                )?;
                Ok(dedupe::shown_to(c, &viewer, &cat, found, now)?)
            };
            Ok(run(c))
        })
        .await??;
    record_shown(&state, &caller, &out).await?;
    Ok(Json(out))
}

/// Cases the caller may see, late ones first: a handler sees the cases dispatched to their
/// organisation, a resident their own, workers those of their area.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(Filter), security(("bearer" = [])),
    responses((status = 200, body = [Case]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_cases(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(f): Query<Filter>,
) -> AppResult<Json<Vec<Case>>> {
    let viewer = Viewer::of(&caller);
    let now = now_ms();
    let out = state
        .db
        .read(move |c| Ok(super::list(c, &viewer, &f, now)))
        .await??;
    Ok(Json(out))
}

#[derive(Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: Case,
    /// Every step, oldest first.
    pub timeline: Vec<Event>,
    /// The steps the caller may take now.
    pub actions: Vec<Action>,
    /// The caller's roles towards this case.
    pub roles: Vec<lifecycle::Actor>,
    pub photos: Vec<super::photos::Photo>,
}

/// Loads a case the caller may see, with its timeline; writes an audit entry when the
/// reporter's contact is shown (to the workers who must call back).
pub async fn detail(state: &AppState, caller: &Caller, id: i64) -> AppResult<CaseDetail> {
    let viewer = Viewer::of(caller);
    let now = now_ms();
    let (mut case, (timeline, photos)) = state
        .db
        .read(move |c| {
            let Some(case) = super::get(c, id, now)? else {
                return Ok(None);
            };
            let ev = super::events(c, id)?;
            let photos = super::photos::of_case(c, id)?;
            Ok(Some((case, (ev, photos))))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let roles = viewer.actors(&case);
    let follows = if roles.is_empty() {
        let uid = caller.user_id;
        state
            .db
            .read(move |c| {
                c.query_opt(
                    "SELECT 1 FROM case_followers WHERE case_id = $1 AND user_id = $2",
                    crate::params![id, uid],
                )
            })
            .await?
            .is_some()
    } else {
        false
    };
    if roles.is_empty() && !follows {
        return Err(AppError::not_found());
    }
    let worker = roles
        .iter()
        .any(|r| !matches!(r, lifecycle::Actor::Reporter));
    if worker && !case.contact.is_empty() {
        let mut subjects = vec![format!("case:{}", case.id.0)];
        subjects.extend(case.reporter_id.map(audit::user));
        state
            .audit
            .record(
                NewEntry::by(caller, audit::Action::Read)
                    .subjects(subjects)
                    .purpose("case"),
            )
            .await?;
        case.reporter_contact = Some(case.contact.masked.clone());
    }
    // Numbers typed into the text are masked for all but who typed them ([`reveal`] shows
    // them, audited).
    case.mask_free_text(caller.user_id);
    let timeline = timeline
        .into_iter()
        .map(|mut e| {
            if e.actor_id != Some(caller.user_id) {
                e.note = crate::privacy::mask::free_text(&e.note);
            }
            e
        })
        .collect();
    let actions = lifecycle::offered(&case, &roles, viewer.user_id, &viewer.orgs);
    Ok(CaseDetail {
        case,
        timeline,
        actions,
        roles,
        photos,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct CaseRevealRequest {
    /// home_visit, service, emergency, verification or other (then with a note).
    pub purpose: String,
    #[serde(default)]
    pub note: String,
}

/// A case's personal data in full, as a reveal shows it.
#[derive(Serialize, ToSchema)]
pub struct CaseRevealed {
    /// The reporter's phone or e-mail, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter_contact: Option<String>,
    /// The description, the exact spot and the rating comment as written.
    pub description: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_comment: Option<String>,
    /// The timeline's notes as written, by event.
    pub notes: Vec<RevealedNote>,
}

#[derive(Serialize, ToSchema)]
pub struct RevealedNote {
    pub event_id: i64,
    pub note: String,
}

/// Shows a case's personal data in full (the reporter's contact, and phone and ID numbers in
/// its text) to someone working on it, for a stated purpose; the reveal is written to the
/// audit log, under the case and its reporter, before anything is shown.
pub async fn reveal(
    state: &AppState,
    caller: &Caller,
    id: i64,
    purpose: &str,
    note: &str,
) -> AppResult<CaseRevealed> {
    use crate::registry::access::PURPOSES;
    if !PURPOSES.contains(&purpose) {
        return Err(AppError::invalid("error.purpose"));
    }
    let note = note.trim();
    if purpose == "other" && note.is_empty() {
        return Err(AppError::invalid("error.purpose_note"));
    }
    if note.chars().count() > 200 {
        return Err(AppError::invalid("error.purpose_long"));
    }
    crate::kernel::text::check_note(note).map_err(AppError::invalid)?;
    let viewer = Viewer::of(caller);
    let now = now_ms();
    let (case, events) = state
        .db
        .read(move |c| {
            let Some(case) = super::get(c, id, now)? else {
                return Ok(None);
            };
            Ok(Some((case, super::events(c, id)?)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let roles = viewer.actors(&case);
    if roles.is_empty() {
        return Err(AppError::not_found());
    }
    if roles
        .iter()
        .all(|r| matches!(r, lifecycle::Actor::Reporter))
    {
        return Err(AppError::forbidden());
    }
    let mut subjects = vec![format!("case:{}", case.id.0)];
    subjects.extend(case.reporter_id.map(audit::user));
    subjects.push("field:reporter_contact".into());
    let purpose_text = if note.is_empty() {
        purpose.to_string()
    } else {
        format!("{purpose}: {note}")
    };
    state
        .audit
        .record(
            NewEntry::by(caller, audit::Action::Reveal)
                .subjects(subjects)
                .purpose(purpose_text),
        )
        .await?;
    let reporter_contact = if case.contact.is_empty() {
        None
    } else {
        Some(case.contact.open(&state.keys).ok_or_else(|| {
            AppError::internal("decrypting a contact", "the key does not open this value")
        })?)
    };
    Ok(CaseRevealed {
        reporter_contact,
        description: case.description,
        address: case.address,
        rating_comment: case.rating_comment,
        notes: events
            .into_iter()
            .filter(|e| !e.note.is_empty())
            .map(|e| RevealedNote {
                event_id: e.id,
                note: e.note,
            })
            .collect(),
    })
}

/// Shows a case's personal data in full — the reporter's phone or e-mail and the phone and
/// ID numbers typed into its text — to someone working on it, for a purpose; written to the
/// audit log first.
#[utoipa::path(post, path = "/api/v1/cases/{id}/reveal", tag = "cases", params(("id" = i64, Path)),
    request_body = CaseRevealRequest, security(("bearer" = [])),
    responses((status = 200, body = CaseRevealed), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reveal_case(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CaseRevealRequest>,
) -> AppResult<Json<CaseRevealed>> {
    Ok(Json(
        reveal(&state, &caller, id, &r.purpose, &r.note).await?,
    ))
}

/// One case with its timeline and the steps the caller may take.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = CaseDetail), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<CaseDetail>> {
    Ok(Json(detail(&state, &caller, id).await?))
}

/// Takes one step as a signed-in caller (an accept with `dispatch` takes the dispatch too, in
/// the same transaction), and returns the case's state after it. Closing a case clears the
/// sensor alert that opened it, and the live alert streams hear of it once the step is
/// committed.
pub async fn take_step(
    state: &AppState,
    caller: &Caller,
    id: i64,
    step: Step,
) -> AppResult<lifecycle::State> {
    if step.dispatch && step.action != Action::Accept && step.action != Action::Dispatch {
        return Err(AppError::invalid("case.err_dispatch_with"));
    }
    let viewer = Viewer::of(caller);
    let now = now_ms();
    let (to, effects) = state
        .db
        .write_tx(move |c| -> Result<_, CaseError> {
            let case = super::get(c, id, now)?.ok_or(CaseError::NotFound)?;
            let actors = viewer.actors(&case);
            if actors.is_empty() {
                return Err(CaseError::NotFound);
            }
            let who = ActorRef {
                user_id: Some(viewer.user_id),
                name: viewer.name.clone(),
                actors,
                orgs: viewer.orgs.clone(),
            };
            let applied = lifecycle::apply(c, &case, &who, &step, now)?;
            if step.action != Action::Accept || !step.dispatch {
                return Ok((applied.to, applied.effects));
            }
            // 受理并派单: the dispatch, on the case as the accept left it.
            let accepted = super::get(c, id, now)?.ok_or(CaseError::NotFound)?;
            let dispatch = Step {
                org_id: step.org_id,
                user_id: step.user_id,
                ..Step::new(Action::Dispatch, "")
            };
            let then = lifecycle::apply(c, &accepted, &who, &dispatch, now)?;
            Ok((then.to, then.effects))
        })
        .await?;
    super::hooks::committed(state, effects);
    Ok(to)
}

/// Steps that may be taken on many cases at once.
const BATCH_ACTIONS: [Action; 3] = [Action::SignFor, Action::Dispatch, Action::Accept];

/// Cases one batch may carry.
pub const BATCH_MAX: usize = 100;

/// One step on many cases: 签收 for handlers, 派单 (or 受理并派单) for dispatchers.
#[derive(Deserialize, ToSchema)]
pub struct BatchRequest {
    /// sign_for, dispatch, or accept (with `dispatch: true` to dispatch too).
    pub action: Action,
    /// The cases, at most 100.
    pub ids: Vec<i64>,
    #[serde(default)]
    pub note: String,
    /// dispatch: the organisation (defaults to each case's routing suggestion).
    #[serde(default)]
    pub org_id: Option<i64>,
    /// dispatch: a user to handle them directly.
    #[serde(default)]
    pub user_id: Option<i64>,
    /// accept: dispatch at once too.
    #[serde(default)]
    pub dispatch: bool,
}

/// What a batch did to one case.
#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    pub id: i64,
    pub ok: bool,
    /// The case's state after the step, when it was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<lifecycle::State>,
    /// Why not, when it was refused: the error's code (`not_found`, `forbidden`,
    /// `state_conflict`, `invalid`) and message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<crate::kernel::Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchOutcome {
    /// One per case, in the order asked.
    pub results: Vec<BatchResult>,
    /// How many were taken.
    pub done: usize,
}

/// Takes one step on many cases, each checked and recorded as if taken alone (its own
/// transaction, its timeline, its notifications): one refused does not stop the others.
pub async fn batch(state: &AppState, caller: &Caller, r: BatchRequest) -> AppResult<BatchOutcome> {
    if !BATCH_ACTIONS.contains(&r.action) || (r.dispatch && r.action != Action::Accept) {
        return Err(AppError::invalid("case.err_batch_action"));
    }
    let mut ids = Vec::new();
    for id in r.ids {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() || ids.len() > BATCH_MAX {
        return Err(AppError::invalid("case.err_batch_ids"));
    }
    let lang = crate::kernel::ctx().lang;
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let step = Step {
            org_id: r.org_id,
            user_id: r.user_id,
            dispatch: r.dispatch,
            ..Step::new(r.action, &r.note)
        };
        results.push(match take_step(state, caller, id, step).await {
            Ok(to) => BatchResult {
                id,
                ok: true,
                state: Some(to),
                code: None,
                message: None,
            },
            Err(e) if e.status.is_client_error() => BatchResult {
                id,
                ok: false,
                state: None,
                message: Some(e.message(lang)),
                code: Some(e.code),
            },
            Err(e) => return Err(e),
        });
    }
    let done = results.iter().filter(|x| x.ok).count();
    Ok(BatchOutcome { results, done })
}

/// Takes one step on many cases: `{"action": "sign_for", "ids": [..]}` for a handler's 签收,
/// `{"action": "dispatch", "ids": [..], "org_id": N}` for a dispatcher's 派单. Each case is
/// checked and recorded as if the step were taken on it alone; the answer lists each case's
/// outcome (a case out of the caller's sight is `not_found`).
#[utoipa::path(post, path = "/api/v1/cases/batch", tag = "cases", request_body = BatchRequest, security(("bearer" = [])),
    responses((status = 200, body = BatchOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn batch_cases(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<BatchRequest>,
) -> AppResult<Json<BatchOutcome>> {
    Ok(Json(batch(&state, &caller, r).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlacesQuery {
    /// Words of a building's, grid's or community's name (at least one character).
    #[serde(default)]
    pub q: String,
}

/// Places of the caller's street by name, for the report form: buildings, grids and
/// communities whose name contains the words, each with the names of the places above it
/// (社区 › 网格 › 楼), at most 20.
#[utoipa::path(get, path = "/api/v1/cases/places", tag = "cases", params(PlacesQuery), security(("bearer" = [])),
    responses((status = 200, body = [super::PlaceFound]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn find_places(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<PlacesQuery>,
) -> AppResult<Json<Vec<super::PlaceFound>>> {
    let street = street_of(&caller)?;
    let words = q.q.trim().to_string();
    if words.is_empty() || words.chars().count() > 50 {
        return Err(AppError::invalid("case.err_place_words"));
    }
    Ok(Json(
        state
            .db
            .read(move |c| super::find_places(c, street, &words, 20))
            .await?,
    ))
}

/// Takes a step of the lifecycle: `{"action": "accept" | "dispatch" | ..., "note": ...}`.
/// A step the caller's role may not take is refused with 403, one the case's state does not
/// allow with 409; each message says why.
#[utoipa::path(post, path = "/api/v1/cases/{id}/transitions", tag = "cases", params(("id" = i64, Path)),
    request_body = Step, security(("bearer" = [])),
    responses((status = 200, body = CaseDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn transition(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(step): ApiJson<Step>,
) -> AppResult<Json<CaseDetail>> {
    take_step(&state, &caller, id, step).await?;
    Ok(Json(detail(&state, &caller, id).await?))
}

/// The period the figures cover.
#[derive(Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// Only cases reported in the last this many days (1–3660); every case when absent.
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    pub days: Option<i64>,
}

impl FiguresQuery {
    /// The earliest report time counted, if any.
    pub fn since(&self, now: i64) -> AppResult<Option<i64>> {
        match self.days {
            None => Ok(None),
            Some(d) if (1..=3660).contains(&d) => Ok(Some(now - d * 86_400_000)),
            Some(_) => Err(AppError::invalid("case.err_days")),
        }
    }
}

/// Per-organisation figures of the caller's street: on-time rate, median time to resolve,
/// satisfaction; of every case, or of those reported in the last `days`.
#[utoipa::path(get, path = "/api/v1/cases/figures", tag = "cases", params(FiguresQuery), security(("bearer" = [])),
    responses((status = 200, body = super::FiguresReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn org_figures(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<FiguresQuery>,
) -> AppResult<Json<super::FiguresReport>> {
    let since = q.since(now_ms())?;
    Ok(Json(
        super::figures::for_caller(&state, &caller, since).await?,
    ))
}

impl Caller {
    /// Works with cases beyond their own reports.
    pub fn browses_cases(&self) -> bool {
        Viewer::of(self).is_worker()
    }
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = [InboxItem]), (status = 401, body = ErrorBody)))]
pub async fn list_inbox(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<InboxItem>>> {
    let uid = caller.user_id;
    Ok(Json(
        state.db.read(move |c| notify::inbox(c, uid, 200)).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct MarkedRead {
    /// How many notifications were unread and are now read.
    pub marked: u64,
}

/// Marks all the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/inbox/read-all", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = MarkedRead), (status = 401, body = ErrorBody)))]
pub async fn read_all_inbox(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<MarkedRead>> {
    let uid = caller.user_id;
    let now = now_ms();
    let marked = state
        .db
        .write(move |c| notify::mark_all_read(c, uid, now))
        .await?;
    Ok(Json(MarkedRead { marked }))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/inbox/{id}/read", tag = "cases", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn read_inbox(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let uid = caller.user_id;
    let now = now_ms();
    if state
        .db
        .write(move |c| notify::mark_read(c, uid, id, now))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found())
    }
}

#[derive(Deserialize, ToSchema)]
pub struct WebhookRequest {
    /// `https://…` (checked against the system's CA certificates) or `http://…`; empty to
    /// remove the webhook. Bodies are JSON, signed in the
    /// `X-Linli-Signature: sha256=HEX` header with HMAC-SHA256 over the body.
    pub url: String,
    /// The shared secret, at least 16 characters.
    #[serde(default)]
    pub secret: String,
}

/// Sets the webhook an organisation's notifications are also posted to (street administrators).
#[utoipa::path(put, path = "/api/v1/orgs/{id}/webhook", tag = "cases", params(("id" = i64, Path)),
    request_body = WebhookRequest, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_webhook(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(w): ApiJson<WebhookRequest>,
) -> AppResult<StatusCode> {
    let street = crate::org::access::street_admin(&caller)?;
    let url = w.url.trim().to_string();
    if !url.is_empty() {
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        if !scheme_ok
            || url
                .parse::<hyper::Uri>()
                .map_or(true, |u| u.host().is_none())
        {
            return Err(AppError::invalid("case.err_webhook_url"));
        }
        if w.secret.chars().count() < 16 {
            return Err(AppError::invalid("case.err_webhook_secret"));
        }
        if let Err(why) = notify::check_destination(&url, &state.cfg.webhook_allow).await {
            tracing::warn!(url = %url, reason = %why, "a webhook address was refused");
            return Err(AppError::invalid("case.err_webhook_private"));
        }
    }
    let found = state
        .db
        .write(move |c| {
            if c.query_opt(
                "SELECT id FROM organisations WHERE id = $1 AND street_id = $2",
                crate::params![id, street],
            )?
            .is_none()
            {
                return Ok(false);
            }
            let hook = (!url.is_empty()).then_some((url.as_str(), w.secret.as_str()));
            notify::set_webhook(c, street, id, hook)?;
            Ok(true)
        })
        .await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found())
    }
}

/// A multipart field's bytes; a body over the route's limit is a photo too large.
pub async fn upload_bytes(field: axum::extract::multipart::Field<'_>) -> AppResult<bytes::Bytes> {
    field.bytes().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::invalid("case.err_photo_size")
        } else {
            AppError::bad_request("error.bad_form")
        }
    })
}

/// Reads a photo upload: the file, whether its location may be kept, and the form's CSRF token.
pub async fn read_upload(mut m: axum::extract::Multipart) -> AppResult<(Vec<u8>, bool, String)> {
    let (mut raw, mut share, mut csrf) = (None, false, String::new());
    while let Some(field) = m
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        let name = field.name().unwrap_or("").to_string();
        let data = upload_bytes(field).await?;
        match name.as_str() {
            "photo" => raw = Some(data.to_vec()),
            "share_location" => {
                share = matches!(&data[..], b"1" | b"true" | b"on" | b"yes");
            }
            "csrf" => csrf = String::from_utf8_lossy(&data).to_string(),
            _ => {}
        }
    }
    let raw = raw.ok_or_else(|| AppError::invalid("case.err_photo_empty"))?;
    Ok((raw, share, csrf))
}

/// Stores a photo of an open case for someone with a role towards it.
pub async fn add_photo(
    state: &AppState,
    caller: &Caller,
    id: i64,
    raw: Vec<u8>,
    share: bool,
) -> AppResult<super::photos::Photo> {
    let viewer = Viewer::of(caller);
    let now = now_ms();
    let case = state
        .db
        .read(move |c| super::get(c, id, now))
        .await?
        .filter(|k| !viewer.actors(k).is_empty())
        .ok_or_else(AppError::not_found)?;
    if !case.is_open() {
        return Err(CaseError::Conflict(super::Why::Key("case.err_photo_closed")).into());
    }
    let prepared = check_photos(vec![(raw, share)]).await?;
    Ok(attach_photos(state, case, caller.user_id, prepared)
        .await?
        .remove(0))
}

/// Checks uploads and prepares what is stored (type by content, size, pixels, thumbnail,
/// location kept or stripped), off the async threads and one upload's pictures at a time
/// among at most [`super::photos::IMAGE_WORK`]'s permits; the first bad one's reason otherwise.
pub async fn check_photos(
    uploads: Vec<(Vec<u8>, bool)>,
) -> AppResult<Vec<super::photos::Prepared>> {
    let _permit = super::photos::IMAGE_WORK
        .acquire()
        .await
        .map_err(|e| AppError::internal("waiting to check a photo", e))?;
    let checked = tokio::task::spawn_blocking(move || {
        uploads
            .iter()
            .map(|(raw, share)| super::photos::prepare(raw, *share))
            .collect::<Result<Vec<_>, CaseError>>()
    })
    .await
    .map_err(|e| AppError::internal("checking a photo", e))?;
    Ok(checked?)
}

/// Stores checked photos with a case: files written and synced off the async threads and
/// outside the write transaction, then their rows in one transaction; should the rows not be
/// stored, the files go again.
pub async fn attach_photos(
    state: &AppState,
    case: Case,
    uploader: i64,
    prepared: Vec<super::photos::Prepared>,
) -> AppResult<Vec<super::photos::Photo>> {
    let now = now_ms();
    let dir = state.cfg.data_dir.clone();
    let for_files = case.clone();
    let (prepared, files) = tokio::task::spawn_blocking(move || {
        let mut files: Vec<super::photos::Files> = Vec::new();
        for p in &prepared {
            match super::photos::write_files(&dir, &for_files, p) {
                Ok(f) => files.push(f),
                Err(e) => {
                    files.iter().for_each(|f| f.remove(&dir));
                    return Err(crate::store::StoreError::Db(format!(
                        "writing a photo: {e}"
                    )));
                }
            }
        }
        Ok((prepared, files))
    })
    .await
    .map_err(|e| AppError::internal("writing a photo", e))??;
    let files = Arc::new(files);
    let stored = {
        let files = files.clone();
        state
            .db
            .write_tx(move |c| {
                prepared
                    .iter()
                    .zip(files.iter())
                    .map(|(p, f)| super::photos::store(c, &case, uploader, p, f, now))
                    .collect::<Result<Vec<_>, CaseError>>()
            })
            .await
    };
    if stored.is_err() {
        files.iter().for_each(|f| f.remove(&state.cfg.data_dir));
    }
    Ok(stored?)
}

/// Adds a photo (multipart: `photo`, and `share_location=1` to keep its EXIF location). JPEG or
/// PNG by content, at most 5 MB, 12 per case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/photos", tag = "cases", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", content = String), security(("bearer" = [])),
    responses((status = 201, body = super::photos::Photo), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_photo(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    m: axum::extract::Multipart,
) -> AppResult<(StatusCode, Json<super::photos::Photo>)> {
    let (raw, share, _) = read_upload(m).await?;
    let p = add_photo(&state, &caller, id, raw, share).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PhotoQuery {
    /// `1` for the thumbnail.
    pub thumb: Option<u8>,
}

/// A photo of a case the caller may see (`?thumb=1` for its thumbnail).
#[utoipa::path(get, path = "/api/v1/cases/{id}/photos/{pid}", tag = "cases",
    params(("id" = i64, Path), ("pid" = i64, Path), PhotoQuery), security(("bearer" = [])),
    responses((status = 200, description = "the photo as uploaded (JPEG or PNG), or its JPEG thumbnail", content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))), (status = 404, body = ErrorBody)))]
pub async fn get_photo(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, pid)): Path<(i64, i64)>,
    Query(q): Query<PhotoQuery>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let viewer = Viewer::of(&caller);
    let now = now_ms();
    let uid = caller.user_id;
    let found = state
        .db
        .read(move |c| {
            let Some(case) = super::get(c, id, now)? else {
                return Ok(None);
            };
            let follows = c
                .query_opt(
                    "SELECT 1 FROM case_followers WHERE case_id = $1 AND user_id = $2",
                    crate::params![id, uid],
                )?
                .is_some();
            if viewer.actors(&case).is_empty() && !follows {
                return Ok(None);
            }
            Ok(super::photos::of_case(c, id)?
                .into_iter()
                .find(|p| p.id == pid))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let (rel, ctype) = if q.thumb == Some(1) {
        (found.thumb.clone(), "image/jpeg".to_string())
    } else {
        (found.file.clone(), found.content_type.clone())
    };
    let bytes = tokio::fs::read(state.cfg.data_dir.join(&rel))
        .await
        .map_err(|e| AppError::internal("reading a photo", e))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, ctype),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}
