//! Responses from branches (§16.7), lost branches, CANCEL of branches
//! (§16.10) and the fork timeout.

use std::time::Instant;

use ds_sip::Response;
use ds_sip::transaction::{TransactionKey, cancel_for};

use super::Proxy;
use super::fork::{BranchState, Stop};
use crate::reply::answer;

impl Proxy {
    pub(super) fn on_response(&mut self, now: Instant, client: &TransactionKey, mut resp: Response) {
        let Some(server) = self.branch_owner.get(client).cloned() else { return };
        let Some(ctx) = self.forks.get_mut(&server) else { return };
        let stop = ctx.stop;
        if ctx.branch_mut(client).is_none() {
            return;
        }
        resp.headers.remove_first("Via");
        let status = resp.status;
        if ctx.is_invite() && (181..300).contains(&status) && !resp.body.is_empty() {
            let call_id = ctx.request.headers.call_id().unwrap_or_default().to_string();
            self.relay_answer(&call_id, client, &mut resp);
        }
        let Some(ctx) = self.forks.get_mut(&server) else { return };
        let Some(branch) = ctx.branch_mut(client) else { return };
        if status < 200 {
            if branch.state == BranchState::Trying {
                branch.state = BranchState::Proceeding;
            }
            let owed = std::mem::take(&mut branch.cancel_owed).then(|| branch.key.clone());
            let give_up = now + self.settings.timers.t1x64();
            if owed.is_some() {
                branch.give_up_at = Some(give_up);
            }
            let forward = status > 100 && !ctx.final_sent && stop == Stop::No;
            if let Some(client) = owed {
                self.wake_at(give_up, &server);
                self.send_cancel(now, &client);
            }
            if forward {
                self.respond(now, &server, resp);
            }
            return;
        }
        let was_done = branch.is_done();
        branch.state = BranchState::Completed(status);
        if status < 300 {
            return self.forward_2xx(now, &server, resp);
        }
        if was_done {
            return;
        }
        if status == 487 && stop == Stop::TimedOut {
            resp.status = 408;
            resp.reason = "Request Timeout".into();
        }
        ctx.offer(resp);
        if status >= 600 && ctx.is_invite() && ctx.stop == Stop::No {
            ctx.stop = Stop::Decided;
            self.cancel_branches(now, &server, None);
        }
        self.finish_if_done(now, &server);
    }

    /// Every 2xx goes upstream (§16.7 step 10); the first one cancels the others.
    fn forward_2xx(&mut self, now: Instant, server: &TransactionKey, resp: Response) {
        let Some(ctx) = self.forks.get_mut(server) else { return };
        let first = !ctx.final_sent;
        if !first && !ctx.is_invite() {
            return;
        }
        ctx.final_sent = true;
        let invite = ctx.is_invite();
        if first && invite {
            ctx.stop = Stop::Decided;
        }
        self.respond(now, server, resp);
        if first && invite {
            self.cancel_branches(now, server, None);
        }
    }

    /// Timer B/F or a transport error on a branch: it counts as `status`.
    pub(super) fn on_branch_lost(&mut self, now: Instant, client: &TransactionKey, status: u16) {
        let Some(server) = self.branch_owner.get(client).cloned() else { return };
        let Some(ctx) = self.forks.get_mut(&server) else { return };
        let Some(branch) = ctx.branch_mut(client) else { return };
        if branch.is_done() {
            return;
        }
        branch.state = BranchState::Completed(status);
        let resp = answer(&ctx.request, status);
        ctx.offer(resp);
        self.finish_if_done(now, &server);
    }

    /// Sends the best final response upstream once every branch is done.
    fn finish_if_done(&mut self, now: Instant, server: &TransactionKey) {
        let Some(ctx) = self.forks.get_mut(server) else { return };
        if ctx.final_sent || !ctx.all_done() {
            return;
        }
        ctx.final_sent = true;
        let req = &ctx.request;
        let resp = ctx.best_response(|| answer(req, 408));
        let call_id = req.headers.call_id().unwrap_or_default().to_string();
        self.respond(now, server, resp);
        self.end_relay(&call_id);
    }

    /// CANCELs every branch still pending (except `keep`); branches that
    /// never answered are counted as finished at once (§16.8: as if 408),
    /// and owe a CANCEL should a provisional still come.
    pub(super) fn cancel_branches(&mut self, now: Instant, server: &TransactionKey, keep: Option<&TransactionKey>) {
        let give_up = now + self.settings.timers.t1x64();
        let Some(ctx) = self.forks.get_mut(server) else { return };
        let assumed = if ctx.stop == Stop::CallerCancelled { 487 } else { 408 };
        let mut cancels = Vec::new();
        for b in ctx.branches.iter_mut().filter(|b| Some(&b.key) != keep && !b.is_done()) {
            match b.state {
                BranchState::Proceeding if b.give_up_at.is_none() => {
                    b.give_up_at = Some(give_up);
                    cancels.push(b.key.clone());
                }
                BranchState::Trying => {
                    b.cancel_owed = true;
                    b.state = BranchState::Completed(assumed);
                }
                _ => {}
            }
        }
        if ctx.best.is_none() && ctx.branches.iter().any(|b| b.cancel_owed) {
            let resp = answer(&ctx.request, assumed);
            ctx.offer(resp);
        }
        if !cancels.is_empty() {
            self.wake_at(give_up, server);
        }
        for client in cancels {
            self.send_cancel(now, &client);
        }
        self.finish_if_done(now, server);
    }

    /// CANCELs the INVITE of a client transaction that has no final response yet.
    fn send_cancel(&mut self, now: Instant, client: &TransactionKey) {
        let Some((cancel, dest)) = self.layer.invite_of(client).map(|(invite, dest)| (cancel_for(invite), dest)) else {
            return;
        };
        if let Err(e) = self.layer.try_send_request(now, cancel, dest) {
            tracing::debug!("CANCEL not sent: {e}");
        }
    }

    /// The fork timeout and the give-up time after a CANCEL.
    pub(super) fn fire_fork_timers(&mut self, now: Instant) {
        let later = self.wakeups.split_off(&(now + std::time::Duration::from_nanos(1)));
        let due: Vec<TransactionKey> = std::mem::replace(&mut self.wakeups, later).into_values().flatten().collect();
        for server in due {
            let Some(ctx) = self.forks.get_mut(&server) else { continue };
            if ctx.stop == Stop::No && ctx.fork_deadline.is_some_and(|t| t <= now) {
                ctx.stop = Stop::TimedOut;
                self.cancel_branches(now, &server, None);
            }
            let Some(ctx) = self.forks.get_mut(&server) else { continue };
            let mut lost = Vec::new();
            for b in ctx.branches.iter_mut().filter(|b| !b.is_done() && b.give_up_at.is_some_and(|t| t <= now)) {
                lost.push(b.key.clone());
            }
            for key in lost {
                self.on_branch_lost(now, &key, 408);
            }
        }
    }
}
