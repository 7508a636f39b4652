//! The speaker thread: received audio of the answered call through ds-media's
//! [`AudioPlayout`] (jitter buffer, decoders, concealment), one 20 ms frame
//! every 20 ms, to the configured speaker.
//!
//! The speaker is opened once at 48 kHz and kept; a G.711 call's 8 kHz
//! frames are brought up to it by linear interpolation. Frames are written
//! only while a call plays, so a WAV speaker records just the calls.

use ds_media::backends::{self, SpeakerBackend};
use ds_media::device::{AudioPlayback, DeviceError};
use ds_media::jitter::Arrival;
use ds_media::playout::{AudioCodec, AudioPlayout};
use ds_media::tone::SampleRate;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The speaker's rate.
const SPEAKER_RATE: SampleRate = SampleRate::Hz48000;
const FRAME: Duration = Duration::from_millis(20);
/// Further behind than this, the playout clock restarts instead of catching up.
const MAX_LAG: Duration = Duration::from_millis(200);

/// What the speaker thread is told.
#[derive(Debug)]
pub enum SpeakerInput {
    /// A call's audio starts: its payload types, all at `rate`.
    Start {
        /// The codec rate.
        rate: SampleRate,
        /// Payload type → codec.
        codecs: Vec<(u8, AudioCodec)>,
    },
    /// The call's audio stops.
    Stop,
    /// A received RTP packet and when it arrived.
    Packet(Instant, Arrival),
    /// Finish the speaker and end the thread.
    Quit,
}

/// The running speaker thread; dropping it finishes the speaker.
#[derive(Debug)]
pub struct Speaker {
    tx: Sender<SpeakerInput>,
    handle: Option<JoinHandle<()>>,
}

impl Speaker {
    /// Opens the speaker and starts its thread.
    pub fn open(backend: &SpeakerBackend) -> Result<Speaker, DeviceError> {
        let speaker = backends::open_speaker(backend, SPEAKER_RATE)?;
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("ds-speaker".into())
            .spawn(move || run(speaker, &rx))
            .map_err(|e| DeviceError::io("thread", "spawn", e))?;
        Ok(Speaker { tx, handle: Some(handle) })
    }

    /// Where the RTP receiver and the media task send to.
    pub fn sender(&self) -> Sender<SpeakerInput> {
        self.tx.clone()
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        let _ = self.tx.send(SpeakerInput::Quit);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

struct Playing {
    playout: AudioPlayout,
    next: Instant,
}

fn run(mut speaker: Box<dyn AudioPlayback>, rx: &Receiver<SpeakerInput>) {
    let mut playing: Option<Playing> = None;
    loop {
        let input = match &playing {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(p) => rx.recv_timeout(p.next.saturating_duration_since(Instant::now())),
        };
        match input {
            Ok(SpeakerInput::Start { rate, codecs }) => match AudioPlayout::new(rate, &codecs) {
                Ok(playout) => playing = Some(Playing { playout, next: Instant::now() + FRAME }),
                Err(e) => tracing::warn!(error = %e, "no playout for this call"),
            },
            Ok(SpeakerInput::Stop) => {
                if let Some(p) = playing.take() {
                    tracing::info!(stats = ?p.playout.stats(), "playout stopped");
                }
            }
            Ok(SpeakerInput::Packet(at, arrival)) => {
                if let Some(p) = playing.as_mut() {
                    p.playout.push(at, arrival);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Ok(SpeakerInput::Quit) | Err(RecvTimeoutError::Disconnected) => break,
        }
        if let Some(p) = playing.as_mut() {
            play_due(p, speaker.as_mut());
        }
    }
    if let Err(e) = speaker.finish() {
        tracing::warn!(error = %e, "speaker not finished cleanly");
    }
}

/// Plays every frame whose time has come.
fn play_due(p: &mut Playing, speaker: &mut dyn AudioPlayback) {
    let now = Instant::now();
    if now > p.next + MAX_LAG {
        p.next = now;
    }
    while p.next <= now {
        let frame = p.playout.next_frame(p.next);
        if let Err(e) = speaker.write_frame(&upsample(&frame, SPEAKER_RATE.frame_samples())) {
            tracing::warn!(error = %e, "speaker write failed");
        }
        p.next += FRAME;
    }
}

/// `frame` stretched to `len` samples by linear interpolation.
pub fn upsample(frame: &[i16], len: usize) -> Vec<i16> {
    if frame.len() == len || frame.is_empty() {
        return frame.to_vec();
    }
    let step = frame.len() as f64 / len as f64;
    (0..len)
        .map(|i| {
            let x = i as f64 * step;
            let (k, f) = (x as usize, x.fract());
            let a = f64::from(frame[k]);
            let b = f64::from(*frame.get(k + 1).unwrap_or(&frame[k]));
            (a + (b - a) * f).round() as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::upsample;

    #[test]
    fn upsampling_keeps_the_samples_and_interpolates_between() {
        let up = upsample(&[0, 600, 1200], 18);
        assert_eq!(up.len(), 18);
        assert_eq!((up[0], up[6], up[12]), (0, 600, 1200));
        assert_eq!(up[3], 300);
        assert_eq!(*up.last().unwrap(), 1200);
        assert_eq!(upsample(&[5; 960], 960), vec![5; 960]);
    }
}
