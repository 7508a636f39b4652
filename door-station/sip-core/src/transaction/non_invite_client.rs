//! non-INVITE client transaction (RFC 3261 §17.1.2).
//!
//! ```text
//! Trying --1xx--> Proceeding --200-699--> Completed --K--> Terminated
//!   |  E: retransmit, interval doubling to T2      (Proceeding: every T2)
//!   +--F (either state)--> Terminated (Timeout)
//! ```

use super::outbox::Ctx;
use super::timer::Timer;
use super::{Peer, TransactionKey, TxEvent};
use crate::message::{Request, Response};
use std::time::Duration;

/// Trying or Proceeding: the request is retransmitted on timer E.
struct Waiting {
    interval: Duration,
    provisional_seen: bool,
}

enum State {
    Waiting(Waiting),
    /// A final came; retransmitted finals are absorbed until timer K.
    Completed,
    Terminated,
}

pub(crate) struct NonInviteClient {
    key: TransactionKey,
    request: Request,
    dest: Peer,
    state: State,
}

impl NonInviteClient {
    /// Send the request and start timers E (unreliable only) and F.
    pub fn start(ctx: &mut Ctx<'_>, key: TransactionKey, request: Request, dest: Peer) -> NonInviteClient {
        ctx.out.transmit_request(dest, &request);
        if !dest.transport.is_reliable() {
            ctx.table.set(Timer::E, ctx.now, ctx.timers.t1);
        }
        ctx.table.set(Timer::F, ctx.now, ctx.timers.t1x64());
        let state = State::Waiting(Waiting { interval: ctx.timers.t1, provisional_seen: false });
        NonInviteClient { key, request, dest, state }
    }

    pub fn on_response(&mut self, ctx: &mut Ctx<'_>, resp: Response) {
        let state = std::mem::replace(&mut self.state, State::Terminated);
        self.state = match state {
            State::Waiting(w) if resp.status < 200 => {
                ctx.out.response(&self.key, resp);
                State::Waiting(Waiting { provisional_seen: true, ..w })
            }
            State::Waiting(_) => {
                ctx.out.response(&self.key, resp);
                ctx.table.stop_all();
                let k = ctx.timers.t4_or_zero(self.dest.transport);
                if k.is_zero() {
                    State::Terminated
                } else {
                    ctx.table.set(Timer::K, ctx.now, k);
                    State::Completed
                }
            }
            other => other,
        };
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        let state = std::mem::replace(&mut self.state, State::Terminated);
        self.state = match (state, timer) {
            (State::Waiting(w), Timer::E) => {
                ctx.out.transmit_request(self.dest, &self.request);
                let t2 = ctx.timers.t2;
                let interval = if w.provisional_seen { t2 } else { (w.interval * 2).min(t2) };
                ctx.table.set(Timer::E, ctx.now, interval);
                State::Waiting(Waiting { interval, ..w })
            }
            (State::Waiting(_), Timer::F) => {
                ctx.out.event(TxEvent::Timeout { key: self.key.clone() });
                State::Terminated
            }
            (State::Completed, Timer::K) => State::Terminated,
            (other, _) => other,
        };
    }

    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Terminated)
    }
}
