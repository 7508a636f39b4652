//! `RelayPulse`: the sans-IO sequencer that turns "open the door for 3 s" into
//! relay actions and wake-up times.
//!
//! ```text
//!          trigger                 until                  until
//!   Idle ───────────▶ Pulsing ─────────────▶ Cooldown ─────────────▶ Idle
//!        Energize      │   ▲     Release        │
//!                      └───┘ trigger: extend    └─ trigger: Busy
//! ```
//!
//! A trigger while pulsing extends the pulse to `now + duration` (never shortens
//! it), capped at [`PulseConfig::max_on`] after the pulse started: a resident who
//! presses the key again while the strike buzzes keeps the door open, and the
//! coil is never held on without bound. A trigger during the cooldown is refused
//! with [`PulseError::Busy`], which protects strikes rated for a duty cycle.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What the shell must do to the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayAction {
    /// Energize the relay (door open).
    Energize,
    /// Release the relay (door locked).
    Release,
}

/// Why a trigger was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PulseError {
    /// The relay is cooling down after a pulse and can be triggered again at `until`.
    #[error("relay is cooling down until {until:?}")]
    Busy {
        /// When the cooldown ends.
        until: Instant,
    },
    /// A pulse of zero length was asked for.
    #[error("a relay pulse must last longer than zero")]
    ZeroDuration,
}

/// Timing limits of the pulse sequencer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PulseConfig {
    /// Pause after each pulse before the next may start.
    pub cooldown: Duration,
    /// Longest the relay stays energized in one go, extensions included.
    pub max_on: Duration,
}

impl Default for PulseConfig {
    /// 1 s cooldown, at most 30 s energized: well inside the duty cycle of
    /// common 12 V door strikes.
    fn default() -> Self {
        PulseConfig { cooldown: Duration::from_secs(1), max_on: Duration::from_secs(30) }
    }
}

/// The relay is released and may be triggered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Idle;

/// The relay is energized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pulsing {
    /// When this pulse started (the cap on extensions counts from here).
    pub since: Instant,
    /// When the relay is released.
    pub until: Instant,
}

/// The relay is released and may not be triggered yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cooldown {
    /// When a trigger is accepted again.
    pub until: Instant,
}

impl Idle {
    fn trigger(self, now: Instant, duration: Duration, max_on: Duration) -> Pulsing {
        Pulsing { since: now, until: now + duration.min(max_on) }
    }
}

impl Pulsing {
    fn extend(self, now: Instant, duration: Duration, max_on: Duration) -> Pulsing {
        let until = (now + duration).min(self.since + max_on).max(self.until);
        Pulsing { until, ..self }
    }

    fn expire(self, cooldown: Duration) -> Cooldown {
        Cooldown { until: self.until + cooldown }
    }
}

impl Cooldown {
    fn expire(self) -> Idle {
        Idle
    }
}

/// The sequencer's state, as the caller sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PulseState {
    /// Released, ready.
    Idle(Idle),
    /// Energized.
    Pulsing(Pulsing),
    /// Released, refusing triggers.
    Cooldown(Cooldown),
}

/// Sans-IO relay pulse sequencer. Drive it like every core here: feed
/// [`trigger`](Self::trigger) and [`handle_timeout`](Self::handle_timeout),
/// then drain [`poll_output`](Self::poll_output) into the relay, and wake at
/// [`next_timeout`](Self::next_timeout).
#[derive(Debug)]
pub struct RelayPulse {
    config: PulseConfig,
    state: PulseState,
    actions: VecDeque<RelayAction>,
}

impl RelayPulse {
    /// An idle sequencer.
    pub fn new(config: PulseConfig) -> Self {
        RelayPulse { config, state: PulseState::Idle(Idle), actions: VecDeque::new() }
    }

    /// Starts (or extends) a pulse of `duration`; returns when the relay will be
    /// released. Refused during the cooldown.
    pub fn trigger(&mut self, now: Instant, duration: Duration) -> Result<Instant, PulseError> {
        if duration.is_zero() {
            return Err(PulseError::ZeroDuration);
        }
        self.handle_timeout(now);
        let max_on = self.config.max_on;
        let pulsing = match self.state {
            PulseState::Idle(idle) => {
                self.actions.push_back(RelayAction::Energize);
                idle.trigger(now, duration, max_on)
            }
            PulseState::Pulsing(p) => p.extend(now, duration, max_on),
            PulseState::Cooldown(Cooldown { until }) => return Err(PulseError::Busy { until }),
        };
        self.state = PulseState::Pulsing(pulsing);
        Ok(pulsing.until)
    }

    /// Advances through every deadline that `now` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        loop {
            self.state = match self.state {
                PulseState::Pulsing(p) if now >= p.until => {
                    self.actions.push_back(RelayAction::Release);
                    PulseState::Cooldown(p.expire(self.config.cooldown))
                }
                PulseState::Cooldown(c) if now >= c.until => PulseState::Idle(c.expire()),
                _ => return,
            };
        }
    }

    /// Ends a pulse at once (an operator's "lock now", shutdown). The cooldown
    /// still follows.
    pub fn release_now(&mut self, now: Instant) {
        if let PulseState::Pulsing(p) = self.state {
            self.state = PulseState::Pulsing(Pulsing { until: now.min(p.until), ..p });
            self.handle_timeout(now);
        }
    }

    /// The next action for the relay, oldest first.
    pub fn poll_output(&mut self) -> Option<RelayAction> {
        self.actions.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn next_timeout(&self) -> Option<Instant> {
        match self.state {
            PulseState::Idle(_) => None,
            PulseState::Pulsing(Pulsing { until, .. }) | PulseState::Cooldown(Cooldown { until }) => Some(until),
        }
    }

    /// The current state.
    pub fn state(&self) -> PulseState {
        self.state
    }

    /// Whether the relay should be energized now.
    pub fn is_energized(&self) -> bool {
        matches!(self.state, PulseState::Pulsing(_))
    }
}

#[cfg(test)]
#[path = "pulse_tests.rs"]
mod tests;
