//! Measures the Wiegand sending thread on this machine's real clock: frames go
//! to simulated lines that stamp each edge with `Instant::now()`, so the
//! figures are the thread's own timing (scheduling, sleeping, spinning), not a
//! GPIO's. On a Pi the GPIO write adds its own latency (rppal's memory-mapped
//! writes are well under a microsecond).
//!
//! `cargo run -p ds-hw --release --example wiegand_timing [frames]`

use std::sync::Arc;
use std::time::Duration;

use ds_hw::SystemClock;
use ds_hw::wiegand::{SimWiegandLines, WiegandFormat, WiegandLog, WiegandSender, WiegandTiming, decode, encode};

fn stats(name: &str, mut values: Vec<Duration>, nominal: Duration) {
    values.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let pick = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    let (first, last) = (values[0], values[values.len() - 1]);
    println!(
        "{name}: n={} nominal={:.1} µs min={:.2} p50={:.2} p99={:.2} max={:.2} µs spread={:.2} µs",
        values.len(),
        us(nominal),
        us(first),
        us(pick(0.5)),
        us(pick(0.99)),
        us(last),
        us(last - first),
    );
}

fn main() {
    let frames: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    let timing = WiegandTiming::default();
    let lines = SimWiegandLines::new(Arc::new(SystemClock));
    let log = lines.log();
    let sender = WiegandSender::spawn(Box::new(lines), timing).expect("sender");
    let bits = encode(WiegandFormat::H10301, 123, 4567).expect("encode");
    for _ in 0..frames {
        sender.send(bits.clone()).expect("send");
    }
    let mut overruns = 0;
    let mut given_up = 0;
    let mut realtime = None;
    let mut widths = Vec::new();
    let mut lateness = Vec::new();
    for _ in 0..frames {
        let report = sender.report_timeout(Duration::from_secs(10)).expect("report");
        overruns += report.overruns;
        realtime = Some(report.realtime);
        given_up += usize::from(!report.sent);
        widths.extend(report.widths);
        lateness.extend(report.start_lateness);
    }
    drop(sender);
    // Intervals from the recorded edges of the frames that decode (aborted
    // attempts leave partial frames behind).
    let recorded: Vec<_> = log
        .frames(timing.interval * 2)
        .into_iter()
        .filter(|f| decode(WiegandFormat::H10301, &WiegandLog::bits_of(f)).is_ok())
        .collect();
    let intervals =
        recorded.iter().flat_map(|f| f.windows(2).map(|w| w[1].start - w[0].start).collect::<Vec<_>>()).collect();
    println!(
        "scheduling: {realtime:?}; frames {frames}, attempts aborted {overruns}, frames given up \
         after a resend {given_up}, decodable frames recorded {}",
        recorded.len()
    );
    stats("pulse start lateness", lateness, Duration::ZERO);
    stats("pulse width", widths, timing.pulse);
    stats("pulse interval", intervals, timing.interval);
}
