//! Random bearer and one-time tokens: 32 random bytes, base64url; stored only as SHA-256.

use crate::Result;
use base64::Engine as _;
use castellan_pki::rand::Rng;
use zeroize::Zeroizing;

/// Purpose of an IdP invitation token.
pub const IDP_INVITATION: &str = "idp-invitation";

/// A fresh token.
pub fn new_token(rng: &dyn Rng) -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rng.fill(bytes.as_mut())?;
    Ok(Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()),
    ))
}

/// What the store keeps of a token.
pub fn digest(token: &str) -> String {
    hex::encode(castellan_pki::keys::sha256(token.as_bytes()))
}
