//! The camera through GStreamer (feature `gst`): `v4l2src` (or `videotestsrc`) into an `appsink`,
//! handed to Rust by gstreamer-app.
//!
//! With the hardware encoder (`v4l2h264enc`) or `x264enc` the pipeline ends in
//! `h264parse config-interval=-1`, so every IDR arrives with SPS and PPS in front, and
//! [`GstCamera`] yields [`VideoFrame::Encoded`]. With OpenH264 it yields [`VideoFrame::Raw`] I420
//! pictures; wrap it in [`crate::device::EncodingSource`]. A key-frame request is a
//! `GstForceKeyUnit` upstream event sent from the sink, which the encoder answers with an IDR.
//! New settings (another size or rate) rebuild an encoding pipeline from its [`CameraConfig`];
//! raw pictures keep their size and are scaled by the caller.
//!
//! The pipeline strings and the encoder choice are in [`crate::camera_config`]. Microphone and
//! speaker with echo cancellation are in [`audio`].

pub mod audio;

use crate::camera_config::{
    CameraConfig, CameraInput, Encoder, EncoderProbe, PI4_ENCODER_DEVICE, SINK_NAME, pipeline_description,
};
use crate::device::{DeviceError, Refit, VideoFrame, VideoSource};
use crate::h264::{AccessUnit, H264_CLOCK, NalKind, Picture, VideoConfig, split_annex_b};
use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use std::path::Path;
use std::time::Duration;

const BACKEND: &str = "gstreamer";

/// Starts GStreamer (once per process; later calls are cheap).
pub fn init() -> Result<(), DeviceError> {
    gst::init().map_err(|e| DeviceError::open(BACKEND, "library", e))
}

/// What this machine's GStreamer and device nodes offer.
pub fn probe() -> Result<EncoderProbe, DeviceError> {
    init()?;
    let has = |name| gst::ElementFactory::find(name).is_some();
    Ok(EncoderProbe {
        v4l2h264enc: has("v4l2h264enc"),
        encoder_device: Path::new(PI4_ENCODER_DEVICE).exists(),
        x264enc: has("x264enc"),
    })
}

/// Whether GStreamer has an element factory called `name`.
pub fn has_element(name: &str) -> Result<bool, DeviceError> {
    init()?;
    Ok(gst::ElementFactory::find(name).is_some())
}

/// A running camera pipeline.
#[derive(Debug)]
pub struct GstCamera {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    encoder: Encoder,
    description: String,
    first_pts: Option<gst::ClockTime>,
    frames: u64,
    /// What [`Self::open`] built the pipeline from, to build it again with other settings.
    built_from: Option<(CameraInput, VideoConfig)>,
    /// The 90 kHz time the current pipeline's first buffer gets, and the last one given.
    base_90k: u32,
    last_90k: u32,
}

impl GstCamera {
    /// Resolves the encoder on this machine, builds the pipeline and starts it.
    pub fn open(config: &CameraConfig) -> Result<Self, DeviceError> {
        let encoder = config.encoder.resolve(probe()?).map_err(|e| DeviceError::open(BACKEND, "encoder", e))?;
        let mut camera = Self::launch(pipeline_description(&config.input, encoder, &config.video), encoder)?;
        camera.built_from = Some((config.input.clone(), config.video));
        Ok(camera)
    }

    /// Starts a pipeline from its description; it must end in an appsink named
    /// [`SINK_NAME`] that delivers I420 (for [`Encoder::OpenH264`]) or H.264 byte-stream access
    /// units.
    pub fn launch(description: String, encoder: Encoder) -> Result<Self, DeviceError> {
        init()?;
        let open_error = |e: &dyn std::fmt::Display| DeviceError::open(BACKEND, &description, e);
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| open_error(&e))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| open_error(&"not a pipeline"))?;
        let sink = pipeline
            .by_name(SINK_NAME)
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| open_error(&format!("no appsink named {SINK_NAME}")))?;
        let camera = GstCamera {
            pipeline,
            sink,
            encoder,
            description: description.clone(),
            first_pts: None,
            frames: 0,
            built_from: None,
            base_90k: 0,
            last_90k: 0,
        };
        if camera.pipeline.set_state(gst::State::Playing).is_err() {
            let why = camera.bus_error().unwrap_or_else(|| "cannot start".into());
            return Err(open_error(&why));
        }
        Ok(camera)
    }

    /// The encoder in use.
    pub fn encoder(&self) -> Encoder {
        self.encoder
    }

    /// The first error the pipeline posted, if any.
    fn bus_error(&self) -> Option<String> {
        let bus = self.pipeline.bus()?;
        let message = bus.pop_filtered(&[gst::MessageType::Error])?;
        match message.view() {
            gst::MessageView::Error(e) => Some(format!("{} ({:?})", e.error(), e.debug())),
            _ => None,
        }
    }

    /// The 90 kHz time of a buffer, from its presentation time relative to the first one.
    fn timestamp_90k(&mut self, pts: Option<gst::ClockTime>) -> u32 {
        let pts = pts.unwrap_or(gst::ClockTime::ZERO);
        let first = *self.first_pts.get_or_insert(pts);
        let since = pts.saturating_sub(first).nseconds();
        let since = (u128::from(since) * u128::from(H264_CLOCK) / 1_000_000_000) as u32;
        self.last_90k = self.base_90k.wrapping_add(since);
        self.last_90k
    }

    /// Replaces the pipeline by one built for `video` (the old one stops first: a V4L2
    /// device opens once); on failure the old one is started again.
    fn rebuild(&mut self, input: CameraInput, old: VideoConfig, video: VideoConfig) -> Result<(), DeviceError> {
        let _ = self.pipeline.set_state(gst::State::Null);
        let launched = Self::launch(pipeline_description(&input, self.encoder, &video), self.encoder);
        let (mut next, result) = match launched {
            Ok(next) => (next, Ok(())),
            Err(e) => (Self::launch(pipeline_description(&input, self.encoder, &old), self.encoder)?, Err(e)),
        };
        let now = if result.is_ok() { video } else { old };
        next.built_from = Some((input, now));
        next.frames = self.frames;
        next.base_90k = self.last_90k.wrapping_add(H264_CLOCK / old.fps.max(1));
        next.last_90k = next.base_90k;
        *self = next;
        result
    }

    fn frame_from(&mut self, sample: &gst::Sample) -> Result<VideoFrame, DeviceError> {
        let buffer =
            sample.buffer().ok_or_else(|| DeviceError::io(BACKEND, "pull sample", "sample without a buffer"))?;
        let frame_index = self.frames;
        self.frames += 1;
        if self.encoder == Encoder::OpenH264 {
            return picture_from(sample, buffer).map(VideoFrame::Raw);
        }
        let timestamp_90k = self.timestamp_90k(buffer.pts());
        let map = buffer.map_readable().map_err(|e| DeviceError::io(BACKEND, "map buffer", e))?;
        Ok(VideoFrame::Encoded(AccessUnit { nals: access_unit_nals(&map), timestamp_90k, frame_index }))
    }
}

/// The NAL units of a byte-stream buffer, without access-unit delimiters (RFC 6184 senders may
/// drop them; they cost a packet each).
fn access_unit_nals(stream: &[u8]) -> Vec<Bytes> {
    split_annex_b(stream)
        .into_iter()
        .filter(|n| NalKind::of(n) != Some(NalKind::Aud))
        .map(Bytes::copy_from_slice)
        .collect()
}

/// Copies an I420 frame (with whatever strides GStreamer chose) into a [`Picture`].
fn picture_from(sample: &gst::Sample, buffer: &gst::BufferRef) -> Result<Picture, DeviceError> {
    let caps = sample.caps().ok_or_else(|| DeviceError::io(BACKEND, "read caps", "sample without caps"))?;
    let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| DeviceError::io(BACKEND, "read caps", e))?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)
        .map_err(|e| DeviceError::io(BACKEND, "map frame", e))?;
    let (w, h) = (info.width() as usize, info.height() as usize);
    let mut data = Vec::with_capacity(w * h * 3 / 2);
    for (plane, (pw, ph)) in [(w, h), (w / 2, h / 2), (w / 2, h / 2)].into_iter().enumerate() {
        let stride = frame.plane_stride()[plane] as usize;
        let bytes = frame.plane_data(plane as u32).map_err(|e| DeviceError::io(BACKEND, "map plane", e))?;
        for row in 0..ph {
            let line = bytes.get(row * stride..row * stride + pw).unwrap_or(&[]);
            data.extend_from_slice(line);
        }
    }
    Picture::from_i420(w, h, &data).ok_or_else(|| DeviceError::Format {
        backend: BACKEND,
        device: "appsink".into(),
        expected: "I420 with even width and height".into(),
        got: format!("{:?} {w}x{h}", info.format()),
    })
}

impl VideoSource for GstCamera {
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<VideoFrame>, DeviceError> {
        let wait = gst::ClockTime::from_nseconds(u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX));
        match self.sink.try_pull_sample(wait) {
            Some(sample) => self.frame_from(&sample).map(Some),
            None if self.sink.is_eos() => Err(DeviceError::io(BACKEND, "pull sample", "end of stream")),
            None => match self.bus_error() {
                Some(why) => Err(DeviceError::io(BACKEND, "pull sample", why)),
                None => Ok(None),
            },
        }
    }

    fn request_keyframe(&mut self) {
        let event = gst_video::UpstreamForceKeyUnitEvent::builder().all_headers(true).build();
        // Refused only when the pipeline is shutting down; the next IDR request will retry.
        let _ = self.sink.send_event(event);
    }

    fn describe(&self) -> String {
        format!("gstreamer {:?}: {}", self.encoder, self.description)
    }

    /// Raw pictures for OpenH264 keep their size (the caller scales them); an encoding
    /// pipeline is built again with the new caps and encoder settings, and starts with an IDR.
    /// A pipeline given as a description ([`Self::launch`]) cannot be rebuilt.
    fn reconfigure(&mut self, video: &VideoConfig) -> Result<Refit, DeviceError> {
        if self.encoder == Encoder::OpenH264 {
            return Ok(Refit::Scale);
        }
        let Some((input, old)) = self.built_from.clone() else {
            return Err(DeviceError::Unsupported { device: self.describe(), what: "be rebuilt with other settings" });
        };
        self.rebuild(input, old, *video)?;
        Ok(Refit::Delivered)
    }
}

impl Drop for GstCamera {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests;
