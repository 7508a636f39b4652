//! Bytes to messages for the simulated parties, and the plumbing every
//! party shares: a transaction layer, a send queue, fresh branches and tags.

use crate::message::intake::{self, Intake};
use crate::message::{Message, Request, Via};
use crate::transaction::{Peer, Timers, TransactionLayer, Transport, TxEvent, TxOutput, branch_from};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// Parse one datagram with the strict intake (`message::intake`); `None`
/// for anything that is not a well-formed message.
pub fn decode(bytes: &[u8]) -> Option<Message> {
    match intake::parse_datagram(bytes) {
        Intake::Message(m) => Some(m),
        Intake::Reject(_) | Intake::Drop(_) => None,
    }
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
        self.via_with(&branch)
    }

    /// A Via for our address with this branch.
    pub fn via_with(&self, branch: &str) -> Via {
        let v = format!("SIP/2.0/{} {};branch={branch}", self.peer.transport.via_token(), self.peer.addr);
        Via::parse(&v).expect("our own Via parses")
    }

    /// Parse a datagram and hand it to the layer; a malformed request is
    /// answered with intake's ready-made response, anything else bad is dropped.
    pub fn receive(&mut self, now: Instant, from: Peer, bytes: &[u8]) {
        match intake::parse_datagram(bytes) {
            Intake::Message(msg) => self.layer.handle_message(now, msg, from),
            Intake::Reject(resp) => self.layer.send_stateless(from, Message::Response(resp)),
            Intake::Drop(_) => {}
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

    /// Where an in-dialog or forwarded request goes: its first Route, else
    /// its Request-URI, on our transport.
    pub fn next_hop(&self, req: &Request) -> Option<Peer> {
        let uri = req.headers.route().first().map(|r| r.uri.clone()).unwrap_or_else(|| req.uri.clone());
        resolve(&uri).map(|addr| self.peer_at(addr))
    }

    /// A peer at `addr` on our transport.
    pub fn peer_at(&self, addr: SocketAddr) -> Peer {
        Peer { addr, transport: self.peer.transport }
    }

    /// Speak `transport` instead of UDP (all parties of a scene must agree).
    pub fn set_transport(&mut self, transport: Transport) {
        self.peer.transport = transport;
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
    use crate::message::{Method, Response};

    #[test]
    fn decode_reads_what_to_bytes_writes() {
        let req = Request::new(Method::Invite, "sip:a@127.0.0.1:5062")
            .with_header("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1")
            .with_header("Max-Forwards", "70")
            .with_header("From", "<sip:door@127.0.0.1>;tag=1")
            .with_header("To", "<sip:a@127.0.0.1>")
            .with_header("Call-ID", "c1")
            .with_header("CSeq", "1 INVITE")
            .with_body("application/sdp", "v=0\r\n\r\nx");
        assert_eq!(decode(&req.to_bytes()), Some(Message::Request(req.clone())));
        let resp = Response::for_request(&req, 487, "Request Terminated");
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
