//! What every instance answers apart from the areas: liveness, readiness, metrics, and the
//! per-route request counts and latencies behind `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
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

/// Whether this request may read the metrics: the machine itself (loopback), or a scraper with
/// the configured bearer token. Metrics name routes and volumes, not people, but they tell an
/// outsider how the street uses linli (issue 18, finding 18).
fn may_read_metrics(
    token: Option<&crate::config::Secret>,
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> bool {
    if peer.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    let Some(token) = token else {
        return false;
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    crate::kernel::ct_eq(sent.as_bytes(), token.expose().as_bytes())
}

pub(super) async fn metrics(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !may_read_metrics(state.cfg.metrics_token.as_ref(), Some(peer.ip()), &headers) {
        return AppError::not_found().into_response();
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    /// Issue 18, finding 18: `/metrics` was served to anyone without a sign-in.
    #[test]
    fn metrics_answer_loopback_or_the_token_only() {
        let outside: std::net::IpAddr = "203.0.113.9".parse().unwrap();
        let none = HeaderMap::new();
        let mut with = HeaderMap::new();
        with.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        let mut wrong = HeaderMap::new();
        wrong.insert(header::AUTHORIZATION, "Bearer guess".parse().unwrap());
        let token = Secret::new("s3cret");
        assert!(may_read_metrics(
            None,
            Some("127.0.0.1".parse().unwrap()),
            &none
        ));
        assert!(may_read_metrics(None, Some("::1".parse().unwrap()), &none));
        assert!(!may_read_metrics(None, Some(outside), &none));
        assert!(!may_read_metrics(None, Some(outside), &with));
        assert!(!may_read_metrics(Some(&token), Some(outside), &none));
        assert!(!may_read_metrics(Some(&token), Some(outside), &wrong));
        assert!(may_read_metrics(Some(&token), Some(outside), &with));
    }
}
