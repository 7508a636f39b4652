//! The timers of one transaction, as data (RFC 3261 §17, RFC 6026 §8).

use std::time::{Duration, Instant};

/// The timers a transaction can run. Each transaction kind uses a few.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// INVITE client: retransmit the INVITE (UDP).
    A,
    /// INVITE client: give up waiting for any response.
    B,
    /// INVITE client: absorb retransmitted non-2xx finals.
    D,
    /// non-INVITE client: retransmit the request (UDP).
    E,
    /// non-INVITE client: give up.
    F,
    /// non-INVITE client: absorb retransmitted finals.
    K,
    /// INVITE server: retransmit the non-2xx final (UDP).
    G,
    /// INVITE server: give up waiting for the ACK.
    H,
    /// INVITE server: absorb retransmitted ACKs.
    I,
    /// non-INVITE server: absorb retransmitted requests.
    J,
    /// INVITE server, RFC 6026 Accepted: keep passing 2xx from the TU.
    L,
    /// INVITE client, RFC 6026 Accepted: keep passing forked 2xx up.
    M,
    /// INVITE server: send 100 Trying if the TU is silent (§17.2.1).
    Trying,
}

const ALL: [Timer; 13] = [
    Timer::A,
    Timer::B,
    Timer::D,
    Timer::E,
    Timer::F,
    Timer::K,
    Timer::G,
    Timer::H,
    Timer::I,
    Timer::J,
    Timer::L,
    Timer::M,
    Timer::Trying,
];

/// Deadlines indexed by [`Timer`]; `None` means not running.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable([Option<Instant>; ALL.len()]);

impl TimerTable {
    /// Start (or restart) a timer to fire `after` from `now`.
    pub fn set(&mut self, timer: Timer, now: Instant, after: Duration) {
        self.0[timer as usize] = Some(now + after);
    }

    /// Stop a timer.
    pub fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }

    /// Stop every timer.
    pub fn stop_all(&mut self) {
        self.0 = Default::default();
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    /// The earliest timer whose deadline is at or before `now`, stopped.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = ALL
            .into_iter()
            .filter(|t| self.0[*t as usize].is_some_and(|d| d <= now))
            .min_by_key(|t| self.0[*t as usize])?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_expired_first_and_stopped() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        t.set(Timer::B, t0, Duration::from_secs(32));
        t.set(Timer::A, t0, Duration::from_millis(500));
        assert_eq!(t.next(), Some(t0 + Duration::from_millis(500)));
        assert_eq!(t.pop_expired(t0), None);
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(40)), Some(Timer::A));
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(40)), Some(Timer::B));
        assert_eq!(t.next(), None);
    }
}
