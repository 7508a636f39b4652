//! SIP over TLS through the built daemon: a device registers over TLS, a
//! call arrives over UDP and is sent to it over its TLS connection, with
//! our Via on TLS and a doubled Record-Route (RFC 5658). Certificates are
//! made by the test (rcgen). Ports 15250–15253 on 127.0.0.1.

use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path) -> (Daemon, Vec<u8>) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::write(dir.join("proxy.crt"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("proxy.key"), cert.key_pair.serialize_pem()).unwrap();
    let config = format!(
        "domains = [\"home\"]\n[listen]\nudp = [\"127.0.0.1:15250\"]\ntcp = []\ntls = [\"127.0.0.1:15251\"]\n\
         [auth]\nenabled = false\npasswd = \"\"\n[registrar]\nstore = \"{d}/bindings.jsonl\"\n[routing]\nroutes = \"\"\n\
         [tls]\ncert = \"{d}/proxy.crt\"\nkey = \"{d}/proxy.key\"\n",
        d = dir.display()
    );
    std::fs::write(dir.join("proxy.toml"), config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_intercom-proxy"))
        .args(["--config", dir.join("proxy.toml").to_str().unwrap()])
        .stderr(std::fs::File::create(dir.join("proxy.log")).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    (Daemon(child), cert.cert.der().to_vec())
}

async fn read_message<S: AsyncReadExt + Unpin>(s: &mut S) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&buf).contains("\r\n\r\n") {
        let n =
            tokio::time::timeout(Duration::from_secs(3), s.read(&mut chunk)).await.expect("a message in time").unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

const REGISTER: &str = "REGISTER sip:home SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:15252;branch=z9hG4bKtls1\r\nMax-Forwards: 70\r\n\
    From: <sip:a0@home>;tag=t\r\nTo: <sip:a0@home>\r\nCall-ID: tls-reg\r\nCSeq: 1 REGISTER\r\n\
    Contact: <sip:a0@127.0.0.1:15252;transport=tls>\r\nContent-Length: 0\r\n\r\n";

const INVITE: &str = "INVITE sip:a0@home SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:15253;branch=z9hG4bKudp1\r\nMax-Forwards: 70\r\n\
    From: <sip:door@127.0.0.1:15253>;tag=d\r\nTo: <sip:a0@home>\r\nCall-ID: tls-call\r\nCSeq: 1 INVITE\r\n\
    Contact: <sip:door@127.0.0.1:15253>\r\nContent-Length: 0\r\n\r\n";

#[test]
fn register_over_tls_and_receive_a_call_from_udp() {
    let dir = std::env::temp_dir().join(format!("intercom-proxy-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_daemon, ca) = start(&dir);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from(ca)).unwrap();
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = TcpStream::connect("127.0.0.1:15251").await.unwrap();
        let name = ServerName::try_from("127.0.0.1".to_string()).unwrap();
        let mut tls = TlsConnector::from(Arc::new(client)).connect(name, tcp).await.expect("handshake with our CA");
        tls.write_all(REGISTER.as_bytes()).await.unwrap();
        let answer = read_message(&mut tls).await;
        assert!(answer.starts_with("SIP/2.0 200 OK"), "{answer}");

        let udp = UdpSocket::bind("127.0.0.1:15253").await.unwrap();
        udp.send_to(INVITE.as_bytes(), "127.0.0.1:15250").await.unwrap();
        let invite = read_message(&mut tls).await;
        assert!(invite.starts_with("INVITE sip:a0@127.0.0.1:15252;transport=tls SIP/2.0"), "{invite}");
        assert!(invite.contains("Via: SIP/2.0/TLS 127.0.0.1:15251;branch=z9hG4bKip"), "{invite}");
        let rr = invite.find("Record-Route: <sip:127.0.0.1:15251;transport=tls;lr>").expect("our TLS side on top");
        let rr2 = invite.find("Record-Route: <sip:127.0.0.1:15250;transport=udp;lr>").expect("our UDP side below");
        assert!(rr < rr2);
        let mut buf = [0u8; 2048];
        let (n, _) = tokio::time::timeout(Duration::from_secs(3), udp.recv_from(&mut buf)).await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 100 Trying"));
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
