//! The layers every request passes: the request context and security headers (outermost),
//! HSTS behind TLS, and sign-in (a session cookie or a bearer token resolved to a `Caller`).

use crate::kernel::Code;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::kernel::{AppError, Lang, RequestCtx};
use crate::org::auth::Credential;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "linli_session";
pub const LANG_COOKIE: &str = "linli_lang";
pub const LOGIN_CSRF_COOKIE: &str = "linli_login_csrf";

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
        had_session: cookie(req.headers(), SESSION_COOKIE).is_some(),
    };
    req.extensions_mut().insert(ctx.clone());
    let mut res = crate::kernel::ctx::scope(ctx, next.run(req)).await;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-request-id", v);
    }
    // A policy set further in (one that allows a street's map tiles) is kept.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
    }
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

/// The header a cookie-signed-in API call carries its session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Whether a call signed in by the session cookie must prove it comes from linli's own pages:
/// a change (not GET, HEAD or OPTIONS) to the API whose body is not JSON. A JSON body cannot
/// be sent by another site without a CORS preflight, which linli never grants; a form, a
/// `text/plain` import, a multipart upload or an empty POST can, and the browser adds the
/// cookie. Pages' forms check the token in their fields (`check_csrf`); Bearer calls carry no
/// cookie.
fn needs_csrf_header(req: &Request) -> bool {
    use axum::http::Method;
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if !req.uri().path().starts_with("/api/") {
        return false;
    }
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let json = essence.is_some_and(|e| {
        e == "application/json" || (e.starts_with("application/") && e.ends_with("+json"))
    });
    !json
}

/// Resolves the caller from the session cookie or a Bearer token, once per request.
pub async fn auth_layer(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    // Device tokens are not user credentials: the telemetry and gate passage endpoints check
    // them themselves.
    if matches!(
        req.uri().path(),
        "/api/v1/telemetry" | "/api/v1/gates/passages"
    ) {
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
            if bearer.is_none() && needs_csrf_header(&req) {
                let sent = req
                    .headers()
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if crate::http::check_csrf(&c, sent).is_err() {
                    return AppError::new(StatusCode::FORBIDDEN, Code::Csrf, "error.csrf_header")
                        .into_response();
                }
            }
            req.extensions_mut().insert(c);
        } else if bearer.is_some() {
            // A presented but unknown or expired token is an error, not an anonymous call.
            return AppError::new(StatusCode::UNAUTHORIZED, Code::BadToken, "error.bad_token")
                .into_response();
        }
    }
    next.run(req).await
}

/// The content security policy with images also allowed from `origin` (a street's map tiles,
/// [`crate::config::tile_origin`]); otherwise the same as every page's.
pub fn policy_with_images_from(origin: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: {origin}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ))
    .ok()
}
