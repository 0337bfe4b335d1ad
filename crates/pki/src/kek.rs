//! The key-encryption key (KEK): AES-256-GCM over every private key Castellan keeps.
//!
//! CA keys and server-generated subscriber keys are stored only as `seal()`ed blobs. The
//! KEK itself lives outside the database (a file with mode 0600, or an environment
//! variable), so a copy of the database alone reveals no key. Each blob is bound to its
//! purpose through the AAD (e.g. `ca-key:rsa-issuing-1`), so a blob cannot be moved to
//! another row and still open.

use crate::{PkiError, Result, rand::Rng};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use zeroize::Zeroizing;

/// Length of a KEK in bytes (AES-256).
pub const KEK_LEN: usize = 32;
const MAGIC: &[u8; 4] = b"CKE1";
const CHECK_PLAINTEXT: &[u8] = b"castellan key-encryption key check";
const CHECK_AAD: &str = "kek-check";

/// An AES-256-GCM key-encryption key.
pub struct Kek {
    key: LessSafeKey,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    /// Draws a new KEK. Returns it and its base64 form (to be written once, mode 0600).
    pub fn generate(rng: &dyn Rng) -> Result<(Kek, Zeroizing<String>)> {
        let mut bytes = Zeroizing::new([0u8; KEK_LEN]);
        rng.fill(bytes.as_mut())?;
        let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(bytes.as_ref()));
        Ok((Kek::from_bytes(bytes.as_ref())?, text))
    }

    /// Builds a KEK from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Kek> {
        if bytes.len() != KEK_LEN {
            return Err(PkiError::KeyEncryption(format!(
                "the key-encryption key must be {KEK_LEN} bytes, got {}",
                bytes.len()
            )));
        }
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| PkiError::KeyEncryption("AES-256-GCM rejected the key".into()))?;
        Ok(Kek {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Parses the base64 text form (as written to the KEK file or `CASTELLAN_KEK`).
    pub fn from_base64(text: &str) -> Result<Kek> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| {
                    PkiError::KeyEncryption(
                        "the key-encryption key is not valid base64 (expected 44 characters)"
                            .into(),
                    )
                })?,
        );
        Kek::from_bytes(&bytes)
    }

    /// Encrypts `plaintext`, bound to `purpose`.
    pub fn seal(&self, plaintext: &[u8], purpose: &str, rng: &dyn Rng) -> Result<Vec<u8>> {
        let mut nonce_bytes = [0u8; NONCE_LEN];
        rng.fill(&mut nonce_bytes)?;
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(purpose.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| PkiError::KeyEncryption("AES-256-GCM encryption failed".into()))?;
        let mut blob = Vec::with_capacity(MAGIC.len() + NONCE_LEN + in_out.len());
        blob.extend_from_slice(MAGIC);
        blob.extend_from_slice(&nonce_bytes);
        blob.extend_from_slice(&in_out);
        in_out.iter_mut().for_each(|b| *b = 0);
        Ok(blob)
    }

    /// Decrypts a blob made by [`Kek::seal`] for the same `purpose`.
    pub fn open(&self, blob: &[u8], purpose: &str) -> Result<Zeroizing<Vec<u8>>> {
        let rest = blob.strip_prefix(MAGIC.as_slice()).ok_or_else(|| {
            PkiError::KeyEncryption(format!("'{purpose}' is not an encrypted key blob"))
        })?;
        if rest.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(PkiError::KeyEncryption(format!("'{purpose}' is truncated")));
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| PkiError::KeyEncryption("bad nonce".into()))?;
        let mut in_out = Zeroizing::new(sealed.to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut in_out)
            .map_err(|_| {
                PkiError::KeyEncryption(format!(
                    "'{purpose}' does not decrypt with this key-encryption key: the key is \
                     not the one this CA was created with, or the data was altered"
                ))
            })?
            .len();
        in_out.truncate(len);
        Ok(in_out)
    }

    /// A blob that proves, at start-up, that this KEK is the one the store was made with.
    pub fn check_value(&self, rng: &dyn Rng) -> Result<Vec<u8>> {
        self.seal(CHECK_PLAINTEXT, CHECK_AAD, rng)
    }

    /// Whether `blob` (from [`Kek::check_value`]) opens with this KEK.
    pub fn matches_check_value(&self, blob: &[u8]) -> bool {
        self.open(blob, CHECK_AAD)
            .map(|plain| plain.as_slice() == CHECK_PLAINTEXT)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SystemRng;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let (kek, text) = Kek::generate(&SystemRng).unwrap();
        let blob = kek.seal(b"secret key", "ca-key:one", &SystemRng).unwrap();
        assert_eq!(
            kek.open(&blob, "ca-key:one").unwrap().as_slice(),
            b"secret key"
        );
        // Bound to its purpose.
        assert!(kek.open(&blob, "ca-key:two").is_err());
        // The text form gives the same key.
        let again = Kek::from_base64(&text).unwrap();
        assert_eq!(
            again.open(&blob, "ca-key:one").unwrap().as_slice(),
            b"secret key"
        );
    }

    #[test]
    fn wrong_key_is_detected() {
        let (kek, _) = Kek::generate(&SystemRng).unwrap();
        let (other, _) = Kek::generate(&SystemRng).unwrap();
        let check = kek.check_value(&SystemRng).unwrap();
        assert!(kek.matches_check_value(&check));
        assert!(!other.matches_check_value(&check));
        let err = other
            .open(&kek.seal(b"x", "p", &SystemRng).unwrap(), "p")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("not the one this CA was created with"),
            "{err}"
        );
    }

    #[test]
    fn bad_text_forms_are_refused() {
        assert!(Kek::from_base64("not base64!").is_err());
        assert!(
            Kek::from_base64("AAAA")
                .unwrap_err()
                .to_string()
                .contains("32 bytes")
        );
    }
}
