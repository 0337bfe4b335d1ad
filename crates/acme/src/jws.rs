//! The narrow JWS profile ACME uses (RFC 8555 §6.2): flattened JSON serialisation only,
//! ES256 / ES384 / RS256 / EdDSA, exactly one of `jwk` and `kid`, `nonce` and `url` in the
//! protected header, and External Account Binding (HS256, §7.3.4).
//!
//! Written here on aws-lc-rs rather than taken from a JOSE library: the profile is small,
//! generic libraries are JWT-shaped and accept far more than ACME allows, and every byte
//! that reaches this module comes from the internet (see the fuzz target).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

/// The largest request body read (a finalize with a 4096-bit RSA CSR stays well below).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a JWS was refused, as the ACME problem type it becomes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not a JWS Castellan reads (`urn:ietf:params:acme:error:malformed`).
    #[error("{0}")]
    Malformed(String),
    /// An algorithm outside the profile (`badSignatureAlgorithm`).
    #[error("{0}")]
    BadSignatureAlgorithm(String),
    /// A key Castellan does not accept (`badPublicKey`).
    #[error("{0}")]
    BadPublicKey(String),
    /// The signature does not verify (answered `malformed`, as Boulder does: RFC 8555
    /// names no type of its own for it).
    #[error("{0}")]
    BadSignature(String),
}

fn malformed(msg: impl Into<String>) -> JwsError {
    JwsError::Malformed(msg.into())
}

/// Decodes unpadded base64url, refusing padding and other alphabets.
pub fn b64(field: &str, text: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .map_err(|_| malformed(format!("{field} is not unpadded base64url")))
}

/// Encodes unpadded base64url.
pub fn b64e(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The signature algorithms of the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA P-256 SHA-256.
    Es256,
    /// ECDSA P-384 SHA-384.
    Es384,
    /// RSASSA-PKCS1-v1_5 SHA-256, 2048 to 8192 bits.
    Rs256,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    fn parse(name: &str) -> Result<Alg, JwsError> {
        match name {
            "ES256" => Ok(Alg::Es256),
            "ES384" => Ok(Alg::Es384),
            "RS256" => Ok(Alg::Rs256),
            "EdDSA" => Ok(Alg::EdDsa),
            other => Err(JwsError::BadSignatureAlgorithm(format!(
                "the JWS algorithm '{other}' is not accepted; use ES256, ES384, RS256 or EdDSA"
            ))),
        }
    }

    /// The names, for the problem document's `algorithms` field.
    pub const NAMES: [&'static str; 4] = ["ES256", "ES384", "RS256", "EdDSA"];
}

/// A public key as a JWK (RFC 7517), checked and reduced to its required members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Jwk {
    /// kty EC.
    Ec {
        /// P-256 or P-384.
        crv: &'static str,
        /// x coordinate.
        x: Vec<u8>,
        /// y coordinate.
        y: Vec<u8>,
    },
    /// kty RSA.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// kty OKP, Ed25519.
    Ed25519 {
        /// The public key.
        x: Vec<u8>,
    },
}

fn member<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Result<&'a str, JwsError> {
    obj.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| JwsError::BadPublicKey(format!("the JWK has no '{name}' string")))
}

impl Jwk {
    /// Reads a JWK, refusing key types and sizes Castellan does not accept.
    pub fn from_json(value: &Value) -> Result<Jwk, JwsError> {
        let obj = value
            .as_object()
            .ok_or_else(|| JwsError::BadPublicKey("the JWK is not a JSON object".into()))?;
        if obj.contains_key("d") || obj.contains_key("p") || obj.contains_key("k") {
            return Err(JwsError::BadPublicKey(
                "the JWK carries private or symmetric key material; send the public key only"
                    .into(),
            ));
        }
        let key = |name: &str| -> Result<Vec<u8>, JwsError> {
            b64(&format!("the JWK's '{name}'"), member(obj, name)?)
        };
        match member(obj, "kty")? {
            "EC" => {
                let (crv, len) = match member(obj, "crv")? {
                    "P-256" => ("P-256", 32),
                    "P-384" => ("P-384", 48),
                    other => {
                        return Err(JwsError::BadPublicKey(format!(
                            "the curve '{other}' is not accepted; use P-256 or P-384"
                        )));
                    }
                };
                let (x, y) = (key("x")?, key("y")?);
                if x.len() != len || y.len() != len {
                    return Err(JwsError::BadPublicKey(format!(
                        "the {crv} coordinates must be {len} bytes each"
                    )));
                }
                Ok(Jwk::Ec { crv, x, y })
            }
            "RSA" => {
                let (n, e) = (key("n")?, key("e")?);
                let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
                if !(2048..=8192).contains(&bits) {
                    return Err(JwsError::BadPublicKey(format!(
                        "an RSA account key of {bits} bits is not accepted; use 2048 to 8192 bits"
                    )));
                }
                Ok(Jwk::Rsa { n, e })
            }
            "OKP" => match member(obj, "crv")? {
                "Ed25519" => {
                    let x = key("x")?;
                    if x.len() != 32 {
                        return Err(JwsError::BadPublicKey("an Ed25519 key is 32 bytes".into()));
                    }
                    Ok(Jwk::Ed25519 { x })
                }
                other => Err(JwsError::BadPublicKey(format!(
                    "the curve '{other}' is not accepted; use Ed25519"
                ))),
            },
            other => Err(JwsError::BadPublicKey(format!(
                "the key type '{other}' is not accepted; use EC, RSA or OKP (Ed25519)"
            ))),
        }
    }

    /// The JWK with only its required members, in the order RFC 7638 hashes them.
    pub fn canonical_json(&self) -> String {
        match self {
            Jwk::Ec { crv, x, y } => format!(
                r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#,
                b64e(x),
                b64e(y)
            ),
            Jwk::Rsa { n, e } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64e(e), b64e(n))
            }
            Jwk::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64e(x)),
        }
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url): key authorisations and account
    /// identity use it.
    pub fn thumbprint(&self) -> String {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.canonical_json().as_bytes());
        b64e(digest.as_ref())
    }

    /// Whether the SubjectPublicKeyInfo `spki_der` (a CSR's key, say) is this key.
    pub fn is_spki(&self, spki_der: &[u8]) -> bool {
        use der::Decode as _;
        #[derive(der::Sequence)]
        struct RsaPublicKey<'a> {
            modulus: der::asn1::UintRef<'a>,
            exponent: der::asn1::UintRef<'a>,
        }
        let Ok(spki) = spki::SubjectPublicKeyInfoRef::from_der(spki_der) else {
            return false;
        };
        let bits = spki.subject_public_key.raw_bytes();
        let strip = |b: &[u8]| {
            b.iter()
                .skip_while(|x| **x == 0)
                .copied()
                .collect::<Vec<u8>>()
        };
        match self {
            Jwk::Ec { x, y, .. } => {
                bits.first() == Some(&0x04) && bits[1..] == [x.as_slice(), y.as_slice()].concat()
            }
            Jwk::Ed25519 { x } => bits == x.as_slice(),
            Jwk::Rsa { n, e } => RsaPublicKey::from_der(bits).is_ok_and(|k| {
                strip(k.modulus.as_bytes()) == strip(n) && strip(k.exponent.as_bytes()) == strip(e)
            }),
        }
    }

    /// Whether `alg` is the one this key signs with.
    fn matches(&self, alg: Alg) -> bool {
        matches!(
            (self, alg),
            (Jwk::Ec { crv: "P-256", .. }, Alg::Es256)
                | (Jwk::Ec { crv: "P-384", .. }, Alg::Es384)
                | (Jwk::Rsa { .. }, Alg::Rs256)
                | (Jwk::Ed25519 { .. }, Alg::EdDsa)
        )
    }

    /// Verifies `signature` over `message` with this key and `alg`.
    /// A key that cannot be parsed (a point off its curve) verifies nothing.
    pub fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> Result<(), JwsError> {
        if !self.matches(alg) {
            return Err(wrong_algorithm());
        }
        VerifyingKey::new(self.clone())
            .map_err(|_| bad_signature())?
            .verify(alg, message, signature)
    }
}

/// The JWS's `alg` is not the one of its key.
fn wrong_algorithm() -> JwsError {
    JwsError::BadSignatureAlgorithm(
        "the JWS algorithm does not match the key's type and curve".into(),
    )
}

/// The JWS's signature is not its key's over its signing input.
fn bad_signature() -> JwsError {
    JwsError::BadSignature("the JWS signature does not verify".into())
}

/// A JWK with its public key parsed for verification once, not on every request: the ACME
/// server keeps one per account key it has seen (`server.rs`), so a signed request neither
/// decodes the stored JWK nor parses its point again (a few microseconds of each ECDSA
/// verification).
#[derive(Clone)]
pub struct VerifyingKey {
    jwk: Jwk,
    /// The EC or Ed25519 key, parsed; `None` for RSA, verified from its components.
    parsed: Option<aws_lc_rs::signature::ParsedPublicKey>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("VerifyingKey").field(&self.jwk).finish()
    }
}

impl VerifyingKey {
    /// Parses `jwk`'s public key; a point that is not on its curve is refused here.
    pub fn new(jwk: Jwk) -> Result<VerifyingKey, JwsError> {
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, ParsedPublicKey,
        };
        let bad = |_| JwsError::BadPublicKey("the JWK is not a valid public key".into());
        let parsed = match &jwk {
            Jwk::Ec { crv, x, y } => {
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                let algorithm = if *crv == "P-256" {
                    &ECDSA_P256_SHA256_FIXED
                } else {
                    &ECDSA_P384_SHA384_FIXED
                };
                Some(ParsedPublicKey::new(algorithm, &point).map_err(bad)?)
            }
            Jwk::Ed25519 { x } => Some(ParsedPublicKey::new(&ED25519, x).map_err(bad)?),
            Jwk::Rsa { .. } => None,
        };
        Ok(VerifyingKey { jwk, parsed })
    }

    /// The key as a JWK.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Verifies `signature` over `message` with this key and `alg`.
    pub fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> Result<(), JwsError> {
        use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
        if !self.jwk.matches(alg) {
            return Err(wrong_algorithm());
        }
        let verified = match (&self.parsed, &self.jwk) {
            (Some(parsed), _) => parsed.verify_sig(message, signature),
            (None, Jwk::Rsa { n, e }) => RsaPublicKeyComponents { n, e }.verify(
                &RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
            (None, _) => Err(aws_lc_rs::error::Unspecified),
        };
        verified.map_err(|_| bad_signature())
    }
}

/// Who signed: a new key (`jwk`, for newAccount and revocation by certificate key) or an
/// account (`kid`, its URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signer {
    /// The key itself.
    Jwk(Jwk),
    /// An account URL.
    Kid(String),
}

/// The protected header, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protected {
    /// The algorithm.
    pub alg: Alg,
    /// The nonce (checked against the store by the caller).
    pub nonce: Option<String>,
    /// The URL the client meant (checked against the request URL by the caller).
    pub url: String,
    /// The key or account.
    pub signer: Signer,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Flattened {
    protected: String,
    payload: String,
    signature: String,
}

/// A parsed flattened JWS, not yet verified.
#[derive(Clone, Debug)]
pub struct Jws {
    /// The header.
    pub protected: Protected,
    /// The payload bytes (empty for POST-as-GET).
    pub payload: Vec<u8>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

impl Jws {
    /// Parses a request body. Unknown members, the compact or general serialisations, an
    /// unprotected header, `b64: false`, `crit` and a header naming both or neither of
    /// `jwk` and `kid` are refused.
    pub fn parse(body: &[u8]) -> Result<Jws, JwsError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(malformed(format!(
                "the request body is {} bytes; at most {MAX_BODY_BYTES} are read",
                body.len()
            )));
        }
        let flat: Flattened = serde_json::from_slice(body).map_err(|e| {
            malformed(format!(
                "the body is not a flattened JWS (protected, payload, signature): {e}"
            ))
        })?;
        let header_bytes = b64("the protected header", &flat.protected)?;
        let header: Value = serde_json::from_slice(&header_bytes)
            .map_err(|_| malformed("the protected header is not JSON"))?;
        let obj = header
            .as_object()
            .ok_or_else(|| malformed("the protected header is not a JSON object"))?;
        for forbidden in ["b64", "crit", "x5c", "x5u", "jku"] {
            if obj.contains_key(forbidden) {
                return Err(malformed(format!(
                    "the protected header may not carry '{forbidden}'"
                )));
            }
        }
        let alg_name = obj
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("the protected header has no 'alg'"))?;
        let alg = Alg::parse(alg_name)?;
        let url = obj
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("the protected header has no 'url'"))?
            .to_owned();
        let nonce = match obj.get("nonce") {
            None => None,
            Some(Value::String(n)) => Some(n.clone()),
            Some(_) => return Err(malformed("the nonce is not a string")),
        };
        let signer = match (obj.get("jwk"), obj.get("kid")) {
            (Some(jwk), None) => Signer::Jwk(Jwk::from_json(jwk)?),
            (None, Some(Value::String(kid))) => Signer::Kid(kid.clone()),
            (None, Some(_)) => return Err(malformed("'kid' is not a string")),
            (Some(_), Some(_)) => {
                return Err(malformed(
                    "the protected header carries both 'jwk' and 'kid'; send exactly one",
                ));
            }
            (None, None) => {
                return Err(malformed(
                    "the protected header carries neither 'jwk' nor 'kid'",
                ));
            }
        };
        let payload = if flat.payload.is_empty() {
            Vec::new()
        } else {
            b64("the payload", &flat.payload)?
        };
        let signature = b64("the signature", &flat.signature)?;
        let mut signing_input = Vec::with_capacity(flat.protected.len() + 1 + flat.payload.len());
        signing_input.extend_from_slice(flat.protected.as_bytes());
        signing_input.push(b'.');
        signing_input.extend_from_slice(flat.payload.as_bytes());
        Ok(Jws {
            protected: Protected {
                alg,
                nonce,
                url,
                signer,
            },
            payload,
            signing_input,
            signature,
        })
    }

    /// Verifies the signature with `key` (the header's `jwk`).
    pub fn verify(&self, key: &Jwk) -> Result<(), JwsError> {
        key.verify(self.protected.alg, &self.signing_input, &self.signature)
    }

    /// Verifies the signature with an account's key, parsed before.
    pub fn verify_with(&self, key: &VerifyingKey) -> Result<(), JwsError> {
        key.verify(self.protected.alg, &self.signing_input, &self.signature)
    }

    /// Whether this is a POST-as-GET (empty payload).
    pub fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The payload as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, JwsError> {
        serde_json::from_slice(&self.payload)
            .map_err(|e| malformed(format!("the payload is not what this request takes: {e}")))
    }
}

/// The External Account Binding of a newAccount request (RFC 8555 §7.3.4): a JWS over the
/// account's JWK, signed with HS256 by the MAC key an administrator was given.
#[derive(Clone, Debug)]
pub struct ExternalBinding {
    /// The EAB key id (`macId`).
    pub kid: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    payload: Vec<u8>,
    url: String,
}

impl ExternalBinding {
    /// Reads the `externalAccountBinding` member.
    pub fn parse(value: &Value) -> Result<ExternalBinding, JwsError> {
        let flat: Flattened = serde_json::from_value(value.clone())
            .map_err(|_| malformed("externalAccountBinding is not a flattened JWS"))?;
        let header: Value = serde_json::from_slice(&b64("the EAB header", &flat.protected)?)
            .map_err(|_| malformed("the EAB protected header is not JSON"))?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if alg != "HS256" {
            return Err(JwsError::BadSignatureAlgorithm(format!(
                "the external account binding must be signed with HS256, not '{alg}'"
            )));
        }
        if header.get("nonce").is_some() {
            return Err(malformed(
                "the external account binding may not carry a nonce",
            ));
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("the external account binding has no 'kid'"))?
            .to_owned();
        let url = header
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("the external account binding has no 'url'"))?
            .to_owned();
        let mut signing_input = flat.protected.as_bytes().to_vec();
        signing_input.push(b'.');
        signing_input.extend_from_slice(flat.payload.as_bytes());
        Ok(ExternalBinding {
            kid,
            payload: b64("the EAB payload", &flat.payload)?,
            signature: b64("the EAB signature", &flat.signature)?,
            signing_input,
            url,
        })
    }

    /// Checks the binding: same URL as the outer request, payload the account's JWK, MAC
    /// by `mac_key` (compared in constant time by aws-lc-rs).
    pub fn verify(
        &self,
        outer_url: &str,
        account_key: &Jwk,
        mac_key: &[u8],
    ) -> Result<(), JwsError> {
        if self.url != outer_url {
            return Err(malformed(
                "the external account binding's url differs from the request's",
            ));
        }
        let inner: Value = serde_json::from_slice(&self.payload)
            .map_err(|_| malformed("the external account binding's payload is not a JWK"))?;
        if Jwk::from_json(&inner)? != *account_key {
            return Err(malformed(
                "the external account binding is for another key than the account's",
            ));
        }
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, mac_key);
        aws_lc_rs::hmac::verify(&key, &self.signing_input, &self.signature).map_err(|_| {
            JwsError::BadSignature(
                "the external account binding's MAC does not verify with that key id's MAC key"
                    .into(),
            )
        })
    }
}
