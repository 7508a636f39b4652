//! The packets of one key press (RFC 4733 §2.5.1): all share the RTP timestamp of the event's
//! start; the first has the marker bit; the duration grows with each update; the last one has the
//! end bit and is sent three times (§2.5.1.4).

use super::{Digit, TelephoneEvent};
use bytes::Bytes;
use std::time::Duration;

/// Time between updates of an ongoing event (the 50 ms RFC 4733 §2.5.1.2 suggests).
pub const DEFAULT_PACKET_INTERVAL: Duration = Duration::from_millis(50);
/// How many times the end packet is sent.
pub const END_PACKETS: usize = 3;

/// One packet of an event, to send `at` after the event starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DtmfPacket {
    /// When to send it, from the start of the event.
    pub at: Duration,
    /// The RTP marker bit (set on the first packet only).
    pub marker: bool,
    /// The 4-byte telephone-event payload.
    pub payload: Bytes,
}

/// Turns key presses into packet schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtmfEncoder {
    clock_rate: u32,
    volume: u8,
    interval: Duration,
}

impl DtmfEncoder {
    /// An encoder for a `telephone-event/<clock_rate>` stream, level 10 (−10 dBm0), 50 ms updates.
    pub fn new(clock_rate: u32) -> Self {
        DtmfEncoder { clock_rate, volume: 10, interval: DEFAULT_PACKET_INTERVAL }
    }

    /// The same encoder with another update interval (at least 1 ms).
    pub fn with_interval(self, interval: Duration) -> Self {
        DtmfEncoder { interval: interval.max(Duration::from_millis(1)), ..self }
    }

    fn samples(&self, d: Duration) -> u16 {
        let samples = d.as_micros() * u128::from(self.clock_rate) / 1_000_000;
        samples.min(u128::from(u16::MAX)) as u16
    }

    /// The packets of a key press lasting `length` (at most 65535 clock units; longer is cut).
    pub fn key_press(&self, digit: Digit, length: Duration) -> Vec<DtmfPacket> {
        let total = self.samples(length);
        let step = self.samples(self.interval).max(1);
        let updates = u32::from(total.div_ceil(step)).max(1);
        let mut packets = Vec::with_capacity(updates as usize + END_PACKETS - 1);
        for k in 0..updates {
            let end = k + 1 == updates;
            let duration = if end { total } else { step.saturating_mul(k as u16 + 1) };
            let repeats = if end { END_PACKETS as u32 } else { 1 };
            for r in 0..repeats {
                let event = TelephoneEvent { event: digit.event(), end, volume: self.volume, duration };
                packets.push(DtmfPacket {
                    at: self.interval * (k + r),
                    marker: k == 0 && r == 0,
                    payload: Bytes::copy_from_slice(&event.to_bytes()),
                });
            }
        }
        packets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(packets: &[DtmfPacket]) -> Vec<TelephoneEvent> {
        packets.iter().map(|p| TelephoneEvent::parse(&p.payload).unwrap()).collect()
    }

    #[test]
    fn a_160_ms_press_is_four_updates_and_three_ends() {
        let packets = DtmfEncoder::new(8000).key_press(Digit::from_char('5').unwrap(), Duration::from_millis(160));
        let evs = events(&packets);
        // 1280 samples in steps of 400: 400, 800, 1200, then 1280 with the end bit, three times.
        assert_eq!(evs.iter().map(|e| e.duration).collect::<Vec<_>>(), [400, 800, 1200, 1280, 1280, 1280]);
        assert_eq!(evs.iter().map(|e| e.end).collect::<Vec<_>>(), [false, false, false, true, true, true]);
        assert!(evs.iter().all(|e| e.event == 5 && e.volume == 10));
        assert_eq!(packets.iter().filter(|p| p.marker).count(), 1);
        assert!(packets[0].marker);
        let at: Vec<u64> = packets.iter().map(|p| p.at.as_millis() as u64).collect();
        assert_eq!(at, [0, 50, 100, 150, 200, 250]);
    }

    #[test]
    fn a_very_short_press_is_only_end_packets() {
        let packets = DtmfEncoder::new(8000).key_press(Digit::from_char('#').unwrap(), Duration::from_millis(20));
        let evs = events(&packets);
        assert_eq!(evs.len(), END_PACKETS);
        assert!(evs.iter().all(|e| e.end && e.duration == 160 && e.event == 11));
        assert!(packets[0].marker);
    }

    #[test]
    fn duration_saturates_and_clock_rate_scales() {
        let long = DtmfEncoder::new(8000).key_press(Digit::from_char('1').unwrap(), Duration::from_secs(20));
        assert_eq!(events(&long).last().unwrap().duration, u16::MAX);
        let wide = DtmfEncoder::new(48_000).with_interval(Duration::from_millis(20));
        let evs = events(&wide.key_press(Digit::from_char('1').unwrap(), Duration::from_millis(40)));
        assert_eq!(evs[0].duration, 960);
        assert_eq!(evs[1].duration, 1920);
    }
}
