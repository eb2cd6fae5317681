//! What every service and handler shares: the database, configuration, keys, the audit writer,
//! the callers' cache, metrics, and each area's own state by type. `app` builds it; areas'
//! services take it (a use case reads and writes through it), and so do their handlers.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

use crate::config::Config;
use crate::org::auth::{CallerCache, SessionPolicy};
use crate::store::Db;
use crate::store::keys::FieldKeys;

/// Each area's own state, keyed by its type.
#[derive(Default)]
pub struct AreaStates(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl AreaStates {
    pub fn with<T: Any + Send + Sync>(mut self, v: T) -> AreaStates {
        self.0.insert(TypeId::of::<T>(), Box::new(v));
        self
    }
}

/// Request counts and latencies by route, and the database pool, for `/metrics`.
pub struct Metrics {
    pub registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub pool_idle: IntGauge,
    pub pool_busy: IntGauge,
}

impl Metrics {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Metrics {
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
    /// What stands in front of password checks: rates per client and per account, the cost
    /// per client and account ([`crate::org::login`]).
    pub login: crate::org::login::Guard,
    pub started: Instant,
    /// Answers of the place-list API: the hierarchy is read-mostly configuration, so a page of
    /// it is kept for a few seconds per (scope, query). Changes to places in this process
    /// clear it at once ([`AppState::places_changed`]); changes by another process show
    /// within the time to live.
    pub places_cache: ResponseCache,
    /// Each area's own shared state (sensing's caches, live stream and clock, …), by type:
    /// [`AppState::area`].
    areas: AreaStates,
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
    /// The shared state; `areas` makes each area's own state, given the metrics registry
    /// (the list of areas is `app`'s; this layer does not know them).
    pub fn new(
        db: Db,
        cfg: Config,
        keys: FieldKeys,
        log_key: crate::audit::LogKey,
        areas: impl FnOnce(&Registry) -> AreaStates,
    ) -> Arc<AppState> {
        let metrics = Metrics::new();
        let areas = areas(&metrics.registry);
        let login = crate::org::login::Guard::new(crate::org::login::Limits {
            per_minute: cfg.login_per_minute,
            account_per_minute: cfg.login_account_per_minute,
            max_failures: cfg.login_max_failures,
            account_max_failures: cfg.login_account_max_failures,
            lockout_minutes: cfg.login_lockout_minutes,
        });
        Arc::new(AppState {
            audit: crate::audit::Auditor::start(db.clone(), log_key),
            db,
            cfg: Arc::new(cfg),
            keys,
            callers: CallerCache::new(Duration::from_secs(5)),
            metrics,
            login,
            started: Instant::now(),
            places_cache: ResponseCache::new(Duration::from_secs(10)),
            areas,
            instance: crate::store::instances::new_id(),
        })
    }

    /// The state an area registered at start (see `app::areas`).
    pub fn area<T: Any + Send + Sync>(&self) -> &T {
        self.areas
            .0
            .get(&TypeId::of::<T>())
            .and_then(|b| b.downcast_ref::<T>())
            .unwrap_or_else(|| panic!("no area state of type {}", std::any::type_name::<T>()))
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
