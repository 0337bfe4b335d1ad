//! Integration tests of the validation authority against a real DNS server (in process, on
//! loopback) and real HTTP servers on loopback: every DCV method, the address guard of the
//! fetcher, and every CAA rule, with the exact messages an administrator would read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod caa;
mod challenge;
mod dcv_dns;
mod dcv_http;
mod resolver;
mod support;
