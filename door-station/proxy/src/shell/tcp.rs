//! SIP over TCP: one task per connection reads through ds-sip's
//! `StreamFramer` and writes what the core sends to that address.

use std::net::SocketAddr;

use ds_sip::message::intake::StreamFramer;
use ds_sip::transaction::{Peer, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::Inbound;

/// Largest message accepted on a stream (RFC 3261 does not bound it; 64 KiB like a datagram).
const MAX_MESSAGE: usize = 65_536;

/// Binds every TCP listen address and accepts in the background.
pub async fn listen(addrs: &[SocketAddr], tx: &mpsc::UnboundedSender<Inbound>) -> Result<(), String> {
    for addr in addrs {
        let listener = TcpListener::bind(addr).await.map_err(|e| format!("listen.tcp {addr}: {e}"))?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let (wtx, wrx) = mpsc::unbounded_channel();
                if tx.send(Inbound::Connected(peer, wtx)).is_err() {
                    break;
                }
                tokio::spawn(serve(stream, peer, wrx, tx.clone()));
            }
        });
    }
    Ok(())
}

/// A writer for `addr`; the connection is opened in the background and
/// what is sent meanwhile waits in the channel.
pub fn connect(addr: SocketAddr, tx: mpsc::UnboundedSender<Inbound>) -> mpsc::UnboundedSender<Vec<u8>> {
    let (wtx, wrx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        match TcpStream::connect(addr).await {
            Ok(stream) => serve(stream, addr, wrx, tx).await,
            Err(e) => {
                tracing::debug!("tcp connect {addr}: {e}");
                let _ = tx.send(Inbound::Closed(addr));
            }
        }
    });
    wtx
}

async fn serve(stream: TcpStream, peer: SocketAddr, mut out: mpsc::UnboundedReceiver<Vec<u8>>, tx: mpsc::UnboundedSender<Inbound>) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let write = tokio::spawn(async move {
        while let Some(bytes) = out.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    read_messages(&mut reader, peer, &tx).await;
    write.abort();
    let _ = tx.send(Inbound::Closed(peer));
}

async fn read_messages(reader: &mut tokio::net::tcp::OwnedReadHalf, peer: SocketAddr, tx: &mpsc::UnboundedSender<Inbound>) {
    let from = Peer { addr: peer, transport: Transport::Tcp };
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
                    tracing::debug!("tcp {peer}: {e}; closing");
                    return;
                }
            }
        }
    }
}
