//! The command line: parsing and dispatch. Every failure ends with one line on stderr and a
//! non-zero exit, never a panic or a backtrace. The commands' bodies are by subject:
//! `serve` (serve, demo), `setup` (init, places in and out, user add), `registry` (persons in
//! and out), `audit` (verify, checkpoint, prove), `keys` (wrap), `sensing` (simulate).

mod audit;
mod keys;
mod registry;
mod sensing;
mod serve;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app;
use crate::audit::LogKey;
use crate::config::{Config, Overrides};
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
            rt.block_on(serve::serve(cfg, db, keys, log_key, None))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => serve::demo(&cli.global, args),
        Command::Audit(cmd) => {
            let (_, db, _, key) = open_all(&cli.global)?;
            let code = audit::audit_command(&db, &key, cmd)?;
            db.close();
            Ok(code)
        }
        Command::Import(ImportCommand::Persons(a)) => {
            let (_, db, keys, _) = open_all(&cli.global)?;
            let code = registry::import_persons(&db, &keys, a)?;
            db.close();
            Ok(code)
        }
        Command::Init(a) => {
            let (cfg, db, _) = open(&cli.global)?;
            let r = setup::init_street(&cfg, &db, a);
            db.close();
            r
        }
        Command::Import(ImportCommand::Places(a)) => {
            let (_, db, _) = open(&cli.global)?;
            let r = setup::import_places(&db, a);
            db.close();
            r
        }
        Command::Export(ExportCommand::Places(a)) => {
            let (_, db, _) = open(&cli.global)?;
            let r = setup::export_places(&db, a);
            db.close();
            r
        }
        Command::Export(ExportCommand::Persons(a)) => {
            let (_, db, keys, _) = open_all(&cli.global)?;
            registry::export_persons(&db, &keys, a)?;
            db.close();
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate(a) => sensing::simulate(&cli.global, a),
        Command::Keys(KeysCommand::Wrap) => keys::wrap(&cli.global),
        Command::User(UserCommand::Add(a)) => {
            let (_, db, _) = open(&cli.global)?;
            setup::user_add(&db, a)?;
            db.close();
            Ok(ExitCode::SUCCESS)
        }
    }
}
