//! The registry's pages: persons and households, imports, and units, rentals, vehicles, tags
//! and figures.

mod imports;
mod people;
mod places;
mod records;

use std::sync::Arc;

use axum::Router;

use crate::state::AppState;

pub use records::bars;

pub fn router() -> Router<Arc<AppState>> {
    records::router()
        .merge(people::router())
        .merge(places::router())
        .merge(imports::router())
}
