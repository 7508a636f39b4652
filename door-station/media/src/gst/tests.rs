//! The pipelines with `videotestsrc` in place of the camera, decoded by OpenH264's decoder.

use super::*;
use crate::camera_config::{CameraInput, EncoderChoice};
use crate::device::EncodingSource;
use crate::h264::VideoConfig;
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;

const WAIT: Duration = Duration::from_secs(20); // liveness only, for a loaded machine

fn video() -> VideoConfig {
    VideoConfig {
        width: 320,
        height: 240,
        fps: 30,
        bitrate_bps: 300_000,
        keyframe_interval_s: 0,
        ..VideoConfig::default()
    }
}

fn config(encoder: EncoderChoice) -> CameraConfig {
    CameraConfig { input: CameraInput::TestSource, encoder, video: video() }
}

/// Decodes a unit and returns the picture size, if a picture came out.
fn decode(decoder: &mut Decoder, unit: &AccessUnit) -> Option<(usize, usize)> {
    decoder.decode(&unit.to_annex_b()).expect("decodes").map(|p| p.dimensions())
}

fn next_unit(camera: &mut GstCamera) -> AccessUnit {
    match camera.next_frame(WAIT).unwrap() {
        Some(VideoFrame::Encoded(unit)) => unit,
        other => panic!("expected an access unit, got {other:?}"),
    }
}

#[test]
fn raw_frames_from_appsink_are_encoded_by_openh264_and_decode() {
    let camera = GstCamera::open(&config(EncoderChoice::OpenH264)).unwrap();
    assert_eq!(camera.encoder(), Encoder::OpenH264);
    let mut source = EncodingSource::new(camera, video()).unwrap();
    let mut decoder = Decoder::new().unwrap();
    let first = source.next_unit(WAIT).unwrap().expect("a frame within the wait");
    assert!(first.starts_with_parameter_sets());
    assert_eq!(decode(&mut decoder, &first), Some((320, 240)));
    source.request_keyframe();
    let forced = source.next_unit(WAIT).unwrap().unwrap();
    assert!(forced.is_idr() && forced.starts_with_parameter_sets());
    // SMPTE bars: the top-left bar is light grey/white, the next one yellow (high luma too),
    // the rightmost top bar blue (low luma).
    let picture = decoder.decode(&forced.to_annex_b()).unwrap().unwrap();
    let y = picture.y();
    assert!(y[20 * picture.strides().0 + 10] > 150, "white bar");
    assert!(y[20 * picture.strides().0 + 310] < 80, "blue bar");
}

#[test]
fn x264_units_start_with_parameter_sets_and_answer_force_key_unit() {
    if !has_element("x264enc").unwrap() {
        panic!("x264enc is missing: install gstreamer1.0-plugins-ugly");
    }
    let mut camera = GstCamera::open(&config(EncoderChoice::X264)).unwrap();
    assert!(camera.describe().contains("x264enc tune=zerolatency"));
    let mut decoder = Decoder::new().unwrap();
    let first = next_unit(&mut camera);
    assert!(first.starts_with_parameter_sets(), "first unit {:?}", kinds(&first));
    assert!(first.nals.iter().all(|n| NalKind::of(n) != Some(NalKind::Aud)));
    assert_eq!(decode(&mut decoder, &first), Some((320, 240)));
    let sdp = crate::device::sdp_parameters_of(&first).unwrap();
    assert!(sdp.profile_level_id.starts_with("42"), "baseline profile: {}", sdp.profile_level_id);
    eprintln!(
        "x264enc stream: profile-level-id={} sprop-parameter-sets={}",
        sdp.profile_level_id, sdp.sprop_parameter_sets
    );
    // No periodic key frames (interval 0): the next IDR comes from the request.
    let later: Vec<_> = (0..5).map(|_| next_unit(&mut camera)).collect();
    assert!(later.iter().all(|u| !u.is_idr()));
    assert!(later.windows(2).all(|w| w[1].timestamp_90k > w[0].timestamp_90k));
    camera.request_keyframe();
    let forced = (0..30).map(|_| next_unit(&mut camera)).enumerate().find(|(_, u)| u.is_idr());
    let (after, forced) = forced.expect("an IDR within 30 frames of GstForceKeyUnit");
    eprintln!("x264enc: IDR {} frame(s) after GstForceKeyUnit", after + 1);
    assert!(forced.starts_with_parameter_sets());
    let mut fresh = Decoder::new().unwrap();
    assert_eq!(decode(&mut fresh, &forced), Some((320, 240)), "a new receiver starts here");
}

#[test]
fn x264_slices_keep_every_nal_unit_within_the_budget() {
    if !has_element("x264enc").unwrap() {
        panic!("x264enc is missing: install gstreamer1.0-plugins-ugly");
    }
    let video = VideoConfig { width: 640, height: 480, fps: 15, bitrate_bps: 1_500_000, ..video() };
    let input = CameraInput::TestSource;
    let mut camera = GstCamera::open(&CameraConfig { input, encoder: EncoderChoice::X264, video }).unwrap();
    assert!(camera.describe().contains("\"slice-max-size=1200\""), "{}", camera.describe());
    let mut decoder = Decoder::new().unwrap();
    let units: Vec<_> = (0..15).map(|_| next_unit(&mut camera)).collect();
    let largest = units.iter().flat_map(|u| u.nals.iter().map(|n| n.len())).max().unwrap_or(0);
    assert!(largest <= crate::h264::MAX_NAL_BYTES as usize, "a NAL unit of {largest} bytes");
    let idr_slices = units[0].nals.iter().filter(|n| NalKind::of(n) == Some(NalKind::Idr)).count();
    assert!(idr_slices > 1, "a 640x480 IDR at 1.5 Mbit/s comes in slices: {:?}", kinds(&units[0]));
    assert_eq!(decode(&mut decoder, &units[0]), Some((640, 480)));
}

fn kinds(unit: &AccessUnit) -> Vec<Option<NalKind>> {
    unit.nals.iter().map(|n| NalKind::of(n)).collect()
}

#[test]
fn the_hardware_encoder_is_chosen_only_where_it_exists() {
    let probe = probe().unwrap();
    let auto = EncoderChoice::Auto.resolve(probe).unwrap();
    if probe.v4l2h264enc && probe.encoder_device {
        assert_eq!(auto, Encoder::Hardware);
    } else {
        eprintln!("no hardware H.264 encoder here ({probe:?}): auto uses OpenH264");
        assert_eq!(auto, Encoder::OpenH264);
        let err = GstCamera::open(&config(EncoderChoice::Hardware)).unwrap_err();
        assert!(matches!(err, DeviceError::Open { .. }), "{err}");
    }
}

#[test]
fn a_missing_v4l2_camera_is_reported_by_name() {
    let device = (0..64).map(|n| format!("/dev/video{n}")).find(|p| Path::new(p).exists());
    let input = CameraInput::V4l2 { device: device.clone().unwrap_or("/dev/video0".into()).into(), mjpeg: false };
    let config = CameraConfig { input, encoder: EncoderChoice::OpenH264, video: video() };
    match (device, GstCamera::open(&config)) {
        (None, Err(e)) => {
            eprintln!("no /dev/video* on this machine; v4l2src cannot run here: {e}");
            assert!(e.to_string().contains("/dev/video0"), "{e}");
        }
        (None, Ok(_)) => panic!("v4l2src opened /dev/video0, which does not exist"),
        (Some(dev), Ok(mut camera)) => {
            let frame = camera.next_frame(WAIT).unwrap();
            assert!(matches!(frame, Some(VideoFrame::Raw(_))), "{dev} gave no raw frame");
        }
        (Some(dev), Err(e)) => eprintln!("{dev} exists but does not deliver 320x240: {e}"),
    }
}

#[test]
fn an_x264_pipeline_is_rebuilt_for_a_smaller_picture_starting_with_an_idr() {
    if !has_element("x264enc").unwrap() {
        panic!("x264enc is missing: install gstreamer1.0-plugins-ugly");
    }
    let mut camera = GstCamera::open(&config(EncoderChoice::X264)).unwrap();
    let before = next_unit(&mut camera);
    let smaller = VideoConfig { width: 160, height: 120, fps: 15, ..video() };
    assert_eq!(camera.reconfigure(&smaller).unwrap(), Refit::Delivered);
    assert!(camera.describe().contains("width=160,height=120,framerate=15/1"), "{}", camera.describe());
    let first = next_unit(&mut camera);
    assert!(first.starts_with_parameter_sets(), "the new pipeline starts with SPS, PPS, IDR");
    assert!(first.timestamp_90k > before.timestamp_90k, "time goes on across the rebuild");
    assert_eq!(decode(&mut Decoder::new().unwrap(), &first), Some((160, 120)));
    let mut openh264 = GstCamera::open(&config(EncoderChoice::OpenH264)).unwrap();
    assert_eq!(openh264.reconfigure(&smaller).unwrap(), Refit::Scale, "raw pictures are scaled by the caller");
}
