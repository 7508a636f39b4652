//! The [`WiegandLines`] trait and the simulated lines that record edges.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::format::Bits;
use super::schedule::WiegandLine;
use crate::{Clock, HwError, SystemClock};

/// The two open-collector outputs D0 and D1.
pub trait WiegandLines: Send {
    /// Pulls `line` low (`low = true`) or releases it to the panel's pull-up.
    fn drive(&mut self, line: WiegandLine, low: bool) -> Result<(), HwError>;
}

/// One recorded change of a simulated line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordedEdge {
    /// When the line changed, on the simulated lines' clock.
    pub at: Instant,
    /// Which line.
    pub line: WiegandLine,
    /// The new level: `true` pulled low.
    pub low: bool,
}

/// One pulse rebuilt from the edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pulse {
    /// When the line went low.
    pub start: Instant,
    /// How long it stayed low.
    pub width: Duration,
    /// Which line: D1 is a 1 bit.
    pub line: WiegandLine,
}

/// A shared view of the edges recorded by [`SimWiegandLines`].
#[derive(Clone, Debug, Default)]
pub struct WiegandLog {
    edges: Arc<Mutex<Vec<RecordedEdge>>>,
}

impl WiegandLog {
    fn lock(&self) -> MutexGuard<'_, Vec<RecordedEdge>> {
        self.edges.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every edge so far, oldest first.
    pub fn edges(&self) -> Vec<RecordedEdge> {
        self.lock().clone()
    }

    /// The complete pulses (low then release on the same line), in order.
    /// Both lines low at once, or a release without a pulse, are skipped.
    pub fn pulses(&self) -> Vec<Pulse> {
        let mut open: [Option<Instant>; 2] = [None, None];
        let mut pulses = Vec::new();
        for edge in self.lock().iter() {
            let slot = &mut open[usize::from(edge.line == WiegandLine::D1)];
            match (edge.low, slot.take()) {
                (true, _) => *slot = Some(edge.at),
                (false, Some(start)) => {
                    pulses.push(Pulse { start, width: edge.at.saturating_duration_since(start), line: edge.line })
                }
                (false, None) => {}
            }
        }
        pulses
    }

    /// The pulses grouped into frames: a silence longer than `gap` between two
    /// pulse starts ends a frame (a receiver does the same).
    pub fn frames(&self, gap: Duration) -> Vec<Vec<Pulse>> {
        let mut frames: Vec<Vec<Pulse>> = Vec::new();
        for pulse in self.pulses() {
            match frames.last_mut() {
                Some(frame) if frame.last().is_some_and(|p| pulse.start.saturating_duration_since(p.start) <= gap) => {
                    frame.push(pulse)
                }
                _ => frames.push(vec![pulse]),
            }
        }
        frames
    }

    /// The bits a receiver reads from `frame`.
    pub fn bits_of(frame: &[Pulse]) -> Bits {
        Bits::from_bools(frame.iter().map(|p| p.line == WiegandLine::D1).collect())
    }

    fn push(&self, edge: RecordedEdge) {
        self.lock().push(edge);
    }
}

/// Lines that record timestamped edges instead of driving GPIO.
pub struct SimWiegandLines {
    log: WiegandLog,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SimWiegandLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimWiegandLines").field("edges", &self.log.lock().len()).finish()
    }
}

impl Default for SimWiegandLines {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl SimWiegandLines {
    /// Lines timed by `clock` (a [`ManualClock`](crate::ManualClock) in tests,
    /// the system clock to measure a real sending thread).
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        SimWiegandLines { log: WiegandLog::default(), clock }
    }

    /// A handle on the recorded edges.
    pub fn log(&self) -> WiegandLog {
        self.log.clone()
    }
}

impl WiegandLines for SimWiegandLines {
    fn drive(&mut self, line: WiegandLine, low: bool) -> Result<(), HwError> {
        self.log.push(RecordedEdge { at: self.clock.now(), line, low });
        Ok(())
    }
}
