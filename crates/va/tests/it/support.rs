//! Shared set-up: a DNS server with a resolver pointed at it, a resolver pointed at nothing,
//! and a small web server.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use castellan_testkit::dns::TestDns;
use castellan_va::{FetchSettings, Fetcher, Resolver, ResolverSettings};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A running DNS server and a resolver that asks it.
pub async fn dns() -> (TestDns, Resolver) {
    let dns = TestDns::start().await;
    let resolver = resolver_at(dns.addr());
    (dns, resolver)
}

/// A resolver asking `server` only, with short timeouts so failures are quick. It reuses no
/// CAA answer: the tests change records between checks.
pub fn resolver_at(server: SocketAddr) -> Resolver {
    resolver_keeping_caa(server, Duration::ZERO)
}

/// A resolver asking `server` only, reusing CAA answers for their TTL, at most `max`.
pub fn resolver_keeping_caa(server: SocketAddr, max: Duration) -> Resolver {
    Resolver::new(&ResolverSettings {
        servers: vec![server],
        timeout: Duration::from_millis(500),
        attempts: 0,
        caa_cache_max: max,
    })
    .unwrap()
}

/// A resolver whose server does not exist: a loopback port nothing listens on.
pub fn dead_resolver() -> Resolver {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = socket.local_addr().unwrap();
    drop(socket);
    resolver_at(addr)
}

/// The content the tests' validation file holds.
pub const TOKEN: &str = "c0ffee0123456789abcdef";

/// An HTTPS web server on an ephemeral loopback port, serving the same files as
/// [`web_server`] with a self-signed certificate for `site.test`; returns its port.
pub async fn https_web_server() -> u16 {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    castellan_testkit::tools::run(
        castellan_testkit::tools::openssl()
            .args(["req", "-x509", "-newkey", "ec"])
            .args([
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
            ])
            .args([
                "-subj",
                "/CN=site.test",
                "-addext",
                "subjectAltName=DNS:site.test",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    let chain = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = axum_server::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
    )
    .unwrap();
    tokio::spawn(async move { server.serve(app().into_make_service()).await.unwrap() });
    port
}

/// A web server on an ephemeral loopback port serving validation files, redirects and
/// oversized bodies; returns its port.
pub async fn web_server() -> u16 {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app()).await.unwrap() });
    port
}

/// The validation files, redirects and oversized bodies both web servers serve.
fn app() -> Router {
    Router::new()
        .route(
            "/.well-known/pki-validation/good.txt",
            get(|| async { format!("  {TOKEN}\r\n") }),
        )
        .route(
            "/.well-known/pki-validation/sectigo.txt",
            get(|| async { format!("{TOKEN}\ncomodoca.com\nunique-value\n") }),
        )
        .route(
            "/.well-known/pki-validation/wrong.txt",
            get(|| async { "someone-else's-token" }),
        )
        .route(
            "/.well-known/pki-validation/big.txt",
            get(|| async { "x".repeat(64 * 1024 + 1) }),
        )
        .route(
            "/.well-known/pki-validation/exactly-64k.txt",
            get(|| async { "x".repeat(64 * 1024) }),
        )
        // Three redirects, then the file: allowed.
        .route(
            "/.well-known/pki-validation/three-hops.txt",
            get(|| async { redirect("/hop/2") }),
        )
        .route("/hop/2", get(|| async { redirect("/hop/1") }))
        .route(
            "/hop/1",
            get(|| async { redirect("/.well-known/pki-validation/good.txt") }),
        )
        // Redirects forever.
        .route(
            "/.well-known/pki-validation/loop.txt",
            get(|| async { redirect("/loop/1") }),
        )
        .route(
            "/loop/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    redirect(&format!("/loop/{}", n + 1))
                },
            ),
        )
        .route(
            "/.well-known/pki-validation/other-port.txt",
            get(|| async { redirect("http://site.test:1/.well-known/pki-validation/good.txt") }),
        )
        .route(
            "/.well-known/pki-validation/ftp.txt",
            get(|| async { redirect("ftp://site.test/good.txt") }),
        )
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

/// A fetcher resolving through `resolver`, with HTTP validation on `port`.
pub fn fetcher(resolver: &Resolver, port: u16, allow_private_targets: bool) -> Fetcher {
    Fetcher::new(
        resolver.clone(),
        FetchSettings {
            allow_private_targets,
            http_port: port,
            https_port: 443,
        },
    )
}

/// A fetcher resolving through `resolver`, with HTTPS validation on `port`, allowed to reach
/// loopback.
pub fn https_fetcher(resolver: &Resolver, port: u16) -> Fetcher {
    Fetcher::new(
        resolver.clone(),
        FetchSettings {
            allow_private_targets: true,
            http_port: 80,
            https_port: port,
        },
    )
}

/// The identities Castellan answers to in CAA, in these tests.
pub fn identities() -> Vec<String> {
    vec!["castellan.test".to_owned(), "ca.castellan.test".to_owned()]
}
