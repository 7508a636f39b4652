//! Opening the configured camera, microphone and speaker: one place that turns the `[media]`
//! choices into trait objects, so the daemon's media shell does not care which back-end runs.
//!
//! A back-end whose cargo feature was not built gives [`DeviceError::NotBuilt`] naming the
//! feature, rather than failing to compile the daemon.

use crate::camera_config::{CameraConfig, Encoder};
use crate::device::{
    AudioCapture, AudioPlayback, DeviceError, EncodingSource, NullPlayback, PatternCamera, VideoSource,
};
use crate::h264::VideoConfig;
use crate::tone::{SampleRate, ToneSource};
use crate::wav::{FilePlayback, WavMicrophone};
use std::path::PathBuf;
#[cfg(feature = "gst")]
use std::time::Duration;

/// The camera to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraBackend {
    /// The moving test pattern (OpenH264).
    Pattern,
    /// A GStreamer pipeline (feature `gst`).
    Gstreamer(CameraConfig),
    /// V4L2 directly, encoded by OpenH264 (feature `v4l`).
    V4l {
        /// E.g. `/dev/video0`.
        device: PathBuf,
    },
}

/// The microphone to open.
#[derive(Clone, Debug, PartialEq)]
pub enum MicrophoneBackend {
    /// A sine tone of this frequency.
    Tone {
        /// Hz.
        hz: f64,
    },
    /// A WAV recording, repeated.
    Wav {
        /// The file.
        path: PathBuf,
    },
    /// A sound card.
    Card(SoundCard),
}

/// The speaker to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpeakerBackend {
    /// Discards what it is given.
    Null,
    /// Writes a WAV file.
    Wav {
        /// The file.
        path: PathBuf,
    },
    /// A sound card.
    Card(SoundCard),
}

/// A sound card, for the microphone or the speaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SoundCard {
    /// An ALSA device (feature `alsa`).
    Alsa {
        /// Its name, e.g. `default` or `plughw:1,0`.
        device: String,
    },
    /// ALSA through GStreamer (feature `gst`), with `webrtcdsp` echo cancellation when
    /// `echo_probe` is set: the speaker feeds the probe of that name, the microphone cancels its
    /// echo, so both must name the same one.
    Gstreamer {
        /// The ALSA device name.
        device: String,
        /// The echo probe's name.
        echo_probe: Option<String>,
    },
}

impl CameraBackend {
    /// Whether the camera's encoder keeps NAL units within `VideoConfig::max_nal_bytes`, so the
    /// stream suits packetization-mode 0. For GStreamer's `auto` this looks at the machine
    /// (which encoder `auto` takes); without the `gst` feature that camera does not open at all.
    pub fn limits_nal_size(&self) -> bool {
        match self {
            CameraBackend::Pattern | CameraBackend::V4l { .. } => true,
            CameraBackend::Gstreamer(config) => gst_encoder(config).is_some_and(Encoder::limits_nal_size),
        }
    }
}

#[cfg(feature = "gst")]
fn gst_encoder(config: &CameraConfig) -> Option<Encoder> {
    config.encoder.resolve(crate::gst::probe().ok()?).ok()
}

#[cfg(not(feature = "gst"))]
fn gst_encoder(_: &CameraConfig) -> Option<Encoder> {
    None
}

/// A camera that always yields access units (raw sources are encoded with OpenH264).
pub type Camera = EncodingSource<Box<dyn VideoSource>>;

/// Opens the camera for `video` (size, rate, bit rate and key-frame interval).
pub fn open_camera(backend: &CameraBackend, video: VideoConfig) -> Result<Camera, DeviceError> {
    let source: Box<dyn VideoSource> = match backend {
        CameraBackend::Pattern => Box::new(PatternCamera::new(video)?),
        CameraBackend::Gstreamer(config) => open_gst_camera(&CameraConfig { video, ..config.clone() })?,
        CameraBackend::V4l { device } => open_v4l_camera(device, &video)?,
    };
    EncodingSource::new(source, video)
}

#[cfg(feature = "gst")]
fn open_gst_camera(config: &CameraConfig) -> Result<Box<dyn VideoSource>, DeviceError> {
    Ok(Box::new(crate::gst::GstCamera::open(config)?))
}

#[cfg(not(feature = "gst"))]
fn open_gst_camera(_: &CameraConfig) -> Result<Box<dyn VideoSource>, DeviceError> {
    Err(DeviceError::NotBuilt { backend: "gstreamer", feature: "gst" })
}

#[cfg(feature = "v4l")]
fn open_v4l_camera(device: &std::path::Path, video: &VideoConfig) -> Result<Box<dyn VideoSource>, DeviceError> {
    Ok(Box::new(crate::v4l_capture::V4lCamera::open(device, video)?))
}

#[cfg(not(feature = "v4l"))]
fn open_v4l_camera(_: &std::path::Path, _: &VideoConfig) -> Result<Box<dyn VideoSource>, DeviceError> {
    Err(DeviceError::NotBuilt { backend: "v4l", feature: "v4l" })
}

/// Opens the microphone at `rate`.
pub fn open_microphone(backend: &MicrophoneBackend, rate: SampleRate) -> Result<Box<dyn AudioCapture>, DeviceError> {
    match backend {
        MicrophoneBackend::Tone { hz } => {
            let tone = ToneSource::new(*hz, rate, 8000).map_err(|e| DeviceError::open("tone", hz.to_string(), e))?;
            Ok(Box::new(tone))
        }
        MicrophoneBackend::Wav { path } => {
            let mic = WavMicrophone::open(path, true)?;
            if mic.rate() != rate {
                return Err(DeviceError::Format {
                    backend: "wav",
                    device: path.display().to_string(),
                    expected: format!("{} Hz", rate.hz()),
                    got: format!("{} Hz", mic.rate().hz()),
                });
            }
            Ok(Box::new(mic))
        }
        MicrophoneBackend::Card(SoundCard::Alsa { device }) => open_alsa_microphone(device, rate),
        MicrophoneBackend::Card(SoundCard::Gstreamer { device, echo_probe }) => {
            open_gst_microphone(device, echo_probe.as_deref(), rate)
        }
    }
}

/// Opens the speaker at `rate`.
pub fn open_speaker(backend: &SpeakerBackend, rate: SampleRate) -> Result<Box<dyn AudioPlayback>, DeviceError> {
    match backend {
        SpeakerBackend::Null => Ok(Box::new(NullPlayback::new(rate))),
        SpeakerBackend::Wav { path } => Ok(Box::new(FilePlayback::create(path, rate)?)),
        SpeakerBackend::Card(SoundCard::Alsa { device }) => open_alsa_speaker(device, rate),
        SpeakerBackend::Card(SoundCard::Gstreamer { device, echo_probe }) => {
            open_gst_speaker(device, echo_probe.as_deref(), rate)
        }
    }
}

#[cfg(feature = "alsa")]
fn open_alsa_microphone(device: &str, rate: SampleRate) -> Result<Box<dyn AudioCapture>, DeviceError> {
    Ok(Box::new(crate::alsa_audio::AlsaCapture::open(device, rate)?))
}

#[cfg(feature = "alsa")]
fn open_alsa_speaker(device: &str, rate: SampleRate) -> Result<Box<dyn AudioPlayback>, DeviceError> {
    Ok(Box::new(crate::alsa_audio::AlsaPlayback::open(device, rate)?))
}

#[cfg(not(feature = "alsa"))]
fn open_alsa_microphone(_: &str, _: SampleRate) -> Result<Box<dyn AudioCapture>, DeviceError> {
    Err(DeviceError::NotBuilt { backend: "alsa", feature: "alsa" })
}

#[cfg(not(feature = "alsa"))]
fn open_alsa_speaker(_: &str, _: SampleRate) -> Result<Box<dyn AudioPlayback>, DeviceError> {
    Err(DeviceError::NotBuilt { backend: "alsa", feature: "alsa" })
}

#[cfg(feature = "gst")]
fn echo(probe: Option<&str>) -> Option<crate::gst::audio::EchoCancel> {
    probe.map(|p| crate::gst::audio::EchoCancel { probe: p.to_string() })
}

#[cfg(feature = "gst")]
fn open_gst_microphone(
    device: &str,
    probe: Option<&str>,
    rate: SampleRate,
) -> Result<Box<dyn AudioCapture>, DeviceError> {
    use crate::gst::audio::{AudioEndpoint, GstCapture};
    let endpoint = AudioEndpoint::Alsa(device.to_string());
    // A read waits at most a second: longer means the device stopped.
    Ok(Box::new(GstCapture::open(&endpoint, rate, echo(probe).as_ref(), Duration::from_secs(1))?))
}

#[cfg(feature = "gst")]
fn open_gst_speaker(
    device: &str,
    probe: Option<&str>,
    rate: SampleRate,
) -> Result<Box<dyn AudioPlayback>, DeviceError> {
    use crate::gst::audio::{AudioEndpoint, GstPlayback};
    let endpoint = AudioEndpoint::Alsa(device.to_string());
    Ok(Box::new(GstPlayback::open(&endpoint, rate, echo(probe).as_ref())?))
}

#[cfg(not(feature = "gst"))]
fn open_gst_microphone(_: &str, _: Option<&str>, _: SampleRate) -> Result<Box<dyn AudioCapture>, DeviceError> {
    Err(DeviceError::NotBuilt { backend: "gstreamer", feature: "gst" })
}

#[cfg(not(feature = "gst"))]
fn open_gst_speaker(_: &str, _: Option<&str>, _: SampleRate) -> Result<Box<dyn AudioPlayback>, DeviceError> {
    Err(DeviceError::NotBuilt { backend: "gstreamer", feature: "gst" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn small() -> VideoConfig {
        VideoConfig { width: 160, height: 120, fps: 10, ..VideoConfig::default() }
    }

    #[test]
    fn the_simulated_back_ends_open_and_run() {
        let mut camera = open_camera(&CameraBackend::Pattern, small()).unwrap();
        assert!(camera.next_unit(Duration::ZERO).unwrap().unwrap().starts_with_parameter_sets());
        let mut mic = open_microphone(&MicrophoneBackend::Tone { hz: 440.0 }, SampleRate::Hz8000).unwrap();
        let frame = mic.read_frame().unwrap().unwrap();
        let mut speaker = open_speaker(&SpeakerBackend::Null, SampleRate::Hz8000).unwrap();
        speaker.write_frame(&frame).unwrap();
        assert!(open_microphone(&MicrophoneBackend::Tone { hz: 9000.0 }, SampleRate::Hz8000).is_err());
    }

    #[test]
    fn a_wav_file_recorded_by_the_speaker_plays_back_as_the_microphone() {
        let path = std::env::temp_dir().join(format!("ds-media-backends-{}.wav", std::process::id()));
        let mut speaker = open_speaker(&SpeakerBackend::Wav { path: path.clone() }, SampleRate::Hz8000).unwrap();
        speaker.write_frame(&[1000; 160]).unwrap();
        speaker.finish().unwrap();
        let wav = MicrophoneBackend::Wav { path: path.clone() };
        let mut mic = open_microphone(&wav, SampleRate::Hz8000).unwrap();
        assert_eq!(mic.read_frame().unwrap().unwrap(), vec![1000; 160]);
        assert!(matches!(open_microphone(&wav, SampleRate::Hz48000), Err(DeviceError::Format { .. })));
        std::fs::remove_file(path).unwrap();
    }

    #[cfg(feature = "gst")]
    #[test]
    fn a_gstreamer_camera_yields_access_units_whatever_the_encoder() {
        use crate::camera_config::{CameraInput, EncoderChoice};
        let config = CameraConfig { input: CameraInput::TestSource, encoder: EncoderChoice::Auto, video: small() };
        let mut camera = open_camera(&CameraBackend::Gstreamer(config), small()).unwrap();
        let unit = camera.next_unit(Duration::from_secs(20)).unwrap().expect("a frame");
        assert!(unit.starts_with_parameter_sets());
    }

    #[cfg(not(feature = "v4l"))]
    #[test]
    fn a_back_end_not_built_says_which_feature_it_needs() {
        let err = open_camera(&CameraBackend::V4l { device: "/dev/video0".into() }, small()).unwrap_err();
        assert!(matches!(err, DeviceError::NotBuilt { feature: "v4l", .. }), "{err}");
    }
}
