//! Field protection: national ID numbers and phone numbers are encrypted at rest with
//! AES-256-GCM under a key kept outside the database, and found again through a keyed hash
//! (an HMAC "blind index") so that exact look-up never decrypts the table. Numbers typed into
//! free text are masked on display ([`mask`]).

pub mod mask;
pub mod retention;

use std::path::Path;

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
}

impl FieldKeys {
    /// Loads `field.key` from the keys folder, creating it (mode 0600) at first start.
    pub fn load_or_create(keys_dir: &Path) -> Result<FieldKeys, KeyError> {
        let path = keys_dir.join("field.key");
        let io = |e: std::io::Error| KeyError::Io {
            path: path.display().to_string(),
            err: e.to_string(),
        };
        if !path.exists() {
            std::fs::create_dir_all(keys_dir).map_err(io)?;
            let mut raw = [0u8; 64];
            rand::rngs::OsRng.fill_bytes(&mut raw);
            write_private(&path, hex::encode(raw).as_bytes()).map_err(io)?;
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let raw =
            hex::decode(text.trim()).map_err(|_| KeyError::Damaged(path.display().to_string()))?;
        if raw.len() != 64 {
            return Err(KeyError::Damaged(path.display().to_string()));
        }
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

/// Writes a file readable only by its owner.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
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
