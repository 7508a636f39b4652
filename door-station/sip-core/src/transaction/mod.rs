//! RFC 3261 §17 transactions, sans-IO.
//!
//! A [`TransactionLayer`] owns every client and server transaction of one
//! endpoint or proxy. It never reads a clock and never touches a socket.
//!
//! # The driving loop
//!
//! ```text
//! loop {
//!     // 1. feed what happened
//!     layer.handle_message(now, msg, from);   // a datagram arrived (parsed by `message::intake`)
//!     layer.send_request(now, req, dest);     // or the TU wants to send
//!     layer.handle_timeout(now);              // or the deadline passed
//!     // 2. drain until None
//!     while let Some(out) = layer.poll_output() {
//!         match out {
//!             TxOutput::Transmit { dest, bytes } => { /* write to the socket */ }
//!             TxOutput::Event(ev) => { /* hand to the TU (dialogs, call logic) */ }
//!         }
//!     }
//!     // 3. sleep until layer.next_timeout(), or until the next datagram
//! }
//! ```
//!
//! Every `handle_*` and `send_*` call only queues output; nothing is lost if
//! several calls happen before one drain, but the caller must drain before it
//! sleeps, because `next_timeout()` only describes the queued state.
//!
//! # What is here
//! - INVITE client (timers A, B, D, and M from RFC 6026's Accepted state: 2xx
//!   responses from other forks keep flowing up for 64·T1). The ACK for a
//!   non-2xx final response is built and sent inside the transaction.
//! - non-INVITE client (timers E, F, K).
//! - INVITE server (timers G, H, I, L; absorbs retransmitted INVITEs by
//!   re-sending the last response; absorbs the ACK for a non-2xx; optional
//!   100 Trying after 200 ms, see [`TransactionLayer::set_auto_trying`]).
//! - non-INVITE server (timer J).
//! - [`AnswerRetransmission`]: the UAS core's own 2xx retransmission
//!   schedule (§13.3.1.4), which RFC 6026 leaves to the TU.
//! - Matching per §17.1.3 and §17.2.3, with the RFC 2543 fallback (§17.2.3,
//!   last paragraphs) for branches without the `z9hG4bK` cookie.
//!
//! On reliable transports nothing is retransmitted and timers D, I, J and K
//! are zero, so those transactions end as soon as they complete.
//!
//! # What is not here
//! Transport selection (§18), DNS (RFC 3263), Via `received`/`rport`
//! processing: a server transaction answers to the address the request came
//! from, which is what RFC 3581 asks for and what the door station needs.
//! Stray responses (no matching client transaction) are dropped, as RFC 6026
//! §7.1.3 asks of a UA.

mod answer;
mod build;
mod deadlines;
mod invite_client;
mod invite_server;
mod key;
mod layer;
mod non_invite_client;
mod non_invite_server;
mod outbox;
mod timer;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_load;

pub use answer::{AnswerPoll, AnswerRetransmission};
pub use build::{MAGIC_COOKIE, ack_for_non2xx, branch_from, cancel_for};
pub use key::TransactionKey;
pub use layer::TransactionLayer;

use crate::message::{Request, Response};
use std::net::SocketAddr;
use std::time::Duration;

/// The transport a message travels on (RFC 3261 §18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP: unreliable, the transaction layer retransmits.
    Udp,
    /// TCP: reliable.
    Tcp,
    /// TLS over TCP: reliable.
    Tls,
}

impl Transport {
    /// True for TCP and TLS: no retransmissions, timers D/I/J/K are zero.
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// The token used in a Via header (`SIP/2.0/UDP`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The transport for a Via token (case-insensitive), if it is one we speak.
    pub fn from_via_token(token: &str) -> Option<Transport> {
        [Transport::Udp, Transport::Tcp, Transport::Tls].into_iter().find(|t| t.via_token().eq_ignore_ascii_case(token))
    }
}

/// The other end of a hop: address and transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Peer {
    /// IP address and port.
    pub addr: SocketAddr,
    /// The transport.
    pub transport: Transport,
}

impl Peer {
    /// A UDP peer.
    pub fn udp(addr: SocketAddr) -> Peer {
        Peer { addr, transport: Transport::Udp }
    }
}

/// Timer values (RFC 3261 §17.1.1.1 and Table 4 of Appendix A).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// T1, the RTT estimate: 500 ms (RFC 3261 §17.1.1.1).
    pub t1: Duration,
    /// T2, the cap on non-INVITE and INVITE-response retransmit intervals: 4 s (§17.1.2.2).
    pub t2: Duration,
    /// T4, the longest time a message stays in the network: 5 s (§17.1.2.2).
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers { t1: Duration::from_millis(500), t2: Duration::from_secs(4), t4: Duration::from_secs(5) }
    }
}

impl Timers {
    /// 64·T1: timers B, F, H, J (UDP), and RFC 6026's L and M.
    pub fn t1x64(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D: at least 32 s on UDP, zero on reliable transports (§17.1.1.2).
    pub fn timer_d(&self, transport: Transport) -> Duration {
        if transport.is_reliable() { Duration::ZERO } else { Duration::from_secs(32).max(self.t1x64()) }
    }

    /// Timers I and K: T4 on UDP, zero on reliable transports (§17.1.2.2, §17.2.1).
    pub fn t4_or_zero(&self, transport: Transport) -> Duration {
        if transport.is_reliable() { Duration::ZERO } else { self.t4 }
    }

    /// Timer J: 64·T1 on UDP, zero on reliable transports (§17.2.2).
    pub fn timer_j(&self, transport: Transport) -> Duration {
        if transport.is_reliable() { Duration::ZERO } else { self.t1x64() }
    }
}

/// What the layer wants done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxOutput {
    /// Send these bytes to that peer.
    Transmit {
        /// Where to.
        dest: Peer,
        /// One whole SIP message.
        bytes: Vec<u8>,
    },
    /// Tell the transaction user.
    Event(TxEvent),
}

/// What the transaction user (dialogs, call logic, proxy core) learns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxEvent {
    /// A new request: a new server transaction was created for it, except for
    /// an ACK, which never has one (an ACK for a 2xx, or a stray ACK; the ACK
    /// for a non-2xx is absorbed and never shows up here). A CANCEL has its
    /// own server transaction; [`TransactionKey::for_method`] gives the key
    /// of the INVITE it cancels.
    Request {
        /// The server transaction; for an ACK, the key of the INVITE
        /// transaction it belongs to.
        key: TransactionKey,
        /// The request as received.
        request: Request,
        /// Where it came from.
        from: Peer,
    },
    /// A response for a client transaction: every 1xx and final response,
    /// and, for an INVITE, every 2xx (from any fork, retransmissions
    /// included) for 64·T1 after the first (RFC 6026 Accepted state).
    Response {
        /// The client transaction.
        key: TransactionKey,
        /// The response.
        response: Response,
    },
    /// Timer B or F (no final response), or timer H (no ACK for our non-2xx
    /// final response).
    Timeout {
        /// The transaction.
        key: TransactionKey,
    },
    /// The shell reported that a message of this transaction could not be sent.
    TransportError {
        /// The transaction.
        key: TransactionKey,
    },
    /// The transaction is gone; later messages for it are new or stray.
    Terminated {
        /// The transaction.
        key: TransactionKey,
    },
}

/// Errors of the transaction layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// A request the TU asked us to send has no top Via (the TU adds it, with a branch).
    #[error("request {method} has no top Via with a branch")]
    MissingBranch {
        /// The method of that request.
        method: String,
    },
    /// A client transaction with that key (branch and method) exists already.
    #[error("transaction {key} exists already")]
    DuplicateKey {
        /// The key.
        key: TransactionKey,
    },
    /// `send_response` named a transaction that does not exist (any more).
    #[error("no server transaction {key}")]
    NoSuchTransaction {
        /// The key that was given.
        key: TransactionKey,
    },
    /// The response does not fit the transaction's state.
    #[error("transaction {key} cannot send {status} now: {why}")]
    WrongState {
        /// The transaction.
        key: TransactionKey,
        /// The status the TU tried to send.
        status: u16,
        /// What state it was in.
        why: &'static str,
    },
}

/// Gives back a table's memory once a burst has passed (a quarter full or
/// less): a hash map never shrinks by itself, and a box that rang 2000
/// phones in a minute should not hold that peak for good (proxies and
/// user agents keep per-transaction tables beside the layer's too). Halving keeps
/// the cost amortised: a table shrinks only after many removals.
pub fn shrink_after_burst<K: Eq + std::hash::Hash, V>(table: &mut std::collections::HashMap<K, V>) {
    const FLOOR: usize = 64;
    if table.capacity() > FLOOR && table.len() * 4 <= table.capacity() {
        table.shrink_to((table.len() * 2).max(FLOOR));
    }
}

/// As [`shrink_after_burst`], for an output queue once it is drained: a
/// timer that ends a thousand transactions at one instant queues a
/// thousand events, and the queue should not keep that size.
pub fn shrink_queue_after_burst<T>(queue: &mut std::collections::VecDeque<T>) {
    const FLOOR: usize = 64;
    if queue.is_empty() && queue.capacity() > FLOOR * 4 {
        queue.shrink_to(FLOOR);
    }
}
