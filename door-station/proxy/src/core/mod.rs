//! The sans-IO proxy core: registrar, authentication and the stateful
//! forking proxy (RFC 3261 §16) on ds-sip's transaction layer.
//!
//! # The driving loop
//! ```text
//! let mut proxy = Proxy::new(settings, parts, now, epoch_s_at_now, seed);
//! loop {
//!     proxy.handle_datagram(now, from, &bytes);   // a UDP datagram, or
//!     proxy.handle_message(now, from, msg);       // a message framed from TCP, or
//!     proxy.handle_timeout(now);                  // next_timeout() passed
//!     while let Some(t) = proxy.poll_output() { socket_for(t.dest).send(t.bytes) }
//!     if proxy.take_bindings_changed() { store::save(path, &proxy.bindings()) }
//!     sleep until proxy.next_timeout() or the next datagram
//! }
//! ```
//! Every `handle_*` only queues; drain `poll_output` before sleeping.
//! Wall-clock time (nonces, binding expiry) is derived from the `now` values
//! and the epoch seconds given at construction; the core reads no clock.

mod fork;
mod forward;
mod media;
mod request;
mod response;
pub mod target;
mod uplink;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use ds_sip::message::intake::{Intake, parse_datagram};
use ds_sip::transaction::{
    Peer, Timers, TransactionKey, TransactionLayer, TxEvent, TxOutput, shrink_after_burst, shrink_queue_after_burst,
};
use ds_sip::{Message, Response};

use crate::auth::Authenticator;
use crate::registrar::{Binding, Registrar};
use crate::routes::{Aor, Routes};

pub use fork::{BranchState, ForkContext};
pub use target::{Locality, Target};
pub use uplink::{Uplink, UpstreamAccount};

/// The core's settings, plain data built from `proxy.toml` by the shell.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// Domains, listen addresses and the upstream proxy.
    pub locality: Locality,
    /// Ringing INVITE branches are cancelled after this.
    pub fork_timeout: Duration,
    /// At most this many branches per request.
    pub max_forks: usize,
    /// Transaction timers.
    pub timers: Timers,
    /// The early-media relay, when enabled.
    pub relay: Option<crate::relay::RelaySettings>,
    /// House users to register at the upstream proxy.
    pub upstream_accounts: Vec<UpstreamAccount>,
}

/// The stateful parts handed to the core.
#[derive(Debug)]
pub struct ProxyParts {
    /// The registrar (restored from the store).
    pub registrar: Registrar,
    /// Digest authentication.
    pub auth: Authenticator,
    /// Static routes.
    pub routes: Routes,
}

/// Bytes to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub dest: Peer,
    /// One SIP message.
    pub bytes: Vec<u8>,
}

/// The proxy.
pub struct Proxy {
    settings: ProxySettings,
    layer: TransactionLayer,
    registrar: Registrar,
    auth: Authenticator,
    routes: Routes,
    clock: (Instant, u64),
    /// Forks by server transaction.
    forks: HashMap<TransactionKey, ForkContext>,
    /// Server transaction of each client transaction.
    branch_owner: HashMap<TransactionKey, TransactionKey>,
    /// When to look at which fork (fork timeout, give-up after CANCEL).
    /// Entries may be stale; a due one only makes the fork check its deadlines.
    wakeups: BTreeMap<Instant, Vec<TransactionKey>>,
    out: VecDeque<Transmit>,
    relay: Option<crate::relay::RelayPlan>,
    uplinks: Vec<Uplink>,
    seed: u64,
    counter: u64,
}

impl Proxy {
    /// A proxy at `now`, when the wall clock reads `epoch_s` seconds since
    /// the UNIX epoch; `seed` makes branches unique across restarts.
    pub fn new(settings: ProxySettings, parts: ProxyParts, now: Instant, epoch_s: u64, seed: u64) -> Proxy {
        Proxy {
            layer: TransactionLayer::new(settings.timers),
            relay: settings.relay.clone().map(crate::relay::RelayPlan::new),
            uplinks: settings
                .upstream_accounts
                .iter()
                .enumerate()
                .map(|(i, a)| Uplink::new(a.clone(), now, seed.wrapping_add(i as u64)))
                .collect(),
            settings,
            registrar: parts.registrar,
            auth: parts.auth,
            routes: parts.routes,
            clock: (now, epoch_s),
            forks: HashMap::new(),
            branch_owner: HashMap::new(),
            wakeups: BTreeMap::new(),
            out: VecDeque::new(),
            seed,
            counter: 0,
        }
    }

    /// A datagram arrived (UDP). Malformed requests are answered as intake says.
    pub fn handle_datagram(&mut self, now: Instant, from: Peer, bytes: &[u8]) {
        self.handle_intake(now, from, parse_datagram(bytes));
    }

    /// What intake (a datagram, or a TCP stream's framer) made of some bytes.
    pub fn handle_intake(&mut self, now: Instant, from: Peer, intake: Intake) {
        match intake {
            Intake::Message(msg) => self.handle_message(now, from, msg),
            Intake::Reject(resp) => self.out.push_back(Transmit { dest: from, bytes: resp.to_bytes() }),
            Intake::Drop(_) => {}
        }
    }

    /// A well-formed message arrived.
    pub fn handle_message(&mut self, now: Instant, from: Peer, msg: Message) {
        self.layer.handle_message(now, msg, from);
        self.pump(now);
    }

    /// The deadline from [`Proxy::next_timeout`] passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        self.pump(now);
        self.fire_fork_timers(now);
        self.refresh_uplinks(now);
        self.registrar.expire(self.epoch_s(now));
        self.pump(now);
    }

    /// The next message to send.
    pub fn poll_output(&mut self) -> Option<Transmit> {
        let next = self.out.pop_front();
        if next.is_none() {
            shrink_queue_after_burst(&mut self.out);
        }
        next
    }

    /// When to call [`Proxy::handle_timeout`].
    pub fn next_timeout(&self) -> Option<Instant> {
        let forks = self
            .wakeups
            .keys()
            .next()
            .copied()
            .into_iter()
            .chain(self.uplinks.iter().filter_map(Uplink::next_at))
            .min();
        let expiry = self.registrar.next_expiry_s().map(|s| self.instant_of(s));
        self.layer.next_timeout().into_iter().chain(forks).chain(expiry).min()
    }

    /// Replaces users and routes (SIGHUP); calls in progress are untouched.
    pub fn reload(&mut self, passwd: crate::passwd::Passwd, routes: Routes) {
        self.auth.set_passwd(passwd);
        self.routes = routes;
    }

    /// True once after each change of the bindings.
    pub fn take_bindings_changed(&mut self) -> bool {
        self.registrar.take_dirty()
    }

    /// Every binding, for the store.
    pub fn bindings(&self) -> Vec<(Aor, Binding)> {
        self.registrar.snapshot()
    }

    /// Relay sessions changed since the last call (`None`: ended), for the shell's relay task.
    pub fn take_relay_changes(&mut self) -> Vec<(String, Option<crate::relay::MediaSession>)> {
        self.relay.as_mut().map(crate::relay::RelayPlan::take_changes).unwrap_or_default()
    }

    /// The relay saw no media for this call for a while (a lost BYE): free its ports.
    pub fn relay_idle(&mut self, call_id: &str) {
        tracing::info!("relay for {call_id} idle: torn down");
        self.end_relay(call_id);
    }

    /// The upstream proxy's address, if any.
    pub fn upstream(&self) -> Option<Peer> {
        self.settings.locality.upstream
    }

    /// The registrar, to read.
    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    /// Forks in progress.
    pub fn active_forks(&self) -> usize {
        self.forks.len()
    }

    /// Transactions alive (RFC 6026 keeps answered INVITEs for 64·T1).
    pub fn active_transactions(&self) -> usize {
        self.layer.len()
    }

    /// Seconds since the epoch at `now`.
    fn epoch_s(&self, now: Instant) -> u64 {
        self.clock.1 + now.saturating_duration_since(self.clock.0).as_secs()
    }

    fn instant_of(&self, epoch_s: u64) -> Instant {
        self.clock.0 + Duration::from_secs(epoch_s.saturating_sub(self.clock.1))
    }

    /// Look at the fork of `server` again at `at`.
    fn wake_at(&mut self, at: Instant, server: &TransactionKey) {
        self.wakeups.entry(at).or_default().push(server.clone());
    }

    fn next_n(&mut self) -> u64 {
        self.counter += 1;
        self.seed.wrapping_add(self.counter)
    }

    /// Drain the transaction layer, acting on its events, until it is quiet.
    fn pump(&mut self, now: Instant) {
        while let Some(o) = self.layer.poll_output() {
            match o {
                TxOutput::Transmit { dest, bytes } => self.out.push_back(Transmit { dest, bytes }),
                TxOutput::Event(ev) => self.on_event(now, ev),
            }
        }
    }

    fn on_event(&mut self, now: Instant, ev: TxEvent) {
        match ev {
            TxEvent::Request { key, request, from } => self.on_request(now, key, request, from),
            TxEvent::Response { key, response } => {
                if !self.on_uplink_response(now, &key, &response) {
                    self.on_response(now, &key, response);
                }
            }
            TxEvent::Timeout { key } | TxEvent::TransportError { key } if self.on_uplink_lost(now, &key) => {}
            TxEvent::Timeout { key } => self.on_branch_lost(now, &key, 408),
            TxEvent::TransportError { key } => self.on_branch_lost(now, &key, 503),
            TxEvent::Terminated { key } => self.on_terminated(&key),
        }
    }

    fn on_terminated(&mut self, key: &TransactionKey) {
        if let Some(ctx) = self.forks.remove(key) {
            for b in &ctx.branches {
                self.branch_owner.remove(&b.key);
            }
            shrink_after_burst(&mut self.forks);
            shrink_after_burst(&mut self.branch_owner);
            let call_id = ctx.request.headers.call_id().unwrap_or_default();
            if let Some(plan) = self.relay.as_mut().filter(|p| !p.is_answered(call_id)) {
                plan.end(call_id);
            }
        }
    }

    /// Stops relaying a call (BYE, a failed INVITE).
    fn end_relay(&mut self, call_id: &str) {
        if let Some(plan) = self.relay.as_mut() {
            plan.end(call_id);
        }
    }

    /// Answer a server transaction ourselves.
    fn respond(&mut self, now: Instant, key: &TransactionKey, resp: Response) {
        self.layer.send_response(now, key, resp);
    }
}
