//! The simulated buttons: pressed from code (the control socket, tests, the demo).

use std::sync::Arc;

use super::{Button, ButtonEvent, ButtonSink};
use crate::{Clock, HwError, SystemClock};

/// A cloneable handle on `count` simulated buttons, numbered 1 to `count`.
/// Presses are clean (no bounce) and delivered at once to the sink.
#[derive(Clone)]
pub struct SimButton {
    count: usize,
    sink: ButtonSink,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SimButton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimButton").field("count", &self.count).finish()
    }
}

impl SimButton {
    /// `count` buttons delivering to `sink`, timed by the system clock.
    pub fn new(count: usize, sink: ButtonSink) -> Self {
        SimButton { count, sink, clock: Arc::new(SystemClock) }
    }

    /// Reads press times from `clock` instead.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Presses button `index` (from 1).
    pub fn press(&self, index: usize) -> Result<(), HwError> {
        if !self.covers(index) {
            return Err(HwError::NoSuchButton { index });
        }
        self.sink.send(ButtonEvent { index, at: self.clock.now() })
    }
}

impl Button for SimButton {
    fn covers(&self, index: usize) -> bool {
        (1..=self.count).contains(&index)
    }

    fn press(&self, index: usize) -> Result<(), HwError> {
        SimButton::press(self, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use std::time::{Duration, Instant};

    #[test]
    fn press_delivers_numbered_timestamped_events() {
        let t0 = Instant::now();
        let clock = ManualClock::new(t0);
        let (sink, rx) = ButtonSink::channel();
        let buttons = SimButton::new(2, sink).with_clock(Arc::new(clock.clone()));
        let from_elsewhere = buttons.clone();
        buttons.press(1).unwrap();
        clock.advance(Duration::from_millis(5));
        from_elsewhere.press(2).unwrap();
        let got: Vec<ButtonEvent> = rx.try_iter().collect();
        assert_eq!(
            got,
            [ButtonEvent { index: 1, at: t0 }, ButtonEvent { index: 2, at: t0 + Duration::from_millis(5) },]
        );
    }

    #[test]
    fn unknown_buttons_and_a_closed_sink_are_errors() {
        let (sink, rx) = ButtonSink::channel();
        let buttons = SimButton::new(1, sink);
        assert!(matches!(buttons.press(0), Err(HwError::NoSuchButton { index: 0 })));
        assert!(matches!(buttons.press(2), Err(HwError::NoSuchButton { index: 2 })));
        drop(rx);
        assert!(matches!(buttons.press(1), Err(HwError::SinkClosed)));
    }
}
