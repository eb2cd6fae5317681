//! Handler arguments with linli's errors: the signed-in caller, JSON and form bodies, path and
//! query parameters, and the CSRF check of forms.

use crate::kernel::Code;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, request::Parts};

use crate::kernel::{AppError, Lang, ctx};
use crate::org::Caller;
use serde::Deserialize;

/// A handler argument that requires a signed-in user (401 for the API, redirect for pages).
pub struct Signed(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Signed)
            .ok_or_else(AppError::unauthenticated)
    }
}

/// The caller if signed in.
pub struct MaybeSigned(pub Option<Caller>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeSigned {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeSigned(parts.extensions.get::<Caller>().cloned()))
    }
}

/// JSON bodies whose rejections use linli's error format (400 malformed, 413 too large,
/// 415 wrong content type). The body must be a JSON object: serde would otherwise read `[]` as
/// a struct whose fields are all absent, and a PATCH of `[]` would "succeed" with no change.
/// The few calls that take a list say so with `LIST = true` (`ApiJsonList`).
pub struct ApiJson<T, const LIST: bool = false>(pub T);

/// A JSON body that is a list (a year's calendar).
pub type ApiJsonList<T> = ApiJson<T, true>;

impl<T, S, const LIST: bool> FromRequest<S> for ApiJson<T, LIST>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|m| {
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !json_type {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::ContentType,
                "error.content_type",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rej| {
                if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::new(rej.status(), Code::TooLarge, "error.too_large")
                } else {
                    AppError::new(StatusCode::BAD_REQUEST, Code::BadJson, "error.bad_json")
                }
            })?;
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        let wanted = if LIST { b'[' } else { b'{' };
        if first.is_some_and(|b| *b != wanted) && first.is_some_and(|b| *b == b'[' || *b == b'{') {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                Code::BadJson,
                if LIST {
                    "error.json_list"
                } else {
                    "error.json_object"
                },
            ));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(json_rejection(rej)),
        }
    }
}

fn json_rejection(rej: axum::extract::rejection::JsonRejection) -> AppError {
    use axum::extract::rejection::JsonRejection as J;
    let status = rej.status();
    match rej {
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::new(status, Code::TooLarge, "error.too_large")
        }
        J::MissingJsonContentType(_) => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::ContentType,
            "error.content_type",
        ),
        J::JsonDataError(e) => AppError::with_message(
            StatusCode::BAD_REQUEST,
            Code::BadJson,
            format!(
                "{} ({})",
                crate::kernel::i18n::tr(ctx().lang, "error.bad_fields"),
                e.body_text()
            ),
        ),
        _ => AppError::new(StatusCode::BAD_REQUEST, Code::BadJson, "error.bad_json"),
    }
}

/// Form bodies with the same error handling as [`ApiJson`].
pub struct ApiForm<T>(pub T);

impl<T, S> FromRequest<S> for ApiForm<T>
where
    axum::Form<T>: FromRequest<S, Rejection = axum::extract::rejection::FormRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(ApiForm(v)),
            Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::TooLarge,
                "error.too_large",
            )),
            Err(_) => Err(AppError::bad_request("error.bad_form")),
        }
    }
}

/// Path parameters with linli's errors: a segment that does not parse (`/cases/mine` where an id
/// belongs) names nothing, so it is the not-found page or `{"error"}` body, in the caller's
/// language, instead of axum's plain English text.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(rej) if rej.status().is_server_error() => Err(AppError::internal(
                "path parameters not extracted",
                rej.body_text(),
            )),
            Err(_) => Err(AppError::not_found()),
        }
    }
}

/// Query strings with linli's errors: 400 `bad_request`, saying which parameter is wrong, in
/// the caller's language (the detail as serde gives it).
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rej) => {
                let text = rej.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                Err(AppError::with_message(
                    StatusCode::BAD_REQUEST,
                    Code::BadRequest,
                    {
                        let lang = ctx().lang;
                        let msg = crate::kernel::i18n::tr(lang, "error.bad_param");
                        let msg = msg.trim_end_matches(['.', '。']);
                        match lang {
                            Lang::Zh => format!("{msg}（{detail}）"),
                            _ => format!("{msg} ({detail})"),
                        }
                    },
                ))
            }
        }
    }
}

/// Checks a form's CSRF token against the session's (constant-time compare).
pub fn check_csrf(caller: &Caller, token: &str) -> Result<(), AppError> {
    use crate::kernel::ct_eq;
    match &caller.csrf {
        Some(expected) if ct_eq(expected.as_bytes(), token.as_bytes()) => Ok(()),
        // Bearer-token callers have no CSRF token and do not use forms.
        _ => Err(AppError::csrf()),
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// Only same-site relative targets are followed after sign-in.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}
