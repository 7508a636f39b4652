//! The sans-IO debouncer: raw levels in, clean presses and releases out.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A settled change of the button's line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebounceEvent {
    /// The line became pressed at `at` and stayed so for the debounce time.
    Pressed {
        /// The edge after which the line stayed pressed.
        at: Instant,
    },
    /// The line became released at `at` and stayed so for the debounce time.
    Released {
        /// The edge after which the line stayed released.
        at: Instant,
    },
}

/// Reports a level once the line has kept it for `debounce`.
///
/// Feed it edges or periodic samples with [`handle_level`](Self::handle_level)
/// (the level is logical: `true` = pressed, whatever the wiring), call
/// [`handle_timeout`](Self::handle_timeout) at [`next_timeout`](Self::next_timeout),
/// and drain [`poll_output`](Self::poll_output). A change shorter than the
/// debounce time is a bounce and produces nothing. A level reported late (after
/// its deadline passed without a timeout call) is still settled at the next input.
#[derive(Debug)]
pub struct Debouncer {
    debounce: Duration,
    stable: bool,
    raw: bool,
    /// When `raw` started to differ from `stable`.
    pending_since: Option<Instant>,
    events: VecDeque<DebounceEvent>,
}

impl Debouncer {
    /// A debouncer whose line currently reads `pressed` (reported as no event).
    pub fn new(debounce: Duration, pressed: bool) -> Self {
        Debouncer { debounce, stable: pressed, raw: pressed, pending_since: None, events: VecDeque::new() }
    }

    /// The line reads `pressed` at `now` (an edge, or a sample at the same level).
    pub fn handle_level(&mut self, now: Instant, pressed: bool) {
        self.settle(now);
        if pressed != self.raw {
            self.raw = pressed;
            self.pending_since = (pressed != self.stable).then_some(now);
        }
        self.settle(now);
    }

    /// Settles a level that has been stable long enough.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.settle(now);
    }

    fn settle(&mut self, now: Instant) {
        let Some(since) = self.pending_since else {
            return;
        };
        if now < since + self.debounce {
            return;
        }
        self.stable = self.raw;
        self.pending_since = None;
        self.events.push_back(if self.stable {
            DebounceEvent::Pressed { at: since }
        } else {
            DebounceEvent::Released { at: since }
        });
    }

    /// The next settled change.
    pub fn poll_output(&mut self) -> Option<DebounceEvent> {
        self.events.pop_front()
    }

    /// When a pending level will have been stable long enough.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.pending_since.map(|since| since + self.debounce)
    }

    /// The settled level.
    pub fn is_pressed(&self) -> bool {
        self.stable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn drain(d: &mut Debouncer) -> Vec<DebounceEvent> {
        std::iter::from_fn(|| d.poll_output()).collect()
    }

    /// Contact bounce on press and on release: `(ms, pressed)` edges.
    const BOUNCY_PRESS: [(u64, bool); 9] = [
        (100, true),
        (101, false),
        (103, true),
        (104, false),
        (107, true), // press
        (300, false),
        (302, true),
        (303, false),
        (306, true), // a bounce mid-hold
    ];

    #[test]
    fn bouncy_edges_give_one_press_and_one_release() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(30), false);
        for (at, level) in BOUNCY_PRESS {
            d.handle_level(t0 + ms(at), level);
            d.handle_timeout(t0 + ms(at));
        }
        assert_eq!(d.next_timeout(), None, "the mid-hold bounce settled back to pressed");
        assert_eq!(drain(&mut d), [DebounceEvent::Pressed { at: t0 + ms(107) }]);
        for at in [500, 502, 505] {
            d.handle_level(t0 + ms(at), at != 502);
        }
        d.handle_level(t0 + ms(505), false);
        d.handle_timeout(t0 + ms(534));
        assert!(drain(&mut d).is_empty(), "29 ms is not stable yet");
        d.handle_timeout(t0 + ms(535));
        assert_eq!(drain(&mut d), [DebounceEvent::Released { at: t0 + ms(505) }]);
        assert!(!d.is_pressed());
        assert_eq!(d.next_timeout(), None);
    }

    #[test]
    fn a_glitch_shorter_than_the_debounce_is_ignored() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(30), false);
        d.handle_level(t0, true);
        d.handle_level(t0 + ms(29), false);
        assert_eq!(d.next_timeout(), None);
        d.handle_timeout(t0 + ms(1000));
        assert!(drain(&mut d).is_empty());
    }

    #[test]
    fn samples_at_the_same_level_do_not_restart_the_wait() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(30), false);
        for at in (0..=40).step_by(10) {
            d.handle_level(t0 + ms(at), true);
        }
        assert_eq!(drain(&mut d), [DebounceEvent::Pressed { at: t0 }]);
    }

    #[test]
    fn a_missed_timeout_is_settled_by_the_next_edge() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(30), false);
        d.handle_level(t0, true);
        d.handle_level(t0 + ms(200), false);
        d.handle_timeout(t0 + ms(230));
        assert_eq!(drain(&mut d), [DebounceEvent::Pressed { at: t0 }, DebounceEvent::Released { at: t0 + ms(200) }]);
    }

    #[test]
    fn starting_pressed_reports_nothing_until_a_change() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(30), true);
        d.handle_level(t0, true);
        d.handle_timeout(t0 + ms(100));
        assert!(drain(&mut d).is_empty());
        assert!(d.is_pressed());
    }
}
