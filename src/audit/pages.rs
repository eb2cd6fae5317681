//! The anomaly notices on the administrator's home: marking one read.

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/security-notices/{id}/read", post(notice_read))
}

use crate::http::CsrfForm;
use crate::http::Path;
use crate::http::{ApiForm, Signed, check_csrf};
use crate::kernel::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use std::sync::Arc;

pub(crate) async fn notice_read(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let streets = caller.notice_streets().ok_or_else(AppError::forbidden)?;
    crate::audit::anomaly::mark_read(&state.db, streets, id).await?;
    Ok(Redirect::to("/").into_response())
}
