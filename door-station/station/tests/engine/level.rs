//! A peer at a lower H.264 level: the answered dialog gets the camera
//! stream fitted to that level, early dialogs keep the shared one, and our
//! answer states the level we send.

use door_station::engine::{EngineConfig, Input, MediaCommand};
use ds_media::h264::VideoConfig;
use ds_sip::{Message, Method};

use crate::harness::{Harness, answer, config, phone_sdp, plain};
use crate::incoming::{in_dialog, invite_from, invite_without_offer};

fn vga() -> VideoConfig {
    VideoConfig {
        width: 640,
        height: 480,
        fps: 30,
        bitrate_bps: 1_000_000,
        keyframe_interval_s: 2,
        ..VideoConfig::default()
    }
}

/// A 640x480 camera whose stream is level 3.1.
fn vga_config() -> EngineConfig {
    let mut cfg = config();
    cfg.media.video = Some(vga());
    cfg
}

/// The phone's SDP asking level 1.2 (`42e00c`).
fn level_1_2_sdp(port: u16) -> String {
    phone_sdp(port).replace("profile-level-id=42e01f", "profile-level-id=42e00c")
}

/// The stream of the first `Answered` command.
fn answered_stream(media: &[MediaCommand]) -> Option<VideoConfig> {
    media.iter().find_map(|m| match m {
        MediaCommand::Answered { paths, .. } => Some(paths.stream),
        _ => None,
    })?
}

#[test]
fn the_answered_dialog_at_level_1_2_gets_a_fitted_stream_even_when_its_200_repeats_no_sdp() {
    let mut h = Harness::new(vga_config());
    h.input(Input::ButtonPressed(0));
    let invite = h.request(Method::Invite);
    h.reply(plain(&invite, 100));
    let phone = "127.0.0.1:15066".parse().unwrap();
    h.reply(answer(&invite, 183, "a", phone, Some(&level_1_2_sdp(16000))));
    let early = h.take_media();
    assert!(matches!(&early[..], [MediaCommand::StartEarly { .. }]), "{early:?}");
    h.reply(answer(&invite, 200, "a", phone, None));
    let stream = answered_stream(&h.take_media()).expect("a stream fitted to the 183's level 1.2");
    assert_eq!((stream.width, stream.height, stream.fps, stream.bitrate_bps), (352, 264, 16, 384_000));
    assert!(ds_media::h264::frame_mbs(stream.width, stream.height) <= 396);
}

#[test]
fn a_200_at_our_level_keeps_the_configured_stream() {
    let mut h = Harness::new(vga_config());
    h.input(Input::ButtonPressed(0));
    let invite = h.request(Method::Invite);
    h.reply(answer(&invite, 200, "a", "127.0.0.1:15066".parse().unwrap(), Some(&phone_sdp(16000))));
    let media = h.take_media();
    assert!(media.iter().any(|m| matches!(m, MediaCommand::Answered { .. })), "{media:?}");
    assert_eq!(answered_stream(&media), None);
}

#[test]
fn a_caller_offering_level_1_2_gets_an_answer_at_1_2_and_a_fitted_stream() {
    let mut cfg = vga_config();
    let caps = cfg.media.caps.video.as_mut().unwrap();
    caps.sprop_parameter_sets = Some("Z0LgH9oBQB7I,aM4NiA==".into());
    let mut h = Harness::new(cfg);
    let invite = invite_from("alice", 1).with_body("application/sdp", level_1_2_sdp(16000));
    h.sip(Message::Request(invite));
    let ok = h.response();
    assert_eq!(ok.status, 200);
    let body = String::from_utf8_lossy(&ok.body);
    let fmtp = body.lines().find(|l| l.starts_with("a=fmtp:102")).expect("the video fmtp");
    assert!(fmtp.contains("profile-level-id=42e00c"), "{fmtp}");
    assert!(!fmtp.contains("sprop-parameter-sets"), "the configured stream's SPS is not the one sent: {fmtp}");
    assert_eq!(answered_stream(&h.take_media()).map(|s| (s.width, s.height)), Some((352, 264)));
}

#[test]
fn a_caller_at_our_level_gets_our_parameter_sets() {
    let mut cfg = vga_config();
    cfg.media.caps.video.as_mut().unwrap().sprop_parameter_sets = Some("Z0LgH9oBQB7I,aM4NiA==".into());
    let mut h = Harness::new(cfg);
    h.sip(Message::Request(invite_from("alice", 1)));
    let ok = h.response();
    let body = String::from_utf8_lossy(&ok.body);
    assert!(body.contains("profile-level-id=42e01f;packetization-mode=1;sprop-parameter-sets=Z0LgH9oBQB7I,aM4NiA=="));
    assert_eq!(answered_stream(&h.take_media()), None);
}

#[test]
fn a_delayed_offer_answered_at_level_1_2_in_the_ack_gets_a_fitted_stream() {
    let mut h = Harness::new(vga_config());
    let invite = invite_without_offer("alice");
    h.sip(Message::Request(invite.clone()));
    let ok = h.response();
    assert!(String::from_utf8_lossy(&ok.body).contains("m=video"), "our offer in the 200");
    let to = ok.headers.get("To").unwrap().to_string();
    let ack = in_dialog(&invite, &to, Method::Ack, 1).with_body("application/sdp", level_1_2_sdp(16000));
    h.sip(Message::Request(ack));
    assert_eq!(answered_stream(&h.take_media()).map(|s| (s.width, s.height)), Some((352, 264)));
}
