//! The JWS profile against real signatures (aws-lc-rs keys of every accepted type) and every
//! refusal, word for word.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod jws;
