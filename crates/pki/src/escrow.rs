//! Sealing a server-held private key to the escrow key (guide 8.2: the keys "are held in
//! escrow, encrypted by … master key"). The escrow key is an ECDH P-256 key pair: anything
//! is sealed to its public half, so sealing needs no secret, and its private half can be
//! kept away from the service — split among custodians ([`crate::shamir`]) — and brought
//! together only to recover a key.
//!
//! A sealed blob is `CES1 || ephemeral public key (65) || nonce (12) || AES-256-GCM
//! ciphertext and tag`: an ephemeral ECDH agreement with the escrow public key, HKDF-SHA256
//! (salt: both public keys; info: the blob's version) to an AES-256-GCM key, and the
//! purpose (which certificate) as associated data, so a blob moved to another row fails.

use crate::{PkiError, Result};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::agreement::{ECDH_P256, PrivateKey, UnparsedPublicKey, agree};
use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use zeroize::Zeroizing;

const MAGIC: &[u8; 4] = b"CES1";
const PUBLIC_LEN: usize = 65;

fn failed(what: &str) -> PkiError {
    PkiError::KeyEncryption(what.to_owned())
}

/// A new escrow key pair: the private scalar (32 bytes, big-endian) and the public point
/// (65 bytes, uncompressed).
pub fn generate() -> Result<(Zeroizing<Vec<u8>>, Vec<u8>)> {
    let private =
        PrivateKey::generate(&ECDH_P256).map_err(|_| failed("escrow key generation failed"))?;
    let scalar: aws_lc_rs::encoding::EcPrivateKeyBin<'_> = private
        .as_be_bytes()
        .map_err(|_| failed("escrow key encoding failed"))?;
    let public = private
        .compute_public_key()
        .map_err(|_| failed("escrow public key failed"))?;
    Ok((
        Zeroizing::new(scalar.as_ref().to_vec()),
        public.as_ref().to_vec(),
    ))
}

/// The public half of an escrow private key (to check one brought together from shares).
pub fn public_of(private: &[u8]) -> Result<Vec<u8>> {
    let key = PrivateKey::from_private_key(&ECDH_P256, private)
        .map_err(|_| failed("not an escrow private key"))?;
    Ok(key
        .compute_public_key()
        .map_err(|_| failed("escrow public key failed"))?
        .as_ref()
        .to_vec())
}

/// The AES-256-GCM key an agreement gives.
fn sealing_key(secret: &[u8], ephemeral: &[u8], escrow: &[u8]) -> Result<LessSafeKey> {
    let salt = [ephemeral, escrow].concat();
    let prk = Salt::new(HKDF_SHA256, &salt).extract(secret);
    let info = [MAGIC.as_slice()];
    let okm = prk
        .expand(&info, &AES_256_GCM)
        .map_err(|_| failed("key derivation failed"))?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

/// Seals `plaintext` to the escrow public key, bound to `purpose`.
pub fn seal(
    escrow_public: &[u8],
    plaintext: &[u8],
    purpose: &str,
    rng: &dyn crate::rand::Rng,
) -> Result<Vec<u8>> {
    let ephemeral = PrivateKey::generate(&ECDH_P256).map_err(|_| failed("ephemeral key failed"))?;
    let ephemeral_public = ephemeral
        .compute_public_key()
        .map_err(|_| failed("ephemeral public key failed"))?
        .as_ref()
        .to_vec();
    let key = agree(
        &ephemeral,
        UnparsedPublicKey::new(&ECDH_P256, escrow_public),
        failed("the escrow public key is not a P-256 point"),
        |secret| sealing_key(secret, &ephemeral_public, escrow_public),
    )?;
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce)?;
    let mut in_out = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(purpose.as_bytes()),
        &mut in_out,
    )
    .map_err(|_| failed("escrow encryption failed"))?;
    let mut blob = Vec::with_capacity(MAGIC.len() + PUBLIC_LEN + NONCE_LEN + in_out.len());
    blob.extend_from_slice(MAGIC);
    blob.extend_from_slice(&ephemeral_public);
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&in_out);
    Ok(blob)
}

/// Opens a blob [`seal`] made, with the escrow private key, for `purpose`.
pub fn open(escrow_private: &[u8], blob: &[u8], purpose: &str) -> Result<Zeroizing<Vec<u8>>> {
    let rest = blob
        .strip_prefix(MAGIC.as_slice())
        .filter(|r| r.len() >= PUBLIC_LEN + NONCE_LEN + AES_256_GCM.tag_len())
        .ok_or_else(|| failed(&format!("'{purpose}' is not an escrowed key")))?;
    let (ephemeral_public, rest) = rest.split_at(PUBLIC_LEN);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let private = PrivateKey::from_private_key(&ECDH_P256, escrow_private)
        .map_err(|_| failed("not an escrow private key"))?;
    let escrow_public = private
        .compute_public_key()
        .map_err(|_| failed("escrow public key failed"))?
        .as_ref()
        .to_vec();
    let key = agree(
        &private,
        UnparsedPublicKey::new(&ECDH_P256, ephemeral_public),
        failed("the escrowed key's ephemeral key is not a P-256 point"),
        |secret| sealing_key(secret, ephemeral_public, &escrow_public),
    )?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| failed("bad nonce"))?;
    let mut in_out = Zeroizing::new(sealed.to_vec());
    let plain = key
        .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut in_out)
        .map_err(|_| {
            failed(&format!(
                "'{purpose}' does not open with this escrow key (another key, another \
                 certificate, or altered)"
            ))
        })?
        .len();
    in_out.truncate(plain);
    Ok(in_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SystemRng;

    #[test]
    fn a_sealed_key_opens_with_the_escrow_key_for_its_purpose_only() {
        let (private, public) = generate().unwrap();
        assert_eq!(public_of(&private).unwrap(), public);
        let blob = seal(&public, b"a PKCS#8 key", "certificate-key:01", &SystemRng).unwrap();
        assert!(
            !blob.windows(12).any(|w| w == b"a PKCS#8 key"),
            "not in clear"
        );
        assert_eq!(
            open(&private, &blob, "certificate-key:01")
                .unwrap()
                .as_slice(),
            b"a PKCS#8 key"
        );
        assert!(
            open(&private, &blob, "certificate-key:02").is_err(),
            "another row"
        );
        let (other, _) = generate().unwrap();
        assert!(
            open(&other, &blob, "certificate-key:01").is_err(),
            "another key"
        );
        let mut altered = blob.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(
            open(&private, &altered, "certificate-key:01").is_err(),
            "altered"
        );
        assert!(open(&private, b"CES1short", "x").is_err());
    }

    #[test]
    fn an_escrow_key_split_among_custodians_opens_what_was_sealed() {
        let (private, public) = generate().unwrap();
        let blob = seal(&public, b"key", "p", &SystemRng).unwrap();
        let shares = crate::shamir::split(&private, 2, 3, &SystemRng).unwrap();
        let together = crate::shamir::combine(&[shares[2].clone(), shares[0].clone()], 2).unwrap();
        assert_eq!(public_of(&together).unwrap(), public);
        assert_eq!(open(&together, &blob, "p").unwrap().as_slice(), b"key");
    }
}
