//! The camera and microphone threads: opened once at start and kept for the
//! life of the station, paused while no call needs them (a thread per call
//! grew the daemon's memory call after call).
//!
//! Each thread owns its device ([`ds_media::backends`]) and takes
//! [`Control`] messages; it sends what it captures to the media task. The
//! simulated devices return at once, so their threads pace themselves with
//! ds-media's [`FramePacer`]; real devices block until a frame is there.

use ds_media::backends::{self, Camera, CameraBackend, MicrophoneBackend};
use ds_media::device::AudioCapture;
use ds_media::h264::{AccessUnit, SdpParameters, VideoConfig};
use ds_media::sources::{AudioFrame, FramePacer};
use ds_media::tone::SampleRate;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// The microphone's rate: the audio fan-out encodes 48 kHz frames.
pub const MIC_RATE: SampleRate = SampleRate::Hz48000;
/// One audio frame.
const FRAME: Duration = Duration::from_millis(20);
/// After a device error, wait this long before reading again.
const ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// What a source thread is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Capture and send (true) or pause (false).
    Run(bool),
    /// Make the next video frame an IDR with SPS and PPS.
    Keyframe,
    /// Encode with these settings from now on (a peer at a lower H.264
    /// level, and back); the next frame is an IDR with the new SPS.
    Reconfigure(VideoConfig),
    /// End the thread.
    Quit,
}

/// A frame from a source thread.
#[derive(Debug)]
pub enum Frame {
    /// An access unit from the camera.
    Video(AccessUnit),
    /// 20 ms from the microphone.
    Audio(AudioFrame),
    /// The camera took a [`Control::Reconfigure`] (or refused it): the
    /// units after this one have the settings it now has.
    Reconfigured,
}

/// A running source thread; dropping it stops the thread.
#[derive(Debug)]
pub struct SourceThread {
    control: Sender<Control>,
    handle: Option<JoinHandle<()>>,
}

impl SourceThread {
    /// A handle that can send controls from elsewhere (the RTCP receiver).
    pub fn controller(&self) -> Sender<Control> {
        self.control.clone()
    }

    /// Sends a control; a thread that ended is logged once by itself.
    pub fn send(&self, control: Control) {
        let _ = self.control.send(control);
    }
}

impl Drop for SourceThread {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Quit);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// Something a source thread reads frames from.
trait Device: Send + 'static {
    /// Returns immediately (the thread must pace it).
    fn paced(&self) -> bool;
    /// The next frame, `Ok(None)` when none came in `timeout`.
    fn read(&mut self, timeout: Duration, index: u64) -> Result<Option<Frame>, String>;
    /// A key-frame request.
    fn keyframe(&mut self) {}
    /// New video settings; `Err` keeps the old ones.
    fn reconfigure(&mut self, video: VideoConfig) -> Result<(), String> {
        let _ = video;
        Err("not a camera".into())
    }
}

struct CameraDevice {
    camera: Camera,
    paced: bool,
}

impl Device for CameraDevice {
    fn paced(&self) -> bool {
        self.paced
    }
    fn read(&mut self, timeout: Duration, _: u64) -> Result<Option<Frame>, String> {
        self.camera.next_unit(timeout).map(|u| u.map(Frame::Video)).map_err(|e| e.to_string())
    }
    fn keyframe(&mut self) {
        self.camera.request_keyframe();
    }
    fn reconfigure(&mut self, video: VideoConfig) -> Result<(), String> {
        let refit = self.camera.reconfigure(video).map_err(|e| e.to_string())?;
        tracing::info!(width = video.width, height = video.height, fps = video.fps, ?refit, "camera reconfigured");
        Ok(())
    }
}

struct MicDevice {
    mic: Box<dyn AudioCapture>,
    paced: bool,
}

impl Device for MicDevice {
    fn paced(&self) -> bool {
        self.paced
    }
    fn read(&mut self, _: Duration, index: u64) -> Result<Option<Frame>, String> {
        let samples = self.mic.read_frame().map_err(|e| e.to_string())?;
        Ok(samples.map(|samples| Frame::Audio(AudioFrame { index, samples, rate: MIC_RATE })))
    }
}

/// How long the camera may take to deliver its first IDR at start.
const FIRST_IDR_WAIT: Duration = Duration::from_secs(5);

/// Opens the camera, reads the SPS/PPS of its first IDR (the stream's own,
/// whatever the encoder) and starts its (paused) thread. The parameters are
/// `None`, with a warning, when no IDR came within `FIRST_IDR_WAIT` (5 s).
pub fn camera(
    backend: &CameraBackend,
    video: VideoConfig,
    out: UnboundedSender<Frame>,
) -> Result<(SourceThread, Option<SdpParameters>), ds_media::device::DeviceError> {
    let mut camera = backends::open_camera(backend, video)?;
    let described = camera.source().describe();
    let parameters = camera.first_parameters(FIRST_IDR_WAIT);
    match &parameters {
        Some(p) => tracing::info!(camera = %described, profile_level_id = %p.profile_level_id, "camera opened"),
        None => tracing::warn!(camera = %described, wait = ?FIRST_IDR_WAIT, "camera opened but gave no IDR in time"),
    }
    let paced = *backend == CameraBackend::Pattern;
    let thread = spawn("ds-camera", CameraDevice { camera, paced }, video.frame_interval(), out)?;
    Ok((thread, parameters))
}

/// Opens the microphone and starts its (paused) thread.
pub fn microphone(
    backend: &MicrophoneBackend,
    out: UnboundedSender<Frame>,
) -> Result<SourceThread, ds_media::device::DeviceError> {
    let mic = backends::open_microphone(backend, MIC_RATE)?;
    let paced = matches!(backend, MicrophoneBackend::Tone { .. } | MicrophoneBackend::Wav { .. });
    spawn("ds-microphone", MicDevice { mic, paced }, FRAME, out)
}

fn spawn<D: Device>(
    name: &str,
    device: D,
    period: Duration,
    out: UnboundedSender<Frame>,
) -> Result<SourceThread, ds_media::device::DeviceError> {
    let (control, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || run(device, period, &rx, &out))
        .map_err(|e| ds_media::device::DeviceError::io("thread", "spawn", e))?;
    Ok(SourceThread { control, handle: Some(handle) })
}

/// The thread: wait while paused, capture while running.
fn run<D: Device>(mut device: D, mut period: Duration, rx: &Receiver<Control>, out: &UnboundedSender<Frame>) {
    let mut pacer: Option<FramePacer> = None;
    let mut index = 0u64;
    loop {
        let control = match &pacer {
            None => rx.recv().ok(),
            Some(p) if device.paced() => {
                match rx.recv_timeout(p.next_deadline().saturating_duration_since(Instant::now())) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            Some(_) => match rx.try_recv() {
                Ok(c) => Some(c),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => return,
            },
        };
        match control {
            Some(Control::Run(true)) if pacer.is_none() => pacer = Some(FramePacer::new(Instant::now(), period)),
            Some(Control::Run(false)) => pacer = None,
            Some(Control::Keyframe) => device.keyframe(),
            Some(Control::Reconfigure(video)) => {
                match device.reconfigure(video) {
                    Ok(()) => {
                        period = video.frame_interval();
                        pacer = pacer.map(|_| FramePacer::new(Instant::now(), period));
                    }
                    // The camera keeps a stream the peer may not decode: say so.
                    Err(e) => {
                        tracing::warn!(error = %e, "camera not reconfigured; the peer gets a stream above its level")
                    }
                }
                if out.send(Frame::Reconfigured).is_err() {
                    return;
                }
            }
            Some(Control::Quit) => return,
            Some(Control::Run(true)) => {}
            None if pacer.is_none() => return, // paused and the channel closed
            None => {}
        }
        let Some(p) = pacer.as_mut() else { continue };
        if device.paced() {
            match p.poll(Instant::now()) {
                Some(tick) => index = tick.frame,
                None => continue,
            }
        } else {
            index += 1;
        }
        match device.read(period * 2, index) {
            Ok(Some(frame)) => {
                if out.send(frame).is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "media source read failed");
                std::thread::sleep(ERROR_BACKOFF);
            }
        }
    }
}
