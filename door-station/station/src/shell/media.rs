//! The media senders: the engine's [`MediaCommand`]s in, RTP out.
//!
//! One task owns ds-media's [`VideoFanout`] and [`AudioFanout`]. Each early
//! dialog (and the answering one) is a destination with its own SSRC; a
//! new video destination waits for the next IDR, which it asks the camera
//! for at once, so every early dialog starts with SPS+PPS+IDR. The sources
//! are ds-media's simulated ones: the test pattern encoded by openh264 on
//! the camera thread and a `[media] tone_hz` tone on the microphone thread.
//! They run while at least one destination exists.
//!
//! The task also tells the RTP receivers which call is active and its
//! telephone-event payload type ([`ActiveCall`]).

use crate::config::StationConfig;
use crate::engine::{CallId, MediaCommand};
use crate::shell::rtp::{ActiveCall, RtpSockets};
use crate::shell::shutdown::Shutdown;
use ds_media::fanout::{AudioCodec, AudioFanout, DestinationId, Outgoing, VideoFanout};
use ds_media::h264::{AccessUnit, VideoConfig};
use ds_media::opus::OpusConfig;
use ds_media::packetize::{DEFAULT_MAX_PAYLOAD, H264Packetizer};
use ds_media::rtp_session::{RtpSender, SenderConfig};
use ds_media::sources::{AudioFrame, Camera, Microphone};
use ds_media::tone::{SampleRate, ToneSource};
use ds_sip::sdp::{self, MediaPath, Negotiated};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

/// Tone level: about −12 dBFS, loud enough to hear, far from clipping.
const TONE_AMPLITUDE: i16 = 8000;

/// A frame from a source thread.
enum Frame {
    Video(AccessUnit),
    Audio(AudioFrame),
}

/// Where one dialog's media goes.
#[derive(Debug)]
struct Dialog {
    id: DestinationId,
    paths: Negotiated,
}

/// The running sources.
struct Sources {
    camera: Option<Camera>,
    _microphone: Microphone,
}

/// What the media task needs from the config.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// The camera, if `[media] video`.
    pub video: Option<VideoConfig>,
    /// The microphone's tone.
    pub tone_hz: f64,
}

impl MediaSettings {
    /// From `[media]`.
    pub fn from_config(config: &StationConfig) -> MediaSettings {
        let video = config.media.video.then(|| config.video_config());
        MediaSettings { video, tone_hz: config.media.tone_hz.into() }
    }
}

/// Start the media task; commands go to the returned sender.
pub fn spawn(
    settings: MediaSettings,
    sockets: RtpSockets,
    active: watch::Sender<Option<ActiveCall>>,
    shutdown: Shutdown,
) -> Result<mpsc::UnboundedSender<MediaCommand>, ds_media::packetize::PacketizeError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (frames_tx, frames) = mpsc::unbounded_channel();
    let task = MediaTask {
        settings,
        audio_sock: sockets.audio,
        video_sock: sockets.video,
        video: VideoFanout::new(H264Packetizer::new(DEFAULT_MAX_PAYLOAD)?),
        audio: AudioFanout::new(OpusConfig::default()),
        dialogs: BTreeMap::new(),
        video_addrs: HashMap::new(),
        audio_addrs: HashMap::new(),
        sources: None,
        frames_tx,
        next_id: 0,
        active,
    };
    tokio::spawn(task.run(rx, frames, shutdown));
    Ok(tx)
}

struct MediaTask {
    settings: MediaSettings,
    audio_sock: Arc<UdpSocket>,
    video_sock: Arc<UdpSocket>,
    video: VideoFanout,
    audio: AudioFanout,
    dialogs: BTreeMap<(CallId, String), Dialog>,
    video_addrs: HashMap<DestinationId, SocketAddr>,
    audio_addrs: HashMap<DestinationId, SocketAddr>,
    sources: Option<Sources>,
    frames_tx: mpsc::UnboundedSender<Frame>,
    next_id: u64,
    active: watch::Sender<Option<ActiveCall>>,
}

impl MediaTask {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<MediaCommand>,
        mut frames: mpsc::UnboundedReceiver<Frame>,
        mut shutdown: Shutdown,
    ) {
        loop {
            tokio::select! {
                c = commands.recv() => match c {
                    Some(c) => self.command(c),
                    None => break,
                },
                Some(f) = frames.recv() => self.frame(f),
                _ = shutdown.recv() => break,
            }
        }
        self.stop_sources();
    }

    /// Stopping joins the source threads (up to one frame's encoding): off
    /// the runtime's thread, so SIP is not held up.
    fn stop_sources(&mut self) {
        if let Some(sources) = self.sources.take() {
            tokio::task::spawn_blocking(move || drop(sources));
        }
    }

    fn command(&mut self, command: MediaCommand) {
        tracing::debug!(?command, "media");
        match command {
            MediaCommand::StartEarly { call, dialog, paths } => self.start(call, dialog, paths),
            MediaCommand::Answered { call, dialog, paths } => self.answered(call, dialog, paths),
            MediaCommand::StopDialog { call, dialog } => self.stop_dialog(&(call, dialog)),
            MediaCommand::StopCall { call } => self.stop_call(&call),
        }
        self.run_sources();
    }

    fn start(&mut self, call: CallId, dialog: String, paths: Negotiated) {
        let te = paths.audio.as_ref().and_then(|a| a.telephone_event);
        self.active.send_replace(Some(ActiveCall { call: call.clone(), telephone_event: te }));
        let key = (call, dialog);
        self.stop_dialog(&key);
        let id = DestinationId(self.next_id);
        self.next_id += 1;
        self.add_video(id, paths.video.as_ref());
        self.add_audio(id, paths.audio.as_ref());
        self.dialogs.insert(key, Dialog { id, paths });
    }

    /// The answering dialog keeps its early destination when its paths did
    /// not change (no new key frame needed); otherwise it starts afresh.
    fn answered(&mut self, call: CallId, dialog: String, paths: Negotiated) {
        let key = (call, dialog);
        match self.dialogs.get(&key) {
            Some(d) if d.paths == paths => {
                let te = paths.audio.as_ref().and_then(|a| a.telephone_event);
                self.active.send_replace(Some(ActiveCall { call: key.0.clone(), telephone_event: te }));
            }
            _ => self.start(key.0, key.1, paths),
        }
    }

    fn add_video(&mut self, id: DestinationId, path: Option<&MediaPath>) {
        let Some(path) = path.filter(|p| p.direction.sends() && self.settings.video.is_some()) else { return };
        let Some(sender) = new_sender(path.codec.pt) else { return };
        if self.video.add_destination(id, sender)
            && let Some(camera) = self.sources.as_ref().and_then(|s| s.camera.as_ref())
        {
            camera.request_keyframe();
        }
        self.video_addrs.insert(id, path.remote);
    }

    fn add_audio(&mut self, id: DestinationId, path: Option<&MediaPath>) {
        let Some(path) = path.filter(|p| p.direction.sends()) else { return };
        let codec = match sdp::AudioCodec::matching(&path.codec) {
            Some(sdp::AudioCodec::Opus) => AudioCodec::Opus,
            Some(sdp::AudioCodec::Pcmu) => AudioCodec::Pcmu,
            Some(sdp::AudioCodec::Pcma) => AudioCodec::Pcma,
            None => return tracing::warn!(codec = %path.codec.name, "audio codec not implemented; no audio sent"),
        };
        let Some(sender) = new_sender(path.codec.pt) else { return };
        match self.audio.add_destination(id, codec, sender) {
            Ok(()) => {
                self.audio_addrs.insert(id, path.remote);
            }
            Err(e) => tracing::error!(error = %e, "audio destination not added"),
        }
    }

    fn stop_dialog(&mut self, key: &(CallId, String)) {
        if let Some(d) = self.dialogs.remove(key) {
            self.video.remove_destination(d.id);
            self.audio.remove_destination(d.id);
            self.video_addrs.remove(&d.id);
            self.audio_addrs.remove(&d.id);
        }
    }

    fn stop_call(&mut self, call: &CallId) {
        let keys: Vec<_> = self.dialogs.keys().filter(|(c, _)| c == call).cloned().collect();
        for key in keys {
            self.stop_dialog(&key);
        }
        if self.active.borrow().as_ref().is_some_and(|a| &a.call == call) {
            self.active.send_replace(None);
        }
    }

    /// Sources run while some destination exists.
    fn run_sources(&mut self) {
        let wanted = !self.video_addrs.is_empty() || !self.audio_addrs.is_empty();
        match (wanted, self.sources.is_some()) {
            (true, false) => self.sources = self.start_sources(),
            (false, true) => self.stop_sources(),
            _ => {}
        }
    }

    fn start_sources(&self) -> Option<Sources> {
        let camera = self.settings.video.and_then(|cfg| {
            let (tx, rx) = std::sync::mpsc::channel();
            forward(rx, self.frames_tx.clone(), Frame::Video);
            Camera::spawn(cfg, tx).map_err(|e| tracing::error!(error = %e, "camera not started")).ok()
        });
        let tone = ToneSource::new(self.settings.tone_hz, SampleRate::Hz48000, TONE_AMPLITUDE)
            .map_err(|e| tracing::error!(error = %e, "tone not started"))
            .ok()?;
        let (tx, rx) = std::sync::mpsc::channel();
        forward(rx, self.frames_tx.clone(), Frame::Audio);
        let microphone = Microphone::spawn(tone, tx).map_err(|e| tracing::error!(error = %e, "microphone not started")).ok()?;
        tracing::info!(video = camera.is_some(), "media sources started");
        Some(Sources { camera, _microphone: microphone })
    }

    fn frame(&mut self, frame: Frame) {
        let (out, sock, addrs) = match frame {
            Frame::Video(unit) => (self.video.send(&unit).map_err(|e| e.to_string()), &self.video_sock, &self.video_addrs),
            Frame::Audio(f) => {
                (self.audio.send_frame(f.index, &f.samples).map_err(|e| e.to_string()), &self.audio_sock, &self.audio_addrs)
            }
        };
        match out {
            Ok(out) => send_all(sock, addrs, out),
            Err(e) => tracing::warn!(error = %e, "media frame not sent"),
        }
    }
}

fn send_all(sock: &UdpSocket, addrs: &HashMap<DestinationId, SocketAddr>, out: Outgoing) {
    for (id, bytes) in out {
        if let Some(addr) = addrs.get(&id)
            && let Err(e) = sock.try_send_to(&bytes, *addr)
        {
            tracing::debug!(%addr, error = %e, "RTP send failed");
        }
    }
}

/// RTP starting values are random (RFC 3550 §5.1).
fn new_sender(payload_type: u8) -> Option<RtpSender> {
    let config = SenderConfig {
        ssrc: rand::random(),
        payload_type,
        initial_seq: rand::random(),
        initial_timestamp: rand::random(),
    };
    RtpSender::new(config).map_err(|e| tracing::warn!(error = %e, "RTP sender not made")).ok()
}

/// Move frames from a source thread's channel into the task's.
fn forward<T: Send + 'static>(rx: std::sync::mpsc::Receiver<T>, tx: mpsc::UnboundedSender<Frame>, wrap: fn(T) -> Frame) {
    let spawned = std::thread::Builder::new().name("ds-media-forward".into()).spawn(move || {
        while let Ok(item) = rx.recv() {
            if tx.send(wrap(item)).is_err() {
                return;
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "media forwarder thread not started");
    }
}
