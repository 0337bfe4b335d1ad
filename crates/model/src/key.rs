//! Key types a subscriber or CA key can have.

use std::fmt;

/// The algorithm and size of a public key, as SCM shows it (`"RSA - 2048"`, `"EC - P-256"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA with the given modulus length in bits.
    Rsa(u32),
    /// ECDSA on NIST P-256 (secp256r1).
    EcP256,
    /// ECDSA on NIST P-384 (secp384r1).
    EcP384,
}

impl KeyType {
    /// `RSA` or `EC`, the SCM `keyAlgorithm` name.
    pub fn algorithm(self) -> &'static str {
        match self {
            KeyType::Rsa(_) => "RSA",
            KeyType::EcP256 | KeyType::EcP384 => "EC",
        }
    }

    /// The size part of the SCM name: bits for RSA, the curve for EC.
    pub fn size(self) -> String {
        match self {
            KeyType::Rsa(bits) => bits.to_string(),
            KeyType::EcP256 => "P-256".to_owned(),
            KeyType::EcP384 => "P-384".to_owned(),
        }
    }

    /// The short form used on the command line and in profiles: `rsa2048`, `p256`, `p384`.
    pub fn short_name(self) -> String {
        match self {
            KeyType::Rsa(bits) => format!("rsa{bits}"),
            KeyType::EcP256 => "p256".to_owned(),
            KeyType::EcP384 => "p384".to_owned(),
        }
    }

    /// Parses the short form (`rsa2048`, `rsa3072`, `p256`, `p384`).
    pub fn from_short_name(s: &str) -> Option<KeyType> {
        match s.to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "ec256" | "ecdsa-p256" => Some(KeyType::EcP256),
            "p384" | "p-384" | "ec384" | "ecdsa-p384" => Some(KeyType::EcP384),
            other => other
                .strip_prefix("rsa")
                .map(|bits| bits.trim_start_matches('-'))
                .and_then(|bits| bits.parse().ok())
                .map(KeyType::Rsa),
        }
    }

    /// Whether this is an RSA key (which picks the RSA hierarchy).
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa(_))
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} - {}", self.algorithm(), self.size())
    }
}

#[cfg(test)]
mod tests {
    use super::KeyType;

    #[test]
    fn short_names_round_trip() {
        for key in [
            KeyType::Rsa(2048),
            KeyType::Rsa(4096),
            KeyType::EcP256,
            KeyType::EcP384,
        ] {
            assert_eq!(KeyType::from_short_name(&key.short_name()), Some(key));
        }
        assert_eq!(
            KeyType::from_short_name("rsa-3072"),
            Some(KeyType::Rsa(3072))
        );
        assert_eq!(KeyType::from_short_name("dsa1024"), None);
    }

    #[test]
    fn scm_display() {
        assert_eq!(KeyType::Rsa(2048).to_string(), "RSA - 2048");
        assert_eq!(KeyType::EcP256.to_string(), "EC - P-256");
    }
}
