//! The votes' JSON API: votes in the caller's places or where she owns, calling one, ballots
//! online and entered by workers, the electorate and the count (JSON and XLSX).

/// The votes area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, detail, cast, enter, electors, count, count_xlsx))]
pub struct VotesApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/votes", get(list).post(create))
        .route("/api/v1/votes/{id}", get(detail))
        .route("/api/v1/votes/{id}/ballots", post(cast))
        .route(
            "/api/v1/votes/{id}/entered-ballots",
            post(enter).layer(axum::extract::DefaultBodyLimit::max(
                super::files::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/api/v1/votes/{id}/electors", get(electors))
        .route("/api/v1/votes/{id}/count", get(count))
        .route("/api/v1/votes/{id}/count.xlsx", get(count_xlsx))
}

use super::model::{Channel, Choice, Matter, ScopeKind};
use super::service::{self, Count, Listed, Receipt, Standing, Template};
use super::store::{Elector, Vote};
use crate::http::{ApiJson, ErrorBody, Path, Signed};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// Votes in the caller's places (a worker) or where she owns (a resident), open ones first.
#[utoipa::path(get, path = "/api/v1/votes", tag = "votes", security(("bearer" = [])),
    responses((status = 200, body = Vec<Listed>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Listed>>> {
    Ok(Json(service::list(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = VoteCreateRequest)]
pub struct CreateRequest {
    /// `elevator` (加装电梯: item 7, a stairwell) or `property` (选聘物业: item 4, an estate):
    /// sets the matter and the scope; the title defaults to the template's.
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub title: String,
    /// `item1` … `item9`, the items of Civil Code art. 278 (without a template).
    #[serde(default)]
    pub matter: Option<String>,
    /// `stairwell`, `building` or `estate` (without a template).
    #[serde(default)]
    pub scope: Option<String>,
    /// The building (stairwell, building).
    #[serde(default)]
    pub building_id: Option<i64>,
    /// The stairwell's number in the building (stairwell).
    #[serde(default)]
    pub stairwell_no: Option<i64>,
    /// The estate's name as the buildings carry it (estate).
    #[serde(default)]
    pub estate: Option<String>,
    /// A secret ballot keeps who took part apart from how (default: open).
    #[serde(default)]
    pub secret: bool,
    /// Unix milliseconds; now when absent.
    #[serde(default)]
    pub opens_at: Option<i64>,
    /// Unix milliseconds; 14 days after opening when absent (at most 90 days).
    #[serde(default)]
    pub closes_at: Option<i64>,
}

fn parse_or<T>(s: Option<&str>, f: impl Fn(&str) -> Option<T>, key: &str) -> AppResult<Option<T>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => f(v).map(Some).ok_or_else(|| AppError::invalid(key)),
    }
}

impl CreateRequest {
    pub fn input(self) -> AppResult<service::NewVoteInput> {
        Ok(service::NewVoteInput {
            template: parse_or(
                self.template.as_deref(),
                Template::parse,
                "votes.err_template",
            )?,
            title: self.title,
            matter: parse_or(self.matter.as_deref(), Matter::parse, "votes.err_matter")?,
            scope_kind: parse_or(self.scope.as_deref(), ScopeKind::parse, "votes.err_scope")?,
            building_id: self.building_id,
            stairwell_no: self.stairwell_no,
            estate: self.estate,
            secret: self.secret,
            opens_at: self.opens_at,
            closes_at: self.closes_at,
        })
    }
}

/// Calls a vote: a community worker or street administrator whose places hold the whole scope.
/// When it opens now, its electorate is taken at once.
#[utoipa::path(post, path = "/api/v1/votes", tag = "votes", request_body = CreateRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Vote), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<CreateRequest>,
) -> AppResult<(StatusCode, Json<Vote>)> {
    let v = service::create(&state, &caller, r.input()?).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// A vote as the caller stands towards it.
#[derive(Serialize, ToSchema)]
pub struct VoteDetail {
    pub vote: Vote,
    /// upcoming, open or closed.
    pub phase: String,
    /// A worker who enters ballots here.
    pub manages: bool,
    /// An owner's electors in this vote (with her ballot once cast); empty before it opens.
    pub my_electors: Vec<Elector>,
}

/// A vote: a worker's of her places, an owner's of its electorate; 404 for anyone else.
#[utoipa::path(get, path = "/api/v1/votes/{id}", tag = "votes", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = VoteDetail), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<VoteDetail>> {
    let (vote, standing) = service::standing(&state, &caller, id).await?;
    let (manages, my_electors) = match standing {
        Standing::Worker { manages } => (manages, Vec::new()),
        Standing::Owner { electors } => (false, electors),
    };
    Ok(Json(VoteDetail {
        phase: vote.phase(crate::store::now_ms()).to_string(),
        vote,
        manages,
        my_electors,
    }))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = VoteBallotRequest)]
pub struct BallotRequest {
    /// for, against or abstain.
    pub choice: Choice,
    /// Which of her electors she votes for (needed only when she has several: a unit of her
    /// own and one she owns with someone else).
    #[serde(default)]
    pub elector_id: Option<i64>,
}

/// An owner votes online. One ballot per elector across channels: a second is refused (409)
/// with where the first came from; before opening and after closing 409 with the time.
#[utoipa::path(post, path = "/api/v1/votes/{id}/ballots", tag = "votes", params(("id" = i64, Path)),
    request_body = BallotRequest, security(("bearer" = [])),
    responses((status = 201, body = Receipt), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn cast(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<BallotRequest>,
) -> AppResult<(StatusCode, Json<Receipt>)> {
    let rec = service::cast_online(&state, &caller, id, r.elector_id, r.choice).await?;
    Ok((StatusCode::CREATED, Json(rec)))
}

/// Reads an entered ballot's multipart form (and its CSRF token, for the page).
pub async fn read_entered(
    mut m: axum::extract::Multipart,
) -> AppResult<(service::Entered, String)> {
    let mut e = service::Entered::default();
    let mut csrf = String::new();
    while let Some(field) = m
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        let name = field.name().unwrap_or("").to_string();
        let data = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::invalid("votes.err_file_size")
            } else {
                AppError::bad_request("error.bad_form")
            }
        })?;
        let text = || String::from_utf8_lossy(&data).trim().to_string();
        let num = |key: &str| -> AppResult<Option<i64>> {
            let t = text();
            if t.is_empty() {
                Ok(None)
            } else {
                t.parse().map(Some).map_err(|_| AppError::invalid(key))
            }
        };
        match name.as_str() {
            "channel" => e.channel = Channel::parse(&text()),
            "elector_id" => e.elector_id = num("votes.err_pick_elector")?,
            "choice" => e.choice = Choice::parse(&text()),
            "cast_by" => e.cast_by = num("votes.err_cast_by")?,
            "proxy_name" => e.proxy_name = Some(text()),
            "file" => e.file = Some(data.to_vec()),
            "csrf" => csrf = text(),
            _ => {}
        }
    }
    Ok((e, csrf))
}

/// A worker who enters ballots here records a paper ballot (`channel=paper`, `file` its scan)
/// or a proxy's (`channel=proxy`, `proxy_name`, `file` the proxy's evidence): multipart with
/// `elector_id`, `choice`, and `cast_by` (which owner, when the elector has several). Files are
/// JPEG, PNG or PDF by content, at most 5 MB.
#[utoipa::path(post, path = "/api/v1/votes/{id}/entered-ballots", tag = "votes",
    params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", content = String), security(("bearer" = [])),
    responses((status = 201, body = Receipt), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn enter(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    m: axum::extract::Multipart,
) -> AppResult<(StatusCode, Json<Receipt>)> {
    let (e, _) = read_entered(m).await?;
    let rec = service::enter(&state, &caller, id, e).await?;
    Ok((StatusCode::CREATED, Json(rec)))
}

/// The frozen electorate with who took part (names masked; how, on an open ballot only): for
/// workers of the vote's places.
#[utoipa::path(get, path = "/api/v1/votes/{id}/electors", tag = "votes", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Elector>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn electors(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Elector>>> {
    Ok(Json(service::electors(&state, &caller, id).await?.1))
}

/// The count: the four figures against their thresholds (area in square centimetres), the
/// outcome, and after closing the roll of who took part (not how, on a secret ballot).
#[utoipa::path(get, path = "/api/v1/votes/{id}/count", tag = "votes", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Count), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn count(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Count>> {
    Ok(Json(service::count(&state, &caller, id).await?))
}

/// The count as an XLSX workbook for the notice board, in the reader's language.
#[utoipa::path(get, path = "/api/v1/votes/{id}/count.xlsx", tag = "votes", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "the count as XLSX", content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn count_xlsx(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<axum::response::Response> {
    let c = service::count(&state, &caller, id).await?;
    let bytes = service::count_xlsx(&c, ctx().lang)?;
    Ok(crate::http::file_response(
        &format!("vote-{id}-count.xlsx"),
        bytes,
    ))
}
