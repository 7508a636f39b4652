//! non-INVITE server transaction (RFC 3261 §17.2.2).
//!
//! ```text
//! Trying --1xx--> Proceeding --200-699--> Completed --J--> Terminated
//! ```
//! A retransmitted request is dropped in Trying and answered with the last
//! response in Proceeding and Completed.

use super::Peer;
use super::invite_server::Refusal;
use super::outbox::Ctx;
use super::timer::Timer;
use crate::message::Response;

enum State {
    Trying,
    Proceeding { last: Vec<u8> },
    Completed { last: Vec<u8> },
    Terminated,
}

pub(crate) struct NonInviteServer {
    peer: Peer,
    state: State,
}

impl NonInviteServer {
    pub fn new(peer: Peer) -> NonInviteServer {
        NonInviteServer { peer, state: State::Trying }
    }

    pub fn on_retransmission(&mut self, ctx: &mut Ctx<'_>) {
        if let State::Proceeding { last } | State::Completed { last } = &self.state {
            ctx.out.transmit_bytes(self.peer, last.clone());
        }
    }

    pub fn send_response(&mut self, ctx: &mut Ctx<'_>, resp: Response) -> Result<(), Refusal> {
        if matches!(self.state, State::Completed { .. } | State::Terminated) {
            return Err("a final response was already sent");
        }
        let last = resp.to_bytes();
        ctx.out.transmit_bytes(self.peer, last.clone());
        self.state = if resp.status < 200 {
            State::Proceeding { last }
        } else {
            let j = ctx.timers.timer_j(self.peer.transport);
            if j.is_zero() {
                State::Terminated
            } else {
                ctx.table.set(Timer::J, ctx.now, j);
                State::Completed { last }
            }
        };
        Ok(())
    }

    pub fn on_timer(&mut self, timer: Timer) {
        if let (State::Completed { .. }, Timer::J) = (&self.state, timer) {
            self.state = State::Terminated;
        }
    }

    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Terminated)
    }
}
