//! The camera through V4L2 directly (feature `v4l`, the `v4l` crate), without GStreamer.
//!
//! The camera is asked for YUYV at the configured size, then for Motion-JPEG; frames come out of
//! four memory-mapped buffers and are converted to I420 ([`crate::convert`]) as
//! [`VideoFrame::Raw`], for OpenH264 ([`crate::device::EncodingSource`]). Cameras that only have
//! other sizes are refused with the sizes they offer: scaling is GStreamer's job
//! ([`crate::gst`]).

use crate::convert::{mjpeg_to_i420, yuyv_to_i420};
use crate::device::{DeviceError, Refit, VideoFrame, VideoSource};
use crate::h264::VideoConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;
use v4l::buffer::Type;
use v4l::io::mmap::Stream;
use v4l::io::traits::CaptureStream;
use v4l::video::Capture;
use v4l::{Device, FourCC};

const BACKEND: &str = "v4l";
/// Memory-mapped capture buffers.
const BUFFERS: u32 = 4;

/// The pixel format a camera agreed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// Packed YUV 4:2:2.
    Yuyv,
    /// Motion-JPEG.
    Mjpeg,
}

impl PixelFormat {
    fn fourcc(self) -> FourCC {
        FourCC::new(match self {
            PixelFormat::Yuyv => b"YUYV",
            PixelFormat::Mjpeg => b"MJPG",
        })
    }
}

/// The `/dev/video*` nodes that exist now.
pub fn video_devices() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/dev")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("video")))
        .collect();
    found.sort();
    found
}

/// A V4L2 camera streaming.
pub struct V4lCamera {
    stream: Stream<'static>,
    path: PathBuf,
    format: PixelFormat,
    width: usize,
    height: usize,
    stride: usize,
}

impl std::fmt::Debug for V4lCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4lCamera")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("size", &(self.width, self.height))
            .finish_non_exhaustive()
    }
}

impl V4lCamera {
    /// Opens `path` and starts streaming at `video`'s size and rate.
    pub fn open(path: &Path, video: &VideoConfig) -> Result<Self, DeviceError> {
        let name = path.display().to_string();
        let device = Device::with_path(path).map_err(|e| DeviceError::open(BACKEND, &name, e))?;
        let (format, stride) = negotiate(&device, &name, video)?;
        // The rate is a wish: cameras keep theirs when they cannot, and the pacer drops frames.
        let _ = device.set_params(&v4l::video::capture::Parameters::with_fps(video.fps));
        let stream = Stream::with_buffers(&device, Type::VideoCapture, BUFFERS)
            .map_err(|e| DeviceError::open(BACKEND, &name, e))?;
        Ok(V4lCamera {
            stream,
            path: path.to_path_buf(),
            format,
            width: video.width as usize,
            height: video.height as usize,
            stride,
        })
    }

    /// The pixel format in use.
    pub fn pixel_format(&self) -> PixelFormat {
        self.format
    }
}

/// Sets YUYV, else MJPEG, at the configured size; returns the format and the row stride.
fn negotiate(device: &Device, name: &str, video: &VideoConfig) -> Result<(PixelFormat, usize), DeviceError> {
    let mut offered = Vec::new();
    for wanted in [PixelFormat::Yuyv, PixelFormat::Mjpeg] {
        let mut format = device.format().map_err(|e| DeviceError::open(BACKEND, name, e))?;
        format.width = video.width;
        format.height = video.height;
        format.fourcc = wanted.fourcc();
        let got = device.set_format(&format).map_err(|e| DeviceError::open(BACKEND, name, e))?;
        if got.fourcc == wanted.fourcc() && (got.width, got.height) == (video.width, video.height) {
            return Ok((wanted, got.stride as usize));
        }
        offered.push(format!("{} {}x{}", got.fourcc, got.width, got.height));
    }
    Err(DeviceError::Format {
        backend: BACKEND,
        device: name.to_string(),
        expected: format!("YUYV or MJPG at {}x{}", video.width, video.height),
        got: offered.join(", "),
    })
}

impl VideoSource for V4lCamera {
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<VideoFrame>, DeviceError> {
        self.stream.set_timeout(timeout);
        let (buffer, meta) = match self.stream.next() {
            Ok(frame) => frame,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Ok(None),
            Err(e) => return Err(DeviceError::io(BACKEND, "dequeue buffer", e)),
        };
        let used = buffer.get(..meta.bytesused as usize).unwrap_or(buffer);
        let picture = match self.format {
            PixelFormat::Yuyv => yuyv_to_i420(self.width, self.height, self.stride, used),
            PixelFormat::Mjpeg => mjpeg_to_i420(used),
        }
        .map_err(|e| DeviceError::io(BACKEND, "convert frame", e))?;
        Ok(Some(VideoFrame::Raw(picture)))
    }

    /// Raw frames: the encoder takes the request.
    fn request_keyframe(&mut self) {}

    /// The device keeps its format; the encoder scales and thins its pictures.
    fn reconfigure(&mut self, _: &VideoConfig) -> Result<Refit, DeviceError> {
        Ok(Refit::Scale)
    }

    fn describe(&self) -> String {
        format!("v4l {} {:?} {}x{}", self.path.display(), self.format, self.width, self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openh264::formats::YUVSource;

    fn video() -> VideoConfig {
        VideoConfig { width: 320, height: 240, ..VideoConfig::default() }
    }

    #[test]
    fn capture_from_whatever_camera_exists_or_say_there_is_none() {
        let devices = video_devices();
        if devices.is_empty() {
            eprintln!("no /dev/video* on this machine (and no v4l2loopback module): V4L2 capture cannot run here");
            let err = V4lCamera::open(Path::new("/dev/video0"), &video()).unwrap_err();
            assert!(matches!(&err, DeviceError::Open { device, .. } if device == "/dev/video0"), "{err}");
            return;
        }
        for path in devices {
            match V4lCamera::open(&path, &video()) {
                Ok(mut camera) => {
                    let frame = camera.next_frame(Duration::from_secs(5)).unwrap();
                    let Some(VideoFrame::Raw(picture)) = frame else { panic!("{camera:?}: no frame") };
                    assert_eq!(picture.dimensions(), (320, 240));
                    return;
                }
                Err(e) => eprintln!("{}: {e}", path.display()),
            }
        }
    }

    #[test]
    fn a_node_that_is_not_a_camera_is_refused() {
        let err = V4lCamera::open(Path::new("/dev/null"), &video()).unwrap_err();
        assert!(matches!(err, DeviceError::Open { .. }), "{err}");
    }
}
