//! The registry's pages: persons and households, imports, and units, rentals, vehicles, tags
//! and figures.

mod imports;
mod people;
mod records;

use std::sync::Arc;

use axum::Router;

use crate::http::AppState;

pub use records::bars;

pub fn router() -> Router<Arc<AppState>> {
    records::router()
        .merge(people::router())
        .merge(imports::router())
}
