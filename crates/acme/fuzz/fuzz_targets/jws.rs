//! Everything that reads a request body before the signature is checked: the flattened JWS,
//! its protected header, the JWK, and the external account binding. None may panic, hang
//! or allocate without bound, whatever the bytes.
#![no_main]

use castellan_acme::jws::{ExternalBinding, Jwk, Jws, Signer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(jws) = Jws::parse(data) {
        if let Signer::Jwk(jwk) = &jws.protected.signer {
            let _ = jws.verify(jwk);
            let _ = jwk.thumbprint();
        }
        let _ = jws.json::<serde_json::Value>();
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = Jwk::from_json(&value);
        let _ = ExternalBinding::parse(&value);
    }
});
