//! Shamir's secret sharing over GF(2^8) (the field of AES, polynomial x^8+x^4+x^3+x+1): a
//! secret is split into `n` shares so that any `m` of them give it back and fewer than `m`
//! tell nothing about it. Castellan splits the escrow key among custodians with it (see
//! `docs/adr/0017-escrow-key-split-among-custodians.md`).
//!
//! Each byte of the secret is the constant term of its own random polynomial of degree
//! `m - 1`; share `x` (1..=n) holds every polynomial's value at `x`. Combining interpolates
//! at 0 (Lagrange). The arithmetic runs without secret-dependent branches or table lookups.

use crate::rand::Rng;
use crate::{PkiError, Result};
use zeroize::Zeroizing;

/// One share: its x coordinate (1..=255) and a value per byte of the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    /// The x coordinate; never 0 (that is the secret).
    pub x: u8,
    /// The polynomials' values at `x`.
    pub y: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Share {{ x: {}, .. }}", self.x)
    }
}

/// Multiplication in GF(2^8), in constant time.
fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    for _ in 0..8 {
        product ^= a & 0u8.wrapping_sub(b & 1);
        let carry = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & carry);
        b >>= 1;
    }
    product
}

/// The inverse in GF(2^8): a^254 (0 has none; callers never ask for it).
fn inverse(a: u8) -> u8 {
    let mut result = 1u8;
    let mut base = a;
    let mut exponent = 254u8;
    while exponent > 0 {
        if exponent & 1 == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        exponent >>= 1;
    }
    result
}

fn invalid(reason: impl Into<String>) -> PkiError {
    PkiError::KeyEncryption(reason.into())
}

/// Splits `secret` into `n` shares, any `m` of which give it back (2 <= m <= n <= 255).
pub fn split(secret: &[u8], m: u8, n: u8, rng: &dyn Rng) -> Result<Vec<Share>> {
    if m < 2 || m > n {
        return Err(invalid(format!(
            "a secret is split into n shares of which m give it back, with 2 <= m <= n <= \
             255; {m} of {n} is not such a split"
        )));
    }
    if secret.is_empty() {
        return Err(invalid("an empty secret cannot be split"));
    }
    let mut shares: Vec<Share> = (1..=n)
        .map(|x| Share {
            x,
            y: Zeroizing::new(Vec::with_capacity(secret.len())),
        })
        .collect();
    let mut coefficients = Zeroizing::new(vec![0u8; usize::from(m)]);
    for byte in secret {
        coefficients[0] = *byte;
        rng.fill(&mut coefficients[1..])?;
        for share in &mut shares {
            // Horner's rule, from the highest coefficient down.
            let mut value = 0u8;
            for c in coefficients.iter().rev() {
                value = mul(value, share.x) ^ c;
            }
            share.y.push(value);
        }
    }
    Ok(shares)
}

/// Gives back the secret from `m` or more shares of one split. Which shares are given does
/// not matter; shares of another split (or altered ones) give a wrong secret, which the
/// caller must detect (Castellan compares the escrow key's public half).
pub fn combine(shares: &[Share], m: u8) -> Result<Zeroizing<Vec<u8>>> {
    let used = shares.get(..usize::from(m)).ok_or_else(|| {
        invalid(format!(
            "{} share(s) given; {m} are needed to recover the secret",
            shares.len()
        ))
    })?;
    let len = used[0].y.len();
    for (i, share) in used.iter().enumerate() {
        if share.x == 0 || share.y.len() != len {
            return Err(invalid("the shares are not of one split"));
        }
        if used[..i].iter().any(|s| s.x == share.x) {
            return Err(invalid(format!("share {} is given twice", share.x)));
        }
    }
    let mut secret = Zeroizing::new(vec![0u8; len]);
    for (i, share) in used.iter().enumerate() {
        // The Lagrange basis polynomial of share i at 0: prod x_j / (x_j - x_i), j != i
        // (subtraction is XOR in GF(2^8)).
        let mut basis = 1u8;
        for (j, other) in used.iter().enumerate() {
            if i != j {
                basis = mul(basis, mul(other.x, inverse(other.x ^ share.x)));
            }
        }
        for (out, y) in secret.iter_mut().zip(share.y.iter()) {
            *out ^= mul(*y, basis);
        }
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SystemRng;

    #[test]
    fn field_arithmetic_matches_the_aes_field() {
        // FIPS 197's example: {57} x {83} = {c1}.
        assert_eq!(mul(0x57, 0x83), 0xc1);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inverse(a)), 1, "{a} times its inverse");
        }
    }

    #[test]
    fn any_m_shares_give_the_secret_back() {
        let secret = b"thirty-two bytes of escrow key!!";
        let shares = split(secret, 3, 5, &SystemRng).unwrap();
        assert_eq!(shares.len(), 5);
        for a in 0..5 {
            for b in 0..5 {
                for c in 0..5 {
                    if a == b || b == c || a == c {
                        continue;
                    }
                    let chosen = [shares[a].clone(), shares[b].clone(), shares[c].clone()];
                    assert_eq!(combine(&chosen, 3).unwrap().as_slice(), secret);
                }
            }
        }
    }

    #[test]
    fn fewer_than_m_shares_are_refused_and_wrong_ones_give_another_secret() {
        let secret = [7u8; 32];
        let shares = split(&secret, 3, 5, &SystemRng).unwrap();
        assert_eq!(
            combine(&shares[..2], 3).unwrap_err().to_string(),
            "key encryption: 2 share(s) given; 3 are needed to recover the secret"
        );
        let twice = [shares[0].clone(), shares[0].clone(), shares[1].clone()];
        assert_eq!(
            combine(&twice, 3).unwrap_err().to_string(),
            "key encryption: share 1 is given twice"
        );
        let mut altered = shares[..3].to_vec();
        altered[2].y[0] ^= 1;
        assert_ne!(combine(&altered, 3).unwrap().as_slice(), secret);
        // Two shares of a 3-of-5 split reveal nothing: every secret byte stays possible, so
        // no pair of shares decides it (checked on the first byte over many splits).
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let s = split(&[0x42], 3, 5, &SystemRng).unwrap();
            seen.insert((s[0].y[0], s[1].y[0]));
        }
        assert!(
            seen.len() > 1000,
            "two shares look random: {} pairs",
            seen.len()
        );
    }

    #[test]
    fn impossible_splits_are_refused() {
        for (m, n) in [(1, 3), (4, 3), (0, 0)] {
            assert!(split(b"k", m, n, &SystemRng).is_err(), "{m} of {n}");
        }
    }
}
