//! Reports each RFC 4733 key press once, however its packets arrive.
//!
//! An event is identified by (SSRC, RTP timestamp): every packet of one key press carries the
//! timestamp of its start (RFC 4733 §2.5.1.2). The digit is reported
//! - at the first end packet (retransmitted end packets and duplicates are then ignored);
//! - or, if the end packets are all lost, when a packet of another event arrives or when no packet
//!   has come for the timeout ([`DtmfDecoder::poll_timeout`]).
//!
//! An event whose start packets are lost still counts from its first packet, even if that is an
//! end packet. The same key pressed again is a new event: it has a new timestamp.
//!
//! After [`DtmfDecoder::feed`], call [`DtmfDecoder::poll_timeout`] until it returns `None`: one
//! packet can finish two key presses (a new event ending the unfinished one before it).

use super::{Digit, TelephoneEvent};
use rtp::packet::Packet;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Silence after which an event with no end packet counts as ended: ten update intervals.
pub const DEFAULT_EVENT_TIMEOUT: Duration = Duration::from_millis(500);
/// How many reported events are remembered to drop their late and repeated packets.
const REMEMBERED: usize = 16;

type EventKey = (u32, u32);

#[derive(Debug, Clone, Copy)]
struct Ongoing {
    key: EventKey,
    digit: Digit,
    last_seen: Instant,
}

/// The receiving side of RFC 4733 for one call.
#[derive(Debug, Clone)]
pub struct DtmfDecoder {
    payload_type: u8,
    timeout: Duration,
    ongoing: Option<Ongoing>,
    reported: VecDeque<EventKey>,
    ready: VecDeque<Digit>,
}

impl DtmfDecoder {
    /// A decoder for telephone events with `payload_type`; an event with no packet for `timeout`
    /// counts as ended.
    pub fn new(payload_type: u8, timeout: Duration) -> Self {
        DtmfDecoder { payload_type, timeout, ongoing: None, reported: VecDeque::new(), ready: VecDeque::new() }
    }

    /// Takes in an RTP packet received at `now` (packets of other payload types are ignored) and
    /// returns a key press that has ended, if any.
    pub fn feed(&mut self, now: Instant, packet: &Packet) -> Option<Digit> {
        if packet.header.payload_type == self.payload_type {
            self.take_event(now, packet);
        }
        self.ready.pop_front()
    }

    /// Ends an event that has been silent for the timeout, and returns the next key press that has
    /// ended, if any.
    pub fn poll_timeout(&mut self, now: Instant) -> Option<Digit> {
        if self.ongoing.is_some_and(|o| now >= o.last_seen + self.timeout) {
            self.report_ongoing();
        }
        self.ready.pop_front()
    }

    /// When [`Self::poll_timeout`] should be called next; `None` while no event is ongoing.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.ongoing.map(|o| o.last_seen + self.timeout)
    }

    fn take_event(&mut self, now: Instant, packet: &Packet) {
        let Ok(event) = TelephoneEvent::parse(&packet.payload) else {
            return;
        };
        let key = (packet.header.ssrc, packet.header.timestamp);
        if self.reported.contains(&key) {
            return;
        }
        if self.ongoing.is_some_and(|o| o.key != key) {
            self.report_ongoing();
        }
        let Some(digit) = Digit::from_event(event.event) else {
            return;
        };
        if event.end {
            self.ongoing = None;
            self.report(key, digit);
        } else {
            let ongoing = self.ongoing.get_or_insert(Ongoing { key, digit, last_seen: now });
            ongoing.last_seen = now;
        }
    }

    fn report_ongoing(&mut self) {
        if let Some(o) = self.ongoing.take() {
            self.report(o.key, o.digit);
        }
    }

    fn report(&mut self, key: EventKey, digit: Digit) {
        if self.reported.len() == REMEMBERED {
            self.reported.pop_front();
        }
        self.reported.push_back(key);
        self.ready.push_back(digit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::{DtmfEncoder, DtmfPacket};
    use crate::rtp_session::{RtpSender, SenderConfig};

    const PT: u8 = 101;

    struct Harness {
        t0: Instant,
        tx: RtpSender,
        rx: DtmfDecoder,
    }

    impl Harness {
        fn new() -> Self {
            let config = SenderConfig { ssrc: 7, payload_type: 0, initial_seq: 100, initial_timestamp: 5000 };
            Harness {
                t0: Instant::now(),
                tx: RtpSender::new(config).unwrap(),
                rx: DtmfDecoder::new(PT, DEFAULT_EVENT_TIMEOUT),
            }
        }

        /// The packets of a press of `key` starting `start_ms` into the call.
        fn press(&mut self, key: char, start_ms: u32, length_ms: u64) -> Vec<(u64, Packet)> {
            let schedule =
                DtmfEncoder::new(8000).key_press(Digit::from_char(key).unwrap(), Duration::from_millis(length_ms));
            let at = |p: &DtmfPacket| u64::from(start_ms) + p.at.as_millis() as u64;
            schedule
                .iter()
                .map(|p| (at(p), self.tx.packet_with_type(PT, start_ms * 8, p.marker, p.payload.clone())))
                .collect()
        }

        /// Feeds packets and polls as a shell would; returns (ms, key) for every report.
        fn run(&mut self, packets: &[(u64, Packet)]) -> Vec<(u64, char)> {
            let mut out = Vec::new();
            for (ms, p) in packets {
                let now = self.t0 + Duration::from_millis(*ms);
                let mut next = self.rx.feed(now, p);
                while let Some(d) = next {
                    out.push((*ms, d.as_char()));
                    next = self.rx.poll_timeout(now);
                }
            }
            out
        }

        fn keys(&mut self, packets: &[(u64, Packet)]) -> String {
            self.run(packets).iter().map(|&(_, k)| k).collect()
        }
    }

    #[test]
    fn one_press_is_reported_once_at_its_first_end_packet() {
        let mut h = Harness::new();
        let packets = h.press('1', 0, 160);
        assert_eq!(h.run(&packets), [(150, '1')]);
        assert_eq!(h.rx.next_timeout(), None);
        assert_eq!(h.rx.poll_timeout(h.t0 + Duration::from_secs(5)), None);
    }

    #[test]
    fn duplicated_packets_do_not_repeat_the_digit() {
        let mut h = Harness::new();
        let packets = h.press('#', 0, 120);
        let doubled: Vec<_> = packets.iter().flat_map(|p| [p.clone(), p.clone()]).collect();
        assert_eq!(h.keys(&doubled), "#");
        // A retransmitted end packet long after is still the same press.
        assert_eq!(h.keys(&[(5000, packets[packets.len() - 1].1.clone())]), "");
    }

    #[test]
    fn the_same_key_twice_is_two_presses() {
        let mut h = Harness::new();
        let mut packets = h.press('5', 0, 100);
        packets.extend(h.press('5', 400, 100));
        assert_eq!(h.keys(&packets), "55");
    }

    #[test]
    fn an_end_packet_alone_still_counts() {
        let mut h = Harness::new();
        let packets = h.press('7', 0, 200);
        let ends_only: Vec<_> = packets.iter().filter(|(_, p)| p.payload[1] & 0x80 != 0).cloned().collect();
        assert_eq!(h.keys(&ends_only[2..]), "7");
    }

    #[test]
    fn a_lost_end_is_reported_when_the_next_press_starts() {
        let mut h = Harness::new();
        let first = h.press('1', 0, 150);
        let mut packets: Vec<_> = first.iter().filter(|(_, p)| p.payload[1] & 0x80 == 0).cloned().collect();
        let second = h.press('2', 300, 150);
        packets.extend(second.iter().cloned());
        assert_eq!(h.run(&packets), [(300, '1'), (400, '2')]);
    }

    #[test]
    fn a_lost_end_is_reported_after_the_timeout() {
        let mut h = Harness::new();
        let first = h.press('9', 0, 150);
        let starts: Vec<_> = first.iter().filter(|(_, p)| p.payload[1] & 0x80 == 0).cloned().collect();
        assert_eq!(h.keys(&starts), "");
        // 150 ms: updates at 0 and 50 ms, the end packets at 100, 150 and 200 ms.
        let last_seen = h.t0 + Duration::from_millis(50);
        assert_eq!(h.rx.next_timeout(), Some(last_seen + DEFAULT_EVENT_TIMEOUT));
        assert_eq!(h.rx.poll_timeout(last_seen + DEFAULT_EVENT_TIMEOUT - Duration::from_millis(1)), None);
        assert_eq!(h.rx.poll_timeout(last_seen + DEFAULT_EVENT_TIMEOUT), Digit::from_event(9));
        // Its end packets arriving late change nothing.
        let ends: Vec<_> = first.iter().filter(|(_, p)| p.payload[1] & 0x80 != 0).cloned().collect();
        assert_eq!(h.keys(&ends), "");
    }

    #[test]
    fn an_unfinished_press_ended_by_an_end_only_press_gives_both() {
        let mut h = Harness::new();
        let first = h.press('3', 0, 150);
        let second = h.press('4', 300, 150);
        let mut packets = vec![first[0].clone()];
        packets.push(second[second.len() - 1].clone());
        assert_eq!(h.keys(&packets), "34");
    }

    #[test]
    fn other_payload_types_and_garbage_are_ignored() {
        let mut h = Harness::new();
        let audio = h.tx.packet(0, false, bytes::Bytes::from_static(&[11, 0x80, 0, 160]));
        let short = h.tx.packet_with_type(PT, 0, false, bytes::Bytes::from_static(&[11]));
        let flash = h.tx.packet_with_type(PT, 8, false, bytes::Bytes::from_static(&[16, 0x80, 0, 160]));
        assert_eq!(h.keys(&[(0, audio), (1, short), (2, flash)]), "");
        assert_eq!(h.rx.next_timeout(), None);
    }
}
