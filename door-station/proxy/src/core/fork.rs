//! One forked request: its branches and the response context (RFC 3261 §16.7).
//!
//! Plain data and decisions; the [`Proxy`](super::Proxy) sends what they say.

use std::time::Instant;

use ds_sip::transaction::{Peer, TransactionKey};
use ds_sip::{Method, Request, Response};

/// Where a branch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchState {
    /// Sent, nothing heard yet: a CANCEL may not be sent (§9.1).
    Trying,
    /// A provisional came.
    Proceeding,
    /// A final came (or was assumed: timeout, transport error, cancelled before any answer).
    Completed(u16),
}

/// One client transaction of a fork.
#[derive(Debug, Clone)]
pub struct Branch {
    /// The client transaction; it keeps the INVITE as sent (for the CANCEL)
    /// until a final response comes.
    pub key: TransactionKey,
    /// Where it went.
    pub dest: Peer,
    /// Its state.
    pub state: BranchState,
    /// A CANCEL is owed as soon as a provisional arrives.
    pub cancel_owed: bool,
    /// A CANCEL was sent; if no final comes by then, the branch counts as 408.
    pub give_up_at: Option<Instant>,
}

impl Branch {
    /// True once a final response came or was assumed.
    pub fn is_done(&self) -> bool {
        matches!(self.state, BranchState::Completed(_))
    }
}

/// Why the fork stopped waiting for answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Still running.
    No,
    /// The caller sent CANCEL: cancelled branches answer 487, passed on as is.
    CallerCancelled,
    /// The fork timeout passed: cancelled branches count as 408.
    TimedOut,
    /// A 2xx or 6xx came: the other branches are cancelled.
    Decided,
}

/// A request received on one server transaction and forked to branches.
#[derive(Debug, Clone)]
pub struct ForkContext {
    /// The server transaction.
    pub server: TransactionKey,
    /// The request as received.
    pub request: Request,
    /// Its branches.
    pub branches: Vec<Branch>,
    /// The best final response so far (top Via already removed).
    pub best: Option<Response>,
    /// Every 401/407 challenge header seen, to merge into a 401/407 (§16.7 step 6).
    pub challenges: Vec<(String, String)>,
    /// A final response went upstream (2xx: more 2xx may follow).
    pub final_sent: bool,
    /// When to cancel the still-ringing INVITE branches.
    pub fork_deadline: Option<Instant>,
    /// Why the fork stopped, if it did.
    pub stop: Stop,
}

impl ForkContext {
    /// A context for `request` on `server`; INVITEs get a fork deadline.
    pub fn new(server: TransactionKey, request: Request, fork_deadline: Option<Instant>) -> ForkContext {
        ForkContext {
            server,
            request,
            branches: Vec::new(),
            best: None,
            challenges: Vec::new(),
            final_sent: false,
            fork_deadline,
            stop: Stop::No,
        }
    }

    /// True for a forked INVITE.
    pub fn is_invite(&self) -> bool {
        self.request.method == Method::Invite
    }

    /// The branch of a client transaction.
    pub fn branch_mut(&mut self, key: &TransactionKey) -> Option<&mut Branch> {
        self.branches.iter_mut().find(|b| &b.key == key)
    }

    /// True when every branch has a final.
    pub fn all_done(&self) -> bool {
        self.branches.iter().all(Branch::is_done)
    }

    /// Records a non-2xx final of a branch as a candidate (§16.7 step 5/6).
    pub fn offer(&mut self, resp: Response) {
        for name in ["WWW-Authenticate", "Proxy-Authenticate"] {
            for v in resp.headers.get_all(name) {
                self.challenges.push((name.to_string(), v.to_string()));
            }
        }
        if self.best.as_ref().is_none_or(|b| rank(resp.status) < rank(b.status)) {
            self.best = Some(resp);
        }
    }

    /// The response to send upstream once every branch is done: the best
    /// one with merged challenges, 503 turned into 500 (§16.7 step 6), or
    /// `fallback` when no branch gave a final.
    pub fn best_response(&self, fallback: impl FnOnce() -> Response) -> Response {
        let Some(mut best) = self.best.clone() else { return fallback() };
        if matches!(best.status, 401 | 407) {
            for name in ["WWW-Authenticate", "Proxy-Authenticate"] {
                best.headers.remove(name);
            }
            for (name, value) in &self.challenges {
                best.headers.push(name, value.as_str());
            }
        }
        if best.status == 503 {
            best.status = 500;
            best.reason = "Server Internal Error".into();
        }
        best
    }
}

/// Lower is better: 6xx, then 3xx, 4xx, 5xx (§16.7 step 6); within 4xx
/// challenges and specific refusals before "temporarily unavailable",
/// timeouts and cancellations.
pub fn rank(status: u16) -> u32 {
    let class = match status / 100 {
        6 => 0,
        3 => 1,
        4 => 2,
        _ => 3,
    };
    let within = match status {
        401 | 407 => 0,
        480 => 2,
        408 => 3,
        487 => 4,
        _ => 1,
    };
    class * 10 + within
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_hundreds_beat_everything_and_busy_beats_timeouts() {
        assert!(rank(603) < rank(302));
        assert!(rank(486) < rank(480));
        assert!(rank(480) < rank(408));
        assert!(rank(408) < rank(487));
        assert!(rank(404) < rank(500));
        assert!(rank(407) < rank(486));
    }
}
