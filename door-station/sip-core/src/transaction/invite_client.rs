//! INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §8.4).
//!
//! ```text
//! Calling --1xx--> Proceeding --300-699 (send ACK)--> Completed --D--> Terminated
//!    |                 |
//!    +--2xx------------+--2xx--> Accepted --M--> Terminated   (every 2xx goes up)
//!    +--B--> Terminated (Timeout)
//! ```
//! In Accepted, provisional and non-2xx final responses (late answers of
//! forks the proxy is cancelling) are dropped: the call is answered. Timer B
//! stops at the first provisional, so a callee that rings forever keeps the
//! transaction alive until the TU sends CANCEL.

use super::build::ack_for_non2xx;
use super::outbox::Ctx;
use super::timer::Timer;
use super::{Peer, TransactionKey, TxEvent};
use crate::message::{Request, Response};
use std::time::Duration;

/// Calling: the INVITE is out, retransmitted on timer A until any response.
struct Calling {
    /// The current timer A interval (T1, doubling).
    interval: Duration,
}

/// Completed: a non-2xx final came; its ACK is re-sent for every retransmission.
struct Completed {
    ack: Vec<u8>,
}

enum State {
    Calling(Calling),
    Proceeding,
    Completed(Completed),
    /// RFC 6026: a 2xx came; later 2xx (other forks, retransmissions) go up too.
    Accepted,
    Terminated,
}

pub(crate) struct InviteClient {
    key: TransactionKey,
    /// Kept while it may be resent or cancelled; dropped at the final
    /// response (Accepted lasts 32 s and needs only the key).
    request: Option<Request>,
    dest: Peer,
    state: State,
}

impl InviteClient {
    /// Send the INVITE and start timers A (unreliable only) and B.
    pub fn start(ctx: &mut Ctx<'_>, key: TransactionKey, request: Request, dest: Peer) -> InviteClient {
        ctx.out.transmit_request(dest, &request);
        if !dest.transport.is_reliable() {
            ctx.table.set(Timer::A, ctx.now, ctx.timers.t1);
        }
        ctx.table.set(Timer::B, ctx.now, ctx.timers.t1x64());
        let state = State::Calling(Calling { interval: ctx.timers.t1 });
        InviteClient { key, request: Some(request), dest, state }
    }

    pub fn on_response(&mut self, ctx: &mut Ctx<'_>, resp: Response) {
        let state = std::mem::replace(&mut self.state, State::Terminated);
        self.state = match state {
            State::Calling(_) | State::Proceeding => self.first_response(ctx, resp),
            State::Completed(c) => {
                if resp.status >= 300 {
                    ctx.out.transmit_bytes(self.dest, c.ack.clone());
                }
                State::Completed(c)
            }
            State::Accepted => {
                if (200..300).contains(&resp.status) {
                    ctx.out.response(&self.key, resp);
                }
                State::Accepted
            }
            State::Terminated => State::Terminated,
        };
    }

    /// A response in Calling or Proceeding.
    fn first_response(&mut self, ctx: &mut Ctx<'_>, resp: Response) -> State {
        let status = resp.status;
        ctx.table.stop_all();
        if status < 200 {
            ctx.out.response(&self.key, resp);
            return State::Proceeding;
        }
        let Some(request) = self.request.take() else { return State::Terminated };
        if status < 300 {
            ctx.out.response(&self.key, resp);
            ctx.table.set(Timer::M, ctx.now, ctx.timers.t1x64());
            return State::Accepted;
        }
        let ack = ack_for_non2xx(&request, &resp).to_bytes();
        ctx.out.transmit_bytes(self.dest, ack.clone());
        ctx.out.response(&self.key, resp);
        let d = ctx.timers.timer_d(self.dest.transport);
        if d.is_zero() {
            return State::Terminated;
        }
        ctx.table.set(Timer::D, ctx.now, d);
        State::Completed(Completed { ack })
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        let state = std::mem::replace(&mut self.state, State::Terminated);
        self.state = match (state, timer) {
            (State::Calling(c), Timer::A) => {
                if let Some(request) = &self.request {
                    ctx.out.transmit_request(self.dest, request);
                }
                let interval = c.interval * 2;
                ctx.table.set(Timer::A, ctx.now, interval);
                State::Calling(Calling { interval })
            }
            (State::Calling(_), Timer::B) => {
                ctx.out.event(TxEvent::Timeout { key: self.key.clone() });
                State::Terminated
            }
            (State::Completed(_), Timer::D) | (State::Accepted, Timer::M) => State::Terminated,
            (other, _) => other,
        };
    }

    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Terminated)
    }

    /// The INVITE this transaction sent, until a final response came.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_ref()
    }

    /// Where the INVITE went.
    pub fn dest(&self) -> Peer {
        self.dest
    }
}
