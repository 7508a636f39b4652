//! The simulation: parties on a [`Net`], stepped on a fake clock.

use super::Party;
use super::net::{Datagram, Net};
use std::time::Instant;

/// Index of a party in a [`Sim`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartyId(usize);

/// Parties, the network between them, and the simulated time.
///
/// [`step`](Self::step) jumps straight to the earliest deadline (a party's
/// `next_timeout` or a datagram's arrival), so a 32-second timer B costs a
/// handful of steps, not 32 seconds.
pub struct Sim {
    /// The network; set links and read the log here.
    pub net: Net,
    now: Instant,
    parties: Vec<Box<dyn Party>>,
}

impl Sim {
    /// An empty simulation starting at `t0`, network losses seeded with `seed`.
    pub fn new(t0: Instant, seed: u64) -> Sim {
        Sim { net: Net::new(seed), now: t0, parties: Vec::new() }
    }

    /// Add a party.
    pub fn add(&mut self, party: impl Party) -> PartyId {
        self.parties.push(Box::new(party));
        PartyId(self.parties.len() - 1)
    }

    /// The simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// A party, by its concrete type. Panics on a wrong type: a test bug.
    pub fn get<T: Party>(&self, id: PartyId) -> &T {
        self.parties[id.0].as_any().downcast_ref().expect("party has another type")
    }

    /// A party, mutable, to make it act (`caller.invite(sim.now(), ..)`).
    pub fn get_mut<T: Party>(&mut self, id: PartyId) -> &mut T {
        self.parties[id.0].as_any_mut().downcast_mut().expect("party has another type")
    }

    /// Move every party's queued datagrams onto the network.
    fn flush(&mut self) {
        for p in &mut self.parties {
            let from = p.peer();
            while let Some((to, bytes)) = p.poll_transmit() {
                self.net.send(self.now, Datagram { from, to, bytes });
            }
        }
    }

    /// The earliest deadline of any party or datagram.
    pub fn next_event(&mut self) -> Option<Instant> {
        self.flush();
        let parties = self.parties.iter().filter_map(|p| p.next_timeout());
        parties.chain(self.net.next_delivery()).min()
    }

    /// Advance to the earliest deadline and handle everything due then.
    /// Returns false when nothing is left to happen.
    pub fn step(&mut self) -> bool {
        let Some(at) = self.next_event() else { return false };
        self.now = self.now.max(at);
        self.handle_due();
        true
    }

    fn handle_due(&mut self) {
        while let Some(d) = self.net.pop_due(self.now) {
            if let Some(p) = self.parties.iter_mut().find(|p| p.peer() == d.to) {
                p.handle_datagram(self.now, d.from, &d.bytes);
            }
        }
        for p in &mut self.parties {
            if p.next_timeout().is_some_and(|t| t <= self.now) {
                p.handle_timeout(self.now);
            }
        }
        self.flush();
    }

    /// Step until the next deadline is after `deadline`, then set the clock to it.
    pub fn run_until(&mut self, deadline: Instant) {
        while self.next_event().is_some_and(|t| t <= deadline) {
            self.step();
        }
        self.now = self.now.max(deadline);
    }

    /// Step until nothing is left or `max_steps` steps were made; returns the steps made.
    pub fn run(&mut self, max_steps: usize) -> usize {
        (0..max_steps).take_while(|_| self.step()).count()
    }
}
