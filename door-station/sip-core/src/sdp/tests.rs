//! Parser, writer and offer/answer tests on hand-made descriptions.

use super::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub(super) const DOOR: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

pub(super) fn parse(text: &str) -> SessionDescription {
    SessionDescription::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Parse, write, parse again: the two parses agree.
pub(super) fn assert_round_trip(text: &str) {
    let first = parse(text);
    let written = first.to_string();
    assert!(written.ends_with("\r\n") && !written.contains("\n\n"));
    assert_eq!(parse(&written), first, "{written}");
}

#[test]
fn door_offer_has_the_contracted_media() {
    let sdp = offer(&LocalCaps::default(), DOOR, (16000, 16002), 42);
    let text = sdp.to_string();
    for line in [
        "m=audio 16000 RTP/AVP 96 0 8 97 101\r\n",
        "a=rtpmap:96 opus/48000/2\r\n",
        "a=rtpmap:97 telephone-event/48000\r\n",
        "a=fmtp:101 0-16\r\n",
        "m=video 16002 RTP/AVP 102 103\r\n",
        "a=fmtp:102 profile-level-id=42e01f;packetization-mode=1\r\n",
        "a=rtpmap:103 H264/90000\r\n",
        "a=fmtp:103 profile-level-id=42e01f;packetization-mode=0\r\n",
        "a=sendonly\r\n",
        "c=IN IP4 127.0.0.1\r\n",
    ] {
        assert!(text.contains(line), "{line:?} missing in\n{text}");
    }
    assert_eq!(sdp.media[0].direction, Direction::SendRecv);
    assert_round_trip(&text);
}

#[test]
fn an_encoder_without_slice_limits_offers_mode_1_only() {
    let caps =
        LocalCaps { video: Some(VideoCaps { single_nal: false, ..VideoCaps::default() }), ..LocalCaps::default() };
    let sdp = offer(&caps, DOOR, (16000, 16002), 1);
    assert_eq!(sdp.media[1].formats, ["102"]);
    let mode0_only = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=video 4002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42801F\r\n";
    let ours = answer(&parse(mode0_only), &caps, DOOR, (16000, 16002), 1);
    assert_eq!(ours.media[0].port, 0, "mode 0 is refused when NAL units may exceed a packet");
    let ours = answer(&parse(mode0_only), &LocalCaps::default(), DOOR, (16000, 16002), 1);
    assert_eq!(ours.media[0].fmtp_for("96"), Some("profile-level-id=42e01f;packetization-mode=0"));
}

#[test]
fn offer_without_video_or_opus() {
    let caps = LocalCaps { audio: vec![AudioCodec::Pcma], telephone_event: false, video: None };
    let sdp = offer(&caps, DOOR, (16000, 16002), 1);
    assert_eq!(sdp.media.len(), 1);
    assert_eq!(sdp.media[0].formats, ["8"]);
    let with_sprop = LocalCaps {
        video: Some(VideoCaps { sprop_parameter_sets: Some("Z0LgH9kA,aM4G4g==".into()), ..VideoCaps::default() }),
        ..LocalCaps::default()
    };
    let video = &offer(&with_sprop, DOOR, (1, 2), 1).media[1];
    assert!(video.fmtp_for("102").unwrap().ends_with(";sprop-parameter-sets=Z0LgH9kA,aM4G4g=="));
}

#[test]
fn lf_only_blank_lines_and_unknown_attributes() {
    let sdp = parse(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\n\ns=x\nt=0 0\na=x-custom:1 2\nm=audio 5 RTP/AVP 0\na=foo\na=ssrc:1 cname:a\n",
    );
    assert_eq!(sdp.attributes[0], Attribute { name: "x-custom".into(), value: Some("1 2".into()) });
    let m = &sdp.media[0];
    assert_eq!(m.attribute("foo").map(|a| &a.value), Some(&None));
    assert_eq!(m.attribute("ssrc").and_then(|a| a.value.as_deref()), Some("1 cname:a"));
    assert!(sdp.to_string().contains("a=foo\r\na=ssrc:1 cname:a\r\n"));
}

#[test]
fn static_payload_types_without_rtpmap() {
    let sdp = parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVP 8 0 13\r\n");
    let names: Vec<_> = sdp.media[0].codecs().into_iter().map(|c| (c.pt, c.name, c.clock)).collect();
    assert_eq!(names, [(8, "PCMA".to_string(), 8000), (0, "PCMU".to_string(), 8000)]);
}

#[test]
fn session_direction_is_inherited() {
    let sdp = parse(
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\na=recvonly\r\nm=audio 5 RTP/AVP 0\r\nm=video 6 RTP/AVP 96\r\na=inactive\r\n",
    );
    assert_eq!(sdp.direction, Some(Direction::RecvOnly));
    assert_eq!(sdp.media[0].direction, Direction::RecvOnly);
    assert_eq!(sdp.media[1].direction, Direction::Inactive);
    assert_round_trip(&sdp.to_string());
}

#[test]
fn errors_name_the_line() {
    let cases: [(&str, SdpError); 7] = [
        ("", SdpError::Empty),
        ("v=1\r\n", SdpError::Version { line: 1, text: "v=1".into() }),
        ("v=0\r\ns=-\r\n", SdpError::Missing { letter: 'o' }),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nhello\r\n", SdpError::Malformed { line: 3, text: "hello".into() }),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nx=1\r\n", SdpError::UnknownType { line: 3, letter: 'x' }),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 5 RTP/AVP 0\r\ns=late\r\n", SdpError::OutOfPlace { line: 4, letter: 's' }),
        (
            "v=0\n\no=- 1 1 IN IP4 h\nm=audio 70000 RTP/AVP 0\n",
            SdpError::BadField { line: 4, field: "m= port", value: "70000".into() },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(SessionDescription::parse(text), Err(expected), "{text:?}");
    }
}

#[test]
fn malformed_fields_are_errors_not_panics() {
    let head = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n";
    for body in [
        "c=IN IP4\r\n",
        "t=0\r\n",
        "t=a b\r\n",
        "m=audio\r\n",
        "m=audio 5/x RTP/AVP 0\r\n",
        "m=audio 5 RTP/AVP 0\r\na=rtpmap:0\r\n",
        "m=audio 5 RTP/AVP 0\r\na=rtpmap:300 X/8000\r\n",
        "m=audio 5 RTP/AVP 0\r\na=rtpmap:0 PCMU/fast\r\n",
        "m=audio 5 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000/2/9\r\n",
        "m=audio 5 RTP/AVP 0\r\na=fmtp:\r\n",
        "o=- 1\r\n",
        "é=1\r\n",
        "a\r\n",
    ] {
        let text = format!("{head}{body}");
        assert!(SessionDescription::parse(&text).is_err(), "accepted {body:?}");
    }
    let garbage: String = (0u8..=255).map(char::from).collect();
    assert!(SessionDescription::parse(&garbage).is_err());
}

#[test]
fn direction_algebra() {
    use Direction::*;
    assert_eq!(SendOnly.reversed(), RecvOnly);
    assert_eq!(Inactive.reversed(), Inactive);
    assert_eq!(SendRecv.intersect(RecvOnly), RecvOnly);
    assert_eq!(SendOnly.intersect(RecvOnly), Inactive);
}

#[test]
fn ipv6_and_missing_connection() {
    let v6 = parse("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP6 2001:db8::5\r\n");
    let ours = offer(&LocalCaps::default(), DOOR, (16000, 0), 7);
    let paths = negotiate(&ours, &v6);
    let expected: SocketAddr = (IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5)), 4000).into();
    assert_eq!(paths.audio.map(|p| p.remote), Some(expected));
    let no_c = parse("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
    assert_eq!(negotiate(&ours, &no_c), Negotiated::default());
}

#[test]
fn answer_mirrors_direction_and_rejects_what_it_cannot_use() {
    let remote = parse(concat!(
        "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n",
        "m=audio 4000 RTP/AVP 18 8\r\na=sendonly\r\n",
        "m=video 4002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n",
        "m=video 4004 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=1\r\na=recvonly\r\n",
        "m=application 4006 UDP/BFCP *\r\n",
    ));
    let ours = answer(&remote, &LocalCaps::default(), DOOR, (16000, 16002), 9);
    assert_eq!(ours.media.len(), 4);
    let audio = &ours.media[0];
    assert_eq!(
        (audio.port, audio.formats.as_slice(), audio.direction),
        (16000, &["8".to_string()][..], Direction::RecvOnly)
    );
    assert_eq!((ours.media[1].port, ours.media[1].formats.as_slice()), (0, &["96".to_string()][..]));
    assert_eq!((ours.media[2].port, ours.media[2].direction), (16002, Direction::SendOnly));
    assert_eq!(ours.media[3].port, 0);
    assert_round_trip(&ours.to_string());

    let paths = negotiate_answered(&remote, &ours);
    let audio = paths.audio.unwrap();
    assert_eq!((audio.codec.pt, audio.direction, audio.telephone_event), (8, Direction::RecvOnly, None));
    let video = paths.video.unwrap();
    assert_eq!((video.remote.port(), video.codec.pt, video.direction), (4004, 97, Direction::SendOnly));
}

#[test]
fn sendonly_video_offer_gets_inactive_from_a_sendonly_camera() {
    let remote = parse(
        "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=video 4002 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=1\r\na=sendonly\r\n",
    );
    let ours = answer(&remote, &LocalCaps::default(), DOOR, (16000, 16002), 9);
    assert_eq!(ours.media[0].direction, Direction::Inactive);
}

#[test]
fn rejected_answer_streams_give_no_path() {
    let ours = offer(&LocalCaps::default(), DOOR, (16000, 16002), 1);
    let remote = parse(
        "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\nm=video 0 RTP/AVP 102\r\n",
    );
    assert_eq!(negotiate(&ours, &remote), Negotiated::default());
}

#[test]
fn hold_address_stops_sending() {
    let ours = offer(&LocalCaps::default(), DOOR, (16000, 0), 1);
    let remote = parse("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
    assert_eq!(negotiate(&ours, &remote).audio.unwrap().direction, Direction::RecvOnly);
}

#[test]
fn answer_without_packetization_mode_on_our_mode_1_payload_type_counts_as_mode_1() {
    let ours = offer(&LocalCaps::default(), DOOR, (16000, 16002), 1);
    let silent = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\nm=video 4002 RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\na=recvonly\r\n";
    let video = negotiate(&ours, &parse(silent)).video.unwrap();
    assert_eq!((video.codec.pt, video.direction), (102, Direction::SendOnly));
    let mode0 = silent.replace("a=recvonly", "a=fmtp:102 packetization-mode=0\r\na=recvonly");
    assert_eq!(negotiate(&ours, &parse(&mode0)).video, None, "102 is our mode-1 format");
    let on_103 = silent.replace("102", "103");
    let video = negotiate(&ours, &parse(&on_103)).video.unwrap();
    assert_eq!((video.codec.pt, video.codec.h264_packetization_mode()), (103, Some(0)), "no mode on 103 is mode 0");
}

#[test]
fn config_names_and_opus_without_channel_count() {
    let names = ["OPUS", "pcmu", "PcmA", "g722"].map(AudioCodec::from_name);
    assert_eq!(names, [Some(AudioCodec::Opus), Some(AudioCodec::Pcmu), Some(AudioCodec::Pcma), None]);
    let remote = parse(
        "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000\r\n",
    );
    let ours = answer(&remote, &LocalCaps::default(), DOOR, (16000, 16002), 9);
    let audio = negotiate_answered(&remote, &ours).audio.unwrap();
    assert_eq!((audio.codec.pt, audio.remote.port()), (111, 4000));
    assert_eq!(ours.media[0].rtcp_port(), 16001);
}

#[test]
fn an_answer_that_refuses_everything_accepts_nothing() {
    let remote = parse("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n");
    let ours = answer(&remote, &LocalCaps::default(), DOOR, (16000, 16002), 9);
    assert!(!ours.accepts_any());
    assert_eq!(ours.media[0].proto, "RTP/SAVP");
}
