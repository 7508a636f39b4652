//! Which camera and which H.264 encoder, and the GStreamer pipeline that follows from them.
//!
//! This part is plain data and strings, so the choice and the pipelines are tested without
//! GStreamer; `crate::gst` (feature `gst`) runs them.
//!
//! The encoder choice (`[media] video_encoder`): `auto` takes the board's hardware encoder when
//! GStreamer has `v4l2h264enc` *and* its device node exists (a Raspberry Pi 4's bcm2835 codec at
//! `/dev/video11`; a Pi 5 has none), OpenH264 otherwise. `hardware`, `openh264` and `x264`
//! (`x264enc tune=zerolatency`, for comparison on a bench) force one.
//!
//! NAL unit size: OpenH264 and x264 (`slice-max-size`, which gstreamer's x264enc takes in its
//! `option-string`) cut slices to `max_nal_bytes`, so every
//! NAL unit fits one RTP packet and a packetization-mode 0 peer can take the stream. The Pi's
//! bcm2835 codec has no slice controls (its encoder offers bit rate, header mode, repeat
//! sequence header, I period, level, profile, QP range, B frames and GOP size; no
//! `V4L2_CID_MPEG_VIDEO_MULTI_SLICE_*`), so with it the station offers mode 1 only
//! ([`Encoder::limits_nal_size`]).

use crate::h264::VideoConfig;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The encoder device of the Raspberry Pi 4's bcm2835 codec.
pub const PI4_ENCODER_DEVICE: &str = "/dev/video11";

/// The level of profile-level-id 42e01f: constrained baseline, level 3.1 (enough for 720p30).
const H264_CAPS: &str = "video/x-h264,profile=constrained-baseline";

/// What went wrong choosing a camera or encoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CameraConfigError {
    /// Not one of the accepted names.
    #[error("video_encoder = {got:?}: expected one of auto, hardware, openh264, x264")]
    UnknownEncoder {
        /// The value given.
        got: String,
    },
    /// The forced encoder is not available here.
    #[error("video_encoder = {choice}: {why}")]
    Unavailable {
        /// The choice.
        choice: EncoderChoice,
        /// What is missing.
        why: String,
    },
}

/// The configured encoder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EncoderChoice {
    /// Hardware if present, else OpenH264.
    #[default]
    Auto,
    /// `v4l2h264enc`, or fail.
    Hardware,
    /// OpenH264 in this process.
    OpenH264,
    /// GStreamer's `x264enc tune=zerolatency`.
    X264,
}

impl FromStr for EncoderChoice {
    type Err = CameraConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(EncoderChoice::Auto),
            "hardware" => Ok(EncoderChoice::Hardware),
            "openh264" => Ok(EncoderChoice::OpenH264),
            "x264" => Ok(EncoderChoice::X264),
            other => Err(CameraConfigError::UnknownEncoder { got: other.to_string() }),
        }
    }
}

impl fmt::Display for EncoderChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncoderChoice::Auto => "auto",
            EncoderChoice::Hardware => "hardware",
            EncoderChoice::OpenH264 => "openh264",
            EncoderChoice::X264 => "x264",
        })
    }
}

/// The encoder actually used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoder {
    /// `v4l2h264enc` in the pipeline.
    Hardware,
    /// Raw frames out of the pipeline, OpenH264 in Rust.
    OpenH264,
    /// `x264enc` in the pipeline.
    X264,
}

impl Encoder {
    /// Whether this encoder keeps every NAL unit within `VideoConfig::max_nal_bytes`.
    pub fn limits_nal_size(self) -> bool {
        match self {
            Encoder::OpenH264 | Encoder::X264 => true,
            Encoder::Hardware => false,
        }
    }
}

/// What the machine has, as found by `crate::gst::probe` (or made up by a test).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncoderProbe {
    /// GStreamer has a `v4l2h264enc` element.
    pub v4l2h264enc: bool,
    /// Its device node exists.
    pub encoder_device: bool,
    /// GStreamer has `x264enc` (gstreamer1.0-plugins-ugly).
    pub x264enc: bool,
}

impl EncoderChoice {
    /// The encoder to use on a machine with `probe`.
    pub fn resolve(self, probe: EncoderProbe) -> Result<Encoder, CameraConfigError> {
        let hardware = probe.v4l2h264enc && probe.encoder_device;
        let unavailable = |why: &str| CameraConfigError::Unavailable { choice: self, why: why.into() };
        match self {
            EncoderChoice::Auto if hardware => Ok(Encoder::Hardware),
            EncoderChoice::Auto | EncoderChoice::OpenH264 => Ok(Encoder::OpenH264),
            EncoderChoice::Hardware if hardware => Ok(Encoder::Hardware),
            EncoderChoice::Hardware if probe.v4l2h264enc => {
                Err(unavailable(&format!("v4l2h264enc exists but {PI4_ENCODER_DEVICE} does not")))
            }
            EncoderChoice::Hardware => Err(unavailable("GStreamer has no v4l2h264enc element")),
            EncoderChoice::X264 if probe.x264enc => Ok(Encoder::X264),
            EncoderChoice::X264 => Err(unavailable("GStreamer has no x264enc (gstreamer1.0-plugins-ugly)")),
        }
    }
}

/// Where pictures come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraInput {
    /// A V4L2 camera; `mjpeg` when it only delivers JPEG at the size wanted (many USB cameras).
    V4l2 {
        /// E.g. `/dev/video0`.
        device: PathBuf,
        /// Ask for `image/jpeg` and decode it.
        mjpeg: bool,
    },
    /// GStreamer's `videotestsrc`, for tests.
    TestSource,
}

/// Everything needed to build the camera pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraConfig {
    /// The source.
    pub input: CameraInput,
    /// The encoder choice.
    pub encoder: EncoderChoice,
    /// Size, rate, bit rate, key-frame interval.
    pub video: VideoConfig,
}

/// The name of the appsink in every pipeline.
pub const SINK_NAME: &str = "sink";

/// The `gst-launch` description of the pipeline for `input` and `encoder`.
pub fn pipeline_description(input: &CameraInput, encoder: Encoder, video: &VideoConfig) -> String {
    let source = match input {
        CameraInput::V4l2 { device, mjpeg: false } => format!("v4l2src device={}", device.display()),
        CameraInput::V4l2 { device, mjpeg: true } => {
            format!("v4l2src device={} ! image/jpeg ! jpegdec", device.display())
        }
        CameraInput::TestSource => "videotestsrc is-live=true pattern=smpte".to_string(),
    };
    let raw = format!(
        "videoconvert ! videoscale ! videorate ! video/x-raw,format=I420,width={},height={},framerate={}/1",
        video.width, video.height, video.fps
    );
    let sink = format!("appsink name={SINK_NAME} max-buffers=2 drop=true sync=false");
    match encoder {
        Encoder::OpenH264 => format!("{source} ! {raw} ! {sink}"),
        Encoder::Hardware | Encoder::X264 => {
            let enc = encoder_element(encoder, video);
            let parsed = "h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au";
            format!("{source} ! {raw} ! {enc} ! {H264_CAPS} ! {parsed} ! {sink}")
        }
    }
}

/// Frames between key frames; "only on request" becomes an hour.
fn keyframe_period(video: &VideoConfig) -> u32 {
    match video.keyframe_interval_s {
        0 => 3600 * video.fps,
        s => s * video.fps,
    }
}

fn encoder_element(encoder: Encoder, video: &VideoConfig) -> String {
    let period = keyframe_period(video);
    match encoder {
        Encoder::Hardware => format!(
            "v4l2h264enc extra-controls=\"controls,video_bitrate={},h264_i_frame_period={period},repeat_sequence_header=1\"",
            video.bitrate_bps
        ),
        _ => format!(
            "x264enc tune=zerolatency speed-preset=ultrafast bitrate={} key-int-max={period} aud=false threads=1 \
             option-string=\"slice-max-size={}\"",
            (video.bitrate_bps / 1000).max(1),
            video.max_nal_bytes.unwrap_or(0)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_the_hardware_encoder_only_with_its_device() {
        let none = EncoderProbe::default();
        let element_only = EncoderProbe { v4l2h264enc: true, ..none };
        let pi4 = EncoderProbe { v4l2h264enc: true, encoder_device: true, x264enc: false };
        assert_eq!(EncoderChoice::Auto.resolve(none), Ok(Encoder::OpenH264));
        assert_eq!(EncoderChoice::Auto.resolve(element_only), Ok(Encoder::OpenH264));
        assert_eq!(EncoderChoice::Auto.resolve(pi4), Ok(Encoder::Hardware));
        assert_eq!(EncoderChoice::OpenH264.resolve(pi4), Ok(Encoder::OpenH264));
        let err = EncoderChoice::Hardware.resolve(element_only).unwrap_err();
        assert!(err.to_string().contains("/dev/video11"), "{err}");
        assert!(EncoderChoice::Hardware.resolve(none).is_err());
        assert!(EncoderChoice::X264.resolve(pi4).is_err());
        let bench = EncoderProbe { x264enc: true, ..none };
        assert_eq!(EncoderChoice::X264.resolve(bench), Ok(Encoder::X264));
    }

    #[test]
    fn choices_parse_and_print() {
        for name in ["auto", "hardware", "openh264", "x264"] {
            assert_eq!(name.parse::<EncoderChoice>().unwrap().to_string(), name);
        }
        assert!(matches!(
            "vaapi".parse::<EncoderChoice>(),
            Err(CameraConfigError::UnknownEncoder { got }) if got == "vaapi"
        ));
    }

    #[test]
    fn pipelines_name_the_source_encoder_and_sink() {
        let video = VideoConfig {
            width: 640,
            height: 480,
            fps: 15,
            bitrate_bps: 500_000,
            keyframe_interval_s: 2,
            max_nal_bytes: Some(1200),
        };
        let cam = CameraInput::V4l2 { device: "/dev/video0".into(), mjpeg: false };
        let hw = pipeline_description(&cam, Encoder::Hardware, &video);
        assert!(hw.starts_with("v4l2src device=/dev/video0 ! videoconvert"));
        assert!(hw.contains("width=640,height=480,framerate=15/1"));
        assert!(hw.contains("v4l2h264enc extra-controls=\"controls,video_bitrate=500000,h264_i_frame_period=30"));
        assert!(hw.contains("h264parse config-interval=-1"));
        let raw = pipeline_description(&CameraInput::TestSource, Encoder::OpenH264, &video);
        assert!(!raw.contains("264"));
        assert!(raw.ends_with("appsink name=sink max-buffers=2 drop=true sync=false"));
        let mjpeg = CameraInput::V4l2 { device: "/dev/video2".into(), mjpeg: true };
        let x264 = pipeline_description(&mjpeg, Encoder::X264, &VideoConfig { keyframe_interval_s: 0, ..video });
        assert!(x264.contains("image/jpeg ! jpegdec"));
        assert!(x264.contains("x264enc tune=zerolatency speed-preset=ultrafast bitrate=500 key-int-max=54000"));
        assert!(x264.contains("threads=1 option-string=\"slice-max-size=1200\" !"), "{x264}");
        assert!(!hw.contains("slice"), "the hardware encoder has no slice control: {hw}");
        assert!(Encoder::X264.limits_nal_size() && Encoder::OpenH264.limits_nal_size());
        assert!(!Encoder::Hardware.limits_nal_size());
    }
}
