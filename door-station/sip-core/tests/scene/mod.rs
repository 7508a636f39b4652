//! The scene most multi-party tests share: a caller, the forking proxy and
//! some scripted callees on one simulated network.
#![allow(dead_code)]

use ds_sip::Message;
use ds_sip::testkit::{Callee, Caller, ForkingProxy, PartyId, Script, Sent, Sim, wire};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const CALLER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 15080);
pub const PROXY: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 5070);

/// The address of the `i`th callee.
pub fn callee_addr(i: usize) -> SocketAddr {
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 15062 + i as u16)
}

pub struct Scene {
    pub sim: Sim,
    pub t0: Instant,
    pub caller: PartyId,
    pub proxy: PartyId,
    pub callees: Vec<PartyId>,
}

/// Caller → proxy → one callee per script; network seeded with `seed`.
pub fn scene(seed: u64, scripts: Vec<Script>) -> Scene {
    let t0 = Instant::now();
    let mut sim = Sim::new(t0, seed);
    let caller = sim.add(Caller::new(CALLER, PROXY, 1));
    let targets = (0..scripts.len()).map(callee_addr).collect();
    let proxy = sim.add(ForkingProxy::new(PROXY, targets, 2));
    let callees =
        scripts.into_iter().enumerate().map(|(i, s)| sim.add(Callee::new(callee_addr(i), s, 10 + i as u64))).collect();
    Scene { sim, t0, caller, proxy, callees }
}

impl Scene {
    pub fn caller(&self) -> &Caller {
        self.sim.get(self.caller)
    }

    pub fn callee(&self, i: usize) -> &Callee {
        self.sim.get(self.callees[i])
    }

    pub fn invite(&mut self) {
        let now = self.sim.now();
        self.sim.get_mut::<Caller>(self.caller).invite(now, "sip:flat@house", Some("v=0\r\n"));
    }

    /// Datagrams from `from` to `to` whose start line begins with `prefix`.
    pub fn sent(&self, from: SocketAddr, to: SocketAddr, prefix: &str) -> Vec<&Sent> {
        let all = self.sim.net.sent_starting(prefix);
        all.into_iter().filter(|s| s.datagram.from.addr == from && s.datagram.to.addr == to).collect()
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The decoded message of a logged datagram.
pub fn message(s: &Sent) -> Message {
    wire::decode(&s.datagram.bytes).expect("the parties write decodable messages")
}

/// The top Via branch of a logged datagram.
pub fn branch(s: &Sent) -> String {
    message(s).headers().top_via().and_then(|v| v.branch().map(str::to_string)).unwrap_or_default()
}
