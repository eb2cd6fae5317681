//! Gates' types and rules: what a passage is, what a pass says and how it is signed, the kinds
//! of parking spaces and of self-governed rules. Pure: no SQL, no HTTP.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Passages per request at most.
pub const MAX_PASSAGES: usize = 5_000;
/// Retention of the access log when the estate did not set one.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;
/// A pass is valid for at most this long.
pub const MAX_WINDOW_MS: i64 = 7 * 86_400_000;
/// A pass lets in at most this many entries.
pub const MAX_ENTRIES: i64 = 20;
/// A passage may be stamped at most this far ahead of the server's clock.
pub const MAX_FUTURE_MS: i64 = 10 * 60_000;

/// In or out.
pub fn direction_ok(s: &str) -> bool {
    matches!(s, "in" | "out")
}

/// How a passage was opened: a card, a QR pass, a plate read by a barrier, or the device's own
/// resident id. Never an image.
pub const BY_KINDS: [&str; 4] = ["card", "qr", "plate", "resident"];

pub const GATE_KINDS: [&str; 2] = ["pedestrian", "barrier"];

pub const SPACE_KINDS: [&str; 4] = ["owned", "rented", "shared", "visitor"];

/// Self-governed rules: 错峰共享 (a shared space open to nearby offices between two times of
/// the day), a visitor's time limit (minutes), a fee (fen per hour).
pub const RULE_KINDS: [&str; 3] = ["time_shared", "visitor_limit", "fee"];

/// One passage as a gate reports it.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Passage {
    /// Unix milliseconds; the server's time when left out.
    #[serde(default)]
    pub ts: Option<i64>,
    /// `in` or `out`.
    pub direction: String,
    /// `card`, `qr`, `plate` or `resident`.
    pub by: String,
    /// The card number, pass code, plate or the device's resident id, as the device read it.
    pub id: String,
}

/// A passage checked: its time, plate normalised.
#[derive(Clone, Debug)]
pub struct Checked {
    pub at: i64,
    pub direction: &'static str,
    pub by: &'static str,
    pub credential: String,
}

/// A plate as kept: upper case, no spaces or dots (`沪A·12345` → `沪A12345`).
pub fn plate(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '.' | '-'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// Why a passage was refused: a catalogue key.
pub fn check(p: &Passage, now: i64) -> Result<Checked, &'static str> {
    let direction = match p.direction.as_str() {
        "in" => "in",
        "out" => "out",
        _ => return Err("gates.err_direction"),
    };
    let Some(by) = BY_KINDS.iter().find(|k| **k == p.by) else {
        return Err("gates.err_by");
    };
    let id = p.id.trim();
    if id.is_empty() || id.chars().count() > 200 || id.chars().any(char::is_control) {
        return Err("gates.err_credential");
    }
    let at = p.ts.unwrap_or(now);
    if at > now + MAX_FUTURE_MS || at < 1_000_000_000_000 {
        return Err("gates.err_time");
    }
    let credential = if *by == "plate" {
        plate(id)
    } else {
        id.to_string()
    };
    Ok(Checked {
        at,
        direction,
        by,
        credential,
    })
}

/// What a signed pass says: enough for the guard's phone to check it without the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    pub pass_id: i64,
    pub estate_id: i64,
    pub valid_from: i64,
    pub valid_until: i64,
    pub entries: i64,
}

impl Claims {
    fn payload(&self) -> String {
        format!(
            "p1:{}:{}:{}:{}:{}",
            self.pass_id, self.estate_id, self.valid_from, self.valid_until, self.entries
        )
    }
}

/// The pass's code: `payload.signature`, both base64url. The payload is the claims as text
/// (`p1:id:estate:from:until:entries`), signed with Ed25519 so that the guard's page verifies
/// it with the public key alone (WebCrypto).
pub fn sign(key: &SigningKey, c: &Claims) -> String {
    let payload = c.payload();
    let sig = key.sign(payload.as_bytes());
    format!(
        "{}.{}",
        B64.encode(payload.as_bytes()),
        B64.encode(sig.to_bytes())
    )
}

/// Why a code is not a pass we signed (catalogue keys).
pub const FORGED: &str = "gates.refused_forged";

/// The claims of a code, when its signature is ours.
pub fn verify(key: &VerifyingKey, code: &str) -> Result<Claims, &'static str> {
    let code = code.trim();
    let (p, s) = code.split_once('.').ok_or(FORGED)?;
    let payload = B64.decode(p).map_err(|_| FORGED)?;
    let sig = B64.decode(s).map_err(|_| FORGED)?;
    let sig = Signature::from_slice(&sig).map_err(|_| FORGED)?;
    key.verify(&payload, &sig).map_err(|_| FORGED)?;
    let text = String::from_utf8(payload).map_err(|_| FORGED)?;
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 6 || parts[0] != "p1" {
        return Err(FORGED);
    }
    let n = |i: usize| parts[i].parse::<i64>().map_err(|_| FORGED);
    Ok(Claims {
        pass_id: n(1)?,
        estate_id: n(2)?,
        valid_from: n(3)?,
        valid_until: n(4)?,
        entries: n(5)?,
    })
}

/// The window check, the same offline (in the page) and online.
pub fn window(c: &Claims, now: i64) -> Result<(), &'static str> {
    if now < c.valid_from {
        Err("gates.refused_early")
    } else if now >= c.valid_until {
        Err("gates.refused_expired")
    } else {
        Ok(())
    }
}

/// The public key as the page imports it (raw, base64url).
pub fn public_key(key: &SigningKey) -> String {
    B64.encode(key.verifying_key().to_bytes())
}

/// The answer the guard sees.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = GatePassCheck)]
pub struct PassCheck {
    pub valid: bool,
    /// The host's unit only (`3号楼 1单元 101`), when the pass is ours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_unit: Option<String>,
    /// Why not, in the caller's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Entries left after this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries_left: Option<i64>,
}

/// A pass's code as a QR image (an inline SVG element).
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .quiet_zone(true)
                .module_dimensions(1, 1)
                .build();
            match svg.find("<svg") {
                Some(i) => svg[i..].replacen("<svg ", "<svg class=\"qr\" role=\"img\" ", 1),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}

/// The China hour a time falls in (hours since the epoch, China Standard Time).
pub fn hour_of(ms: i64) -> i64 {
    (ms + 8 * 3_600_000).div_euclid(3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_verifies_and_an_altered_one_does_not() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let c = Claims {
            pass_id: 5,
            estate_id: 2,
            valid_from: 1_000,
            valid_until: 2_000,
            entries: 1,
        };
        let code = sign(&key, &c);
        assert_eq!(verify(&key.verifying_key(), &code), Ok(c.clone()));
        let (p, s) = code.split_once('.').unwrap();
        let other = B64.encode(b"p1:5:2:1000:9000:1");
        assert_eq!(
            verify(&key.verifying_key(), &format!("{other}.{s}")),
            Err(FORGED)
        );
        assert_eq!(verify(&key.verifying_key(), p), Err(FORGED));
        assert_eq!(window(&c, 999), Err("gates.refused_early"));
        assert_eq!(window(&c, 2_000), Err("gates.refused_expired"));
        assert_eq!(window(&c, 1_500), Ok(()));
    }

    #[test]
    fn plates_are_normalised() {
        assert_eq!(plate(" 沪a·12345 "), "沪A12345");
    }
}
