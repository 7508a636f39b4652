//! A peer's audio reaches the simulated speaker: PCMU over SDES-SRTP with network jitter,
//! reordering, a duplicate and a loss, and halfway a PBX-style switch of SSRC, sequence and
//! timestamp base, with a DTMF key pressed after the switch. The speaker is a WAV file, decoded
//! and measured at the end.

#![cfg(feature = "srtp")]

use bytes::Bytes;
use ds_media::device::AudioPlayback;
use ds_media::dtmf::{DEFAULT_EVENT_TIMEOUT, Digit, DtmfDecoder, DtmfEncoder};
use ds_media::g711::Law;
use ds_media::jitter::{JitterBuffer, JitterConfig, Playout};
use ds_media::rtp_session::{marshal, parse};
use ds_media::srtp::{CryptoAttribute, CryptoSuite, MasterKey, SrtpSession};
use ds_media::tone::{SampleRate, ToneSource, rms};
use ds_media::wav::{FilePlayback, read_wav};
use rtp::header::Header;
use rtp::packet::Packet;
use std::time::{Duration, Instant};

const PCMU: u8 = 0;
const EVENT: u8 = 101;
const PACKETS: u32 = 100; // 2 s of audio
const SWITCH_AT: u32 = 50;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The peer's stream before and after the switch.
fn header(i: u32, dtmf_offset: u16, pt: u8, ts: u32) -> Header {
    let (ssrc, seq0) = if i < SWITCH_AT { (0xAAAA_0001, 65_500u16) } else { (0xBBBB_0002, 1_000) };
    Header {
        version: 2,
        payload_type: pt,
        sequence_number: seq0.wrapping_add(i as u16).wrapping_add(dtmf_offset),
        ssrc,
        timestamp: ts,
        ..Default::default()
    }
}

fn ts_of(i: u32) -> u32 {
    if i < SWITCH_AT { 4_294_960_000u32.wrapping_add(i * 160) } else { 777_000 + (i - SWITCH_AT) * 160 }
}

/// Every packet the peer sends, with the time it arrives: (arrival, SRTP datagram).
fn peer_datagrams(peer: &mut SrtpSession, t0: Instant) -> Vec<(Instant, Bytes)> {
    let mut tone = ToneSource::new(1000.0, SampleRate::Hz8000, 12_000).unwrap();
    let mut sent = vec![];
    let mut seq_extra = 0u16;
    for i in 0..PACKETS {
        let payload = Bytes::from(Law::Ulaw.encode(&tone.next_frame()));
        let packet = Packet { header: header(i, seq_extra, PCMU, ts_of(i)), payload };
        // Jitter of 0–27 ms, deterministic.
        let jitter = u64::from((i * 7919) % 28);
        sent.push((t0 + ms(20 * u64::from(i) + jitter), packet));
        if i == SWITCH_AT + 10 {
            // Key 5, 100 ms, events share the timestamp of their start (RFC 4733 §2.5.1.2).
            for p in DtmfEncoder::new(8000).key_press(Digit::from_char('5').unwrap(), ms(100)) {
                seq_extra += 1;
                let mut h = header(i, seq_extra, EVENT, ts_of(i));
                h.marker = p.marker;
                sent.push((t0 + ms(20 * u64::from(i)) + p.at, Packet { header: h, payload: p.payload }));
            }
        }
    }
    let lost = sent.iter().position(|(_, p)| p.header.sequence_number == 65_530).unwrap();
    sent.remove(lost);
    // Protected in sending order (the SRTP index follows the sequence number), then delivered
    // in arrival order, one datagram twice.
    let mut wire: Vec<(Instant, Bytes)> =
        sent.into_iter().map(|(at, p)| (at, peer.protect_rtp(&marshal(&p).unwrap()).unwrap())).collect();
    let dup = wire[20].clone();
    wire.push((dup.0 + ms(3), dup.1));
    wire.sort_by_key(|(at, _)| *at);
    wire
}

#[test]
fn a_peers_audio_survives_jitter_loss_and_a_stream_switch_and_dtmf_still_decodes() {
    let t0 = Instant::now();
    let ours = CryptoAttribute::new(1, CryptoSuite::AesCm128HmacSha1_80, MasterKey::from_bytes([3; 30]));
    let theirs = CryptoAttribute::new(1, CryptoSuite::AesCm128HmacSha1_80, MasterKey::from_bytes([8; 30]));
    let mut peer = SrtpSession::new(&theirs, &ours).unwrap();
    let mut station = SrtpSession::new(&ours, &theirs).unwrap();
    let mut arrivals = peer_datagrams(&mut peer, t0).into_iter().peekable();

    let path = std::env::temp_dir().join(format!("ds-media-audio-path-{}.wav", std::process::id()));
    let mut speaker = FilePlayback::create(&path, SampleRate::Hz8000).unwrap();
    let mut jitter = JitterBuffer::new(JitterConfig::audio(SampleRate::Hz8000)).unwrap();
    let mut dtmf = DtmfDecoder::new(EVENT, DEFAULT_EVENT_TIMEOUT);
    let (mut digits, mut played_ticks) = (vec![], vec![]);
    for tick in 0..(PACKETS as u64 + 15) {
        let now = t0 + ms(20 * tick + 10);
        while let Some((at, _)) = arrivals.peek()
            && *at <= now
        {
            let (at, datagram) = arrivals.next().unwrap();
            let packet = parse(&station.unprotect_rtp(&datagram).unwrap_or_else(|_| Bytes::new())).ok();
            let Some(packet) = packet else { continue }; // the duplicate fails the replay check
            if packet.header.payload_type == EVENT {
                digits.extend(dtmf.feed(at, &packet));
            } else {
                jitter.push(at, (&packet).into());
            }
        }
        digits.extend(dtmf.poll_timeout(now));
        let samples = match jitter.pop(now) {
            Playout::Frame(f) => {
                played_ticks.push(tick);
                Law::Ulaw.decode(&f.payload)
            }
            Playout::Conceal(_) | Playout::Empty => vec![0; 160],
        };
        speaker.write_frame(&samples).unwrap();
    }
    speaker.finish().unwrap();

    let stats = jitter.stats();
    assert_eq!(digits, [Digit::from_char('5').unwrap()], "the key after the switch, once");
    assert_eq!(stats.resyncs, 1, "{stats:?}");
    assert_eq!(stats.played, u64::from(PACKETS) - 1, "every packet but the lost one: {stats:?}");
    assert_eq!(stats.duplicates, 0, "SRTP replay protection dropped the duplicate first");

    let (_, samples) = read_wav(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (first, last) = (played_ticks[0] as usize, *played_ticks.last().unwrap() as usize);
    let silent_writes = last + 1 - first - played_ticks.len();
    let audio = &samples[first * 160..(last + 1) * 160];
    // Decoded, the tone is there at its level and its pitch, across the switch.
    let frames_loud = audio.chunks(160).filter(|f| rms(f) > 7_000.0).count();
    assert_eq!(frames_loud, played_ticks.len(), "every played frame carries the tone");
    assert_eq!(silent_writes, 1, "only the lost packet is concealed");
    let crossings = audio.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    let hz = crossings as f64 / 2.0 / (audio.len() as f64 / 8000.0);
    assert!((960.0..=1040.0).contains(&hz), "pitch {hz} Hz");
}
