//! The simulated camera's encoder: the moving test pattern encoded by OpenH264 as constrained
//! baseline H.264, one access unit per frame, with key frames on request.
//!
//! Every IDR access unit carries its SPS and PPS in front of the IDR slice (the encoder's own, or
//! the last ones seen, re-inserted), so any receiver can start decoding at any IDR: that is what
//! lets a new early-media destination show a picture at once.

mod level;
mod nal;
mod pattern;

pub use level::{LevelLimits, fit_to_level, frame_mbs, level_limits};
pub use nal::{AccessUnit, NalKind, base64, profile_level_id, split_annex_b, sprop_parameter_sets, to_annex_b};
pub use pattern::{Picture, draw_test_pattern};

use bytes::Bytes;
use openh264::OpenH264API;
use openh264::Timestamp;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, Profile, RateControlMode, UsageType,
};
use openh264::formats::YUVSource;
use std::time::Duration;

/// The RTP clock rate of H.264 (RFC 6184 §8.2.1).
pub const H264_CLOCK: u32 = 90_000;

/// The smallest slice budget accepted: a macroblock row of a key frame must fit with room to spare.
const MIN_NAL_BYTES: u32 = 200;

/// What went wrong while encoding video.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum H264Error {
    /// The configuration is outside what the encoder supports.
    #[error("video {field} = {value} is invalid: {expected}")]
    Config {
        /// The field, e.g. "width".
        field: &'static str,
        /// The value given.
        value: u32,
        /// What is accepted.
        expected: &'static str,
    },
    /// OpenH264 refused.
    #[error("OpenH264 failed during {during}: {source}")]
    Codec {
        /// The operation, e.g. "encode".
        during: &'static str,
        /// The OpenH264 error.
        #[source]
        source: openh264::Error,
    },
    /// A picture of another size than configured.
    #[error("picture is {got}, the encoder is configured for {expected}")]
    PictureSize {
        /// The configured size, `WxH`.
        expected: String,
        /// The picture's size.
        got: String,
    },
    /// An IDR came out with no SPS/PPS in it and none seen before.
    #[error("IDR picture {frame_index} has no SPS/PPS and none were seen before")]
    ParameterSetsMissing {
        /// The frame.
        frame_index: u64,
    },
}

/// Video settings (the `[media]` `video_*` keys of station.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoConfig {
    /// Width in pixels, even, 16–1920.
    pub width: u32,
    /// Height in pixels, even, 16–1080.
    pub height: u32,
    /// Frames per second, 1–60.
    pub fps: u32,
    /// Target bit rate in bits per second.
    pub bitrate_bps: u32,
    /// Seconds between periodic key frames; 0 = only on request.
    pub keyframe_interval_s: u32,
    /// Largest NAL unit the encoder may write, in bytes (slices are cut to fit); `None` = one
    /// slice per picture. Every NAL then fits one RTP packet, as packetization-mode 0 requires.
    pub max_nal_bytes: Option<u32>,
}

/// The slice budget: a NAL unit of this size is one RTP payload of the packetizer's default
/// size ([`crate::packetize::DEFAULT_MAX_PAYLOAD`]), so it goes as a single NAL unit packet.
pub const MAX_NAL_BYTES: u32 = crate::packetize::DEFAULT_MAX_PAYLOAD as u32;

impl Default for VideoConfig {
    /// The defaults of assets/station.toml: 320×240, 15 fps, 384 kbit/s, a key frame every 2 s;
    /// slices within [`MAX_NAL_BYTES`].
    fn default() -> Self {
        VideoConfig {
            width: 320,
            height: 240,
            fps: 15,
            bitrate_bps: 384_000,
            keyframe_interval_s: 2,
            max_nal_bytes: Some(MAX_NAL_BYTES),
        }
    }
}

impl VideoConfig {
    /// Checks every field against what the encoder accepts.
    pub fn validate(&self) -> Result<(), H264Error> {
        let check = |field, value: u32, ok: bool, expected| {
            if ok { Ok(()) } else { Err(H264Error::Config { field, value, expected }) }
        };
        let w = self.width;
        let h = self.height;
        check("width", w, (16..=1920).contains(&w) && w.is_multiple_of(2), "even, 16 to 1920")?;
        check("height", h, (16..=1080).contains(&h) && h.is_multiple_of(2), "even, 16 to 1080")?;
        check("fps", self.fps, (1..=60).contains(&self.fps), "1 to 60")?;
        check("bitrate_bps", self.bitrate_bps, self.bitrate_bps >= 10_000, "at least 10000")?;
        check("keyframe_interval_s", self.keyframe_interval_s, self.keyframe_interval_s <= 60, "0 to 60")?;
        let nal = self.max_nal_bytes.unwrap_or(MIN_NAL_BYTES);
        check("max_nal_bytes", nal, nal >= MIN_NAL_BYTES, "at least 200")
    }

    /// Time between frames.
    pub fn frame_interval(&self) -> Duration {
        Duration::from_secs(1) / self.fps.max(1)
    }

    fn encoder_config(&self) -> EncoderConfig {
        let config = EncoderConfig::new()
            .profile(Profile::Baseline)
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(self.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(self.fps as f32))
            .intra_frame_period(IntraFramePeriod::from_num_frames(self.keyframe_interval_s * self.fps))
            // OpenH264 only holds the bit rate if it may skip frames.
            .skip_frames(true)
            .num_threads(1);
        match self.max_nal_bytes {
            // Size-limited slices; OpenH264 closes a slice with a margin below the limit.
            Some(bytes) => config.max_slice_len(bytes),
            None => config,
        }
    }
}

/// The test pattern camera: draws a frame, encodes it, returns the access unit.
pub struct H264Encoder {
    inner: Encoder,
    config: VideoConfig,
    picture: Picture,
    frame_index: u64,
    sps: Option<Bytes>,
    pps: Option<Bytes>,
    keyframe_pending: bool,
    /// The frame index and 90 kHz time the current settings started at.
    epoch: (u64, u64),
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("config", &self.config)
            .field("frame_index", &self.frame_index)
            .finish_non_exhaustive()
    }
}

impl H264Encoder {
    /// An encoder for `config` (validated).
    pub fn new(config: VideoConfig) -> Result<Self, H264Error> {
        config.validate()?;
        let inner = Encoder::with_api_config(OpenH264API::from_source(), config.encoder_config())
            .map_err(|source| H264Error::Codec { during: "create encoder", source })?;
        let picture = Picture::new(config.width as usize, config.height as usize);
        Ok(H264Encoder {
            inner,
            config,
            picture,
            frame_index: 0,
            sps: None,
            pps: None,
            keyframe_pending: false,
            epoch: (0, 0),
        })
    }

    /// Starts over with `config` (another size, rate or bit rate): the next frame is an IDR
    /// with the new SPS and PPS, and timestamps go on from where the old settings left off.
    pub fn reconfigure(&mut self, config: VideoConfig) -> Result<(), H264Error> {
        config.validate()?;
        let inner = Encoder::with_api_config(OpenH264API::from_source(), config.encoder_config())
            .map_err(|source| H264Error::Codec { during: "create encoder", source })?;
        self.epoch = (self.frame_index, self.time_90k(self.frame_index));
        self.inner = inner;
        self.config = config;
        self.picture = Picture::new(config.width as usize, config.height as usize);
        (self.sps, self.pps, self.keyframe_pending) = (None, None, false);
        Ok(())
    }

    /// The configuration in use.
    pub fn config(&self) -> &VideoConfig {
        &self.config
    }

    /// Makes the next encoded frame an IDR picture (with SPS and PPS). If the encoder skips that
    /// frame, the request stays until an IDR comes out.
    pub fn force_keyframe(&mut self) {
        self.keyframe_pending = true;
        self.inner.force_intra_frame();
    }

    /// Index the next frame gets (its timestamp is index × 90000 / fps, counted from the last
    /// [`Self::reconfigure`]).
    pub fn next_frame_index(&self) -> u64 {
        self.frame_index
    }

    /// Leaves out `n` frames: the next frame's index and timestamp are `n` frames later, so the
    /// timestamps keep following the clock when a slow machine drops frames.
    pub fn skip_frames(&mut self, n: u64) {
        self.frame_index = self.frame_index.saturating_add(n);
    }

    /// Draws the next test-pattern frame and encodes it. `None` if the encoder skipped the frame.
    pub fn encode_next(&mut self) -> Result<Option<AccessUnit>, H264Error> {
        let mut picture = std::mem::replace(&mut self.picture, Picture::new(0, 0));
        draw_test_pattern(&mut picture, self.frame_index);
        let result = self.encode_picture(&picture);
        self.picture = picture;
        result
    }

    /// Encodes a picture of the configured size as the next frame.
    pub fn encode_picture(&mut self, picture: &Picture) -> Result<Option<AccessUnit>, H264Error> {
        let unit = self.encode_frame(picture)?;
        if self.keyframe_pending {
            if unit.as_ref().is_some_and(AccessUnit::is_idr) {
                self.keyframe_pending = false;
            } else {
                self.inner.force_intra_frame();
            }
        }
        Ok(unit)
    }

    fn encode_frame(&mut self, picture: &Picture) -> Result<Option<AccessUnit>, H264Error> {
        let (width, height) = picture.dimensions();
        let expected = (self.config.width as usize, self.config.height as usize);
        if (width, height) != expected {
            let size = |(w, h)| format!("{w}x{h}");
            return Err(H264Error::PictureSize { expected: size(expected), got: size((width, height)) });
        }
        let frame_index = self.frame_index;
        self.frame_index = self.frame_index.saturating_add(1);
        let stream = self
            .inner
            .encode_at(picture, Timestamp::from_millis(self.millis(frame_index)))
            .map_err(|source| H264Error::Codec { during: "encode", source })?
            .to_vec();
        let nals: Vec<Bytes> = split_annex_b(&stream).into_iter().map(Bytes::copy_from_slice).collect();
        if nals.is_empty() {
            return Ok(None);
        }
        let nals = self.with_parameter_sets(nals, frame_index)?;
        // RTP timestamps wrap modulo 2^32 (RFC 3550 §5.1).
        let timestamp_90k = self.time_90k(frame_index) as u32;
        Ok(Some(AccessUnit { nals, timestamp_90k, frame_index }))
    }

    /// Time of frame `n` in units of a `rate` Hz clock, since the current settings started.
    fn clock_units(&self, n: u64, rate: u32) -> u128 {
        u128::from(n.saturating_sub(self.epoch.0)) * u128::from(rate) / u128::from(self.config.fps.max(1))
    }

    /// Time of frame `n` at 90 kHz since the first frame.
    fn time_90k(&self, n: u64) -> u64 {
        let since = self.clock_units(n, H264_CLOCK).min(u128::from(u64::MAX)) as u64;
        self.epoch.1.saturating_add(since)
    }

    /// Time of frame `n` in milliseconds, within what OpenH264 accepts (an i64).
    fn millis(&self, n: u64) -> u64 {
        (self.time_90k(n) / 90).min(i64::MAX as u64)
    }

    /// Remembers the SPS/PPS of this unit and makes sure an IDR unit starts with them.
    fn with_parameter_sets(&mut self, nals: Vec<Bytes>, frame_index: u64) -> Result<Vec<Bytes>, H264Error> {
        for nal in &nals {
            match NalKind::of(nal) {
                Some(NalKind::Sps) => self.sps = Some(nal.clone()),
                Some(NalKind::Pps) => self.pps = Some(nal.clone()),
                _ => {}
            }
        }
        let unit = AccessUnit { nals, timestamp_90k: 0, frame_index };
        if !unit.is_idr() || unit.starts_with_parameter_sets() {
            return Ok(unit.nals);
        }
        let (Some(sps), Some(pps)) = (self.sps.clone(), self.pps.clone()) else {
            return Err(H264Error::ParameterSetsMissing { frame_index });
        };
        let rest = unit.nals.into_iter().filter(|n| !matches!(NalKind::of(n), Some(NalKind::Sps | NalKind::Pps)));
        Ok([sps, pps].into_iter().chain(rest).collect())
    }

    /// The SDP `sprop-parameter-sets` of the stream, once the first frame is encoded.
    pub fn sprop_parameter_sets(&self) -> Option<String> {
        Some(sprop_parameter_sets(self.sps.as_ref()?, self.pps.as_ref()?))
    }

    /// The SDP `profile-level-id` of the stream, once the first frame is encoded.
    pub fn profile_level_id(&self) -> Option<String> {
        profile_level_id(self.sps.as_ref()?)
    }

    /// The stream's SDP parameters, once the first frame is encoded.
    pub fn sdp_parameters(&self) -> Option<SdpParameters> {
        Some(SdpParameters {
            profile_level_id: self.profile_level_id()?,
            sprop_parameter_sets: self.sprop_parameter_sets()?,
        })
    }
}

/// The H.264 `a=fmtp` values of the station's stream (RFC 6184 §8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdpParameters {
    /// `profile-level-id`, e.g. `42c00c` (constrained baseline, level 1.2).
    pub profile_level_id: String,
    /// `sprop-parameter-sets`: base64 SPS, comma, base64 PPS.
    pub sprop_parameter_sets: String,
}

/// The SDP parameters a camera with `config` will produce, for an offer made before the camera
/// starts: encodes one frame with a throw-away encoder (OpenH264 writes the same SPS/PPS for the
/// same settings).
pub fn sdp_parameters(config: VideoConfig) -> Result<SdpParameters, H264Error> {
    let mut encoder = H264Encoder::new(config)?;
    encoder.encode_next()?;
    encoder.sdp_parameters().ok_or(H264Error::ParameterSetsMissing { frame_index: 0 })
}
