//! An in-memory datagram network with per-link latency and loss.

use super::rng::XorShift;
use crate::transaction::Peer;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How one direction between two addresses behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// One-way delay.
    pub latency: Duration,
    /// Probability of losing a datagram, per mille (seeded, see [`Net::new`]).
    pub loss_per_mille: u32,
    /// Lose this many datagrams first, whatever the probability: for tests
    /// that need an exact retransmission count.
    pub drop_first: u32,
    /// Lose the first `n` datagrams whose start line begins with the prefix
    /// (`Some(("ACK", 1))`), to aim at one message.
    pub drop_first_of: Option<(&'static str, u32)>,
}

impl Default for Link {
    /// 10 ms, no loss.
    fn default() -> Self {
        Link { latency: Duration::from_millis(10), loss_per_mille: 0, drop_first: 0, drop_first_of: None }
    }
}

/// A datagram on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Sender.
    pub from: Peer,
    /// Receiver.
    pub to: Peer,
    /// One SIP message.
    pub bytes: Vec<u8>,
}

impl Datagram {
    /// The start line (`INVITE sip:.. SIP/2.0`, `SIP/2.0 180 Ringing`).
    pub fn start_line(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        text.lines().next().unwrap_or_default().to_string()
    }
}

/// One datagram as the network saw it, for assertions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// When it was sent.
    pub at: Instant,
    /// The datagram.
    pub datagram: Datagram,
    /// True when the network lost it.
    pub lost: bool,
}

impl Sent {
    /// The start line of the datagram.
    pub fn start_line(&self) -> String {
        self.datagram.start_line()
    }
}

/// The network: links, datagrams in flight, and a log of everything sent.
#[derive(Debug)]
pub struct Net {
    rng: XorShift,
    default_link: Link,
    links: BTreeMap<(SocketAddr, SocketAddr), Link>,
    /// (delivery time, sequence number) → datagram; the sequence keeps order stable.
    in_flight: BTreeMap<(Instant, u64), Datagram>,
    seq: u64,
    log: Vec<Sent>,
}

impl Net {
    /// A network whose losses are decided by `seed`.
    pub fn new(seed: u64) -> Net {
        Net {
            rng: XorShift::new(seed),
            default_link: Link::default(),
            links: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
        }
    }

    /// The behaviour of every link not set with [`set_link`](Self::set_link).
    pub fn set_default_link(&mut self, link: Link) {
        self.default_link = link;
    }

    /// The behaviour of datagrams from `from` to `to` (one direction).
    pub fn set_link(&mut self, from: SocketAddr, to: SocketAddr, link: Link) {
        self.links.insert((from, to), link);
    }

    /// Put a datagram on the wire at `now`.
    pub fn send(&mut self, now: Instant, datagram: Datagram) {
        let key = (datagram.from.addr, datagram.to.addr);
        let link = self.links.get_mut(&key).unwrap_or(&mut self.default_link);
        let lost = if link.drop_first > 0 {
            link.drop_first -= 1;
            true
        } else if let Some((prefix, n @ 1..)) = link.drop_first_of.filter(|(p, _)| datagram.start_line().starts_with(p))
        {
            link.drop_first_of = Some((prefix, n - 1));
            true
        } else {
            self.rng.chance(link.loss_per_mille)
        };
        let at = now + link.latency;
        self.log.push(Sent { at: now, datagram: datagram.clone(), lost });
        if !lost {
            self.seq += 1;
            self.in_flight.insert((at, self.seq), datagram);
        }
    }

    /// When the next datagram arrives.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.keys().next().map(|(at, _)| *at)
    }

    /// The next datagram due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Datagram> {
        let first = *self.in_flight.keys().next()?;
        if first.0 > now {
            return None;
        }
        self.in_flight.remove(&first)
    }

    /// Everything sent so far, in order.
    pub fn log(&self) -> &[Sent] {
        &self.log
    }

    /// The log entries whose start line begins with `prefix` (e.g. `"INVITE"`, `"SIP/2.0 487"`).
    pub fn sent_starting(&self, prefix: &str) -> Vec<&Sent> {
        self.log.iter().filter(|s| s.start_line().starts_with(prefix)).collect()
    }
}
