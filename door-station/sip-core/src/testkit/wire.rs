//! Bytes to messages for the simulated parties, and the plumbing every
//! party shares: a transaction layer, a send queue, fresh branches and tags.

use crate::message::{Message, Method, Request, Response, Via};
use crate::transaction::{branch_from, Peer, TransactionLayer, Timers, TxEvent, TxOutput};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// Parse one datagram the simulated parties wrote. Lenient: it only has to
/// read what [`Message::to_bytes`] writes; the strict checks live in
/// `message::intake`.
pub fn decode(bytes: &[u8]) -> Option<Message> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let start = lines.next()?;
    let mut headers = crate::message::Headers::default();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("Content-Length") {
            headers.push(name.trim(), value.trim());
        }
    }
    let body = body.as_bytes().to_vec();
    if let Some(rest) = start.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = code.parse().ok()?;
        return Some(Message::Response(Response { status, reason: reason.to_string(), headers, body }));
    }
    let mut parts = start.split(' ');
    let (method, uri) = (Method::from_token(parts.next()?), parts.next()?.to_string());
    Some(Message::Request(Request { method, uri, headers, body }))
}

/// The socket address in a `sip:user@ip:port;params` URI (no DNS here).
pub fn resolve(uri: &str) -> Option<SocketAddr> {
    let rest = uri.strip_prefix("sip:")?;
    let host_port = rest.rsplit('@').next()?;
    let host_port = host_port.split([';', '?']).next()?;
    host_port.parse().ok().or_else(|| format!("{host_port}:5060").parse().ok())
}

/// A transaction layer with its send queue and event log: the part every
/// simulated party has in common.
pub struct Endpoint {
    /// Our address.
    pub peer: Peer,
    /// The transaction layer.
    pub layer: TransactionLayer,
    /// Every transaction event, with the time it came.
    pub events: Vec<(Instant, TxEvent)>,
    out: VecDeque<(Peer, Vec<u8>)>,
    seed: u64,
    counter: u64,
}

impl Endpoint {
    /// An endpoint at `addr` (UDP); `seed` makes its branches and tags.
    pub fn new(addr: SocketAddr, seed: u64) -> Endpoint {
        Endpoint {
            peer: Peer::udp(addr),
            layer: TransactionLayer::new(Timers::default()),
            events: Vec::new(),
            out: VecDeque::new(),
            seed,
            counter: 0,
        }
    }

    /// A fresh number: branches, tags and Call-IDs come from it.
    pub fn fresh(&mut self) -> u64 {
        self.counter += 1;
        self.seed.wrapping_mul(1_000_003).wrapping_add(self.counter)
    }

    /// A Via for our address with a fresh branch.
    pub fn via(&mut self) -> Via {
        let branch = branch_from(self.fresh());
        let v = format!("SIP/2.0/UDP {};branch={branch}", self.peer.addr);
        Via::parse(&v).expect("our own Via parses")
    }

    /// Decode a datagram and hand it to the layer; undecodable ones are dropped.
    pub fn receive(&mut self, now: Instant, from: Peer, bytes: &[u8]) {
        if let Some(msg) = decode(bytes) {
            self.layer.handle_message(now, msg, from);
        }
    }

    /// Drain the layer: transmissions queue up, events are logged and returned.
    pub fn drain(&mut self, now: Instant) -> Vec<TxEvent> {
        let mut events = Vec::new();
        while let Some(o) = self.layer.poll_output() {
            match o {
                TxOutput::Transmit { dest, bytes } => self.out.push_back((dest, bytes)),
                TxOutput::Event(e) => {
                    self.events.push((now, e.clone()));
                    events.push(e);
                }
            }
        }
        events
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<(Peer, Vec<u8>)> {
        self.out.pop_front()
    }

    /// Send outside any transaction (ACK for 2xx, stateless forwards).
    pub fn send_stateless(&mut self, dest: Peer, msg: Message) {
        self.layer.send_stateless(dest, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_reads_what_to_bytes_writes() {
        let req = Request::new(Method::Invite, "sip:a@127.0.0.1:5062")
            .with_header("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1")
            .with_body("application/sdp", "v=0\r\n\r\nx");
        let back = decode(&req.to_bytes()).unwrap();
        assert_eq!(back, Message::Request(req));
        let resp = Response::for_request(&Request::new(Method::Bye, "sip:x"), 487, "Request Terminated");
        assert_eq!(decode(&resp.to_bytes()), Some(Message::Response(resp)));
        assert_eq!(decode(b"garbage"), None);
    }

    #[test]
    fn resolve_uris() {
        assert_eq!(resolve("sip:bob@127.0.0.1:5062;transport=udp"), Some(([127, 0, 0, 1], 5062).into()));
        assert_eq!(resolve("sip:127.0.0.1;lr"), Some(([127, 0, 0, 1], 5060).into()));
        assert_eq!(resolve("tel:123"), None);
    }
}
