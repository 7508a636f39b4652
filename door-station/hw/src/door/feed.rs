//! The thread loop around a [`DoorMonitor`], and the simulated inputs.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Instant;

use super::monitor::{DoorInput, DoorMonitor, DoorOutput};
use crate::{Clock, HwError, SystemClock};

/// What reaches the monitor's thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorFeed {
    /// A raw (not debounced) logical level of an input, stamped when read.
    Level {
        /// When the level was read.
        at: Instant,
        /// Which input.
        input: DoorInput,
        /// `true` = door open / exit pressed / tampered.
        level: bool,
    },
    /// The station opened the strike until `until` (see [`DoorMonitor::granted`]).
    Granted {
        /// End of the relay pulse.
        until: Instant,
    },
}

/// Runs `monitor` on `feed` until the feed's senders are gone or `deliver`
/// returns `false`. Sleeps only until the monitor's next deadline.
pub fn run_door_monitor(
    feed: Receiver<DoorFeed>,
    mut monitor: DoorMonitor,
    clock: &dyn Clock,
    mut deliver: impl FnMut(DoorOutput) -> bool,
) {
    loop {
        let next = match monitor.next_timeout() {
            None => feed.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => feed.recv_timeout(at.saturating_duration_since(clock.now())),
        };
        match next {
            Ok(DoorFeed::Level { at, input, level }) => monitor.handle_level(at, input, level),
            Ok(DoorFeed::Granted { until }) => monitor.granted(until),
            Err(RecvTimeoutError::Timeout) => monitor.handle_timeout(clock.now()),
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Some(output) = monitor.poll_output() {
            if !deliver(output) {
                return;
            }
        }
    }
}

/// Door inputs set from code (the control socket, tests, the demo).
#[derive(Clone)]
pub struct SimDoorInputs {
    feed: Sender<DoorFeed>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SimDoorInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimDoorInputs")
    }
}

impl SimDoorInputs {
    /// Inputs feeding `feed`, timed by the system clock.
    pub fn new(feed: Sender<DoorFeed>) -> Self {
        SimDoorInputs { feed, clock: Arc::new(SystemClock) }
    }

    /// Reads times from `clock` instead.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The input now reads `level` (clean, no bounce).
    pub fn set(&self, input: DoorInput, level: bool) -> Result<(), HwError> {
        self.feed.send(DoorFeed::Level { at: self.clock.now(), input, level }).map_err(|_| HwError::SinkClosed)
    }
}
