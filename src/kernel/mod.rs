//! The floor under every area: the request context, translations, the one error type, typed
//! ids and time. It imports nothing from an area, `store`, `http`, `web` or `app` (the seam check
//! in `.ci/seams` fails the build otherwise), so any part of linli may use it.

pub mod ctx;
pub mod error;
pub mod i18n;
pub mod ids;
pub mod time;

/// The status an error answers with (HTTP's, as every channel maps to it).
pub use axum::http::StatusCode;
pub use ctx::{RequestCtx, ctx};
pub use error::{AppError, AppResult};
pub use i18n::{Lang, Tr};
