//! Descriptions as real peers send them, and the station's dealings with
//! them. The SIPp ones are the bodies of the scenarios in the repository's
//! SIPp recipes, rendered with their default keys (127.0.0.1, UAC media port
//! 16100, UAS media port 16000, telephone-event 101, H.264 102). The baresip
//! and linphone ones are written after the shape of what baresip 1.0 (g711
//! and avcodec modules) and liblinphone 5.1 (opus, speex, openh264) send:
//! session-level `c=`, `a=ssrc`, `a=rtcp`, `a=rtcp-fb`, two H.264 variants.

use super::tests::{DOOR, assert_round_trip, parse};
use super::*;

/// SIPp `uac_invite_dtmf.xml`: the INVITE offer.
const SIPP_UAC_OFFER: &str = "v=0\r\n\
o=sipp-uac 200 1 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 16100 RTP/AVP 0 8 96\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:96 telephone-event/8000\r\n\
a=fmtp:96 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
m=video 16102 RTP/AVP 102\r\n\
a=rtpmap:102 H264/90000\r\n\
a=fmtp:102 profile-level-id=42e01f;packetization-mode=1\r\n\
a=sendrecv\r\n\
\r\n";

/// SIPp `uas_183.xml`: the 183 answer with video, `early_dir=recvonly`.
/// Note the scenario's blank first line inside CDATA and LF line ends.
const SIPP_UAS_183: &str = "v=0
o=sipp-uas 100 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 16000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=recvonly
m=video 16002 RTP/AVP 102
a=rtpmap:102 H264/90000
a=fmtp:102 profile-level-id=42e01f;packetization-mode=1
a=recvonly

";

/// baresip 1.0 as a caller: G.711, and avcodec's two H.264 formats (mode 0
/// first), no rtpmap needed for 0 and 8 but sent anyway.
const BARESIP_OFFER: &str = "v=0\r\n\
o=- 1468031374 2082893598 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
a=tool:baresip 1.0.0\r\n\
m=audio 17100 RTP/AVP 0 8 101\r\n\
b=AS:87\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
a=ssrc:3434712345 cname:sip:door@127.0.0.1\r\n\
a=rtcp-rsize\r\n\
a=ptime:20\r\n\
m=video 17102 RTP/AVP 96 97\r\n\
b=AS:500\r\n\
a=rtpmap:96 H264/90000\r\n\
a=fmtp:96 packetization-mode=0;profile-level-id=42002a\r\n\
a=rtpmap:97 H264/90000\r\n\
a=fmtp:97 packetization-mode=1;profile-level-id=42002a\r\n\
a=rtcp-fb:* nack pli\r\n\
a=sendrecv\r\n\
a=label:2\r\n\
a=ssrc:1183294620 cname:sip:door@127.0.0.1\r\n\
a=rtcp-rsize\r\n\
a=framerate:15.00\r\n";

/// liblinphone 5.1 as a caller with video: Opus first, speex, G.711,
/// telephone-event at three clocks, explicit `a=rtcp`, and openh264's
/// H.264 with no `packetization-mode` (mode 0).
const LINPHONE_OFFER: &str = "v=0\r\n\
o=dave 2374 1031 IN IP4 127.0.0.1\r\n\
s=Talk\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n\
a=record:off\r\n\
m=audio 18000 RTP/AVP 96 97 98 0 8 101 99 100\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1\r\n\
a=rtpmap:97 speex/16000\r\n\
a=fmtp:97 vbr=on\r\n\
a=rtpmap:98 speex/8000\r\n\
a=fmtp:98 vbr=on\r\n\
a=rtpmap:101 telephone-event/48000\r\n\
a=rtpmap:99 telephone-event/16000\r\n\
a=rtpmap:100 telephone-event/8000\r\n\
a=rtcp:18001\r\n\
a=rtcp-fb:* trr-int 1000\r\n\
a=rtcp-fb:* ccm tmmbr\r\n\
m=video 18002 RTP/AVP 102\r\n\
a=rtpmap:102 H264/90000\r\n\
a=fmtp:102 profile-level-id=42801F\r\n\
a=rtcp:18003\r\n\
a=rtcp-fb:* trr-int 1000\r\n\
a=rtcp-fb:* ccm tmmbr\r\n\
a=rtcp-fb:102 nack pli\r\n\
a=rtcp-fb:102 ccm fir\r\n";

/// liblinphone answering our offer in early media: Opus, recvonly video on
/// our payload type with its own fmtp (no packetization-mode), IPv6.
const LINPHONE_183_V6: &str = "v=0\r\n\
o=erin 812 3375 IN IP6 ::1\r\n\
s=Talk\r\n\
c=IN IP6 ::1\r\n\
t=0 0\r\n\
m=audio 18200 RTP/AVP 96 97\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1\r\n\
a=rtpmap:97 telephone-event/48000\r\n\
a=rtcp:18201 IN IP6 ::1\r\n\
m=video 18202 RTP/AVP 102\r\n\
a=rtpmap:102 H264/90000\r\n\
a=fmtp:102 profile-level-id=42801F\r\n\
a=recvonly\r\n";

#[test]
fn every_sample_round_trips() {
    for text in [SIPP_UAC_OFFER, SIPP_UAS_183, BARESIP_OFFER, LINPHONE_OFFER, LINPHONE_183_V6] {
        assert_round_trip(text);
    }
}

#[test]
fn sipp_183_gives_recvonly_paths_so_the_door_sends_early_media() {
    let ours = offer(&LocalCaps::default(), DOOR, (15000, 15002), 3);
    let paths = negotiate(&ours, &parse(SIPP_UAS_183));
    let audio = paths.audio.unwrap();
    assert_eq!(audio.remote, "127.0.0.1:16000".parse().unwrap());
    assert_eq!((audio.codec.pt, audio.codec.name.as_str()), (0, "PCMU"));
    assert_eq!((audio.telephone_event, audio.direction), (Some(101), Direction::SendOnly));
    let video = paths.video.unwrap();
    assert_eq!(video.remote, "127.0.0.1:16002".parse().unwrap());
    assert_eq!((video.codec.pt, video.direction), (102, Direction::SendOnly));
}

#[test]
fn answering_sipp() {
    let remote = parse(SIPP_UAC_OFFER);
    let ours = answer(&remote, &LocalCaps::default(), DOOR, (15000, 15002), 3);
    let text = ours.to_string();
    assert!(text.contains("m=audio 15000 RTP/AVP 0 96\r\n"), "{text}");
    assert!(text.contains("m=video 15002 RTP/AVP 102\r\n"), "{text}");
    let paths = negotiate_answered(&remote, &ours);
    let audio = paths.audio.unwrap();
    assert_eq!((audio.remote.port(), audio.codec.pt, audio.telephone_event), (16100, 0, Some(96)));
    assert_eq!(audio.direction, Direction::SendRecv);
    let video = paths.video.unwrap();
    assert_eq!((video.remote.port(), video.direction), (16102, Direction::SendOnly));
}

#[test]
fn answering_baresip_picks_its_mode_1_video() {
    let remote = parse(BARESIP_OFFER);
    assert_eq!(
        remote.media[0].attribute("ssrc").and_then(|a| a.value.as_deref()),
        Some("3434712345 cname:sip:door@127.0.0.1")
    );
    let ours = answer(&remote, &LocalCaps::default(), DOOR, (15000, 15002), 3);
    assert_eq!(ours.media[0].formats, ["0", "101"]);
    assert_eq!(ours.media[0].fmtp_for("101"), Some("0-15"));
    assert_eq!(ours.media[1].formats, ["97"]);
    let paths = negotiate_answered(&remote, &ours);
    assert_eq!(paths.video.map(|v| (v.codec.pt, v.remote.port())), Some((97, 17102)));
}

#[test]
fn answering_linphone_takes_opus_and_its_mode_0_video() {
    let remote = parse(LINPHONE_OFFER);
    let ours = answer(&remote, &LocalCaps::default(), DOOR, (15000, 15002), 3);
    assert_eq!(ours.media[0].formats, ["96", "101"]);
    assert!(ours.to_string().contains("a=rtpmap:101 telephone-event/48000\r\n"));
    assert_eq!((ours.media[1].port, ours.media[1].formats.as_slice()), (15002, ["102".to_string()].as_slice()));
    assert_eq!(ours.media[1].fmtp_for("102"), Some("profile-level-id=42e01f;packetization-mode=0"));
    assert_eq!(ours.media[1].direction, Direction::SendOnly);
    let paths = negotiate_answered(&remote, &ours);
    let audio = paths.audio.unwrap();
    assert_eq!((audio.codec.name.as_str(), audio.codec.channels, audio.telephone_event), ("opus", 2, Some(101)));
    let video = paths.video.unwrap();
    assert_eq!((video.codec.pt, video.codec.h264_packetization_mode(), video.remote.port()), (102, Some(0), 18002));
    assert_eq!((remote.media[0].rtcp_port(), remote.media[1].rtcp_port()), (18001, 18003));
    assert!(ours.accepts_any());
}

#[test]
fn linphone_answering_our_mode_0_format_gets_mode_0() {
    let ours = offer(&LocalCaps::default(), DOOR, (15000, 15002), 3);
    let on_103 = LINPHONE_183_V6.replace("RTP/AVP 102", "RTP/AVP 103").replace(":102 ", ":103 ");
    let video = negotiate(&ours, &parse(&on_103)).video.unwrap();
    assert_eq!((video.codec.pt, video.codec.h264_packetization_mode()), (103, Some(0)));
    assert_eq!(video.direction, Direction::SendOnly);
}

#[test]
fn mode_1_is_chosen_when_offered_or_answered() {
    // baresip offers mode 0 first: we still take its mode 1.
    let ours = answer(&parse(BARESIP_OFFER), &LocalCaps::default(), DOOR, (15000, 15002), 3);
    assert_eq!(ours.media[1].formats, ["97"]);
    assert_eq!(ours.media[1].fmtp_for("97"), Some("profile-level-id=42e01f;packetization-mode=1"));
    // An answer that keeps both of our formats, mode 0 first: mode 1.
    let offered = offer(&LocalCaps::default(), DOOR, (15000, 15002), 3);
    let both = SIPP_UAS_183.replace("m=video 16002 RTP/AVP 102", "m=video 16002 RTP/AVP 103 102").replace(
        "a=rtpmap:102 H264/90000",
        "a=rtpmap:103 H264/90000\na=fmtp:103 profile-level-id=42e01f\na=rtpmap:102 H264/90000",
    );
    let video = negotiate(&offered, &parse(&both)).video.unwrap();
    assert_eq!((video.codec.pt, video.codec.h264_packetization_mode()), (102, Some(1)));
}

#[test]
fn linphone_ipv6_answer_to_our_offer() {
    let ours = offer(&LocalCaps::default(), DOOR, (15000, 15002), 3);
    let paths = negotiate(&ours, &parse(LINPHONE_183_V6));
    let audio = paths.audio.unwrap();
    assert_eq!(audio.remote, "[::1]:18200".parse().unwrap());
    assert_eq!((audio.codec.pt, audio.telephone_event), (96, Some(97)));
    assert_eq!(paths.video.map(|v| v.direction), Some(Direction::SendOnly));
}

#[test]
fn truncated_and_mangled_samples_do_not_panic() {
    for sample in [SIPP_UAC_OFFER, BARESIP_OFFER, LINPHONE_OFFER] {
        for cut in 0..sample.len() {
            if sample.is_char_boundary(cut) {
                let _ = SessionDescription::parse(&sample[..cut]);
            }
        }
        let mangled = sample.replace("RTP/AVP", "").replace(':', " ");
        let _ = SessionDescription::parse(&mangled);
        assert!(SessionDescription::parse(&sample.replace("m=audio 1", "m=audio x")).is_err());
    }
}
