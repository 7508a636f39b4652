//! Mouth-to-ear audio latency through the jitter buffer, on simulated time: 60 s of 20 ms frames
//! sent over a network with 2 ms base delay and uniform random jitter, played every 20 ms.
//!
//! Mouth-to-ear = one frame of capture (20 ms, the first sample waits for the last) + network +
//! jitter buffer + one ALSA period on the speaker (20 ms). Codec look-ahead (Opus 2.5 ms) and
//! the sound card's own latency are not included. Run with
//! `cargo bench -p ds-media --bench playout`.

use bytes::Bytes;
use ds_media::jitter::{Arrival, JitterBuffer, JitterConfig, Playout};
use ds_media::tone::SampleRate;
use std::time::{Duration, Instant};

const FRAMES: u32 = 3000;
const FRAME: Duration = Duration::from_millis(20);
const BASE_DELAY: Duration = Duration::from_millis(2);
/// Capture of one frame plus one playback period.
const DEVICE_DELAY: Duration = Duration::from_millis(40);

/// xorshift64: repeatable noise.
struct Noise(u64);

impl Noise {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

struct Outcome {
    mean: Duration,
    p95: Duration,
    concealed: u64,
    late: u64,
}

/// Plays the stream through a jitter buffer; returns the delay from sending to playing each frame.
fn run(jitter_ms: u64, loss_per_mille: u64) -> Outcome {
    let t0 = Instant::now();
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut arrivals: Vec<(Instant, u32)> = vec![];
    for i in 0..FRAMES {
        let lost = noise.below(1000) < loss_per_mille;
        let jitter = Duration::from_millis(noise.below(jitter_ms + 1));
        if !lost {
            arrivals.push((t0 + FRAME * i + BASE_DELAY + jitter, i));
        }
    }
    arrivals.sort();
    let mut pending = arrivals.into_iter().peekable();
    let mut buffer = JitterBuffer::new(JitterConfig::audio(SampleRate::Hz8000)).expect("config");
    let mut delays = vec![];
    let mut stats_at_last_frame = buffer.stats();
    // The playback clock ticks 7 ms out of phase with the sender's.
    for tick in 0..FRAMES + 20 {
        let now = t0 + FRAME * tick + Duration::from_millis(7);
        while let Some(&(at, i)) = pending.peek()
            && at <= now
        {
            let payload = Bytes::from(i.to_be_bytes().to_vec());
            buffer.push(at, Arrival { ssrc: 1, seq: i as u16, timestamp: i * 160, payload_type: 0, payload });
            pending.next();
        }
        if let Playout::Frame(f) = buffer.pop(now) {
            let index = u32::from_be_bytes(f.payload[..4].try_into().expect("4 bytes"));
            delays.push(now - (t0 + FRAME * index));
            stats_at_last_frame = buffer.stats();
        }
    }
    delays.sort();
    // Counted up to the last frame: after it the buffer conceals until it calls the stream over.
    let stats = stats_at_last_frame;
    Outcome {
        mean: delays.iter().sum::<Duration>() / delays.len().max(1) as u32,
        p95: delays.get(delays.len() * 95 / 100).copied().unwrap_or_default(),
        concealed: stats.lost + stats.underruns,
        late: stats.late,
    }
}

fn main() {
    println!("mouth-to-ear through the jitter buffer: {FRAMES} frames of 20 ms, 2 ms base delay");
    println!(
        "{:<26} {:>14} {:>14} {:>14} {:>10} {:>6}",
        "network", "send→play avg", "send→play p95", "mouth-to-ear", "concealed", "late"
    );
    for (jitter, loss) in [(0, 0), (10, 0), (30, 0), (60, 0), (30, 10)] {
        let o = run(jitter, loss);
        let label = format!("jitter 0–{jitter} ms, loss {:.1}%", loss as f64 / 10.0);
        println!(
            "{:<26} {:>11.1} ms {:>11.1} ms {:>11.1} ms {:>10} {:>6}",
            label,
            o.mean.as_secs_f64() * 1e3,
            o.p95.as_secs_f64() * 1e3,
            (o.mean + DEVICE_DELAY).as_secs_f64() * 1e3,
            o.concealed,
            o.late
        );
    }
}
