//! The one HTTP error type. Domain and storage errors map to it explicitly; internal errors
//! are logged with context and never shown raw. API callers get
//! `{"error":{"code":…,"message":…}}`; page visitors get an HTML page in their language.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::store::StoreError;
use crate::web::{self, i18n};

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    /// A translation key, or a literal message when `literal` is set.
    pub key: String,
    pub literal: bool,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, key: impl Into<String>) -> AppError {
        AppError {
            status,
            code,
            key: key.into(),
            literal: false,
        }
    }
    pub fn not_found() -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", "error.not_found")
    }
    pub fn unauthenticated() -> AppError {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "error.unauthenticated",
        )
    }
    pub fn forbidden() -> AppError {
        AppError::new(StatusCode::FORBIDDEN, "forbidden", "error.forbidden")
    }
    pub fn bad_request(key: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", key)
    }
    pub fn invalid(key: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", key)
    }
    pub fn csrf() -> AppError {
        AppError::new(StatusCode::FORBIDDEN, "csrf", "error.csrf")
    }
    /// A message that is not in the catalogue (e.g. a parser's own bilingual text).
    pub fn with_message(status: StatusCode, code: &'static str, msg: String) -> AppError {
        AppError {
            status,
            code,
            key: msg,
            literal: true,
        }
    }
    pub fn internal(context: &str, err: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %err, "{context}");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "error.internal",
        )
    }

    pub fn message(&self, lang: i18n::Lang) -> String {
        if self.literal {
            self.key.clone()
        } else {
            i18n::tr(lang, &self.key).to_string()
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => {
                let key = if what.contains("username") {
                    "error.username_taken"
                } else {
                    "error.conflict"
                };
                AppError::new(StatusCode::CONFLICT, "conflict", key)
            }
            StoreError::Busy => {
                AppError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "error.busy")
            }
            e => AppError::internal("storage failed", e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let ctx = web::ctx();
        let msg = self.message(ctx.lang);
        if ctx.api {
            let body = serde_json::json!({"error": {"code": self.code, "message": msg}});
            return (self.status, Json(body)).into_response();
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let next = form_urlencoded::byte_serialize(ctx.path.as_bytes()).collect::<String>();
            return Redirect::to(&format!("/login?next={next}")).into_response();
        }
        web::pages::error_page(self.status, &msg)
    }
}

pub type AppResult<T> = Result<T, AppError>;
