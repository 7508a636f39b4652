//! systemd's notification protocol for `Type=notify` with `WatchdogSec=`:
//! [`ready`] once the sockets are bound, [`Watchdog::tick`] from the core's
//! loop (so a hung loop stops the pings and systemd restarts the proxy),
//! [`stopping`] at SIGTERM. Nothing is sent without `NOTIFY_SOCKET`.

use sd_notify::NotifyState;
use std::time::{Duration, Instant};

/// `READY=1`.
pub fn ready() {
    notify(NotifyState::Ready);
}

/// `STOPPING=1`.
pub fn stopping() {
    notify(NotifyState::Stopping);
}

fn notify(state: NotifyState<'_>) {
    if let Err(e) = sd_notify::notify(false, &[state]) {
        tracing::warn!("systemd notification not sent: {e}");
    }
}

/// `WATCHDOG=1` every half `WATCHDOG_USEC`; off when systemd set no watchdog.
pub struct Watchdog {
    every: Duration,
    due: Option<Instant>,
}

impl Watchdog {
    /// From `WATCHDOG_USEC` (a positive number) and `WATCHDOG_PID` (if set,
    /// ours), as `sd_watchdog_enabled(3)`; sd-notify 0.4's own check also
    /// insists on `WATCHDOG_PID`, which systemd sets but a test cannot know.
    pub fn from_env(now: Instant) -> Watchdog {
        let usec = std::env::var("WATCHDOG_USEC").ok().and_then(|u| u.parse::<u64>().ok()).unwrap_or(0);
        let pid = std::env::var("WATCHDOG_PID").ok();
        let ours = pid.is_none_or(|p| p.parse::<u32>().is_ok_and(|p| p == std::process::id()));
        Watchdog { every: Duration::from_micros(usec / 2), due: (ours && usec > 0).then_some(now) }
    }

    /// When the loop must wake for the next ping.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Ping if due.
    pub fn tick(&mut self, now: Instant) {
        if self.due.is_some_and(|due| due <= now) {
            notify(NotifyState::Watchdog);
            self.due = Some(now + self.every);
        }
    }
}
