//! Hostile input: random datagrams and payloads must give errors or nothing, never a panic.

use bytes::Bytes;
use ds_media::dtmf::{DEFAULT_EVENT_TIMEOUT, DtmfDecoder, TelephoneEvent};
use ds_media::h264::split_annex_b;
use ds_media::packetize::H264Depacketizer;
use ds_media::rtp_session::{RtpReceiver, parse};
use rtp::header::Header;
use rtp::packet::Packet;
use std::time::{Duration, Instant};

/// xorshift64: deterministic noise without a dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.next() as usize % (max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_datagrams_never_panic_the_receivers() {
    let t0 = Instant::now();
    let mut noise = Noise(0x2545_F491_4F6C_DD1D);
    let mut rx = RtpReceiver::new();
    let mut depack = H264Depacketizer::new();
    let mut dtmf = DtmfDecoder::new(101, DEFAULT_EVENT_TIMEOUT);
    let mut parsed = 0;
    for i in 0..20_000u64 {
        let mut datagram = noise.bytes(64);
        if i % 2 == 0 && datagram.len() >= 12 {
            datagram[0] = 0x80; // make about half of them plausible RTP
        }
        let now = t0 + Duration::from_millis(i);
        if let Ok(packet) = rx.receive(now, &datagram) {
            parsed += 1;
            let _ = depack.push(&packet);
            let _ = dtmf.feed(now, &packet);
        }
        let _ = dtmf.poll_timeout(now);
        while depack.pop_unit().is_some() {}
        let _ = split_annex_b(&datagram);
        let _ = parse(&datagram);
    }
    assert!(parsed > 1000, "the test must reach the depacketizer: {parsed}");
}

#[test]
fn random_h264_payloads_never_panic_the_depacketizer() {
    let mut noise = Noise(7);
    let mut depack = H264Depacketizer::new();
    let mut errors = 0;
    for seq in 0..20_000u16 {
        let mut payload = noise.bytes(40);
        if let Some(first) = payload.first_mut() {
            *first = [24, 28, 5, 1, 25, 0][seq as usize % 6] | 0x60;
        }
        let header = Header {
            version: 2,
            sequence_number: seq,
            timestamp: u32::from(seq / 3),
            marker: seq % 5 == 0,
            ..Header::default()
        };
        errors += usize::from(depack.push(&Packet { header, payload: Bytes::from(payload) }).is_err());
        while depack.pop_unit().is_some() {}
    }
    assert!(errors > 100, "malformed payloads must be reported: {errors}");
}

#[test]
fn telephone_event_parse_is_total() {
    let mut noise = Noise(99);
    for _ in 0..10_000 {
        let payload = noise.bytes(8);
        match TelephoneEvent::parse(&payload) {
            Ok(ev) => assert_eq!(ev.to_bytes()[..], [payload[0], payload[1] & 0xBF, payload[2], payload[3]]),
            Err(_) => assert!(payload.len() < 4),
        }
    }
}
