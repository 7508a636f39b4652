//! Encode CPU per frame at 640×480, 15 fps, 500 kbit/s, a key frame every 2 s: OpenH264 (in
//! process, one thread) against GStreamer's `x264enc tune=zerolatency` (one thread, two speed
//! presets), side by side in one run on the same pictures.
//!
//! CPU time is the sum over all of the process's threads of the time on CPU
//! (`/proc/self/task/*/schedstat`), so the GStreamer streaming thread counts too. Run with
//! `cargo bench -p ds-media --features gst --bench encode`.

use ds_media::h264::{H264Encoder, Picture, VideoConfig, draw_test_pattern};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use openh264::formats::YUVSource;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
const FPS: u32 = 15;
const FRAMES: usize = 150;
const WARMUP: usize = 15;

/// One encoder's figures.
struct Figures {
    name: String,
    cpu_per_frame: Duration,
    wall_per_frame: Duration,
    bytes: usize,
}

/// Time on CPU of each of this process's threads, by thread id.
fn thread_cpu() -> HashMap<String, Duration> {
    let tasks = std::fs::read_dir("/proc/self/task").expect("procfs");
    tasks
        .flatten()
        .filter_map(|t| {
            let stat = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
            let nanos = stat.split_whitespace().next()?.parse::<u64>().ok()?;
            Some((t.file_name().to_string_lossy().into_owned(), Duration::from_nanos(nanos)))
        })
        .collect()
}

/// CPU time the threads alive now spent since `before` (threads that ended in between are lost,
/// so nothing is torn down while measuring).
fn cpu_since(before: &HashMap<String, Duration>) -> Duration {
    thread_cpu().into_iter().map(|(tid, now)| now.saturating_sub(before.get(&tid).copied().unwrap_or_default())).sum()
}

fn video() -> VideoConfig {
    VideoConfig {
        width: WIDTH,
        height: HEIGHT,
        fps: FPS,
        bitrate_bps: 500_000,
        keyframe_interval_s: 2,
        ..VideoConfig::default()
    }
}

/// The moving test pattern; with `noise`, every luma sample gets ±`noise` of deterministic
/// pseudo-random noise, as a camera sensor in a dim doorway gives (the clean pattern is far
/// easier to code than any camera picture).
fn pictures(noise: u8) -> Vec<Picture> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    (0..FRAMES + WARMUP)
        .map(|i| {
            let mut p = Picture::new(WIDTH as usize, HEIGHT as usize);
            draw_test_pattern(&mut p, i as u64);
            if noise == 0 {
                return p;
            }
            let mut bytes = i420_bytes(&p);
            let luma = (WIDTH * HEIGHT) as usize;
            for b in &mut bytes[..luma] {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let n = (seed % (2 * u64::from(noise) + 1)) as i16 - i16::from(noise);
                *b = (i16::from(*b) + n).clamp(16, 235) as u8;
            }
            Picture::from_i420(WIDTH as usize, HEIGHT as usize, &bytes).expect("same size")
        })
        .collect()
}

/// Times `encode` over the pictures after the warm-up ones; `encode` returns the bytes made.
fn measure(name: String, pictures: &[Picture], mut encode: impl FnMut(usize, &Picture) -> usize) -> Figures {
    for (i, p) in pictures[..WARMUP].iter().enumerate() {
        encode(i, p);
    }
    let (cpu0, wall0) = (thread_cpu(), Instant::now());
    let bytes = pictures[WARMUP..].iter().enumerate().map(|(i, p)| encode(WARMUP + i, p)).sum();
    let n = (pictures.len() - WARMUP) as u32;
    Figures { name, cpu_per_frame: cpu_since(&cpu0) / n, wall_per_frame: wall0.elapsed() / n, bytes }
}

fn openh264(pictures: &[Picture]) -> Figures {
    let mut encoder = H264Encoder::new(video()).expect("encoder");
    measure("openh264 (1 thread)".into(), pictures, |_, p| {
        encoder.encode_picture(p).expect("encode").map_or(0, |u| u.to_annex_b().len())
    })
}

fn i420_bytes(p: &Picture) -> Vec<u8> {
    [p.y(), p.u(), p.v()].concat()
}

fn x264(pictures: &[Picture], preset: &str) -> Figures {
    let description = format!(
        "appsrc name=src format=time caps=video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate={FPS}/1 \
         ! x264enc tune=zerolatency speed-preset={preset} bitrate=500 key-int-max={} threads=1 aud=false \
         ! video/x-h264,profile=constrained-baseline ! appsink name=sink sync=false",
        2 * FPS
    );
    let pipeline = gst::parse::launch(&description).expect("pipeline").downcast::<gst::Pipeline>().unwrap();
    let src = pipeline.by_name("src").unwrap().downcast::<gst_app::AppSrc>().unwrap();
    let sink = pipeline.by_name("sink").unwrap().downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).expect("playing");
    // Copy the pictures into buffers before timing, as a camera would hand them over.
    let buffers: Vec<gst::Buffer> = pictures.iter().map(|p| gst::Buffer::from_mut_slice(i420_bytes(p))).collect();
    let figures = measure(format!("x264enc {preset} (1 thread)"), pictures, |i, _| {
        let mut buffer = buffers[i].clone();
        let pts = gst::ClockTime::from_nseconds(i as u64 * 1_000_000_000 / u64::from(FPS));
        buffer.make_mut().set_pts(pts);
        src.push_buffer(buffer).expect("push");
        let sample = sink.pull_sample().expect("an encoded frame per frame (zerolatency)");
        sample.buffer().map_or(0, |b| b.size())
    });
    let _ = pipeline.set_state(gst::State::Null);
    figures
}

fn main() {
    gst::init().expect("GStreamer");
    for (content, noise) in [("the clean test pattern", 0), ("the test pattern with ±6 luma noise", 6)] {
        let pictures = pictures(noise);
        let results = [openh264(&pictures), x264(&pictures, "ultrafast"), x264(&pictures, "medium")];
        println!("encode {WIDTH}x{HEIGHT}@{FPS} fps, 500 kbit/s target, {FRAMES} frames of {content}");
        print_table(results);
    }
}

fn print_table(results: [Figures; 3]) {
    let budget = Duration::from_secs(1) / FPS;
    println!("{:<28} {:>12} {:>12} {:>14} {:>12}", "encoder", "CPU/frame", "wall/frame", "% of a core", "kbit/s");
    for f in results {
        let share = 100.0 * f.cpu_per_frame.as_secs_f64() / budget.as_secs_f64();
        let kbps = f.bytes as f64 * 8.0 * f64::from(FPS) / FRAMES as f64 / 1000.0;
        println!(
            "{:<28} {:>9.2} ms {:>9.2} ms {:>13.1}% {:>12.0}",
            f.name,
            f.cpu_per_frame.as_secs_f64() * 1e3,
            f.wall_per_frame.as_secs_f64() * 1e3,
            share,
            kbps
        );
    }
}
