//! The one HTTP error type. Domain and storage errors map to it explicitly; internal errors
//! are logged with context and never shown raw. API callers get
//! `{"error":{"code":…,"message":…}}`; page visitors get an HTML page in their language (the
//! response is made by the web shell, `web::error`, which knows the page layout).

use axum::http::StatusCode;

use super::i18n;

/// The stable machine-readable code of an API error (`error.code`). A client may branch on it;
/// the message beside it is for a person, in the request's language.
///
/// | code | status | meaning |
/// | --- | --- | --- |
/// | `bad_request` | 400 | a parameter does not parse |
/// | `bad_json` | 400 | the JSON body does not parse, is not an object, or a field has the wrong type |
/// | `content_type` | 415 | the body's content type is not the one this call takes |
/// | `too_large` | 413 | the body is above the size limit |
/// | `unreadable` | 400 | an uploaded spreadsheet cannot be read |
/// | `no_header` | 400 | an import has no header row linli recognises |
/// | `invalid` | 422 | a value is well-formed but not allowed (the message says which) |
/// | `malformed`, `bad_key`, `bad_ts`, `bad_value`, `too_many` | 400 | a device's readings are refused (shape, key, time, value, count) |
/// | `unauthenticated` | 401 | sign in first |
/// | `bad_credentials` | 401 | the user name or password is not accepted (the same answer for every reason) |
/// | `bad_token` | 401 | the session or device token is unknown or expired |
/// | `no_token` | 401 | a device call without its token |
/// | `csrf` | 403 | a cookie-signed call without the CSRF token |
/// | `forbidden` | 403 | the caller's role or scope does not allow this |
/// | `vouched` | 403 | an approver who created or granted the requester's account may not approve |
/// | `not_approved` | 403 | an export that is not (yet) approved |
/// | `inactive_device` | 403 | the device is deactivated |
/// | `not_found` | 404 | nothing with this id in the caller's scope (or at all: the answer is the same) |
/// | `no_record` | 404 | the account is not linked to a person in the registry |
/// | `no_value` | 404 | the record has no value of the field asked for |
/// | `gone` | 410 | a temporary result (an import's refused rows) has expired |
/// | `conflict` | 409 | a unique value is already taken, or a change needs `confirm` |
/// | `state_conflict` | 409 | the case's state does not allow this step now |
/// | `decided` | 409 | the request was already approved or refused |
/// | `rate_limited` | 429 | too many attempts; wait a minute |
/// | `busy` | 503 | the database is busy; try again |
/// | `internal` | 500 | linli failed; the error is logged with the request's id |
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ErrorCode)]
pub enum Code {
    BadRequest,
    BadJson,
    ContentType,
    TooLarge,
    Unreadable,
    NoHeader,
    Invalid,
    Malformed,
    BadKey,
    BadTs,
    BadValue,
    TooMany,
    Unauthenticated,
    BadCredentials,
    /// A second factor is due: missing, wrong, or not yet enrolled.
    SecondFactor,
    BadToken,
    NoToken,
    Csrf,
    Forbidden,
    Vouched,
    NotApproved,
    InactiveDevice,
    NotFound,
    NoRecord,
    NoValue,
    Gone,
    Conflict,
    StateConflict,
    Decided,
    RateLimited,
    Busy,
    Internal,
}

impl Code {
    /// The code as sent, for metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "bad_request",
            Code::BadJson => "bad_json",
            Code::ContentType => "content_type",
            Code::TooLarge => "too_large",
            Code::Unreadable => "unreadable",
            Code::NoHeader => "no_header",
            Code::Invalid => "invalid",
            Code::Malformed => "malformed",
            Code::BadKey => "bad_key",
            Code::BadTs => "bad_ts",
            Code::BadValue => "bad_value",
            Code::TooMany => "too_many",
            Code::Unauthenticated => "unauthenticated",
            Code::BadCredentials => "bad_credentials",
            Code::SecondFactor => "second_factor",
            Code::BadToken => "bad_token",
            Code::NoToken => "no_token",
            Code::Csrf => "csrf",
            Code::Forbidden => "forbidden",
            Code::Vouched => "vouched",
            Code::NotApproved => "not_approved",
            Code::InactiveDevice => "inactive_device",
            Code::NotFound => "not_found",
            Code::NoRecord => "no_record",
            Code::NoValue => "no_value",
            Code::Gone => "gone",
            Code::Conflict => "conflict",
            Code::StateConflict => "state_conflict",
            Code::Decided => "decided",
            Code::RateLimited => "rate_limited",
            Code::Busy => "busy",
            Code::Internal => "internal",
        }
    }
}

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: Code,
    /// A translation key, or a literal message when `literal` is set.
    pub key: String,
    pub literal: bool,
}

impl AppError {
    pub fn new(status: StatusCode, code: Code, key: impl Into<String>) -> AppError {
        AppError {
            status,
            code,
            key: key.into(),
            literal: false,
        }
    }
    pub fn not_found() -> AppError {
        AppError::new(StatusCode::NOT_FOUND, Code::NotFound, "error.not_found")
    }
    pub fn unauthenticated() -> AppError {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            "error.unauthenticated",
        )
    }
    pub fn forbidden() -> AppError {
        AppError::new(StatusCode::FORBIDDEN, Code::Forbidden, "error.forbidden")
    }
    pub fn bad_request(key: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, Code::BadRequest, key)
    }
    pub fn invalid(key: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, Code::Invalid, key)
    }
    pub fn csrf() -> AppError {
        AppError::new(StatusCode::FORBIDDEN, Code::Csrf, "error.csrf")
    }
    /// A message that is not in the catalogue (e.g. a parser's own bilingual text).
    pub fn with_message(status: StatusCode, code: Code, msg: String) -> AppError {
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
            Code::Internal,
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
