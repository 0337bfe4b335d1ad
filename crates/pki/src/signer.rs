//! Signing behind a trait, so a PKCS#11 HSM can replace software keys without touching
//! the callers. A signer knows its public key and signature algorithm and signs bytes.

use crate::{PkiError, Result, keys, oids};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use castellan_model::KeyType;
use der::asn1::Null;
use spki::AlgorithmIdentifierOwned;

/// Something that can sign certificates, CRLs and OCSP responses.
pub trait Signer: Send + Sync {
    /// The signer's public key as SubjectPublicKeyInfo DER.
    fn spki_der(&self) -> &[u8];

    /// The signer's key type.
    fn key_type(&self) -> KeyType;

    /// Signs `message` (the DER of a TBSCertificate or TBSCertList) and returns the
    /// signature as it goes into the BIT STRING (DER ECDSA-Sig-Value or RSA bytes).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;

    /// The signature AlgorithmIdentifier that goes with this key: SHA-256 with RSA,
    /// ECDSA with SHA-256 on P-256, ECDSA with SHA-384 on P-384.
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        signature_algorithm_for(self.key_type())
    }
}

/// The signature algorithm Castellan uses with a key of `key_type`.
pub fn signature_algorithm_for(key_type: KeyType) -> AlgorithmIdentifierOwned {
    match key_type {
        KeyType::Rsa(_) => AlgorithmIdentifierOwned {
            oid: oids::SHA256_WITH_RSA,
            parameters: Some(Null.into()),
        },
        KeyType::EcP256 => AlgorithmIdentifierOwned {
            oid: oids::ECDSA_WITH_SHA256,
            parameters: None,
        },
        KeyType::EcP384 => AlgorithmIdentifierOwned {
            oid: oids::ECDSA_WITH_SHA384,
            parameters: None,
        },
    }
}

enum SoftwareKey {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
}

/// A signer holding its private key in memory (decrypted from the store with the KEK).
pub struct SoftwareSigner {
    key: SoftwareKey,
    key_type: KeyType,
    spki_der: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SoftwareSigner({})", self.key_type)
    }
}

impl SoftwareSigner {
    /// Loads a PKCS#8 private key (RSA or ECDSA P-256/P-384).
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<SoftwareSigner> {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair;
        let bad = |what: &str| PkiError::KeyEncryption(format!("the private key {what}"));
        if let Ok(pair) = RsaKeyPair::from_pkcs8(pkcs8) {
            let spki = pair
                .public_key()
                .as_der()
                .map_err(|_| bad("has a public key that cannot be encoded"))?;
            let spki_der = spki.as_ref().to_vec();
            let key_type = keys::check_public_key(&spki_der)?.key_type;
            return Ok(SoftwareSigner {
                key: SoftwareKey::Rsa(pair),
                key_type,
                spki_der,
                rng: SystemRandom::new(),
            });
        }
        for (alg, key_type) in [
            (&ECDSA_P256_SHA256_ASN1_SIGNING, KeyType::EcP256),
            (&ECDSA_P384_SHA384_ASN1_SIGNING, KeyType::EcP384),
        ] {
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(alg, pkcs8) {
                let spki = pair
                    .public_key()
                    .as_der()
                    .map_err(|_| bad("has a public key that cannot be encoded"))?;
                return Ok(SoftwareSigner {
                    key: SoftwareKey::Ecdsa(pair),
                    key_type,
                    spki_der: spki.as_ref().to_vec(),
                    rng: SystemRandom::new(),
                });
            }
        }
        Err(bad("is not an RSA or ECDSA P-256/P-384 PKCS#8 key"))
    }
}

impl Signer for SoftwareSigner {
    fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    fn key_type(&self) -> KeyType {
        self.key_type
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.key {
            SoftwareKey::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
                    .map_err(|_| PkiError::Signing("RSA signing failed".into()))?;
                Ok(signature)
            }
            SoftwareKey::Ecdsa(pair) => pair
                .sign(&self.rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| PkiError::Signing("ECDSA signing failed".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1, UnparsedPublicKey};

    #[test]
    fn software_signer_signs_verifiably() {
        let key = keys::generate(KeyType::EcP384).unwrap();
        let signer = SoftwareSigner::from_pkcs8(&key.pkcs8).unwrap();
        assert_eq!(signer.key_type(), KeyType::EcP384);
        assert_eq!(signer.spki_der(), key.spki_der.as_slice());
        let sig = signer.sign(b"hello").unwrap();
        let spki = spki::SubjectPublicKeyInfoRef::try_from(key.spki_der.as_slice()).unwrap();
        UnparsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, spki.subject_public_key.raw_bytes())
            .verify(b"hello", &sig)
            .unwrap();
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(SoftwareSigner::from_pkcs8(b"nope").is_err());
    }
}
