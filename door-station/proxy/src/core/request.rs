//! Requests arriving on server transactions: checks (§16.3), the registrar,
//! authentication, target selection (§16.5) and forking (§16.6).

use std::time::Instant;

use ds_sip::message::intake::{Role, check_semantics};
use ds_sip::transaction::{Peer, TransactionKey};
use ds_sip::{Message, Method, Request};

use super::Proxy;
use super::fork::{Branch, BranchState, ForkContext, Stop};
use super::forward::{branch, forwarded, is_loop, loop_hash, pop_own_routes, undo_strict_routing};
use super::target::{Target, resolve, targets_for};
use crate::auth::AuthOutcome;
use crate::reply::answer;
use crate::routes::user_host;

/// Methods that are challenged when they start something (issue: REGISTER, INVITE, MESSAGE).
fn is_challenged(req: &Request) -> bool {
    let initial = req.headers.to().is_some_and(|t| t.tag().is_none());
    initial && matches!(req.method, Method::Invite | Method::Message | Method::Register)
}

impl Proxy {
    pub(super) fn on_request(&mut self, now: Instant, key: TransactionKey, req: Request, from: Peer) {
        match req.method {
            Method::Ack => return self.forward_ack(now, req, from),
            Method::Cancel => return self.on_cancel(now, &key, &req),
            _ => {}
        }
        let role = if req.method == Method::Register && self.settings.locality.our_domain(&req.uri).is_some() {
            Role::Registrar
        } else {
            Role::Proxy
        };
        let msg = Message::Request(req);
        if let Some(resp) = check_semantics(&msg, role, &[]) {
            return self.respond(now, &key, resp);
        }
        let Message::Request(mut req) = msg else { return };
        if is_loop(&self.settings.locality, &req) {
            return self.respond(now, &key, answer(&req, 482));
        }
        undo_strict_routing(&self.settings.locality, &mut req);
        pop_own_routes(&self.settings.locality, &mut req);
        if !req.headers.route().is_empty() {
            return self.route_onward(now, key, req, from);
        }
        if !self.authorized(now, &key, &req, from) {
            return;
        }
        if role == Role::Registrar {
            return self.on_register(now, &key, &req, from);
        }
        self.route_by_uri(now, key, req, from);
    }

    /// Digest check for REGISTER/INVITE/MESSAGE from our domains; false when answered.
    fn authorized(&mut self, now: Instant, key: &TransactionKey, req: &Request, from: Peer) -> bool {
        let loc = &self.settings.locality;
        let identity_uri = match req.method {
            Method::Register => req.headers.to(),
            _ => req.headers.from(),
        };
        let identity = identity_uri.and_then(|n| loc.our_aor(&n.uri));
        let to_us = loc.our_domain(&req.uri).is_some();
        let Some(identity) = identity.filter(|_| is_challenged(req)) else {
            // Foreign callers may reach our users; relaying foreign to foreign needs trust.
            if to_us || !is_challenged(req) || self.auth.is_trusted(from.addr.ip()) {
                return true;
            }
            self.respond(now, key, answer(req, 403));
            return false;
        };
        match self.auth.check(self.epoch_s(now), req, identity.domain(), from.addr.ip()) {
            AuthOutcome::Authorized { user: Some(u) } if u != identity.user() => {
                self.respond(now, key, answer(req, 403));
                false
            }
            AuthOutcome::Authorized { .. } => true,
            AuthOutcome::Challenge(resp) | AuthOutcome::Refused(resp) => {
                self.respond(now, key, resp);
                false
            }
        }
    }

    fn on_register(&mut self, now: Instant, key: &TransactionKey, req: &Request, from: Peer) {
        let aor = req.headers.to().and_then(|t| self.settings.locality.our_aor(&t.uri));
        let resp = match aor {
            Some(aor) => self.registrar.register(self.epoch_s(now), req, &aor, from),
            None => answer(req, 404),
        };
        self.respond(now, key, resp);
    }

    /// A Route remains after ours: loose routing to its top value, Request-URI kept.
    fn route_onward(&mut self, now: Instant, key: TransactionKey, req: Request, from: Peer) {
        if req.method == Method::Bye {
            self.end_relay(req.headers.call_id().unwrap_or_default());
        }
        let top = req.headers.route().into_iter().next().map(|r| r.uri);
        match top.as_deref().and_then(|u| self.settings.locality.foreign_hop(u)) {
            Some(dest) => {
                let target = Target { uri: req.uri.clone(), dest };
                self.fork(now, key, req, from, vec![target], true);
            }
            None => self.respond(now, &key, answer(&req, 404)),
        }
    }

    fn route_by_uri(&mut self, now: Instant, key: TransactionKey, req: Request, from: Peer) {
        if req.method == Method::Bye {
            self.end_relay(req.headers.call_id().unwrap_or_default());
        }
        let loc = &self.settings.locality;
        let targets = if let Some(aor) = loc.our_aor(&req.uri) {
            let t = targets_for(loc, &self.routes, &self.registrar, self.epoch_s(now), &aor, self.settings.max_forks);
            if t.is_empty() {
                let known =
                    self.routes.members(&aor).is_some() || self.auth.passwd().contains(aor.user(), aor.domain());
                return self.respond(now, &key, answer(&req, if known { 480 } else { 404 }));
            }
            t
        } else if loc.our_domain(&req.uri).is_some() {
            return self.answer_ourselves(now, &key, &req);
        } else {
            match loc.foreign_hop(&req.uri) {
                Some(dest) => vec![Target { uri: req.uri.clone(), dest }],
                None => return self.respond(now, &key, answer(&req, 404)),
            }
        };
        self.fork(now, key, req, from, targets, false);
    }

    /// A request for the proxy itself (no user part): OPTIONS gets 200.
    fn answer_ourselves(&mut self, now: Instant, key: &TransactionKey, req: &Request) {
        let status = if req.method == Method::Options { 200 } else { 404 };
        let mut resp = answer(req, status);
        resp.headers.push("Allow", Role::Proxy.allowed_methods().join(", "));
        self.respond(now, key, resp);
    }

    /// Sends `req` to every target in parallel and remembers the fork.
    fn fork(
        &mut self,
        now: Instant,
        key: TransactionKey,
        req: Request,
        from: Peer,
        targets: Vec<Target>,
        keep_uri: bool,
    ) {
        if req.method == Method::Invite {
            self.respond(now, &key, answer(&req, 100));
        }
        let deadline = (req.method == Method::Invite).then(|| now + self.settings.fork_timeout);
        let mut ctx = ForkContext::new(key.clone(), req, deadline);
        let hash = loop_hash(&ctx.request);
        let relayed = self.start_relay(&ctx.request);
        for target in targets {
            let b = branch(hash, self.next_n());
            let mut out = forwarded(&self.settings.locality, &ctx.request, &target, from, &b, keep_uri);
            if relayed {
                self.relay_branch_offer(&mut out);
            }
            match self.layer.try_send_request(now, out, target.dest) {
                Ok(client) => {
                    self.branch_owner.insert(client.clone(), key.clone());
                    let state = BranchState::Trying;
                    ctx.branches.push(Branch {
                        key: client,
                        dest: target.dest,
                        state,
                        cancel_owed: false,
                        give_up_at: None,
                    });
                }
                Err(e) => tracing::warn!("branch to {} not sent: {e}", target.uri),
            }
        }
        if ctx.branches.is_empty() {
            return self.respond(now, &key, answer(&ctx.request, 500));
        }
        if let Some(at) = deadline {
            self.wake_at(at, &key);
        }
        self.forks.insert(key, ctx);
        self.pump(now);
    }

    /// CANCEL from the caller (§16.10): 200 for the CANCEL, CANCEL every pending branch.
    fn on_cancel(&mut self, now: Instant, key: &TransactionKey, req: &Request) {
        let invite_key = key.for_method(&Method::Invite);
        let Some(ctx) = self.forks.get_mut(&invite_key) else {
            return self.respond(now, key, answer(req, 481));
        };
        let stop_now = ctx.stop == Stop::No && !ctx.final_sent;
        if stop_now {
            ctx.stop = Stop::CallerCancelled;
        }
        self.respond(now, key, answer(req, 200));
        if stop_now {
            self.cancel_branches(now, &invite_key, None);
        }
    }

    /// ACK for a 2xx (or a stray): forwarded statelessly along Route or to the Request-URI.
    fn forward_ack(&mut self, now: Instant, mut req: Request, from: Peer) {
        let loc = &self.settings.locality;
        pop_own_routes(loc, &mut req);
        let next = match req.headers.route().into_iter().next() {
            Some(route) => resolve(&route.uri),
            None => match loc.our_aor(&req.uri) {
                Some(aor) => self.registrar.lookup(self.epoch_s(now), &aor).first().map(|b| b.source),
                None if user_host(&req.uri).is_some() => loc.foreign_hop(&req.uri),
                None => None,
            },
        };
        let Some(dest) = next else { return };
        let target = Target { uri: req.uri.clone(), dest };
        let seed = req.headers.top_via().and_then(|v| v.branch().map(str::to_string)).unwrap_or_default();
        let b = branch(loop_hash(&req), crate::reply::fnv_strs([seed.as_str()]) & 0xffff_ffff);
        let out = forwarded(loc, &req, &target, from, &b, true);
        self.layer.send_stateless(dest, Message::Request(out));
    }
}
