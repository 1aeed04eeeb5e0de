//! Encrypted transmission (POLICY SEC-3). With `tls.cert_file` and `tls.key_file` the server
//! ends TLS itself (rustls on the `ring` provider): HTTPS and WSS on the one port, TLS 1.2 and 1.3,
//! HTTP/1.1 by ALPN. The files are read again every few seconds and a renewed certificate is
//! served to new connections without a restart; a renewal that does not load is logged and the
//! certificate in service kept. Behind a proxy that ends TLS (`tls.behind_proxy`), `secure`
//! decides per request from the trusted proxies' `X-Forwarded-Proto`.
//!
//! A connection's handshake runs on its own task's first read, not in the accept loop, so a
//! client that connects and says nothing holds up nobody else; it is given up after 10 s.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use futures::future::BoxFuture;
use poem::http::uri::Scheme;
use poem::http::{HeaderValue, StatusCode, header};
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, IntoResponse, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use xqt_kernel::ErrorCode;
use xqt_kernel::config::Config;

use crate::ServerState;

/// How long a client has to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the certificate files are looked at for a renewal.
const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// The certificate and key in the two PEM files, checked to belong together.
pub fn load(cert_file: &Path, key_file: &Path) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| anyhow::anyhow!("tls.cert_file {}: {e}", cert_file.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("tls.cert_file {}: {e}", cert_file.display()))?;
    if chain.is_empty() {
        anyhow::bail!("tls.cert_file {}: no certificate in it", cert_file.display());
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| anyhow::anyhow!("tls.key_file {}: {e}", key_file.display()))?;
    let signing_key = ring::default_provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| anyhow::anyhow!("tls.key_file {}: {e}", key_file.display()))?;
    let certified = CertifiedKey::new(chain, signing_key);
    certified.keys_match().map_err(|e| {
        anyhow::anyhow!(
            "tls.key_file {} is not the key of tls.cert_file {}: {e}",
            key_file.display(),
            cert_file.display()
        )
    })?;
    Ok(certified)
}

/// The certificate in service; swapped whole when the files change.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner())))
    }
}

/// What the files looked like when last loaded: a change to either reloads both.
fn stamp(files: &[&Path]) -> Vec<Option<(SystemTime, u64)>> {
    files.iter().map(|f| std::fs::metadata(f).ok().and_then(|m| Some((m.modified().ok()?, m.len())))).collect()
}

/// A TLS front on another acceptor (the TCP one).
pub struct TlsAcceptor<A> {
    inner: A,
    tls: tokio_rustls::TlsAcceptor,
    _reloader: tokio::task::JoinHandle<()>,
}

impl<A> Drop for TlsAcceptor<A> {
    fn drop(&mut self) {
        self._reloader.abort();
    }
}

impl<A: Acceptor> TlsAcceptor<A> {
    /// Loads the certificate (an error names the file) and starts watching the files.
    pub fn new(inner: A, cert_file: PathBuf, key_file: PathBuf) -> anyhow::Result<Self> {
        let current = Arc::new(Current(RwLock::new(Arc::new(load(&cert_file, &key_file)?))));
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        // HTTP/2 is not offered: the GraphQL WebSocket is an HTTP/1.1 upgrade.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let reloader = tokio::spawn(async move {
            let mut seen = stamp(&[&cert_file, &key_file]);
            loop {
                tokio::time::sleep(RELOAD_EVERY).await;
                let now = stamp(&[&cert_file, &key_file]);
                if now == seen {
                    continue;
                }
                seen = now;
                match load(&cert_file, &key_file) {
                    Ok(fresh) => {
                        *current.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
                        tracing::info!(cert_file = %cert_file.display(), "tls certificate reloaded");
                    }
                    // A renewal caught half-written loads on the next look; one that is wrong
                    // stays logged while the old certificate keeps serving.
                    Err(e) => tracing::error!(error = %e, "tls certificate not reloaded; the one in service stays"),
                }
            }
        });
        Ok(Self { inner, tls: tokio_rustls::TlsAcceptor::from(Arc::new(config)), _reloader: reloader })
    }
}

impl<A: Acceptor> Acceptor for TlsAcceptor<A> {
    type Io = TlsIo<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (io, local, remote, _) = self.inner.accept().await?;
        let handshake = self.tls.accept(io);
        let handshake = async move {
            tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
                .await
                .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "tls handshake timed out")))
        };
        Ok((TlsIo::Handshaking(handshake.boxed()), local, remote, Scheme::HTTPS))
    }
}

/// A connection whose handshake finishes on first use.
pub enum TlsIo<S> {
    Handshaking(BoxFuture<'static, io::Result<tokio_rustls::server::TlsStream<S>>>),
    Ready(Box<tokio_rustls::server::TlsStream<S>>),
    Failed,
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsIo<S> {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&mut tokio_rustls::server::TlsStream<S>>> {
        if let TlsIo::Handshaking(handshake) = self {
            match ready!(handshake.as_mut().poll(cx)) {
                Ok(stream) => *self = TlsIo::Ready(Box::new(stream)),
                Err(e) => {
                    *self = TlsIo::Failed;
                    return Poll::Ready(Err(e));
                }
            }
        }
        match self {
            TlsIo::Ready(stream) => Poll::Ready(Ok(stream)),
            _ => Poll::Ready(Err(io::Error::new(io::ErrorKind::NotConnected, "tls handshake failed"))),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsIo<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let stream = ready!(self.get_mut().poll_ready(cx))?;
        Pin::new(stream).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsIo<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let stream = ready!(self.get_mut().poll_ready(cx))?;
        Pin::new(stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let stream = ready!(self.get_mut().poll_ready(cx))?;
        Pin::new(stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TlsIo::Ready(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
            _ => Poll::Ready(Ok(())),
        }
    }
}

/// Whether a request came over an encrypted connection: ours (TLS here), or a trusted proxy's
/// that says `X-Forwarded-Proto: https`. Anything else, including that header from an address
/// outside `tls.trusted_proxies`, is plain.
pub fn secure(config: &Config, scheme: &Scheme, peer: Option<IpAddr>, proto: Option<&str>) -> bool {
    if *scheme == Scheme::HTTPS {
        return true;
    }
    config.tls.behind_proxy
        // A chain of proxies appends; the first hop is the client's.
        && proto.and_then(|p| p.split(',').next()).is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        && peer.is_some_and(|ip| config.tls.proxies().iter().any(|p| p.contains(ip)))
}

/// Seconds a browser remembers to use HTTPS only (`Strict-Transport-Security`): a year.
const HSTS: &str = "max-age=31536000";

/// On an encrypted request, `Strict-Transport-Security`; behind a proxy, a request that did not
/// come encrypted through a trusted proxy is refused `FORBIDDEN` with `reason: HTTPS_REQUIRED`
/// (HTTP 403), except the health and readiness probes a load balancer sends directly.
pub async fn around<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let config = &req.data::<ServerState>().expect("server state").ctx.config;
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
    let proto = req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok());
    let encrypted = secure(config, req.scheme(), peer, proto);
    let probe = matches!(req.uri().path(), "/healthz" | "/readyz");
    if config.tls.behind_proxy && !encrypted && !probe {
        let body = serde_json::json!({ "errors": [{
            "message": "this API is served over HTTPS only (through the proxy in front of it)",
            "extensions": { "code": ErrorCode::Forbidden.as_str(), "reason": "HTTPS_REQUIRED" },
        }] });
        return Ok(Response::builder()
            .status(StatusCode::FORBIDDEN)
            .content_type("application/json")
            .body(body.to_string()));
    }
    let mut resp = next.call(req).await.map(IntoResponse::into_response).unwrap_or_else(|e| e.into_response());
    if encrypted {
        resp.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    Ok(resp)
}
