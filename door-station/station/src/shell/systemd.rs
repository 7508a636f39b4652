//! The systemd notification protocol (`Type=notify`, `WatchdogSec=`), with
//! the pure-Rust `sd-notify` crate: `READY=1` once every socket is bound,
//! `WATCHDOG=1` from the run loop, `STOPPING=1` when the shutdown starts.
//!
//! Without `NOTIFY_SOCKET` every call does nothing; without `WATCHDOG_USEC`
//! (or with a `WATCHDOG_PID` that is not ours) there is no watchdog deadline.
//! systemd sets both; a `WATCHDOG_USEC` alone (as in the tests) counts too.
//! The pings are sent at half the watchdog interval, and only by
//! [`Notifier::tick`], which the run loop calls when it wakes: a loop that
//! hangs stops pinging, and systemd restarts the daemon.

use sd_notify::NotifyState;
use std::time::{Duration, Instant};

/// Tells systemd how the daemon is doing.
#[derive(Debug)]
pub struct Notifier {
    /// Half of `WATCHDOG_USEC`, when the watchdog is on.
    interval: Option<Duration>,
    /// When the next `WATCHDOG=1` is due.
    due: Option<Instant>,
}

impl Notifier {
    /// From the environment systemd gives the service (`WATCHDOG_USEC`, `WATCHDOG_PID`).
    pub fn from_env(now: Instant) -> Notifier {
        let var = |name| std::env::var(name).ok();
        let interval =
            ping_interval(var("WATCHDOG_USEC").as_deref(), var("WATCHDOG_PID").as_deref(), std::process::id());
        Notifier::with_interval(now, interval)
    }

    /// A notifier that pings every `interval` (`None`: never), the first time at `now`.
    pub fn with_interval(now: Instant, interval: Option<Duration>) -> Notifier {
        Notifier { interval, due: interval.map(|_| now) }
    }

    /// `READY=1`: the sockets are bound and the daemon serves.
    pub fn ready(&self) {
        send(NotifyState::Ready);
    }

    /// `STOPPING=1`: the daemon is shutting down.
    pub fn stopping(&self) {
        send(NotifyState::Stopping);
    }

    /// When [`Notifier::tick`] must run next.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.due
    }

    /// Sends `WATCHDOG=1` if it is due; returns whether it did.
    pub fn tick(&mut self, now: Instant) -> bool {
        match (self.due, self.interval) {
            (Some(due), Some(interval)) if due <= now => {
                send(NotifyState::Watchdog);
                self.due = Some(now + interval);
                true
            }
            _ => false,
        }
    }
}

/// Half the watchdog interval, as `sd_watchdog_enabled(3)` reads it: on when
/// `WATCHDOG_USEC` is a positive number and `WATCHDOG_PID`, if set, is `own_pid`.
/// (`sd_notify::watchdog_enabled` of sd-notify 0.4 also requires `WATCHDOG_PID`.)
pub fn ping_interval(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    let usec = usec?.trim().parse::<u64>().ok().filter(|&u| u > 0)?;
    let ours = pid.is_none_or(|p| p.trim().parse::<u32>().is_ok_and(|p| p == own_pid));
    ours.then(|| Duration::from_micros(usec) / 2)
}

fn send(state: NotifyState<'_>) {
    if let Err(e) = sd_notify::notify(false, &[state]) {
        tracing::warn!(error = %e, "systemd notification not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_at_once_then_every_interval() {
        let t0 = Instant::now();
        let mut n = Notifier::with_interval(t0, Some(Duration::from_millis(100)));
        assert_eq!(n.next_timeout(), Some(t0));
        assert!(n.tick(t0));
        assert_eq!(n.next_timeout(), Some(t0 + Duration::from_millis(100)));
        assert!(!n.tick(t0 + Duration::from_millis(99)), "not due yet");
        assert!(n.tick(t0 + Duration::from_millis(130)));
        assert_eq!(n.next_timeout(), Some(t0 + Duration::from_millis(230)), "counted from the late ping");
    }

    #[test]
    fn the_interval_is_half_watchdog_usec_for_this_process_only() {
        let half = Some(Duration::from_millis(100));
        assert_eq!(ping_interval(Some("200000"), None, 7), half);
        assert_eq!(ping_interval(Some("200000"), Some("7"), 7), half);
        assert_eq!(ping_interval(Some("200000"), Some("8"), 7), None, "another process's watchdog");
        assert_eq!(ping_interval(Some("200000"), Some("x"), 7), None);
        assert_eq!(ping_interval(Some("0"), None, 7), None);
        assert_eq!(ping_interval(Some("-5"), None, 7), None);
        assert_eq!(ping_interval(None, Some("7"), 7), None);
    }

    #[test]
    fn without_a_watchdog_never_pings_nor_wakes() {
        let t0 = Instant::now();
        let mut n = Notifier::with_interval(t0, None);
        assert_eq!(n.next_timeout(), None);
        assert!(!n.tick(t0 + Duration::from_secs(60)));
    }
}
