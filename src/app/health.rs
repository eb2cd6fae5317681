//! What every instance answers apart from the areas: liveness, readiness, metrics, and the
//! per-route request counts and latencies behind `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::Encoder;

use crate::kernel::AppError;
use crate::state::AppState;

pub(super) async fn track(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let t0 = Instant::now();
    let res = next.run(req).await;
    let m = &state.metrics;
    m.latency
        .with_label_values(&[route.as_str()])
        .observe(t0.elapsed().as_secs_f64());
    m.requests
        .with_label_values(&[route.as_str(), method.as_str(), res.status().as_str()])
        .inc();
    res
}

pub(super) async fn healthz() -> &'static str {
    "ok"
}

pub(super) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.db.read(|c| c.query_i64("SELECT 1", &[])).await {
        Ok(_) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let (idle, busy) = state.db.pool_stats();
    state.metrics.pool_idle.set(idle as i64);
    state.metrics.pool_busy.set(busy as i64);
    let mut buf = Vec::new();
    if let Err(e) =
        prometheus::TextEncoder::new().encode(&state.metrics.registry.gather(), &mut buf)
    {
        return AppError::internal("encoding metrics", e).into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], buf).into_response()
}
