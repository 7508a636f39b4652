//! Media as a peer sees it: UDP receivers on the ports the SIPp UAS puts in its SDP, RTP
//! parsing, H.264 depacketizing and decoding (OpenH264), G.711 decoding and tone detection.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ds_media::packetize::H264Depacketizer;
use rtp::packet::Packet;

use super::harness::{Harness, ProcId, peers_dir};
use super::peers::{Uas, sipp_uas_rendered};

/// One datagram a receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// When it arrived.
    pub at: Instant,
    /// Who sent it.
    pub from: SocketAddr,
    /// The RTP packet.
    pub packet: Packet,
}

/// A UDP socket on 127.0.0.1 that records every RTP packet until stopped.
pub struct RtpSink {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Received>>>,
    /// The socket, to send from (same port: symmetric RTP).
    pub socket: UdpSocket,
}

impl RtpSink {
    /// Binds `port`.
    pub fn bind(port: u16) -> RtpSink {
        let socket = UdpSocket::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("bind UDP {port}: {e}"));
        socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, rx) = (stop.clone(), socket.try_clone().unwrap());
        let thread = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = rx.recv_from(&mut buf)
                    && let Ok(packet) = ds_media::rtp_session::parse(&buf[..n])
                {
                    got.push(Received { at: Instant::now(), from, packet });
                }
            }
            got
        });
        RtpSink { stop, thread: Some(thread), socket }
    }

    /// Stops and returns what arrived, in arrival order.
    pub fn finish(mut self) -> Vec<Received> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().map(|t| t.join().expect("receiver thread")).unwrap_or_default()
    }
}

/// The SIPp UAS of `uas_183_info.xml` (183, 200 after `answer_after_ms`, BYE ~7 s later)
/// whose SDP names `audio_port`/`audio_port + 2` (the test's own sockets) instead of SIPp's
/// media ports; with `pcap`, SIPp replays that file (under tests/peers/sipp) after the ACK.
pub fn sipp_uas_to(h: &mut Harness, tag: &str, uas: &Uas, audio_port: u16, pcap: Option<&str>, calls: u32) -> ProcId {
    sipp_uas_edited(h, tag, (uas, audio_port), pcap, calls, |t| t)
}

/// [`sipp_uas_to`] with the scenario's text changed by `edit` first (e.g. another
/// `profile-level-id` in its SDP).
pub fn sipp_uas_edited(
    h: &mut Harness,
    tag: &str,
    (uas, audio_port): (&Uas, u16),
    pcap: Option<&str>,
    calls: u32,
    edit: impl FnOnce(String) -> String,
) -> ProcId {
    let template = peers_dir().join("sipp").join("uas_183_info.xml");
    let mut text = edit(std::fs::read_to_string(&template).expect("read uas_183_info.xml"));
    text = text
        .replace("[media_port+2]", &(audio_port + 2).to_string())
        .replace("m=audio [media_port]", &format!("m=audio {audio_port}"));
    if let Some(pcap) = pcap {
        let file = peers_dir().join("sipp").join(pcap);
        let ack_log = r#"<log message="[call_id] call answered, ACK received" />"#;
        let play = format!(r#"{ack_log}<exec play_pcap_audio="{}" />"#, file.display());
        assert!(text.contains(ack_log), "the UAS scenario changed: no ACK log action");
        text = text.replace(ack_log, &play);
    }
    sipp_uas_rendered(h, tag, uas, &text, calls, Duration::from_secs(60))
}

/// The packets of each SSRC, in arrival order, oldest SSRC first.
pub fn by_ssrc(received: &[Received]) -> Vec<(u32, Vec<&Received>)> {
    let mut streams: Vec<(u32, Vec<&Received>)> = Vec::new();
    for r in received {
        match streams.iter_mut().find(|(s, _)| *s == r.packet.header.ssrc) {
            Some((_, v)) => v.push(r),
            None => streams.push((r.packet.header.ssrc, vec![r])),
        }
    }
    streams
}

/// What decoding one video stream gave.
#[derive(Debug)]
pub struct Decoded {
    /// Access units reassembled.
    pub units: usize,
    /// Pictures the decoder produced.
    pub pictures: usize,
    /// Size of the first picture.
    pub first_size: Option<(usize, usize)>,
    /// The first unit produced a picture.
    pub first_unit_decoded: bool,
    /// Units the decoder refused.
    pub errors: usize,
    /// Every picture size that came out.
    pub sizes: std::collections::BTreeSet<(usize, usize)>,
}

/// Depacketizes and decodes one stream with a fresh decoder.
pub fn decode_h264(stream: &[&Received]) -> Decoded {
    use openh264::formats::YUVSource;
    let mut depack = H264Depacketizer::new();
    let mut decoder = openh264::decoder::Decoder::new().expect("OpenH264 decoder");
    let mut out = Decoded {
        units: 0,
        pictures: 0,
        first_size: None,
        first_unit_decoded: false,
        errors: 0,
        sizes: Default::default(),
    };
    for r in stream {
        let _ = depack.push(&r.packet);
        while let Some(unit) = depack.pop_unit() {
            out.units += 1;
            match decoder.decode(&unit.to_annex_b()) {
                Ok(Some(yuv)) => {
                    out.pictures += 1;
                    out.first_unit_decoded |= out.units == 1;
                    out.first_size.get_or_insert(yuv.dimensions());
                    out.sizes.insert(yuv.dimensions());
                }
                Ok(None) => {}
                Err(_) => out.errors += 1,
            }
        }
    }
    out
}

/// Power of `freq` in `samples` at `rate` relative to the signal's power (Goertzel), 0..1.
pub fn tone_share(samples: &[i16], rate: f64, freq: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut energy = 0.0;
    for &x in samples {
        let x = f64::from(x);
        energy += x * x;
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let n = samples.len() as f64;
    if energy == 0.0 { 0.0 } else { (2.0 * power / n) / energy }
}

/// RMS level of `samples`.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}
