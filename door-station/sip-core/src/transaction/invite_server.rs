//! INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1).
//!
//! ```text
//! Proceeding --300-699--> Completed --ACK--> Confirmed --I--> Terminated
//!     |                       +--H--> Terminated (Timeout)
//!     +--2xx--> Accepted --L--> Terminated   (2xx from the TU go out; ACKs go up)
//! ```
//! A retransmitted INVITE re-sends the last provisional (Proceeding) or the
//! final (Completed); in Accepted it is absorbed, because the TU retransmits
//! its 2xx itself (RFC 3261 §13.3.1.4).

use super::outbox::Ctx;
use super::timer::Timer;
use super::{Peer, TransactionKey, TxEvent};
use crate::message::{Request, Response};
use std::time::Duration;

/// Proceeding: the last provisional we sent, if any.
struct Proceeding {
    last: Option<Vec<u8>>,
}

/// Completed: the non-2xx final, retransmitted on timer G until the ACK.
struct Completed {
    last: Vec<u8>,
    interval: Duration,
}

enum State {
    Proceeding(Proceeding),
    Completed(Completed),
    Confirmed,
    Accepted,
    Terminated,
}

pub(crate) struct InviteServer {
    key: TransactionKey,
    /// The automatic 100 Trying, built at once: the INVITE itself is not
    /// kept (the TU has it), which matters for the 32 s of Accepted.
    trying: Option<Vec<u8>>,
    peer: Peer,
    state: State,
}

/// Why the TU's response was refused, for [`super::TransactionError::WrongState`].
pub(crate) type Refusal = &'static str;

impl InviteServer {
    /// A new transaction; with `auto_trying`, 100 Trying goes out after
    /// 200 ms unless the TU answers first (§17.2.1).
    pub fn new(
        ctx: &mut Ctx<'_>,
        key: TransactionKey,
        request: &Request,
        peer: Peer,
        auto_trying: bool,
    ) -> InviteServer {
        let trying = auto_trying.then(|| {
            ctx.table.set(Timer::Trying, ctx.now, Duration::from_millis(200));
            Response::for_request(request, 100, "Trying").to_bytes()
        });
        InviteServer { key, trying, peer, state: State::Proceeding(Proceeding { last: None }) }
    }

    /// The same INVITE again.
    pub fn on_retransmission(&mut self, ctx: &mut Ctx<'_>) {
        let last = match &self.state {
            State::Proceeding(p) => p.last.clone(),
            State::Completed(c) => Some(c.last.clone()),
            _ => None,
        };
        if let Some(bytes) = last {
            ctx.out.transmit_bytes(self.peer, bytes);
        }
    }

    /// An ACK matched this transaction. Returns it when the TU must see it
    /// (the ACK for a 2xx, RFC 6026 §7.1); the ACK for a non-2xx is absorbed.
    pub fn on_ack(&mut self, ctx: &mut Ctx<'_>, ack: Request) -> Option<Request> {
        let state = std::mem::replace(&mut self.state, State::Terminated);
        let (state, up) = match state {
            State::Completed(_) => {
                ctx.table.stop_all();
                let i = ctx.timers.t4_or_zero(self.peer.transport);
                if i.is_zero() {
                    (State::Terminated, None)
                } else {
                    ctx.table.set(Timer::I, ctx.now, i);
                    (State::Confirmed, None)
                }
            }
            State::Accepted => (State::Accepted, Some(ack)),
            other => (other, None),
        };
        self.state = state;
        up
    }

    /// The TU answers.
    pub fn send_response(&mut self, ctx: &mut Ctx<'_>, resp: Response) -> Result<(), Refusal> {
        let state = std::mem::replace(&mut self.state, State::Terminated);
        let (state, result) = match state {
            State::Proceeding(_) => (self.answer(ctx, resp), Ok(())),
            State::Accepted if (200..300).contains(&resp.status) => {
                ctx.out.transmit_response(self.peer, &resp);
                (State::Accepted, Ok(()))
            }
            State::Accepted => (State::Accepted, Err("only 2xx may follow a 2xx")),
            other => (other, Err("a final response was already sent")),
        };
        self.state = state;
        result
    }

    /// A response in Proceeding.
    fn answer(&mut self, ctx: &mut Ctx<'_>, resp: Response) -> State {
        self.answer_bytes(ctx, resp.status, resp.to_bytes())
    }

    fn answer_bytes(&mut self, ctx: &mut Ctx<'_>, status: u16, bytes: Vec<u8>) -> State {
        ctx.out.transmit_bytes(self.peer, bytes.clone());
        ctx.table.stop(Timer::Trying);
        self.trying = None;
        if status < 200 {
            return State::Proceeding(Proceeding { last: Some(bytes) });
        }
        if status < 300 {
            ctx.table.set(Timer::L, ctx.now, ctx.timers.t1x64());
            return State::Accepted;
        }
        if !self.peer.transport.is_reliable() {
            ctx.table.set(Timer::G, ctx.now, ctx.timers.t1);
        }
        ctx.table.set(Timer::H, ctx.now, ctx.timers.t1x64());
        State::Completed(Completed { last: bytes, interval: ctx.timers.t1 })
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        let state = std::mem::replace(&mut self.state, State::Terminated);
        self.state = match (state, timer) {
            (State::Proceeding(p), Timer::Trying) if p.last.is_none() => match self.trying.take() {
                Some(bytes) => self.answer_bytes(ctx, 100, bytes),
                None => State::Proceeding(p),
            },
            (State::Completed(c), Timer::G) => {
                ctx.out.transmit_bytes(self.peer, c.last.clone());
                let interval = (c.interval * 2).min(ctx.timers.t2);
                ctx.table.set(Timer::G, ctx.now, interval);
                State::Completed(Completed { interval, ..c })
            }
            (State::Completed(_), Timer::H) => {
                ctx.out.event(TxEvent::Timeout { key: self.key.clone() });
                State::Terminated
            }
            (State::Confirmed, Timer::I) | (State::Accepted, Timer::L) => State::Terminated,
            (other, _) => other,
        };
    }

    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Terminated)
    }
}
