//! The simulated camera and microphone as threads.
//!
//! This is the edge where the real clock is read: each thread sleeps until its next frame is due
//! and sends what it made over a `std::sync::mpsc` channel. The decisions (which frame is due,
//! whether to force a key frame) live in [`FramePacer`] and [`CameraCore`], which take time as a
//! value and are tested without threads. A thread ends when [`Camera::stop`] / [`Microphone::stop`]
//! is called, its handle is dropped, or the receiving end of its channel is gone.

use crate::h264::{AccessUnit, H264Encoder, H264Error, VideoConfig};
use crate::tone::{FRAME_MS, SampleRate, ToneSource};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What went wrong with a source thread.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The video encoder failed.
    #[error("camera: {0}")]
    Video(#[from] H264Error),
    /// The thread could not be started.
    #[error("cannot start the {what} thread: {source}")]
    Spawn {
        /// "camera" or "microphone".
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The thread panicked.
    #[error("the {what} thread panicked")]
    Panicked {
        /// "camera" or "microphone".
        what: &'static str,
    },
}

/// One due frame: its index, and how many frames before it were skipped because the thread fell
/// behind (frames are dropped rather than sent in a burst).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick {
    /// Index of the frame, counting from 0 at the start.
    pub frame: u64,
    /// Frames not produced since the previous tick.
    pub skipped: u64,
}

/// Frame `n` is due at `start + n × period`.
#[derive(Clone, Copy, Debug)]
pub struct FramePacer {
    start: Instant,
    period: Duration,
    next: u64,
}

impl FramePacer {
    /// A pacer whose frame 0 is due at `start`.
    pub fn new(start: Instant, period: Duration) -> Self {
        FramePacer { start, period: period.max(Duration::from_micros(100)), next: 0 }
    }

    /// When the next frame is due.
    pub fn next_deadline(&self) -> Instant {
        let nanos = u64::try_from(self.period.as_nanos()).unwrap_or(u64::MAX);
        self.start + Duration::from_nanos(nanos.saturating_mul(self.next))
    }

    /// The frame due at `now`, if any; when more than one is due, the latest one.
    pub fn poll(&mut self, now: Instant) -> Option<Tick> {
        if now < self.next_deadline() {
            return None;
        }
        let elapsed = now.saturating_duration_since(self.start).as_nanos();
        let latest = (elapsed / self.period.as_nanos()) as u64;
        let tick = Tick { frame: latest, skipped: latest - self.next };
        self.next = latest + 1;
        Some(tick)
    }
}

/// Asks the camera for a key frame; cheap to clone and to call from any thread.
#[derive(Clone, Debug, Default)]
pub struct KeyframeTrigger(Arc<AtomicBool>);

impl KeyframeTrigger {
    /// Makes the camera's next frame an IDR with SPS and PPS.
    pub fn request(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Takes a pending request.
    pub fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// The camera's work for one frame: honour a key-frame request, then encode.
#[derive(Debug)]
pub struct CameraCore {
    encoder: H264Encoder,
    trigger: KeyframeTrigger,
}

impl CameraCore {
    /// A camera for `config`.
    pub fn new(config: VideoConfig) -> Result<Self, H264Error> {
        Ok(CameraCore { encoder: H264Encoder::new(config)?, trigger: KeyframeTrigger::default() })
    }

    /// The trigger that asks this camera for key frames.
    pub fn trigger(&self) -> KeyframeTrigger {
        self.trigger.clone()
    }

    /// Encodes the frame of `tick` (frames the pacer skipped are left out of the timestamps), as
    /// a key frame if one was requested.
    pub fn next_unit(&mut self, tick: Tick) -> Result<Option<AccessUnit>, H264Error> {
        self.encoder.skip_frames(tick.frame.saturating_sub(self.encoder.next_frame_index()));
        if self.trigger.take() {
            self.encoder.force_keyframe();
        }
        self.encoder.encode_next()
    }
}

/// Runs `step` each time the pacer says a frame is due until `step` says stop or a message
/// (or hang-up) arrives on `control`.
fn run_paced(period: Duration, control: mpsc::Receiver<()>, mut step: impl FnMut(Tick) -> bool) {
    let mut pacer = FramePacer::new(Instant::now(), period);
    loop {
        let wait = pacer.next_deadline().saturating_duration_since(Instant::now());
        match control.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        if let Some(tick) = pacer.poll(Instant::now())
            && !step(tick)
        {
            return;
        }
    }
}

/// A running source thread.
#[derive(Debug)]
struct Worker {
    what: &'static str,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<Result<(), SourceError>>>,
}

impl Worker {
    fn spawn(
        what: &'static str,
        body: impl FnOnce(mpsc::Receiver<()>) -> Result<(), SourceError> + Send + 'static,
    ) -> Result<Self, SourceError> {
        let (stop, control) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("ds-{what}"))
            .spawn(move || body(control))
            .map_err(|source| SourceError::Spawn { what, source })?;
        Ok(Worker { what, stop: Some(stop), thread: Some(thread) })
    }

    fn stop(&mut self) -> Result<(), SourceError> {
        drop(self.stop.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(SourceError::Panicked { what: self.what }),
            None => Ok(()),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The simulated camera: the test pattern encoded at the configured frame rate.
#[derive(Debug)]
pub struct Camera {
    trigger: KeyframeTrigger,
    worker: Worker,
}

impl Camera {
    /// Starts the camera thread; access units arrive on `tx`. The encoder is made here, so a bad
    /// configuration is reported at once.
    pub fn spawn(config: VideoConfig, tx: Sender<AccessUnit>) -> Result<Camera, SourceError> {
        let mut core = CameraCore::new(config)?;
        let trigger = core.trigger();
        let worker = Worker::spawn("camera", move |control| {
            let mut result = Ok(());
            run_paced(config.frame_interval(), control, |tick| match core.next_unit(tick) {
                Ok(Some(unit)) => tx.send(unit).is_ok(),
                Ok(None) => true,
                Err(e) => {
                    result = Err(e.into());
                    false
                }
            });
            result
        })?;
        Ok(Camera { trigger, worker })
    }

    /// A trigger for key frames, to hand to whoever adds destinations.
    pub fn keyframe_trigger(&self) -> KeyframeTrigger {
        self.trigger.clone()
    }

    /// Makes the next frame a key frame.
    pub fn request_keyframe(&self) {
        self.trigger.request();
    }

    /// Stops the thread and reports how it ended.
    pub fn stop(mut self) -> Result<(), SourceError> {
        self.worker.stop()
    }
}

/// 20 ms of microphone audio.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioFrame {
    /// Index of the frame since the microphone started.
    pub index: u64,
    /// Mono PCM samples.
    pub samples: Vec<i16>,
    /// Their sample rate.
    pub rate: SampleRate,
}

/// The simulated microphone: a tone, one frame every 20 ms.
#[derive(Debug)]
pub struct Microphone {
    worker: Worker,
}

impl Microphone {
    /// Starts the microphone thread; frames arrive on `tx`. [`crate::fanout::AudioFanout`] takes
    /// 48 kHz frames: give it a [`SampleRate::Hz48000`] tone.
    pub fn spawn(mut tone: ToneSource, tx: Sender<AudioFrame>) -> Result<Microphone, SourceError> {
        let period = Duration::from_millis(u64::from(FRAME_MS));
        let worker = Worker::spawn("microphone", move |control| {
            run_paced(period, control, |tick| {
                let frame = AudioFrame { index: tick.frame, samples: tone.next_frame(), rate: tone.rate() };
                tx.send(frame).is_ok()
            });
            Ok(())
        })?;
        Ok(Microphone { worker })
    }

    /// Stops the thread.
    pub fn stop(mut self) -> Result<(), SourceError> {
        self.worker.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_is_due_on_each_period_and_skips_when_behind() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut pacer = FramePacer::new(t0, ms(50));
        assert_eq!(pacer.poll(t0), Some(Tick { frame: 0, skipped: 0 }));
        assert_eq!(pacer.poll(t0 + ms(49)), None);
        assert_eq!(pacer.next_deadline(), t0 + ms(50));
        assert_eq!(pacer.poll(t0 + ms(50)), Some(Tick { frame: 1, skipped: 0 }));
        // Late by three periods: one frame now, the three missed ones are dropped.
        assert_eq!(pacer.poll(t0 + ms(260)), Some(Tick { frame: 5, skipped: 3 }));
        assert_eq!(pacer.next_deadline(), t0 + ms(300));
        assert_eq!(pacer.poll(t0 + ms(299)), None);
    }

    #[test]
    fn a_trigger_makes_the_next_frame_a_key_frame_once() {
        let config = VideoConfig { width: 160, height: 120, fps: 10, keyframe_interval_s: 0, ..VideoConfig::default() };
        let mut core = CameraCore::new(config).unwrap();
        let tick = |frame| Tick { frame, skipped: 0 };
        assert!(core.next_unit(tick(0)).unwrap().unwrap().is_idr());
        assert!(!core.next_unit(tick(1)).unwrap().unwrap().is_idr());
        let trigger = core.trigger();
        trigger.request();
        trigger.request();
        let forced = core.next_unit(tick(2)).unwrap().unwrap();
        assert!(forced.is_idr() && forced.starts_with_parameter_sets());
        // Frames 3 and 4 were dropped by the pacer: frame 5 is stamped as frame 5.
        let later = core.next_unit(Tick { frame: 5, skipped: 2 }).unwrap().unwrap();
        assert!(!later.is_idr());
        assert_eq!((later.frame_index, later.timestamp_90k), (5, 5 * 9000));
    }

    #[test]
    fn threads_deliver_frames_until_stopped() {
        let config = VideoConfig { width: 160, height: 120, fps: 60, keyframe_interval_s: 0, ..VideoConfig::default() };
        let (vtx, vrx) = mpsc::channel();
        let camera = Camera::spawn(config, vtx).unwrap();
        let (atx, arx) = mpsc::channel();
        let mic = Microphone::spawn(ToneSource::new(440.0, SampleRate::Hz48000, 1000).unwrap(), atx).unwrap();
        let wait = Duration::from_secs(30); // liveness only: generous for a loaded machine
        let first = vrx.recv_timeout(wait).unwrap();
        assert!(first.is_idr());
        camera.request_keyframe();
        let forced = (0..10).map(|_| vrx.recv_timeout(wait).unwrap()).find(AccessUnit::is_idr);
        assert!(forced.is_some_and(|u| u.frame_index > 0));
        let frame = arx.recv_timeout(wait).unwrap();
        assert_eq!(frame.samples.len(), 960);
        camera.stop().unwrap();
        mic.stop().unwrap();
        // After stop, the channels drain and then report the senders gone.
        while vrx.recv_timeout(wait).is_ok() {}
        while arx.recv_timeout(wait).is_ok() {}
    }

    #[test]
    fn bad_camera_configuration_is_reported_before_the_thread_starts() {
        let (tx, _rx) = mpsc::channel();
        let bad = VideoConfig { fps: 0, ..VideoConfig::default() };
        assert!(matches!(Camera::spawn(bad, tx), Err(SourceError::Video(H264Error::Config { field: "fps", .. }))));
    }
}
