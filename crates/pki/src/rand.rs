//! Randomness, injected so tests can force the rare cases (a serial collision).

use crate::{PkiError, Result};
use aws_lc_rs::rand::SecureRandom;

/// A source of cryptographically secure random bytes.
pub trait Rng: Send + Sync {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<()>;
}

/// The operating system's CSPRNG through AWS-LC.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        aws_lc_rs::rand::SystemRandom::new()
            .fill(dest)
            .map_err(|_| PkiError::KeyGeneration("the system random generator failed".into()))
    }
}
