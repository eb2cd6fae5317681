//! `linli simulate`: realistic readings for the demo's devices, over HTTP (each device with
//! its own token) or MQTT. Door magnets open with the day's rhythm (mornings, noon and
//! evenings; rarely at night) except in a few flats whose door stays shut, so the demo's
//! absence rules have someone to find; water meters count up with the same rhythm (and stay
//! still in those flats); smoke detectors and elevators send their heartbeats, with a rare
//! alarm or fault.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeZone, Timelike};
use http_body_util::Full;
use rand::{Rng, SeedableRng};

use crate::store::Db;
use crate::store::keys::FieldKeys;

#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Readings per second in all.
    pub rate: f64,
    /// Send over MQTT to this broker instead of HTTP.
    pub mqtt: Option<String>,
    /// The linli server for HTTP [default: http://127.0.0.1:8080].
    pub url: String,
    /// How many elderly people's doors stay shut.
    pub shut: usize,
    /// Stop after this long (None: run until interrupted).
    pub duration: Option<Duration>,
}

struct Sim {
    id: i64,
    kind: String,
    token: String,
    person: Option<i64>,
    volume: f64,
    cycles: i64,
}

/// How likely a door opens at this hour (China Standard Time).
fn door_rhythm(hour: u32) -> f64 {
    match hour {
        6..=9 => 0.9,
        11..=13 => 0.7,
        17..=20 => 0.9,
        10 | 14..=16 | 21 => 0.5,
        _ => 0.1,
    }
}

fn payload(s: &mut Sim, shut: bool, now: i64, rng: &mut impl Rng) -> serde_json::Value {
    let hour = super::rules::cst()
        .timestamp_millis_opt(now)
        .single()
        .map(|t| t.hour())
        .unwrap_or(12);
    let values = match s.kind.as_str() {
        "door_magnet" if shut => serde_json::json!({"door": "closed", "battery": 80 + (s.id % 20)}),
        "door_magnet" => {
            let open = rng.gen_bool(door_rhythm(hour));
            serde_json::json!({"door": if open { "open" } else { "closed" }, "battery": 80 + (s.id % 20)})
        }
        "water_meter" => {
            if !shut {
                s.volume += rng.gen_range(0.0..0.02) * door_rhythm(hour);
            }
            serde_json::json!({"volume": (s.volume * 1000.0).round() / 1000.0})
        }
        "smoke_detector" => {
            let smoke = i32::from(rng.gen_ratio(1, 50_000));
            serde_json::json!({"smoke": smoke, "battery": 70 + (s.id % 30)})
        }
        "elevator" => {
            s.cycles += rng.gen_range(0..6);
            let fault = i32::from(rng.gen_ratio(1, 20_000));
            serde_json::json!({"vibration": (rng.gen_range(0.2..1.4f64) * 100.0).round() / 100.0, "door_cycles": s.cycles, "fault": fault})
        }
        _ => serde_json::json!({"heartbeat": 1}),
    };
    serde_json::json!({"ts": now, "values": values})
}

/// Runs the simulator until `duration` passes (or forever). Returns readings sent.
pub async fn run(db: Db, keys: FieldKeys, o: SimOptions) -> anyhow::Result<u64> {
    let k = keys.clone();
    let rows = db
        .read(move |c| {
            let list = super::devices::all_with_tokens(c, &k)?;
            let persons: HashMap<i64, Option<i64>> = c
                .query("SELECT id, person_id FROM devices", &[])?
                .into_iter()
                .map(|r| (r.i64(0), r.opt_i64(1)))
                .collect();
            // Gates report passages to their own endpoint, not readings.
            Ok(list
                .into_iter()
                .filter(|(_, kind, _)| kind != "gate")
                .map(|(id, kind, token)| (id, kind, token, persons.get(&id).copied().flatten()))
                .collect::<Vec<_>>())
        })
        .await?;
    if rows.is_empty() {
        anyhow::bail!(
            "{}",
            crate::kernel::i18n::both("sensing.mqtt.no_devices", &[])
        );
    }
    let mut sims: Vec<Sim> = rows
        .into_iter()
        .map(|(id, kind, token, person)| Sim {
            id,
            kind,
            token,
            person,
            volume: 100.0 + (id % 50) as f64,
            cycles: 0,
        })
        .collect();
    // The first few elderly people (by device) whose door stays shut, and their water meters.
    let mut shut_people: Vec<i64> = sims
        .iter()
        .filter(|s| s.kind == "door_magnet")
        .filter_map(|s| s.person)
        .collect();
    shut_people.truncate(o.shut);
    println!(
        "simulating {} devices at {} readings/s over {}; doors that stay shut: persons {:?}",
        sims.len(),
        o.rate,
        if o.mqtt.is_some() { "MQTT" } else { "HTTP" },
        shut_people
    );
    // A demo's absence rules shortened to seconds (`linli demo --absence-window 30s`): the
    // round robin at --rate would reach each door far less often than that, and every watched
    // door would be "absent" at once (issue 19: 1,700 alerts in two minutes). So the doors and
    // water meters of people who are fine are kept on their own beat, a third of the shortest
    // window, and only the shut flats raise alerts.
    let beat = db
        .read(|c| {
            Ok(c.query(
                "SELECT params FROM rules WHERE kind = 'absence' AND active = 1",
                &[],
            )?
            .iter()
            .filter_map(|r| serde_json::from_str::<super::rules::RuleParams>(&r.str(0)).ok())
            .filter(|p| p.window.is_none())
            .filter_map(|p| p.absence_s)
            .min())
        })
        .await?
        .filter(|w| *w < 3600)
        .map(|w| Duration::from_millis((w * 1000 / 3).max(1000) as u64));
    let kept: Vec<usize> = if beat.is_some() {
        (0..sims.len())
            .filter(|&i| {
                let s = &sims[i];
                matches!(s.kind.as_str(), "door_magnet" | "water_meter")
                    && s.person.is_some_and(|p| !shut_people.contains(&p))
            })
            .collect()
    } else {
        Vec::new()
    };
    if let Some(b) = beat {
        println!(
            "absence rules of {} s: {} doors and meters of people who are fine report every {:.0} s \
             (about {:.0} readings/s beside --rate)",
            b.as_secs() * 3,
            kept.len(),
            b.as_secs_f64(),
            kept.len() as f64 / b.as_secs_f64()
        );
    }
    let mut next_beat = std::time::Instant::now();
    let sender = std::sync::Arc::new(Sender::new(&o).await?);
    // Up to this many readings in flight, so a slow answer does not slow the rate.
    const IN_FLIGHT: u32 = 64;
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT as usize));
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut rng = rand::rngs::StdRng::from_entropy();
    let start = std::time::Instant::now();
    let mut next = 0usize;
    let tick = Duration::from_millis(100);
    let per_tick = (o.rate / 10.0).max(0.0);
    let mut carry = 0.0;
    let mut interval = tokio::time::interval(tick);
    loop {
        interval.tick().await;
        if o.duration.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
        let mut due: Vec<(usize, bool)> = Vec::new();
        if let Some(b) = beat.filter(|_| std::time::Instant::now() >= next_beat) {
            next_beat += b;
            due.extend(kept.iter().map(|&i| (i, true)));
        }
        carry += per_tick;
        while carry >= 1.0 {
            carry -= 1.0;
            due.push((next % sims.len(), false));
            next += 1;
        }
        for (i, opened) in due {
            let s = &mut sims[i];
            let shut = s.person.is_some_and(|p| shut_people.contains(&p));
            if opened && s.kind == "water_meter" {
                // Someone at home uses water: more than a use rule's smallest rise.
                s.volume += 0.02;
            }
            let mut body = payload(s, shut, crate::store::now_ms(), &mut rng);
            if opened && s.kind == "door_magnet" {
                body["values"]["door"] = "open".into();
            }
            let (id, token) = (s.id, s.token.clone());
            let permit = slots.clone().acquire_owned().await?;
            let (sender, sent) = (sender.clone(), sent.clone());
            tokio::spawn(async move {
                match sender.send(id, &token, &body).await {
                    Ok(()) => {
                        sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(e) => eprintln!("device {id}: {e:#}"),
                }
                drop(permit);
            });
        }
    }
    // Wait for the readings still in flight.
    let _all = slots.acquire_many(IN_FLIGHT).await?;
    Ok(sent.load(std::sync::atomic::Ordering::Relaxed))
}

enum Sender {
    Http {
        client: hyper_util::client::legacy::Client<
            hyper_util::client::legacy::connect::HttpConnector,
            Full<Bytes>,
        >,
        url: String,
    },
    Mqtt {
        client: rumqttc::AsyncClient,
        root: String,
    },
}

impl Sender {
    async fn new(o: &SimOptions) -> anyhow::Result<Sender> {
        if let Some(url) = &o.mqtt {
            let opts = super::mqtt::Options::parse(url).map_err(|e| anyhow::anyhow!(e))?;
            let mut m = rumqttc::MqttOptions::new(
                format!("linli-sim-{}", std::process::id()),
                opts.host.clone(),
                opts.port,
            );
            m.set_keep_alive(Duration::from_secs(15));
            if let Some((u, p)) = &opts.credentials {
                m.set_credentials(u.clone(), p.clone());
            }
            let (client, mut eventloop) = rumqttc::AsyncClient::new(m, 1024);
            tokio::spawn(async move {
                loop {
                    if let Err(e) = eventloop.poll().await {
                        eprintln!("MQTT: {e}; reconnecting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            });
            return Ok(Sender::Mqtt {
                client,
                root: opts.topic_root,
            });
        }
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        Ok(Sender::Http {
            client,
            url: format!("{}/api/v1/telemetry", o.url.trim_end_matches('/')),
        })
    }

    async fn send(&self, id: i64, token: &str, body: &serde_json::Value) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(body)?;
        match self {
            Sender::Http { client, url } => {
                let req = hyper::Request::post(url)
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(bytes)))?;
                let res = client.request(req).await?;
                if !res.status().is_success() {
                    anyhow::bail!("HTTP {}", res.status());
                }
                Ok(())
            }
            Sender::Mqtt { client, root } => {
                client
                    .publish(
                        format!("{root}/{id}/telemetry"),
                        rumqttc::QoS::AtLeastOnce,
                        false,
                        bytes,
                    )
                    .await?;
                Ok(())
            }
        }
    }
}

// ---------------------------------------------------------------- the demo's own simulation

/// One demo device as the built-in simulation drives it.
struct Demo {
    id: i64,
    kind: String,
    person: Option<i64>,
    /// When it reports next (engine clock, ms).
    next: i64,
    volume: f64,
    cycles: i64,
    /// A device whose battery ran out: it never reports (its offline rule notices).
    silent: bool,
}

/// How many elderly people's doors stay shut in the built-in simulation (their absence rules
/// have someone to find), and one device in this many falls silent (offline alerts).
const DEMO_SHUT: usize = 3;
const DEMO_SILENT_ONE_IN: i64 = 150;
/// Devices reported per tick at most (one write transaction).
const DEMO_BATCH: usize = 500;

/// When a device of this kind reports again after `now`: door magnets, water meters and smoke
/// detectors within their hour (every 20–40 minutes), elevators within their ten minutes.
fn next_report(kind: &str, now: i64, rng: &mut impl Rng) -> i64 {
    let secs = match kind {
        "elevator" => rng.gen_range(180..420),
        _ => rng.gen_range(1200..2400),
    };
    now + secs * 1000
}

/// The built-in light simulation of `linli demo` (config `demo_simulation`, on for the demo,
/// `--no-simulation` or `demo_simulation = false` turns it off): every device of the demo
/// reports through the normal ingestion path (parsed as the telemetry API parses, stored and
/// judged by the rules with the readings of the API and MQTT), so the devices are online and
/// the rules find what a street's rules find — a few doors that stay shut, a device whose
/// battery ran out, and, at the start, one smoke alarm and one elevator fault so that the
/// alerts page has something to show. Runs only on a demo database.
pub async fn demo_job(state: std::sync::Arc<crate::state::AppState>) {
    if state.cfg.demo_simulation != Some(true) {
        return;
    }
    match state
        .db
        .read(|c| Ok(crate::store::meta(c, "demo")?.is_some()))
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!("demo_simulation is set but the database is not a demo; not simulating");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "the demo simulation could not start");
            return;
        }
    }
    let mut rng = rand::rngs::StdRng::from_entropy();
    let mut devices = match demo_devices(&state, &mut rng).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "the demo simulation could not read the devices");
            return;
        }
    };
    tracing::info!(
        devices = devices.len(),
        "demo simulation: the devices report (demo_simulation = false turns it off)"
    );
    let mut first = true;
    loop {
        match demo_tick(&state, &mut devices, first, &mut rng).await {
            Ok(n) => {
                first = false;
                tracing::debug!(readings = n, "demo simulation tick");
            }
            Err(e) => tracing::warn!(error = %e, "demo simulation tick failed; trying again"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn demo_devices(
    state: &crate::state::AppState,
    rng: &mut impl Rng,
) -> Result<Vec<Demo>, crate::store::StoreError> {
    let now = super::of(state).clock.now_ms();
    let rows = state
        .db
        .read(|c| {
            c.query(
                // Gates report passages to their own endpoint, not readings.
                "SELECT d.id, pr.device_type, d.person_id FROM devices d \
                 JOIN device_profiles pr ON pr.id = d.profile_id WHERE d.active = 1 \
                 AND pr.device_type <> 'gate' ORDER BY d.id",
                &[],
            )
        })
        .await?;
    let n = rows.len().max(1) as i64;
    let mut list: Vec<Demo> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let id = r.i64(0);
            Demo {
                id,
                kind: r.str(1),
                person: r.opt_i64(2),
                // The first reports are spread over the first minute.
                next: now + (i as i64) * 60_000 / n,
                volume: 100.0 + (id % 50) as f64,
                cycles: rng.gen_range(1000..50_000),
                silent: id % DEMO_SILENT_ONE_IN == 7,
            }
        })
        .collect();
    // The start's smoke alarm and elevator fault come with the first tick.
    for kind in ["smoke_detector", "elevator"] {
        if let Some(d) = list.iter_mut().find(|d| d.kind == kind) {
            d.next = now;
            d.silent = false;
        }
    }
    Ok(list)
}

/// One pass: the devices due report; returns the readings stored.
async fn demo_tick(
    state: &std::sync::Arc<crate::state::AppState>,
    devices: &mut [Demo],
    first: bool,
    rng: &mut rand::rngs::StdRng,
) -> Result<usize, crate::store::StoreError> {
    let s = super::of(state);
    let now = s.clock.now_ms();
    let shut: Vec<i64> = devices
        .iter()
        .filter(|d| d.kind == "door_magnet")
        .filter_map(|d| d.person)
        .take(DEMO_SHUT)
        .collect();
    // At the start, one smoke alarm and one elevator fault (each once).
    let alarm = first
        .then(|| {
            devices
                .iter()
                .find(|d| d.kind == "smoke_detector")
                .map(|d| d.id)
        })
        .flatten();
    let fault = first
        .then(|| devices.iter().find(|d| d.kind == "elevator").map(|d| d.id))
        .flatten();
    let mut batches: Vec<(
        std::sync::Arc<super::DeviceInfo>,
        Vec<super::ingest::Reading>,
    )> = Vec::new();
    for d in devices.iter_mut().filter(|d| !d.silent && d.next <= now) {
        if batches.len() >= DEMO_BATCH {
            break;
        }
        let Some(info) = s.device_by_id(&state.db, d.id).await? else {
            d.next = i64::MAX;
            continue;
        };
        if !info.active {
            d.next = next_report(&d.kind, now, rng);
            continue;
        }
        let is_shut = d.person.is_some_and(|p| shut.contains(&p));
        let mut sim = Sim {
            id: d.id,
            kind: d.kind.clone(),
            token: String::new(),
            person: d.person,
            volume: d.volume,
            cycles: d.cycles,
        };
        let mut body = payload(&mut sim, is_shut, now, rng);
        if Some(d.id) == alarm {
            body["values"]["smoke"] = serde_json::json!(1);
        }
        if Some(d.id) == fault {
            body["values"]["fault"] = serde_json::json!(1);
        }
        d.volume = sim.volume;
        d.cycles = sim.cycles;
        d.next = next_report(&d.kind, now, rng);
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        if let Ok(readings) = super::ingest::parse(&bytes, now) {
            batches.push((info, readings));
        }
    }
    if batches.is_empty() {
        return Ok(0);
    }
    let n: usize = batches.iter().map(|b| b.1.len()).sum();
    let set = s.rules();
    let batches = std::sync::Arc::new(batches);
    let b = batches.clone();
    let changes = state
        .db
        .write(move |c| super::ingest::store(c, &set, &b, now))
        .await?;
    s.metrics
        .readings
        .with_label_values(&["demo"])
        .inc_by(n as u64);
    s.publish(changes);
    for (dev, readings) in batches.iter() {
        s.publish_state(dev, readings);
    }
    Ok(n)
}
