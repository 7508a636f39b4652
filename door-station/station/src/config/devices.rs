//! `[media]` device choices: which camera, encoder, microphone and speaker
//! the station opens, echo cancellation and the SRTP policy, and how they
//! become ds-media's back-end descriptions.

use super::MediaConfig;
use ds_media::backends::{CameraBackend, MicrophoneBackend, SoundCard, SpeakerBackend};
use ds_media::camera_config::{CameraConfig, CameraInput, EncoderChoice};
use ds_media::srtp::SrtpPolicy;
use serde::Deserialize;

/// The name GStreamer's echo canceller pairs the speaker and microphone by.
const ECHO_PROBE: &str = "door-echo";

/// `camera_device` value that selects GStreamer's `videotestsrc`.
pub const TEST_SOURCE: &str = "videotestsrc";

/// `[media] camera`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraKind {
    /// The moving test pattern (OpenH264).
    #[default]
    Pattern,
    /// A GStreamer pipeline from `camera_device` (or `videotestsrc`).
    Gstreamer,
    /// V4L2 directly, encoded by OpenH264.
    V4l,
}

/// `[media] video_encoder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoEncoder {
    /// The board's hardware encoder if there is one, else OpenH264.
    #[default]
    Auto,
    /// `v4l2h264enc` or fail.
    Hardware,
    /// OpenH264 in the station.
    Openh264,
    /// GStreamer's `x264enc tune=zerolatency`.
    X264,
}

/// `[media] microphone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MicrophoneKind {
    /// A sine tone of `tone_hz`.
    #[default]
    Tone,
    /// The WAV file `microphone_device`, repeated (48 kHz mono).
    Wav,
    /// The ALSA device `microphone_device`.
    Alsa,
    /// The ALSA device `microphone_device` through GStreamer.
    Gstreamer,
}

/// `[media] speaker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpeakerKind {
    /// Received audio is decoded and dropped.
    #[default]
    Null,
    /// Received audio is written to the WAV file `speaker_device`.
    Wav,
    /// The ALSA device `speaker_device`.
    Alsa,
    /// The ALSA device `speaker_device` through GStreamer.
    Gstreamer,
}

/// `[media] srtp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Srtp {
    /// Plain RTP only; an offer that requires SRTP is refused.
    #[default]
    Off,
    /// Plain RTP offered; SRTP accepted when the peer offers it.
    Optional,
    /// SRTP only.
    Mandatory,
}

impl From<Srtp> for SrtpPolicy {
    fn from(s: Srtp) -> SrtpPolicy {
        match s {
            Srtp::Off => SrtpPolicy::Off,
            Srtp::Optional => SrtpPolicy::Optional,
            Srtp::Mandatory => SrtpPolicy::Mandatory,
        }
    }
}

impl MediaConfig {
    /// The camera back-end.
    pub fn camera_backend(&self) -> CameraBackend {
        match self.camera {
            CameraKind::Pattern => CameraBackend::Pattern,
            CameraKind::V4l => CameraBackend::V4l { device: self.camera_device.clone().into() },
            CameraKind::Gstreamer => {
                let input = match self.camera_device.as_str() {
                    TEST_SOURCE => CameraInput::TestSource,
                    device => CameraInput::V4l2 { device: device.into(), mjpeg: false },
                };
                let encoder = match self.video_encoder {
                    VideoEncoder::Auto => EncoderChoice::Auto,
                    VideoEncoder::Hardware => EncoderChoice::Hardware,
                    VideoEncoder::Openh264 => EncoderChoice::OpenH264,
                    VideoEncoder::X264 => EncoderChoice::X264,
                };
                // The video settings are filled in by `open_camera`.
                CameraBackend::Gstreamer(CameraConfig { input, encoder, video: Default::default() })
            }
        }
    }

    /// The microphone back-end.
    pub fn microphone_backend(&self) -> MicrophoneBackend {
        let device = self.microphone_device.clone();
        match self.microphone {
            MicrophoneKind::Tone => MicrophoneBackend::Tone { hz: self.tone_hz.into() },
            MicrophoneKind::Wav => MicrophoneBackend::Wav { path: device.into() },
            MicrophoneKind::Alsa => MicrophoneBackend::Card(SoundCard::Alsa { device }),
            MicrophoneKind::Gstreamer => {
                MicrophoneBackend::Card(SoundCard::Gstreamer { device, echo_probe: self.probe() })
            }
        }
    }

    /// The speaker back-end.
    pub fn speaker_backend(&self) -> SpeakerBackend {
        let device = self.speaker_device.clone();
        match self.speaker {
            SpeakerKind::Null => SpeakerBackend::Null,
            SpeakerKind::Wav => SpeakerBackend::Wav { path: device.into() },
            SpeakerKind::Alsa => SpeakerBackend::Card(SoundCard::Alsa { device }),
            SpeakerKind::Gstreamer => SpeakerBackend::Card(SoundCard::Gstreamer { device, echo_probe: self.probe() }),
        }
    }

    fn probe(&self) -> Option<String> {
        self.echo_cancel.then(|| ECHO_PROBE.to_string())
    }
}
