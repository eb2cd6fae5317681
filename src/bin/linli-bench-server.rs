//! `linli-bench-server`: the `linli` server with what `linli-bench` compares against, for
//! benchmarks only; it is never what a street runs, and the `linli` binary has none of this.
//!
//! - `LINLI_BENCH_FLOOR=1` serves `POST /api/v1/bench/floor`: the same signed-in JSON request
//!   as `POST /api/v1/cases`, read the same way, that stores one small row durably (an inbox
//!   note to the caller, through the writer and its group commit) and answers 201 with the row's
//!   id. Intake does all of this and more (checks, place, routing, deadlines, segmentation,
//!   duplicates, the case, its first event and the operations centre's notes), so it cannot be
//!   faster than this (`linli-bench cases`).
//! - `LINLI_BENCH_SKIP_AUDIT=1` writes no audit entries, to measure what an audited read costs
//!   (`linli-bench audit`).
//!
//! Everything else (commands, settings, allocator) is `linli`'s own.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use linli::cases::http::CaseRequest;
use linli::http::{ApiJson, Signed};
use linli::kernel::error::{AppError, AppResult};
use linli::state::AppState;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn floor(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<CaseRequest>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let street = caller
        .street_id
        .ok_or_else(|| AppError::invalid("case.err_no_street"))?;
    let user = caller.user_id;
    let id = state
        .db
        .write(move |c| {
            c.query_i64(
                "INSERT INTO inbox (street_id, user_id, kind, note, created_at) \
                 VALUES ($1, $2, 'bench', $3, $4) RETURNING id",
                linli::params![street, user, r.description.as_str(), linli::store::now_ms()],
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

fn on(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

fn main() -> std::process::ExitCode {
    linli::process::limit_c_arenas();
    linli::app::set_bench_hooks(linli::app::BenchHooks {
        routes: || {
            let r = axum::Router::new();
            if on("LINLI_BENCH_FLOOR") {
                eprintln!("LINLI_BENCH_FLOOR=1: POST /api/v1/bench/floor is served");
                r.route("/api/v1/bench/floor", axum::routing::post(floor))
            } else {
                r
            }
        },
        prepare: |state| {
            if on("LINLI_BENCH_SKIP_AUDIT") {
                eprintln!("LINLI_BENCH_SKIP_AUDIT=1: audit entries are NOT written");
                state.audit.set_bench_skip(true);
            }
        },
    });
    linli::cli::main_with(linli::process::release_memory)
}
