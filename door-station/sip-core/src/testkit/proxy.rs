//! A stateful forking proxy model (RFC 3261 §16): parallel forking,
//! Record-Route, CANCEL of the other branches on the first 2xx.

use super::endpoint_party;
use super::wire::{Endpoint, resolve};
use crate::message::{Message, Method, Request, Response};
use crate::transaction::{Peer, TransactionKey, Transport, TxEvent, branch_from, cancel_for};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

/// One forwarded copy of the INVITE.
struct Branch {
    key: TransactionKey,
    request: Request,
    dest: Peer,
    provisional: bool,
    done: bool,
    /// CANCEL as soon as a provisional arrives (§9.1: not before).
    cancel_wanted: bool,
}

/// One forked INVITE: the server transaction upstream, the branches downstream.
struct ForkContext {
    server_key: TransactionKey,
    branches: Vec<Branch>,
    answered: bool,
    finals: Vec<Response>,
}

/// The simulated house proxy: forks every new INVITE to all `targets`.
pub struct ForkingProxy {
    /// The transaction layer and what it reported.
    pub ep: Endpoint,
    targets: Vec<SocketAddr>,
    forks: Vec<ForkContext>,
    /// Non-forked relays (BYE, re-INVITE): client key → server key.
    relays: BTreeMap<TransactionKey, TransactionKey>,
    /// CANCELs sent downstream.
    pub cancels_sent: usize,
}

impl ForkingProxy {
    /// A proxy at `addr` forking to `targets`.
    pub fn new(addr: SocketAddr, targets: Vec<SocketAddr>, seed: u64) -> ForkingProxy {
        let ep = Endpoint::new(addr, seed);
        ForkingProxy { ep, targets, forks: Vec::new(), relays: BTreeMap::new(), cancels_sent: 0 }
    }

    /// Speak `transport` on both sides.
    pub fn over(mut self, transport: Transport) -> ForkingProxy {
        self.ep.set_transport(transport);
        self
    }

    fn on_event(&mut self, now: Instant, ev: TxEvent) {
        match ev {
            TxEvent::Request { key, request, .. } => self.on_request(now, key, request),
            TxEvent::Response { key, response } => self.on_response(now, key, response),
            TxEvent::Timeout { key } => {
                if let Some((f, b)) = self.find_branch(&key) {
                    let req = self.forks[f].branches[b].request.clone();
                    self.on_branch_final(now, f, b, Response::for_request(&req, 408, "Request Timeout"));
                }
            }
            _ => {}
        }
    }

    fn on_request(&mut self, now: Instant, key: TransactionKey, req: Request) {
        let initial = req.headers.to().is_some_and(|t| t.tag().is_none());
        match req.method {
            Method::Invite if initial => self.fork(now, key, req),
            Method::Cancel => self.on_cancel(now, key, &req),
            Method::Ack => self.forward_ack(req),
            _ => self.relay(now, key, req),
        }
    }

    /// A copy of `req` for the next hop: our Via on top, Max-Forwards one
    /// less, our Route entry removed, optionally our Record-Route added.
    fn prepare(&mut self, req: &Request, record_route: bool) -> Request {
        let mut fwd = req.clone();
        let me = self.ep.peer.addr;
        if fwd.headers.route().first().and_then(|r| resolve(&r.uri)) == Some(me) {
            fwd.headers.remove_first("Route");
        }
        let via = if req.method == Method::Ack { self.stateless_via(req) } else { self.ep.via() };
        fwd.headers.push_front("Via", via.to_string());
        let mf = req.headers.max_forwards().unwrap_or(70).saturating_sub(1);
        fwd.headers.set("Max-Forwards", mf.to_string());
        if record_route {
            fwd.headers.push_front("Record-Route", format!("<sip:{me};lr>"));
        }
        fwd
    }

    /// The Via for a stateless forward: its branch is a hash of the incoming
    /// one, so a retransmitted ACK is forwarded with the same branch (§16.11).
    fn stateless_via(&self, req: &Request) -> crate::message::Via {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        req.headers.top_via().and_then(|v| v.branch().map(str::to_string)).hash(&mut h);
        self.ep.via_with(&branch_from(h.finish()))
    }

    fn fork(&mut self, now: Instant, server_key: TransactionKey, invite: Request) {
        let trying = Response::for_request(&invite, 100, "Trying");
        self.ep.layer.send_response(now, &server_key, trying);
        let mut branches = Vec::new();
        for target in self.targets.clone() {
            let mut fwd = self.prepare(&invite, true);
            fwd.uri = format!("sip:callee@{target}");
            let dest = self.ep.peer_at(target);
            let key = self.ep.layer.send_request(now, fwd.clone(), dest);
            branches.push(Branch { key, request: fwd, dest, provisional: false, done: false, cancel_wanted: false });
        }
        self.forks.push(ForkContext { server_key, branches, answered: false, finals: Vec::new() });
    }

    /// §16.10: 200 and CANCEL the branches, or 481 when no INVITE matches.
    fn on_cancel(&mut self, now: Instant, key: TransactionKey, cancel: &Request) {
        let invite_key = key.for_method(&Method::Invite);
        let Some(f) = self.forks.iter().position(|f| f.server_key == invite_key) else {
            let unknown = Response::for_request(cancel, 481, "Call/Transaction Does Not Exist");
            return self.ep.layer.send_response(now, &key, unknown);
        };
        self.ep.layer.send_response(now, &key, Response::for_request(cancel, 200, "OK"));
        self.cancel_branches(now, f, None);
    }

    /// CANCEL every pending branch of fork `f` except `keep`.
    fn cancel_branches(&mut self, now: Instant, f: usize, keep: Option<usize>) {
        for b in 0..self.forks[f].branches.len() {
            let branch = &mut self.forks[f].branches[b];
            if Some(b) == keep || branch.done || branch.cancel_wanted {
                continue;
            }
            branch.cancel_wanted = true;
            if branch.provisional {
                self.send_cancel(now, f, b);
            }
        }
    }

    fn send_cancel(&mut self, now: Instant, f: usize, b: usize) {
        let branch = &self.forks[f].branches[b];
        let (cancel, dest) = (cancel_for(&branch.request), branch.dest);
        self.ep.layer.send_request(now, cancel, dest);
        self.cancels_sent += 1;
    }

    /// The ACK for a 2xx travels end to end: forward it statelessly.
    fn forward_ack(&mut self, ack: Request) {
        let fwd = self.prepare(&ack, false);
        if let Some(dest) = self.ep.next_hop(&fwd) {
            self.ep.send_stateless(dest, Message::Request(fwd));
        }
    }

    /// In-dialog requests: one stateful forward, responses relayed back.
    fn relay(&mut self, now: Instant, server_key: TransactionKey, req: Request) {
        let fwd = self.prepare(&req, false);
        let Some(dest) = self.ep.next_hop(&fwd) else { return };
        let client_key = self.ep.layer.send_request(now, fwd, dest);
        self.relays.insert(client_key, server_key);
    }

    fn find_branch(&self, key: &TransactionKey) -> Option<(usize, usize)> {
        self.forks.iter().enumerate().find_map(|(f, fork)| Some((f, fork.branches.iter().position(|b| b.key == *key)?)))
    }

    fn on_response(&mut self, now: Instant, key: TransactionKey, resp: Response) {
        if let Some(server_key) = self.relays.get(&key).cloned() {
            return self.upstream(now, &server_key, resp);
        }
        let Some((f, b)) = self.find_branch(&key) else { return };
        match resp.status {
            100 => {}
            101..=199 => {
                let branch = &mut self.forks[f].branches[b];
                let first = !branch.provisional;
                branch.provisional = true;
                if first && branch.cancel_wanted {
                    self.send_cancel(now, f, b);
                }
                let server_key = self.forks[f].server_key.clone();
                self.upstream(now, &server_key, resp);
            }
            200..=299 => self.on_branch_answer(now, f, b, resp),
            _ => self.on_branch_final(now, f, b, resp),
        }
    }

    /// Every 2xx goes upstream (§16.7 step 5); the first one cancels the rest.
    fn on_branch_answer(&mut self, now: Instant, f: usize, b: usize, resp: Response) {
        self.forks[f].branches[b].done = true;
        let server_key = self.forks[f].server_key.clone();
        self.upstream(now, &server_key, resp);
        if !self.forks[f].answered {
            self.forks[f].answered = true;
            self.cancel_branches(now, f, Some(b));
        }
    }

    /// A branch failed; when all have and none answered, send the best final (§16.7 step 6).
    fn on_branch_final(&mut self, now: Instant, f: usize, b: usize, resp: Response) {
        let fork = &mut self.forks[f];
        if fork.branches[b].done {
            return;
        }
        fork.branches[b].done = true;
        fork.finals.push(resp);
        if fork.answered || fork.branches.iter().any(|b| !b.done) {
            return;
        }
        let best = fork.finals.iter().find(|r| r.status >= 600).or_else(|| fork.finals.iter().min_by_key(|r| r.status));
        if let Some(best) = best.cloned() {
            let server_key = fork.server_key.clone();
            self.upstream(now, &server_key, best);
        }
    }

    /// Send a response from downstream upstream, without our Via.
    fn upstream(&mut self, now: Instant, server_key: &TransactionKey, mut resp: Response) {
        resp.headers.remove_first("Via");
        self.ep.layer.send_response(now, server_key, resp);
    }

    fn own_timeout(&self) -> Option<Instant> {
        None
    }

    fn on_own_timers(&mut self, _now: Instant) {}
}

endpoint_party!(ForkingProxy);
