//! A proxy scene on ds-sip's simulated network: the testkit's caller, our
//! proxy core, and scripted callees registered through real REGISTERs.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ds_sip::testkit::{Callee, Caller, Party, PartyId, Script, Sent, Sim, wire};
use ds_sip::transaction::{Peer, Timers};
use ds_sip::{Message, Method, Request, Response};
use intercom_proxy::auth::{AuthSettings, Authenticator};
use intercom_proxy::core::{Locality, Proxy, ProxyParts, ProxySettings};
use intercom_proxy::passwd::Passwd;
use intercom_proxy::registrar::{ExpiryLimits, Registrar};
use intercom_proxy::routes::Routes;

pub const EPOCH: u64 = 1_700_000_000;
pub const CALLER: SocketAddr = addr(15080);
pub const PROXY: SocketAddr = addr(5060);
pub const UPSTREAM: SocketAddr = addr(5070);
pub const LIMITS: ExpiryLimits = ExpiryLimits { min_s: 60, max_s: 7200, default_s: 3600 };

pub const fn addr(port: u16) -> SocketAddr {
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), port)
}

pub fn callee_addr(i: usize) -> SocketAddr {
    addr(15062 + i as u16)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The proxy core as a simulated party.
pub struct ProxyParty {
    pub core: Proxy,
    peer: Peer,
}

impl Party for ProxyParty {
    fn peer(&self) -> Peer {
        self.peer
    }
    fn handle_datagram(&mut self, now: Instant, from: Peer, bytes: &[u8]) {
        self.core.handle_datagram(now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.core.handle_timeout(now);
    }
    fn poll_transmit(&mut self) -> Option<(Peer, Vec<u8>)> {
        self.core.poll_output().map(|t| (t.dest, t.bytes))
    }
    fn next_timeout(&self) -> Option<Instant> {
        self.core.next_timeout()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

pub fn settings(fork_timeout: Duration) -> ProxySettings {
    ProxySettings {
        locality: Locality {
            domains: vec!["home".into()],
            local: vec![Peer::udp(PROXY)],
            upstream: Some(Peer::udp(UPSTREAM)),
        },
        fork_timeout,
        max_forks: 16,
        timers: Timers::default(),
        relay: None,
        upstream_accounts: Vec::new(),
    }
}

pub fn auth(enabled: bool, passwd: Passwd) -> Authenticator {
    let s = AuthSettings {
        enabled,
        trusted: Vec::new(),
        nonce_lifetime: Duration::from_secs(300),
        max_failures: 3,
        lockout_s: 60,
        algorithms: vec![ds_sip::digest::Algorithm::Sha256, ds_sip::digest::Algorithm::Md5],
    };
    Authenticator::new(s, b"test secret".to_vec(), passwd)
}

pub const ROUTES: &str = "<sip:everyone@home> <sip:a0@home>, <sip:a1@home>, <sip:a2@home>\n<sip:house@home> <sip:a0@home>, <sip:carol@cloud.example>\n";

/// A proxy without auth, with [`ROUTES`] and `registrar`.
pub fn proxy_with(t0: Instant, fork_timeout: Duration, registrar: Registrar) -> Proxy {
    proxy_from(t0, settings(fork_timeout), registrar)
}

/// A proxy without auth, with [`ROUTES`], these settings and `registrar`.
pub fn proxy_from(t0: Instant, settings: ProxySettings, registrar: Registrar) -> Proxy {
    let parts = ProxyParts { registrar, auth: auth(false, Passwd::default()), routes: Routes::parse(ROUTES).unwrap() };
    Proxy::new(settings, parts, t0, EPOCH, 42)
}

/// A REGISTER for `user@home` from `from` with `contact`.
pub fn register(user: &str, from: SocketAddr, contact: &str, cseq: u32) -> Request {
    Request::new(Method::Register, "sip:home")
        .with_header("Via", format!("SIP/2.0/UDP {from};branch=z9hG4bKreg{user}{cseq}"))
        .with_header("Max-Forwards", "70")
        .with_header("From", format!("<sip:{user}@home>;tag=r{user}"))
        .with_header("To", format!("<sip:{user}@home>"))
        .with_header("Call-ID", format!("reg-{user}"))
        .with_header("CSeq", format!("{cseq} REGISTER"))
        .with_header("Contact", contact.to_string())
}

/// Feed one request to the core and return everything it sends back, decoded.
pub fn exchange(core: &mut Proxy, now: Instant, from: SocketAddr, req: &Request) -> Vec<(Peer, Message)> {
    core.handle_datagram(now, Peer::udp(from), &req.to_bytes());
    drain(core)
}

pub fn drain(core: &mut Proxy) -> Vec<(Peer, Message)> {
    std::iter::from_fn(|| core.poll_output()).filter_map(|t| Some((t.dest, wire::decode(&t.bytes)?))).collect()
}

pub fn final_status(out: &[(Peer, Message)]) -> Option<u16> {
    out.iter().find_map(|(_, m)| match m {
        Message::Response(r) if r.status >= 200 => Some(r.status),
        _ => None,
    })
}

pub fn response(out: &[(Peer, Message)]) -> Option<&Response> {
    out.iter().find_map(|(_, m)| match m {
        Message::Response(r) => Some(r),
        _ => None,
    })
}

pub struct Scene {
    pub sim: Sim,
    pub t0: Instant,
    pub caller: PartyId,
    pub proxy: PartyId,
    pub callees: Vec<PartyId>,
}

/// Caller → proxy → callees `a0..an@home`, each registered through the proxy.
pub fn scene(seed: u64, fork_timeout: Duration, scripts: Vec<Script>) -> Scene {
    scene_with(seed, proxy_with(Instant::now(), fork_timeout, Registrar::new(LIMITS)), scripts)
}

/// As [`scene`], around a given core.
pub fn scene_with(seed: u64, mut core: Proxy, scripts: Vec<Script>) -> Scene {
    let t0 = Instant::now();
    for i in 0..scripts.len() {
        let contact = format!("<sip:callee@{}>", callee_addr(i));
        let out = exchange(&mut core, t0, callee_addr(i), &register(&format!("a{i}"), callee_addr(i), &contact, 1));
        assert_eq!(final_status(&out), Some(200), "a{i} registers");
    }
    let mut sim = Sim::new(t0, seed);
    let caller = sim.add(Caller::new(CALLER, PROXY, 1));
    let proxy = sim.add(ProxyParty { core, peer: Peer::udp(PROXY) });
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

    pub fn proxy(&self) -> &Proxy {
        &self.sim.get::<ProxyParty>(self.proxy).core
    }

    pub fn invite(&mut self, target: &str) {
        self.invite_with(target, "v=0\r\n");
    }

    pub fn invite_with(&mut self, target: &str, sdp: &str) {
        let now = self.sim.now();
        self.sim.get_mut::<Caller>(self.caller).invite(now, target, Some(sdp));
    }

    pub fn proxy_mut(&mut self) -> &mut Proxy {
        &mut self.sim.get_mut::<ProxyParty>(self.proxy).core
    }

    /// Datagrams from `from` to `to` whose start line begins with `prefix`, not lost.
    pub fn sent(&self, from: SocketAddr, to: SocketAddr, prefix: &str) -> Vec<&Sent> {
        let all = self.sim.net.sent_starting(prefix);
        all.into_iter().filter(|s| s.datagram.from.addr == from && s.datagram.to.addr == to).collect()
    }
}

pub fn message(s: &Sent) -> Message {
    wire::decode(&s.datagram.bytes).expect("decodable")
}
