//! The surveys area's JSON API: a worker writes, edits, publishes and closes surveys and reads
//! their results (JSON or XLSX); a recipient lists, opens and answers hers.

/// The surveys area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    received,
    managed,
    create,
    satisfaction,
    open,
    update,
    publish,
    close,
    answer,
    results,
    results_xlsx
))]
pub struct SurveysApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/surveys", get(received).post(create))
        .route("/api/v1/surveys/managed", get(managed))
        .route("/api/v1/surveys/satisfaction", post(satisfaction))
        .route("/api/v1/surveys/{id}", get(open).put(update))
        .route("/api/v1/surveys/{id}/publish", post(publish))
        .route("/api/v1/surveys/{id}/close", post(close))
        .route("/api/v1/surveys/{id}/answers", post(answer))
        .route("/api/v1/surveys/{id}/results", get(results))
        .route("/api/v1/surveys/{id}/results.xlsx", get(results_xlsx))
}

use super::model::{Answer, Draft, Kind, Question, Results, Survey};
use super::service::{self, Opened};
use crate::http::{ApiJson, ErrorBody, Path, Signed};
use crate::kernel::ctx;
use crate::kernel::error::AppResult;
use crate::notices::Audience;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// A survey put to the caller, with whether she answered.
#[derive(Serialize, ToSchema)]
#[schema(as = ReceivedSurvey)]
pub struct Received {
    pub survey: Survey,
    pub answered: bool,
    /// Whether answers are taken now.
    pub open: bool,
}

/// The surveys put to the caller (as a resident, and as a worker), newest first.
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys", security(("bearer" = [])),
    responses((status = 200, body = Vec<Received>), (status = 401, body = ErrorBody)))]
pub(crate) async fn received(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Received>>> {
    let now = crate::kernel::time::now_ms();
    Ok(Json(
        service::received(&state, &caller)
            .await?
            .into_iter()
            .map(|(s, answered)| Received {
                open: s.is_open(now),
                survey: s,
                answered,
            })
            .collect(),
    ))
}

/// The surveys the caller manages (written at her places or below), newest first, with their
/// response rates.
#[utoipa::path(get, path = "/api/v1/surveys/managed", tag = "surveys", security(("bearer" = [])),
    responses((status = 200, body = Vec<Survey>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn managed(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Survey>>> {
    Ok(Json(service::managed_list(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct SurveyRequest {
    /// At most 80 characters.
    pub title: String,
    /// What the survey is for, at most 2,000 characters.
    #[serde(default)]
    pub intro: String,
    /// One to thirty questions; a choice has two to twenty options.
    pub questions: Vec<Question>,
    pub audience: Audience,
    /// Keep the answers without who gave them.
    #[serde(default)]
    pub anonymous: bool,
    /// Answers are taken from (unix ms; default: publication) …
    #[serde(default)]
    pub opens_at: Option<i64>,
    /// … until (unix ms; default 14 days later, at most 90).
    #[serde(default)]
    pub closes_at: Option<i64>,
    /// Publish at once (its recipients frozen) instead of keeping a draft.
    #[serde(default)]
    pub publish: bool,
}

impl SurveyRequest {
    fn draft(self) -> (Draft, bool) {
        (
            Draft {
                title: self.title,
                intro: self.intro,
                questions: self.questions,
                audience: self.audience,
                anonymous: self.anonymous,
                opens_at: self.opens_at,
                closes_at: self.closes_at,
            },
            self.publish,
        )
    }
}

/// Writes a survey: a draft, or published at once. Bad questions (a choice with fewer than
/// two options, an empty prompt), an audience outside the caller's places or reaching nobody
/// are refused (422) and nothing is kept.
#[utoipa::path(post, path = "/api/v1/surveys", tag = "surveys", request_body = SurveyRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Survey), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<SurveyRequest>,
) -> AppResult<(StatusCode, Json<Survey>)> {
    let (d, now) = r.draft();
    let mut s = service::create(&state, &caller, d, Kind::General).await?;
    if now {
        s = service::publish(&state, &caller, s.id).await?;
    }
    Ok((StatusCode::CREATED, Json(s)))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SatisfactionRequest)]
pub struct SatisfactionReq {
    /// The community (a place id) it is put to.
    pub community: i64,
}

/// Writes a community's satisfaction survey (社区满意度调查) from the template, as a draft:
/// overall satisfaction and case handling 1–5, the channel used, what to improve; anonymous.
#[utoipa::path(post, path = "/api/v1/surveys/satisfaction", tag = "surveys",
    request_body = SatisfactionReq, security(("bearer" = [])),
    responses((status = 201, body = Survey), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn satisfaction(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<SatisfactionReq>,
) -> AppResult<(StatusCode, Json<Survey>)> {
    let s = service::create_satisfaction(&state, &caller, r.community, ctx().lang).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// A survey as the caller may see it.
#[derive(Serialize, ToSchema)]
#[schema(as = SurveyOpening)]
pub struct Opening {
    pub survey: Survey,
    /// When the caller is a recipient: whether she has answered.
    pub answered: Option<bool>,
    /// Whether answers are taken now.
    pub open: bool,
    /// Whether she manages it (edit, publish, close, results).
    pub manages: bool,
}

impl From<Opened> for Opening {
    fn from(o: Opened) -> Opening {
        Opening {
            open: o.survey.is_open(crate::kernel::time::now_ms()),
            survey: o.survey,
            answered: o.answered,
            manages: o.manages,
        }
    }
}

/// Opens a survey: its questions, and for a recipient whether she answered. 404 outside its
/// audience and its managers.
#[utoipa::path(get, path = "/api/v1/surveys/{id}", tag = "surveys", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Opening), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn open(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Opening>> {
    Ok(Json(service::open(&state, &caller, id).await?.into()))
}

/// Rewrites a draft (its questions, audience, times); `publish` is ignored.
#[utoipa::path(put, path = "/api/v1/surveys/{id}", tag = "surveys", request_body = SurveyRequest,
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Survey), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn update(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<SurveyRequest>,
) -> AppResult<Json<Survey>> {
    let (d, _) = r.draft();
    Ok(Json(service::update(&state, &caller, id, d).await?))
}

/// Publishes a draft: its recipients are frozen now.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/publish", tag = "surveys",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Survey), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn publish(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Survey>> {
    Ok(Json(service::publish(&state, &caller, id).await?))
}

/// Closes a published survey before its deadline.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/close", tag = "surveys",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Survey), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn close(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Survey>> {
    Ok(Json(service::close(&state, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SurveyAnswers)]
pub struct AnswersRequest {
    pub answers: Vec<Answer>,
}

/// Answers a survey, once. 404 outside its audience; 409 after it closed or for a second
/// answer; 422 for an answer outside its question (a scale outside 1–5, an option that does
/// not exist) or a required question left out.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/answers", tag = "surveys",
    request_body = AnswersRequest, security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn answer(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<AnswersRequest>,
) -> AppResult<StatusCode> {
    service::answer(&state, &caller, id, r.answers).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A survey's results for whoever manages it: counts per option, a scale's mean, free texts
/// (for a survey that is not anonymous, with who wrote them masked; that look is audited).
#[utoipa::path(get, path = "/api/v1/surveys/{id}/results", tag = "surveys",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Results), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn results(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Results>> {
    Ok(Json(
        service::results(&state, &caller, id, ctx().lang).await?,
    ))
}

/// The results as an XLSX workbook in the reader's language (never cached; audited).
#[utoipa::path(get, path = "/api/v1/surveys/{id}/results.xlsx", tag = "surveys",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "the results as XLSX", content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn results_xlsx(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<axum::response::Response> {
    let bytes = service::export(&state, &caller, id, ctx().lang).await?;
    Ok(crate::http::file_response(
        &format!("survey-{id}-results.xlsx"),
        bytes,
    ))
}
