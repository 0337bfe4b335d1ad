//! Integration tests of the certificate engine against real tools: every shipped profile
//! issued from `openssl`-made CSRs, checked by `openssl verify -x509_strict` and `pkilint`;
//! every download format parsed back by `openssl`; every refusal's exact error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod formats;
mod profiles;
mod refusals;
mod support;
