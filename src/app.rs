//! Builds the router from every area's routes and serves it on an already-bound listener
//! until a shutdown future resolves, so tests can bind port 0 and run side by side.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

use crate::config::Config;
use crate::error::AppError;
use crate::org::auth::{CallerCache, SessionPolicy};
use crate::privacy::FieldKeys;
use crate::store::Db;

/// Request counts and latencies by route, and the database pool, for `/metrics`.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_idle: IntGauge,
    pool_busy: IntGauge,
}

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "linli_http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "linli_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )
        .expect("metric");
        let pool_idle =
            IntGauge::new("linli_db_pool_idle", "Idle database connections").expect("metric");
        let pool_busy =
            IntGauge::new("linli_db_pool_busy", "Database connections in use").expect("metric");
        for m in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_busy.clone()),
        ] {
            registry.register(m).expect("metric registers once");
        }
        Metrics {
            registry,
            requests,
            latency,
            pool_idle,
            pool_busy,
        }
    }
}

/// Everything handlers share.
pub struct AppState {
    pub db: Db,
    pub cfg: Arc<Config>,
    pub keys: FieldKeys,
    pub audit: crate::audit::Auditor,
    pub callers: CallerCache,
    pub metrics: Metrics,
    /// Login attempts per client address.
    pub login_limiter: DefaultKeyedRateLimiter<std::net::IpAddr>,
    pub started: Instant,
    /// Answers of the place-list API: the hierarchy is read-mostly configuration, so a page of
    /// it is kept for a few seconds per (scope, query). Changes to places in this process
    /// clear it at once ([`AppState::places_changed`]); changes by another process show
    /// within the time to live.
    pub places_cache: ResponseCache,
    /// Devices, rules and alerts: caches, the live stream, the engine's clock.
    pub sensing: crate::sensing::Sensing,
    /// This process's id among those sharing the database ([`crate::store::instances`]).
    pub instance: String,
}

/// A small time-limited cache of serialised answers.
pub struct ResponseCache {
    ttl: Duration,
    map: std::sync::Mutex<std::collections::HashMap<String, (Instant, bytes::Bytes)>>,
}

impl ResponseCache {
    pub fn new(ttl: Duration) -> ResponseCache {
        ResponseCache {
            ttl,
            map: Default::default(),
        }
    }
    pub fn get(&self, key: &str) -> Option<bytes::Bytes> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, b)| b.clone())
    }
    pub fn put(&self, key: String, body: bytes::Bytes) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= 2048 {
            map.clear();
        }
        map.insert(key, (Instant::now(), body));
    }
    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl AppState {
    pub fn new(
        db: Db,
        cfg: Config,
        keys: FieldKeys,
        log_key: crate::audit::LogKey,
    ) -> Arc<AppState> {
        let metrics = Metrics::new();
        let sensing = crate::sensing::Sensing::new(&metrics.registry);
        Arc::new(AppState {
            audit: crate::audit::Auditor::start(db.clone(), log_key),
            db,
            cfg: Arc::new(cfg),
            keys,
            callers: CallerCache::new(Duration::from_secs(5)),
            metrics,
            login_limiter: RateLimiter::keyed(Quota::per_minute(
                std::num::NonZeroU32::new(30).expect("non-zero"),
            )),
            started: Instant::now(),
            places_cache: ResponseCache::new(Duration::from_secs(10)),
            sensing,
            instance: crate::store::instances::new_id(),
        })
    }

    /// Call after any change to places or organisations.
    pub fn places_changed(&self) {
        self.places_cache.clear();
    }

    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle_ms: self.cfg.session_idle_minutes * 60_000,
            absolute_ms: self.cfg.session_max_hours * 3_600_000,
            token_ms: self.cfg.api_token_days * 86_400_000,
        }
    }
}

async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
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

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.db.read(|c| c.query_i64("SELECT 1", &[])).await {
        Ok(_) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
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

async fn fallback() -> AppError {
    AppError::not_found()
}

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.cfg.body_limit_bytes;
    let mut app = Router::new()
        .merge(crate::web::pages::router())
        .merge(crate::api::router())
        .merge(crate::cases::router())
        .merge(crate::sensing::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/static/app.css", get(crate::web::asset_css))
        .route("/static/app.js", get(crate::web::asset_js));
    if std::env::var("LINLI_BENCH_FLOOR").is_ok_and(|v| v == "1") {
        tracing::warn!(
            "LINLI_BENCH_FLOOR=1: POST /api/v1/bench/floor is served (benchmark comparison only)"
        );
        app = app.route(
            "/api/v1/bench/floor",
            axum::routing::post(crate::cases::http::bench_floor),
        );
    }
    app = app
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::web::auth_layer,
        ))
        .route_layer(middleware::from_fn_with_state(state.clone(), track));
    if state.cfg.tls() {
        app = app.layer(middleware::from_fn(crate::web::hsts_layer));
    }
    app.layer(middleware::from_fn(crate::web::context_layer))
        .with_state(state)
}

/// Serves until `shutdown` resolves; then stops accepting, lets requests in flight finish,
/// and closes the database.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let db = state.db.clone();
    // This process announces itself now and every beat; each beat also marks the imports of
    // processes that stopped announcing themselves interrupted.
    let beat = {
        let (db, me) = (db.clone(), state.instance.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(crate::store::instances::BEAT);
            loop {
                tick.tick().await;
                let me = me.clone();
                let r = db
                    .write(move |c| {
                        let now = crate::store::now_ms();
                        crate::store::instances::beat(c, &me, now)?;
                        crate::web::import_jobs::mark_interrupted(c, now)
                    })
                    .await;
                match r {
                    Ok(n) if n > 0 => tracing::warn!(
                        jobs = n,
                        "imports interrupted: the process running them stopped (nothing of them was written)"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "announcing this process failed"),
                }
            }
        })
    };
    // Signed tree heads every few minutes when the log has grown. The schedule needs no
    // state of its own: a head is signed only over entries no head covers yet.
    let signer = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(300));
            loop {
                tick.tick().await;
                if let Err(e) = state.audit.sign_head().await {
                    tracing::error!(error = %e, "signing an audit tree head failed");
                }
            }
        })
    };
    // Anomaly rules over the audit log every minute; the retention purge once a day. Both keep
    // their state in the database (notice keys, job_runs), so restarts neither skip nor repeat.
    let watcher = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Err(e) = state.audit.flush_index().await {
                    tracing::error!(error = %e, "flushing the audit subject index failed");
                }
                let rules = &state.cfg.anomaly;
                match crate::audit::anomaly::run(&state.db, rules, crate::store::now_ms()).await {
                    Ok(s) if s.raised > 0 => {
                        tracing::warn!(notices = s.raised, "audit anomalies found")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "the anomaly scan failed"),
                }
                let tags = state.cfg.retention_tag_days.clone();
                let today = chrono::Local::now().date_naive();
                let r = state
                    .db
                    .write(move |c| {
                        if crate::privacy::retention::due(c)? {
                            crate::privacy::retention::purge(c, &tags, today).map(Some)
                        } else {
                            Ok(None)
                        }
                    })
                    .await;
                match r {
                    Ok(Some(p)) => tracing::info!(
                        tags = p.tags,
                        sessions = p.sessions,
                        tokens = p.tokens,
                        "retention purge done"
                    ),
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "the retention purge failed"),
                }
            }
        })
    };
    let cases_jobs = crate::cases::spawn_jobs(state.clone());
    let sensing = crate::sensing::start(state.clone()).await;
    let final_head = state.clone();
    let app = router(state);
    let res = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    signer.abort();
    watcher.abort();
    cases_jobs.abort();
    beat.abort();
    sensing.iter().for_each(|t| t.abort());
    // Gone: an import this process leaves unfinished is marked interrupted at the next beat
    // of any process, without waiting for this one to go stale.
    let me = final_head.instance.clone();
    if let Err(e) = db
        .write(move |c| crate::store::instances::leave(c, &me))
        .await
    {
        tracing::warn!(error = %e, "recording that this process stops failed");
    }
    // Cover what was logged since the last head before the process ends.
    if let Err(e) = final_head.audit.sign_head().await {
        tracing::error!(error = %e, "signing the final audit tree head failed");
    }
    drop(final_head);
    let _ = tokio::task::spawn_blocking(move || db.close()).await;
    res
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled, so a signal that arrives right after "listening" is printed
/// still shuts down gracefully.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static>
{
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            tracing::info!("shutting down: finishing requests in flight");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
