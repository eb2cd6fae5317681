//! The web shell: per-request context (language, request id), security headers, sign-in
//! extractors, static assets compiled into the binary, pages and the map renderer.

pub mod i18n;
pub mod import_jobs;
pub mod map;
pub mod pages;
pub mod records;

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::AppError;
use crate::org::Caller;
use crate::org::auth::Credential;
use i18n::Lang;

pub const SESSION_COOKIE: &str = "linli_session";
pub const LANG_COOKIE: &str = "linli_lang";
pub const LOGIN_CSRF_COOKIE: &str = "linli_login_csrf";

/// What every part of a request's handling may ask: language, whether it is an API call.
#[derive(Clone, Debug, Default)]
pub struct RequestCtx {
    pub lang: Lang,
    pub api: bool,
    pub path: String,
    pub request_id: String,
}

tokio::task_local! {
    static CTX: RequestCtx;
}

/// The current request's context (defaults outside a request).
pub fn ctx() -> RequestCtx {
    CTX.try_with(|c| c.clone()).unwrap_or_default()
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// Outermost layer: sets the request context, a request id, and the security headers.
pub async fn context_layer(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let api = path.starts_with("/api/") || path.starts_with("/open311/");
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| crate::org::auth::random_token("")[..16].to_string());
    let ctx = RequestCtx {
        lang: lang_of(req.headers()),
        api,
        path: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or(path),
        request_id: request_id.clone(),
    };
    req.extensions_mut().insert(ctx.clone());
    let mut res = CTX.scope(ctx, next.run(req)).await;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-request-id", v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    if is_html && !h.contains_key(header::CACHE_CONTROL) {
        // Pages and API answers may carry personal data: never keep them in a cache.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Sets HSTS when linli is served over TLS (behind a proxy named by `public_url`).
pub async fn hsts_layer(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    res
}

/// Resolves the caller from the session cookie or a Bearer token, once per request.
pub async fn auth_layer(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    // Device tokens are not user credentials: the telemetry endpoint checks them itself.
    if req.uri().path() == "/api/v1/telemetry" {
        return next.run(req).await;
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_string());
    let session = cookie(req.headers(), SESSION_COOKIE).map(str::to_string);
    let (cred_key, cred) = match (&bearer, &session) {
        (Some(b), _) => (format!("b:{b}"), Some(Credential::Bearer(b))),
        (None, Some(s)) => (format!("s:{s}"), Some(Credential::Session(s))),
        _ => (String::new(), None),
    };
    if let Some(cred) = cred {
        let key = crate::org::auth::token_hash(&cred_key);
        let caller = match state.callers.get(&key) {
            Some(c) => Some(c),
            None => {
                let owned = match cred {
                    Credential::Bearer(b) => (true, b.to_string()),
                    Credential::Session(s) => (false, s.to_string()),
                };
                let policy = state.session_policy();
                let r = state
                    .db
                    .read(move |c| {
                        let cred = if owned.0 {
                            Credential::Bearer(&owned.1)
                        } else {
                            Credential::Session(&owned.1)
                        };
                        crate::org::auth::resolve(c, cred, &policy)
                    })
                    .await;
                let r = match r {
                    Ok((caller, touch)) if touch != crate::org::auth::Touch::Nothing => state
                        .db
                        .write(move |c| crate::org::auth::apply_touch(c, &touch))
                        .await
                        .map(|_| caller),
                    Ok((caller, _)) => Ok(caller),
                    Err(e) => Err(e),
                };
                match r {
                    Ok(Some(c)) => {
                        state.callers.put(key, c.clone());
                        Some(c)
                    }
                    Ok(None) => None,
                    Err(e) => return AppError::from(e).into_response(),
                }
            }
        };
        if let Some(c) = caller {
            req.extensions_mut().insert(c);
        } else if bearer.is_some() {
            // A presented but unknown or expired token is an error, not an anonymous call.
            return AppError::new(StatusCode::UNAUTHORIZED, "bad_token", "error.bad_token")
                .into_response();
        }
    }
    next.run(req).await
}

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
/// 415 wrong content type).
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
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
            AppError::new(status, "too_large", "error.too_large")
        }
        J::MissingJsonContentType(_) => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            "error.content_type",
        ),
        J::JsonDataError(e) => AppError::with_message(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!(
                "{} ({})",
                i18n::tr(ctx().lang, "error.bad_fields"),
                e.body_text()
            ),
        ),
        _ => AppError::new(StatusCode::BAD_REQUEST, "bad_json", "error.bad_json"),
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
                "too_large",
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
                    "bad_request",
                    {
                        let lang = ctx().lang;
                        let msg = i18n::tr(lang, "error.bad_param");
                        let msg = msg.trim_end_matches(['.', '。']);
                        match lang {
                            i18n::Lang::Zh => format!("{msg}（{detail}）"),
                            _ => format!("{msg} ({detail})"),
                        }
                    },
                ))
            }
        }
    }
}

/// For `#[serde(deserialize_with)]` on a number in a query string or form: a blank value (what
/// a browser sends for an empty field of a GET form) means "not given"; anything else must parse.
pub fn blank_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    use serde::Deserialize;
    match Option::<String>::deserialize(d)?.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Checks a form's CSRF token against the session's (constant-time compare).
pub fn check_csrf(caller: &Caller, token: &str) -> Result<(), AppError> {
    use subtle_eq::ct_eq;
    match &caller.csrf {
        Some(expected) if ct_eq(expected.as_bytes(), token.as_bytes()) => Ok(()),
        // Bearer-token callers have no CSRF token and do not use forms.
        _ => Err(AppError::csrf()),
    }
}

mod subtle_eq {
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

pub const APP_CSS: &str = include_str!("../../static/app.css");
pub const APP_JS: &str = include_str!("../../static/app.js");

pub async fn asset_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
}

pub async fn asset_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_JS,
    )
}

/// Escapes text for HTML and SVG built outside templates.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
