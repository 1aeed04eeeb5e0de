//! Personal identifiers at rest: sealed with AES-256-GCM so they can be read back by the
//! service, and indexed by a keyed hash so they can be looked up without being decrypted.

use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

type HmacSha256 = Hmac<Sha256>;

/// The keys derived from the one configured data key. Shared, not copied: `AppContext` is
/// cloned into every request, socket and live stream, and the AES-GCM key schedule is about a
/// kilobyte (it made up most of the context; an idle subscribed socket held four copies).
#[derive(Clone)]
pub struct DataKeys {
    keys: Arc<Keys>,
}

struct Keys {
    seal: Aes256Gcm,
    lookup: [u8; 32],
}

fn derive(master: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("hmac takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

impl DataKeys {
    pub fn new(master: &[u8]) -> Self {
        let seal = derive(master, b"xqt seal v1");
        Self { keys: Arc::new(Keys { seal: Aes256Gcm::new(&seal.into()), lookup: derive(master, b"xqt lookup v1") }) }
    }

    /// The configured key, or for development a key kept in `<data_dir>/data.key` (created once,
    /// so sealed data stays readable across restarts).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> AppResult<Self> {
        if let Some(key) = configured {
            return Ok(Self::new(key.as_bytes()));
        }
        let path = data_dir.join("data.key");
        let encoded = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(_) => {
                std::fs::create_dir_all(data_dir).map_err(AppError::internal)?;
                let fresh = STANDARD.encode(rand::random::<[u8; 32]>());
                write_private(&path, &fresh)?;
                tracing::warn!(path = %path.display(), "XQT_DATA_KEY unset: created a development data key");
                fresh
            }
        };
        let key = STANDARD.decode(encoded.trim()).map_err(|_| AppError::internal("data.key is not base64"))?;
        Ok(Self::new(&key))
    }

    /// nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plain: &str) -> Vec<u8> {
        let nonce: [u8; 12] = rand::random();
        let mut out = nonce.to_vec();
        out.extend(self.keys.seal.encrypt(&Nonce::from(nonce), plain.as_bytes()).expect("AES-GCM encryption"));
        out
    }

    pub fn open(&self, sealed: &[u8]) -> AppResult<String> {
        if sealed.len() < 12 {
            return Err(AppError::internal("sealed value too short"));
        }
        let (nonce, body) = sealed.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().expect("split at 12");
        let plain = self
            .keys
            .seal
            .decrypt(&Nonce::from(nonce), body)
            .map_err(|_| AppError::internal("sealed value fails to open"))?;
        String::from_utf8(plain).map_err(AppError::internal)
    }

    /// A keyed hash for finding a value (`kind` separates phones from ID numbers).
    pub fn lookup_hash(&self, kind: &str, value: &str) -> Vec<u8> {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.keys.lookup).expect("hmac key");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// `lookup_hash` as hex: a signature for a link, a key that names a value without holding it.
    pub fn lookup_hex(&self, kind: &str, value: &str) -> String {
        hex::encode(self.lookup_hash(kind, value))
    }
}

/// Compares two secrets (signatures, hashes of codes) in time that does not depend on where they
/// differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// SHA-256 of a high-entropy secret (refresh and API tokens), hex; the secret itself is never stored.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// SHA-256 of any bytes, hex (content fingerprints).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> AppResult<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(AppError::internal)?;
    f.write_all(contents.as_bytes()).map_err(AppError::internal)
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> AppResult<()> {
    std::fs::write(path, contents).map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_and_is_not_deterministic() {
        let keys = DataKeys::new(b"k");
        let a = keys.seal("13812345678");
        let b = keys.seal("13812345678");
        assert_ne!(a, b, "a fresh nonce each time");
        assert_eq!(keys.open(&a).unwrap(), "13812345678");
        assert!(!String::from_utf8_lossy(&a).contains("13812345678"));
        assert!(DataKeys::new(b"other").open(&a).is_err(), "another key cannot open it");
    }

    #[test]
    fn lookup_hashes_are_stable_keyed_and_kind_separated() {
        let keys = DataKeys::new(b"k");
        assert_eq!(keys.lookup_hash("phone", "138"), keys.lookup_hash("phone", "138"));
        assert_ne!(keys.lookup_hash("phone", "138"), keys.lookup_hash("id_number", "138"));
        assert_ne!(keys.lookup_hash("phone", "138"), DataKeys::new(b"k2").lookup_hash("phone", "138"));
    }

    #[test]
    fn a_development_key_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataKeys::load(None, dir.path()).unwrap();
        let sealed = first.seal("x");
        let again = DataKeys::load(None, dir.path()).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "x");
    }
}
