//! Microphone and speaker through GStreamer, with WebRTC echo cancellation where `webrtcdsp`
//! exists (gstreamer1.0-plugins-bad): the door unit's microphone sits centimetres from its
//! speaker.
//!
//! The speaker pipeline passes what it plays through `webrtcechoprobe`; the microphone pipeline's
//! `webrtcdsp` names that probe and subtracts the echo of it (delay-agnostic, so the sound card's
//! latency need not be known). Without `webrtcdsp` both run without it.
//!
//! ```text
//! speaker:    appsrc ! webrtcechoprobe name=P ! audioconvert ! audioresample ! alsasink device=D
//! microphone: alsasrc device=D ! audioconvert ! audioresample ! <S16 mono> ! webrtcdsp probe=P ! appsink
//! ```

use super::{BACKEND, init};
use crate::device::{AudioCapture, AudioPlayback, DeviceError};
use crate::tone::SampleRate;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::time::Duration;

/// Where the audio goes or comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioEndpoint {
    /// An ALSA device name (`default`, `plughw:1,0`).
    Alsa(String),
    /// Samples pushed or pulled by the program (tests: the "room" is simulated).
    App,
}

/// Echo cancellation settings of a microphone/speaker pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EchoCancel {
    /// Name of the probe element, unique in the process.
    pub probe: String,
}

fn caps(rate: SampleRate) -> String {
    format!("audio/x-raw,format=S16LE,layout=interleaved,rate={},channels=1", rate.hz())
}

/// The speaker pipeline's description.
pub fn playback_description(sink: &AudioEndpoint, rate: SampleRate, aec: Option<&EchoCancel>) -> String {
    let probe = aec.map(|a| format!(" ! webrtcechoprobe name={}", a.probe)).unwrap_or_default();
    let out = match sink {
        AudioEndpoint::Alsa(device) => format!("audioconvert ! audioresample ! alsasink device={device}"),
        AudioEndpoint::App => "fakesink sync=false".to_string(),
    };
    format!("appsrc name=src format=time caps={}{probe} ! {out}", caps(rate))
}

/// The microphone pipeline's description.
pub fn capture_description(source: &AudioEndpoint, rate: SampleRate, aec: Option<&EchoCancel>) -> String {
    let input = match source {
        AudioEndpoint::Alsa(device) => {
            format!("alsasrc device={device} ! audioconvert ! audioresample ! {}", caps(rate))
        }
        AudioEndpoint::App => format!("appsrc name=src format=time caps={}", caps(rate)),
    };
    let dsp = aec
        .map(|a| {
            format!(
                " ! webrtcdsp probe={} echo-cancel=true delay-agnostic=true noise-suppression=false \
                 gain-control=false high-pass-filter=false",
                a.probe
            )
        })
        .unwrap_or_default();
    format!("{input}{dsp} ! appsink name=sink sync=false")
}

/// Starts a pipeline from a description.
fn start(description: &str) -> Result<gst::Pipeline, DeviceError> {
    init()?;
    let open_error = |e: &dyn std::fmt::Display| DeviceError::open(BACKEND, description, e);
    let pipeline = gst::parse::launch(description)
        .map_err(|e| open_error(&e))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| open_error(&"not a pipeline"))?;
    pipeline.set_state(gst::State::Playing).map_err(|e| open_error(&e))?;
    Ok(pipeline)
}

fn element<T: IsA<gst::Element>>(pipeline: &gst::Pipeline, name: &str) -> Result<T, DeviceError> {
    pipeline
        .by_name(name)
        .and_then(|e| e.downcast::<T>().ok())
        .ok_or_else(|| DeviceError::open(BACKEND, name, "missing from the pipeline"))
}

/// Pushes 16-bit samples into an appsrc, stamped from `*position` samples on.
fn push(src: &gst_app::AppSrc, rate: SampleRate, position: &mut u64, samples: &[i16]) -> Result<(), DeviceError> {
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut buffer = gst::Buffer::from_mut_slice(bytes);
    let ns = |n: u64| gst::ClockTime::from_nseconds(n * 1_000_000_000 / u64::from(rate.hz()));
    let buf = buffer.make_mut();
    buf.set_pts(ns(*position));
    buf.set_duration(ns(samples.len() as u64));
    *position += samples.len() as u64;
    src.push_buffer(buffer).map(|_| ()).map_err(|e| DeviceError::io(BACKEND, "push samples", e))
}

/// A GStreamer speaker.
#[derive(Debug)]
pub struct GstPlayback {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    rate: SampleRate,
    position: u64,
}

impl GstPlayback {
    /// Starts the speaker pipeline.
    pub fn open(sink: &AudioEndpoint, rate: SampleRate, aec: Option<&EchoCancel>) -> Result<Self, DeviceError> {
        let pipeline = start(&playback_description(sink, rate, aec))?;
        let src = element(&pipeline, "src")?;
        Ok(GstPlayback { pipeline, src, rate, position: 0 })
    }
}

impl AudioPlayback for GstPlayback {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn write_frame(&mut self, samples: &[i16]) -> Result<(), DeviceError> {
        push(&self.src, self.rate, &mut self.position, samples)
    }

    fn finish(&mut self) -> Result<(), DeviceError> {
        let _ = self.src.end_of_stream();
        self.pipeline.set_state(gst::State::Null).map(|_| ()).map_err(|e| DeviceError::io(BACKEND, "stop", e))
    }
}

impl Drop for GstPlayback {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// A GStreamer microphone. With [`AudioEndpoint::App`], [`GstCapture::inject`] feeds it.
#[derive(Debug)]
pub struct GstCapture {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    src: Option<gst_app::AppSrc>,
    rate: SampleRate,
    position: u64,
    pending: Vec<i16>,
    timeout: Duration,
}

impl GstCapture {
    /// Starts the microphone pipeline; reads wait at most `timeout` for a frame.
    pub fn open(
        source: &AudioEndpoint,
        rate: SampleRate,
        aec: Option<&EchoCancel>,
        timeout: Duration,
    ) -> Result<Self, DeviceError> {
        let pipeline = start(&capture_description(source, rate, aec))?;
        let sink = element(&pipeline, "sink")?;
        let src = match source {
            AudioEndpoint::App => Some(element(&pipeline, "src")?),
            AudioEndpoint::Alsa(_) => None,
        };
        Ok(GstCapture { pipeline, sink, src, rate, position: 0, pending: vec![], timeout })
    }

    /// Feeds samples to an [`AudioEndpoint::App`] microphone (what the room sounds like).
    pub fn inject(&mut self, samples: &[i16]) -> Result<(), DeviceError> {
        let src = self.src.as_ref().ok_or_else(|| DeviceError::io(BACKEND, "inject", "not an app microphone"))?;
        push(src, self.rate, &mut self.position, samples)
    }
}

impl AudioCapture for GstCapture {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn read_frame(&mut self) -> Result<Option<Vec<i16>>, DeviceError> {
        let n = self.rate.frame_samples();
        let wait = gst::ClockTime::from_nseconds(self.timeout.as_nanos().min(u128::from(u64::MAX)) as u64);
        while self.pending.len() < n {
            let Some(sample) = self.sink.try_pull_sample(wait) else {
                return Ok(None);
            };
            let buffer = sample.buffer().ok_or_else(|| DeviceError::io(BACKEND, "pull samples", "no buffer"))?;
            let map = buffer.map_readable().map_err(|e| DeviceError::io(BACKEND, "map samples", e))?;
            self.pending.extend(map.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
        }
        Ok(Some(self.pending.drain(..n).collect()))
    }
}

impl Drop for GstCapture {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::rms;

    /// Deterministic white-ish noise, a stand-in for speech that an echo canceller can learn.
    fn noise(seed: &mut u64, n: usize, amplitude: i64) -> Vec<i16> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                ((*seed % (2 * amplitude as u64 + 1)) as i64 - amplitude) as i16
            })
            .collect()
    }

    #[test]
    fn pipelines_put_the_probe_on_the_speaker_and_the_dsp_on_the_microphone() {
        let aec = EchoCancel { probe: "p1".into() };
        let alsa = AudioEndpoint::Alsa("plughw:1,0".into());
        let play = playback_description(&alsa, SampleRate::Hz48000, Some(&aec));
        assert!(play.contains("webrtcechoprobe name=p1 ! audioconvert ! audioresample ! alsasink device=plughw:1,0"));
        let mic = capture_description(&alsa, SampleRate::Hz8000, Some(&aec));
        assert!(mic.starts_with("alsasrc device=plughw:1,0 ! audioconvert ! audioresample ! audio/x-raw,format=S16LE"));
        assert!(mic.contains("webrtcdsp probe=p1 echo-cancel=true"));
        assert!(!capture_description(&alsa, SampleRate::Hz8000, None).contains("webrtcdsp"));
    }

    #[test]
    fn the_echo_of_the_speaker_is_removed_from_the_microphone() {
        if !super::super::has_element("webrtcdsp").unwrap() {
            panic!("webrtcdsp is missing: install gstreamer1.0-plugins-bad");
        }
        let rate = SampleRate::Hz8000;
        let aec = EchoCancel { probe: "ds-test-probe".into() };
        let mut speaker = GstPlayback::open(&AudioEndpoint::App, rate, Some(&aec)).unwrap();
        let wait = Duration::from_secs(20);
        let mut mic = GstCapture::open(&AudioEndpoint::App, rate, Some(&aec), wait).unwrap();
        let mut seed = 0x1234_5678_9ABC_DEF1;
        let (mut before, mut after) = (vec![], vec![]);
        // 30 ms from speaker to microphone (sound card buffers and a few centimetres of air);
        // 10 s for the canceller to converge, judged over the last 2 s.
        let (delay, frames) = (240, 500);
        let mut room = vec![0i16; delay];
        for i in 0..frames {
            // The far end's voice plays, and the room brings it back at half level, `delay` later.
            let far = noise(&mut seed, rate.frame_samples(), 8000);
            speaker.write_frame(&far).unwrap();
            room.extend(far.iter().map(|s| s / 2));
            let echo: Vec<i16> = room.drain(..far.len()).collect();
            mic.inject(&echo).unwrap();
            let out = mic.read_frame().unwrap().expect("a frame");
            assert_eq!(out.len(), rate.frame_samples());
            if (10..20).contains(&i) {
                before.push(rms(&echo))
            } else if i >= frames - 100 {
                after.push(rms(&out))
            }
        }
        let level = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (echo, residue) = (level(&before), level(&after));
        let attenuation_db = 20.0 * (echo / residue.max(1.0)).log10();
        eprintln!("echo {echo:.0} rms, after webrtcdsp {residue:.0} rms: {attenuation_db:.1} dB less");
        // Measured here: 27 dB at echo delays from 10 to 100 ms.
        assert!(attenuation_db > 20.0, "only {attenuation_db:.1} dB of echo removed");
    }
}
