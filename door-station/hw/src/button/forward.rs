//! The thread loop that runs a [`Debouncer`] on raw edges and forwards presses.

// Only the Raspberry Pi back-end runs this loop; its tests run everywhere.
#![cfg_attr(not(feature = "rpi"), allow(dead_code))]

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Instant;

use super::{ButtonEvent, ButtonSink, DebounceEvent, Debouncer};
use crate::Clock;

/// A raw reading of a line: when, and whether it reads pressed.
pub(crate) type RawLevel = (Instant, bool);

/// Feeds `levels` through `debouncer` and delivers each press of button
/// `index` to `sink`, until the sender of `levels` is dropped (the line was
/// closed) or the sink is closed. Sleeps only until the debouncer's deadline.
pub(crate) fn forward_presses(
    levels: Receiver<RawLevel>,
    mut debouncer: Debouncer,
    index: usize,
    sink: ButtonSink,
    clock: &dyn Clock,
) {
    loop {
        let next = match debouncer.next_timeout() {
            None => levels.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => levels.recv_timeout(at.saturating_duration_since(clock.now())),
        };
        match next {
            Ok((at, pressed)) => debouncer.handle_level(at, pressed),
            Err(RecvTimeoutError::Timeout) => debouncer.handle_timeout(clock.now()),
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Some(event) = debouncer.poll_output() {
            if let DebounceEvent::Pressed { at } = event
                && sink.send(ButtonEvent { index, at }).is_err()
            {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn bouncy_edges_become_one_press_event() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let (tx, rx) = mpsc::channel();
        for edge in [(ms(0), true), (ms(2), false), (ms(3), true), (ms(60), true)] {
            tx.send(edge).unwrap();
        }
        for edge in [(ms(500), false), (ms(501), true), (ms(502), false), (ms(600), false)] {
            tx.send(edge).unwrap();
        }
        drop(tx);
        let (sink, presses) = ButtonSink::channel();
        let clock = ManualClock::new(t0);
        forward_presses(rx, Debouncer::new(Duration::from_millis(30), false), 2, sink, &clock);
        let got: Vec<ButtonEvent> = presses.try_iter().collect();
        assert_eq!(got, [ButtonEvent { index: 2, at: ms(3) }]);
    }

    #[test]
    fn stops_when_the_sink_is_closed() {
        let t0 = Instant::now();
        let (tx, rx) = mpsc::channel();
        tx.send((t0, true)).unwrap();
        tx.send((t0 + Duration::from_millis(50), true)).unwrap();
        let (sink, presses) = ButtonSink::channel();
        drop(presses);
        // Returns although `tx` is still alive: the closed sink ends the loop.
        forward_presses(rx, Debouncer::new(Duration::from_millis(30), false), 1, sink, &ManualClock::new(t0));
        drop(tx);
    }
}
