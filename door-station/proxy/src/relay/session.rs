//! One relayed call: the caller's side, one leg per branch, and where each
//! packet goes. Plain data, shared by the core (which plans it from SDP)
//! and the shell's relay task (which moves the packets).
//!
//! Each media line `j` has a port pair on the caller's side (`caller_ports[j]`,
//! RTCP on `+1`) and one on every leg. Before the answer, what the caller
//! sends is copied to every early leg (a 183 with SDP): one stream from the
//! station, a preview on every ringing device. After the answer only the
//! answering leg remains, in both directions. Addresses are latched from the
//! first RTP packet on each port (symmetric RTP, for devices behind NAT).

use std::collections::BTreeSet;
use std::net::SocketAddr;

use super::sdp::Remotes;

/// One branch's media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    /// The branch (its client transaction, as text).
    pub id: String,
    /// Our even ports facing this device, one per media line.
    pub ports: Vec<u16>,
    /// The device's RTP address per media line (from its SDP, then latched).
    pub remotes: Remotes,
    /// It sent a 183 (or 200) with SDP: it receives the caller's media.
    pub early: bool,
}

/// The relay state of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSession {
    /// Our even ports facing the caller, one per media line.
    pub caller_ports: Vec<u16>,
    /// The caller's RTP address per media line.
    pub caller: Remotes,
    /// The branches.
    pub legs: Vec<Leg>,
    /// The leg that answered, by id.
    pub answered: Option<String>,
}

/// `(send from our port, to)`.
pub type Forward = (u16, SocketAddr);

impl MediaSession {
    /// Every even port of the session.
    pub fn ports(&self) -> Vec<u16> {
        self.caller_ports.iter().chain(self.legs.iter().flat_map(|l| l.ports.iter())).copied().collect()
    }

    /// Where a packet that arrived on our `port` from `from` goes; latches `from`.
    pub fn route(&mut self, port: u16, from: SocketAddr) -> Vec<Forward> {
        let rtcp = port % 2;
        let base = port - rtcp;
        if let Some(j) = self.caller_ports.iter().position(|p| *p == base) {
            if rtcp == 0 {
                self.caller[j] = Some(from);
            }
            return self.to_legs(j, rtcp);
        }
        let answered = self.answered.clone();
        for leg in &mut self.legs {
            let Some(j) = leg.ports.iter().position(|p| *p == base) else { continue };
            if rtcp == 0 {
                leg.remotes[j] = Some(from);
            }
            if answered.as_deref() != Some(leg.id.as_str()) {
                return Vec::new();
            }
            let (Some(port), Some(Some(to))) = (self.caller_ports.get(j), self.caller.get(j)) else {
                return Vec::new();
            };
            return vec![(port + rtcp, shifted(*to, rtcp))];
        }
        Vec::new()
    }

    fn to_legs(&self, j: usize, rtcp: u16) -> Vec<Forward> {
        self.legs
            .iter()
            .filter(|l| match &self.answered {
                Some(id) => &l.id == id,
                None => l.early,
            })
            .filter_map(|l| Some((l.ports.get(j)? + rtcp, shifted((*l.remotes.get(j)?)?, rtcp))))
            .collect()
    }
}

fn shifted(addr: SocketAddr, by: u16) -> SocketAddr {
    SocketAddr::new(addr.ip(), addr.port().wrapping_add(by))
}

/// The relay's even ports (the odd one above each is its RTCP port).
#[derive(Debug, Clone)]
pub struct PortPool {
    free: BTreeSet<u16>,
}

impl PortPool {
    /// Every even port in `min..=max` whose RTCP port is in range too.
    pub fn new(min: u16, max: u16) -> PortPool {
        let start = min + min % 2;
        PortPool { free: (start..max).step_by(2).collect() }
    }

    /// `n` pairs, or `None` (nothing taken) when fewer are free.
    pub fn take(&mut self, n: usize) -> Option<Vec<u16>> {
        if self.free.len() < n {
            return None;
        }
        Some((0..n).filter_map(|_| self.free.pop_first()).collect())
    }

    /// Gives ports back.
    pub fn give_back(&mut self, ports: &[u16]) {
        self.free.extend(ports.iter().copied());
    }

    /// Free pairs.
    pub fn available(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn session() -> MediaSession {
        let leg = |id: &str, port: u16, remote: &str, early: bool| Leg {
            id: id.into(),
            ports: vec![port],
            remotes: vec![Some(addr(remote))],
            early,
        };
        MediaSession {
            caller_ports: vec![40000],
            caller: vec![Some(addr("10.0.0.9:20000"))],
            legs: vec![
                leg("a", 40002, "10.0.0.1:7000", true),
                leg("b", 40004, "10.0.0.2:7000", true),
                leg("c", 40006, "10.0.0.3:7000", false),
            ],
            answered: None,
        }
    }

    #[test]
    fn before_the_answer_the_caller_reaches_every_early_leg() {
        let mut s = session();
        assert_eq!(
            s.route(40000, addr("10.0.0.9:20000")),
            vec![(40002, addr("10.0.0.1:7000")), (40004, addr("10.0.0.2:7000"))]
        );
        assert_eq!(
            s.route(40001, addr("10.0.0.9:20001")),
            vec![(40003, addr("10.0.0.1:7001")), (40005, addr("10.0.0.2:7001"))],
            "RTCP too"
        );
        assert!(s.route(40002, addr("10.0.0.1:7000")).is_empty(), "early legs do not reach the caller");
    }

    #[test]
    fn after_the_answer_only_the_answerer_in_both_directions() {
        let mut s = session();
        s.answered = Some("b".into());
        assert_eq!(s.route(40000, addr("10.0.0.9:20000")), vec![(40004, addr("10.0.0.2:7000"))]);
        assert_eq!(s.route(40004, addr("10.0.0.2:7000")), vec![(40000, addr("10.0.0.9:20000"))]);
        assert!(s.route(40002, addr("10.0.0.1:7000")).is_empty());
    }

    #[test]
    fn sources_are_latched_for_nat() {
        let mut s = session();
        s.answered = Some("a".into());
        s.route(40002, addr("203.0.113.5:31000"));
        assert_eq!(s.route(40000, addr("10.0.0.9:20000")), vec![(40002, addr("203.0.113.5:31000"))]);
        s.route(40000, addr("198.51.100.7:4444"));
        assert_eq!(s.route(40002, addr("203.0.113.5:31000")), vec![(40000, addr("198.51.100.7:4444"))]);
    }

    #[test]
    fn the_pool_hands_out_even_pairs_and_takes_them_back() {
        let mut pool = PortPool::new(40001, 40008);
        assert_eq!(pool.available(), 3);
        assert_eq!(pool.take(2), Some(vec![40002, 40004]));
        assert_eq!(pool.take(2), None);
        pool.give_back(&[40002]);
        assert_eq!(pool.take(2), Some(vec![40002, 40006]));
    }
}
