//! rustls for SIP over TLS: an acceptor from `tls.cert`/`tls.key`, a
//! connector trusting `tls.ca`.

use std::path::Path;
use std::sync::Arc;

use intercom_proxy::config::ProxyConfig;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

/// Both sides of TLS, as far as configured.
#[derive(Clone)]
pub struct Tls {
    acceptor: Option<TlsAcceptor>,
    connector: Option<TlsConnector>,
}

impl Tls {
    /// Loads the PEM files named in `[tls]`; `None` when none is set.
    pub fn load(cfg: &ProxyConfig) -> Result<Option<Tls>, String> {
        let t = &cfg.tls;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let acceptor = if t.cert.as_os_str().is_empty() {
            None
        } else {
            let server = ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_no_client_auth()
                .with_single_cert(certs(&t.cert)?, key(&t.key)?)
                .map_err(|e| format!("tls.cert/tls.key: {e}"))?;
            Some(TlsAcceptor::from(Arc::new(server)))
        };
        let connector = if t.ca.as_os_str().is_empty() {
            None
        } else {
            let mut roots = RootCertStore::empty();
            for c in certs(&t.ca)? {
                roots.add(c).map_err(|e| format!("tls.ca: {e}"))?;
            }
            let client = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Some(TlsConnector::from(Arc::new(client)))
        };
        Ok((acceptor.is_some() || connector.is_some()).then_some(Tls { acceptor, connector }))
    }

    /// True when TLS next hops can be reached.
    pub fn can_connect(&self) -> bool {
        self.connector.is_some()
    }

    /// Server side of a handshake.
    pub async fn accept(&self, stream: TcpStream) -> Result<server::TlsStream<TcpStream>, String> {
        let acceptor = self.acceptor.as_ref().ok_or("no tls.cert")?;
        acceptor.accept(stream).await.map_err(|e| e.to_string())
    }

    /// Client side of a handshake with `name` (a host name or an IP).
    pub async fn connect(&self, name: &str, stream: TcpStream) -> Result<client::TlsStream<TcpStream>, String> {
        let connector = self.connector.as_ref().ok_or("no tls.ca")?;
        let name = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
        connector.connect(name, stream).await.map_err(|e| e.to_string())
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let list: Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_slice()).collect();
    let list = list.map_err(|e| format!("{}: {e}", path.display()))?;
    if list.is_empty() {
        return Err(format!("{}: no PEM certificate", path.display()));
    }
    Ok(list)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| format!("{}: {e}", path.display()))?
        .ok_or_else(|| format!("{}: no PEM private key", path.display()))
}
