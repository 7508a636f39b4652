//! SIP over UDP and TCP on `[sip] listen` (RFC 3261 §18).
//!
//! Both sockets are bound on the same address. Every message that arrives
//! goes through intake ([`parse_datagram`] for UDP, a [`StreamFramer`] per
//! TCP connection): a good message is handed to the run loop as
//! [`Inbound`]; a malformed request is answered on the spot with the
//! response intake built (400/505); anything else intake refuses is logged
//! and dropped. The endpoint's policy checks (420, 415, 416, 501, ...) are
//! the engine's: it answers them through the request's server transaction.
//!
//! TCP connections are kept in a table by peer address and reused for every
//! message to that peer, whichever side opened them (RFC 3261 §18.2.2: a
//! response goes back on the connection the request came on). A connection
//! that fails or closes leaves the table; the next message to that peer
//! opens a new one.

use crate::shell::shutdown::Shutdown;
use ds_sip::Message;
use ds_sip::message::intake::{Intake, StreamFramer, parse_datagram};
use ds_sip::transaction::{Peer, Transport};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// The largest SIP message accepted on a stream: UDP's limit (RFC 3261
/// §18.1.1 keeps UDP messages well under 64 KiB), also used for TCP.
pub const MAX_MESSAGE: usize = 65_535;

/// A well-formed SIP message for the run loop.
#[derive(Debug)]
pub struct Inbound {
    /// Where it came from.
    pub from: Peer,
    /// The message.
    pub msg: Message,
}

type ConnTable = Arc<Mutex<HashMap<SocketAddr, Connection>>>;

/// A live (or connecting) TCP connection: its writer queue and an id, so a
/// closing connection only removes its own entry.
#[derive(Debug, Clone)]
struct Connection {
    id: u64,
    tx: mpsc::UnboundedSender<Vec<u8>>,
}

/// Sends SIP messages to peers; cheap to clone.
#[derive(Debug, Clone)]
pub struct SipSender {
    udp: Arc<UdpSocket>,
    conns: ConnTable,
    inbound: mpsc::Sender<Inbound>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
    shutdown: Arc<Mutex<Option<Shutdown>>>,
}

/// The bound sockets, before their tasks start.
#[derive(Debug)]
pub struct SipSockets {
    udp: Arc<UdpSocket>,
    tcp: TcpListener,
}

impl SipSockets {
    /// Bind UDP and TCP on `listen`.
    pub async fn bind(listen: SocketAddr) -> io::Result<SipSockets> {
        let udp = UdpSocket::bind(listen).await?;
        let tcp = TcpListener::bind(udp.local_addr()?).await?;
        Ok(SipSockets { udp: Arc::new(udp), tcp })
    }

    /// The UDP address (the TCP one is the same).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    /// Start the receive tasks; messages go to `inbound`.
    pub fn start(self, inbound: mpsc::Sender<Inbound>, shutdown: Shutdown) -> SipSender {
        let sender = SipSender {
            udp: self.udp.clone(),
            conns: ConnTable::default(),
            inbound: inbound.clone(),
            next_id: Arc::default(),
            shutdown: Arc::new(Mutex::new(Some(shutdown.fork()))),
        };
        tokio::spawn(receive_udp(self.udp, inbound, shutdown.fork()));
        tokio::spawn(accept_tcp(self.tcp, sender.clone(), shutdown));
        sender
    }
}

impl SipSender {
    /// Send one whole message. UDP goes out at once; TCP is queued on the
    /// peer's connection, which is opened if there is none.
    pub fn send(&self, dest: Peer, bytes: Vec<u8>) {
        match dest.transport {
            Transport::Udp => self.send_udp(dest.addr, &bytes),
            Transport::Tcp => self.send_tcp(dest.addr, bytes),
            Transport::Tls => tracing::warn!(%dest.addr, "SIP over TLS is not supported; message dropped"),
        }
    }

    fn send_udp(&self, addr: SocketAddr, bytes: &[u8]) {
        if let Err(e) = self.udp.try_send_to(bytes, addr) {
            tracing::warn!(%addr, error = %e, "SIP/UDP send failed");
        }
    }

    fn send_tcp(&self, addr: SocketAddr, bytes: Vec<u8>) {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(conn) = conns.get(&addr)
            && conn.tx.send(bytes.clone()).is_ok()
        {
            return;
        }
        let Some(shutdown) = self.task_shutdown() else {
            return tracing::debug!(%addr, "shutting down: SIP/TCP message dropped");
        };
        let (conn, rx) = self.new_connection();
        let _ = conn.tx.send(bytes);
        conns.insert(addr, conn.clone());
        tokio::spawn(connect_tcp(addr, conn, rx, self.clone(), shutdown));
    }

    /// A shutdown listener for a new connection task, unless shutting down.
    fn task_shutdown(&self) -> Option<Shutdown> {
        let guard = self.shutdown.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().filter(|s| !s.is_shutdown()).map(Shutdown::fork)
    }

    fn new_connection(&self) -> (Connection, mpsc::UnboundedReceiver<Vec<u8>>) {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        (Connection { id, tx }, rx)
    }

    /// Register an accepted connection so replies and requests reuse it.
    fn adopt(&self, addr: SocketAddr) -> (Connection, mpsc::UnboundedReceiver<Vec<u8>>) {
        let (conn, rx) = self.new_connection();
        self.conns.lock().unwrap_or_else(|e| e.into_inner()).insert(addr, conn.clone());
        (conn, rx)
    }

    fn forget(&self, addr: SocketAddr, id: u64) {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if conns.get(&addr).is_some_and(|c| c.id == id) {
            conns.remove(&addr);
        }
    }

    /// Stop opening connections (the listener for new ones is dropped).
    pub fn close(&self) {
        self.shutdown.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Open TCP connections, for status and tests.
    pub fn tcp_connections(&self) -> usize {
        self.conns.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// What to do with what intake made of some bytes.
enum Verdict {
    Deliver(Message),
    Answer(Vec<u8>),
    Ignore,
}

fn judge(intake: Intake, from: SocketAddr) -> Verdict {
    match intake {
        Intake::Message(msg) => Verdict::Deliver(msg),
        Intake::Reject(resp) => {
            tracing::info!(%from, status = resp.status, reason = %resp.reason, "malformed SIP request answered");
            Verdict::Answer(resp.to_bytes())
        }
        Intake::Drop(reason) => {
            tracing::debug!(%from, ?reason, "SIP bytes dropped");
            Verdict::Ignore
        }
    }
}

async fn receive_udp(udp: Arc<UdpSocket>, inbound: mpsc::Sender<Inbound>, mut shutdown: Shutdown) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let received = tokio::select! {
            r = udp.recv_from(&mut buf) => r,
            _ = shutdown.recv() => return,
        };
        let (n, from) = match received {
            Ok(r) => r,
            // ICMP port unreachable from an earlier send shows up here on Linux.
            Err(e) => {
                tracing::debug!(error = %e, "SIP/UDP receive error");
                continue;
            }
        };
        match judge(parse_datagram(&buf[..n]), from) {
            Verdict::Deliver(msg) => {
                if inbound.send(Inbound { from: Peer::udp(from), msg }).await.is_err() {
                    return;
                }
            }
            Verdict::Answer(bytes) => {
                let _ = udp.send_to(&bytes, from).await;
            }
            Verdict::Ignore => {}
        }
    }
}

async fn accept_tcp(listener: TcpListener, sender: SipSender, mut shutdown: Shutdown) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.recv() => return,
        };
        match accepted {
            Ok((stream, from)) => {
                let (conn, rx) = sender.adopt(from);
                let task = run_connection(stream, from, conn, rx, sender.clone(), shutdown.fork());
                tokio::spawn(task);
            }
            Err(e) => tracing::warn!(error = %e, "SIP/TCP accept failed"),
        }
    }
}

async fn connect_tcp(
    addr: SocketAddr,
    conn: Connection,
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    sender: SipSender,
    shutdown: Shutdown,
) {
    match TcpStream::connect(addr).await {
        Ok(stream) => run_connection(stream, addr, conn, rx, sender, shutdown).await,
        Err(e) => {
            tracing::warn!(%addr, error = %e, "SIP/TCP connect failed; queued messages dropped");
            sender.forget(addr, conn.id);
        }
    }
}

/// Serve one connection until either side closes it or framing fails.
async fn run_connection(
    stream: TcpStream,
    peer: SocketAddr,
    conn: Connection,
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    sender: SipSender,
    mut shutdown: Shutdown,
) {
    let (read, write) = stream.into_split();
    let reading = read_messages(read, peer, conn.tx.clone(), sender.inbound.clone());
    tokio::select! {
        _ = reading => {}
        _ = write_messages(write, rx) => {}
        _ = shutdown.recv() => {}
    }
    sender.forget(peer, conn.id);
    tracing::debug!(%peer, "SIP/TCP connection closed");
}

async fn write_messages(mut write: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(bytes) = rx.recv().await {
        if let Err(e) = write.write_all(&bytes).await {
            return tracing::warn!(error = %e, "SIP/TCP write failed");
        }
    }
}

async fn read_messages(
    mut read: OwnedReadHalf,
    peer: SocketAddr,
    replies: mpsc::UnboundedSender<Vec<u8>>,
    inbound: mpsc::Sender<Inbound>,
) {
    let mut framer = StreamFramer::new(MAX_MESSAGE);
    let mut buf = vec![0u8; 16 * 1024];
    let from = Peer { addr: peer, transport: Transport::Tcp };
    let reply = |bytes: Vec<u8>| {
        let _ = replies.send(bytes);
    };
    loop {
        match read.read(&mut buf).await {
            Ok(0) => return,
            Ok(n) => framer.push(&buf[..n]),
            Err(e) => return tracing::debug!(%peer, error = %e, "SIP/TCP read failed"),
        }
        while let Some(next) = framer.next() {
            let intake = match next {
                Ok(intake) => intake,
                Err(e) => return tracing::warn!(%peer, error = %e, "SIP/TCP stream cannot be framed; closing"),
            };
            match judge(intake, peer) {
                Verdict::Deliver(msg) => {
                    if inbound.send(Inbound { from, msg }).await.is_err() {
                        return;
                    }
                }
                Verdict::Answer(bytes) => {
                    reply(bytes);
                }
                Verdict::Ignore => {}
            }
        }
        // RFC 5626 §3.5.1: each CRLFCRLF ping gets one CRLF pong.
        for _ in 0..framer.take_pings() {
            reply(b"\r\n".to_vec());
        }
    }
}

#[cfg(test)]
mod tests;
