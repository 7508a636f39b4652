//! Media as a peer sees it: UDP receivers on the ports the SIPp UAS puts in its SDP, RTP
//! parsing, H.264 depacketizing and decoding (OpenH264), G.711 decoding and tone detection.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    /// When it arrived, in seconds since the Unix epoch (the clock of a tshark capture).
    pub epoch: f64,
    /// Who sent it.
    pub from: SocketAddr,
    /// The RTP packet.
    pub packet: Packet,
}

/// One datagram as it arrived (RTCP, or anything else).
#[derive(Clone, Debug)]
pub struct Datagram {
    /// Seconds since the Unix epoch.
    pub epoch: f64,
    /// Who sent it.
    pub from: SocketAddr,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A UDP socket that records every datagram until stopped; [`RtpSink::finish`] gives the RTP
/// ones, [`RtpSink::finish_raw`] all of them.
pub struct RtpSink {
    stop: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<(Instant, Datagram)>>>,
    thread: Option<JoinHandle<()>>,
    /// The socket, to send from (same port: symmetric RTP).
    pub socket: UdpSocket,
}

fn epoch_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl RtpSink {
    /// Binds `port` on 127.0.0.1.
    pub fn bind(port: u16) -> RtpSink {
        let socket = UdpSocket::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("bind UDP {port}: {e}"));
        RtpSink::on(socket)
    }

    /// A free port on `ip`.
    pub fn any(ip: &str) -> RtpSink {
        RtpSink::on(UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("bind UDP on {ip}: {e}")))
    }

    /// Records what arrives on `socket`.
    pub fn on(socket: UdpSocket) -> RtpSink {
        socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (flag, into, rx) = (stop.clone(), got.clone(), socket.try_clone().unwrap());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = rx.recv_from(&mut buf) {
                    let d = Datagram { epoch: epoch_now(), from, bytes: buf[..n].to_vec() };
                    into.lock().unwrap().push((Instant::now(), d));
                }
            }
        });
        RtpSink { stop, got, thread: Some(thread), socket }
    }

    /// Waits until a datagram has arrived and returns its sender, or fails the test.
    pub fn wait_first(&self, limit: Duration, what: &str) -> SocketAddr {
        let deadline = Instant::now() + limit;
        loop {
            if let Some((_, d)) = self.got.lock().unwrap().first() {
                return d.from;
            }
            assert!(Instant::now() < deadline, "{what}: nothing arrived at UDP {} within {limit:?}", self.port());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A free even port on `ip` and the odd one above it (RTP and RTCP, RFC 3550 §11).
    pub fn pair(ip: &str) -> (RtpSink, RtpSink) {
        for _ in 0..200 {
            let rtp = UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("bind UDP on {ip}: {e}"));
            let port = rtp.local_addr().unwrap().port();
            if port.is_multiple_of(2)
                && let Ok(rtcp) = UdpSocket::bind((ip, port + 1))
            {
                return (RtpSink::on(rtp), RtpSink::on(rtcp));
            }
        }
        panic!("no free even/odd UDP port pair on {ip}");
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }

    /// Stops and returns the RTP packets that arrived, in arrival order.
    pub fn finish(self) -> Vec<Received> {
        self.stop_thread()
            .into_iter()
            .filter_map(|(at, d)| {
                let packet = ds_media::rtp_session::parse(&d.bytes).ok()?;
                Some(Received { at, epoch: d.epoch, from: d.from, packet })
            })
            .collect()
    }

    /// Stops and returns every datagram that arrived, in arrival order.
    pub fn finish_raw(self) -> Vec<Datagram> {
        self.stop_thread().into_iter().map(|(_, d)| d).collect()
    }

    fn stop_thread(mut self) -> Vec<(Instant, Datagram)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("receiver thread");
        }
        std::mem::take(&mut *self.got.lock().unwrap())
    }
}

/// A peer's RTP stream sent from the test: PCMU tones and RFC 4733 events, paced in real time.
pub struct PeerStream {
    /// SSRC.
    pub ssrc: u32,
    /// The next sequence number.
    pub seq: u16,
    /// The next timestamp (8 kHz).
    pub ts: u32,
}

impl PeerStream {
    fn packet(&mut self, pt: u8, marker: bool, ts: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&self.ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        p
    }

    /// `frames` × 20 ms of a `freq` tone in PCMU to `to`; `phase` counts samples across calls.
    pub fn tone(&mut self, sock: &UdpSocket, to: SocketAddr, freq: f64, frames: u32, phase: &mut u64) {
        for _ in 0..frames {
            let pcm: Vec<i16> = (0..160)
                .map(|i| {
                    let t = (*phase + i) as f64 / 8000.0;
                    (8000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
                })
                .collect();
            *phase += 160;
            let payload = ds_media::g711::Law::Ulaw.encode(&pcm);
            let ts = self.ts;
            let p = self.packet(0, false, ts, &payload);
            sock.send_to(&p, to).unwrap();
            self.ts = self.ts.wrapping_add(160);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An RFC 4733 event with payload type `pt`: start, updates, three end packets, one timestamp.
    pub fn event(&mut self, sock: &UdpSocket, to: SocketAddr, pt: u8, event: u8) {
        let ts = self.ts;
        for (i, duration) in [160u16, 320, 480, 640, 640, 640].into_iter().enumerate() {
            let end = if i >= 3 { 0x80 } else { 0 };
            let mut payload = vec![event, end | 10];
            payload.extend_from_slice(&duration.to_be_bytes());
            let p = self.packet(pt, i == 0, ts, &payload);
            sock.send_to(&p, to).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        self.ts = self.ts.wrapping_add(640);
    }
}

/// The PCMU payloads of `stream` decoded to 8 kHz samples, in arrival order.
pub fn decode_pcmu(stream: &[&Received]) -> Vec<i16> {
    stream
        .iter()
        .filter(|r| r.packet.header.payload_type == 0)
        .flat_map(|r| ds_media::g711::Law::Ulaw.decode(&r.packet.payload))
        .collect()
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
    decode_h264_packets(stream.iter().map(|r| &r.packet))
}

/// Depacketizes and decodes RTP packets of one stream, in order, with a fresh decoder.
pub fn decode_h264_packets<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> Decoded {
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
    for packet in packets {
        let _ = depack.push(packet);
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
