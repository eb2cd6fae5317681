//! The HTTP shell under every area's routes: the shared state handlers read, the layers every
//! request passes, extractors with linli's errors, and responses sent the same way everywhere.
//! It knows the foundation areas it authenticates with (`org`, `audit`, `privacy`), never the
//! others.

pub mod area;
pub mod client;
pub mod extract;
pub mod layers;
pub mod respond;

pub use crate::kernel::blank_as_none;
pub use client::ClientAddr;
pub use extract::{
    ApiForm, ApiJson, ApiJsonList, CsrfForm, MaybeSigned, NextQuery, Path, Query, Signed,
    check_csrf, safe_next,
};
pub use layers::{LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, cookie};
pub use respond::{
    Changed, Created, ErrorBody, ErrorDetail, csv_response, file_response, json_bytes, link_next,
    upload_bytes,
};
