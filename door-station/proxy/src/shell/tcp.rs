//! SIP over TCP and TLS: one task per connection reads through ds-sip's
//! `StreamFramer` and writes what the core sends to that address.

use std::net::SocketAddr;

use ds_sip::message::intake::StreamFramer;
use ds_sip::transaction::{Peer, Transport};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::Inbound;
use super::tls::Tls;

/// Largest message accepted on a stream (RFC 3261 does not bound it; 64 KiB like a datagram).
const MAX_MESSAGE: usize = 65_536;

/// Binds every address of `transport` and accepts in the background
/// (TLS handshakes with `tls`).
pub async fn listen(
    addrs: &[SocketAddr],
    transport: Transport,
    tls: Option<Tls>,
    tx: &mpsc::UnboundedSender<Inbound>,
) -> Result<(), String> {
    for addr in addrs {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("listen.{} {addr}: {e}", transport.via_token().to_ascii_lowercase()))?;
        let (tx, tls) = (tx.clone(), tls.clone());
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let (wtx, wrx) = mpsc::unbounded_channel();
                if tx.send(Inbound::Connected(peer, wtx)).is_err() {
                    break;
                }
                let (tx, tls) = (tx.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(tls) => match tls.accept(stream).await {
                            Ok(s) => serve(s, Peer { addr: peer, transport }, wrx, tx).await,
                            Err(e) => closed(&tx, peer, &e),
                        },
                        None => serve(stream, Peer { addr: peer, transport }, wrx, tx).await,
                    }
                });
            }
        });
    }
    Ok(())
}

/// A writer for `dest`; the connection (and TLS handshake, with `tls`) is
/// opened in the background and what is sent meanwhile waits in the channel.
pub fn connect(
    dest: Peer,
    tls: Option<(Tls, String)>,
    tx: mpsc::UnboundedSender<Inbound>,
) -> mpsc::UnboundedSender<Vec<u8>> {
    let (wtx, wrx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let stream = match TcpStream::connect(dest.addr).await {
            Ok(s) => s,
            Err(e) => return closed(&tx, dest.addr, &e.to_string()),
        };
        match tls {
            Some((tls, name)) => match tls.connect(&name, stream).await {
                Ok(s) => serve(s, dest, wrx, tx).await,
                Err(e) => closed(&tx, dest.addr, &e),
            },
            None => serve(stream, dest, wrx, tx).await,
        }
    });
    wtx
}

fn closed(tx: &mpsc::UnboundedSender<Inbound>, addr: SocketAddr, why: &str) {
    tracing::debug!("stream {addr}: {why}");
    let _ = tx.send(Inbound::Closed(addr));
}

async fn serve<S>(stream: S, from: Peer, mut out: mpsc::UnboundedReceiver<Vec<u8>>, tx: mpsc::UnboundedSender<Inbound>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = tokio::spawn(async move {
        while let Some(bytes) = out.recv().await {
            if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
    });
    read_messages(&mut reader, from, &tx).await;
    write.abort();
    let _ = tx.send(Inbound::Closed(from.addr));
}

async fn read_messages<R: AsyncRead + Unpin>(reader: &mut R, from: Peer, tx: &mpsc::UnboundedSender<Inbound>) {
    let mut framer = StreamFramer::new(MAX_MESSAGE);
    let mut buf = vec![0u8; 16_384];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        while let Some(item) = framer.next() {
            match item {
                Ok(intake) => {
                    if tx.send(Inbound::Intake(from, intake)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!("{} {}: {e}; closing", from.transport.via_token(), from.addr);
                    return;
                }
            }
        }
    }
}
