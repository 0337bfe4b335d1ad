//! ACME (RFC 8555), Castellan's front door for certbot, lego and other ACME clients.
//!
//! This crate turns ACME's wire format into calls on `ra` and back; it decides nothing
//! itself: the JWS profile and the External Account Binding ([`jws`]), and the endpoints
//! ([`server`]): directory, nonces and accounts so far.

pub mod jws;
#[cfg(feature = "server")]
pub mod server;

#[cfg(feature = "server")]
pub use server::router;
