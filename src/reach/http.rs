//! Reach's JSON API: an account's own channels and quiet hours; the street's outbox, channels,
//! robots and duty workers (its administrators); a cared-for person's contacts (registry
//! readers in scope); the care chains; and the one-tap answer (no sign-in: the signed link is
//! the authority).

pub mod push;
pub mod street;

/// The reach area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    get_mine,
    put_mine,
    outbox,
    retry,
    get_settings,
    put_settings,
    list_robots,
    add_robot,
    put_duty,
    list_contacts,
    add_contact,
    remove_contact,
    list_chains,
    tap_look,
    tap_answer,
    push::push_key,
    push::list_devices,
    push::add_device,
    push::remove_device,
    push::test_push,
    street::duty_roster,
    street::remove_robot,
    street::test_robot,
    street::test_channel
))]
pub struct ReachApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/reach/me", get(get_mine).put(put_mine))
        .route("/api/v1/reach/outbox", get(outbox))
        .route("/api/v1/reach/outbox/{id}/retry", post(retry))
        .route(
            "/api/v1/reach/settings",
            get(get_settings).put(put_settings),
        )
        .route("/api/v1/reach/robots", get(list_robots).post(add_robot))
        .route("/api/v1/reach/duty", get(street::duty_roster).put(put_duty))
        .route(
            "/api/v1/reach/persons/{id}/contacts",
            get(list_contacts).post(add_contact),
        )
        .route(
            "/api/v1/reach/persons/{id}/contacts/{contact}",
            delete(remove_contact),
        )
        .route("/api/v1/reach/chains", get(list_chains))
        .route("/api/v1/reach/taps/{token}", get(tap_look).post(tap_answer))
        .merge(push::router())
        .merge(street::router())
}

use super::chains::{Chain, Tap};
use super::outbox::Delivery;
use super::service::{self, Duty, MineUpdate, NewRobot};
use super::settings::{Contact, Mine, NewContact, Robot, Settings};
use crate::http::{ApiJson, ErrorBody, Path, Query, Signed};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// The caller's own addresses (masked), quiet hours and language.
#[utoipa::path(get, path = "/api/v1/reach/me", tag = "reach", security(("bearer" = [])),
    responses((status = 200, body = Mine), (status = 401, body = ErrorBody)))]
pub(crate) async fn get_mine(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Mine>> {
    Ok(Json(service::mine(&state, &caller).await?))
}

/// Sets the caller's addresses (checked, stored encrypted; empty removes one), quiet hours
/// (urgent messages ignore them) and language. A bad address is refused (422) and nothing is
/// kept.
#[utoipa::path(put, path = "/api/v1/reach/me", tag = "reach", request_body = MineUpdate,
    security(("bearer" = [])),
    responses((status = 200, body = Mine), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn put_mine(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(u): ApiJson<MineUpdate>,
) -> AppResult<Json<Mine>> {
    Ok(Json(service::set_mine(&state, &caller, u).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct OutboxQuery {
    /// queued, sending, sent, failed
    #[serde(default)]
    pub state: Option<String>,
    /// The page after the delivery with this id.
    #[serde(default)]
    pub before: Option<i64>,
}

/// The street's outbox, newest first, fifty at a time: state, tries, the last error, the
/// target masked.
#[utoipa::path(get, path = "/api/v1/reach/outbox", tag = "reach", params(OutboxQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Delivery>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn outbox(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<OutboxQuery>,
) -> AppResult<Json<Vec<Delivery>>> {
    Ok(Json(
        service::outbox_list(&state, &caller, q.state, q.before).await?,
    ))
}

/// Queues a failed delivery again.
#[utoipa::path(post, path = "/api/v1/reach/outbox/{id}/retry", tag = "reach",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn retry(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    service::retry(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The street's SMTP server and SMS gateway template (the password never answered).
#[utoipa::path(get, path = "/api/v1/reach/settings", tag = "reach", security(("bearer" = [])),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn get_settings(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Settings>> {
    Ok(Json(service::get_settings(&state, &caller).await?))
}

/// Sets the street's SMTP server and SMS gateway template; a template without `{phone}` and
/// `{text}`, or whose JSON body does not render, is refused (422).
#[utoipa::path(put, path = "/api/v1/reach/settings", tag = "reach", request_body = Settings,
    security(("bearer" = [])),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn put_settings(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(s): ApiJson<Settings>,
) -> AppResult<Json<Settings>> {
    Ok(Json(service::put_settings(&state, &caller, s).await?))
}

/// The street's group robots (企业微信, 钉钉, 飞书).
#[utoipa::path(get, path = "/api/v1/reach/robots", tag = "reach", security(("bearer" = [])),
    responses((status = 200, body = Vec<Robot>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn list_robots(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Robot>>> {
    Ok(Json(service::robots(&state, &caller).await?))
}

/// Adds a group robot at a place: messages to a role at that place or below also go to it.
#[utoipa::path(post, path = "/api/v1/reach/robots", tag = "reach", request_body = NewRobot,
    security(("bearer" = [])),
    responses((status = 201, body = Robot), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_robot(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<NewRobot>,
) -> AppResult<(StatusCode, Json<Robot>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::add_robot(&state, &caller, r).await?),
    ))
}

/// Sets a community's duty worker, the care chain's last step.
#[utoipa::path(put, path = "/api/v1/reach/duty", tag = "reach", request_body = Duty,
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn put_duty(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(d): ApiJson<Duty>,
) -> AppResult<StatusCode> {
    service::set_duty(&state, &caller, d).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A cared-for person's contacts for care alerts, in order (names and addresses masked; the
/// look is in her access log).
#[utoipa::path(get, path = "/api/v1/reach/persons/{id}/contacts", tag = "reach",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<Contact>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_contacts(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Contact>>> {
    Ok(Json(service::contacts(&state, &caller, id).await?))
}

/// Records a contact with her consent (how she agreed); the chain tells her first, in order.
#[utoipa::path(post, path = "/api/v1/reach/persons/{id}/contacts", tag = "reach",
    params(("id" = i64, Path)), request_body = NewContact, security(("bearer" = [])),
    responses((status = 201, body = Vec<Contact>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn add_contact(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<NewContact>,
) -> AppResult<(StatusCode, Json<Vec<Contact>>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::add_contact(&state, &caller, id, n).await?),
    ))
}

/// Removes a contact (her consent withdrawn).
#[utoipa::path(delete, path = "/api/v1/reach/persons/{id}/contacts/{contact}", tag = "reach",
    params(("id" = i64, Path), ("contact" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn remove_contact(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, contact)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    service::remove_contact(&state, &caller, id, contact).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct ChainsQuery {
    /// Only the chain of this alert.
    #[serde(default)]
    pub alert_id: Option<i64>,
}

/// The street's care chains, newest first: plan, step, state, who answered.
#[utoipa::path(get, path = "/api/v1/reach/chains", tag = "reach", params(ChainsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Chain>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn list_chains(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ChainsQuery>,
) -> AppResult<Json<Vec<Chain>>> {
    Ok(Json(
        service::chains_list(&state, &caller, q.alert_id).await?,
    ))
}

/// What a one-tap link says now.
#[derive(Serialize, ToSchema)]
#[schema(as = Reach_TapState)]
pub struct TapState {
    /// open, used, answered_before, expired, forged
    pub state: String,
    /// The alert in words (open links only).
    pub what: Option<String>,
    pub place: Option<String>,
    /// What the state means, in the reader's language.
    pub message: String,
}

/// The words of a tap's state.
pub fn tap_words(t: &Tap) -> (&'static str, String) {
    let tr = crate::kernel::i18n::Tr(ctx().lang);
    let pick = |s: &str| crate::kernel::i18n::pick(s, ctx().lang);
    match t {
        Tap::Open { .. } => ("open", tr.s("reach.tap.open").to_string()),
        Tap::Used(at, a) => (
            "used",
            tr.fill(
                "reach.tap.used",
                &[
                    ("at", &crate::kernel::time::local_time(*at)),
                    ("answer", &tr.s(&format!("reach.answer.{a}"))),
                ],
            ),
        ),
        Tap::AnsweredBefore(a, by) => (
            "answered_before",
            tr.fill(
                "reach.tap.answered_before",
                &[
                    ("by", &pick(by)),
                    ("answer", &tr.s(&format!("reach.answer.{a}"))),
                ],
            ),
        ),
        Tap::Expired => ("expired", tr.s("reach.tap.expired").to_string()),
        Tap::Forged => ("forged", tr.s("reach.tap.forged").to_string()),
    }
}

fn tap_state(t: Tap) -> TapState {
    let (state, message) = tap_words(&t);
    let (what, place) = match t {
        Tap::Open { what, place } => (
            Some(crate::kernel::i18n::pick(&what, ctx().lang)),
            Some(place),
        ),
        _ => (None, None),
    };
    TapState {
        state: state.into(),
        what,
        place,
        message,
    }
}

/// Reads a one-tap link without answering it (link previews must not answer).
#[utoipa::path(get, path = "/api/v1/reach/taps/{token}", tag = "reach",
    params(("token" = String, Path)),
    responses((status = 200, body = TapState)))]
pub(crate) async fn tap_look(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> AppResult<Json<TapState>> {
    Ok(Json(tap_state(service::look(&state, token).await?)))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = Reach_TapAnswer)]
pub struct TapAnswer {
    /// on_it ("I'm on it") or fine ("she is fine")
    pub answer: String,
}

/// Answers a one-tap link: the chain stops and the answer is recorded on the alert and its
/// case. A link used before, expired, or forged is refused (409, 410, 403) with a message.
#[utoipa::path(post, path = "/api/v1/reach/taps/{token}", tag = "reach",
    params(("token" = String, Path)), request_body = TapAnswer,
    responses((status = 200, body = TapState), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 410, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn tap_answer(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    ApiJson(a): ApiJson<TapAnswer>,
) -> AppResult<Json<TapState>> {
    if !matches!(a.answer.as_str(), "on_it" | "fine") {
        return Err(AppError::invalid("reach.err.answer"));
    }
    match service::answer(&state, token, a.answer.clone()).await? {
        Ok(done) => Ok(Json(TapState {
            state: "answered".into(),
            what: None,
            place: None,
            message: crate::kernel::i18n::Tr(ctx().lang).fill(
                "reach.tap.thanks",
                &[(
                    "answer",
                    &crate::kernel::i18n::tr(ctx().lang, &format!("reach.answer.{}", done.answer)),
                )],
            ),
        })),
        Err(t) => Err(tap_refusal(&t)),
    }
}

/// The error of a link that cannot be answered.
pub fn tap_refusal(t: &Tap) -> AppError {
    let (_, msg) = tap_words(t);
    let (status, code) = match t {
        Tap::Forged => (StatusCode::FORBIDDEN, Code::Forbidden),
        Tap::Expired => (StatusCode::GONE, Code::Gone),
        _ => (StatusCode::CONFLICT, Code::Conflict),
    };
    AppError::with_message(status, code, msg)
}
