//! The sans-IO frame scheduler: frames in, line edges on absolute deadlines out.
//!
//! ```text
//!  bit i of a frame started at s:   low at s + i·interval,  released at s + i·interval + pulse
//!  next frame:                      not before the last release + frame_gap
//! ```
//!
//! Deadlines are computed from the frame's start, never from the previous edge,
//! so a late edge does not push the rest of the frame late. A pulse due so late
//! that it would come out shorter than 20 µs is not started, and the shell
//! reports a pulse that came out too long with [`FrameScheduler::frame_overran`]:
//! either way the frame is aborted (both lines released), and sent again once
//! after a gap.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::format::Bits;

/// One of the two Wiegand data lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WiegandLine {
    /// D0: pulsed for a 0 bit.
    D0,
    /// D1: pulsed for a 1 bit.
    D1,
}

/// A line change the shell must make at `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineEdge {
    /// The deadline of the change.
    pub at: Instant,
    /// Which line.
    pub line: WiegandLine,
    /// `true`: pull the line low (start of a pulse); `false`: release it.
    pub low: bool,
}

/// Pulse width, bit period and frame gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WiegandTiming {
    /// How long a line is held low for one bit (`wiegand.pulse_us`).
    pub pulse: Duration,
    /// From the start of one pulse to the start of the next (`wiegand.interval_us`).
    pub interval: Duration,
    /// Idle time between frames, so the receiver sees the end of a frame
    /// (`wiegand.frame_gap_ms`).
    pub frame_gap: Duration,
}

impl WiegandTiming {
    /// Readers accept pulses of 20–100 µs (SIA 26-bit Wiegand reader interface,
    /// as quoted by the Promag WEC200 and TDSi DIGIgarde manuals).
    pub const PULSE_RANGE: (Duration, Duration) = (Duration::from_micros(20), Duration::from_micros(100));
    /// …and pulse intervals of 0.2–20 ms (same sources).
    pub const INTERVAL_RANGE: (Duration, Duration) = (Duration::from_micros(200), Duration::from_millis(20));
    /// The shortest idle time between frames this crate allows.
    pub const MIN_FRAME_GAP: Duration = Duration::from_millis(50);

    /// Checks every value against the ranges readers accept.
    pub fn validate(&self) -> Result<(), TimingError> {
        let check = |what, got, (min, max): (Duration, Duration)| {
            if got < min || got > max { Err(TimingError::OutOfRange { what, got, min, max }) } else { Ok(()) }
        };
        check("pulse width", self.pulse, Self::PULSE_RANGE)?;
        check("pulse interval", self.interval, Self::INTERVAL_RANGE)?;
        check("frame gap", self.frame_gap, (Self::MIN_FRAME_GAP, Duration::from_secs(10)))?;
        if self.interval <= self.pulse {
            return Err(TimingError::IntervalNotLonger { pulse: self.pulse, interval: self.interval });
        }
        Ok(())
    }
}

impl Default for WiegandTiming {
    /// 50 µs pulses every 2 ms, 50 ms between frames: the common reader practice
    /// (RF Solutions MFPROT: "low going 50 µS pulses … separated by 2 mS"), and a
    /// 2 ms period sits inside narrow receiver windows such as 1.2–2.7 ms.
    fn default() -> Self {
        WiegandTiming {
            pulse: Duration::from_micros(50),
            interval: Duration::from_millis(2),
            frame_gap: Duration::from_millis(50),
        }
    }
}

/// A timing value outside what readers accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimingError {
    /// A value outside its range.
    #[error("Wiegand {what} {got:?} is outside {min:?}..={max:?}")]
    OutOfRange {
        /// Which value.
        what: &'static str,
        /// The value given.
        got: Duration,
        /// Smallest allowed.
        min: Duration,
        /// Largest allowed.
        max: Duration,
    },
    /// The pulse would not end before the next one starts.
    #[error("Wiegand pulse interval {interval:?} must be longer than the pulse width {pulse:?}")]
    IntervalNotLonger {
        /// The pulse width.
        pulse: Duration,
        /// The interval.
        interval: Duration,
    },
}

/// What the scheduler tells the shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WiegandOutput {
    /// Change a line (at the edge's deadline; the shell is woken for it).
    Edge(LineEdge),
    /// A frame went out completely.
    FrameSent(Bits),
    /// An attempt was aborted (a pulse too late or too long); the frame is
    /// sent again after the gap unless it was already a resend.
    FrameAborted(Bits),
    /// A frame overran twice and was given up.
    FrameFailed(Bits),
}

#[derive(Debug)]
struct Frame {
    bits: Bits,
    edges: VecDeque<LineEdge>,
    resends_left: u8,
}

/// Turns queued frames into line edges on absolute deadlines.
#[derive(Debug)]
pub struct FrameScheduler {
    timing: WiegandTiming,
    queue: VecDeque<(Bits, u8)>,
    current: Option<Frame>,
    /// The earliest start of the next frame (end of the last one + gap).
    idle_from: Option<Instant>,
    out: VecDeque<WiegandOutput>,
}

/// Every edge of `bits` sent from `start`, in time order.
pub fn frame_edges(timing: &WiegandTiming, bits: &Bits, start: Instant) -> Vec<LineEdge> {
    let mut at = start;
    let mut edges = Vec::with_capacity(bits.len() * 2);
    for &bit in bits.as_slice() {
        let line = if bit { WiegandLine::D1 } else { WiegandLine::D0 };
        edges.push(LineEdge { at, line, low: true });
        edges.push(LineEdge { at: at + timing.pulse, line, low: false });
        at += timing.interval;
    }
    edges
}

impl FrameScheduler {
    /// A scheduler with checked timing.
    pub fn new(timing: WiegandTiming) -> Result<Self, TimingError> {
        timing.validate()?;
        Ok(FrameScheduler { timing, queue: VecDeque::new(), current: None, idle_from: None, out: VecDeque::new() })
    }

    /// The timing in use.
    pub fn timing(&self) -> WiegandTiming {
        self.timing
    }

    /// Queues a frame; it starts at `now` if the lines are idle and the gap
    /// after the previous frame has passed, else as soon as they have.
    pub fn send(&mut self, now: Instant, bits: Bits) {
        self.queue.push_back((bits, 1));
        self.start_next(now);
    }

    /// Whether nothing is being sent or waiting.
    pub fn is_idle(&self) -> bool {
        self.current.is_none() && self.queue.is_empty()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn next_timeout(&self) -> Option<Instant> {
        match &self.current {
            Some(frame) => frame.edges.front().map(|e| e.at),
            None if !self.queue.is_empty() => self.idle_from,
            None => None,
        }
    }

    /// Releases every edge whose deadline has come, and starts the next frame.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.start_next(now);
        let Some(frame) = &mut self.current else {
            return;
        };
        // A pulse started this late would end shorter than readers accept.
        let max_late = self.timing.pulse.saturating_sub(WiegandTiming::PULSE_RANGE.0);
        while let Some(&edge) = frame.edges.front().filter(|e| e.at <= now) {
            if edge.low && now > edge.at + max_late {
                return self.frame_overran(now);
            }
            frame.edges.pop_front();
            self.out.push_back(WiegandOutput::Edge(edge));
        }
        if frame.edges.is_empty() {
            let done = self.current.take().expect("current checked");
            // `now` is at or after the last release's deadline.
            self.idle_from = Some(now + self.timing.frame_gap);
            self.out.push_back(WiegandOutput::FrameSent(done.bits));
        }
    }

    /// The shell measured a pulse longer than readers accept (or otherwise
    /// lost the frame) at `now`: releases both lines now, and sends the frame
    /// again after the gap, once; a second overrun gives it up.
    pub fn frame_overran(&mut self, now: Instant) {
        let Some(frame) = self.current.take() else {
            return;
        };
        for line in [WiegandLine::D0, WiegandLine::D1] {
            self.out.push_back(WiegandOutput::Edge(LineEdge { at: now, line, low: false }));
        }
        self.idle_from = Some(now + self.timing.frame_gap);
        self.out.push_back(WiegandOutput::FrameAborted(frame.bits.clone()));
        match frame.resends_left.checked_sub(1) {
            Some(left) => self.queue.push_front((frame.bits, left)),
            None => self.out.push_back(WiegandOutput::FrameFailed(frame.bits)),
        }
    }

    /// The next thing for the shell to do.
    pub fn poll_output(&mut self) -> Option<WiegandOutput> {
        self.out.pop_front()
    }

    fn start_next(&mut self, now: Instant) {
        if self.current.is_some() || self.idle_from.is_some_and(|t| now < t) {
            return;
        }
        let Some((bits, resends_left)) = self.queue.pop_front() else {
            return;
        };
        let edges = frame_edges(&self.timing, &bits, now).into();
        self.current = Some(Frame { bits, edges, resends_left });
    }
}
