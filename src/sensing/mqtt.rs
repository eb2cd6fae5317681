//! MQTT ingestion (rumqttc): linli connects to a broker (Mosquitto is the documented
//! choice), subscribes to `linli/+/telemetry` and `linli/+/event` at QoS 1 — the `+` is the
//! device id — and acknowledges each message only after its readings are committed (manual
//! acks). Messages that arrive together are stored in one transaction.
//!
//! The broker authenticates devices; its ACL should let a device write only under its own id
//! (Mosquitto: `pattern write linli/%u/#`). The session is persistent (clean session off), so
//! the broker keeps QoS 1 messages while linli is away. rumqttc does not restore
//! subscriptions after a reconnect by itself, nor back off: both are done here, on every
//! ConnAck and after every error.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use tokio::sync::mpsc;

use super::devices::DeviceInfo;
use super::ingest::{self, Reading};
use crate::kernel::i18n::both;
use crate::state::AppState;

/// Where to connect: `mqtt://[user:password@]host[:port][?client_id=ID&topic_root=linli]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Options {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub topic_root: String,
    pub credentials: Option<(String, String)>,
    /// Subscribed as the shared subscription `$share/linli/…` (`mqtt_shared`): the broker
    /// hands each message to one of the linli processes subscribed so.
    pub shared: bool,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        write!(
            f,
            "mqtt://{}:{} ({}, {})",
            self.host, self.port, self.client_id, self.topic_root
        )
    }
}

impl Options {
    pub fn parse(url: &str) -> Result<Options, String> {
        let rest = url
            .strip_prefix("mqtt://")
            .or_else(|| url.strip_prefix("tcp://"))
            .ok_or_else(|| {
                both(
                    "sensing.mqtt.scheme",
                    &[(
                        "got",
                        &format!("{:?}", url.split("://").next().unwrap_or("")),
                    )],
                )
            })?;
        let (auth_host, query) = rest.split_once('?').unwrap_or((rest, ""));
        let auth_host = auth_host.trim_end_matches('/');
        let (creds, hostport) = match auth_host.rsplit_once('@') {
            Some((c, h)) => {
                let (u, p) = c.split_once(':').unwrap_or((c, ""));
                (Some((u.to_string(), p.to_string())), h)
            }
            None => (None, auth_host),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse::<u16>()
                    .map_err(|_| both("sensing.mqtt.port", &[("port", &format!("{p:?}"))]))?,
            ),
            None => (hostport.to_string(), 1883),
        };
        if host.is_empty() {
            return Err(both("sensing.mqtt.host", &[]));
        }
        let mut o = Options {
            host,
            port,
            client_id: "linli".into(),
            topic_root: "linli".into(),
            credentials: creds,
            shared: false,
        };
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "client_id" => o.client_id = v.into_owned(),
                "topic_root" => o.topic_root = v.into_owned(),
                other => {
                    return Err(both(
                        "sensing.mqtt.parameter",
                        &[("name", &format!("{other:?}"))],
                    ));
                }
            }
        }
        if o.client_id.is_empty() || o.topic_root.is_empty() || o.topic_root.contains(['+', '#']) {
            return Err(both("sensing.mqtt.names", &[]));
        }
        Ok(o)
    }

    fn mqtt_options(&self) -> MqttOptions {
        let mut m = MqttOptions::new(self.client_id.clone(), self.host.clone(), self.port);
        m.set_keep_alive(Duration::from_secs(15));
        // A persistent session: the broker keeps what arrives while linli is away.
        m.set_clean_session(false);
        m.set_manual_acks(true);
        m.set_max_packet_size(1024 * 1024, 64 * 1024);
        if let Some((u, p)) = &self.credentials {
            m.set_credentials(u.clone(), p.clone());
        }
        m
    }

    pub fn topics(&self) -> [String; 2] {
        let share = if self.shared { SHARE } else { "" };
        [
            format!("{share}{}/+/telemetry", self.topic_root),
            format!("{share}{}/+/event", self.topic_root),
        ]
    }

    /// Several processes share the broker's messages (`mqtt_shared`): each subscribes to the
    /// shared subscription, under a client id of its own (two clients of one id put each
    /// other off the broker): the configured one, the machine's name and the port it
    /// listens on (`listen`), the same at every start so the broker's session is found again.
    pub fn share(&mut self, listen: &str) {
        let host = hostname();
        let port = listen.rsplit_once(':').map(|(_, p)| p).unwrap_or(listen);
        self.shared = true;
        self.client_id = format!("{}-{host}-{port}", self.client_id)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
    }
}

/// The prefix of a shared subscription (MQTT 5; Mosquitto and EMQX also offer it to 3.1.1
/// clients): `$share/<group>/<filter>`.
pub const SHARE: &str = "$share/linli/";

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// Connects, subscribes and feeds messages to the writer until the process ends.
pub async fn run(state: Arc<AppState>, opts: Options) {
    tracing::info!(broker = ?opts, "MQTT ingestion starting");
    let (client, mut eventloop) = AsyncClient::new(opts.mqtt_options(), 1024);
    let (tx, rx) = mpsc::channel::<Publish>(4096);
    let writer = tokio::spawn(writer(
        state.clone(),
        client.clone(),
        rx,
        opts.topic_root.clone(),
    ));
    let mut backoff = Duration::from_millis(250);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(session_present = ack.session_present, "MQTT connected");
                crate::sensing::of(&state).metrics.mqtt_connected.set(1);
                backoff = Duration::from_millis(250);
                // Always subscribe again: after a reconnect the subscriptions may be gone.
                let c = client.clone();
                let topics = opts.topics();
                tokio::spawn(async move {
                    let subs = topics
                        .into_iter()
                        .map(|t| rumqttc::SubscribeFilter::new(t, QoS::AtLeastOnce));
                    if let Err(e) = c.subscribe_many(subs).await {
                        tracing::error!(error = %e, "MQTT subscribe failed");
                    }
                });
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                tracing::debug!("MQTT subscribed");
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if tx.send(p).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                crate::sensing::of(&state).metrics.mqtt_connected.set(0);
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "MQTT connection lost; reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
    writer.abort();
}

/// The device id in `ROOT/ID/telemetry` or `ROOT/ID/event`.
fn device_id(topic: &str, root: &str) -> Option<i64> {
    let rest = topic.strip_prefix(root)?.strip_prefix('/')?;
    let (id, kind) = rest.split_once('/')?;
    if kind != "telemetry" && kind != "event" {
        return None;
    }
    id.parse().ok()
}

/// Stores messages in batches and acknowledges them after the commit.
async fn writer(
    state: Arc<AppState>,
    client: AsyncClient,
    mut rx: mpsc::Receiver<Publish>,
    root: String,
) {
    let s = &crate::sensing::of(&state);
    let mut pending: Vec<Publish> = Vec::with_capacity(512);
    while let Some(first) = rx.recv().await {
        pending.clear();
        pending.push(first);
        while pending.len() < 512 {
            match rx.try_recv() {
                Ok(p) => pending.push(p),
                Err(_) => break,
            }
        }
        let now = s.clock.now_ms();
        let mut batches: Vec<(Arc<DeviceInfo>, Vec<Reading>)> = Vec::new();
        for p in &pending {
            let Some(id) = device_id(&p.topic, &root) else {
                s.metrics.refuse("mqtt", "bad_topic");
                continue;
            };
            let dev = loop {
                match s.device_by_id(&state.db, id).await {
                    Ok(d) => break d,
                    Err(e) => {
                        tracing::error!(error = %e, "looking up a device failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            };
            let Some(dev) = dev else {
                s.metrics.refuse("mqtt", "unknown_device");
                continue;
            };
            if !dev.active {
                tracing::debug!(device = id, "MQTT message of a deactivated device refused");
                s.metrics.refuse("mqtt", "inactive_device");
                continue;
            }
            match ingest::parse(&p.payload, now) {
                Ok(r) => match batches.iter_mut().find(|(d, _)| d.id == dev.id) {
                    Some((_, v)) => v.extend(r),
                    None => batches.push((dev, r)),
                },
                Err(e) => {
                    tracing::debug!(
                        device = id,
                        reason = e.reason.as_str(),
                        "MQTT payload refused"
                    );
                    s.metrics.refuse("mqtt", e.reason.as_str());
                }
            }
        }
        let n: usize = batches.iter().map(|b| b.1.len()).sum();
        if n > 0 {
            let batches = Arc::new(batches);
            let mut wait = Duration::from_millis(100);
            // Nothing is acknowledged before it is stored: retry until the database takes it.
            let changes = loop {
                let set = s.rules();
                let b = batches.clone();
                match state
                    .db
                    .write(move |c| ingest::store(c, &set, &b, now))
                    .await
                {
                    Ok(ch) => break ch,
                    Err(e) => {
                        tracing::error!(error = %e, "storing MQTT readings failed; retrying");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(10));
                    }
                }
            };
            s.metrics
                .readings
                .with_label_values(&["mqtt"])
                .inc_by(n as u64);
            s.publish(changes);
            for (dev, readings) in batches.iter() {
                s.publish_state(dev, readings);
            }
        }
        // Refused messages are acknowledged too: redelivering them would not make them valid.
        for p in &pending {
            if let Err(e) = client.ack(p).await {
                tracing::warn!(error = %e, "MQTT ack failed (the broker will redeliver)");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_broker_urls() {
        let o = Options::parse("mqtt://u:p@broker.local:1884?client_id=a&topic_root=t").unwrap();
        assert_eq!(
            (
                o.host.as_str(),
                o.port,
                o.client_id.as_str(),
                o.topic_root.as_str()
            ),
            ("broker.local", 1884, "a", "t")
        );
        assert_eq!(o.credentials, Some(("u".into(), "p".into())));
        assert!(!format!("{o:?}").contains('p') || !format!("{o:?}").contains(":p"));
        assert_eq!(Options::parse("mqtt://127.0.0.1").unwrap().port, 1883);
        assert!(Options::parse("http://x").is_err());
        assert!(Options::parse("mqtt://x?bogus=1").is_err());
        assert_eq!(device_id("linli/42/telemetry", "linli"), Some(42));
        assert_eq!(device_id("linli/42/other", "linli"), None);
        assert_eq!(device_id("linlix/42/event", "linli"), None);
    }

    #[test]
    fn a_shared_subscription_has_a_client_id_per_process() {
        let mut o = Options::parse("mqtt://127.0.0.1?client_id=linli&topic_root=t").unwrap();
        assert_eq!(o.topics()[0], "t/+/telemetry");
        o.share("0.0.0.0:8081");
        assert_eq!(
            o.topics(),
            ["$share/linli/t/+/telemetry", "$share/linli/t/+/event"]
        );
        assert!(o.client_id.starts_with("linli-") && o.client_id.ends_with("-8081"));
        // Messages arrive under their own topic, not the subscription's.
        assert_eq!(device_id("t/7/event", "t"), Some(7));
    }
}
