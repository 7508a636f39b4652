//! The sending thread: runs a [`FrameScheduler`] on the real clock, busy-waits
//! each edge on its absolute deadline and checks its own timing.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::format::Bits;
use super::lines::WiegandLines;
use super::rt::{Realtime, make_current_thread_realtime};
use super::schedule::{FrameScheduler, LineEdge, WiegandOutput, WiegandTiming};
use crate::HwError;

/// Below this much time left, the thread spins instead of sleeping.
const SPIN_FOR: Duration = Duration::from_micros(250);

/// How one frame went, as the sending thread measured it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameReport {
    /// The frame.
    pub bits: Bits,
    /// `true` sent, `false` given up after a resend.
    pub sent: bool,
    /// How many times it was aborted for bad timing (0 or 1 when sent).
    pub overruns: u32,
    /// Measured width of each pulse of the last attempt.
    pub widths: Vec<Duration>,
    /// How late each pulse started against its deadline, last attempt.
    pub start_lateness: Vec<Duration>,
    /// The thread's scheduling class.
    pub realtime: Realtime,
}

/// The handle on a sending thread; dropping it stops the thread once its
/// queue is sent.
#[derive(Debug)]
pub struct WiegandSender {
    frames: Option<Sender<Bits>>,
    reports: Receiver<FrameReport>,
    thread: Option<JoinHandle<()>>,
}

impl WiegandSender {
    /// Starts a thread named `wiegand` that owns `lines`.
    pub fn spawn(lines: Box<dyn WiegandLines>, timing: WiegandTiming) -> Result<Self, HwError> {
        let scheduler = FrameScheduler::new(timing).map_err(|e| HwError::Wiegand { reason: e.to_string() })?;
        let (frames, queue) = mpsc::channel();
        let (report_tx, reports) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("wiegand".into())
            .spawn(move || SendLoop::new(scheduler, lines, report_tx).run(queue))
            .map_err(|e| HwError::Wiegand { reason: format!("cannot start the sending thread: {e}") })?;
        Ok(WiegandSender { frames: Some(frames), reports, thread: Some(thread) })
    }

    /// Queues a frame; it goes out after any frame before it and the gap.
    pub fn send(&self, bits: Bits) -> Result<(), HwError> {
        self.frames
            .as_ref()
            .and_then(|tx| tx.send(bits).ok())
            .ok_or(HwError::Wiegand { reason: "the sending thread has stopped".into() })
    }

    /// The next report, waiting at most `timeout`.
    pub fn report_timeout(&self, timeout: Duration) -> Option<FrameReport> {
        self.reports.recv_timeout(timeout).ok()
    }
}

impl Drop for WiegandSender {
    fn drop(&mut self) {
        self.frames = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct SendLoop {
    scheduler: FrameScheduler,
    lines: Box<dyn WiegandLines>,
    reports: Sender<FrameReport>,
    realtime: Realtime,
    overruns: u32,
    /// Actual time each line went low, for the width check.
    low_since: [Option<Instant>; 2],
    widths: Vec<Duration>,
    lateness: Vec<Duration>,
}

impl SendLoop {
    fn new(scheduler: FrameScheduler, lines: Box<dyn WiegandLines>, reports: Sender<FrameReport>) -> Self {
        SendLoop {
            scheduler,
            lines,
            reports,
            realtime: make_current_thread_realtime(),
            overruns: 0,
            low_since: [None, None],
            widths: Vec::new(),
            lateness: Vec::new(),
        }
    }

    fn run(mut self, queue: Receiver<Bits>) {
        loop {
            let next = match self.scheduler.next_timeout() {
                None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) if at.saturating_duration_since(Instant::now()) > SPIN_FOR * 4 => {
                    queue.recv_timeout(at.saturating_duration_since(Instant::now()) - SPIN_FOR * 2)
                }
                Some(_) => Err(RecvTimeoutError::Timeout),
            };
            match next {
                Ok(bits) => self.scheduler.send(Instant::now(), bits),
                Err(RecvTimeoutError::Timeout) => self.step(),
                Err(RecvTimeoutError::Disconnected) if self.scheduler.is_idle() => return,
                Err(RecvTimeoutError::Disconnected) => self.step(),
            }
        }
    }

    /// Waits for the next deadline, then carries out what is due.
    fn step(&mut self) {
        if let Some(at) = self.scheduler.next_timeout() {
            wait_until(at);
        }
        self.scheduler.handle_timeout(Instant::now());
        while let Some(output) = self.scheduler.poll_output() {
            match output {
                WiegandOutput::Edge(edge) => self.apply(edge),
                WiegandOutput::FrameAborted(_) => self.attempt_aborted(),
                WiegandOutput::FrameSent(bits) => self.report(bits, true),
                WiegandOutput::FrameFailed(bits) => self.report(bits, false),
            }
        }
    }

    fn apply(&mut self, edge: LineEdge) {
        let slot = usize::from(edge.line == super::WiegandLine::D1);
        if let Err(_e) = self.lines.drive(edge.line, edge.low) {
            return self.overran();
        }
        let now = Instant::now();
        if edge.low {
            self.low_since[slot] = Some(now);
            self.lateness.push(now.saturating_duration_since(edge.at));
            return;
        }
        let Some(since) = self.low_since[slot].take() else {
            return;
        };
        let width = now.saturating_duration_since(since);
        self.widths.push(width);
        let (min, max) = WiegandTiming::PULSE_RANGE;
        if width < min || width > max {
            self.overran();
        }
    }

    fn overran(&mut self) {
        self.scheduler.frame_overran(Instant::now());
    }

    fn attempt_aborted(&mut self) {
        self.overruns += 1;
        self.low_since = [None, None];
        self.widths.clear();
        self.lateness.clear();
    }

    fn report(&mut self, bits: Bits, sent: bool) {
        let report = FrameReport {
            bits,
            sent,
            overruns: std::mem::take(&mut self.overruns),
            widths: std::mem::take(&mut self.widths),
            start_lateness: std::mem::take(&mut self.lateness),
            realtime: self.realtime,
        };
        let _ = self.reports.send(report);
    }
}

/// Sleeps until shortly before `deadline`, then spins on the monotonic clock.
fn wait_until(deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    if left > SPIN_FOR {
        std::thread::sleep(left - SPIN_FOR);
    }
    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemClock;
    use crate::wiegand::{SimWiegandLines, WiegandFormat, WiegandLog, decode, encode};
    use std::sync::Arc;

    /// Real clock, but no timing asserted: every frame the thread reports as
    /// sent is on the lines, decodable, and its measured pulses are in range.
    #[test]
    fn frames_reported_sent_are_on_the_lines_and_decode() {
        let lines = SimWiegandLines::new(Arc::new(SystemClock));
        let log = lines.log();
        let timing = WiegandTiming::default();
        let sender = WiegandSender::spawn(Box::new(lines), timing).unwrap();
        let bits = encode(WiegandFormat::H10306, 4321, 8765).unwrap();
        for _ in 0..3 {
            sender.send(bits.clone()).unwrap();
        }
        let reports: Vec<FrameReport> =
            (0..3).map(|_| sender.report_timeout(Duration::from_secs(30)).expect("a report per frame")).collect();
        drop(sender);
        // How many frames make it depends on this machine's load (a frame that
        // overruns twice is given up), so the test checks what was reported,
        // not that the timing held: a frame given up must say why.
        let sent = reports.iter().filter(|r| r.sent).count();
        assert!(reports.iter().all(|r| r.sent || r.overruns >= 1), "{reports:?}");
        let (min, max) = WiegandTiming::PULSE_RANGE;
        for report in reports.iter().filter(|r| r.sent) {
            assert_eq!(report.bits, bits);
            assert_eq!(report.widths.len(), bits.len());
            assert!(report.widths.iter().all(|w| (min..=max).contains(w)), "{report:?}");
        }
        let decoded = log
            .frames(timing.interval * 2)
            .iter()
            .filter_map(|f| decode(WiegandFormat::H10306, &WiegandLog::bits_of(f)).ok())
            .count();
        assert_eq!(decoded, sent);
    }

    #[test]
    fn timing_readers_refuse_is_refused_at_spawn() {
        let timing = WiegandTiming { pulse: Duration::from_micros(5), ..WiegandTiming::default() };
        let lines = SimWiegandLines::new(Arc::new(SystemClock));
        assert!(matches!(WiegandSender::spawn(Box::new(lines), timing), Err(HwError::Wiegand { .. })));
    }
}
