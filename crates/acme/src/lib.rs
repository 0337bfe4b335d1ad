//! ACME (RFC 8555), Castellan's front door for certbot, lego and other ACME clients.
//!
//! This crate turns ACME's wire format into calls on `ra` and back; it decides nothing
//! itself. It starts with the part every request passes through: the JWS profile and the
//! External Account Binding ([`jws`]).

pub mod jws;
