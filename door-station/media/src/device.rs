//! The capture and playback hardware behind small traits, so the media threads do not care
//! whether frames come from a camera, GStreamer, ALSA, a WAV file or a generator.
//!
//! - [`VideoSource`]: yields encoded H.264 access units (a camera with its own encoder) or raw
//!   I420 pictures (the caller encodes them with [`crate::h264::H264Encoder`]), and takes key-frame
//!   requests and new settings ([`VideoSource::reconfigure`], for a peer at a lower H.264 level:
//!   an encoder or pipeline built again, or raw pictures scaled by [`EncodingSource`]).
//! - [`AudioCapture`]: 20 ms mono PCM frames.
//! - [`AudioPlayback`]: 20 ms mono PCM frames out.
//!
//! [`crate::backends`] opens the configured ones. Simulated back-ends: [`PatternCamera`] (the moving test pattern), [`ToneSource`] (a tone),
//! [`crate::wav::WavMicrophone`], [`NullPlayback`] and [`crate::wav::FilePlayback`]. Real ones
//! are behind features: `gst` (`crate::gst`, also audio with echo cancellation), `v4l` (`crate::v4l_capture`), `alsa`
//! (`crate::alsa_audio`).
//!
//! Calls block for at most one frame (or the timeout given): each back-end runs on a thread of
//! its own in the media shell.

use crate::h264::{AccessUnit, H264Encoder, H264Error, NalKind, Picture, SdpParameters, VideoConfig};
use crate::tone::{SampleRate, ToneSource};
use openh264::formats::YUVSource;
use std::time::Duration;

/// What went wrong with a capture or playback device.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The device does not exist or cannot be opened.
    #[error("{backend}: cannot open {device}: {reason}")]
    Open {
        /// "alsa", "v4l", "gstreamer", "wav".
        backend: &'static str,
        /// The device name or path.
        device: String,
        /// What the system said.
        reason: String,
    },
    /// The device opened but does not offer what is needed.
    #[error("{backend}: {device} offers {got}, need {expected}")]
    Format {
        /// The back-end.
        backend: &'static str,
        /// The device name or path.
        device: String,
        /// What is needed.
        expected: String,
        /// What it offers.
        got: String,
    },
    /// Reading or writing failed while running.
    #[error("{backend}: {during} failed: {reason}")]
    Io {
        /// The back-end.
        backend: &'static str,
        /// The operation, e.g. "read", "write", "pull sample".
        during: &'static str,
        /// What the system said.
        reason: String,
    },
    /// The encoder failed.
    #[error(transparent)]
    Encode(#[from] H264Error),
    /// The device cannot do what was asked of it.
    #[error("{device} cannot {what}")]
    Unsupported {
        /// The device, as [`VideoSource::describe`] says.
        device: String,
        /// What it was asked, e.g. "change its size or rate".
        what: &'static str,
    },
    /// The back-end was configured but this build does not have it.
    #[error("{backend} is not in this build: rebuild ds-media with feature `{feature}`")]
    NotBuilt {
        /// The back-end.
        backend: &'static str,
        /// The cargo feature that has it.
        feature: &'static str,
    },
}

impl DeviceError {
    /// An I/O failure of `backend` during `during`.
    pub fn io(backend: &'static str, during: &'static str, reason: impl ToString) -> Self {
        DeviceError::Io { backend, during, reason: reason.to_string() }
    }

    /// A device of `backend` that cannot be opened.
    pub fn open(backend: &'static str, device: impl Into<String>, reason: impl ToString) -> Self {
        DeviceError::Open { backend, device: device.into(), reason: reason.to_string() }
    }
}

/// What a video source yields for one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VideoFrame {
    /// An encoded access unit, SPS and PPS before every IDR.
    Encoded(AccessUnit),
    /// A raw I420 picture, to be encoded by the caller.
    Raw(Picture),
}

/// The SDP `profile-level-id` and `sprop-parameter-sets` of a stream, from one of its IDR units
/// (with SPS and PPS); for sources whose encoder is not OpenH264 (a hardware encoder's SPS says
/// its own profile and level).
pub fn sdp_parameters_of(unit: &AccessUnit) -> Option<SdpParameters> {
    let sps = unit.find(NalKind::Sps)?;
    let pps = unit.find(NalKind::Pps)?;
    Some(SdpParameters {
        profile_level_id: crate::h264::profile_level_id(sps)?,
        sprop_parameter_sets: crate::h264::sprop_parameter_sets(sps, pps),
    })
}

/// How a source took new video settings ([`VideoSource::reconfigure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refit {
    /// Its frames now have the new size and rate (its encoder or pipeline was rebuilt; the
    /// next encoded frame is an IDR with the new SPS and PPS).
    Delivered,
    /// It yields raw pictures of the old size and rate: whoever encodes them scales them and
    /// leaves frames out ([`EncodingSource`] does).
    Scale,
}

/// A camera.
pub trait VideoSource: Send {
    /// The next frame, waiting at most `timeout`; `Ok(None)` when none came in time (or an
    /// encoder skipped the frame).
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<VideoFrame>, DeviceError>;

    /// Makes the next encoded frame an IDR with SPS and PPS (a raw source ignores it: its
    /// encoder takes the request).
    fn request_keyframe(&mut self);

    /// A short name for logs, e.g. "gstreamer v4l2h264enc /dev/video0".
    fn describe(&self) -> String;

    /// Takes new size, rate and bit rate (a peer at a lower H.264 level, and back). A source
    /// that cannot says [`DeviceError::Unsupported`] and keeps its settings.
    fn reconfigure(&mut self, video: &VideoConfig) -> Result<Refit, DeviceError> {
        let _ = video;
        Err(DeviceError::Unsupported { device: self.describe(), what: "change its size or rate" })
    }
}

/// A microphone.
pub trait AudioCapture: Send {
    /// The sample rate of the frames.
    fn rate(&self) -> SampleRate;

    /// The next 20 ms of mono samples (`rate().frame_samples()` long); `Ok(None)` at the end of
    /// a finite source.
    fn read_frame(&mut self) -> Result<Option<Vec<i16>>, DeviceError>;
}

/// A speaker.
pub trait AudioPlayback: Send {
    /// The sample rate it expects.
    fn rate(&self) -> SampleRate;

    /// Plays 20 ms of mono samples.
    fn write_frame(&mut self, samples: &[i16]) -> Result<(), DeviceError>;

    /// Plays out what is queued and closes; further writes are errors or ignored.
    fn finish(&mut self) -> Result<(), DeviceError>;
}

impl<T: VideoSource + ?Sized> VideoSource for Box<T> {
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<VideoFrame>, DeviceError> {
        (**self).next_frame(timeout)
    }

    fn request_keyframe(&mut self) {
        (**self).request_keyframe();
    }

    fn describe(&self) -> String {
        (**self).describe()
    }

    fn reconfigure(&mut self, video: &VideoConfig) -> Result<Refit, DeviceError> {
        (**self).reconfigure(video)
    }
}

impl AudioCapture for ToneSource {
    fn rate(&self) -> SampleRate {
        ToneSource::rate(self)
    }

    fn read_frame(&mut self) -> Result<Option<Vec<i16>>, DeviceError> {
        Ok(Some(self.next_frame()))
    }
}

/// A speaker that discards everything but counts it.
#[derive(Clone, Debug)]
pub struct NullPlayback {
    rate: SampleRate,
    frames: u64,
}

impl NullPlayback {
    /// A null speaker at `rate`.
    pub fn new(rate: SampleRate) -> Self {
        NullPlayback { rate, frames: 0 }
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

impl AudioPlayback for NullPlayback {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn write_frame(&mut self, _samples: &[i16]) -> Result<(), DeviceError> {
        self.frames += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}

/// The simulated camera as a [`VideoSource`]: the moving test pattern, encoded, one frame per
/// call (pacing is the caller's; [`crate::sources::Camera`] is the paced thread).
#[derive(Debug)]
pub struct PatternCamera {
    encoder: H264Encoder,
}

impl PatternCamera {
    /// A pattern camera for `config`.
    pub fn new(config: VideoConfig) -> Result<Self, DeviceError> {
        Ok(PatternCamera { encoder: H264Encoder::new(config)? })
    }
}

impl VideoSource for PatternCamera {
    fn next_frame(&mut self, _timeout: Duration) -> Result<Option<VideoFrame>, DeviceError> {
        Ok(self.encoder.encode_next()?.map(VideoFrame::Encoded))
    }

    fn request_keyframe(&mut self) {
        self.encoder.force_keyframe();
    }

    fn describe(&self) -> String {
        let c = self.encoder.config();
        format!("test pattern {}x{}@{} (openh264)", c.width, c.height, c.fps)
    }

    fn reconfigure(&mut self, video: &VideoConfig) -> Result<Refit, DeviceError> {
        self.encoder.reconfigure(*video)?;
        Ok(Refit::Delivered)
    }
}

/// Turns raw pictures into access units with OpenH264, passing encoded frames through: wraps
/// any [`VideoSource`] so that it always yields [`VideoFrame::Encoded`].
pub struct EncodingSource<S> {
    source: S,
    encoder: H264Encoder,
    /// The raw pictures' rate when the encoder runs at another ([`Refit::Scale`]).
    raw_fps: u32,
    /// Frames owed to the encoder, in units of 1/`raw_fps` (leaves frames out evenly).
    credit: u32,
}

impl<S: VideoSource> EncodingSource<S> {
    /// Wraps `source`, encoding its raw pictures with an encoder for `config`.
    pub fn new(source: S, config: VideoConfig) -> Result<Self, DeviceError> {
        Ok(EncodingSource { source, encoder: H264Encoder::new(config)?, raw_fps: config.fps, credit: 0 })
    }

    /// Takes new video settings: the source rebuilds itself, or keeps delivering raw pictures
    /// of its size and rate, which are then scaled and thinned for an encoder with the new
    /// settings. Either way the next unit is an IDR with the new SPS and PPS. On an error
    /// the old settings stay.
    pub fn reconfigure(&mut self, video: VideoConfig) -> Result<Refit, DeviceError> {
        video.validate()?;
        let refit = self.source.reconfigure(&video)?;
        if refit == Refit::Delivered {
            self.raw_fps = video.fps;
        }
        self.encoder.reconfigure(video)?;
        self.credit = 0;
        Ok(refit)
    }

    /// The settings the units are encoded with.
    pub fn video(&self) -> &VideoConfig {
        self.encoder.config()
    }

    /// The next access unit (see [`VideoSource::next_frame`]).
    pub fn next_unit(&mut self, timeout: Duration) -> Result<Option<AccessUnit>, DeviceError> {
        match self.source.next_frame(timeout)? {
            None => Ok(None),
            Some(VideoFrame::Encoded(unit)) => Ok(Some(unit)),
            Some(VideoFrame::Raw(picture)) => self.encode_raw(&picture),
        }
    }

    fn encode_raw(&mut self, picture: &Picture) -> Result<Option<AccessUnit>, DeviceError> {
        let c = *self.encoder.config();
        self.credit += c.fps.min(self.raw_fps);
        if self.credit < self.raw_fps {
            return Ok(None);
        }
        self.credit -= self.raw_fps;
        let size = (c.width as usize, c.height as usize);
        if picture.dimensions() == size {
            return Ok(self.encoder.encode_picture(picture)?);
        }
        Ok(self.encoder.encode_picture(&picture.scaled(size.0, size.1))?)
    }

    /// The SDP parameters of the stream as sent: reads units until an IDR with SPS and PPS
    /// comes, for at most `within` (a real camera may take a second to start). The units read
    /// are not kept; `None` when none came in time or the source failed.
    pub fn first_parameters(&mut self, within: Duration) -> Option<SdpParameters> {
        let until = std::time::Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            match self.next_unit(left) {
                Ok(Some(unit)) if unit.starts_with_parameter_sets() => return sdp_parameters_of(&unit),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Asks both the source and the encoder for a key frame.
    pub fn request_keyframe(&mut self) {
        self.source.request_keyframe();
        self.encoder.force_keyframe();
    }

    /// The wrapped source.
    pub fn source(&self) -> &S {
        &self.source
    }
}

impl<S: VideoSource> std::fmt::Debug for EncodingSource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodingSource")
            .field("source", &self.source.describe())
            .field("encoder", &self.encoder)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::draw_test_pattern;

    fn small() -> VideoConfig {
        VideoConfig { width: 160, height: 120, fps: 10, keyframe_interval_s: 0, ..VideoConfig::default() }
    }

    /// A raw source of test-pattern pictures.
    struct RawPattern(u64);

    impl VideoSource for RawPattern {
        fn next_frame(&mut self, _: Duration) -> Result<Option<VideoFrame>, DeviceError> {
            let mut p = Picture::new(160, 120);
            draw_test_pattern(&mut p, self.0);
            self.0 += 1;
            Ok(Some(VideoFrame::Raw(p)))
        }
        fn request_keyframe(&mut self) {}
        fn describe(&self) -> String {
            "raw pattern".into()
        }
        fn reconfigure(&mut self, _: &VideoConfig) -> Result<Refit, DeviceError> {
            Ok(Refit::Scale)
        }
    }

    #[test]
    fn the_pattern_camera_yields_an_idr_first_and_on_request() {
        let mut cam = PatternCamera::new(small()).unwrap();
        let next = |cam: &mut PatternCamera| match cam.next_frame(Duration::ZERO).unwrap() {
            Some(VideoFrame::Encoded(u)) => u,
            other => panic!("expected an access unit, got {other:?}"),
        };
        let first = next(&mut cam);
        assert!(first.starts_with_parameter_sets());
        let sdp = sdp_parameters_of(&first).unwrap();
        assert_eq!(Some(sdp), crate::h264::sdp_parameters(small()).ok());
        let second = next(&mut cam);
        assert!(!second.is_idr());
        assert_eq!(sdp_parameters_of(&second), None);
        cam.request_keyframe();
        assert!(next(&mut cam).starts_with_parameter_sets());
        assert!(cam.describe().contains("160x120"));
    }

    #[test]
    fn raw_pictures_are_encoded_and_key_frames_forced() {
        let mut src = EncodingSource::new(RawPattern(0), small()).unwrap();
        let sdp = src.first_parameters(Duration::from_secs(5)).expect("the first unit is an IDR");
        assert_eq!(Some(sdp), crate::h264::sdp_parameters(small()).ok());
        let mut src = EncodingSource::new(RawPattern(0), small()).unwrap();
        let first = src.next_unit(Duration::ZERO).unwrap().unwrap();
        assert!(first.is_idr() && first.starts_with_parameter_sets());
        assert!(!src.next_unit(Duration::ZERO).unwrap().unwrap().is_idr());
        src.request_keyframe();
        assert!(src.next_unit(Duration::ZERO).unwrap().unwrap().is_idr());
    }

    fn mbs(unit: &AccessUnit) -> (usize, usize) {
        let mut decoder = openh264::decoder::Decoder::new().unwrap();
        decoder.decode(&unit.to_annex_b()).unwrap().expect("a picture").dimensions()
    }

    #[test]
    fn raw_pictures_are_scaled_and_thinned_for_new_settings_and_restored() {
        let mut src = EncodingSource::new(RawPattern(0), small()).unwrap();
        let first = src.next_unit(Duration::ZERO).unwrap().unwrap();
        let smaller = VideoConfig { width: 96, height: 72, fps: 5, ..small() };
        assert_eq!(src.reconfigure(smaller).unwrap(), Refit::Scale, "raw pictures are the caller's to scale");
        let units: Vec<_> = (0..10).filter_map(|_| src.next_unit(Duration::ZERO).unwrap()).collect();
        assert_eq!(units.len(), 5, "10 fps in, 5 fps out");
        assert!(units[0].starts_with_parameter_sets(), "the new settings start with an IDR");
        assert_eq!(mbs(&units[0]), (96, 72));
        assert_ne!(sdp_parameters_of(&units[0]), sdp_parameters_of(&first), "a new SPS");
        assert!(units.windows(2).all(|w| w[1].timestamp_90k > w[0].timestamp_90k));
        assert!(units[0].timestamp_90k > first.timestamp_90k, "time goes on across the change");
        src.reconfigure(small()).unwrap();
        let back = src.next_unit(Duration::ZERO).unwrap().unwrap();
        assert!(back.starts_with_parameter_sets());
        assert_eq!(mbs(&back), (160, 120));
        assert!(src.reconfigure(VideoConfig { width: 7, ..small() }).is_err());
        assert_eq!(src.video(), &small(), "a refused change keeps the settings");
    }

    #[test]
    fn the_pattern_camera_rebuilds_its_encoder_and_a_fixed_source_says_it_cannot() {
        let mut cam = EncodingSource::new(PatternCamera::new(small()).unwrap(), small()).unwrap();
        cam.next_unit(Duration::ZERO).unwrap().unwrap();
        let smaller = VideoConfig { width: 96, height: 72, ..small() };
        assert_eq!(cam.reconfigure(smaller).unwrap(), Refit::Delivered);
        let unit = cam.next_unit(Duration::ZERO).unwrap().unwrap();
        assert!(unit.starts_with_parameter_sets());
        assert_eq!(mbs(&unit), (96, 72));
        struct Fixed;
        impl VideoSource for Fixed {
            fn next_frame(&mut self, _: Duration) -> Result<Option<VideoFrame>, DeviceError> {
                Ok(None)
            }
            fn request_keyframe(&mut self) {}
            fn describe(&self) -> String {
                "fixed".into()
            }
        }
        assert!(matches!(Fixed.reconfigure(&smaller), Err(DeviceError::Unsupported { .. })));
    }

    #[test]
    fn tone_and_null_devices_move_frames() {
        let mut mic = ToneSource::new(440.0, SampleRate::Hz8000, 8000).unwrap();
        let frame = AudioCapture::read_frame(&mut mic).unwrap().unwrap();
        assert_eq!(frame.len(), 160);
        let mut speaker = NullPlayback::new(SampleRate::Hz8000);
        speaker.write_frame(&frame).unwrap();
        speaker.write_frame(&frame).unwrap();
        speaker.finish().unwrap();
        assert_eq!(speaker.frames(), 2);
    }
}
