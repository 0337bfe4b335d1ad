//! Certificate serial numbers: 128 bits from the CSPRNG, positive, never reused.
//!
//! Uniqueness is enforced by the store (a unique index); on a collision the caller draws
//! a new serial and signs again, so a serial that was ever committed is never issued twice.

use crate::{PkiError, Result, rand::Rng};
use std::fmt;

/// Number of random bytes in a serial (128 bits, well above the BR's 64-bit minimum).
pub const SERIAL_RANDOM_BYTES: usize = 16;

/// A positive certificate serial number, as unsigned big-endian bytes (no sign octet).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// Draws a fresh 128-bit serial. The first byte is never zero, so the encoding always
    /// carries the full 128 bits (linters flag short serials).
    pub fn random(rng: &dyn Rng) -> Result<Serial> {
        let mut bytes = vec![0u8; SERIAL_RANDOM_BYTES];
        loop {
            rng.fill(&mut bytes)?;
            if bytes[0] != 0 {
                return Ok(Serial(bytes));
            }
        }
    }

    /// Wraps unsigned big-endian bytes (leading zeros are dropped).
    pub fn from_bytes(bytes: &[u8]) -> Result<Serial> {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        if trimmed.is_empty() {
            return Err(PkiError::Encoding(
                "a serial number must not be zero".into(),
            ));
        }
        if trimmed.len() > 20 {
            return Err(PkiError::Encoding(format!(
                "a serial number is at most 20 octets, got {}",
                trimmed.len()
            )));
        }
        Ok(Serial(trimmed))
    }

    /// Parses hex, with or without colons (`0a:1b:...` or `0a1b...`), any case.
    pub fn from_hex(s: &str) -> Result<Serial> {
        let cleaned: String = s
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let cleaned = if cleaned.len() % 2 == 1 {
            format!("0{cleaned}")
        } else {
            cleaned
        };
        let bytes = hex::decode(&cleaned)
            .map_err(|_| PkiError::Encoding(format!("'{s}' is not a hexadecimal serial number")))?;
        Serial::from_bytes(&bytes)
    }

    /// The unsigned big-endian bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hex without separators: the form the store indexes.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// Upper-case colon-separated hex: the form SCM shows (`A9:3E:C0:...`).
    pub fn to_colon_hex(&self) -> String {
        self.0
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.to_hex())
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SystemRng;

    #[test]
    fn random_serials_are_full_length_and_distinct() {
        let a = Serial::random(&SystemRng).unwrap();
        let b = Serial::random(&SystemRng).unwrap();
        assert_eq!(a.as_bytes().len(), SERIAL_RANDOM_BYTES);
        assert_ne!(a.as_bytes()[0], 0);
        assert_ne!(a, b);
    }

    #[test]
    fn hex_forms_round_trip() {
        let serial = Serial::from_hex("0A:1b:ff").unwrap();
        assert_eq!(serial.to_hex(), "0a1bff");
        assert_eq!(serial.to_colon_hex(), "0A:1B:FF");
        assert_eq!(Serial::from_hex(&serial.to_colon_hex()).unwrap(), serial);
        assert!(Serial::from_hex("zz").is_err());
        assert!(Serial::from_hex("00").is_err());
    }
}
