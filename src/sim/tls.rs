//! TLS for the simulated Kubernetes API: kubectl (client-go) sends bearer tokens only over https,
//! so the `sim` command serves https with a CA and certificate made fresh for each simulator.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA and a 127.0.0.1/localhost server certificate it signed, generated at start: no key is kept on disk
/// or in the repository, and the kubeconfig the simulator writes carries the CA.
pub struct SimTls {
    /// The CA certificate, DER (trust it to talk to this simulator).
    pub ca_der: Vec<u8>,
    /// The CA certificate, PEM (for kubeconfig `certificate-authority-data`).
    pub ca_pem: String,
    server_der: Vec<u8>,
    server_key_der: Vec<u8>,
}

impl std::fmt::Debug for SimTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTls").field("ca_pem", &self.ca_pem).finish_non_exhaustive()
    }
}

impl SimTls {
    pub fn generate() -> Result<Self, rcgen::Error> {
        let ca_key = rcgen::KeyPair::generate()?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "aks-spot-test simulator CA");
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
        let ca = ca_params.self_signed(&ca_key)?;

        let server_key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        params.distinguished_name.push(rcgen::DnType::CommonName, "aks-spot-test simulator");
        let server = params.signed_by(&server_key, &ca, &ca_key)?;
        Ok(SimTls {
            ca_der: ca.der().to_vec(),
            ca_pem: ca.pem(),
            server_der: server.der().to_vec(),
            server_key_der: server_key.serialize_der(),
        })
    }

    /// A rustls acceptor serving the server certificate (and the CA, as the chain).
    pub fn acceptor(&self) -> Result<TlsAcceptor, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(self.server_der.clone()), CertificateDer::from(self.ca_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone())),
            )?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// A TCP listener that hands axum TLS streams.
pub struct TlsListener {
    pub tcp: TcpListener,
    pub acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener").field("tcp", &self.tcp).finish_non_exhaustive()
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.tcp.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed; retrying");
                    // Out of file descriptors and the like: back off briefly rather than spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // A client that never finishes its handshake must not stall every other connection for long.
            match tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => tracing::debug!(error = %e, "tls handshake failed"),
                Err(_) => tracing::debug!("tls handshake timed out after 5 s"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Standard base64 (for kubeconfig `*-data` fields).
pub fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_material_makes_an_acceptor_and_a_pem_ca() {
        let tls = SimTls::generate().unwrap();
        assert!(tls.acceptor().is_ok());
        assert!(tls.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(SimTls::generate().unwrap().ca_der, tls.ca_der, "fresh material per simulator");
    }
}
