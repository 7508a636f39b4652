//! The media senders: the engine's [`MediaCommand`]s in, RTP out, and the
//! answered call's audio to the speaker.
//!
//! One task owns ds-media's [`VideoFanout`] and [`AudioFanout`]. Each early
//! dialog (and the answering one) is a destination with its own SSRC; a
//! new video destination waits for the next IDR, which it asks the camera
//! for at once, so every early dialog starts with SPS+PPS+IDR; the answer
//! asks for another (the callee's decoder may have been started afresh).
//! The camera and microphone are the `[media]` ones ([`sources`]), opened
//! at start and paused while no destination exists.
//!
//! An answered dialog at a lower H.264 level than the camera's stream
//! ([`MediaPaths::stream`]) has the camera reconfigured for it (its next
//! frame is an IDR with the new SPS); the configured stream comes back when
//! the call stops.
//!
//! The task also tells the RTP receivers which call is active and its
//! telephone-event payload type ([`ActiveCall`]), and the speaker thread
//! ([`speaker`]) which codecs the answered call's audio uses.
//!
//! Each stream of each dialog also gets RTCP reports at the peer's RTCP
//! address ([`reports`]), on the schedule of a [`ReportTimer`].
//!
//! [`reports`]: crate::shell::reports
//! [`sources`]: crate::shell::sources
//! [`speaker`]: crate::shell::speaker

use crate::config::StationConfig;
use crate::engine::MediaPaths;
use crate::engine::{CallId, MediaCommand};
use crate::shell::reports::{self, Reporter, SharedReceptions, Stream};
use crate::shell::rtcp_report::{REPORT_INTERVAL, ReportTimer};
use crate::shell::rtp::{ActiveCall, RtpSockets};
use crate::shell::shutdown::Shutdown;
use crate::shell::sources::{self, Control, Frame, SourceThread};
use crate::shell::speaker::{Speaker, SpeakerInput};
use ds_media::backends::{CameraBackend, MicrophoneBackend, SpeakerBackend};
use ds_media::fanout::{AudioCodec, AudioFanout, DestinationId, Outgoing, VideoFanout};
use ds_media::g711::Law;
use ds_media::h264::VideoConfig;
use ds_media::opus::OpusConfig;
use ds_media::packetize::{DEFAULT_MAX_PAYLOAD, H264Packetizer, PacketizationMode};
use ds_media::playout;
use ds_media::rtp_session::{RtpSender, SenderConfig};
use ds_media::srtp::{Protection, SrtpSession};
use ds_media::tone::SampleRate;
use ds_sip::sdp::{self, MediaPath};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

/// Where one dialog's media goes.
#[derive(Debug)]
struct Dialog {
    id: DestinationId,
    paths: MediaPaths,
}

/// What the media task needs from the config.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// The camera, if `[media] video`.
    pub video: Option<VideoConfig>,
    /// `[media] camera`.
    pub camera: CameraBackend,
    /// `[media] microphone`.
    pub microphone: MicrophoneBackend,
    /// `[media] speaker`.
    pub speaker: SpeakerBackend,
}

impl MediaSettings {
    /// From `[media]`.
    pub fn from_config(config: &StationConfig) -> MediaSettings {
        let video = config.media.video.then(|| config.video_config());
        MediaSettings {
            video,
            camera: config.media.camera_backend(),
            microphone: config.media.microphone_backend(),
            speaker: config.media.speaker_backend(),
        }
    }
}

/// What the other tasks need of the media task.
#[derive(Debug)]
pub struct MediaHandles {
    /// The engine's media commands.
    pub commands: mpsc::UnboundedSender<MediaCommand>,
    /// Received audio for the speaker (none when it did not open).
    pub speaker: Option<std::sync::mpsc::Sender<SpeakerInput>>,
    /// Key-frame requests for the camera (none without a camera).
    pub camera: Option<std::sync::mpsc::Sender<Control>>,
    /// The SPS/PPS of the camera's first IDR, for the SDP.
    pub video_parameters: Option<ds_media::h264::SdpParameters>,
}

/// Open the devices and start the media task. A device that does not open
/// is logged and left out: the door still rings without a camera.
pub fn spawn(
    settings: MediaSettings,
    sockets: RtpSockets,
    active: watch::Sender<Option<ActiveCall>>,
    shutdown: Shutdown,
) -> Result<MediaHandles, ds_media::packetize::PacketizeError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (frames_tx, frames) = mpsc::unbounded_channel();
    let (camera, video_parameters) = settings
        .video
        .and_then(|video| {
            sources::camera(&settings.camera, video, frames_tx.clone())
                .map_err(|e| tracing::error!(error = %e, "camera not opened; no video"))
                .ok()
        })
        .map_or((None, None), |(thread, parameters)| (Some(thread), parameters));
    let microphone = sources::microphone(&settings.microphone, frames_tx)
        .map_err(|e| tracing::error!(error = %e, "microphone not opened; no audio sent"))
        .ok();
    let speaker = Speaker::open(&settings.speaker)
        .map_err(|e| tracing::error!(error = %e, "speaker not opened; received audio is not played"))
        .ok();
    let handles = MediaHandles {
        commands: tx,
        speaker: speaker.as_ref().map(Speaker::sender),
        camera: camera.as_ref().map(SourceThread::controller),
        video_parameters,
    };
    let cname = format!("door-station@{}", sockets.audio.local_addr().map(|a| a.ip().to_string()).unwrap_or_default());
    let task = MediaTask {
        rtcp: RtcpSide {
            socks: (sockets.audio_rtcp, sockets.video_rtcp),
            reporters: HashMap::new(),
            receptions: sockets.receptions,
            timer: ReportTimer::new(std::time::Instant::now(), REPORT_INTERVAL, rand::random()),
            cname,
        },
        audio_sock: sockets.audio,
        video_sock: sockets.video,
        video: VideoFanout::new(H264Packetizer::new(DEFAULT_MAX_PAYLOAD)?),
        audio: AudioFanout::new(OpusConfig::default()),
        dialogs: BTreeMap::new(),
        video_addrs: HashMap::new(),
        audio_addrs: HashMap::new(),
        devices: Devices {
            camera,
            microphone,
            speaker,
            running: false,
            playing: None,
            configured: settings.video,
            refitted: None,
            refits_pending: 0,
        },
        next_id: 0,
        active,
    };
    tokio::spawn(task.run(rx, frames, shutdown));
    Ok(handles)
}

/// The open devices.
struct Devices {
    camera: Option<SourceThread>,
    microphone: Option<SourceThread>,
    speaker: Option<Speaker>,
    running: bool,
    /// The dialog whose audio the speaker plays.
    playing: Option<(CallId, String)>,
    /// The camera's configured stream.
    configured: Option<VideoConfig>,
    /// The call the camera's stream is fitted to (a lower H.264 level).
    refitted: Option<CallId>,
    /// Reconfigurations the camera has not confirmed yet: units until then
    /// have the old settings and are dropped.
    refits_pending: u32,
}

impl Devices {
    fn keyframe(&self) {
        if let Some(c) = &self.camera {
            c.send(Control::Keyframe);
        }
    }

    fn run(&mut self, run: bool) {
        if run != self.running {
            self.running = run;
            for s in [&self.camera, &self.microphone].into_iter().flatten() {
                s.send(Control::Run(run));
            }
            tracing::info!(run, "media sources");
        }
    }

    /// Fits the camera to `call`'s stream (`Some`), or puts the configured
    /// one back when this call had it fitted.
    fn fit(&mut self, call: &CallId, stream: Option<VideoConfig>) {
        let video = match stream {
            Some(video) => video,
            None if self.refitted.as_ref() == Some(call) => match self.configured {
                Some(configured) => configured,
                None => return,
            },
            None => return,
        };
        self.refitted = stream.map(|_| call.clone());
        if let Some(c) = &self.camera {
            c.send(Control::Reconfigure(video));
            self.refits_pending += 1;
        }
    }

    fn speaker(&self, input: SpeakerInput) {
        if let Some(s) = &self.speaker {
            let _ = s.sender().send(input);
        }
    }
}

/// The RTCP reports' side of the media task.
struct RtcpSide {
    /// Audio and video RTCP sockets.
    socks: (Arc<UdpSocket>, Arc<UdpSocket>),
    reporters: HashMap<(DestinationId, Stream), Reporter>,
    receptions: SharedReceptions,
    timer: ReportTimer,
    cname: String,
}

struct MediaTask {
    rtcp: RtcpSide,
    audio_sock: Arc<UdpSocket>,
    video_sock: Arc<UdpSocket>,
    video: VideoFanout,
    audio: AudioFanout,
    dialogs: BTreeMap<(CallId, String), Dialog>,
    video_addrs: HashMap<DestinationId, Target>,
    audio_addrs: HashMap<DestinationId, Target>,
    devices: Devices,
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
            let report_at = tokio::time::Instant::from_std(self.rtcp.timer.next_timeout());
            // Commands before frames: a path the engine changed (a hold, a move) applies to
            // the next frame, even when frames are waiting; the engine queues the command
            // before the SIP answer that announces it.
            tokio::select! {
                biased;
                _ = shutdown.recv() => break,
                c = commands.recv() => match c {
                    Some(c) => self.command(c),
                    None => break,
                },
                Some(f) = frames.recv() => self.frame(f),
                _ = tokio::time::sleep_until(report_at) => self.report(),
            }
        }
        // Joins the device threads (a frame's worth) and finishes the
        // speaker's file before the process exits.
        drop(self.devices);
    }

    fn report(&mut self) {
        let now = std::time::Instant::now();
        if self.rtcp.timer.handle_timeout(now) {
            let r = &mut self.rtcp;
            let socks = (&*r.socks.0, &*r.socks.1);
            let wall = (now, std::time::SystemTime::now());
            reports::send_reports(socks, &mut r.reporters, (&self.video, &self.audio), &r.receptions, wall, &r.cname);
        }
    }

    /// Reports for each stream of dialog `id` whose peer takes RTCP.
    fn add_reporters(&mut self, id: DestinationId, paths: &MediaPaths) {
        let streams = [
            (Stream::Audio, paths.rtcp.audio, &paths.srtp.audio, paths.audio.as_ref()),
            (Stream::Video, paths.rtcp.video, &paths.srtp.video, paths.video.as_ref()),
        ];
        for (stream, addr, keys, path) in streams {
            let (Some(addr), Some(path)) = (addr, path) else { continue };
            let now = std::time::Instant::now();
            if let Some(r) = Reporter::new(addr, keys, rand::random(), now, path.codec.clock) {
                self.rtcp.reporters.insert((id, stream), r);
            }
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
        self.devices.run(!self.video_addrs.is_empty() || !self.audio_addrs.is_empty());
    }

    fn set_active(&self, call: &CallId, paths: &MediaPaths) {
        let te = paths.audio.as_ref().and_then(|a| a.telephone_event);
        let srtp = (*paths.srtp).clone();
        self.active.send_replace(Some(ActiveCall { call: call.clone(), telephone_event: te, srtp }));
    }

    fn start(&mut self, call: CallId, dialog: String, paths: MediaPaths) {
        self.set_active(&call, &paths);
        let key = (call, dialog);
        self.stop_dialog(&key);
        let id = DestinationId(self.next_id);
        self.next_id += 1;
        self.add_video(id, paths.video.as_ref(), &paths.srtp.video);
        self.add_audio(id, paths.audio.as_ref(), &paths.srtp.audio);
        self.add_reporters(id, &paths);
        self.dialogs.insert(key, Dialog { id, paths });
    }

    /// The answering dialog keeps its early destination when its paths did
    /// not change, with a key frame for the answer; otherwise it starts
    /// afresh. Its received audio goes to the speaker.
    fn answered(&mut self, call: CallId, dialog: String, paths: MediaPaths) {
        self.devices.fit(&call, paths.stream);
        let key = (call, dialog);
        match self.dialogs.get(&key) {
            Some(d) if d.paths == MediaPaths { stream: d.paths.stream, ..paths.clone() } => {
                self.set_active(&key.0, &paths);
                self.devices.keyframe();
            }
            _ => self.start(key.0.clone(), key.1.clone(), paths.clone()),
        }
        self.play(key, paths.audio.as_ref());
    }

    fn play(&mut self, key: (CallId, String), path: Option<&MediaPath>) {
        let Some(path) = path.filter(|p| p.direction.receives()) else { return };
        let codec = match sdp::AudioCodec::matching(&path.codec) {
            Some(sdp::AudioCodec::Opus) => (playout::AudioCodec::Opus, SampleRate::Hz48000),
            Some(sdp::AudioCodec::Pcmu) => (playout::AudioCodec::G711(Law::Ulaw), SampleRate::Hz8000),
            Some(sdp::AudioCodec::Pcma) => (playout::AudioCodec::G711(Law::Alaw), SampleRate::Hz8000),
            None => return,
        };
        self.devices.speaker(SpeakerInput::Start { rate: codec.1, codecs: vec![(path.codec.pt, codec.0)] });
        self.devices.playing = Some(key);
    }

    fn add_video(&mut self, id: DestinationId, path: Option<&MediaPath>, srtp: &Protection) {
        let Some(path) = path.filter(|p| p.direction.sends() && self.devices.camera.is_some()) else { return };
        let Some(sender) = new_sender(path.codec.pt) else { return };
        let Some(target) = Target::new(path.remote, srtp) else { return };
        let mode = match path.codec.h264_packetization_mode() {
            Some(0) => PacketizationMode::SingleNal,
            _ => PacketizationMode::NonInterleaved,
        };
        if self.video.add_destination(id, sender, mode) {
            self.devices.keyframe();
        }
        self.video_addrs.insert(id, target);
    }

    fn add_audio(&mut self, id: DestinationId, path: Option<&MediaPath>, srtp: &Protection) {
        let Some(path) = path.filter(|p| p.direction.sends()) else { return };
        let codec = match sdp::AudioCodec::matching(&path.codec) {
            Some(sdp::AudioCodec::Opus) => AudioCodec::Opus,
            Some(sdp::AudioCodec::Pcmu) => AudioCodec::Pcmu,
            Some(sdp::AudioCodec::Pcma) => AudioCodec::Pcma,
            None => return tracing::warn!(codec = %path.codec.name, "audio codec not implemented; no audio sent"),
        };
        let Some(sender) = new_sender(path.codec.pt) else { return };
        let Some(target) = Target::new(path.remote, srtp) else { return };
        match self.audio.add_destination(id, codec, sender) {
            Ok(()) => {
                self.audio_addrs.insert(id, target);
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
            self.rtcp.reporters.retain(|(id, _), _| *id != d.id);
        }
        if self.devices.playing.as_ref() == Some(key) {
            self.devices.playing = None;
            self.devices.speaker(SpeakerInput::Stop);
        }
    }

    fn stop_call(&mut self, call: &CallId) {
        self.devices.fit(call, None);
        let keys: Vec<_> = self.dialogs.keys().filter(|(c, _)| c == call).cloned().collect();
        for key in keys {
            self.stop_dialog(&key);
        }
        if self.active.borrow().as_ref().is_some_and(|a| &a.call == call) {
            self.active.send_replace(None);
        }
    }

    fn frame(&mut self, frame: Frame) {
        let (out, sock, addrs) = match frame {
            Frame::Reconfigured => {
                self.devices.refits_pending = self.devices.refits_pending.saturating_sub(1);
                return;
            }
            Frame::Video(_) if self.devices.refits_pending > 0 => return,
            Frame::Video(unit) => {
                let out = self.video.send(&unit).map_err(|e| e.to_string());
                self.repair_oversized();
                (out, &self.video_sock, &mut self.video_addrs)
            }
            Frame::Audio(f) => (
                self.audio.send_frame(f.index, &f.samples).map_err(|e| e.to_string()),
                &self.audio_sock,
                &mut self.audio_addrs,
            ),
        };
        match out {
            Ok(out) => send_all(sock, addrs, out),
            Err(e) => tracing::warn!(error = %e, "media frame not sent"),
        }
    }
}

impl MediaTask {
    /// A NAL unit larger than one packet was left out for the
    /// packetization-mode 0 peers: they miss part of a picture until the
    /// next IDR, so ask for one now.
    fn repair_oversized(&mut self) {
        let oversized = self.video.take_oversized();
        if oversized > 0 {
            tracing::warn!(
                oversized,
                "H.264 NAL units larger than one RTP packet not sent in packetization-mode 0; key frame requested"
            );
            self.devices.keyframe();
        }
    }
}

/// Where one destination's packets go, and its SRTP context when protected.
struct Target {
    addr: SocketAddr,
    srtp: Option<SrtpSession>,
}

impl Target {
    /// `None` (and logged) when the negotiated keys make no SRTP context.
    fn new(addr: SocketAddr, protection: &Protection) -> Option<Target> {
        let srtp = match protection {
            Protection::Plain => None,
            Protection::Sdes { local, remote } => Some(
                SrtpSession::new(local, remote)
                    .map_err(|e| tracing::error!(error = %e, "no SRTP context; not sending"))
                    .ok()?,
            ),
        };
        Some(Target { addr, srtp })
    }
}

fn send_all(sock: &UdpSocket, targets: &mut HashMap<DestinationId, Target>, out: Outgoing) {
    for (id, bytes) in out {
        let Some(t) = targets.get_mut(&id) else { continue };
        let bytes = match t.srtp.as_mut().map(|s| s.protect_rtp(&bytes)) {
            None => bytes,
            Some(Ok(protected)) => protected,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "SRTP protect failed");
                continue;
            }
        };
        if let Err(e) = sock.try_send_to(&bytes, t.addr) {
            tracing::debug!(addr = %t.addr, error = %e, "RTP send failed");
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
