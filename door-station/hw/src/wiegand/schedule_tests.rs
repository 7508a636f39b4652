//! The scheduler on a simulated clock, into simulated lines.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::ManualClock;

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// Steps the clock to each deadline and applies the edges, until idle.
/// Returns the sent/failed outputs.
fn drive(s: &mut FrameScheduler, lines: &mut SimWiegandLines, clock: &ManualClock) -> Vec<WiegandOutput> {
    let mut done = Vec::new();
    while let Some(at) = s.next_timeout() {
        clock.advance(at.saturating_duration_since(crate::Clock::now(clock)));
        s.handle_timeout(at);
        while let Some(out) = s.poll_output() {
            match out {
                WiegandOutput::Edge(e) => lines.drive(e.line, e.low).unwrap(),
                other => done.push(other),
            }
        }
    }
    done
}

const CREDENTIALS: &[(WiegandFormat, u32, u64)] = &[
    (WiegandFormat::H10301, 123, 4567),
    (WiegandFormat::H10306, 40000, 65000),
    (WiegandFormat::Corporate1000, 3000, 1_000_000),
    (WiegandFormat::H10304, 65000, 500_000),
    (WiegandFormat::Raw(40), 0, 0xAB_CDEF_0123),
];

#[test]
fn every_format_decodes_back_from_the_recorded_edges_within_the_bounds() {
    for timing in [
        WiegandTiming::default(),
        WiegandTiming { pulse: us(20), interval: us(200), frame_gap: Duration::from_millis(50) },
        WiegandTiming { pulse: us(100), interval: Duration::from_millis(20), frame_gap: Duration::from_millis(80) },
    ] {
        let t0 = Instant::now();
        let clock = ManualClock::new(t0);
        let mut lines = SimWiegandLines::new(Arc::new(clock.clone()));
        let log = lines.log();
        let mut s = FrameScheduler::new(timing).unwrap();
        for &(format, fc, cn) in CREDENTIALS {
            s.send(t0, encode(format, fc, cn).unwrap());
        }
        let done = drive(&mut s, &mut lines, &clock);
        assert_eq!(done.len(), CREDENTIALS.len());
        assert!(done.iter().all(|o| matches!(o, WiegandOutput::FrameSent(_))));
        let frames = log.frames(timing.interval + us(1));
        assert_eq!(frames.len(), CREDENTIALS.len(), "{timing:?}");
        for (frame, &(format, fc, cn)) in frames.iter().zip(CREDENTIALS) {
            let got = decode(format, &WiegandLog::bits_of(frame)).unwrap();
            assert_eq!(got, Credential { facility: fc, card: cn }, "{format}");
            check_frame_timing(frame, &timing);
        }
        for pair in frames.windows(2) {
            let end = pair[0].last().map(|p| p.start + p.width).unwrap();
            let gap = pair[1][0].start.duration_since(end);
            assert!(gap >= timing.frame_gap, "gap {gap:?} < {:?}", timing.frame_gap);
        }
    }
}

fn check_frame_timing(frame: &[Pulse], timing: &WiegandTiming) {
    let (pmin, pmax) = WiegandTiming::PULSE_RANGE;
    let (imin, imax) = WiegandTiming::INTERVAL_RANGE;
    for pulse in frame {
        assert_eq!(pulse.width, timing.pulse);
        assert!(pulse.width >= pmin && pulse.width <= pmax);
    }
    for pair in frame.windows(2) {
        let interval = pair[1].start - pair[0].start;
        assert_eq!(interval, timing.interval);
        assert!(interval >= imin && interval <= imax);
    }
}

#[test]
fn the_two_lines_are_never_low_together() {
    let t0 = Instant::now();
    let clock = ManualClock::new(t0);
    let mut lines = SimWiegandLines::new(Arc::new(clock.clone()));
    let log = lines.log();
    let mut s = FrameScheduler::new(WiegandTiming::default()).unwrap();
    s.send(t0, encode(WiegandFormat::Corporate1000, 2049, 1).unwrap());
    drive(&mut s, &mut lines, &clock);
    let mut low = 0i32;
    for edge in log.edges() {
        low += if edge.low { 1 } else { -1 };
        assert!((0..=1).contains(&low), "both low at {:?}", edge.at - t0);
    }
    assert_eq!(low, 0, "both released at the end");
    assert_eq!(log.edges().len(), 70);
}

#[test]
fn a_frame_sent_during_the_gap_waits_for_it() {
    let t0 = Instant::now();
    let timing = WiegandTiming::default();
    let mut s = FrameScheduler::new(timing).unwrap();
    let bits = encode(WiegandFormat::Raw(2), 0, 0b10).unwrap();
    s.send(t0, bits.clone());
    let last_release = t0 + timing.interval + timing.pulse;
    s.handle_timeout(t0);
    s.handle_timeout(t0 + timing.pulse);
    s.handle_timeout(t0 + timing.interval);
    s.handle_timeout(last_release);
    let outs: Vec<_> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(outs.len(), 5);
    assert_eq!(outs[4], WiegandOutput::FrameSent(bits.clone()));
    s.send(last_release + us(10), bits);
    assert_eq!(s.next_timeout(), Some(last_release + timing.frame_gap));
    s.handle_timeout(last_release + timing.frame_gap - us(1));
    assert_eq!(s.poll_output(), None);
}

#[test]
fn an_overrun_releases_both_lines_and_resends_once_after_the_gap() {
    let t0 = Instant::now();
    let timing = WiegandTiming::default();
    let mut s = FrameScheduler::new(timing).unwrap();
    let bits = encode(WiegandFormat::H10301, 1, 2).unwrap();
    s.send(t0, bits.clone());
    s.handle_timeout(t0);
    assert!(matches!(s.poll_output(), Some(WiegandOutput::Edge(LineEdge { low: true, .. }))));
    let late = t0 + us(400);
    s.frame_overran(late);
    let releases: Vec<_> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(releases.len(), 3);
    assert!(releases[..2].iter().all(|o| matches!(o, WiegandOutput::Edge(e) if !e.low && e.at == late)));
    assert_eq!(releases[2], WiegandOutput::FrameAborted(bits.clone()));
    assert_eq!(s.next_timeout(), Some(late + timing.frame_gap));
    s.handle_timeout(late + timing.frame_gap);
    s.frame_overran(late + timing.frame_gap + us(10));
    let outs: Vec<_> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(outs.last(), Some(&WiegandOutput::FrameFailed(bits)));
    assert!(s.is_idle());
}

#[test]
fn timing_outside_what_readers_accept_is_refused() {
    let ok = WiegandTiming::default();
    assert_eq!(ok.validate(), Ok(()));
    for bad in [
        WiegandTiming { pulse: us(19), ..ok },
        WiegandTiming { pulse: us(101), ..ok },
        WiegandTiming { interval: us(199), ..ok },
        WiegandTiming { interval: Duration::from_millis(21), ..ok },
        WiegandTiming { frame_gap: Duration::from_millis(49), ..ok },
    ] {
        assert!(matches!(bad.validate(), Err(TimingError::OutOfRange { .. })), "{bad:?}");
        assert!(FrameScheduler::new(bad).is_err());
    }
    let overlap = WiegandTiming { pulse: us(100), interval: us(200), ..ok };
    assert_eq!(overlap.validate(), Ok(()));
}

#[test]
fn a_pulse_due_too_late_for_its_width_is_not_started() {
    let t0 = Instant::now();
    let timing = WiegandTiming::default();
    let mut s = FrameScheduler::new(timing).unwrap();
    let bits = encode(WiegandFormat::Raw(2), 0, 0b01).unwrap();
    s.send(t0, bits);
    s.handle_timeout(t0);
    s.handle_timeout(t0 + timing.pulse);
    let first: Vec<_> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(first.len(), 2, "the first pulse went out: {first:?}");
    // Woken 31 µs after the second pulse's start: it would last only 19 µs.
    let late = t0 + timing.interval + us(31);
    s.handle_timeout(late);
    let outs: Vec<_> = std::iter::from_fn(|| s.poll_output()).collect();
    assert!(
        outs.iter()
            .all(|o| matches!(o, WiegandOutput::Edge(e) if !e.low) || matches!(o, WiegandOutput::FrameAborted(_))),
        "only releases and the abort: {outs:?}"
    );
    assert_eq!(s.next_timeout(), Some(late + timing.frame_gap), "resent after the gap");
    // 30 µs late still leaves a 20 µs pulse.
    let mut s = FrameScheduler::new(timing).unwrap();
    s.send(t0, encode(WiegandFormat::Raw(1), 0, 1).unwrap());
    s.handle_timeout(t0 + us(30));
    assert!(matches!(s.poll_output(), Some(WiegandOutput::Edge(LineEdge { low: true, .. }))));
}
