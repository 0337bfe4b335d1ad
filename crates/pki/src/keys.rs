//! Key pairs and public keys: generation for server-held keys, and the key policy every
//! subscriber key must pass (RSA 2048–8192 bits with exponent 65537, ECDSA P-256/P-384).

use crate::{PkiError, Result, oids};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    RsaKeyPair,
};
use castellan_model::KeyType;
use der::{Decode, Sequence, asn1::UintRef};
use spki::SubjectPublicKeyInfoRef;
use zeroize::Zeroizing;

/// Smallest RSA modulus accepted from a subscriber (CA/B Forum minimum).
pub const RSA_MIN_BITS: u32 = 2048;
/// Largest RSA modulus accepted (bigger keys only slow relying parties down).
pub const RSA_MAX_BITS: u32 = 8192;

/// A freshly generated key pair.
pub struct GeneratedKey {
    /// Its type.
    pub key_type: KeyType,
    /// The private key as PKCS#8 DER (wiped on drop).
    pub pkcs8: Zeroizing<Vec<u8>>,
    /// The public key as SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
}

/// Generates a key pair of `key_type` with AWS-LC.
pub fn generate(key_type: KeyType) -> Result<GeneratedKey> {
    let failed = |what: &str| PkiError::KeyGeneration(format!("{key_type}: {what}"));
    match key_type {
        KeyType::Rsa(bits) => {
            use aws_lc_rs::rsa::KeySize;
            let size = match bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                4096 => KeySize::Rsa4096,
                8192 => KeySize::Rsa8192,
                other => {
                    return Err(PkiError::KeyPolicy {
                        rule: "rsa-modulus-size",
                        detail: format!(
                            "Castellan generates RSA keys of 2048, 3072, 4096 or 8192 bits, not {other}"
                        ),
                    });
                }
            };
            let pair = RsaKeyPair::generate(size).map_err(|_| failed("AWS-LC failed"))?;
            let pkcs8 = pair
                .as_der()
                .map_err(|_| failed("PKCS#8 encoding failed"))?;
            let spki = pair
                .public_key()
                .as_der()
                .map_err(|_| failed("public key encoding failed"))?;
            Ok(GeneratedKey {
                key_type,
                pkcs8: Zeroizing::new(pkcs8.as_ref().to_vec()),
                spki_der: spki.as_ref().to_vec(),
            })
        }
        KeyType::EcP256 | KeyType::EcP384 => {
            let alg = if key_type == KeyType::EcP256 {
                &ECDSA_P256_SHA256_ASN1_SIGNING
            } else {
                &ECDSA_P384_SHA384_ASN1_SIGNING
            };
            let pair = EcdsaKeyPair::generate(alg).map_err(|_| failed("AWS-LC failed"))?;
            let pkcs8 = pair
                .to_pkcs8v1()
                .map_err(|_| failed("PKCS#8 encoding failed"))?;
            let spki = pair
                .public_key()
                .as_der()
                .map_err(|_| failed("public key encoding failed"))?;
            Ok(GeneratedKey {
                key_type,
                pkcs8: Zeroizing::new(pkcs8.as_ref().to_vec()),
                spki_der: spki.as_ref().to_vec(),
            })
        }
    }
}

/// A subscriber or CA public key that passed the key policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// Its type and size.
    pub key_type: KeyType,
    /// SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
}

impl PublicKey {
    /// SHA-256 of the SubjectPublicKeyInfo: how Castellan recognises the same key again
    /// (a CA key offered as a subscriber key, later a compromised key).
    pub fn spki_sha256(&self) -> [u8; 32] {
        sha256(&self.spki_der)
    }

    /// The SubjectKeyIdentifier: SHA-1 of the subjectPublicKey bits (RFC 5280 method 1).
    pub fn key_identifier(&self) -> Result<Vec<u8>> {
        let spki = SubjectPublicKeyInfoRef::from_der(&self.spki_der).map_err(PkiError::encoding)?;
        Ok(sha1(spki.subject_public_key.raw_bytes()).to_vec())
    }
}

#[derive(Sequence)]
struct RsaPublicKeyDer<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// Reads a SubjectPublicKeyInfo and applies the key policy every subscriber key must pass.
pub fn check_public_key(spki_der: &[u8]) -> Result<PublicKey> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| PkiError::KeyPolicy {
        rule: "key-encoding",
        detail: format!("the public key is not a valid SubjectPublicKeyInfo: {e}"),
    })?;
    let alg = spki.algorithm.oid;
    let key_type = if alg == oids::RSA_ENCRYPTION {
        let key = RsaPublicKeyDer::from_der(spki.subject_public_key.raw_bytes()).map_err(|e| {
            PkiError::KeyPolicy {
                rule: "key-encoding",
                detail: format!("the RSA public key cannot be read: {e}"),
            }
        })?;
        let bits = bit_length(key.modulus.as_bytes());
        if bits < RSA_MIN_BITS {
            return Err(PkiError::KeyPolicy {
                rule: "rsa-modulus-size",
                detail: format!(
                    "RSA key of {bits} bits is too weak; use {RSA_MIN_BITS} to {RSA_MAX_BITS} bits \
                     (e.g. openssl req -newkey rsa:2048)"
                ),
            });
        }
        if bits > RSA_MAX_BITS {
            return Err(PkiError::KeyPolicy {
                rule: "rsa-modulus-size",
                detail: format!(
                    "RSA key of {bits} bits is larger than the {RSA_MAX_BITS}-bit maximum"
                ),
            });
        }
        if !bits.is_multiple_of(8) {
            return Err(PkiError::KeyPolicy {
                rule: "rsa-modulus-size",
                detail: format!("RSA modulus of {bits} bits is not a multiple of 8"),
            });
        }
        if key.modulus.as_bytes().last().is_some_and(|b| b % 2 == 0) {
            return Err(PkiError::KeyPolicy {
                rule: "rsa-modulus-odd",
                detail: "the RSA modulus is even, so it is not a valid RSA key".into(),
            });
        }
        if key.public_exponent.as_bytes() != [0x01, 0x00, 0x01] {
            return Err(PkiError::KeyPolicy {
                rule: "rsa-public-exponent",
                detail: format!(
                    "RSA public exponent is {}, only 65537 is accepted",
                    display_uint(key.public_exponent.as_bytes())
                ),
            });
        }
        KeyType::Rsa(bits)
    } else if alg == oids::EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok());
        match curve {
            Some(c) if c == oids::CURVE_P256 => KeyType::EcP256,
            Some(c) if c == oids::CURVE_P384 => KeyType::EcP384,
            Some(c) if c == oids::CURVE_P521 => {
                return Err(PkiError::KeyPolicy {
                    rule: "ecdsa-curve",
                    detail: "ECDSA curve P-521 is not accepted; use P-256 or P-384".into(),
                });
            }
            Some(c) => {
                return Err(PkiError::KeyPolicy {
                    rule: "ecdsa-curve",
                    detail: format!("ECDSA curve {c} is not accepted; use P-256 or P-384"),
                });
            }
            None => {
                return Err(PkiError::KeyPolicy {
                    rule: "ecdsa-curve",
                    detail: "the ECDSA key does not name its curve; use a named curve, \
                             P-256 or P-384"
                        .into(),
                });
            }
        }
    } else if alg == oids::ED25519 {
        return Err(PkiError::KeyPolicy {
            rule: "key-algorithm",
            detail: "Ed25519 keys are not accepted for certificates; use RSA or ECDSA \
                     P-256/P-384"
                .into(),
        });
    } else {
        return Err(PkiError::KeyPolicy {
            rule: "key-algorithm",
            detail: format!(
                "key algorithm {alg} is not accepted; use RSA (2048-8192 bits) or ECDSA \
                 P-256/P-384"
            ),
        });
    };
    Ok(PublicKey {
        key_type,
        spki_der: spki_der.to_vec(),
    })
}

fn bit_length(bytes: &[u8]) -> u32 {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    match trimmed.first() {
        None => 0,
        Some(first) => (trimmed.len() as u32 - 1) * 8 + (8 - first.leading_zeros()),
    }
}

fn display_uint(bytes: &[u8]) -> String {
    if bytes.len() <= 8 {
        let mut value: u64 = 0;
        for b in bytes {
            value = (value << 8) | u64::from(*b);
        }
        value.to_string()
    } else {
        format!("0x{}", hex::encode(bytes))
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// SHA-1 of `data` (key identifiers and SCM's `sha1Hash` only; never for signatures).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_pass_the_policy() {
        for key_type in [KeyType::EcP256, KeyType::EcP384, KeyType::Rsa(2048)] {
            let key = generate(key_type).unwrap();
            let public = check_public_key(&key.spki_der).unwrap();
            assert_eq!(public.key_type, key_type);
            assert_eq!(public.key_identifier().unwrap().len(), 20);
        }
    }

    #[test]
    fn odd_rsa_sizes_are_not_generated() {
        let err = generate(KeyType::Rsa(1024)).err().unwrap();
        assert_eq!(err.rule(), "rsa-modulus-size");
    }

    #[test]
    fn bit_length_counts_from_the_top_bit() {
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01]), 1);
        assert_eq!(bit_length(&[]), 0);
    }
}
