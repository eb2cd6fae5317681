//! The command line: `serve`, `demo`, `migrate`, `user add`, `--version`. Every failure ends
//! with one line on stderr and a non-zero exit, never a panic or a backtrace.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::app;
use crate::audit::LogKey;
use crate::config::{Config, Overrides};
use crate::demo::{self, synth::DemoSize};
use crate::org::{Role, places, users};
use crate::state::AppState;
use crate::store::Db;
use crate::store::keys::FieldKeys;

#[derive(Parser, Debug)]
#[command(
    name = "linli",
    version,
    about = "linli (邻里): neighbourhood governance and services"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Configuration file (default: linli.toml in the data folder, if present).
    #[arg(long, global = true, env = "LINLI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data folder (database, keys) [default: ./linli-data].
    #[arg(long, global = true, env = "LINLI_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// sqlite://PATH or postgres://… [default: a SQLite file in the data folder].
    #[arg(
        long,
        global = true,
        env = "LINLI_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, global = true, env = "LINLI_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Folder of the key files, best outside the data folder [default: DATA/keys].
    #[arg(long, global = true, env = "LINLI_KEY_DIR", value_name = "DIR")]
    pub key_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web UI and the API.
    Serve,
    /// Build (or reuse) a demo street in the data folder and serve it.
    Demo(DemoArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Set up a street in an empty database: its district, the street (with the statistics
    /// division codes), its calendar and catalogue, and its first administrator, who sets her
    /// password with a one-time link.
    Init(InitArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Import records from a CSV or XLSX sheet.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export records.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Send realistic sensor readings for the demo's devices (over HTTP or MQTT).
    Simulate(SimulateArgs),
    /// The key files (field key, log signing key).
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Wrap plain key files with the passphrase in LINLI_KEY_PASSPHRASE (or the file named by
    /// LINLI_KEY_PASSPHRASE_FILE); files already wrapped are left as they are.
    Wrap,
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Readings per second in all.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Publish to this MQTT broker (mqtt://host:port) instead of posting over HTTP.
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    /// The linli server to post to.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// How many elderly people's doors stay shut (their absence rules fire).
    #[arg(long, default_value_t = 3)]
    pub shut: usize,
    /// Stop after this many seconds [default: run until interrupted].
    #[arg(long)]
    pub seconds: Option<f64>,
}

/// `30s`, `5m`, `2h` or plain seconds.
fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        _ => (s, 1),
    };
    match num.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n * mult),
        _ => Err(crate::kernel::i18n::en_zh(
            "cli.duration",
            &[("value", &format!("{s:?}"))],
        )),
    }
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The district's GB/T 2260 code (six digits), e.g. 310115.
    #[arg(long)]
    pub district_code: String,
    /// The district's name, e.g. 浦东新区.
    #[arg(long)]
    pub district_name: String,
    /// The street's statistics division code (nine or twelve digits), e.g. 310115004.
    #[arg(long)]
    pub street_code: String,
    /// The street's name, e.g. 潍坊新村街道.
    #[arg(long)]
    pub street_name: String,
    /// The first street administrator's username.
    #[arg(long)]
    pub admin: String,
    /// Her name as shown [default: the username].
    #[arg(long)]
    pub admin_name: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Persons from a sheet with the template's Chinese headers (see `GET /api/v1/imports/template.csv`).
    Persons(ImportArgs),
    /// Places: buildings and units from the office's sheet (XLSX or CSV), or grid boundaries
    /// and building footprints from GeoJSON. All or nothing.
    Places(ImportPlacesArgs),
}

#[derive(Args, Debug)]
pub struct ImportPlacesArgs {
    pub file: PathBuf,
    /// The path of the street, community or grid the file's places go under.
    #[arg(long)]
    pub scope: String,
    /// Report what would happen; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// For GeoJSON: wgs84 (default) or gcj02 (converted to WGS-84 when stored).
    #[arg(long, default_value = "wgs84")]
    pub crs: String,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    pub file: PathBuf,
    /// The place path the rows must lie under (as `GET /api/v1/places` shows it).
    #[arg(long)]
    pub scope: String,
    /// Report what would happen; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the refused rows, with a reason column, to this .xlsx file (to fix and import again).
    #[arg(long, value_name = "FILE.xlsx")]
    pub refused: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Persons under a place, masked, as CSV.
    Persons(ExportArgs),
    /// Places under a place: FILE.xlsx (the import's columns) or FILE.geojson (shapes).
    Places(ExportArgs),
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long)]
    pub scope: String,
    /// FILE.xlsx or FILE.csv
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute the tree from the stored entries and check every signed tree head, the
    /// columns stored beside each entry and the subject index ("who looked at me").
    /// Exit 0 when all holds, 1 naming what does not.
    Verify(VerifyArgs),
    /// Sign a tree head if the log has grown, and print the latest as checkpoint text.
    Checkpoint,
    /// Print an inclusion proof (--entry N [--size M]) or a consistency proof (--from A --to B).
    Prove(ProveArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Checkpoints kept outside the database (a witness's file, or one checkpoint): the log
    /// must be an extension of each (RFC 9162 consistency proof); a rollback fails.
    #[arg(long, value_name = "HEAD_FILE")]
    pub against: Option<PathBuf>,
    /// When a head does not match, find the exact entry that was changed.
    #[arg(long)]
    pub locate: bool,
}

#[derive(Args, Debug)]
pub struct ProveArgs {
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub entry: Option<u64>,
    #[arg(long, requires = "entry")]
    pub size: Option<u64>,
    #[arg(long, requires = "to")]
    pub from: Option<u64>,
    #[arg(long, requires = "from")]
    pub to: Option<u64>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Seed for deterministic data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// small (2 communities, ~2,000 residents), street (~40,000), district (~1.2 million).
    #[arg(long, default_value = "street")]
    pub size: String,
    /// Password for every demo account [default: a random one, printed].
    #[arg(long, env = "LINLI_DEMO_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Connect the demo to this MQTT broker (mqtt://host:port).
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    /// Shorten the demo's absence rules ("no door opening for 24 h") to this (e.g. 30s), so
    /// alerts show within a minute.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub absence_window: Option<i64>,
    /// Do not run the demo's light device simulation (the devices then stay silent until
    /// something reports; `demo_simulation = false` in linli.toml does the same).
    #[arg(long)]
    pub no_simulation: bool,
    /// Build the demo and exit (what `linli demo` runs in a child process, so that the
    /// server never holds the generation's memory).
    #[arg(long, hide = true)]
    pub build_only: bool,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account with one role.
    Add(UserAddArgs),
}

#[derive(Args, Debug)]
pub struct UserAddArgs {
    pub username: String,
    /// street_admin, district_admin, community_worker, grid_worker, dept_handler,
    /// property_manager, volunteer or resident.
    #[arg(long)]
    pub role: String,
    /// Place path the role applies to (as GET /api/v1/places shows it).
    #[arg(long, conflicts_with = "org")]
    pub place: Option<String>,
    /// Organisation code, for dept_handler and property_manager.
    #[arg(long)]
    pub org: Option<String>,
    /// Display name [default: the username].
    #[arg(long)]
    pub name: Option<String>,
    /// Read the password from standard input (otherwise a random one is printed).
    #[arg(long)]
    pub password_stdin: bool,
}

static RELEASE: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// An error that ends the process with one line.
struct Fail(String);

impl<E: std::fmt::Display> From<E> for Fail {
    fn from(e: E) -> Self {
        Fail(e.to_string())
    }
}

pub fn main() -> ExitCode {
    main_with(|| {})
}

/// The command line, with the binary's way to hand unused memory back to the system.
pub fn main_with(release_memory: fn()) -> ExitCode {
    RELEASE.set(release_memory).ok();
    app::wire();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    // Panics become one line too (the message, no backtrace).
    std::panic::set_hook(Box::new(|info| {
        eprintln!("linli: internal error: {info}");
    }));
    match run(cli) {
        Ok(code) => code,
        Err(Fail(msg)) => {
            eprintln!("linli: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn overrides(g: &GlobalArgs) -> Overrides {
    Overrides {
        config_file: g.config.clone(),
        data_dir: g.data.clone(),
        database_url: g.database_url.clone(),
        listen: g.listen.clone(),
        key_dir: g.key_dir.clone(),
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Loads the configuration, prepares the data folder, opens and migrates the database.
fn open(g: &GlobalArgs) -> Result<(Config, Db, FieldKeys), Fail> {
    let (cfg, db, keys, _) = open_all(g)?;
    Ok((cfg, db, keys))
}

fn open_all(g: &GlobalArgs) -> Result<(Config, Db, FieldKeys, LogKey), Fail> {
    let (cfg, warnings) = Config::load(&overrides(g))?;
    init_logging(&cfg.log);
    for w in warnings {
        tracing::warn!("{w}");
    }
    cfg.prepare_data_dir().map_err(Fail)?;
    let db = Db::open(&cfg.effective_database_url())?;
    let ran = db.migrate_blocking()?;
    if ran > 0 {
        tracing::info!(ran, backend = db.backend().as_str(), "database migrated");
        let n = db.write_blocking(crate::registry::grams::backfill_if_empty)?;
        if n > 0 {
            tracing::info!(persons = n, "name search index built");
        }
    }
    let pass = cfg.key_passphrase.as_ref().map(|s| s.expose());
    let keys = FieldKeys::load(&cfg.keys_dir(), pass)?;
    let log_key = LogKey::load(&cfg.keys_dir(), pass)?;
    if pass.is_none() && cfg.keys_dir().starts_with(&cfg.data_dir) {
        tracing::info!(
            keys = %cfg.keys_dir().display(),
            "the key files lie in the data folder unwrapped: a copy of the folder carries them \
             (see LINLI_KEY_DIR and LINLI_KEY_PASSPHRASE)"
        );
    }
    Ok((cfg, db, keys, log_key))
}

fn runtime() -> Result<tokio::runtime::Runtime, Fail> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run(cli: Cli) -> Result<ExitCode, Fail> {
    match cli.command {
        Command::Migrate => {
            let (_, db, _) = open(&cli.global)?;
            println!("database is up to date ({})", db.backend().as_str());
            db.close();
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            let (cfg, db, keys, log_key) = open_all(&cli.global)?;
            let rt = runtime()?;
            rt.block_on(serve(cfg, db, keys, log_key, None))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let size = DemoSize::parse(&args.size).ok_or_else(|| {
                Fail(format!(
                    "unknown demo size {:?}: use small, street or district",
                    args.size
                ))
            })?;
            let (mut cfg, db, keys, log_key) = open_all(&cli.global)?;
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
        Command::Audit(cmd) => {
            let (_, db, _, key) = open_all(&cli.global)?;
            let code = audit_command(&db, &key, cmd)?;
            db.close();
            Ok(code)
        }
        Command::Import(ImportCommand::Persons(a)) => {
            let (_, db, keys, _) = open_all(&cli.global)?;
            let code = import_persons(&db, &keys, a)?;
            db.close();
            Ok(code)
        }
        Command::Init(a) => {
            let (cfg, db, _) = open(&cli.global)?;
            let r = init_street(&cfg, &db, a);
            db.close();
            r
        }
        Command::Import(ImportCommand::Places(a)) => {
            let (_, db, _) = open(&cli.global)?;
            let r = import_places(&db, a);
            db.close();
            r
        }
        Command::Export(ExportCommand::Places(a)) => {
            let (_, db, _) = open(&cli.global)?;
            let r = export_places(&db, a);
            db.close();
            r
        }
        Command::Export(ExportCommand::Persons(a)) => {
            let (_, db, keys, _) = open_all(&cli.global)?;
            export_persons(&db, &keys, a)?;
            db.close();
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate(a) => {
            let (_, db, keys) = open(&cli.global)?;
            let opts = crate::sensing::simulate::SimOptions {
                rate: a.rate,
                mqtt: a.mqtt,
                url: a.url,
                shut: a.shut,
                duration: a.seconds.map(std::time::Duration::from_secs_f64),
            };
            let rt = runtime()?;
            let sent = rt
                .block_on(crate::sensing::simulate::run(db.clone(), keys, opts))
                .map_err(|e| Fail(format!("{e:#}")))?;
            println!("sent {sent} readings");
            db.close();
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys(KeysCommand::Wrap) => {
            let (cfg, warnings) = Config::load(&overrides(&cli.global))?;
            init_logging(&cfg.log);
            for w in warnings {
                tracing::warn!("{w}");
            }
            let pass = cfg
                .key_passphrase
                .clone()
                .ok_or_else(|| Fail(crate::kernel::i18n::en_zh("cli.passphrase", &[])))?;
            let dir = cfg.keys_dir();
            for name in ["field.key", "log.key"] {
                let path = dir.join(name);
                if !path.exists() {
                    println!(
                        "{}: absent (it will be created wrapped at first start)",
                        path.display()
                    );
                    continue;
                }
                let done = crate::store::keys::wrap_file(&path, pass.expose())?;
                println!(
                    "{}: {}",
                    path.display(),
                    if done { "wrapped" } else { "already wrapped" }
                );
            }
            // Both load with the passphrase, as the server will.
            FieldKeys::load(&dir, Some(pass.expose()))?;
            LogKey::load(&dir, Some(pass.expose()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Add(a)) => {
            let (_, db, _) = open(&cli.global)?;
            user_add(&db, a)?;
            db.close();
            Ok(ExitCode::SUCCESS)
        }
    }
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

async fn serve(
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

fn en(k: &str) -> Fail {
    Fail(crate::kernel::i18n::tr(crate::kernel::i18n::Lang::En, k).to_string())
}

fn init_street(cfg: &Config, db: &Db, a: InitArgs) -> Result<ExitCode, Fail> {
    use crate::setup::street::{self, AdminSpec, InitError, StreetSpec};
    let spec = StreetSpec::parse(
        &a.district_code,
        &a.district_name,
        &a.street_code,
        &a.street_name,
    )
    .map_err(en)?;
    let username = users::Username::parse(&a.admin).map_err(en)?;
    let display = crate::org::place_edit::check_name(a.admin_name.as_deref().unwrap_or(&a.admin))
        .map_err(en)?;
    let admin = AdminSpec {
        username,
        display_name: display,
        password_hash: None,
    };
    let now = crate::store::now_ms();
    let done = db
        .write_tx_blocking(|c| street::init(c, &spec, &admin, now))
        .map_err(|e| match e {
            InitError::Invalid(k) => en(k),
            InitError::AlreadySetUp { name, code } => Fail(format!(
                "this database already has a street: {name} ({code}); linli init sets up an empty one only"
            )),
            InitError::Store(crate::store::StoreError::Conflict(_)) => {
                Fail(format!("the username {:?} is taken", a.admin))
            }
            InitError::Store(e) => Fail(e.to_string()),
        })?;
    let base = cfg
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", cfg.listen));
    println!(
        "set up {} ({}) as {}",
        spec.street_name, spec.street_code, done.street_path
    );
    if let Some((token, expires)) = done.activation {
        println!(
            "the administrator {} sets her password once, by {}: {}/activate?token={token}",
            a.admin,
            crate::kernel::time::local_time(expires),
            base.trim_end_matches('/')
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn import_places(db: &Db, a: ImportPlacesArgs) -> Result<ExitCode, Fail> {
    use crate::setup::transfer::{self, Crs, Format};
    let name = a.file.display().to_string();
    let format = Format::of_file(&name)
        .ok_or_else(|| Fail(format!("{name}: use a .xlsx, .csv or .geojson file")))?;
    let crs = Crs::parse(&a.crs)
        .ok_or_else(|| Fail(format!("unknown --crs {:?}: use wgs84 or gcj02", a.crs)))?;
    let bytes = std::fs::read(&a.file).map_err(|e| Fail(format!("{name}: {e}")))?;
    let lang = crate::kernel::i18n::Lang::En;
    let report = transfer::import_blocking(db, &a.scope, format, crs, &bytes, a.dry_run, lang)
        .map_err(|e| {
            if e.status == crate::kernel::StatusCode::NOT_FOUND {
                Fail(format!("no place with path {:?}", a.scope))
            } else {
                Fail(e.message(lang))
            }
        })?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        let c = &report.created;
        println!(
            "{}: {} communities, {} grids, {} buildings, {} units new; {} updated, {} unchanged, {} refused",
            if report.applied {
                "imported"
            } else if a.dry_run {
                "dry run"
            } else {
                "refused, nothing written"
            },
            c.communities,
            c.grids,
            c.buildings,
            c.units,
            report.updated,
            report.unchanged,
            report.refused.len()
        );
        for r in &report.refused {
            match (&r.row, &r.feature) {
                (Some(n), _) => println!("  row {n}: {}", r.reason),
                (_, Some(f)) => println!("  feature {f}: {}", r.reason),
                _ => println!("  {}", r.reason),
            }
        }
        for n in &report.notes {
            println!("  note: {n}");
        }
    }
    Ok(if report.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn export_places(db: &Db, a: ExportArgs) -> Result<ExitCode, Fail> {
    use crate::setup::transfer::{self, Format};
    let name = a.out.display().to_string();
    let format = Format::of_file(&name)
        .filter(|f| *f != Format::Csv)
        .ok_or_else(|| Fail(format!("{name}: use FILE.xlsx or FILE.geojson")))?;
    let bytes = transfer::export_blocking(db, &a.scope, format, crate::kernel::i18n::Lang::Zh)
        .map_err(|e| {
            if e.status == crate::kernel::StatusCode::NOT_FOUND {
                Fail(format!("no place with path {:?}", a.scope))
            } else {
                Fail(e.message(crate::kernel::i18n::Lang::En))
            }
        })?;
    std::fs::write(&a.out, &bytes).map_err(|e| Fail(format!("{name}: {e}")))?;
    println!("wrote {name}");
    Ok(ExitCode::SUCCESS)
}

fn user_add(db: &Db, a: UserAddArgs) -> Result<(), Fail> {
    let username = users::Username::parse(&a.username)
        .map_err(|k| Fail(crate::kernel::i18n::tr(crate::kernel::i18n::Lang::En, k).to_string()))?;
    let role = Role::parse(&a.role).ok_or_else(|| Fail(format!("unknown role {:?}", a.role)))?;
    let (password, print) = if a.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (crate::org::auth::random_token("")[..16].to_string(), true)
    };
    users::check_password_policy(&password)
        .map_err(|k| Fail(crate::kernel::i18n::tr(crate::kernel::i18n::Lang::En, k).to_string()))?;
    let hash = users::hash_password(&password);
    let display = a
        .name
        .clone()
        .unwrap_or_else(|| username.as_str().to_string());
    crate::kernel::text::check_line(&display)
        .map_err(|k| Fail(crate::kernel::i18n::tr(crate::kernel::i18n::Lang::En, k).to_string()))?;
    db.write_tx_blocking(|c| -> Result<(), Fail> {
        let (place_id, org_id, street_id) = if role.needs_org() {
            let code = a
                .org
                .as_deref()
                .ok_or_else(|| Fail(format!("role {} needs --org CODE", role.as_str())))?;
            let org = places::org_by_code(c, code)?
                .ok_or_else(|| Fail(format!("no organisation with code {code:?}")))?;
            (None, Some(org.id), Some(org.street_id))
        } else {
            let path = a
                .place
                .as_deref()
                .ok_or_else(|| Fail(format!("role {} needs --place PATH", role.as_str())))?;
            let place = places::by_path(c, path)?
                .ok_or_else(|| Fail(format!("no place with path {path:?}")))?;
            if !role.place_kinds().contains(&place.kind.as_str()) {
                return Err(Fail(format!(
                    "role {} cannot be bound to a {}",
                    role.as_str(),
                    place.kind
                )));
            }
            (
                Some(place.id),
                None,
                place.street_id.or(if place.kind == "street" {
                    Some(place.id)
                } else {
                    None
                }),
            )
        };
        let id = users::create(
            c,
            users::NewUser {
                username: &username,
                display_name: &display,
                password_hash: &hash,
                street_id,
                person_id: None,
                created_by: None,
            },
        )
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => {
                Fail(format!("user {:?} already exists", username.as_str()))
            }
            e => Fail(e.to_string()),
        })?;
        users::add_grant(c, id, role, place_id, org_id, street_id, None)?;
        Ok(())
    })?;
    if print {
        println!(
            "created user {} with password: {password}",
            username.as_str()
        );
    } else {
        println!("created user {}", username.as_str());
    }
    Ok(())
}

fn audit_command(db: &Db, key: &LogKey, cmd: AuditCommand) -> Result<ExitCode, Fail> {
    use crate::audit::{self, DbNodes, merkle};
    use base64::Engine;
    let b64 = |h: &[u8]| base64::engine::general_purpose::STANDARD.encode(h);
    match cmd {
        AuditCommand::Verify(args) => {
            let t0 = std::time::Instant::now();
            let public = key.public();
            let mut opts = audit::verify::Options {
                kept: Vec::new(),
                locate: args.locate,
            };
            if let Some(path) = &args.against {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Fail(format!("cannot read {}: {e}", path.display())))?;
                opts.kept = audit::parse_checkpoints(&text)
                    .map_err(|e| Fail(format!("{}: {e}", path.display())))?;
                if opts.kept.is_empty() {
                    return Err(Fail(crate::kernel::i18n::en_zh(
                        "cli.no_checkpoint",
                        &[("path", &path.display())],
                    )));
                }
            }
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let (r, problems) = db.read_blocking(|c| {
                audit::verify::verify(c, &public, &opts, &mut |n| {
                    if tty {
                        eprint!("\rverified {n} entries");
                    }
                })
            })?;
            if tty {
                eprintln!();
            }
            if problems.is_empty() {
                let kept = if r.kept > 0 {
                    format!(", consistent with {} kept heads", r.kept)
                } else {
                    String::new()
                };
                println!(
                    "audit log OK: {} entries, {} signed tree heads, {} entries after the newest head{kept}, {} subject index rows ({:.2} s)",
                    r.entries,
                    r.heads,
                    r.unsigned,
                    r.index_rows,
                    t0.elapsed().as_secs_f64()
                );
                Ok(ExitCode::SUCCESS)
            } else {
                for problem in &problems {
                    println!("audit log FAILED: {problem}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
        AuditCommand::Checkpoint => {
            let head = db.write_blocking(|c| audit::sign_head(c, key))?;
            match head {
                Some(h) => {
                    print!("{}", h.checkpoint(&key.public()));
                    Ok(ExitCode::SUCCESS)
                }
                None => Err(Fail("the audit log is empty: nothing to sign yet".into())),
            }
        }
        AuditCommand::Prove(p) => {
            let n = db.read_blocking(audit::size)?;
            if let Some(entry) = p.entry {
                let size = match p.size {
                    Some(s) => s,
                    None => db
                        .read_blocking(audit::latest_head)?
                        .map(|h| h.size)
                        .unwrap_or(n),
                };
                if size == 0 || size > n || entry >= size {
                    return Err(Fail(format!(
                        "entry {entry} is not in a tree of size {size} (the log holds {n} entries)"
                    )));
                }
                let (leaf, root, proof) = db.read_blocking(|c| {
                    let mut nodes = DbNodes(c);
                    Ok((
                        merkle::Nodes::node(&mut nodes, 0, entry)?,
                        merkle::root(&mut nodes, size)?,
                        merkle::inclusion_proof(&mut nodes, entry, size)?,
                    ))
                })?;
                println!(
                    "inclusion proof\nentry {entry}\nsize {size}\nleaf {}\nroot {}",
                    b64(&leaf),
                    b64(&root)
                );
                for h in proof {
                    println!("{}", b64(&h));
                }
                Ok(ExitCode::SUCCESS)
            } else if let (Some(from), Some(to)) = (p.from, p.to) {
                if from == 0 || from > to || to > n {
                    return Err(Fail(format!(
                        "need 0 < --from <= --to <= {n} (the log's size)"
                    )));
                }
                let (old, new, proof) = db.read_blocking(|c| {
                    let mut nodes = DbNodes(c);
                    Ok((
                        merkle::root(&mut nodes, from)?,
                        merkle::root(&mut nodes, to)?,
                        merkle::consistency_proof(&mut nodes, from, to)?,
                    ))
                })?;
                println!(
                    "consistency proof\nfrom {from}\nto {to}\nold root {}\nnew root {}",
                    b64(&old),
                    b64(&new)
                );
                for h in proof {
                    println!("{}", b64(&h));
                }
                Ok(ExitCode::SUCCESS)
            } else {
                Err(Fail("give --entry N [--size M] or --from A --to B".into()))
            }
        }
    }
}

fn import_persons(db: &Db, keys: &FieldKeys, a: ImportArgs) -> Result<ExitCode, Fail> {
    use crate::registry::import;
    let bytes = std::fs::read(&a.file)
        .map_err(|e| Fail(format!("cannot read {}: {e}", a.file.display())))?;
    let ext = a
        .file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let xlsx = match ext.as_str() {
        "xlsx" => true,
        "csv" | "txt" => false,
        _ => {
            return Err(Fail(format!(
                "{}: only .csv and .xlsx files can be imported",
                a.file.display()
            )));
        }
    };
    let sheet = import::read(&bytes, xlsx)?;
    if db
        .read_blocking(|c| places::by_path(c, &a.scope))?
        .is_none()
    {
        return Err(Fail(format!("no place with path {:?}", a.scope)));
    }
    let quiet = a.json || sheet.rows.len() < 2000;
    let mut progress = |done: usize, total: usize| {
        if !quiet {
            eprint!("\rchecking rows: {done}/{total}");
            if done == total {
                eprintln!();
            }
        }
    };
    let who = import::Importer {
        actor: None,
        source: "import",
    };
    let report = db.write_tx_blocking(|c| -> Result<_, Fail> {
        Ok(import::import(
            c,
            keys,
            &a.scope,
            &sheet,
            a.dry_run,
            &who,
            &mut progress,
        )?)
    })?;
    let report = report?;
    if let Some(path) = &a.refused {
        let table = import::refused_table(&sheet, &report);
        let bytes = crate::registry::export::xlsx(&table, "refused").map_err(Fail)?;
        std::fs::write(path, bytes)
            .map_err(|e| Fail(format!("cannot write {}: {e}", path.display())))?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Fail(e.to_string()))?
        );
    } else {
        println!(
            "{}: {} to create, {} to update, {} unchanged, {} refused",
            if report.applied {
                "imported"
            } else {
                "dry run"
            },
            report.create,
            report.update,
            report.unchanged,
            report.refused.len()
        );
        for r in &report.refused {
            println!("  row {}: {}", r.row, r.reason);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn export_persons(db: &Db, keys: &FieldKeys, a: ExportArgs) -> Result<(), Fail> {
    let ext = a
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext != "csv" && ext != "xlsx" {
        return Err(Fail("name the file FILE.xlsx or FILE.csv".into()));
    }

    let (bytes, people) = db
        .write_blocking(|c| {
            if places::by_path(c, &a.scope)?.is_none() {
                return Ok(None);
            }
            let (rows, people) = crate::registry::export::table(c, keys, &a.scope, None, false)?;
            let bytes = if ext == "xlsx" {
                crate::registry::export::xlsx(&rows, "persons")
            } else {
                crate::registry::export::to_csv(&rows)
            }
            .map_err(crate::store::StoreError::Db)?;
            let mut e = crate::audit::NewEntry::anonymous(crate::audit::Action::Export, "cli");
            e.subjects = people.iter().map(|p| crate::audit::person(*p)).collect();
            e.purpose = Some(format!("cli export of {} (masked)", a.scope));
            crate::audit::append(c, vec![e])?;
            Ok(Some((bytes, people)))
        })?
        .ok_or_else(|| Fail(format!("no place with path {:?}", a.scope)))?;
    std::fs::write(&a.out, bytes)
        .map_err(|e| Fail(format!("cannot write {}: {e}", a.out.display())))?;
    println!(
        "exported {} persons (masked) to {}",
        people.len(),
        a.out.display()
    );
    Ok(())
}
