//! The one HTTP error type. Domain and storage errors map to it explicitly; internal errors
//! are logged with context and never shown raw. API callers get
//! `{"error":{"code":…,"message":…}}`; page visitors get an HTML page in their language (the
//! response is made by the web shell, `web::error`, which knows the page layout).

use axum::http::StatusCode;

use super::i18n;

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
            i18n::pick(&self.key, lang)
        } else {
            i18n::tr(lang, &self.key).to_string()
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
