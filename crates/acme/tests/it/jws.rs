use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use castellan_acme::jws::{ExternalBinding, Jwk, Jws, JwsError, Signer, VerifyingKey, b64e};
use serde_json::{Value, json};

/// A client key of one of the accepted kinds, able to sign JWS as an ACME client does.
enum ClientKey {
    Ec(EcdsaKeyPair, &'static str, &'static str, usize),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl ClientKey {
    fn p256() -> ClientKey {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        ClientKey::Ec(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap(),
            "P-256",
            "ES256",
            32,
        )
    }

    fn p384() -> ClientKey {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        ClientKey::Ec(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref()).unwrap(),
            "P-384",
            "ES384",
            48,
        )
    }

    fn rsa() -> ClientKey {
        ClientKey::Rsa(RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap())
    }

    fn ed25519() -> ClientKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        ClientKey::Ed(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
    }

    fn alg(&self) -> &'static str {
        match self {
            ClientKey::Ec(_, _, alg, _) => alg,
            ClientKey::Rsa(_) => "RS256",
            ClientKey::Ed(_) => "EdDSA",
        }
    }

    fn jwk(&self) -> Value {
        match self {
            ClientKey::Ec(pair, crv, _, len) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": crv, "x": b64e(&point[1..1 + len]), "y": b64e(&point[1 + len..])})
            }
            ClientKey::Rsa(pair) => {
                let public = pair.public_key();
                let n = public.modulus();
                let e = public.exponent();
                json!({
                    "kty": "RSA",
                    "n": b64e(n.big_endian_without_leading_zero()),
                    "e": b64e(e.big_endian_without_leading_zero())
                })
            }
            ClientKey::Ed(pair) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64e(pair.public_key().as_ref())})
            }
        }
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            ClientKey::Ec(pair, ..) => pair.sign(&rng, input).unwrap().as_ref().to_vec(),
            ClientKey::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, input, &mut sig).unwrap();
                sig
            }
            ClientKey::Ed(pair) => pair.sign(input).as_ref().to_vec(),
        }
    }

    /// A flattened JWS with `header` (alg added) over `payload` ("" for POST-as-GET).
    fn jws(&self, mut header: Value, payload: &str) -> Vec<u8> {
        header["alg"] = json!(self.alg());
        let protected = b64e(header.to_string().as_bytes());
        let payload = if payload.is_empty() {
            String::new()
        } else {
            b64e(payload.as_bytes())
        };
        let signature = self.sign(format!("{protected}.{payload}").as_bytes());
        json!({"protected": protected, "payload": payload, "signature": b64e(&signature)})
            .to_string()
            .into_bytes()
    }
}

const URL: &str = "https://acme.camford.ac.uk/acme/new-account";

/// A key of each type an account may have.
fn every_key_type() -> [ClientKey; 4] {
    [
        ClientKey::p256(),
        ClientKey::p384(),
        ClientKey::rsa(),
        ClientKey::ed25519(),
    ]
}

fn err(body: &[u8]) -> JwsError {
    Jws::parse(body).unwrap_err()
}

#[test]
fn every_accepted_key_type_signs_and_verifies() {
    for key in every_key_type() {
        let body = key.jws(
            json!({"jwk": key.jwk(), "nonce": "n1", "url": URL}),
            r#"{"termsOfServiceAgreed":true}"#,
        );
        let jws = Jws::parse(&body).unwrap();
        assert_eq!(jws.protected.url, URL);
        assert_eq!(jws.protected.nonce.as_deref(), Some("n1"));
        let Signer::Jwk(jwk) = &jws.protected.signer else {
            panic!("jwk expected")
        };
        jws.verify(jwk).unwrap();
        let payload: Value = jws.json().unwrap();
        assert_eq!(payload["termsOfServiceAgreed"], true);
        // The same JWK read twice has the same thumbprint; another key another.
        assert_eq!(
            jwk.thumbprint(),
            Jwk::from_json(&key.jwk()).unwrap().thumbprint()
        );
        assert_eq!(jwk.thumbprint().len(), 43);
    }
}

#[test]
fn a_kid_request_and_post_as_get() {
    let key = ClientKey::p256();
    let body = key.jws(
        json!({"kid": "https://acme.camford.ac.uk/acme/acct/7", "nonce": "n", "url": URL}),
        "",
    );
    let jws = Jws::parse(&body).unwrap();
    assert!(jws.is_post_as_get());
    assert_eq!(
        jws.protected.signer,
        Signer::Kid("https://acme.camford.ac.uk/acme/acct/7".into())
    );
    jws.verify(&Jwk::from_json(&key.jwk()).unwrap()).unwrap();
    // Another key does not verify it.
    let other = Jwk::from_json(&ClientKey::p256().jwk()).unwrap();
    assert_eq!(
        jws.verify(&other).unwrap_err(),
        JwsError::BadSignature("the JWS signature does not verify".into())
    );
}

#[test]
fn an_account_key_parsed_once_verifies_as_its_jwk_does() {
    for key in every_key_type() {
        let body = key.jws(
            json!({"kid": "https://acme.camford.ac.uk/acme/acct/7", "nonce": "n", "url": URL}),
            "",
        );
        let jws = Jws::parse(&body).unwrap();
        let jwk = Jwk::from_json(&key.jwk()).unwrap();
        let parsed = VerifyingKey::new(jwk.clone()).unwrap();
        assert_eq!(parsed.jwk(), &jwk);
        jws.verify_with(&parsed).unwrap();
        // The same request checked with another account's key fails, as with its JWK.
        let other = VerifyingKey::new(Jwk::from_json(&ClientKey::p256().jwk()).unwrap()).unwrap();
        let refused = jws.verify_with(&other).unwrap_err();
        let expected = if key.alg() == "ES256" {
            JwsError::BadSignature("the JWS signature does not verify".into())
        } else {
            JwsError::BadSignatureAlgorithm(
                "the JWS algorithm does not match the key's type and curve".into(),
            )
        };
        assert_eq!(refused, expected, "{}", key.alg());
    }

    // A point that is not on P-256 is refused when parsed, and verifies nothing as a JWK.
    let key = ClientKey::p256();
    let mut off_curve = key.jwk();
    off_curve["y"] = Value::String(b64e(&[7u8; 32]));
    let jwk = Jwk::from_json(&off_curve).unwrap();
    assert_eq!(
        VerifyingKey::new(jwk.clone()).unwrap_err(),
        JwsError::BadPublicKey("the JWK is not a valid public key".into())
    );
    let body = key.jws(json!({"jwk": off_curve, "nonce": "n", "url": URL}), "");
    assert_eq!(
        Jws::parse(&body).unwrap().verify(&jwk).unwrap_err(),
        JwsError::BadSignature("the JWS signature does not verify".into())
    );
}

#[test]
fn the_rfc_7638_example_thumbprint() {
    // RFC 7638 §3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    assert_eq!(
        Jwk::from_json(&jwk).unwrap().thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn refusals_name_the_rule() {
    let key = ClientKey::p256();
    let good_header = json!({"jwk": key.jwk(), "nonce": "n", "url": URL});
    let protected = |header: Value| b64e(header.to_string().as_bytes());
    let with = |header: Value| {
        json!({"protected": protected(header), "payload": "", "signature": b64e(b"sig")})
            .to_string()
            .into_bytes()
    };
    let malformed = |s: &str| JwsError::Malformed(s.into());

    // alg none and HS256 on a request.
    for alg in ["none", "HS256", "RS512"] {
        let mut h = good_header.clone();
        h["alg"] = json!(alg);
        assert_eq!(
            err(&with(h)),
            JwsError::BadSignatureAlgorithm(format!(
                "the JWS algorithm '{alg}' is not accepted; use ES256, ES384, RS256 or EdDSA"
            ))
        );
    }
    let mut h = good_header.clone();
    h["alg"] = json!("ES256");
    h["kid"] = json!("https://acme.camford.ac.uk/acme/acct/1");
    assert_eq!(
        err(&with(h)),
        malformed("the protected header carries both 'jwk' and 'kid'; send exactly one")
    );
    let h = json!({"alg": "ES256", "nonce": "n", "url": URL});
    assert_eq!(
        err(&with(h)),
        malformed("the protected header carries neither 'jwk' nor 'kid'")
    );
    let h = json!({"alg": "ES256", "nonce": "n", "kid": "x"});
    assert_eq!(
        err(&with(h)),
        malformed("the protected header has no 'url'")
    );
    let mut h = good_header.clone();
    h["alg"] = json!("ES256");
    h["b64"] = json!(false);
    assert_eq!(
        err(&with(h)),
        malformed("the protected header may not carry 'b64'")
    );
    // A mismatched algorithm and key: ES384 with a P-256 key.
    let mut h = good_header.clone();
    h["alg"] = json!("ES384");
    let jws = Jws::parse(&with(h)).unwrap();
    let Signer::Jwk(jwk) = &jws.protected.signer else {
        panic!()
    };
    assert_eq!(
        jws.verify(jwk).unwrap_err(),
        JwsError::BadSignatureAlgorithm(
            "the JWS algorithm does not match the key's type and curve".into()
        )
    );
    // Malformed base64url: padding, other alphabet.
    let body = json!({"protected": protected(good_header.clone()) + "=", "payload": "", "signature": "AA"}).to_string();
    assert_eq!(
        err(body.as_bytes()),
        malformed("the protected header is not unpadded base64url")
    );
    let body = json!({"protected": "a+b/", "payload": "", "signature": "AA"}).to_string();
    assert_eq!(
        err(body.as_bytes()),
        malformed("the protected header is not unpadded base64url")
    );
    // Not flattened JSON: compact serialisation, extra members, garbage.
    assert!(matches!(
        err(b"eyJhbGciOiJFUzI1NiJ9.e30.c2ln"),
        JwsError::Malformed(_)
    ));
    let body = json!({"protected": protected(good_header.clone()), "payload": "", "signature": "AA", "header": {}}).to_string();
    assert!(
        matches!(err(body.as_bytes()), JwsError::Malformed(m) if m.starts_with("the body is not a flattened JWS"))
    );
    // Oversized body.
    let huge = vec![b' '; castellan_acme::jws::MAX_BODY_BYTES + 1];
    assert_eq!(
        err(&huge),
        malformed("the request body is 65537 bytes; at most 65536 are read")
    );
    // Keys Castellan does not accept.
    let mut h = good_header.clone();
    h["alg"] = json!("ES256");
    h["jwk"]["crv"] = json!("P-521");
    assert_eq!(
        err(&with(h)),
        JwsError::BadPublicKey("the curve 'P-521' is not accepted; use P-256 or P-384".into())
    );
    let mut h = good_header.clone();
    h["alg"] = json!("ES256");
    h["jwk"]["d"] = json!("AAAA");
    assert_eq!(
        err(&with(h)),
        JwsError::BadPublicKey(
            "the JWK carries private or symmetric key material; send the public key only".into()
        )
    );
    let small = json!({"kty": "RSA", "n": b64e(&[0xc3; 128]), "e": "AQAB"});
    assert_eq!(
        Jwk::from_json(&small).unwrap_err(),
        JwsError::BadPublicKey(
            "an RSA account key of 1024 bits is not accepted; use 2048 to 8192 bits".into()
        )
    );
    // A tampered payload does not verify.
    let body = key.jws(good_header.clone(), r#"{"a":1}"#);
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    v["payload"] = json!(b64e(br#"{"a":2}"#));
    let jws = Jws::parse(v.to_string().as_bytes()).unwrap();
    assert!(matches!(
        jws.verify(&Jwk::from_json(&key.jwk()).unwrap()),
        Err(JwsError::BadSignature(_))
    ));
}

fn eab(mac_key: &[u8], kid: &str, url: &str, jwk: &Value, alg: &str) -> Value {
    let protected = b64e(
        json!({"alg": alg, "kid": kid, "url": url})
            .to_string()
            .as_bytes(),
    );
    let payload = b64e(jwk.to_string().as_bytes());
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, mac_key);
    let tag = aws_lc_rs::hmac::sign(&key, format!("{protected}.{payload}").as_bytes());
    json!({"protected": protected, "payload": payload, "signature": b64e(tag.as_ref())})
}

#[test]
fn external_account_binding() {
    let account = ClientKey::p256();
    let account_jwk = Jwk::from_json(&account.jwk()).unwrap();
    let mac = b"a mac key of thirty-two bytes!!!";
    let binding = ExternalBinding::parse(&eab(mac, "kid-1", URL, &account.jwk(), "HS256")).unwrap();
    assert_eq!(binding.kid, "kid-1");
    binding.verify(URL, &account_jwk, mac).unwrap();
    assert_eq!(
        binding
            .verify(URL, &account_jwk, b"another key")
            .unwrap_err(),
        JwsError::BadSignature(
            "the external account binding's MAC does not verify with that key id's MAC key".into()
        )
    );
    assert_eq!(
        binding
            .verify("https://elsewhere/acme/new-account", &account_jwk, mac)
            .unwrap_err(),
        JwsError::Malformed("the external account binding's url differs from the request's".into())
    );
    let other = Jwk::from_json(&ClientKey::p256().jwk()).unwrap();
    assert_eq!(
        binding.verify(URL, &other, mac).unwrap_err(),
        JwsError::Malformed(
            "the external account binding is for another key than the account's".into()
        )
    );
    assert_eq!(
        ExternalBinding::parse(&eab(mac, "kid-1", URL, &account.jwk(), "HS512")).unwrap_err(),
        JwsError::BadSignatureAlgorithm(
            "the external account binding must be signed with HS256, not 'HS512'".into()
        )
    );
}
