//! Administrator passwords: Argon2id, stored as PHC strings, verified in constant time.

use crate::{RaError, Result};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use castellan_pki::rand::Rng;

/// Shortest password Castellan accepts.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Refuses passwords that are too short or blank.
pub fn check_strength(password: &str) -> Result<()> {
    if password.trim().chars().count() < MIN_PASSWORD_LEN {
        return Err(RaError::InvalidInput {
            field: "password",
            reason: format!("a password must be at least {MIN_PASSWORD_LEN} characters long"),
        });
    }
    Ok(())
}

/// Hashes `password` with Argon2id (default parameters) and a 16-byte random salt.
pub fn hash(password: &str, rng: &dyn Rng) -> Result<String> {
    let mut salt = [0u8; 16];
    rng.fill(&mut salt)?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| RaError::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the PHC string `stored` (the comparison is constant-time).
pub fn verify(password: &str, stored: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_pki::rand::SystemRng;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse battery", &SystemRng).unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterz", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(
            check_strength("short").unwrap_err().to_string(),
            "invalid password: a password must be at least 12 characters long"
        );
    }
}
