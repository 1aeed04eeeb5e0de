//! TLS for tests: a certificate authority made for the run and a certificate it issued for
//! `localhost`, and a TLS front that terminates HTTPS and hands the plain bytes to a local HTTP
//! server (so the fakes stay plain poem handlers). A client that trusts the CA file connects; one
//! that does not is refused during the handshake, as against any real server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// A CA (its PEM in a file, for `accounts.webhook_ca_file`) and a `localhost` certificate from it.
pub struct TestPki {
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
    leaf: CertificateDer<'static>,
    leaf_key: Vec<u8>,
}

impl TestPki {
    pub fn new(name: &str) -> Self {
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
        let ca_cert = ca.self_signed(&ca_key).expect("a self-signed CA");
        let leaf_key = KeyPair::generate().expect("a server key");
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .expect("server parameters")
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .expect("a server certificate");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).expect("the CA file written");
        TestPki { ca_file, _dir: dir, leaf: leaf.der().clone(), leaf_key: leaf_key.serialize_der() }
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
