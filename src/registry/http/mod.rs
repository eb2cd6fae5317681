//! The registry's JSON API: persons and households with imports (`people`), and units, rentals,
//! vehicles, tags and figures (`records`).

mod people;
mod records;

use std::sync::Arc;

use axum::Router;
use utoipa::OpenApi;

use crate::state::AppState;

pub use people::{PersonsQuery, person_search};
pub use records::{
    RENTALS_PAGE, VEHICLES_PAGE, population_for, rental_people, street_admin, writer,
};

pub fn router() -> Router<Arc<AppState>> {
    records::router().merge(people::router())
}

/// The registry's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = records::RegistryApi::openapi();
    doc.merge(people::PeopleApi::openapi());
    doc
}
