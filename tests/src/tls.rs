//! TLS for tests: a certificate authority made for the run and a certificate it issued for
//! `localhost`, and a TLS front that terminates HTTPS and hands the plain bytes to a local HTTP
//! server (so the fakes stay plain poem handlers). A client that trusts the CA file connects; one
//! that does not is refused during the handshake, as against any real server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// A CA (its PEM in a file, for `accounts.webhook_ca_file`) and a `localhost` certificate from it.
pub struct TestPki {
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
    ca_cert: Certificate,
    ca_key: KeyPair,
    leaf: CertificateDer<'static>,
    leaf_key: Vec<u8>,
}

/// A certificate for `localhost` issued by a `TestPki`: its DER and both PEMs.
pub struct Issued {
    pub der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestPki {
    pub fn new(name: &str) -> Self {
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
        let ca_cert = ca.self_signed(&ca_key).expect("a self-signed CA");
        let (leaf, leaf_key) = issue(&ca_cert, &ca_key);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).expect("the CA file written");
        TestPki { ca_file, _dir: dir, ca_cert, ca_key, leaf: leaf.der().clone(), leaf_key: leaf_key.serialize_der() }
    }

    /// The CA certificate, PEM (what a client is told to trust).
    pub fn ca_pem(&self) -> String {
        self.ca_cert.pem()
    }

    /// A new `localhost` certificate and key from this CA (each call a different one).
    pub fn issue(&self) -> Issued {
        let (cert, key) = issue(&self.ca_cert, &self.ca_key);
        Issued { der: cert.der().clone(), cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }

    /// A rustls client that trusts this CA and nothing else.
    pub fn client(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_cert.der().clone()).expect("the CA is a certificate");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    /// The certificate `addr` presents to a client that trusts this CA, connecting as `localhost`.
    pub async fn served_at(&self, addr: SocketAddr) -> std::io::Result<CertificateDer<'static>> {
        let connector = tokio_rustls::TlsConnector::from(self.client());
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
        let tls = connector.connect(name, tcp).await?;
        let (_, session) = tls.get_ref();
        Ok(session.peer_certificates().and_then(|c| c.first()).expect("the server sent a certificate").clone())
    }

    /// Serves HTTPS for `localhost` on a free port, passing each connection's plain bytes to
    /// `backend`; returns the port's address.
    pub async fn front(&self, backend: SocketAddr) -> SocketAddr {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key.clone()));
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.leaf.clone()], key)
            .expect("the server certificate");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that does not trust the CA ends the handshake: nothing to pass on.
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    if let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
        addr
    }
}

fn issue(ca_cert: &Certificate, ca_key: &KeyPair) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().expect("a server key");
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("server parameters")
        .signed_by(&key, ca_cert, ca_key)
        .expect("a server certificate");
    (cert, key)
}
