//! Notifications: an in-app inbox for every user, and for organisations an outbound webhook
//! (JSON signed with HMAC-SHA256) that a site can connect to an SMS or WeChat gateway. Both are
//! rows written in the same transaction as the step they report; webhooks are delivered by a
//! background job with retries, its state in `webhook_deliveries`.
//!
//! A webhook never reaches this machine or the networks behind it (loopback, private and
//! link-local addresses: the database's port, a cloud's metadata service) unless the
//! administrator allows that address in `webhook_allow` ([`AllowList`]). The address is
//! checked when the webhook is saved and again, on every address its name resolves to, each
//! time it is sent: the connection goes to the addresses checked, so a name that resolves
//! elsewhere later (DNS rebinding) is caught too.

use std::net::{IpAddr, SocketAddr};

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::kernel::i18n::en_zh;
use crate::params;
use crate::store::{Conn, Result, StoreError};

/// Inbox entries for some users.
pub fn to_users(
    c: &mut dyn Conn,
    street_id: i64,
    users: &[i64],
    kind: &str,
    case_id: i64,
    note: &str,
    now: i64,
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for u in users {
        if seen.insert(*u) {
            c.exec(
                "INSERT INTO inbox (street_id, user_id, kind, case_id, note, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                params![street_id, *u, kind, case_id, note, now],
            )?;
        }
    }
    Ok(())
}

/// Tells whoever handles a case: the members of the organisation (and its webhook) or the user.
#[allow(clippy::too_many_arguments)]
pub fn to_handler(
    c: &mut dyn Conn,
    street_id: i64,
    org: Option<i64>,
    user: Option<i64>,
    kind: &str,
    case_id: i64,
    note: &str,
    now: i64,
) -> Result<()> {
    let mut users: Vec<i64> = user.into_iter().collect();
    if let Some(o) = org {
        users.extend(crate::org::users::active_members(c, o)?);
        enqueue_webhook(c, street_id, o, kind, case_id, note, now)?;
    }
    to_users(c, street_id, &users, kind, case_id, note, now)
}

/// Tells the officials of a case's area at an escalation level: 0 the grid's workers and the
/// operations centre (street administrators), 1 the community's workers, 2 the street's
/// administrators, 3 the district's.
#[allow(clippy::too_many_arguments)]
pub fn to_dispatchers(
    c: &mut dyn Conn,
    street_id: i64,
    place_path: &str,
    level: i64,
    kind: &str,
    case_id: i64,
    note: &str,
    now: i64,
) -> Result<()> {
    let users = dispatchers(c, street_id, place_path, level)?;
    to_users(c, street_id, &users, kind, case_id, note, now)
}

/// The officials [`to_dispatchers`] tells at a level.
pub fn dispatchers(
    c: &mut dyn Conn,
    street_id: i64,
    place_path: &str,
    level: i64,
) -> Result<Vec<i64>> {
    let (kinds, roles): (&[&str], &[&str]) = match level {
        0 => (
            &["street", "community"],
            &["street_admin", "community_worker"],
        ),
        1 => (&["community"], &["community_worker"]),
        2 => (&["street"], &["street_admin"]),
        _ => (&["district"], &["district_admin"]),
    };
    Ok(crate::org::users::place_grants_for_street(c, street_id)?
        .into_iter()
        .filter(|g| {
            kinds.contains(&g.kind.as_str())
                && roles.contains(&g.role.as_str())
                && crate::org::Scope::covers(std::slice::from_ref(&g.path), place_path)
        })
        .map(|g| g.user_id)
        .collect())
}

fn enqueue_webhook(
    c: &mut dyn Conn,
    street_id: i64,
    org: i64,
    kind: &str,
    case_id: i64,
    note: &str,
    now: i64,
) -> Result<()> {
    let Some(hook) = c.query_opt(
        "SELECT url FROM org_webhooks WHERE org_id = $1",
        params![org],
    )?
    else {
        return Ok(());
    };
    let body = serde_json::json!({
        "event": kind,
        "case_id": case_id,
        "org_id": org,
        "note": note,
        "at": now,
    })
    .to_string();
    c.exec(
        "INSERT INTO webhook_deliveries (street_id, org_id, url, body, attempts, next_at, created_at) VALUES ($1, $2, $3, $4, 0, $5, $5)",
        params![street_id, org, hook.str(0), body, now],
    )?;
    Ok(())
}

/// One entry of a user's inbox.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InboxItem {
    pub id: i64,
    /// dispatched, supervision, escalated, warning, resolved, closed, ...
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<i64>,
    pub note: String,
    pub created_at: i64,
    pub read: bool,
}

pub fn inbox(c: &mut dyn Conn, user_id: i64, limit: i64) -> Result<Vec<InboxItem>> {
    Ok(c.query(
        &format!(
            "SELECT id, kind, case_id, note, created_at, read_at FROM inbox WHERE user_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT {}",
            limit.clamp(1, 500)
        ),
        params![user_id],
    )?
    .into_iter()
    .map(|mut r| InboxItem {
        id: r.i64(0),
        kind: r.take_str(1).unwrap_or_default(),
        case_id: r.opt_i64(2),
        // A step's note, written by someone else: numbers in it masked.
        note: crate::privacy::mask::free_text(&r.take_str(3).unwrap_or_default()),
        created_at: r.i64(4),
        read: r.opt_i64(5).is_some(),
    })
    .collect())
}

pub fn unread(c: &mut dyn Conn, user_id: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM inbox WHERE user_id = $1 AND read_at IS NULL",
        params![user_id],
    )
}

/// Marks every unread entry of the user read; returns how many.
pub fn mark_all_read(c: &mut dyn Conn, user_id: i64, now: i64) -> Result<u64> {
    c.exec(
        "UPDATE inbox SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL",
        params![user_id, now],
    )
}

/// Marks one of the user's own entries read; false when it is not theirs.
pub fn mark_read(c: &mut dyn Conn, user_id: i64, id: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE inbox SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND user_id = $2",
        params![id, user_id, now],
    )? > 0)
}

/// Sets (or with `None`, removes) an organisation's webhook.
pub fn set_webhook(
    c: &mut dyn Conn,
    street_id: i64,
    org_id: i64,
    hook: Option<(&str, &str)>,
) -> Result<()> {
    c.exec(
        "DELETE FROM org_webhooks WHERE org_id = $1",
        params![org_id],
    )?;
    if let Some((url, secret)) = hook {
        c.exec(
            "INSERT INTO org_webhooks (org_id, street_id, url, secret, created_at) VALUES ($1, $2, $3, $4, $5)",
            params![org_id, street_id, url, secret, crate::store::now_ms()],
        )?;
    }
    Ok(())
}

/// The signature header's value: `sha256=` and the hex HMAC-SHA256 of the body.
pub fn signature(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub const SIGNATURE_HEADER: &str = "x-linli-signature";
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 8;

/// A delivery claimed for sending.
pub struct Claimed {
    pub id: i64,
    pub url: String,
    pub body: String,
    pub secret: String,
    pub attempts: i64,
}

/// Claims due deliveries: moves their next attempt a minute on, so that another instance (or
/// this one after a crash) retries only if this attempt's outcome is never recorded.
pub fn claim(c: &mut dyn Conn, now: i64, limit: i64) -> Result<Vec<Claimed>> {
    let rows = c.query(
        &format!(
            "SELECT d.id, d.url, d.body, COALESCE(h.secret, ''), d.attempts, d.next_at FROM webhook_deliveries d \
             LEFT JOIN org_webhooks h ON h.org_id = d.org_id WHERE d.next_at <= $1 ORDER BY d.next_at LIMIT {limit}"
        ),
        params![now],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let n = c.exec(
            "UPDATE webhook_deliveries SET next_at = $2 WHERE id = $1 AND next_at = $3",
            params![r.i64(0), now + 60_000, r.i64(5)],
        )?;
        if n == 1 {
            out.push(Claimed {
                id: r.i64(0),
                url: r.str(1),
                body: r.str(2),
                secret: r.str(3),
                attempts: r.i64(4),
            });
        }
    }
    Ok(out)
}

/// Records an attempt's outcome: delivered, or retried with exponential backoff
/// (30 s, 1 min, 2 min, ... ) until [`MAX_ATTEMPTS`].
pub fn record_attempt(
    c: &mut dyn Conn,
    d: &Claimed,
    outcome: std::result::Result<(), String>,
    now: i64,
) -> Result<()> {
    let attempts = d.attempts + 1;
    match outcome {
        Ok(()) => c.exec(
            "UPDATE webhook_deliveries SET attempts = $2, next_at = NULL, delivered_at = $3, last_error = NULL WHERE id = $1",
            params![d.id, attempts, now],
        )?,
        Err(e) => {
            let next = (attempts < MAX_ATTEMPTS).then(|| now + 30_000 * (1i64 << (attempts - 1)));
            c.exec(
                "UPDATE webhook_deliveries SET attempts = $2, next_at = $3, last_error = $4 WHERE id = $1",
                params![d.id, attempts, next, e],
            )?
        }
    };
    Ok(())
}

/// The addresses a webhook may reach although they are not public, as the administrator
/// lists them in `webhook_allow` (linli.toml, or `LINLI_WEBHOOK_ALLOW` separated by commas):
/// an address (`127.0.0.1`, `::1`), a range (`10.1.0.0/16`) or a host name (`gateway.lan`,
/// allowed whatever it resolves to).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AllowList {
    hosts: Vec<String>,
    nets: Vec<(IpAddr, u8)>,
}

impl AllowList {
    pub fn parse(entries: &[String]) -> std::result::Result<AllowList, String> {
        let mut out = AllowList::default();
        for e in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let (addr, bits) = match e.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (e, None),
            };
            match (addr.trim_matches(['[', ']']).parse::<IpAddr>(), bits) {
                (Ok(ip), None) => out.nets.push((ip, if ip.is_ipv4() { 32 } else { 128 })),
                (Ok(ip), Some(b)) => {
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    match b.parse::<u8>() {
                        Ok(n) if n <= max => out.nets.push((ip, n)),
                        _ => {
                            return Err(en_zh(
                                "case.webhook_allow.range",
                                &[("entry", &format!("{e:?}"))],
                            ));
                        }
                    }
                }
                (Err(_), None)
                    if e.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') =>
                {
                    out.hosts.push(e.to_ascii_lowercase())
                }
                _ => {
                    return Err(en_zh(
                        "case.webhook_allow.entry",
                        &[("entry", &format!("{e:?}"))],
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Whether a webhook for `host` may connect to `ip`: a public address, or one allowed.
    pub fn permits(&self, host: &str, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        is_public(ip)
            || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
            || self
                .nets
                .iter()
                .any(|(net, bits)| within(ip, canonical(*net), *bits))
    }
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn within(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = width - u32::from(bits.min(width as u8));
    if shift >= 128 {
        return true;
    }
    (a >> shift) == (b >> shift)
}

/// Whether an address is on the public internet: not this machine (loopback, unspecified),
/// not a private network (RFC 1918, RFC 6598 shared space, IPv6 unique local), not link-local
/// (RFC 3927, where cloud metadata services answer), not multicast or broadcast.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xC0) == 64))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xFE00) == 0xFC00
                || (s[0] & 0xFFC0) == 0xFE80
                || (s[0] & 0xFFC0) == 0xFEC0)
        }
    }
}

/// Why a webhook address is refused, for the delivery's error and the log.
fn refused(host: &str, ip: IpAddr) -> String {
    format!(
        "{host} is {ip}, an address of this machine or a private network; \
         allow it with webhook_allow in linli.toml if it is meant"
    )
}

/// Checks a webhook address when it is saved: an address given, or every address its name
/// resolves to now, must be [`AllowList::permits`]. A name that does not resolve now is let
/// through: it is checked again at every delivery.
pub async fn check_destination(url: &str, allow: &AllowList) -> std::result::Result<(), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let host = uri
        .host()
        .unwrap_or("")
        .trim_matches(['[', ']'])
        .to_string();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return if allow.permits(&host, ip) {
            Ok(())
        } else {
            Err(refused(&host, ip))
        };
    }
    let port = uri.port_u16().unwrap_or(80);
    let found = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await;
    if let Ok(Ok(addrs)) = found {
        for a in addrs {
            if !allow.permits(&host, a.ip()) {
                return Err(refused(&host, a.ip()));
            }
        }
    }
    Ok(())
}

/// The resolver of webhook connections: resolves a name and hands the connector only
/// addresses the allow-list permits, refusing the connection if any is not — the check and
/// the connection use the same answer.
#[derive(Clone)]
struct Guard(std::sync::Arc<AllowList>);

type Resolved = std::pin::Pin<
    Box<dyn std::future::Future<Output = std::io::Result<std::vec::IntoIter<SocketAddr>>> + Send>,
>;

impl tower::Service<hyper_util::client::legacy::connect::dns::Name> for Guard {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolved;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Resolved {
        let allow = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !allow.permits(&host, a.ip())) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    refused(&host, bad.ip()),
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

type Body = http_body_util::Full<bytes::Bytes>;
type Connector = hyper_util::client::legacy::connect::HttpConnector<Guard>;
type HttpsClient =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<Connector>, Body>;

/// The webhook client for an allow-list, built once per list (one in a running server):
/// HTTPS checked against the system's CA certificates, and plain HTTP. Without any CA
/// certificate on the machine only plain HTTP is possible, and an HTTPS delivery fails
/// saying so.
fn client(allow: &AllowList) -> std::result::Result<HttpsClient, String> {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    type Clients = std::collections::HashMap<AllowList, std::result::Result<HttpsClient, String>>;
    static CLIENTS: std::sync::Mutex<Option<Clients>> = std::sync::Mutex::new(None);
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    clients
        .get_or_insert_with(Default::default)
        .entry(allow.clone())
        .or_insert_with(|| {
            let tls = hyper_rustls::HttpsConnectorBuilder::new()
                .with_native_roots()
                .map_err(|e| format!("no CA certificates on this machine for HTTPS: {e}"))?;
            let mut http = Connector::new_with_resolver(Guard(std::sync::Arc::new(allow.clone())));
            http.enforce_http(false);
            Ok(Client::builder(TokioExecutor::new())
                .build(tls.https_or_http().enable_http1().wrap_connector(http)))
        })
        .clone()
}

/// A client for plain HTTP only, for a machine without CA certificates.
fn plain_client(allow: &AllowList) -> hyper_util::client::legacy::Client<Connector, Body> {
    let http = Connector::new_with_resolver(Guard(std::sync::Arc::new(allow.clone())));
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(http)
}

/// Posts one delivery, to an address the allow-list permits only.
pub async fn post(d: &Claimed, allow: &AllowList) -> std::result::Result<(), String> {
    use http_body_util::Full;
    let uri: hyper::Uri = d.url.parse().map_err(|e| format!("{e}"))?;
    // An address written as such is never resolved, so it is checked here; a name is checked
    // by the connector's resolver, on the very addresses it connects to.
    let host = uri
        .host()
        .unwrap_or("")
        .trim_matches(['[', ']'])
        .to_string();
    if let Ok(ip) = host.parse::<IpAddr>()
        && !allow.permits(&host, ip)
    {
        return Err(refused(&host, ip));
    }
    let req = hyper::Request::post(uri)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature(&d.secret, &d.body))
        .header("user-agent", "linli-webhook")
        .body(Full::new(bytes::Bytes::from(d.body.clone())))
        .map_err(|e| e.to_string())?;
    let send = async {
        match client(allow) {
            Ok(c) => c.request(req).await.map_err(|e| format!("{e:?}")),
            Err(why) if d.url.starts_with("https://") => Err(why),
            Err(_) => plain_client(allow)
                .request(req)
                .await
                .map_err(|e| format!("{e:?}")),
        }
    };
    let res = tokio::time::timeout(std::time::Duration::from_secs(10), send)
        .await
        .map_err(|_| "timed out".to_string())??;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", res.status().as_u16()))
    }
}

/// Delivers what is due, to addresses `allow` permits; returns how many were delivered.
pub async fn deliver_due(
    db: &crate::store::Db,
    allow: &AllowList,
    now: i64,
) -> std::result::Result<usize, StoreError> {
    let claimed = db.write(move |c| claim(c, now, 50)).await?;
    let mut ok = 0;
    for d in claimed {
        let outcome = post(&d, allow).await;
        if outcome.is_ok() {
            ok += 1;
        } else if let Err(e) = &outcome {
            tracing::warn!(delivery = d.id, error = %e, "a webhook delivery failed");
        }
        let at = crate::store::now_ms();
        db.write(move |c| record_attempt(c, &d, outcome, at))
            .await?;
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_unless_allowed() {
        for a in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip(a)), "{a}");
        }
        for a in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert!(is_public(ip(a)), "{a}");
        }
        let none = AllowList::default();
        assert!(!none.permits("x", ip("127.0.0.1")));
        let allow = AllowList::parse(&[
            "127.0.0.1".into(),
            "10.1.0.0/16".into(),
            "[::1]".into(),
            "Gateway.LAN".into(),
        ])
        .unwrap();
        assert!(allow.permits("x", ip("127.0.0.1")));
        assert!(allow.permits("x", ip("::ffff:127.0.0.1")));
        assert!(!allow.permits("x", ip("127.0.0.2")));
        assert!(allow.permits("x", ip("10.1.200.3")));
        assert!(!allow.permits("x", ip("10.2.0.1")));
        assert!(allow.permits("x", ip("::1")));
        assert!(allow.permits("gateway.lan", ip("192.168.1.9")));
        assert!(!allow.permits("other.lan", ip("192.168.1.9")));
        assert!(AllowList::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(AllowList::parse(&["http://x/".into()]).is_err());
        assert!(
            AllowList::parse(&["0.0.0.0/0".into()])
                .unwrap()
                .permits("x", ip("10.0.0.1"))
        );
    }
}
