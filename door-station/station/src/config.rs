//! `station.toml`: the station's one configuration tree.
//!
//! [`StationConfig`] mirrors `assets/station.toml` key for key. Every table
//! and key is optional except `[sip] user` and `[sip] domain`; an absent key
//! takes the default written beside it, which is the shipped file's value
//! unless a standard says otherwise (then the comment cites it). Unknown keys
//! are errors, so a typo is caught at start instead of being ignored.
//!
//! [`load`] reads and checks a file; [`parse`] checks text. Both return a
//! [`ConfigError`] whose message names the file, the line, the key and the
//! fix. The checked tree is then converted for each consumer (the engine,
//! the hardware, the media senders); nothing reads the file deep inside the
//! code.

mod access;
mod check;
mod convert;
mod devices;
mod error;
#[cfg(test)]
mod tests;

pub use access::{AccessBackend, DoorConfig, LockConfig, OsdpBackend, OsdpConfig, WiegandConfig, parse_format};
pub use convert::RuntimeAddrs;
pub use devices::{CameraKind, MicrophoneKind, SpeakerKind, Srtp, TEST_SOURCE, VideoEncoder};
pub use error::ConfigError;

use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where the daemon looks when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/door-station/station.toml";

/// The whole file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StationConfig {
    /// `[sip]`: account and transport.
    pub sip: SipConfig,
    /// `[[button]]`: one per call button, numbered from 1 in file order.
    pub button: Vec<ButtonConfig>,
    /// `[calls]`: timeouts, early-media fan-out, who may call in.
    pub calls: CallsConfig,
    /// `[media]`: RTP ports, codecs, the simulated sources.
    pub media: MediaConfig,
    /// `[unlock]`: the code and who may use it.
    pub unlock: UnlockConfig,
    /// `[relay]`: the door-strike relay.
    pub relay: RelayConfig,
    /// `[buttons]`: how the call buttons are read.
    pub buttons: ButtonsConfig,
    /// `[control]`: the control socket.
    pub control: ControlConfig,
    /// `[wiegand]`: the credential and the Wiegand output.
    pub wiegand: WiegandConfig,
    /// `[osdp]`: the OSDP reader.
    pub osdp: OsdpConfig,
    /// `[door]`: door contact, exit button, tamper.
    pub door: DoorConfig,
}

/// The SIP transport towards the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SipTransport {
    /// UDP, the transport every element must support (RFC 3261 §18).
    #[default]
    Udp,
    /// TCP (RFC 3261 §18).
    Tcp,
}

/// `[sip]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// User part of the address of record (required).
    pub user: String,
    /// Domain of the address of record (required).
    pub domain: String,
    /// Display name in From.
    pub display_name: String,
    /// Digest user name; `None` means [`SipConfig::user`].
    pub auth_user: Option<String>,
    /// Digest password.
    pub password: String,
    /// Where REGISTER goes; `None` (`""` in the file): do not register.
    #[serde(deserialize_with = "optional_addr")]
    pub registrar: Option<SocketAddr>,
    /// Next hop of every out-of-dialog request; `None` (`""`): the
    /// Request-URI's host.
    #[serde(deserialize_with = "optional_addr")]
    pub outbound_proxy: Option<SocketAddr>,
    /// Local SIP address, opened for UDP and TCP.
    pub listen: SocketAddr,
    /// Transport towards the proxy.
    pub transport: SipTransport,
    /// Requested registration lifetime, seconds.
    pub register_expires: u32,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            user: String::new(),
            domain: String::new(),
            display_name: String::new(),
            auth_user: None,
            password: String::new(),
            registrar: None,
            outbound_proxy: None,
            // Port 5060: RFC 3261 §19.1.2; all interfaces, as a device on a LAN.
            listen: SocketAddr::from(([0, 0, 0, 0], 5060)),
            transport: SipTransport::Udp,
            // The shipped file's value: short enough that a rebooted proxy
            // learns the station back within minutes.
            register_expires: 600,
        }
    }
}

impl SipConfig {
    /// `sip:<user>@<domain>`.
    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain)
    }

    /// The digest user name (`auth_user`, or `user`).
    pub fn auth_user(&self) -> &str {
        self.auth_user.as_deref().unwrap_or(&self.user)
    }
}

/// One `[[button]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ButtonConfig {
    /// The URI a press calls.
    pub target: String,
    /// BCM GPIO line (Raspberry Pi back-end only).
    pub gpio: u8,
}

impl Default for ButtonConfig {
    fn default() -> Self {
        // The shipped file's first button.
        ButtonConfig { target: String::new(), gpio: 17 }
    }
}

/// `[calls]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallsConfig {
    /// No answer by then: CANCEL.
    pub ring_timeout_s: u32,
    /// Answered calls end (BYE) after this.
    pub max_call_s: u32,
    /// No RTP from the answerer for this long: BYE.
    pub rtp_timeout_s: u32,
    /// At most this many early dialogs get media from the station itself.
    pub early_media_limit: usize,
    /// Callers who are auto-answered: `sip:user@host` or `*@domain`.
    pub allow_callers: Vec<String>,
}

impl Default for CallsConfig {
    fn default() -> Self {
        // The shipped file's values; 30 s of ringing is what phones and PBXs
        // commonly allow before giving up.
        CallsConfig {
            ring_timeout_s: 30,
            max_call_s: 300,
            rtp_timeout_s: 30,
            early_media_limit: 4,
            allow_callers: Vec::new(),
        }
    }
}

/// An audio codec the station offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioCodec {
    /// Opus, 48 kHz (RFC 7587).
    Opus,
    /// G.711 µ-law, static payload type 0 (RFC 3551).
    Pcmu,
    /// G.711 A-law, static payload type 8 (RFC 3551).
    Pcma,
}

/// `[media]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// First RTP port (even, RFC 3550 §11).
    pub rtp_port_min: u16,
    /// Last RTP port.
    pub rtp_port_max: u16,
    /// Audio codecs in preference order.
    pub audio_codecs: Vec<AudioCodec>,
    /// Offer and send video.
    pub video: bool,
    /// Test-pattern width, pixels.
    pub video_width: u32,
    /// Test-pattern height, pixels.
    pub video_height: u32,
    /// Frames per second.
    pub video_fps: u32,
    /// Encoder target bit rate.
    pub video_bitrate_kbps: u32,
    /// A key frame at least this often.
    pub keyframe_interval_s: u32,
    /// The simulated microphone's tone.
    pub tone_hz: u32,
    /// Where video comes from.
    pub camera: CameraKind,
    /// The camera's device node (`v4l`, `gstreamer`; `videotestsrc` for GStreamer's test source).
    pub camera_device: String,
    /// Which H.264 encoder a GStreamer camera uses.
    pub video_encoder: VideoEncoder,
    /// Where the sent audio comes from.
    pub microphone: MicrophoneKind,
    /// The WAV file or ALSA device of the microphone.
    pub microphone_device: String,
    /// Where received audio goes.
    pub speaker: SpeakerKind,
    /// The WAV file or ALSA device of the speaker.
    pub speaker_device: String,
    /// GStreamer `webrtcdsp` echo cancellation (microphone and speaker `gstreamer`).
    pub echo_cancel: bool,
    /// SDES-SRTP policy.
    pub srtp: Srtp,
}

impl Default for MediaConfig {
    fn default() -> Self {
        // The shipped file's values: QVGA at 15 fps fits a Pi Zero's encoder
        // budget; 440 Hz is concert A, easy to recognise in a capture.
        MediaConfig {
            rtp_port_min: 20000,
            rtp_port_max: 20999,
            audio_codecs: vec![AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma],
            video: true,
            video_width: 320,
            video_height: 240,
            video_fps: 15,
            video_bitrate_kbps: 384,
            keyframe_interval_s: 2,
            tone_hz: 440,
            camera: CameraKind::Pattern,
            camera_device: "/dev/video0".into(),
            video_encoder: VideoEncoder::Auto,
            microphone: MicrophoneKind::Tone,
            microphone_device: "default".into(),
            speaker: SpeakerKind::Null,
            speaker_device: "default".into(),
            echo_cancel: false,
            srtp: Srtp::Off,
        }
    }
}

/// `[unlock]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnlockConfig {
    /// One digit, or a PIN of digits ending in `#`.
    pub code: String,
    /// Callers who may open: `sip:user@host` or `*@domain`.
    pub allow: Vec<String>,
    /// A PIN entry is abandoned after this pause between digits.
    pub inter_digit_timeout_ms: u32,
    /// Wrong codes before the lockout.
    pub max_failures: u32,
    /// How long the lockout lasts.
    pub lockout_s: u32,
    /// A SIP MESSAGE with this body (trimmed) counts as the code; `""` turns
    /// MESSAGE unlocking off.
    pub message_body: String,
}

impl Default for UnlockConfig {
    fn default() -> Self {
        // The shipped file's values. `#` is the key Linhome's "open" button sends.
        UnlockConfig {
            code: "#".into(),
            allow: Vec::new(),
            inter_digit_timeout_ms: 3000,
            max_failures: 3,
            lockout_s: 60,
            message_body: "unlock".into(),
        }
    }
}

/// A hardware back-end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Simulated: logs timestamped edges, pressed through the control socket.
    #[default]
    Sim,
    /// Raspberry Pi GPIO through rppal.
    Rpi,
}

/// `[relay]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// Which back-end drives the relay.
    pub backend: Backend,
    /// BCM GPIO line.
    pub gpio: u8,
    /// The relay is energised by a low level.
    pub active_low: bool,
    /// How long one opening holds the strike.
    pub pulse_ms: u32,
    /// `fail-secure` (strike) or `fail-safe` (magnetic lock).
    pub lock: LockConfig,
}

impl Default for RelayConfig {
    fn default() -> Self {
        // The shipped file's values: 3 s is a common door-strike hold time.
        RelayConfig { backend: Backend::Sim, gpio: 26, active_low: false, pulse_ms: 3000, lock: LockConfig::FailSecure }
    }
}

/// `[buttons]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ButtonsConfig {
    /// Which back-end reads the buttons.
    pub backend: Backend,
    /// A level must hold this long to count as a press.
    pub debounce_ms: u32,
}

impl Default for ButtonsConfig {
    fn default() -> Self {
        // 30 ms outlasts the bounce of common push buttons (a few ms to ~20 ms).
        ButtonsConfig { backend: Backend::Sim, debounce_ms: 30 }
    }
}

/// `[control]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlConfig {
    /// Path of the Unix control socket.
    pub socket: PathBuf,
}

impl Default for ControlConfig {
    fn default() -> Self {
        // /run is the FHS place for runtime sockets.
        ControlConfig { socket: PathBuf::from("/run/door-station/control.sock") }
    }
}

/// `""` is `None`; anything else must be an `IP:port`.
fn optional_addr<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let s = String::deserialize(d)?;
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "\"{s}\" is not an IP:port; write \"\" or an address such as \"192.168.1.2:5060\""
        ))
    })
}

/// Read and check the file at `path`.
// The error is built once, at start, and printed: its size does not matter.
#[allow(clippy::result_large_err)]
pub fn load(path: &Path) -> Result<StationConfig, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    parse(&text, &file_label(path))
}

/// Check `text`; `file` is the name the error messages use.
#[allow(clippy::result_large_err)]
pub fn parse(text: &str, file: &str) -> Result<StationConfig, ConfigError> {
    let config: StationConfig = toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
    check::check(&config).map_err(|issue| ConfigError::invalid(file, text, issue))?;
    Ok(config)
}

/// The name used in messages: the file name, as a user sees it in `ls`.
fn file_label(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}
