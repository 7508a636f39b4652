//! Deterministic multi-party SIP tests on simulated time (feature `testkit`).
//!
//! A [`Sim`] owns several [`Party`]s and a lossy in-memory [`Net`]. Each
//! [`Sim::step`] jumps the fake clock to the earliest deadline (a party's
//! `next_timeout()` or a datagram's arrival), delivers what is due, fires
//! due timers, and puts what the parties want to send on the network, the
//! way quinn-proto's `Pair::drive` and str0m's `progress()` do. A call that
//! takes 40 simulated seconds runs in a millisecond.
//!
//! Parties provided:
//! - [`Caller`]: a UAC that drives a [`TransactionLayer`](crate::transaction::TransactionLayer)
//!   and [`Dialog`](crate::dialog::Dialog)s: INVITE, CANCEL, ACK for every
//!   2xx, BYE for every answer but the first (RFC 3261 §13.2.2.4).
//! - [`ForkingProxy`]: a stateful proxy that forks an INVITE to N callees in
//!   parallel, relays 1xx and 2xx upstream, CANCELs the other branches on
//!   the first 2xx, answers CANCEL, and sends the best final when all fail.
//! - [`Callee`]: a scripted UAS: a provisional after `d`, a final after `e`
//!   (or never); answers CANCEL with 200 + 487; retransmits its 2xx until ACKed.
//!
//! ```text
//! let mut sim = Sim::new(t0, seed);
//! let caller = sim.add(Caller::new(addr, proxy_addr, 1));
//! ...
//! sim.get_mut::<Caller>(caller).invite(sim.now(), "sip:flat@house", None);
//! sim.run(10_000);
//! assert!(sim.get::<Caller>(caller).answered().is_some());
//! ```
//! Messages cross the network as bytes (`to_bytes()`), decoded by
//! [`wire::decode`].

mod callee;
mod caller;
mod net;
mod proxy;
mod rng;
mod sim;
pub mod wire;

pub use callee::{Callee, Script};
pub use caller::Caller;
pub use net::{Datagram, Link, Net, Sent};
pub use proxy::ForkingProxy;
pub use rng::XorShift;
pub use sim::{PartyId, Sim};
pub use wire::Endpoint;

use crate::transaction::Peer;
use std::any::Any;
use std::time::Instant;

/// One simulated SIP element. Its methods are the sans-IO loop: feed, poll,
/// ask when to wake.
pub trait Party: Any {
    /// Our address; datagrams to it are delivered here.
    fn peer(&self) -> Peer;
    /// A datagram arrived.
    fn handle_datagram(&mut self, now: Instant, from: Peer, bytes: &[u8]);
    /// The deadline from `next_timeout` passed.
    fn handle_timeout(&mut self, now: Instant);
    /// The next datagram to send, if any.
    fn poll_transmit(&mut self) -> Option<(Peer, Vec<u8>)>;
    /// When to call `handle_timeout`.
    fn next_timeout(&self) -> Option<Instant>;
    /// For [`Sim::get`].
    fn as_any(&self) -> &dyn Any;
    /// For [`Sim::get_mut`].
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// Implements [`Party`] for a model with an `ep: Endpoint` field and the
/// methods `on_event(now, TxEvent)` (what the layer reported),
/// `own_timeout(&self) -> Option<Instant>` and `on_own_timers(now)` (the
/// model's own schedule, e.g. a callee's "answer after 2 s").
macro_rules! endpoint_party {
    ($ty:ty) => {
        impl $crate::testkit::Party for $ty {
            fn peer(&self) -> $crate::transaction::Peer {
                self.ep.peer
            }
            fn handle_datagram(&mut self, now: std::time::Instant, from: $crate::transaction::Peer, bytes: &[u8]) {
                self.ep.receive(now, from, bytes);
                self.pump(now);
            }
            fn handle_timeout(&mut self, now: std::time::Instant) {
                self.ep.layer.handle_timeout(now);
                self.on_own_timers(now);
                self.pump(now);
            }
            fn poll_transmit(&mut self) -> Option<($crate::transaction::Peer, Vec<u8>)> {
                self.ep.poll_transmit()
            }
            fn next_timeout(&self) -> Option<std::time::Instant> {
                self.ep.layer.next_timeout().into_iter().chain(self.own_timeout()).min()
            }
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
            fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
                self
            }
        }

        impl $ty {
            /// Drain the layer until it is quiet, handing events to the model.
            fn pump(&mut self, now: std::time::Instant) {
                loop {
                    let events = self.ep.drain(now);
                    if events.is_empty() {
                        break;
                    }
                    for e in events {
                        self.on_event(now, e);
                    }
                }
            }
        }
    };
}
pub(crate) use endpoint_party;
