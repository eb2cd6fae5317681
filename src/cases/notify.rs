//! Notifications: an in-app inbox for every user, and for organisations an outbound webhook
//! (JSON signed with HMAC-SHA256) that a site can connect to an SMS or WeChat gateway. Both are
//! rows written in the same transaction as the step they report; webhooks are delivered by a
//! background job with retries, its state in `webhook_deliveries`.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

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
        users.extend(
            c.query(
                "SELECT r.user_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE r.org_id = $1 AND u.active = 1",
                params![o],
            )?
            .iter()
            .map(|r| r.i64(0)),
        );
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
    let rows = c.query(
        "SELECT r.user_id, p.path, p.kind, r.role FROM user_roles r JOIN places p ON p.id = r.place_id \
         JOIN users u ON u.id = r.user_id WHERE u.active = 1 AND (p.street_id = $1 OR p.id = $1 OR p.kind = 'district')",
        params![street_id],
    )?;
    Ok(rows
        .iter()
        .filter(|r| {
            kinds.contains(&r.str(2).as_str())
                && roles.contains(&r.str(3).as_str())
                && crate::org::Scope::covers(&[r.str(1)], place_path)
        })
        .map(|r| r.i64(0))
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

type Body = http_body_util::Full<bytes::Bytes>;
type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Body,
>;

/// The webhook client, built once: HTTPS checked against the system's CA certificates (and
/// plain HTTP). Without any CA certificate on the machine only plain HTTP is possible, and
/// an HTTPS delivery fails saying so.
fn client() -> std::result::Result<&'static HttpsClient, &'static str> {
    static CLIENT: std::sync::OnceLock<std::result::Result<HttpsClient, String>> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let tls = hyper_rustls::HttpsConnectorBuilder::new()
                .with_native_roots()
                .map_err(|e| format!("no CA certificates on this machine for HTTPS: {e}"))?;
            let connector = tls.https_or_http().enable_http1().build();
            Ok(
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build(connector),
            )
        })
        .as_ref()
        .map_err(String::as_str)
}

/// Posts one delivery.
pub async fn post(d: &Claimed) -> std::result::Result<(), String> {
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let req = hyper::Request::post(&d.url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature(&d.secret, &d.body))
        .header("user-agent", "linli-webhook")
        .body(Full::new(bytes::Bytes::from(d.body.clone())))
        .map_err(|e| e.to_string())?;
    let send = async {
        match client() {
            Ok(c) => c.request(req).await.map_err(|e| format!("{e:?}")),
            Err(why) if d.url.starts_with("https://") => Err(why.to_string()),
            // Plain HTTP needs no certificates.
            Err(_) => {
                let plain: Client<_, Body> = Client::builder(TokioExecutor::new()).build_http();
                plain.request(req).await.map_err(|e| format!("{e:?}"))
            }
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

/// Delivers what is due; returns how many were delivered.
pub async fn deliver_due(
    db: &crate::store::Db,
    now: i64,
) -> std::result::Result<usize, StoreError> {
    let claimed = db.write(move |c| claim(c, now, 50)).await?;
    let mut ok = 0;
    for d in claimed {
        let outcome = post(&d).await;
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
