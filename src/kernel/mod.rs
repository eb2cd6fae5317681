//! The floor under every area: the request context, translations, the one error type, typed
//! ids and time. It imports nothing from an area, `store`, `http`, `web` or `app` (the seam check
//! in `.ci/seams` fails the build otherwise), so any part of linli may use it.

pub mod ctx;
pub mod error;
pub mod i18n;
pub mod ids;
pub mod text;
pub mod time;

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

/// The status an error answers with (HTTP's, as every channel maps to it).
pub use axum::http::StatusCode;
pub use ctx::{RequestCtx, ctx};
pub use error::{AppError, AppResult, Code};

/// Compares two secrets (a CSRF token, a metrics token) in time that does not depend on where
/// they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
pub use i18n::{Lang, Tr};
