//! Responses every area sends the same way: file downloads, ready JSON bytes, uploads read from
//! a multipart field, and the error body's shape for the OpenAPI document.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::kernel::{AppError, AppResult};

/// The body of every error answer of the JSON API.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `not_found`, `bad_json`.
    pub code: crate::kernel::Code,
    /// A message for a person, in the request's language.
    pub message: String,
}

/// A download: CSV, XLSX or GeoJSON by the file name's extension.
pub fn file_response(name: &str, bytes: Vec<u8>) -> Response {
    if name.ends_with(".geojson") {
        (
            [
                (header::CONTENT_TYPE, "application/geo+json".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            bytes,
        )
            .into_response()
    } else if name.ends_with(".xlsx") {
        (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            bytes,
        )
            .into_response()
    } else {
        csv_response(name, bytes)
    }
}

pub fn csv_response(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            // Downloads carry personal data: never kept by a browser or a proxy.
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// A JSON answer already serialised (a cached one).
pub fn json_bytes(body: bytes::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
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

/// The answer to a creation: the new record's id.
#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// The answer to a change.
#[derive(Serialize, ToSchema)]
pub struct Changed {
    /// The fields that changed (none when the values were already so).
    pub changed: Vec<String>,
}

/// Adds `Link: <…&after=KEY>; rel="next"` to a page of a list read by key: the request's own
/// path and query (`uri`), its `after` and `offset` replaced by the next page's key. Nothing
/// when there is no next page.
pub fn link_next(res: &mut Response, uri: &axum::http::Uri, next: Option<&str>) {
    let Some(key) = next else { return };
    let mut qs = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if k != "after" && k != "offset" {
            qs.append_pair(&k, &v);
        }
    }
    qs.append_pair("after", key);
    let link = format!("<{}?{}>; rel=\"next\"", uri.path(), qs.finish());
    if let Ok(v) = axum::http::HeaderValue::from_str(&link) {
        res.headers_mut().insert(header::LINK, v);
    }
}
