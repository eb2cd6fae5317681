//! The second factor (issue 21 part 4): TOTP (RFC 6238: SHA-1, six digits, 30-second steps,
//! one step of clock skew either way) with eight single-use recovery codes. It is required of
//! accounts that can reveal personal data (those that read the registry) once their street
//! turns it on (`street_settings.require_totp`). An account that must use it and has not
//! enrolled enrols at its next sign-in, with its password already checked.

use totp_rs::{Algorithm, TOTP};

use crate::org::auth::{random_token, token_hash};
use crate::params;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result, Val};

/// What a sign-in still needs after the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing: the street does not require a second factor of this account.
    None,
    /// A code from the account's authenticator (or a recovery code).
    Code,
    /// Enrolment: scan a new secret and confirm it with a code.
    Enrol,
}

/// Whether a street requires a second factor of those who can reveal personal data.
pub fn required(c: &mut dyn Conn, street_id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT require_totp FROM street_settings WHERE street_id = $1",
        params![street_id],
    )?
    .is_some_and(|r| r.i64(0) != 0))
}

pub fn set_required(c: &mut dyn Conn, street_id: i64, on: bool, now: i64) -> Result<()> {
    c.exec(
        "INSERT INTO street_settings (street_id, require_totp, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (street_id) DO UPDATE SET require_totp = $2, updated_at = $3",
        params![street_id, on as i64, now],
    )?;
    Ok(())
}

/// What the account `user_id` needs after its password.
pub fn need(c: &mut dyn Conn, user_id: i64) -> Result<Need> {
    let Some(caller) = super::auth::load_caller(c, user_id, None)? else {
        return Ok(Need::None);
    };
    let Some(street) = caller.street_id else {
        return Ok(Need::None);
    };
    if !caller.reads_registry() || !required(c, street)? {
        return Ok(Need::None);
    }
    Ok(if enrolled(c, user_id)? {
        Need::Code
    } else {
        Need::Enrol
    })
}

pub fn enrolled(c: &mut dyn Conn, user_id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM users WHERE id = $1 AND totp_at IS NOT NULL",
        params![user_id],
    )?
    .is_some())
}

fn totp(secret: Vec<u8>, username: &str) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some("linli".to_string()),
        username.to_string(),
    )
}

/// The secret an enrolling account is to scan: kept (under the field key) until confirmed, so
/// that signing in again shows the same one. Returns the `otpauth://` URL and the secret in
/// base32 for typing.
pub fn pending(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    user_id: i64,
    username: &str,
) -> Result<(String, String)> {
    let stored = c
        .query_opt(
            "SELECT totp_secret FROM users WHERE id = $1 AND totp_at IS NULL",
            params![user_id],
        )?
        .and_then(|r| r.blob(0))
        .and_then(|b| keys.decrypt(&b));
    let b32 = match stored {
        Some(s) => s,
        None => {
            use rand::RngCore;
            let mut raw = [0u8; 20];
            rand::rngs::OsRng.fill_bytes(&mut raw);
            let s = base32_encode(&raw);
            c.exec(
                "UPDATE users SET totp_secret = $2 WHERE id = $1",
                &[Val::Int(user_id), Val::Blob(keys.encrypt(&s))],
            )?;
            s
        }
    };
    let t = totp(base32_decode(&b32), username);
    Ok((t.get_url(), b32))
}

/// The result of checking a second factor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// A good code from the authenticator.
    Code,
    /// A good recovery code (now used).
    Recovery,
    /// A good first code: enrolment is confirmed; the recovery codes, shown once.
    Enrolled(Vec<String>),
    Bad,
}

/// Checks a code (or a recovery code) for the account at `now_s` (Unix seconds). A code of a
/// time step already accepted is refused, so an overheard code is not worth replaying.
pub fn check(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    user_id: i64,
    code: &str,
    now_s: u64,
    now_ms: i64,
) -> Result<Checked> {
    let Some(r) = c.query_opt(
        "SELECT username, totp_secret, totp_at, totp_last_step FROM users WHERE id = $1",
        params![user_id],
    )?
    else {
        return Ok(Checked::Bad);
    };
    let code: String = crate::kernel::text::fold_width(code)
        .chars()
        .filter(|ch| !ch.is_whitespace() && *ch != '-')
        .collect();
    let enrolled = r.opt_i64(2).is_some();
    if enrolled && code.len() > 6 {
        let used = c.exec(
            "UPDATE totp_recovery SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            params![user_id, token_hash(&code.to_ascii_lowercase()), now_ms],
        )?;
        return Ok(if used == 1 {
            Checked::Recovery
        } else {
            Checked::Bad
        });
    }
    let Some(secret) = r.blob(1).and_then(|b| keys.decrypt(&b)) else {
        return Ok(Checked::Bad);
    };
    let t = totp(base32_decode(&secret), &r.str(0));
    let last = r.opt_i64(3).unwrap_or(-1);
    // The step the code belongs to, within one step either way.
    let step = now_s / 30;
    let Some(matched) = [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|s| t.generate(s * 30) == code)
    else {
        return Ok(Checked::Bad);
    };
    if matched as i64 <= last {
        return Ok(Checked::Bad);
    }
    c.exec(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1",
        params![user_id, matched as i64],
    )?;
    if enrolled {
        return Ok(Checked::Code);
    }
    c.exec(
        "UPDATE users SET totp_at = $2 WHERE id = $1",
        params![user_id, now_ms],
    )?;
    Ok(Checked::Enrolled(new_recovery_codes(c, user_id)?))
}

/// Eight fresh recovery codes for the account, the old ones void; shown once, kept as hashes.
pub fn new_recovery_codes(c: &mut dyn Conn, user_id: i64) -> Result<Vec<String>> {
    c.exec(
        "DELETE FROM totp_recovery WHERE user_id = $1",
        params![user_id],
    )?;
    let mut codes = Vec::new();
    for _ in 0..8 {
        let raw: String = random_token("")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(10)
            .collect::<String>()
            .to_ascii_lowercase();
        c.exec(
            "INSERT INTO totp_recovery (user_id, code_hash) VALUES ($1, $2)",
            params![user_id, token_hash(&raw)],
        )?;
        codes.push(format!("{}-{}", &raw[..5], &raw[5..]));
    }
    Ok(codes)
}

/// The new secret of a renewal (a new phone): kept beside the old one, which keeps working
/// until a code of the new one confirms it ([`confirm_renewal`]); asking again shows the same.
/// Returns the `otpauth://` URL and the secret in base32.
pub fn begin_renewal(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    user_id: i64,
    username: &str,
) -> Result<(String, String)> {
    let b32 = match renewal_secret(c, keys, user_id)? {
        Some(s) => s,
        None => {
            use rand::RngCore;
            let mut raw = [0u8; 20];
            rand::rngs::OsRng.fill_bytes(&mut raw);
            let s = base32_encode(&raw);
            c.exec(
                "UPDATE users SET totp_next = $2 WHERE id = $1",
                &[Val::Int(user_id), Val::Blob(keys.encrypt(&s))],
            )?;
            s
        }
    };
    let t = totp(base32_decode(&b32), username);
    Ok((t.get_url(), b32))
}

/// The new secret of a renewal under way (base32), read only.
pub fn renewal_secret(c: &mut dyn Conn, keys: &FieldKeys, user_id: i64) -> Result<Option<String>> {
    Ok(c.query_opt(
        "SELECT totp_next FROM users WHERE id = $1",
        params![user_id],
    )?
    .and_then(|r| r.blob(0))
    .and_then(|b| keys.decrypt(&b)))
}

/// The `otpauth://` URL of a secret, as an authenticator scans it.
pub fn url_of(b32: &str, username: &str) -> String {
    totp(base32_decode(b32), username).get_url()
}

/// Confirms a renewal with a code of the new secret at `now_s`: the new secret replaces the
/// old, and the account gets fresh recovery codes (returned, shown once). `None`: no renewal
/// under way, or the code is not the new secret's.
pub fn confirm_renewal(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    user_id: i64,
    code: &str,
    now_s: u64,
    now_ms: i64,
) -> Result<Option<Vec<String>>> {
    let Some(r) = c.query_opt(
        "SELECT username, totp_next FROM users WHERE id = $1 AND totp_next IS NOT NULL",
        params![user_id],
    )?
    else {
        return Ok(None);
    };
    let Some(b32) = r.blob(1).and_then(|b| keys.decrypt(&b)) else {
        return Ok(None);
    };
    let code: String = crate::kernel::text::fold_width(code)
        .chars()
        .filter(|ch| !ch.is_whitespace())
        .collect();
    let t = totp(base32_decode(&b32), &r.str(0));
    let step = now_s / 30;
    let Some(matched) = [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|s| t.generate(s * 30) == code)
    else {
        return Ok(None);
    };
    c.exec(
        "UPDATE users SET totp_secret = totp_next, totp_next = NULL, totp_at = $2, totp_last_step = $3 \
         WHERE id = $1",
        &[
            Val::Int(user_id),
            Val::Int(now_ms),
            Val::Int(matched as i64),
        ],
    )?;
    Ok(Some(new_recovery_codes(c, user_id)?))
}

/// Whether a renewal is under way (a new secret waits for its first code).
pub fn renewing(c: &mut dyn Conn, user_id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM users WHERE id = $1 AND totp_next IS NOT NULL",
        params![user_id],
    )?
    .is_some())
}

/// Unused recovery codes left.
pub fn recovery_left(c: &mut dyn Conn, user_id: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM totp_recovery WHERE user_id = $1 AND used_at IS NULL",
        params![user_id],
    )
}

/// Removes an account's second factor (an administrator does this when a phone is lost; the
/// account enrols again at its next sign-in).
pub fn remove(c: &mut dyn Conn, user_id: i64) -> Result<()> {
    c.exec(
        "UPDATE users SET totp_secret = NULL, totp_next = NULL, totp_at = NULL, totp_last_step = NULL WHERE id = $1",
        params![user_id],
    )?;
    c.exec(
        "DELETE FROM totp_recovery WHERE user_id = $1",
        params![user_id],
    )?;
    Ok(())
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32_encode(raw: &[u8]) -> String {
    totp_rs::Secret::Raw(raw.to_vec())
        .to_encoded()
        .to_string()
        .trim_end_matches('=')
        .to_string()
}

fn base32_decode(s: &str) -> Vec<u8> {
    totp_rs::Secret::Encoded(s.to_string())
        .to_bytes()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B: the ASCII secret "12345678901234567890", eight digits there;
        // the last six digits are the six-digit code.
        let t = totp(b"12345678901234567890".to_vec(), "t");
        for (time, eight) in [
            (59u64, "94287082"),
            (1111111109, "07081804"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(t.generate(time), eight[2..], "{time}");
        }
    }

    #[test]
    fn base32_round_trips() {
        let raw = [0u8, 1, 2, 250, 255, 17, 99, 3, 4, 5];
        assert_eq!(base32_decode(&base32_encode(&raw)), raw);
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
    }
}
