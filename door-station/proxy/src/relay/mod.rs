//! The early-media forking relay, planned from SDP (sans-IO).
//!
//! The core calls [`RelayPlan`] as the INVITE is forked and answered; the
//! plan allocates ports, rewrites the SDP of the INVITE (per branch) and of
//! each 183/2xx (towards the caller), and records a [`MediaSession`] per
//! call. The shell takes the changes with [`RelayPlan::take_changes`] and
//! moves the packets (`src/shell/relay.rs`), asking
//! [`MediaSession::route`] where each one goes.
//!
//! A body that does not parse is forwarded untouched and that leg is not
//! relayed, so a malformed 183 does not disturb the other branches. Beyond
//! `max_early_legs` early legs, a 183 is forwarded untouched too (the caller
//! then sends to that device itself).

pub mod sdp;
pub mod session;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

pub use session::{Leg, MediaSession, PortPool};

/// The relay's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySettings {
    /// The address written into rewritten SDP (the proxy's own).
    pub ip: IpAddr,
    /// First port.
    pub port_min: u16,
    /// Last port.
    pub port_max: u16,
    /// Early legs relayed per call.
    pub max_early_legs: usize,
}

/// Every relayed call, by Call-ID.
#[derive(Debug, Clone)]
pub struct RelayPlan {
    settings: RelaySettings,
    pool: PortPool,
    sessions: BTreeMap<String, (Vec<u8>, MediaSession)>,
    changed: BTreeSet<String>,
}

impl RelayPlan {
    /// An empty plan.
    pub fn new(settings: RelaySettings) -> RelayPlan {
        RelayPlan {
            pool: PortPool::new(settings.port_min, settings.port_max),
            settings,
            sessions: BTreeMap::new(),
            changed: BTreeSet::new(),
        }
    }

    /// Starts relaying a call whose INVITE carries `offer`; false when it is
    /// not SDP we can read or no ports are left.
    pub fn start(&mut self, call_id: &str, offer: &[u8]) -> bool {
        if self.sessions.contains_key(call_id) {
            return true;
        }
        let Some(n) = sdp::media_count(offer).filter(|n| *n > 0) else { return false };
        let Some(ports) = self.pool.take(n) else { return false };
        let Some((_, caller)) = sdp::rewrite(offer, self.settings.ip, &ports) else {
            self.pool.give_back(&ports);
            return false;
        };
        let session = MediaSession { caller_ports: ports, caller, legs: Vec::new(), answered: None };
        self.sessions.insert(call_id.to_string(), (offer.to_vec(), session));
        self.changed.insert(call_id.to_string());
        true
    }

    /// The offer for one branch, pointing at that leg's own ports.
    pub fn branch_offer(&mut self, call_id: &str, leg: &str) -> Option<String> {
        let (offer, session) = self.sessions.get_mut(call_id)?;
        let ports = self.pool.take(session.caller_ports.len())?;
        let (body, _) = sdp::rewrite(offer, self.settings.ip, &ports)?;
        let remotes = vec![None; ports.len()];
        session.legs.push(Leg { id: leg.to_string(), ports, remotes, early: false });
        self.changed.insert(call_id.to_string());
        Some(body)
    }

    /// A 183 or 2xx body from `leg`, rewritten towards the caller; `None`
    /// leaves the body as it is. A 2xx makes `leg` the only one left.
    pub fn answer(&mut self, call_id: &str, leg: &str, body: &[u8], is_final: bool) -> Option<String> {
        let max_early = self.settings.max_early_legs;
        let (_, session) = self.sessions.get_mut(call_id)?;
        let early_count = session.legs.iter().filter(|l| l.early).count();
        let ip = self.settings.ip;
        let entry = session.legs.iter_mut().find(|l| l.id == leg)?;
        if !is_final && !entry.early && early_count >= max_early {
            return None;
        }
        let (rewritten, remotes) = sdp::rewrite(body, ip, &session.caller_ports)?;
        entry.remotes = remotes;
        entry.early = true;
        if is_final {
            session.answered = Some(leg.to_string());
            let (keep, drop): (Vec<Leg>, Vec<Leg>) = session.legs.drain(..).partition(|l| l.id == leg);
            session.legs = keep;
            drop.iter().for_each(|l| self.pool.give_back(&l.ports));
        }
        self.changed.insert(call_id.to_string());
        Some(rewritten)
    }

    /// True once a leg of this call answered.
    pub fn is_answered(&self, call_id: &str) -> bool {
        self.sessions.get(call_id).is_some_and(|(_, s)| s.answered.is_some())
    }

    /// Stops relaying a call and frees its ports.
    pub fn end(&mut self, call_id: &str) {
        if let Some((_, s)) = self.sessions.remove(call_id) {
            self.pool.give_back(&s.ports());
            self.changed.insert(call_id.to_string());
        }
    }

    /// The sessions changed since the last call: `None` for an ended one.
    pub fn take_changes(&mut self) -> Vec<(String, Option<MediaSession>)> {
        let changed = std::mem::take(&mut self.changed);
        changed
            .into_iter()
            .map(|c| {
                let s = self.sessions.get(&c).map(|(_, s)| s.clone());
                (c, s)
            })
            .collect()
    }

    /// Free port pairs.
    pub fn free_pairs(&self) -> usize {
        self.pool.available()
    }
}

#[cfg(test)]
mod tests;
