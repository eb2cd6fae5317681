//! Personal fields at rest: the keys that encrypt ID numbers and phones (AES-256-GCM) and make
//! their blind indexes (HMAC-SHA-256), and key files written readable by the owner only. Part of
//! the storage floor, so that every area keeps personal data the same way.

use std::path::Path;

use crate::kernel::i18n::en_zh;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The keys that protect personal fields. `Debug` never shows them.
#[derive(Clone)]
pub struct FieldKeys {
    cipher: Aes256Gcm,
    index_key: [u8; 32],
}

impl std::fmt::Debug for FieldKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldKeys(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or create the key file {path}: {err}")]
    Io { path: String, err: String },
    #[error("the key file {0} is damaged (expected 128 hex digits)")]
    Damaged(String),
    #[error("{}", en_zh("store.needs_passphrase", &[("path", .0)]))]
    NeedsPassphrase(String),
    #[error("{}", en_zh("store.bad_passphrase", &[("path", .0)]))]
    BadPassphrase(String),
}

impl FieldKeys {
    /// Loads `field.key` from the keys folder, creating it (mode 0600) at first start.
    pub fn load_or_create(keys_dir: &Path) -> Result<FieldKeys, KeyError> {
        FieldKeys::load(keys_dir, None)
    }

    /// Loads `field.key`, unwrapping it with the passphrase if it is wrapped; a key created
    /// here is wrapped when a passphrase is given.
    pub fn load(keys_dir: &Path, passphrase: Option<&str>) -> Result<FieldKeys, KeyError> {
        let raw = load_or_create_key(keys_dir, "field.key", 64, passphrase)?;
        Ok(FieldKeys::from_bytes(&raw))
    }

    pub fn from_bytes(raw: &[u8]) -> FieldKeys {
        let cipher = Aes256Gcm::new_from_slice(&raw[..32]).expect("32-byte key");
        let mut index_key = [0u8; 32];
        index_key.copy_from_slice(&raw[32..64]);
        FieldKeys { cipher, index_key }
    }

    /// Encrypts a value: a fresh 96-bit nonce, then the ciphertext with its tag.
    pub fn encrypt(&self, plain: &str) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("AES-GCM encryption does not fail for in-memory buffers");
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn decrypt(&self, blob: &[u8]) -> Option<String> {
        if blob.len() < 12 + 16 {
            return None;
        }
        let (nonce, ct) = blob.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), ct).ok()?;
        String::from_utf8(plain).ok()
    }

    /// The blind index of a normalised value; `domain` separates ID numbers from phones.
    pub fn blind_index(&self, domain: &str, normalised: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("any key length");
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(normalised.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

/// The first line of a key file wrapped by a passphrase. The file then holds the KDF's
/// parameters, its salt, and the key (hex, as in a plain file) encrypted with AES-256-GCM
/// under the key the KDF (Argon2id) derives from the passphrase; the first two lines are the
/// AEAD's associated data, so that the parameters cannot be altered unnoticed.
const WRAPPED: &str = "linli wrapped key v1";

/// Argon2id at RFC 9106's second recommendation's memory (64 MiB) and passes (3), one lane:
/// it runs once per start, so it can be slow for a guesser.
const KDF: (u32, u32, u32) = (64 * 1024, 3, 1);

fn kek(passphrase: &str, salt: &[u8], (m, t, p): (u32, u32, u32)) -> Option<Aes256Gcm> {
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(m, t, p, Some(32)).ok()?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut out)
        .ok()?;
    Aes256Gcm::new_from_slice(&out).ok()
}

/// A key file's text wrapped by a passphrase.
pub fn wrap(plain_hex: &str, passphrase: &str) -> String {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let params = format!(
        "argon2id m={} t={} p={} salt={}",
        KDF.0,
        KDF.1,
        KDF.2,
        hex::encode(salt)
    );
    let aad = format!("{WRAPPED}\n{params}\n");
    let cipher = kek(passphrase, &salt, KDF).expect("valid KDF parameters");
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            aes_gcm::aead::Payload {
                msg: plain_hex.trim().as_bytes(),
                aad: aad.as_bytes(),
            },
        )
        .expect("AES-GCM encryption does not fail for in-memory buffers");
    format!("{aad}{}\n{}\n", hex::encode(nonce), hex::encode(ct))
}

/// Whether a key file's text is wrapped.
pub fn is_wrapped(text: &str) -> bool {
    text.starts_with(WRAPPED)
}

/// The plain key text of a wrapped file, `None` on a wrong passphrase or a damaged file.
pub fn unwrap(text: &str, passphrase: &str) -> Option<String> {
    let mut lines = text.lines();
    let (magic, params, nonce, ct) = (lines.next()?, lines.next()?, lines.next()?, lines.next()?);
    if magic != WRAPPED {
        return None;
    }
    let mut it = params.split(' ');
    if it.next()? != "argon2id" {
        return None;
    }
    let mut kv = std::collections::HashMap::new();
    for part in it {
        let (k, v) = part.split_once('=')?;
        kv.insert(k, v);
    }
    let num = |k: &str| kv.get(k)?.parse::<u32>().ok();
    let salt = hex::decode(kv.get("salt")?).ok()?;
    let cipher = kek(passphrase, &salt, (num("m")?, num("t")?, num("p")?))?;
    let nonce = hex::decode(nonce).ok().filter(|n| n.len() == 12)?;
    let aad = format!("{magic}\n{params}\n");
    let plain = cipher
        .decrypt(
            Nonce::from_slice(&nonce),
            aes_gcm::aead::Payload {
                msg: &hex::decode(ct).ok()?,
                aad: aad.as_bytes(),
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()
}

/// Loads the key `name` (`len` bytes) from the keys folder, creating it at first start (a
/// new folder 0700, the file 0600; wrapped when a passphrase is given). A plain file loads
/// with or without a passphrase, so that keys made before wrapping existed keep working
/// (`linli keys wrap` wraps them); a wrapped one needs the passphrase.
pub fn load_or_create_key(
    keys_dir: &Path,
    name: &str,
    len: usize,
    passphrase: Option<&str>,
) -> Result<Vec<u8>, KeyError> {
    let path = keys_dir.join(name);
    let shown = || path.display().to_string();
    let io = |e: std::io::Error| KeyError::Io {
        path: path.display().to_string(),
        err: e.to_string(),
    };
    if !path.exists() {
        super::files::create_dir_all(keys_dir).map_err(io)?;
        let mut raw = vec![0u8; len];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let text = match passphrase {
            Some(p) => wrap(&hex::encode(&raw), p),
            None => hex::encode(&raw),
        };
        write_private(&path, text.as_bytes()).map_err(io)?;
    }
    let text = std::fs::read_to_string(&path).map_err(io)?;
    let plain = if is_wrapped(&text) {
        let p = passphrase.ok_or_else(|| KeyError::NeedsPassphrase(shown()))?;
        unwrap(&text, p).ok_or_else(|| KeyError::BadPassphrase(shown()))?
    } else {
        text
    };
    let raw = hex::decode(plain.trim()).map_err(|_| KeyError::Damaged(shown()))?;
    if raw.len() != len {
        return Err(KeyError::Damaged(shown()));
    }
    Ok(raw)
}

/// Wraps a plain key file in place (a new file written beside it, 0600, then renamed over
/// it). `Ok(false)` when it was wrapped already.
pub fn wrap_file(path: &Path, passphrase: &str) -> Result<bool, KeyError> {
    let io = |e: std::io::Error| KeyError::Io {
        path: path.display().to_string(),
        err: e.to_string(),
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    if is_wrapped(&text) {
        return Ok(false);
    }
    if hex::decode(text.trim()).is_err() {
        return Err(KeyError::Damaged(path.display().to_string()));
    }
    let wrapped = wrap(&text, passphrase);
    if unwrap(&wrapped, passphrase).as_deref() != Some(text.trim()) {
        return Err(KeyError::BadPassphrase(path.display().to_string()));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".wrapping");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, wrapped.as_bytes()).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(true)
}

/// Writes a new file readable only by its owner.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = super::files::create_new(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_index() {
        let k = FieldKeys::from_bytes(&[7u8; 64]);
        let blob = k.encrypt("11010519491231002X");
        assert_ne!(k.encrypt("11010519491231002X"), blob, "nonces differ");
        assert_eq!(k.decrypt(&blob).as_deref(), Some("11010519491231002X"));
        let mut bad = blob.clone();
        bad[20] ^= 1;
        assert_eq!(k.decrypt(&bad), None, "tampering is detected");
        assert_eq!(k.blind_index("id", "x"), k.blind_index("id", "x"));
        assert_ne!(k.blind_index("id", "x"), k.blind_index("phone", "x"));
    }

    #[test]
    fn wrapped_keys_need_their_passphrase() {
        let plain = hex::encode([9u8; 64]);
        let w = wrap(&plain, "correct horse battery");
        assert!(is_wrapped(&w) && !w.contains(&plain));
        assert_eq!(
            unwrap(&w, "correct horse battery").as_deref(),
            Some(plain.as_str())
        );
        assert_eq!(unwrap(&w, "wrong"), None);
        // The parameters are bound to the ciphertext.
        let tampered = w.replacen(" t=3 ", " t=1 ", 1);
        assert_eq!(unwrap(&tampered, "correct horse battery"), None);
    }

    #[test]
    fn key_file_is_private() {
        let dir = std::env::temp_dir().join(format!("linli-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = FieldKeys::load_or_create(&dir).unwrap();
        let b = FieldKeys::load_or_create(&dir).unwrap();
        assert_eq!(a.blind_index("d", "v"), b.blind_index("d", "v"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("field.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
