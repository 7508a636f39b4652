//! The UAS core's 2xx retransmission (RFC 3261 §13.3.1.4), as a timer.
//!
//! Since RFC 6026 the INVITE server transaction only forwards 2xx
//! responses; the TU re-sends its 2xx until the ACK comes. This is that
//! schedule, sans-IO: T1, doubling up to T2, for 64·T1.

use super::Timers;
use crate::message::Response;
use std::time::{Duration, Instant};

/// A 2xx waiting for its ACK.
///
/// ```text
/// let mut pending = AnswerRetransmission::new(now, &timers, ok.clone());
/// layer.send_response(now, &key, ok);
/// // on wake-up at pending.next_timeout():
/// match pending.poll(now) { Some(resp) => layer.send_response(now, &key, resp.clone()), None => .. }
/// // on the ACK (dialog.matches(ack)): drop `pending`.
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerRetransmission {
    response: Response,
    next: Instant,
    interval: Duration,
    give_up: Instant,
    t2: Duration,
}

/// What [`AnswerRetransmission::poll`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerPoll<'a> {
    /// Not yet time.
    Wait,
    /// Send this copy now.
    Resend(&'a Response),
    /// 64·T1 passed without an ACK: the TU ends the dialog with BYE (§13.3.1.4).
    GiveUp,
}

impl AnswerRetransmission {
    /// Start the schedule for a 2xx sent at `now`.
    pub fn new(now: Instant, timers: &Timers, response: Response) -> Self {
        AnswerRetransmission {
            response,
            next: now + timers.t1,
            interval: timers.t1,
            give_up: now + timers.t1x64(),
            t2: timers.t2,
        }
    }

    /// The response being retransmitted.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// When to call [`poll`](Self::poll) next.
    pub fn next_timeout(&self) -> Instant {
        self.next.min(self.give_up)
    }

    /// Advance the schedule to `now`.
    pub fn poll(&mut self, now: Instant) -> AnswerPoll<'_> {
        if now >= self.give_up {
            return AnswerPoll::GiveUp;
        }
        if now < self.next {
            return AnswerPoll::Wait;
        }
        self.interval = (self.interval * 2).min(self.t2);
        self.next = now + self.interval;
        AnswerPoll::Resend(&self.response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Method, Request};

    #[test]
    fn t1_doubling_to_t2_for_64_t1() {
        let t0 = Instant::now();
        let ok = Response::for_request(&Request::new(Method::Invite, "sip:x"), 200, "OK");
        let mut a = AnswerRetransmission::new(t0, &Timers::default(), ok);
        assert_eq!(a.poll(t0 + Duration::from_millis(499)), AnswerPoll::Wait);
        let mut resent = Vec::new();
        loop {
            let at = a.next_timeout();
            match a.poll(at) {
                AnswerPoll::Resend(_) => resent.push((at - t0).as_millis()),
                AnswerPoll::GiveUp => break assert_eq!((at - t0).as_millis(), 32_000),
                AnswerPoll::Wait => panic!("woken too early at {at:?}"),
            }
        }
        assert_eq!(&resent[..5], [500, 1500, 3500, 7500, 11500]);
    }
}
