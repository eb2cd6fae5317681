//! Settings in layers: defaults → `linli.toml` (in the data folder, or `--config FILE`) →
//! `LINLI_*` environment variables → command-line flags. Secrets are wrapped so that `Debug`
//! and logs never show them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::kernel::i18n::en_zh;

/// A value that must never be printed: `Debug` shows only that it is set.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("Secret(<unset>)")
        } else {
            f.write_str("Secret(***)")
        }
    }
}

/// The settings linli runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; may carry a password, hence a [`Secret`].
    pub database_url: Secret,
    pub listen: String,
    /// Public address when linli sits behind a TLS proxy (`https://…` turns on Secure cookies
    /// and HSTS).
    pub public_url: Option<String>,
    pub session_idle_minutes: i64,
    pub session_max_hours: i64,
    pub api_token_days: i64,
    pub body_limit_bytes: usize,
    /// Failed sign-ins from one client address on one account before that address is refused
    /// for that account (for `login_lockout_minutes`).
    pub login_max_failures: i64,
    /// Failed sign-ins on one account, from anywhere, before the account is locked.
    pub login_account_max_failures: i64,
    pub login_lockout_minutes: i64,
    /// Sign-in attempts a minute from one client address (an IPv6 /64).
    pub login_per_minute: u32,
    /// Sign-in attempts a minute on one account name.
    pub login_account_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers name the client (none
    /// by default: the TCP peer is the client).
    pub trusted_proxies: crate::http::client::Proxies,
    /// The passphrase (or environment secret) that wraps the key files ([`crate::store::keys`]).
    pub key_passphrase: Option<Secret>,
    pub log: String,
    /// Days after a tag's end before it is deleted, per tag (`[retention]` in linli.toml).
    pub retention_tag_days: Vec<(String, i64)>,
    /// The audit-log anomaly rules.
    pub anomaly: crate::audit::anomaly::Rules,
    /// Exports of more records than this need an approval one level up (分级审批).
    pub export_max_records: i64,
    /// How long an approved export can be downloaded.
    pub export_valid_hours: i64,
    /// Where the field key and the log signing key live [default: DATA/keys].
    pub keys_dir: Option<PathBuf>,
    /// The MQTT broker to ingest from, `mqtt://[user:pass@]host[:port][?client_id=…&topic_root=…]`.
    pub mqtt_url: Option<String>,
    /// Days raw sensor readings are kept (hourly aggregates outlive them); 0 keeps forever.
    pub sensing_raw_days: i64,
    /// Days hourly aggregates are kept; 0 keeps forever.
    pub sensing_hourly_days: i64,
    /// Addresses webhooks may reach although they are loopback, private or link-local (none by
    /// default): `webhook_allow = ["192.168.10.5", "10.1.0.0/16", "gateway.lan"]`.
    pub webhook_allow: crate::cases::notify::AllowList,
    /// `/metrics` answers the machine itself (loopback) and, when set, a scraper that sends
    /// `Authorization: Bearer <metrics_token>`; anyone else gets 404.
    pub metrics_token: Option<Secret>,
    /// Where each signed tree head is published outside the database (`audit_witness_file`,
    /// `audit_witness_url`): a rollback of the database cannot take back what a witness holds.
    pub audit_witness: crate::audit::witness::Witnesses,
    /// The demo's light simulation of its devices (a background job producing door, water,
    /// smoke and elevator readings through the normal ingestion path): on for `linli demo`
    /// unless set to false here (`demo_simulation = false`) or with `--no-simulation`; off for
    /// `linli serve` unless set to true, and never on a database that is not a demo.
    pub demo_simulation: Option<bool>,
    /// The street's time zone, an IANA name (`time_zone = "Asia/Shanghai"`, the default):
    /// every time shown or judged — working hours, "today", an access log line — is read in it,
    /// never in the server's own zone.
    pub time_zone: chrono_tz::Tz,
    /// A background tile layer for the street's map (`map_tile_url =
    /// "https://tiles.example.cn/{z}/{x}/{y}.png"`, with `map_tile_attribution`, the credit its
    /// provider requires): off by default, when the map draws only the street's own layers.
    pub map_tile_url: Option<String>,
    pub map_tile_attribution: String,
    /// Subscribe to the broker's topics as the shared subscription `$share/linli/…` (MQTT 5's,
    /// which Mosquitto and EMQX also offer to 3.1.1 clients), so that when several linli
    /// processes share a database each reading is delivered to one of them only
    /// (`mqtt_shared = true`, `LINLI_MQTT_SHARED=1`). Off by default: one process.
    pub mqtt_shared: bool,
    /// How long a process's lease on a job that runs in one process at a time lasts unless
    /// renewed (`app::jobs`): another process takes the job over this long after the holder
    /// died, at most. Renewed every third of it.
    pub job_lease_seconds: u64,
}

/// Values given on the command line (or by `LINLI_*` variables through clap's `env`).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub key_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    data: Option<PathBuf>,
    database_url: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    session_idle_minutes: Option<i64>,
    session_max_hours: Option<i64>,
    api_token_days: Option<i64>,
    body_limit_kb: Option<usize>,
    login_max_failures: Option<i64>,
    login_account_max_failures: Option<i64>,
    login_lockout_minutes: Option<i64>,
    login_per_minute: Option<u32>,
    login_account_per_minute: Option<u32>,
    trusted_proxies: Option<Vec<String>>,
    key_dir: Option<PathBuf>,
    log: Option<String>,
    retention: Option<std::collections::BTreeMap<String, i64>>,
    anomaly_people_per_hour: Option<i64>,
    anomaly_denied_per_hour: Option<i64>,
    work_hours: Option<String>,
    export_max_records: Option<i64>,
    export_valid_hours: Option<i64>,
    keys_dir: Option<PathBuf>,
    mqtt_url: Option<String>,
    sensing_raw_days: Option<i64>,
    sensing_hourly_days: Option<i64>,
    webhook_allow: Option<Vec<String>>,
    metrics_token: Option<String>,
    audit_witness_file: Option<PathBuf>,
    audit_witness_url: Option<String>,
    demo_simulation: Option<bool>,
    time_zone: Option<String>,
    map_tile_url: Option<String>,
    map_tile_attribution: Option<String>,
    mqtt_shared: Option<bool>,
    job_lease_seconds: Option<u64>,
}

const KNOWN_KEYS: &[&str] = &[
    "data",
    "database_url",
    "listen",
    "public_url",
    "session_idle_minutes",
    "session_max_hours",
    "api_token_days",
    "body_limit_kb",
    "login_max_failures",
    "login_account_max_failures",
    "login_lockout_minutes",
    "login_per_minute",
    "login_account_per_minute",
    "trusted_proxies",
    "key_dir",
    "log",
    "retention",
    "anomaly_people_per_hour",
    "anomaly_denied_per_hour",
    "work_hours",
    "export_max_records",
    "export_valid_hours",
    "keys_dir",
    "mqtt_url",
    "sensing_raw_days",
    "sensing_hourly_days",
    "webhook_allow",
    "metrics_token",
    "audit_witness_file",
    "audit_witness_url",
    "demo_simulation",
    "time_zone",
    "map_tile_url",
    "map_tile_attribution",
    "mqtt_shared",
    "job_lease_seconds",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {err}")]
    Read { path: String, err: String },
    #[error("config file {path} is not valid: {err}")]
    Parse { path: String, err: String },
    #[error("invalid setting {key}: {err}")]
    Invalid { key: &'static str, err: String },
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./linli-data"),
            database_url: Secret::default(),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            session_idle_minutes: 30,
            session_max_hours: 12,
            api_token_days: 30,
            body_limit_bytes: 2 * 1024 * 1024,
            login_max_failures: 5,
            login_account_max_failures: 20,
            login_lockout_minutes: 15,
            login_per_minute: 30,
            login_account_per_minute: 20,
            trusted_proxies: Default::default(),
            key_passphrase: None,
            log: "info".into(),
            // Home-quarantine records are needed only while the quarantine lasts (seed 000).
            retention_tag_days: vec![("home_quarantine".into(), 30)],
            anomaly: crate::audit::anomaly::Rules::default(),
            export_max_records: 200,
            export_valid_hours: 24,
            keys_dir: None,
            mqtt_url: None,
            sensing_raw_days: 30,
            sensing_hourly_days: 400,
            webhook_allow: Default::default(),
            metrics_token: None,
            audit_witness: Default::default(),
            demo_simulation: None,
            time_zone: chrono_tz::Asia::Shanghai,
            map_tile_url: None,
            map_tile_attribution: String::new(),
            mqtt_shared: false,
            job_lease_seconds: 10,
        }
    }
}

impl Config {
    /// Builds the settings from every layer. Returns the warnings (unknown keys) beside it,
    /// for the caller to log once logging is set up.
    pub fn load(over: &Overrides) -> Result<(Config, Vec<String>), ConfigError> {
        let mut cfg = Config::default();
        let mut warnings = Vec::new();
        let data_dir = over.data_dir.clone();
        let file = match &over.config_file {
            Some(f) => Some(f.clone()),
            None => {
                let dir = data_dir.clone().unwrap_or_else(|| cfg.data_dir.clone());
                let f = dir.join("linli.toml");
                f.exists().then_some(f)
            }
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
                path: path.display().to_string(),
                err: e.to_string(),
            })?;
            let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.display().to_string(),
                err: e.message().to_string(),
            })?;
            for key in table.keys() {
                if !KNOWN_KEYS.contains(&key.as_str()) {
                    warnings.push(format!(
                        "unknown setting {key:?} in {} is ignored",
                        path.display()
                    ));
                }
            }
            let fc: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.display().to_string(),
                err: e.message().to_string(),
            })?;
            cfg.apply_file(fc)?;
        }
        for (key, _) in std::env::vars() {
            if let Some(rest) = key.strip_prefix("LINLI_") {
                let k = rest.to_ascii_lowercase();
                let known = KNOWN_KEYS.contains(&k.as_str())
                    || matches!(
                        k.as_str(),
                        "config"
                            | "data"
                            | "test_pg_url"
                            | "test_mqtt_url"
                            | "update_openapi"
                            | "require_browser"
                            | "require_georeport"
                            | "screenshots"
                            | "bench_skip_audit"
                            | "bench_floor"
                            | "demo_password"
                            | "keys_dir"
                            | "key_passphrase"
                            | "key_passphrase_file"
                            | "public_url"
                            | "session_idle_minutes"
                    );
                if !known {
                    warnings.push(format!("unknown environment variable {key} is ignored"));
                }
            }
        }
        cfg.apply_env()?;
        if let Some(d) = &over.data_dir {
            cfg.data_dir = d.clone();
        }
        if let Some(u) = &over.database_url {
            cfg.database_url = Secret::new(u.clone());
        }
        if let Some(l) = &over.listen {
            cfg.listen = l.clone();
        }
        if let Some(k) = &over.key_dir {
            cfg.keys_dir = Some(k.clone());
        }
        cfg.validate()?;
        if let Err(was) = crate::kernel::time::set_zone(cfg.time_zone) {
            warnings.push(format!(
                "time_zone {} ignored: this process already reads times in {was}",
                cfg.time_zone
            ));
        }
        Ok((cfg, warnings))
    }

    fn apply_file(&mut self, fc: FileConfig) -> Result<(), ConfigError> {
        if let Some(v) = fc.data {
            self.data_dir = v;
        }
        if let Some(v) = fc.database_url {
            self.database_url = Secret::new(v);
        }
        if let Some(v) = fc.listen {
            self.listen = v;
        }
        if fc.public_url.is_some() {
            self.public_url = fc.public_url;
        }
        if let Some(v) = fc.session_idle_minutes {
            self.session_idle_minutes = v;
        }
        if let Some(v) = fc.session_max_hours {
            self.session_max_hours = v;
        }
        if let Some(v) = fc.api_token_days {
            self.api_token_days = v;
        }
        if let Some(v) = fc.body_limit_kb {
            self.body_limit_bytes = v * 1024;
        }
        if let Some(v) = fc.login_max_failures {
            self.login_max_failures = v;
        }
        if let Some(v) = fc.login_account_max_failures {
            self.login_account_max_failures = v;
        }
        if let Some(v) = fc.login_lockout_minutes {
            self.login_lockout_minutes = v;
        }
        if let Some(v) = fc.login_per_minute {
            self.login_per_minute = v;
        }
        if let Some(v) = fc.login_account_per_minute {
            self.login_account_per_minute = v;
        }
        if let Some(v) = fc.trusted_proxies {
            self.trusted_proxies = proxies(&v)?;
        }
        if fc.key_dir.is_some() {
            self.keys_dir = fc.key_dir;
        }
        if let Some(v) = fc.log {
            self.log = v;
        }
        if let Some(r) = fc.retention {
            for (tag, days) in r {
                self.retention_tag_days.retain(|(t, _)| *t != tag);
                self.retention_tag_days.push((tag, days));
            }
        }
        if let Some(v) = fc.anomaly_people_per_hour {
            self.anomaly.max_people_per_hour = v;
        }
        if let Some(v) = fc.anomaly_denied_per_hour {
            self.anomaly.max_denied_per_hour = v;
        }
        if fc.keys_dir.is_some() {
            self.keys_dir = fc.keys_dir;
        }
        if let Some(v) = fc.export_max_records {
            self.export_max_records = v;
        }
        if let Some(v) = fc.export_valid_hours {
            self.export_valid_hours = v;
        }
        if fc.mqtt_url.is_some() {
            self.mqtt_url = fc.mqtt_url;
        }
        if let Some(v) = fc.sensing_raw_days {
            self.sensing_raw_days = v;
        }
        if let Some(v) = fc.sensing_hourly_days {
            self.sensing_hourly_days = v;
        }
        if let Some(v) = fc.webhook_allow {
            self.webhook_allow = allow_list(&v)?;
        }
        if let Some(v) = fc.metrics_token.filter(|v| !v.is_empty()) {
            self.metrics_token = Some(Secret::new(v));
        }
        if let Some(v) = fc.audit_witness_file.filter(|v| !v.as_os_str().is_empty()) {
            self.audit_witness.file = Some(v);
        }
        if let Some(v) = fc.audit_witness_url.filter(|v| !v.is_empty()) {
            self.audit_witness.url = Some(Secret::new(v));
        }
        if let Some(v) = fc.time_zone {
            self.time_zone = zone(&v)?;
        }
        if fc.demo_simulation.is_some() {
            self.demo_simulation = fc.demo_simulation;
        }
        if let Some(v) = fc.map_tile_url {
            self.map_tile_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = fc.map_tile_attribution {
            self.map_tile_attribution = v;
        }
        if let Some(v) = fc.mqtt_shared {
            self.mqtt_shared = v;
        }
        if let Some(v) = fc.job_lease_seconds {
            self.job_lease_seconds = v.max(1);
        }
        if let Some(w) = fc.work_hours {
            self.anomaly.work_hours = parse_hours(&w).ok_or(ConfigError::Invalid {
                key: "work_hours",
                err: en_zh("config.work_hours", &[("value", &format!("{w:?}"))]),
            })?;
        }
        Ok(())
    }

    /// Environment variables that have no flag of their own (the flagged ones arrive through
    /// clap, which reads `LINLI_DATA`, `LINLI_DATABASE_URL` and `LINLI_LISTEN`).
    fn apply_env(&mut self) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(key: &'static str) -> Result<Option<T>, ConfigError> {
            match std::env::var(key) {
                Ok(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| ConfigError::Invalid {
                        key,
                        err: format!("{v:?} is not a number"),
                    }),
                Err(_) => Ok(None),
            }
        }
        if let Ok(v) = std::env::var("LINLI_MAP_TILE_URL") {
            self.map_tile_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Ok(v) = std::env::var("LINLI_MAP_TILE_ATTRIBUTION") {
            self.map_tile_attribution = v;
        }
        if let Ok(v) = std::env::var("LINLI_TIME_ZONE") {
            self.time_zone = zone(&v)?;
        }
        if let Ok(v) = std::env::var("LINLI_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Ok(v) = std::env::var("LINLI_KEYS_DIR") {
            self.keys_dir = Some(PathBuf::from(v));
        }
        if let Ok(v) = std::env::var("LINLI_KEY_DIR") {
            self.keys_dir = Some(PathBuf::from(v));
        }
        if let Ok(v) = std::env::var("LINLI_KEY_PASSPHRASE") {
            self.key_passphrase = Some(v).filter(|v| !v.is_empty()).map(Secret::new);
        }
        if let Ok(f) = std::env::var("LINLI_KEY_PASSPHRASE_FILE") {
            let v = std::fs::read_to_string(&f).map_err(|e| ConfigError::Invalid {
                key: "key_passphrase_file",
                err: format!("cannot read {f}: {e}"),
            })?;
            let v = v.trim_end_matches(['\r', '\n']).to_string();
            self.key_passphrase = Some(v).filter(|v| !v.is_empty()).map(Secret::new);
        }
        if let Ok(v) = std::env::var("LINLI_TRUSTED_PROXIES") {
            let entries: Vec<String> = v.split(',').map(str::to_string).collect();
            self.trusted_proxies = proxies(&entries)?;
        }
        if let Some(v) = num("LINLI_LOGIN_ACCOUNT_MAX_FAILURES")? {
            self.login_account_max_failures = v;
        }
        if let Some(v) = num("LINLI_LOGIN_PER_MINUTE")? {
            self.login_per_minute = v;
        }
        if let Some(v) = num("LINLI_LOGIN_ACCOUNT_PER_MINUTE")? {
            self.login_account_per_minute = v;
        }
        if let Ok(v) = std::env::var("LINLI_MQTT_URL") {
            self.mqtt_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = num("LINLI_SENSING_RAW_DAYS")? {
            self.sensing_raw_days = v;
        }
        if let Some(v) = num("LINLI_SENSING_HOURLY_DAYS")? {
            self.sensing_hourly_days = v;
        }
        if let Ok(v) = std::env::var("LINLI_WEBHOOK_ALLOW") {
            let entries: Vec<String> = v.split(',').map(str::to_string).collect();
            self.webhook_allow = allow_list(&entries)?;
        }
        if let Ok(v) = std::env::var("LINLI_METRICS_TOKEN") {
            self.metrics_token = Some(v).filter(|v| !v.is_empty()).map(Secret::new);
        }
        if let Ok(v) = std::env::var("LINLI_AUDIT_WITNESS_FILE") {
            self.audit_witness.file = Some(PathBuf::from(v)).filter(|v| !v.as_os_str().is_empty());
        }
        if let Ok(v) = std::env::var("LINLI_AUDIT_WITNESS_URL") {
            self.audit_witness.url = Some(v).filter(|v| !v.is_empty()).map(Secret::new);
        }
        if let Ok(v) = std::env::var("LINLI_LOG") {
            self.log = v;
        }
        if let Some(v) = num("LINLI_SESSION_IDLE_MINUTES")? {
            self.session_idle_minutes = v;
        }
        if let Some(v) = num("LINLI_SESSION_MAX_HOURS")? {
            self.session_max_hours = v;
        }
        if let Some(v) = num("LINLI_API_TOKEN_DAYS")? {
            self.api_token_days = v;
        }
        if let Some(v) = num::<usize>("LINLI_BODY_LIMIT_KB")? {
            self.body_limit_bytes = v * 1024;
        }
        if let Some(v) = num("LINLI_LOGIN_MAX_FAILURES")? {
            self.login_max_failures = v;
        }
        if let Some(v) = num("LINLI_LOGIN_LOCKOUT_MINUTES")? {
            self.login_lockout_minutes = v;
        }
        if let Ok(v) = std::env::var("LINLI_MQTT_SHARED") {
            self.mqtt_shared = matches!(v.trim(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = num::<u64>("LINLI_JOB_LEASE_SECONDS")? {
            self.job_lease_seconds = v.max(1);
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(u) = &self.map_tile_url {
            tile_origin(u).ok_or_else(|| ConfigError::Invalid {
                key: "map_tile_url",
                err: en_zh("config.tile_url", &[("value", &format!("{u:?}"))]),
            })?;
            if self.map_tile_attribution.trim().is_empty()
                || self.map_tile_attribution.chars().count() > 300
            {
                return Err(ConfigError::Invalid {
                    key: "map_tile_attribution",
                    err: en_zh("config.tile_attribution", &[]),
                });
            }
        }
        if let Some(u) = &self.mqtt_url
            && let Err(err) = crate::sensing::mqtt::Options::parse(u)
        {
            return Err(ConfigError::Invalid {
                key: "mqtt_url",
                err,
            });
        }
        if self.listen.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::Invalid {
                key: "listen",
                err: en_zh("config.listen", &[("value", &format!("{:?}", self.listen))]),
            });
        }
        if let Some(u) = &self.audit_witness.url
            && !(u.expose().starts_with("http://") || u.expose().starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                key: "audit_witness_url",
                err: en_zh("config.witness_url", &[]),
            });
        }
        if let Some(f) = &self.audit_witness.file
            && !f.is_absolute()
        {
            return Err(ConfigError::Invalid {
                key: "audit_witness_file",
                err: en_zh("config.witness_file", &[("path", &f.display())]),
            });
        }
        if self.session_idle_minutes <= 0 || self.session_max_hours <= 0 {
            return Err(ConfigError::Invalid {
                key: "session_idle_minutes",
                err: "session timeouts must be positive".into(),
            });
        }
        Ok(())
    }

    /// The database URL to use: the configured one, or a SQLite file in the data folder.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("linli.db").display())
        } else {
            self.database_url.expose().to_string()
        }
    }

    pub fn tls(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// The keys live outside the database: in DATA/keys, or where `keys_dir` says (e.g. a
    /// separately mounted secret volume).
    pub fn keys_dir(&self) -> PathBuf {
        self.keys_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }

    /// Creates the data folder if needed and checks it can be written.
    pub fn prepare_data_dir(&self) -> Result<(), String> {
        prepare_dir(&self.data_dir)
    }
}

fn proxies(entries: &[String]) -> Result<crate::http::client::Proxies, ConfigError> {
    crate::http::client::Proxies::parse(entries).map_err(|err| ConfigError::Invalid {
        key: "trusted_proxies",
        err,
    })
}

fn allow_list(entries: &[String]) -> Result<crate::cases::notify::AllowList, ConfigError> {
    crate::cases::notify::AllowList::parse(entries).map_err(|err| ConfigError::Invalid {
        key: "webhook_allow",
        err,
    })
}

/// "07-20" → (7, 20).
fn parse_hours(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once('-')?;
    let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a < b && b <= 24).then_some((a, b))
}

fn prepare_dir(dir: &Path) -> Result<(), String> {
    crate::store::files::create_dir_all(dir)
        .map_err(|e| format!("cannot create data folder {}: {e}", dir.display()))?;
    let probe = dir.join(".linli-write-check");
    std::fs::write(&probe, b"ok")
        .map_err(|e| format!("data folder {} is not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// A time zone by its IANA name (`Asia/Shanghai`, `Asia/Urumqi`).
fn zone(name: &str) -> Result<chrono_tz::Tz, ConfigError> {
    name.trim().parse().map_err(|_| ConfigError::Invalid {
        key: "time_zone",
        err: en_zh("config.time_zone", &[("value", &format!("{name:?}"))]),
    })
}

/// The origin (`https://host[:port]`) of a tile URL template with `{z}`, `{x}` and `{y}`, which
/// the pages' content security policy then allows images from; `None` for anything else.
pub fn tile_origin(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .map(|r| ("https://", r))
        .or_else(|| url.strip_prefix("http://").map(|r| ("http://", r)))?;
    let (scheme, rest) = rest;
    let host = rest.split('/').next()?;
    let ok_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    let ok_path = ["{z}", "{x}", "{y}"].iter().all(|k| url.contains(k))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ';'));
    (ok_host && ok_path).then(|| format!("{scheme}{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_never_printed() {
        let s = Secret::new("postgres://u:hunter2@h/db");
        assert!(!format!("{s:?}").contains("hunter2"));
        let cfg = Config {
            database_url: s,
            ..Config::default()
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }

    #[test]
    fn file_layer_and_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("linli-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:9999\"\nfoo = 1\n").unwrap();
        let over = Overrides {
            config_file: Some(f),
            ..Default::default()
        };
        let (cfg, warns) = Config::load(&over).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:9999");
        assert!(warns.iter().any(|w| w.contains("foo")));
        let over2 = Overrides {
            config_file: over.config_file.clone(),
            listen: Some("127.0.0.1:7777".into()),
            ..Default::default()
        };
        assert_eq!(Config::load(&over2).unwrap().0.listen, "127.0.0.1:7777");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn webhook_allow_lists_addresses_and_refuses_nonsense() {
        let dir = std::env::temp_dir().join(format!("linli-cfg-hook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.toml");
        let load = |text: &str| {
            std::fs::write(&f, text).unwrap();
            Config::load(&Overrides {
                config_file: Some(f.clone()),
                ..Default::default()
            })
        };
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let none = Config::default().webhook_allow;
        assert!(!none.permits("x", ip("192.168.10.5")), "none by default");
        let (cfg, _) = load("webhook_allow = [\"192.168.10.5\", \"10.1.0.0/16\"]\n").unwrap();
        assert!(cfg.webhook_allow.permits("x", ip("192.168.10.5")));
        assert!(cfg.webhook_allow.permits("x", ip("10.1.2.3")));
        assert!(!cfg.webhook_allow.permits("x", ip("10.2.0.1")));
        assert!(matches!(
            load("webhook_allow = [\"10.1.0.0/40\"]\n"),
            Err(ConfigError::Invalid {
                key: "webhook_allow",
                ..
            })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn time_zone_is_a_setting_by_its_iana_name() {
        assert_eq!(Config::default().time_zone, chrono_tz::Asia::Shanghai);
        assert_eq!(zone(" Asia/Urumqi ").unwrap(), chrono_tz::Asia::Urumqi);
        let err = zone("China/Beijing").unwrap_err().to_string();
        assert!(err.contains("时区") && err.contains("time zone"), "{err}");
        let dir = std::env::temp_dir().join(format!("linli-cfg-tz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.toml");
        std::fs::write(&f, "time_zone = \"Asia/Shanghai\"\n").unwrap();
        let (cfg, warnings) = Config::load(&Overrides {
            config_file: Some(f.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(cfg.time_zone, chrono_tz::Asia::Shanghai);
        // (The environment the tests run in may add warnings of its own.)
        assert!(
            !warnings.iter().any(|w| w.contains("time_zone")),
            "{warnings:?}"
        );
        std::fs::write(&f, "time_zone = \"Mars/Olympus\"\n").unwrap();
        assert!(matches!(
            Config::load(&Overrides {
                config_file: Some(f),
                ..Default::default()
            }),
            Err(ConfigError::Invalid {
                key: "time_zone",
                ..
            })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }
}
