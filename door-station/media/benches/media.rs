//! Measures what the door station's video latency depends on, without a benchmark framework:
//! - encode time per frame (P frames and forced IDR frames) of the test pattern;
//! - time from `force_keyframe()` to the first packet of the IDR leaving the fan-out;
//! - what the slice budget (`max_nal_bytes`, for packetization-mode 0) costs: each size runs with
//!   slices cut to [`MAX_NAL_BYTES`] and with one slice per picture, and reports the bit rate,
//!   the largest NAL unit and the luma PSNR of the decoded P frames against their source.
//!
//! Run: `cargo bench -p ds-media --bench media` (optionally `-- 320x240` or `-- 640x480`).

use ds_media::fanout::{DestinationId, VideoFanout};
use ds_media::h264::{AccessUnit, H264Encoder, MAX_NAL_BYTES, NalKind, Picture, VideoConfig, draw_test_pattern};
use ds_media::packetize::{H264Packetizer, PacketizationMode};
use ds_media::rtp_session::{RtpSender, SenderConfig};
use openh264::formats::YUVSource;
use std::time::{Duration, Instant};

const FRAMES: usize = 150;
const KEYFRAMES: usize = 30;

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let sizes = [(320, 240, 384_000), (640, 480, 1_000_000)];
    for (width, height, bitrate_bps) in sizes {
        let name = format!("{width}x{height}");
        if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
            for max_nal_bytes in [Some(MAX_NAL_BYTES), None] {
                let config = VideoConfig { width, height, fps: 15, bitrate_bps, keyframe_interval_s: 0, max_nal_bytes };
                run(&name, config, Content::Pattern);
                run(&name, config, Content::Noise);
            }
        }
    }
}

/// Where the frames come from: the test pattern, or a noisy moving gradient that compresses about
/// as badly as a real camera's picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    Pattern,
    Noise,
}

fn noisy_picture(config: &VideoConfig, frame: u64) -> Picture {
    let (w, h) = (config.width as usize, config.height as usize);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ frame;
    let mut data = vec![128u8; w * h * 3 / 2];
    for (i, px) in data[..w * h].iter_mut().enumerate() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let gradient = (i % w + i / w + frame as usize * 3) as u8;
        *px = gradient.wrapping_add((seed & 0x1F) as u8);
    }
    Picture::from_i420(w, h, &data).expect("valid size")
}

struct Source {
    encoder: H264Encoder,
    content: Content,
    frame: u64,
    /// The picture the last unit was encoded from.
    picture: Picture,
}

impl Source {
    fn next(&mut self) -> AccessUnit {
        self.frame += 1;
        let config = *self.encoder.config();
        self.picture = match self.content {
            Content::Pattern => {
                let mut p = Picture::new(config.width as usize, config.height as usize);
                draw_test_pattern(&mut p, self.encoder.next_frame_index());
                p
            }
            Content::Noise => noisy_picture(&config, self.frame),
        };
        let unit = self.encoder.encode_picture(&self.picture);
        unit.expect("encode").unwrap_or_else(|| self.next())
    }
}

/// Luma PSNR of `decoded` against `source`, in dB.
fn psnr(source: &Picture, decoded: &impl YUVSource) -> f64 {
    let (w, h) = decoded.dimensions();
    let stride = decoded.strides().0;
    let mut sse = 0.0;
    for row in 0..h {
        for col in 0..w {
            let d = f64::from(source.y()[row * w + col]) - f64::from(decoded.y()[row * stride + col]);
            sse += d * d;
        }
    }
    let mse = sse / (w * h) as f64;
    if mse == 0.0 { 99.0 } else { 10.0 * (255.0 * 255.0 / mse).log10() }
}

fn run(name: &str, config: VideoConfig, content: Content) {
    let encoder = H264Encoder::new(config).expect("encoder");
    let mut encoder = Source { encoder, content, frame: 0, picture: Picture::new(0, 0) };
    let mut decoder = openh264::decoder::Decoder::new().expect("decoder");
    let (mut psnr_sum, mut decoded, mut largest) = (0.0, 0, 0);
    let mut fanout = VideoFanout::new(H264Packetizer::default());
    let sender = RtpSender::new(SenderConfig { ssrc: 1, payload_type: 96, initial_seq: 0, initial_timestamp: 0 });
    let _ = fanout.add_destination(DestinationId(1), sender.expect("sender"), PacketizationMode::NonInterleaved);

    let mut p_frames = Vec::with_capacity(FRAMES);
    let mut p_bytes = 0;
    for _ in 0..FRAMES {
        let start = Instant::now();
        let unit = encoder.next();
        p_frames.push(start.elapsed());
        p_bytes += unit.nals.iter().map(|n| n.len()).sum::<usize>();
        largest = largest.max(unit.nals.iter().map(|n| n.len()).max().unwrap_or(0));
        if let Ok(Some(picture)) = decoder.decode(&unit.to_annex_b()) {
            psnr_sum += psnr(&encoder.picture, &picture);
            decoded += 1;
        }
        fanout.send(&unit).expect("fanout");
    }
    p_frames.remove(0); // the first frame is the initial IDR
    let skipped = encoder.frame - FRAMES as u64;
    let span = encoder.frame; // frame intervals the sent units cover, skipped ones included

    let mut encode_idr = Vec::with_capacity(KEYFRAMES);
    let mut to_first_packet = Vec::with_capacity(KEYFRAMES);
    let mut idr_packets = 0;
    for _ in 0..KEYFRAMES {
        for _ in 0..4 {
            fanout.send(&encoder.next()).expect("fanout");
        }
        let start = Instant::now();
        encoder.encoder.force_keyframe();
        let unit = encoder.next();
        let encoded = start.elapsed();
        let out = fanout.send(&unit).expect("fanout");
        let first = out.first().expect("a packet");
        let elapsed = start.elapsed();
        assert!(unit.is_idr() && NalKind::of(&first.1[12..]) == Some(NalKind::Sps));
        encode_idr.push(encoded);
        to_first_packet.push(elapsed);
        idr_packets = out.len();
    }

    let encoder = &encoder.encoder;
    let slices = config.max_nal_bytes.map_or("one slice per picture".to_string(), |b| format!("slices <= {b} B"));
    println!("{name} {content:?} @ {} fps, {} kbit/s, {slices}", config.fps, config.bitrate_bps / 1000);
    println!("  sprop-parameter-sets={}", encoder.sprop_parameter_sets().unwrap_or_default());
    println!("  profile-level-id={}", encoder.profile_level_id().unwrap_or_default());
    report("  encode, P frame          ", &mut p_frames);
    println!("  frames skipped by rate control: {skipped}");
    report("  encode, forced IDR       ", &mut encode_idr);
    report("  force_keyframe -> 1st pkt", &mut to_first_packet);
    println!("  mean frame {} bytes; IDR = {idr_packets} RTP packets", p_bytes / FRAMES);
    let kbps = p_bytes as f64 * 8.0 * f64::from(config.fps) / span as f64 / 1000.0;
    let psnr = psnr_sum / f64::from(decoded.max(1));
    println!("  {kbps:.0} kbit/s sent, largest NAL unit {largest} bytes, luma PSNR {psnr:.2} dB (n={decoded})");
    println!(
        "  (a running Camera thread adds up to one frame interval, {} ms, before the IDR is encoded)",
        config.frame_interval().as_millis()
    );
}

fn report(label: &str, samples: &mut [Duration]) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = samples.iter().map(|&d| ms(d)).sum::<f64>() / samples.len() as f64;
    let median = ms(samples[samples.len() / 2]);
    let p95 = ms(samples[samples.len() * 95 / 100]);
    let max = ms(samples[samples.len() - 1]);
    println!(
        "{label}: mean {mean:6.2} ms, median {median:6.2} ms, p95 {p95:6.2} ms, max {max:6.2} ms (n={})",
        samples.len()
    );
}
