//! `linli serve` and `linli demo`: the server, with or without the demo street.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use super::{DemoArgs, Fail, GlobalArgs, RELEASE, open_all, runtime};
use crate::app;
use crate::audit::LogKey;
use crate::config::Config;
use crate::demo::{self, synth::DemoSize};
use crate::org::users;
use crate::state::AppState;
use crate::store::Db;
use crate::store::keys::FieldKeys;

/// `linli demo`: builds (or reuses) the demo street, then serves it.
pub(super) fn demo(global: &GlobalArgs, args: DemoArgs) -> Result<ExitCode, Fail> {
    let size = DemoSize::parse(&args.size).ok_or_else(|| {
        Fail(format!(
            "unknown demo size {:?}: use small, street or district",
            args.size
        ))
    })?;
    let (mut cfg, db, keys, log_key) = open_all(global)?;
    if let Some(url) = args.mqtt {
        crate::sensing::mqtt::Options::parse(&url).map_err(Fail)?;
        cfg.mqtt_url = Some(url);
    }
    if args.no_simulation {
        cfg.demo_simulation = Some(false);
    } else if cfg.demo_simulation.is_none() {
        cfg.demo_simulation = Some(true);
    }
    let password = match args.password {
        Some(p) => {
            users::check_password_policy(&p).map_err(|k| {
                Fail(format!(
                    "the demo password is refused: {}",
                    crate::kernel::i18n::tr(crate::kernel::i18n::Lang::En, k)
                ))
            })?;
            p
        }
        None => crate::org::auth::random_token("")[..16].to_string(),
    };
    let t0 = std::time::Instant::now();
    // A new demo is generated in a child process: generation allocates hundreds of
    // megabytes that an allocator keeps in part once freed, and the server should not
    // start with them. The server then reuses what the child built.
    let built_by_child =
        !args.build_only && demo::needs_building(&db)? && build_demo_in_child(&password)?;
    let today = crate::kernel::time::today();
    let quiet = size.streets() == 1;
    let summary = demo::build(
        &db,
        &keys,
        size,
        args.seed,
        &password,
        today,
        &|done, total| {
            if !quiet {
                eprint!("\rbuilding demo: street {done}/{total}");
                if done == total {
                    eprintln!();
                }
            }
        },
    )?;
    if args.build_only {
        db.close();
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(secs) = args.absence_window {
        let n = db.write_blocking(|c| crate::sensing::demo::set_absence_window(c, secs))?;
        tracing::info!(rules = n, seconds = secs, "demo absence rules shortened");
    }
    // Generated in this process after all (no child could run): generation leaves
    // freed memory with the allocator and full page caches in SQLite; give both back
    // before serving.
    if summary.created {
        db.write_blocking(|c| c.exec("PRAGMA shrink_memory", &[]).map(|_| ()))?;
        if let Some(release) = RELEASE.get() {
            release();
        }
    }
    tracing::info!(
        created = summary.created || built_by_child,
        streets = summary.streets,
        persons = summary.persons,
        seconds = t0.elapsed().as_secs_f64(),
        "demo ready"
    );
    let rt = runtime()?;
    rt.block_on(serve(cfg, db, keys, log_key, Some((summary, password))))?;
    Ok(ExitCode::SUCCESS)
}

/// Runs this program again as `… demo --build-only` with the same arguments and the demo
/// password, and waits for it; says whether it built the demo. When the program cannot be
/// started again (it was replaced or deleted meanwhile), the demo is built in this process.
fn build_demo_in_child(password: &str) -> Result<bool, Fail> {
    let Ok(exe) = std::env::current_exe() else {
        tracing::warn!("cannot find this program again; building the demo in this process");
        return Ok(false);
    };
    let status = std::process::Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .arg("--build-only")
        .env("LINLI_DEMO_PASSWORD", password)
        .status();
    match status {
        Ok(s) if s.success() => Ok(true),
        Ok(s) => Err(Fail(format!(
            "building the demo failed ({s}); see the messages above"
        ))),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start {}; building the demo in this process", exe.display());
            Ok(false)
        }
    }
}

pub(super) async fn serve(
    cfg: Config,
    db: Db,
    keys: FieldKeys,
    log_key: LogKey,
    demo: Option<(demo::DemoSummary, String)>,
) -> Result<(), Fail> {
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| Fail(format!("cannot listen on {}: {e}", cfg.listen)))?;
    let addr = listener.local_addr()?;
    let shutdown = app::shutdown_signal()?;
    let state: Arc<AppState> = app::state(db, cfg, keys, log_key);
    app::bench_prepare(&state);
    // An empty database: no street to serve yet. Every page leads to the first-run page,
    // which asks for this code, so only whoever reads this console can claim the server.
    let empty = state
        .db
        .read(crate::setup::street::is_empty)
        .await
        .map_err(|e| Fail(e.to_string()))?;
    if demo.is_some() {
        // Trends to look at on the demo's cockpit.
        if let Err(e) = crate::cockpit::demo::history(&state).await {
            tracing::error!(error = %e, "demo: cockpit history");
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "linli listening on http://{addr}")?;
    if empty {
        let code = crate::setup::pages::arm_first_run(&state);
        writeln!(
            out,
            "this database has no street yet. Open http://{addr}/setup?code={code} to set it up \
             (first-run code: {code}), or stop linli and run `linli init --help`."
        )?;
    }
    if let Some((summary, password)) = demo {
        writeln!(
            out,
            "demo data: {} streets, {} residents; accounts (password: {password}):",
            summary.streets, summary.persons
        )?;
        writeln!(
            out,
            "  {:<10} {:<18} {:<8} scope",
            "username", "role", "name"
        )?;
        for a in &summary.accounts {
            writeln!(
                out,
                "  {:<10} {:<18} {:<8} {}",
                a.username, a.role, a.display_name, a.scope
            )?;
        }
        if let Some(key) = &summary.open311_key {
            writeln!(out, "open311 api_key: {key}")?;
        }
    }
    out.flush()?;
    drop(out);
    app::serve(state, listener, shutdown).await?;
    Ok(())
}
