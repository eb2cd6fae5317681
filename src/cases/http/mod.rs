//! The JSON API for cases under `/api/v1`, documented in the OpenAPI document.

use std::sync::Arc;

use crate::http::{Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::{self, CalendarDay};
use super::dedupe::{self, Shown};
use super::lifecycle::{self, Action, ActorRef, Step};
use super::notify::{self, InboxItem};
use super::{Case, CaseError, Category, Channel, Event, Filter, NewCase, NewCategory, Viewer};
use crate::audit::{self, NewEntry};
use crate::http::ErrorBody;
use crate::http::{ApiJson, Signed};
use crate::kernel::error::{AppError, AppResult};
use crate::org::{Caller, Role};
use crate::state::AppState;
use crate::store::now_ms;

mod catalogue;
mod figures;
mod inbox;
mod intake;
mod photos;
mod public;
mod read;
mod steps;
mod tasks;
mod webhooks;

pub use catalogue::*;
pub use figures::*;
pub use inbox::*;
pub use intake::*;
pub use photos::*;
pub use public::*;
pub use read::*;
pub use steps::*;
pub use tasks::*;
pub use webhooks::*;

/// Cases' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_categories,
    save_category,
    set_category_route,
    get_calendar,
    put_calendar,
    create_case,
    duplicates,
    list_cases,
    get_case,
    transition,
    batch_cases,
    find_places,
    org_figures,
    list_inbox,
    read_inbox,
    read_all_inbox,
    set_webhook,
    upload_photo,
    get_photo,
    reveal_case,
    similar_cases,
    support_case,
    update_case,
    approve_case_photo,
    list_case_tasks,
    add_case_task,
    add_consultation,
    step_case_task,
    my_tasks
))]
pub struct CasesApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/case-categories",
            get(list_categories).post(save_category),
        )
        .route(
            "/api/v1/case-categories/{id}/routes",
            post(set_category_route),
        )
        .route(
            "/api/v1/calendar/{year}",
            get(get_calendar).put(put_calendar),
        )
        .route("/api/v1/cases", get(list_cases).post(create_case))
        .route("/api/v1/cases/duplicates", post(duplicates))
        .route("/api/v1/cases/similar", get(similar_cases))
        .route("/api/v1/cases/{id}/supports", post(support_case))
        .route("/api/v1/cases/{id}/updates", post(update_case))
        .route(
            "/api/v1/cases/{id}/photos/{pid}/approve",
            post(approve_case_photo),
        )
        .route("/api/v1/cases/batch", post(batch_cases))
        .route("/api/v1/cases/places", get(find_places))
        .route("/api/v1/cases/figures", get(org_figures))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/transitions", post(transition))
        .route("/api/v1/cases/{id}/reveal", post(reveal_case))
        .route(
            "/api/v1/cases/{id}/tasks",
            get(list_case_tasks).post(add_case_task),
        )
        .route(
            "/api/v1/cases/{id}/tasks/{task_id}/steps",
            post(step_case_task),
        )
        .route("/api/v1/cases/{id}/consultations", post(add_consultation))
        .route("/api/v1/case-tasks", get(my_tasks))
        .route(
            "/api/v1/cases/{id}/photos",
            post(upload_photo).layer(axum::extract::DefaultBodyLimit::max(
                super::photos::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/api/v1/cases/{id}/photos/{pid}", get(get_photo))
        .route("/api/v1/inbox", get(list_inbox))
        .route("/api/v1/inbox/{id}/read", post(read_inbox))
        .route("/api/v1/inbox/read-all", post(read_all_inbox))
        .route("/api/v1/orgs/{id}/webhook", put(set_webhook))
}

/// The street a caller works in; cases always belong to one.
pub fn street_of(caller: &Caller) -> AppResult<i64> {
    caller
        .street_id
        .ok_or_else(|| AppError::invalid("case.err_no_street"))
}
