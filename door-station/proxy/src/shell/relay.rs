//! The relay task: binds the ports the core planned, and moves each packet
//! where [`MediaSession::route`] says. It runs beside the SIP loop so media
//! never waits for signalling.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use intercom_proxy::relay::MediaSession;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A session update from the core: `None` ends the call's relay.
pub type Update = (String, Option<MediaSession>);

struct Packet {
    port: u16,
    from: SocketAddr,
    bytes: Vec<u8>,
}

/// Bound ports: the socket and its reader.
struct Bound {
    socket: Arc<UdpSocket>,
    reader: JoinHandle<()>,
}

#[derive(Default)]
struct Relay {
    /// Sessions with the time of their last packet (or of their last update).
    sessions: HashMap<String, (MediaSession, Instant)>,
    owner: HashMap<u16, String>,
    bound: HashMap<u16, Bound>,
}

/// Starts the relay task on `ip`; send it the core's session changes. Calls
/// whose media stopped for `idle` are reported on the returned receiver.
pub fn spawn(ip: IpAddr, idle: Duration) -> (mpsc::UnboundedSender<Update>, mpsc::UnboundedReceiver<String>) {
    let (tx, mut updates) = mpsc::unbounded_channel::<Update>();
    let (idle_tx, idle_rx) = mpsc::unbounded_channel::<String>();
    let (ptx, mut packets) = mpsc::channel::<Packet>(4096);
    tokio::spawn(async move {
        let mut relay = Relay::default();
        let mut sweep = tokio::time::interval(Duration::from_secs(5).min(idle));
        loop {
            tokio::select! {
                Some((call, session)) = updates.recv() => relay.update(ip, &ptx, call, session).await,
                Some(p) = packets.recv() => relay.forward(p),
                _ = sweep.tick() => relay.report_idle(idle, &idle_tx),
                else => break,
            }
        }
    });
    (tx, idle_rx)
}

impl Relay {
    async fn update(&mut self, ip: IpAddr, ptx: &mpsc::Sender<Packet>, call: String, session: Option<MediaSession>) {
        let wanted: Vec<u16> = session.as_ref().map(MediaSession::ports).unwrap_or_default();
        let old: Vec<u16> = self.owner.iter().filter(|(_, c)| **c == call).map(|(p, _)| *p).collect();
        for port in old.iter().filter(|p| !wanted.contains(p)) {
            self.owner.remove(port);
            for p in [*port, port + 1] {
                if let Some(b) = self.bound.remove(&p) {
                    b.reader.abort();
                }
            }
        }
        let new: Vec<u16> = wanted.iter().filter(|p| !self.owner.contains_key(p)).copied().collect();
        for port in &new {
            for p in [*port, port + 1] {
                match bind(ip, p, ptx.clone()).await {
                    Ok(b) => {
                        self.bound.insert(p, b);
                    }
                    Err(e) => tracing::warn!("relay port {p}: {e}"),
                }
            }
            self.owner.insert(*port, call.clone());
        }
        match session {
            Some(s) => self.sessions.insert(call, (s, Instant::now())),
            None => self.sessions.remove(&call),
        };
    }

    fn report_idle(&mut self, idle: Duration, out: &mpsc::UnboundedSender<String>) {
        let now = Instant::now();
        for (call, (_, last)) in &mut self.sessions {
            if now.duration_since(*last) >= idle {
                *last = now;
                let _ = out.send(call.clone());
            }
        }
    }

    fn forward(&mut self, p: Packet) {
        let Some(call) = self.owner.get(&(p.port - p.port % 2)) else { return };
        let Some((session, last)) = self.sessions.get_mut(call) else { return };
        *last = Instant::now();
        for (from_port, to) in session.route(p.port, p.from) {
            if let Some(b) = self.bound.get(&from_port) {
                let _ = b.socket.try_send_to(&p.bytes, to);
            }
        }
    }
}

async fn bind(ip: IpAddr, port: u16, ptx: mpsc::Sender<Packet>) -> std::io::Result<Bound> {
    let socket = Arc::new(UdpSocket::bind((ip, port)).await?);
    let rx = socket.clone();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, from)) = rx.recv_from(&mut buf).await {
            // A full queue drops the packet rather than delaying the others.
            let _ = ptx.try_send(Packet { port, from, bytes: buf[..n].to_vec() });
        }
    });
    Ok(Bound { socket, reader })
}
