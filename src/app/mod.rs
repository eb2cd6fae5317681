//! The one place that knows every area: the list of areas, the shared state built with their
//! own parts, the router and OpenAPI document folded from them, their jobs, and health and
//! metrics. Only `main`, `cli` and the tests import it.

mod areas;
mod bus;
mod health;
mod jobs;
mod openapi;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;

pub use areas::areas;
pub use openapi::openapi_json;

use crate::config::Config;
use crate::kernel::AppError;
use crate::state::{AppState, AreaStates};
use crate::store::Db;
use crate::store::keys::FieldKeys;

/// Registers what one area does when another changes (run in the same transaction). Called
/// before anything is served or seeded; registering twice changes nothing.
pub fn wire() {
    crate::cases::hooks::on_close(crate::sensing::alerts::ON_CASE_CLOSED);
    crate::reach::hooks::on_answer(crate::sensing::alerts::ON_CARE_ANSWER);
    crate::privacy::own::provide(crate::cases::mine::own_section);
    // What each area keeps at a place (a retirement is refused while any remains) and its
    // copies of places' paths (rewritten when a place moves).
    crate::org::hooks::on_uses(crate::registry::placed::uses);
    crate::org::hooks::on_uses(crate::cases::placed::uses);
    crate::org::hooks::on_org_uses(crate::cases::placed::org_uses);
    crate::org::hooks::on_uses(crate::sensing::placed::uses);
    crate::org::hooks::on_repath(crate::registry::placed::repath);
    crate::org::hooks::on_repath(crate::cases::placed::repath);
    crate::org::hooks::on_repath(crate::sensing::placed::repath);
    crate::org::hooks::on_repath(crate::join::placed::repath);
    crate::org::hooks::on_repath(crate::aid::store::repath);
    crate::org::hooks::provide_people(
        crate::registry::residents::household_of,
        crate::registry::counts::counts_under,
    );
    crate::audit::anomaly::on_own_only(crate::org::users::resident_only);
    crate::join::wire();
    // A community's satisfaction survey shown beside the case ratings.
    crate::cases::hooks::on_figures(crate::surveys::satisfaction_ratings);
    // A case's steps reach those who follow it (or its area) nearby.
    crate::cases::hooks::on_step(crate::nearby::ON_CASE_STEP);
}

/// The shared state, with every area's own part.
pub fn state(db: Db, cfg: Config, keys: FieldKeys, log_key: crate::audit::LogKey) -> Arc<AppState> {
    wire();
    crate::http::area::set_measures(areas().iter().flat_map(|a| a.measures.iter()).collect());
    AppState::new(db, cfg, keys, log_key, |registry| {
        areas()
            .iter()
            .fold(AreaStates::default(), |s, a| (a.state)(s, registry))
    })
}

async fn fallback() -> AppError {
    AppError::not_found()
}

async fn openapi() -> axum::response::Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

/// What a bench build of the server adds to compare against (`src/bin/linli-bench-server.rs`):
/// routes, and a change to the state before serving. The `linli` binary sets none, so nothing a
/// benchmark needs is served by it, whatever its environment.
#[derive(Clone, Copy)]
pub struct BenchHooks {
    pub routes: fn() -> Router<Arc<AppState>>,
    pub prepare: fn(&AppState),
}

static BENCH: std::sync::OnceLock<BenchHooks> = std::sync::OnceLock::new();

/// Installs a bench build's hooks (once, before serving).
pub fn set_bench_hooks(h: BenchHooks) {
    let _ = BENCH.set(h);
}

/// Runs a bench build's change to the state, if any.
pub fn bench_prepare(state: &AppState) {
    if let Some(h) = BENCH.get() {
        (h.prepare)(state);
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.cfg.body_limit_bytes;
    let list = areas();
    crate::web::set_nav(list.iter().flat_map(|a| a.nav.iter()).collect());
    crate::web::set_cards(list.iter().map(|a| (a.name, a.cards)).collect());
    let mut app = list
        .iter()
        .fold(Router::new(), |r, a| r.merge((a.router)()))
        .merge(crate::web::router())
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics));
    if let Some(extra) = BENCH.get() {
        app = app.merge((extra.routes)());
    }
    app = app
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(crate::web::signed_error_pages))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::setup::pages::first_run_gate,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::http::layers::auth_layer,
        ))
        .route_layer(middleware::from_fn_with_state(state.clone(), health::track));
    if state.cfg.tls() {
        app = app.layer(middleware::from_fn(crate::http::layers::hsts_layer));
    }
    // A street that configured map tiles lets the pages load images from their host.
    if let Some(csp) = state
        .cfg
        .map_tile_url
        .as_deref()
        .and_then(crate::config::tile_origin)
        .and_then(|o| crate::http::layers::policy_with_images_from(&o))
    {
        app = app.layer(middleware::map_response(
            move |mut res: axum::response::Response| {
                let csp = csp.clone();
                async move {
                    res.headers_mut()
                        .insert(axum::http::header::CONTENT_SECURITY_POLICY, csp);
                    res
                }
            },
        ));
    }
    app.layer(middleware::from_fn(crate::http::layers::context_layer))
        .with_state(state)
}

/// Serves until `shutdown` resolves; then stops accepting, lets requests in flight finish,
/// and closes the database.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_wrapped(state, listener, shutdown, |r| r).await
}

/// `serve` with the router passed through `wrap` first: the integration tests put a layer
/// around it that checks every answer against the OpenAPI document.
pub async fn serve_wrapped(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    wrap: impl FnOnce(Router) -> Router,
) -> std::io::Result<()> {
    let db = state.db.clone();
    let list = areas();
    jobs::at_start(&state, &list).await;
    let mut tasks = jobs::spawn(&state, &list);
    tasks.push(beat(state.clone()));
    tasks.push(bus::spawn(state.clone()));
    let final_head = state.clone();
    let app = wrap(router(state));
    let res = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    tasks.iter().for_each(|t| t.abort());
    // Gone: an import this process leaves unfinished is marked interrupted at the next beat
    // of any process, without waiting for this one to go stale.
    // Its job leases are given up, so another process takes its jobs over at once.
    let me = final_head.instance.clone();
    if let Err(e) = db
        .write(move |c| {
            crate::store::leases::release_all(c, &me)?;
            crate::store::instances::leave(c, &me)
        })
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

/// This process announces itself now and every beat; each beat also marks the imports of
/// processes that stopped announcing themselves interrupted.
fn beat(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    let (db, me) = (state.db.clone(), state.instance.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::store::instances::BEAT);
        loop {
            tick.tick().await;
            let me = me.clone();
            let r = db
                .write(move |c| {
                    let now = crate::store::now_ms();
                    crate::store::instances::beat(c, &me, now)?;
                    crate::registry::import_jobs::mark_interrupted(c, now)
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
