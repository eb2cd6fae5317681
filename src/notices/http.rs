//! The notices area's JSON API: a worker writes, publishes and withdraws notices and follows
//! up their receipts per building; a recipient lists, opens and acknowledges hers.

/// The notices area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    received,
    managed,
    create,
    open,
    publish,
    withdraw,
    acknowledge,
    buildings,
    unread,
    tell,
    upload,
    download
))]
pub struct NoticesApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/notices", get(received).post(create))
        .route("/api/v1/notices/managed", get(managed))
        .route("/api/v1/notices/{id}", get(open))
        .route("/api/v1/notices/{id}/publish", post(publish))
        .route("/api/v1/notices/{id}/withdraw", post(withdraw))
        .route("/api/v1/notices/{id}/ack", post(acknowledge))
        .route("/api/v1/notices/{id}/buildings", get(buildings))
        .route(
            "/api/v1/notices/{id}/buildings/{building}/unread",
            get(unread),
        )
        .route("/api/v1/notices/{id}/recipients/{seq}/told", post(tell))
        .route(
            "/api/v1/notices/{id}/files",
            post(upload).layer(DefaultBodyLimit::max(files::MAX_BYTES + 64 * 1024)),
        )
        .route("/api/v1/notices/{id}/files/{file}", get(download))
}

use super::files;
use super::model::{
    Audience, BuildingTotals, Draft, FileRef, Notice, Received, Told, Unread, When,
};
use super::service::{self, Opened};
use crate::http::{ApiJson, ErrorBody, Path, Query, Signed};
use crate::kernel::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// The notices the caller received (as a resident, and as a worker), newest first, with her
/// receipt of each.
#[utoipa::path(get, path = "/api/v1/notices", tag = "notices", security(("bearer" = [])),
    responses((status = 200, body = Vec<Received>), (status = 401, body = ErrorBody)))]
pub(crate) async fn received(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Received>>> {
    Ok(Json(service::received(&state, &caller).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct ManagedQuery {
    /// The page after the notice with this id (the `id` of the last one of a page).
    #[serde(default)]
    pub before: Option<i64>,
}

/// The notices the caller manages (written at her places or below), newest first, fifty at a
/// time, with their receipts' totals.
#[utoipa::path(get, path = "/api/v1/notices/managed", tag = "notices", params(ManagedQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Notice>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn managed(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ManagedQuery>,
) -> AppResult<Json<Vec<Notice>>> {
    Ok(Json(
        service::managed_list(&state, &caller, q.before).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct NoticeRequest {
    /// At most 80 characters.
    pub title: String,
    /// Plain text, at most 5,000 characters; `http(s)://` addresses are shown as links.
    pub body: String,
    pub audience: Audience,
    /// Ask recipients to acknowledge (确认收到).
    #[serde(default)]
    pub ack_wanted: bool,
    /// The deadline to acknowledge (unix ms).
    #[serde(default)]
    pub ack_by: Option<i64>,
    /// When it stops being current (unix ms; default 30 days after publication).
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// `now` (the default) or `draft`.
    #[serde(default)]
    pub publish: Option<String>,
    /// Publish at this time instead (unix ms).
    #[serde(default)]
    pub publish_at: Option<i64>,
}

/// Writes a notice: published now (its recipients frozen), kept as a draft, or scheduled. An
/// audience that reaches nobody, or outside the caller's places, is refused (422) and nothing
/// is kept.
#[utoipa::path(post, path = "/api/v1/notices", tag = "notices", request_body = NoticeRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Notice), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<NoticeRequest>,
) -> AppResult<(StatusCode, Json<Notice>)> {
    let when = match (r.publish.as_deref(), r.publish_at) {
        (_, Some(t)) => When::At(t),
        (None | Some("now"), None) => When::Now,
        (Some("draft"), None) => When::Draft,
        _ => return Err(AppError::invalid("notices.err_publish")),
    };
    let n = service::create(
        &state,
        &caller,
        Draft {
            title: r.title,
            body: r.body,
            audience: r.audience,
            ack_wanted: r.ack_wanted,
            ack_by: r.ack_by,
            expires_at: r.expires_at,
            when,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(n)))
}

/// A notice as the caller may see it.
#[derive(Serialize, ToSchema)]
#[schema(as = NoticeOpening)]
pub struct Opening {
    pub notice: Notice,
    /// When the caller is a recipient: when she opened it (now, the first time) …
    pub read_at: Option<i64>,
    /// … and acknowledged it.
    pub ack_at: Option<i64>,
    /// Whether she manages it (publish, withdraw, every building's receipts).
    pub manages: bool,
    /// The receipts per building she follows up.
    pub buildings: Option<Vec<BuildingTotals>>,
}

impl From<Opened> for Opening {
    fn from(o: Opened) -> Opening {
        Opening {
            notice: o.notice,
            read_at: o.receipt.and_then(|r| r.0),
            ack_at: o.receipt.and_then(|r| r.1),
            manages: o.manages,
            buildings: o.buildings,
        }
    }
}

/// Opens a notice. A recipient's first opening is recorded as read. 404 outside its audience
/// and its managers; 410 for a recipient of a notice withdrawn.
#[utoipa::path(get, path = "/api/v1/notices/{id}", tag = "notices", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Opening), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub(crate) async fn open(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Opening>> {
    Ok(Json(service::open(&state, &caller, id).await?.into()))
}

/// Publishes a draft or a scheduled notice now.
#[utoipa::path(post, path = "/api/v1/notices/{id}/publish", tag = "notices",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Notice), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn publish(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Notice>> {
    Ok(Json(service::publish(&state, &caller, id).await?))
}

/// Withdraws a notice: its recipients no longer see it; its receipts are kept.
#[utoipa::path(post, path = "/api/v1/notices/{id}/withdraw", tag = "notices",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Notice), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn withdraw(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Notice>> {
    Ok(Json(service::withdraw(&state, &caller, id).await?))
}

/// A recipient acknowledges a notice that asks for it (确认收到).
#[utoipa::path(post, path = "/api/v1/notices/{id}/ack", tag = "notices",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Received), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn acknowledge(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Received>> {
    Ok(Json(service::acknowledge(&state, &caller, id).await?))
}

/// A notice's receipts per building the caller follows up (all of them when she manages it).
#[utoipa::path(get, path = "/api/v1/notices/{id}/buildings", tag = "notices",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<BuildingTotals>), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn buildings(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<BuildingTotals>>> {
    Ok(Json(service::buildings(&state, &caller, id).await?))
}

/// Who in a building (0: recipients without one) has not opened a notice: the flat and the
/// name masked, whether and how she was told. Written to the audit log with the residents it
/// names.
#[utoipa::path(get, path = "/api/v1/notices/{id}/buildings/{building}/unread", tag = "notices",
    security(("bearer" = [])), params(("id" = i64, Path), ("building" = i64, Path)),
    responses((status = 200, body = Vec<Unread>), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn unread(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, building)): Path<(i64, i64)>,
) -> AppResult<Json<Vec<Unread>>> {
    Ok(Json(service::unread(&state, &caller, id, building).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = NoticeTellRequest)]
pub struct TellRequest {
    pub how: Told,
}

/// Marks a recipient who has not opened a notice as told in person or on paper (counted as
/// delivered, shown as such). 409 when she has opened it or was told already.
#[utoipa::path(post, path = "/api/v1/notices/{id}/recipients/{seq}/told", tag = "notices",
    security(("bearer" = [])), request_body = TellRequest,
    params(("id" = i64, Path), ("seq" = i64, Path)),
    responses((status = 200, body = Unread), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn tell(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, seq)): Path<(i64, i64)>,
    ApiJson(r): ApiJson<TellRequest>,
) -> AppResult<Json<Unread>> {
    Ok(Json(service::tell(&state, &caller, id, seq, r.how).await?))
}

/// Reads the `file` field of a multipart upload: its name and bytes, and the form's CSRF token.
pub async fn read_files(
    mut m: axum::extract::Multipart,
) -> AppResult<(Vec<(String, Vec<u8>)>, Vec<(String, String)>)> {
    let (mut out, mut fields) = (Vec::new(), Vec::new());
    while let Some(field) = m
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let data = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::invalid("notices.err_file_size")
            } else {
                AppError::bad_request("error.bad_form")
            }
        })?;
        match (name.as_str(), file_name) {
            ("file", Some(f)) if !data.is_empty() || !f.is_empty() => {
                if !data.is_empty() {
                    out.push((f, data.to_vec()));
                }
            }
            _ => fields.push((name, String::from_utf8_lossy(&data).to_string())),
        }
    }
    Ok((out, fields))
}

/// Attaches a PDF or a picture (multipart field `file`) to a notice not yet published: its
/// type is told by its content; at most 10 MB and five files a notice.
#[utoipa::path(post, path = "/api/v1/notices/{id}/files", tag = "notices",
    security(("bearer" = [])), params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = FileRef), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn upload(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    m: axum::extract::Multipart,
) -> AppResult<(StatusCode, Json<FileRef>)> {
    let (mut files, _) = read_files(m).await?;
    if files.len() != 1 {
        return Err(AppError::invalid("notices.err_file_empty"));
    }
    let (name, bytes) = files.remove(0);
    let f = service::attach(&state, &caller, id, &name, bytes).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// An attachment, for whoever may open the notice.
#[utoipa::path(get, path = "/api/v1/notices/{id}/files/{file}", tag = "notices",
    security(("bearer" = [])), params(("id" = i64, Path), ("file" = i64, Path)),
    responses((status = 200, description = "the file as uploaded", content((Vec<u8> = "application/pdf"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn download(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, file)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let (f, bytes) = service::file(&state, &caller, id, file).await?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&f.mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    // Shown in the browser (a PDF, a picture), named by its name; never sniffed as anything
    // else.
    let name: String = form_urlencoded::byte_serialize(f.name.as_bytes()).collect();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename*=UTF-8''{name}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}
