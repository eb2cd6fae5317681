//! Web Push (RFC 8030): a browser that subscribed (a phone that added linli to its home
//! screen) gets linli's messages without an app. The payload is encrypted for that browser
//! alone (RFC 8291, `aes128gcm`, by `web-push-native` on RustCrypto) and the request carries
//! the deployment's VAPID identity (RFC 8292: an ES256 JWT and the public key), so that the
//! push service accepts it and the browser knows it comes from linli.
//!
//! One VAPID key per deployment, not per street: a browser subscribes one origin's service
//! worker with one application-server key, and a deployment is one origin. The key is a file
//! in the keys folder (`vapid.key`, 0600, wrapped by the passphrase like `field.key`).

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde::{Deserialize, Serialize};

use crate::store::keys::{KeyError, load_or_create_key};

/// The key file's name in the keys folder.
pub const KEY_FILE: &str = "vapid.key";

/// How long a push service keeps a message for a browser that is offline: a day (a care
/// alert an hour late still matters; one a week late does not).
pub const TTL: Duration = Duration::from_secs(24 * 3600);

/// How long a VAPID JWT is valid: RFC 8292 §2 caps it at a day; twelve hours as most do.
const JWT_VALID_S: i64 = 12 * 3600;

/// The most of a message's text a push carries: push services take 4,096 bytes of encrypted
/// record (RFC 8030 §7.2), 103 of which are RFC 8291's header, tag and padding delimiter.
const MAX_TEXT_CHARS: usize = 500;

/// The deployment's VAPID key pair. `Debug` never shows it.
#[derive(Clone)]
pub struct Vapid {
    key: SigningKey,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vapid(***)")
    }
}

impl Vapid {
    /// Loads `vapid.key` from the keys folder, creating it (0600) at first use.
    pub fn load(keys_dir: &Path, passphrase: Option<&str>) -> Result<Vapid, KeyError> {
        let raw = load_or_create_key(keys_dir, KEY_FILE, 32, passphrase)?;
        // A random 32 bytes is a valid P-256 scalar but with probability 2^-32 (zero or
        // above the group order): such a file is reported as damaged, to be deleted.
        let key = SigningKey::from_slice(&raw)
            .map_err(|_| KeyError::Damaged(keys_dir.join(KEY_FILE).display().to_string()))?;
        Ok(Vapid { key })
    }

    pub fn from_bytes(raw: &[u8]) -> Option<Vapid> {
        SigningKey::from_slice(raw).ok().map(|key| Vapid { key })
    }

    /// The public key as the browser's `applicationServerKey` takes it: the uncompressed
    /// point, base64url without padding.
    pub fn public_key(&self) -> String {
        B64.encode(self.key.verifying_key().to_encoded_point(false).as_bytes())
    }

    /// The JWT for one push service (`aud` is its origin), signed ES256 (RFC 7515: the
    /// signature is r ‖ s, 64 bytes).
    pub fn jwt(&self, aud: &str, sub: &str, exp_s: i64) -> String {
        let header = B64.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims =
            B64.encode(serde_json::json!({"aud": aud, "exp": exp_s, "sub": sub}).to_string());
        let input = format!("{header}.{claims}");
        let sig: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.to_bytes()))
    }

    /// The `Authorization` header of RFC 8292 §3 for a request to `endpoint`.
    pub fn authorization(&self, endpoint: &str, sub: &str, now_ms: i64) -> Result<String, String> {
        let aud = origin(endpoint).ok_or("the endpoint is not an http(s) URL")?;
        let jwt = self.jwt(&aud, sub, now_ms / 1000 + JWT_VALID_S);
        Ok(format!("vapid t={jwt}, k={}", self.public_key()))
    }
}

/// `https://host[:port]` of a URL.
pub fn origin(url: &str) -> Option<String> {
    let u: hyper::Uri = url.parse().ok()?;
    let scheme = u.scheme_str().filter(|s| matches!(*s, "http" | "https"))?;
    let auth = u.authority()?;
    Some(format!("{scheme}://{auth}"))
}

/// A browser's subscription as `PushSubscription.toJSON()` gives it (`keys.p256dh`,
/// `keys.auth`), kept encrypted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub endpoint: String,
    /// The browser's P-256 public key, uncompressed, base64url.
    pub p256dh: String,
    /// The browser's 16-byte authentication secret, base64url.
    pub auth: String,
}

fn b64_any(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().trim_end_matches('=');
    B64.decode(s).ok().or_else(|| {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(s)
            .ok()
    })
}

impl Subscription {
    /// Checks a subscription as the browser posted it (the reason as a catalogue key).
    pub fn check(endpoint: &str, p256dh: &str, auth: &str) -> Result<Subscription, &'static str> {
        let endpoint = endpoint.trim();
        if endpoint.len() > 2000
            || !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
            || origin(endpoint).is_none()
        {
            return Err("reach.err.push_endpoint");
        }
        let key = b64_any(p256dh)
            .filter(|k| k.len() == 65)
            .and_then(|k| p256::PublicKey::from_sec1_bytes(&k).ok())
            .ok_or("reach.err.push_keys")?;
        let secret = b64_any(auth)
            .filter(|a| a.len() == 16)
            .ok_or("reach.err.push_keys")?;
        Ok(Subscription {
            endpoint: endpoint.to_string(),
            p256dh: B64.encode(key.to_encoded_point(false).as_bytes()),
            auth: B64.encode(secret),
        })
    }

    /// The push service's host, for lists.
    pub fn host(&self) -> String {
        self.endpoint
            .parse::<hyper::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_string))
            .unwrap_or_default()
    }
}

/// What the service worker shows: JSON, which `static/reach-sw.js` reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Payload {
    pub title: String,
    pub body: String,
    /// Where a tap on the notification goes.
    pub url: String,
    pub urgent: bool,
    /// The same tag replaces an earlier notification of the same message.
    pub tag: String,
}

impl Payload {
    pub fn new(subject: &str, text: &str, url: &str, urgent: bool, tag: &str) -> Payload {
        let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        Payload {
            title: cut(subject, 80),
            body: cut(text, MAX_TEXT_CHARS),
            url: cut(url, 1000),
            urgent,
            tag: cut(tag, 100),
        }
    }
}

/// One push request, ready for `net::send`.
pub struct Request {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Encrypts `payload` for the subscription (RFC 8291) and signs the request (RFC 8292), with
/// `TTL` and `Urgency` (RFC 8030 §5.2, §5.3: `high` for an urgent message, so that a phone
/// saving its battery still wakes).
pub fn request(
    vapid: &Vapid,
    s: &Subscription,
    payload: &Payload,
    contact: &str,
    now_ms: i64,
) -> Result<Request, String> {
    let ua_public = b64_any(&s.p256dh)
        .and_then(|k| p256::PublicKey::from_sec1_bytes(&k).ok())
        .ok_or("the subscription's p256dh key is damaged")?;
    let auth = b64_any(&s.auth)
        .filter(|a| a.len() == 16)
        .ok_or("the subscription's auth secret is damaged")?;
    let uri: hyper::Uri = s
        .endpoint
        .parse()
        .map_err(|e| format!("bad endpoint: {e}"))?;
    let body = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
    let req = web_push_native::WebPushBuilder::new(
        uri,
        ua_public,
        web_push_native::Auth::clone_from_slice(&auth),
    )
    .with_valid_duration(TTL)
    .build(body)
    .map_err(|e| format!("encrypting the payload: {e}"))?;
    let mut headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter(|(k, _)| *k != hyper::header::CONTENT_LENGTH)
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    headers.push((
        "authorization".into(),
        vapid.authorization(&s.endpoint, contact, now_ms)?,
    ));
    headers.push((
        "urgency".into(),
        if payload.urgent { "high" } else { "normal" }.into(),
    ));
    Ok(Request {
        url: s.endpoint.clone(),
        headers,
        body: req.into_body(),
    })
}

/// What a push service's answer means.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 201 Created (RFC 8030 §5), or any 2xx.
    Taken,
    /// 404 or 410: the subscription expired or the browser unsubscribed; it goes.
    Gone(String),
    /// Anything else: tried again later.
    Retry(String),
}

pub fn verdict(status: u16, body: &str) -> Verdict {
    let why = || {
        format!(
            "HTTP {status}: {}",
            body.chars().take(200).collect::<String>()
        )
    };
    match status {
        200..=299 => Verdict::Taken,
        404 | 410 => Verdict::Gone(why()),
        _ => Verdict::Retry(why()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    #[test]
    fn the_jwt_verifies_with_the_public_key() {
        let v = Vapid::from_bytes(&[7u8; 32]).unwrap();
        let auth = v
            .authorization(
                "https://push.example.com:8443/s/abc",
                "mailto:a@b.cn",
                1_700_000_000_000,
            )
            .unwrap();
        let (t, k) = auth
            .strip_prefix("vapid t=")
            .unwrap()
            .split_once(", k=")
            .unwrap();
        assert_eq!(k, v.public_key());
        let parts: Vec<&str> = t.split('.').collect();
        let claims: serde_json::Value =
            serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example.com:8443");
        assert_eq!(claims["exp"], 1_700_000_000 + JWT_VALID_S);
        let key = VerifyingKey::from_sec1_bytes(&B64.decode(k).unwrap()).unwrap();
        let sig = Signature::from_slice(&B64.decode(parts[2]).unwrap()).unwrap();
        key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn subscriptions_are_checked() {
        let ua = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let p = B64.encode(ua.verifying_key().to_encoded_point(false).as_bytes());
        let a = B64.encode([1u8; 16]);
        assert!(Subscription::check("https://fcm.googleapis.com/wp/x", &p, &a).is_ok());
        assert_eq!(
            Subscription::check("ftp://x/y", &p, &a),
            Err("reach.err.push_endpoint")
        );
        assert_eq!(
            Subscription::check("https://x/y", "AAAA", &a),
            Err("reach.err.push_keys")
        );
        assert_eq!(
            Subscription::check("https://x/y", &p, "AAAA"),
            Err("reach.err.push_keys")
        );
        assert_eq!(verdict(201, ""), Verdict::Taken);
        assert!(matches!(verdict(410, "gone"), Verdict::Gone(_)));
        assert!(matches!(verdict(429, ""), Verdict::Retry(_)));
    }
}
