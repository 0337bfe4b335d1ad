//! Serving the application over HTTPS (the default, with the certificate Castellan issues
//! to itself) or plain HTTP (`--http`, for loopback and tests), with graceful shutdown.

use axum::Router;
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Why the listener could not start or stopped.
#[derive(Debug, Error)]
pub enum ListenerError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key was refused by rustls.
    #[error("the TLS certificate cannot be used: {0}")]
    Tls(String),
    /// Serving failed.
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// The server certificate chain (leaf first), its PKCS#8 key, and the roots that client
/// certificates may chain to.
pub struct TlsMaterial {
    /// DER certificates, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// PKCS#8 DER private key.
    pub key_pkcs8: Vec<u8>,
    /// DER root certificates for client certificates (`/private/api`). Clients without a
    /// certificate are still served; a presented certificate must chain to one of these.
    pub client_roots: Vec<Vec<u8>>,
}

/// A bound socket, before serving starts (so the caller can report the real address).
pub struct Listener {
    inner: std::net::TcpListener,
}

impl Listener {
    /// Binds `addr` (`127.0.0.1:0` picks a free port).
    pub fn bind(addr: &str) -> Result<Listener, ListenerError> {
        let inner = std::net::TcpListener::bind(addr).map_err(|source| ListenerError::Bind {
            addr: addr.to_owned(),
            source,
        })?;
        inner
            .set_nonblocking(true)
            .map_err(|source| ListenerError::Bind {
                addr: addr.to_owned(),
                source,
            })?;
        Ok(Listener { inner })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, ListenerError> {
        self.inner.local_addr().map_err(ListenerError::Serve)
    }
}

fn rustls_config(tls: TlsMaterial) -> Result<Arc<ServerConfig>, ListenerError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain: Vec<CertificateDer<'static>> =
        tls.chain.into_iter().map(CertificateDer::from).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(tls.key_pkcs8));
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ListenerError::Tls(e.to_string()))?;
    let builder = if tls.client_roots.is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for der in tls.client_roots {
            roots
                .add(CertificateDer::from(der))
                .map_err(|e| ListenerError::Tls(format!("client root: {e}")))?;
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| ListenerError::Tls(format!("client verifier: {e}")))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| ListenerError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains connections for up to
/// ten seconds. With `tls`, serves HTTPS; without, plain HTTP.
pub async fn serve(
    listener: Listener,
    tls: Option<TlsMaterial>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ListenerError> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        Some(material) => {
            let config =
                axum_server::tls_rustls::RustlsConfig::from_config(rustls_config(material)?);
            axum_server::from_tcp_rustls(listener.inner, config)
                .map_err(ListenerError::Serve)?
                .handle(handle)
                .serve(service)
                .await
                .map_err(ListenerError::Serve)
        }
        None => axum_server::from_tcp(listener.inner)
            .map_err(ListenerError::Serve)?
            .handle(handle)
            .serve(service)
            .await
            .map_err(ListenerError::Serve),
    }
}
