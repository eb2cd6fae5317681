//! Sensing and alerts (物联感知): devices that report over HTTP or MQTT, rules that watch
//! their readings — including rules about something *not* happening — and alerts that a grid
//! worker acknowledges, that escalate when nobody does, and that ask for a case.
//!
//! Everything a rule needs to act later lives in the database (`rule_timers`, `rule_state`,
//! `alerts`), and every change to it happens in the same transaction as the reading or the
//! timer that caused it, so a restart neither loses nor repeats an alert. What is kept in
//! memory is only a cache: device look-ups by token and the parsed rules.

pub mod alerts;
pub mod consents;
pub mod demo;
pub mod devices;
pub mod housekeeping;
pub mod http;
pub mod ingest;
pub mod measures;
pub mod mqtt;
pub mod pages;
pub mod placed;
pub mod relay;
pub mod rules;
pub mod service;
pub mod simulate;
pub mod sse;
pub mod words;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use crate::http::area::{Area, BoxFut, Job, Nav};
use crate::org::Caller;
use crate::state::AppState;
use crate::store::{Db, StoreError};

pub use alerts::Alert;
pub use devices::DeviceInfo;
pub use rules::RuleSet;

/// The time the sensing engine acts on. Tests set it; otherwise it is the system clock.
#[derive(Default, Debug)]
pub struct Clock {
    fixed: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        match self.fixed.load(Ordering::Relaxed) {
            0 => crate::store::now_ms(),
            t => t,
        }
    }
    /// Freezes the clock at `ms` (0 goes back to the system clock).
    pub fn set(&self, ms: i64) {
        self.fixed.store(ms, Ordering::Relaxed);
    }
    pub fn advance(&self, ms: i64) {
        let now = self.now_ms();
        self.set(now + ms);
    }
}

/// Counters for `/metrics`.
pub struct SensingMetrics {
    pub readings: IntCounterVec,
    pub refused: IntCounterVec,
    pub alerts: IntCounterVec,
    pub timers_fired: IntCounter,
    pub timers_armed: IntGauge,
    pub mqtt_connected: IntGauge,
}

impl SensingMetrics {
    fn new(registry: &Registry) -> SensingMetrics {
        let readings = IntCounterVec::new(
            Opts::new(
                "linli_telemetry_readings_total",
                "Readings committed, by transport",
            ),
            &["transport"],
        )
        .expect("metric");
        let refused = IntCounterVec::new(
            Opts::new(
                "linli_telemetry_refused_total",
                "Telemetry refused, by transport and reason",
            ),
            &["transport", "reason"],
        )
        .expect("metric");
        let alerts = IntCounterVec::new(
            Opts::new(
                "linli_alerts_raised_total",
                "Alerts raised (not repeats), by severity",
            ),
            &["severity"],
        )
        .expect("metric");
        let timers_fired =
            IntCounter::new("linli_rule_timers_fired_total", "Rule timers that fired")
                .expect("metric");
        let timers_armed = IntGauge::new(
            "linli_rule_timers_armed",
            "Absence and offline timers armed at the last synchronisation",
        )
        .expect("metric");
        let mqtt_connected = IntGauge::new(
            "linli_mqtt_connected",
            "1 while connected to the MQTT broker",
        )
        .expect("metric");
        for m in [
            Box::new(readings.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(refused.clone()),
            Box::new(alerts.clone()),
            Box::new(timers_fired.clone()),
            Box::new(timers_armed.clone()),
            Box::new(mqtt_connected.clone()),
        ] {
            registry.register(m).expect("metric registers once");
        }
        SensingMetrics {
            readings,
            refused,
            alerts,
            timers_fired,
            timers_armed,
            mqtt_connected,
        }
    }

    pub fn refuse(&self, transport: &str, reason: &str) {
        self.refused.with_label_values(&[transport, reason]).inc();
    }
}

/// What the sensing handlers and jobs share (one per process, inside [`AppState`]).
/// Sensing's own state, registered with the shared state at start.
pub fn of(state: &AppState) -> &Sensing {
    state.area::<Sensing>()
}

pub struct Sensing {
    pub clock: Clock,
    pub metrics: SensingMetrics,
    /// Alert changes, after their transaction committed, for the SSE streams.
    pub events: tokio::sync::broadcast::Sender<Arc<alerts::AlertEvent>>,
    /// Devices' new latest values, for pages that show them live (sent only while watched;
    /// this process's readings only).
    pub states: tokio::sync::broadcast::Sender<Arc<StateEvent>>,
    /// Where alert changes go to reach the other processes sharing the database (`relay`;
    /// unset on SQLite).
    pub relay: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<relay::Out>>,
    /// Devices by token hash and by id (a cache; the database is the truth).
    devices: RwLock<DeviceCache>,
    rules: RwLock<Arc<RuleSet>>,
    /// Counts the reloads of `rules` begun: only the latest one begun stores what it read, so
    /// a slow reload that read before a rule edit cannot replace the edit's own reload.
    rules_reloads: std::sync::atomic::AtomicU64,
    /// Timer synchronisations run one at a time (see `rules::sync_now`).
    pub sync_lock: tokio::sync::Mutex<()>,
    /// Wakes the timer loop (after rules or devices changed).
    pub wake: tokio::sync::Notify,
    /// HTTP ingestion's group commit: requests that arrive while a transaction runs are
    /// committed together in the next one (each still answered only after its commit).
    ingest_tx: tokio::sync::mpsc::Sender<IngestJob>,
    ingest_rx: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<IngestJob>>>,
}

/// One HTTP request's readings waiting for the group commit.
pub struct IngestJob {
    pub device: Arc<DeviceInfo>,
    pub readings: Vec<ingest::Reading>,
    pub now: i64,
    pub done: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
}

fn copy_err(e: &StoreError) -> StoreError {
    match e {
        StoreError::Busy => StoreError::Busy,
        StoreError::Conflict(s) => StoreError::Conflict(s.clone()),
        other => StoreError::Db(other.to_string()),
    }
}

/// Readings per group-commit transaction at most.
const GROUP_READINGS: usize = 5000;

/// Commits waiting HTTP ingestion jobs together, answering each after the commit.
async fn group_commit(state: Arc<AppState>, mut rx: tokio::sync::mpsc::Receiver<IngestJob>) {
    let s = &crate::sensing::of(&state);
    while let Some(first) = rx.recv().await {
        let mut n = first.readings.len();
        let mut jobs = vec![first];
        while n < GROUP_READINGS {
            match rx.try_recv() {
                Ok(j) => {
                    n += j.readings.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let now = jobs.iter().map(|j| j.now).max().unwrap_or(0);
        let mut done = Vec::with_capacity(jobs.len());
        let mut batches: Vec<(Arc<DeviceInfo>, Vec<ingest::Reading>)> =
            Vec::with_capacity(jobs.len());
        for j in jobs {
            done.push(j.done);
            batches.push((j.device, j.readings));
        }
        let batches = Arc::new(batches);
        let set = s.rules();
        let b = batches.clone();
        match state
            .db
            .write(move |c| ingest::store(c, &set, &b, now))
            .await
        {
            Ok(changes) => {
                s.metrics
                    .readings
                    .with_label_values(&["http"])
                    .inc_by(n as u64);
                s.publish(changes);
                for (dev, readings) in batches.iter() {
                    s.publish_state(dev, readings);
                }
                for d in done {
                    let _ = d.send(Ok(()));
                }
            }
            Err(e) => {
                for d in done {
                    let _ = d.send(Err(copy_err(&e)));
                }
            }
        }
    }
}

#[derive(Default)]
struct DeviceCache {
    by_token: HashMap<String, Arc<DeviceInfo>>,
    by_id: HashMap<i64, Arc<DeviceInfo>>,
    /// Counts the times the cache was forgotten: a device read from the database before a
    /// change is not remembered after it.
    generation: u64,
}

/// Cached devices are looked at again after this long, so tag changes reach the rules.
const DEVICE_TTL: Duration = Duration::from_secs(60);

impl Sensing {
    pub fn new(registry: &Registry) -> Sensing {
        let (ingest_tx, ingest_rx) = tokio::sync::mpsc::channel(1024);
        Sensing {
            clock: Clock::default(),
            metrics: SensingMetrics::new(registry),
            events: tokio::sync::broadcast::channel(4096).0,
            states: tokio::sync::broadcast::channel(1024).0,
            relay: std::sync::OnceLock::new(),
            devices: RwLock::default(),
            rules: RwLock::new(Arc::new(RuleSet::default())),
            rules_reloads: std::sync::atomic::AtomicU64::new(0),
            sync_lock: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            ingest_tx,
            ingest_rx: std::sync::Mutex::new(Some(ingest_rx)),
        }
    }

    /// Stores one device's readings (through the group commit once [`start`] ran) and returns
    /// after they are committed.
    pub async fn commit(
        &self,
        state: &Arc<AppState>,
        device: Arc<DeviceInfo>,
        readings: Vec<ingest::Reading>,
        now: i64,
    ) -> Result<(), StoreError> {
        let running = self.ingest_rx.lock().map(|r| r.is_none()).unwrap_or(false);
        if running {
            let (done, wait) = tokio::sync::oneshot::channel();
            let job = IngestJob {
                device,
                readings,
                now,
                done,
            };
            if self.ingest_tx.send(job).await.is_ok() {
                return wait
                    .await
                    .map_err(|_| StoreError::Db("the ingestion writer stopped".into()))?;
            }
            return Err(StoreError::Db("the ingestion writer stopped".into()));
        }
        let n = readings.len();
        let set = self.rules();
        let batch = Arc::new([(device, readings)]);
        let b = batch.clone();
        let changes = state
            .db
            .write(move |c| ingest::store(c, &set, &*b, now))
            .await?;
        self.metrics
            .readings
            .with_label_values(&["http"])
            .inc_by(n as u64);
        self.publish(changes);
        self.publish_state(&batch[0].0, &batch[0].1);
        Ok(())
    }

    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the rules again (after a change, and periodically for other processes' changes).
    pub async fn reload_rules(&self, db: &Db) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        // Begun after whatever edit asked for it committed, so it reads that edit or later.
        let mine = self.rules_reloads.fetch_add(1, SeqCst) + 1;
        let set = db.read(rules::load).await?;
        let mut cached = self.rules.write().unwrap_or_else(|e| e.into_inner());
        if self.rules_reloads.load(SeqCst) == mine {
            *cached = Arc::new(set);
        }
        Ok(())
    }

    fn cached(
        &self,
        f: impl FnOnce(&DeviceCache) -> Option<Arc<DeviceInfo>>,
    ) -> Option<Arc<DeviceInfo>> {
        let cache = self.devices.read().unwrap_or_else(|e| e.into_inner());
        f(&cache).filter(|d| d.loaded.elapsed() < DEVICE_TTL)
    }

    fn generation(&self) -> u64 {
        self.devices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .generation
    }

    /// Caches a device read from the database while the cache was at `generation`.
    fn remember(&self, d: Arc<DeviceInfo>, generation: u64) {
        let mut cache = self.devices.write().unwrap_or_else(|e| e.into_inner());
        if cache.generation != generation {
            return;
        }
        if cache.by_id.len() > 200_000 {
            *cache = DeviceCache {
                generation,
                ..DeviceCache::default()
            };
        }
        cache.by_token.insert(d.token_hash.clone(), d.clone());
        cache.by_id.insert(d.id, d);
    }

    /// Tells the other processes sharing the database (`relay`; nothing on SQLite).
    pub fn tell_others(&self, what: relay::Out) {
        if let Some(r) = self.relay.get() {
            let _ = r.send(what);
        }
    }

    /// Rules changed in this process (after it read them again): the others read theirs.
    pub fn rules_changed_here(&self) {
        self.tell_others(relay::Out::Rules);
    }

    /// Forgets cached devices (after devices or tags changed in this process, such as a device
    /// deactivated) and wakes the timer loop to synchronise its timers soon; the other
    /// processes are told to do the same.
    pub fn devices_changed(&self) {
        self.devices_changed_here();
        self.tell_others(relay::Out::Devices);
    }

    /// [`Sensing::devices_changed`] in this process only (another process changed them).
    pub fn devices_changed_here(&self) {
        let mut cache = self.devices.write().unwrap_or_else(|e| e.into_inner());
        *cache = DeviceCache {
            generation: cache.generation + 1,
            ..DeviceCache::default()
        };
        drop(cache);
        self.wake.notify_one();
    }

    /// The device a provisioning token belongs to, active or not (the caller refuses readings
    /// of an inactive one with its own reason).
    pub async fn device_by_token(
        &self,
        db: &Db,
        token: &str,
    ) -> Result<Option<Arc<DeviceInfo>>, StoreError> {
        let hash = crate::org::auth::token_hash(token);
        if let Some(d) = self.cached(|c| c.by_token.get(&hash).cloned()) {
            return Ok(Some(d));
        }
        let (today, generation) = (self.today(), self.generation());
        let found = db
            .read(move |c| devices::info_by_token_hash(c, &hash, &today))
            .await?;
        Ok(found.map(|d| {
            let d = Arc::new(d);
            self.remember(d.clone(), generation);
            d
        }))
    }

    /// The device with this id, active or not (MQTT topics name devices by id).
    pub async fn device_by_id(
        &self,
        db: &Db,
        id: i64,
    ) -> Result<Option<Arc<DeviceInfo>>, StoreError> {
        if let Some(d) = self.cached(|c| c.by_id.get(&id).cloned()) {
            return Ok(Some(d));
        }
        let (today, generation) = (self.today(), self.generation());
        let found = db.read(move |c| devices::info_by_id(c, id, &today)).await?;
        Ok(found.map(|d| {
            let d = Arc::new(d);
            self.remember(d.clone(), generation);
            d
        }))
    }

    /// Today's date (YYYY-MM-DD) in China Standard Time, by the engine's clock: tags are
    /// valid by date.
    pub fn today(&self) -> String {
        rules::local_date(self.clock.now_ms())
    }

    /// Sends a device's committed readings (the newest per key) to the live streams, when
    /// anyone is watching.
    pub fn publish_state(&self, dev: &DeviceInfo, readings: &[ingest::Reading]) {
        if self.states.receiver_count() == 0 {
            return;
        }
        let mut newest: Vec<&ingest::Reading> = Vec::new();
        for r in readings {
            match newest.iter_mut().find(|x| x.key == r.key) {
                Some(x) if x.ts < r.ts => *x = r,
                Some(_) => {}
                None => newest.push(r),
            }
        }
        let ev = StateEvent {
            device_id: dev.id,
            place_path: dev.place_path.clone(),
            at: self.clock.now_ms(),
            values: newest
                .into_iter()
                .map(|r| devices::LatestValue {
                    key: r.key.clone(),
                    ts: r.ts,
                    num: r.value.num,
                    text: r.value.text.clone(),
                })
                .collect(),
        };
        let _ = self.states.send(Arc::new(ev));
    }

    /// Sends committed alert changes to the live streams.
    pub fn publish(&self, changes: Vec<alerts::AlertEvent>) {
        for ch in changes {
            if ch.action == "raised" {
                self.metrics
                    .alerts
                    .with_label_values(&[ch.alert.severity.as_str()])
                    .inc();
            }
            let ch = Arc::new(ch);
            self.tell_others(relay::Out::Alert(ch.clone()));
            let _ = self.events.send(ch);
        }
    }
}

/// A device reported: its newest values, as the live stream sends them.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StateEvent {
    pub device_id: i64,
    #[serde(skip)]
    pub place_path: String,
    /// When linli received them (the device is online).
    pub at: i64,
    pub values: Vec<devices::LatestValue>,
}

/// What sensing contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::SensingApi as utoipa::OpenApi>::openapi,
        state: |s, registry| s.with(Sensing::new(registry)),
        jobs,
        nav: &[Nav {
            order: 40,
            href: "/alerts",
            id: "nav-alerts",
            label: "sensing.nav",
            shown: Caller::reads_registry,
        }],
        measures: &MEASURES,
        ..Area::new("sensing", router)
    }
}

/// Every sensing route: the API, the live stream and the pages.
fn router() -> Router<Arc<AppState>> {
    http::router().merge(pages::router())
}

/// The background work: the rules loaded before requests are taken, then the rule timers, the
/// group commit of readings, housekeeping and (when a broker is configured) the MQTT client.
/// With several processes on one database, every process runs the rule timers (a timer is
/// claimed by updating its row guarded by the due time it read, so one process fires it; the
/// others find it moved), its own group commit and its MQTT client (on a shared subscription
/// when `mqtt_shared` is on); housekeeping and the demo's simulation run in one.
fn jobs() -> Vec<Job> {
    vec![
        Job::AtStart {
            name: "load_rules",
            run: |s| -> BoxFut<_> {
                Box::pin(async move {
                    of(&s).reload_rules(&s.db).await?;
                    Ok(None)
                })
            },
        },
        Job::Task {
            name: "rule_timers",
            run: |s| -> BoxFut<()> { Box::pin(rules::timer_loop(s)) },
        },
        Job::Task {
            name: "relay",
            run: |s| -> BoxFut<()> { Box::pin(relay::run(s)) },
        },
        Job::Task {
            name: "group_commit",
            run: |s| -> BoxFut<()> {
                Box::pin(async move {
                    let rx = of(&s).ingest_rx.lock().ok().and_then(|mut r| r.take());
                    if let Some(rx) = rx {
                        group_commit(s, rx).await;
                    }
                })
            },
        },
        // One process folds and deletes readings (its progress is kept in `meta`, so one
        // that takes over goes on where the last stopped), and one simulates the demo's
        // devices.
        Job::Single {
            name: "housekeeping",
            run: |s| -> BoxFut<()> { Box::pin(housekeeping::run(s)) },
        },
        Job::Single {
            name: "demo_simulation",
            run: |s| -> BoxFut<()> { Box::pin(simulate::demo_job(s)) },
        },
        Job::Task {
            name: "mqtt",
            run: |s| -> BoxFut<()> {
                Box::pin(async move {
                    let Some(url) = s.cfg.mqtt_url.clone() else {
                        return;
                    };
                    match mqtt::Options::parse(&url) {
                        Ok(mut opts) => {
                            if s.cfg.mqtt_shared {
                                opts.share(&s.cfg.listen);
                            }
                            mqtt::run(s, opts).await
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "the MQTT URL is not valid; MQTT is off")
                        }
                    }
                })
            },
        },
    ]
}

/// Readings of a device bound to a person or a household are personal data (a door's opening
/// times are an elderly woman's daily routine): showing them is a read of that person, logged
/// with her (and her household) as subjects before they are sent, so that she sees in her
/// access log that they were read, by whom and when.
pub(crate) async fn audit_readings(
    state: &AppState,
    caller: &Caller,
    d: &devices::Device,
) -> crate::kernel::error::AppResult<()> {
    let mut subjects = Vec::new();
    if let Some(p) = d.person_id {
        subjects.push(crate::audit::person(p));
    }
    if let Some(h) = d.household_id {
        subjects.push(crate::audit::household(h));
    }
    if subjects.is_empty() {
        return Ok(());
    }
    state
        .audit
        .record(
            crate::audit::NewEntry::by(caller, crate::audit::Action::Read)
                .subjects(subjects)
                .purpose(format!("device readings: {} {}", d.device_type, d.serial)),
        )
        .await?;
    Ok(())
}

/// Lists of devices and alerts name the people they watch over (the device on an elderly
/// woman's door, the alert that she has not opened it): showing one is a list read of those
/// people and households, logged with them as subjects, as the registry's lists are. Nothing is
/// written when no one is named.
pub(crate) async fn audit_listed(
    state: &AppState,
    caller: &Caller,
    people: impl IntoIterator<Item = Option<i64>>,
    households: impl IntoIterator<Item = Option<i64>>,
    action: crate::audit::Action,
) -> crate::kernel::error::AppResult<()> {
    let mut subjects: Vec<String> = people
        .into_iter()
        .flatten()
        .map(crate::audit::person)
        .collect();
    subjects.extend(
        households
            .into_iter()
            .flatten()
            .map(crate::audit::household),
    );
    subjects.sort();
    subjects.dedup();
    if subjects.is_empty() {
        return Ok(());
    }
    state
        .audit
        .record(crate::audit::NewEntry::by(caller, action).subjects(subjects))
        .await?;
    Ok(())
}

// ---- the cockpit's measures (counted by `measures`, read through the contract)

use crate::http::area::{Measure, Unit, count, summed};

/// Sensing's measures on the cockpit.
pub static MEASURES: [Measure; 2] = [
    Measure {
        id: "sensing.alerts",
        label: "cockpit.m.sensing_alerts",
        definition: "cockpit.d.sensing_alerts",
        unit: Unit::Count,
        persons: true,
        read: |s, a| Box::pin(summed(s, a, measures::active_alerts, count)),
        drill: |id, _| format!("/alerts?place={id}"),
        by_org: None,
    },
    Measure {
        id: "sensing.devices_online",
        label: "cockpit.m.sensing_devices",
        definition: "cockpit.d.sensing_devices",
        unit: Unit::Count,
        persons: false,
        read: |s, a| Box::pin(summed(s, a, measures::devices_online, count)),
        drill: |id, _| format!("/devices?grid={id}"),
        by_org: None,
    },
];
