//! Re-INVITE and UPDATE from the peer in both kinds of call: hold (a=sendonly,
//! c=0.0.0.0), resume at a new address, a re-INVITE without SDP, 488 and 491.

use std::net::SocketAddr;
use std::time::Duration;

use door_station::engine::{EndReason, Event, Input, MediaCommand, MediaPaths};
use ds_sip::sdp::{Direction, SessionDescription};
use ds_sip::{Message, Method, Request, Response};

use crate::harness::{Harness, answer, config, phone_sdp};
use crate::incoming::{call_in, in_dialog};

/// A phone's SDP with PCMU + telephone-event at `ip:port` (video at port + 2)
/// in direction `dir`, and an `a=rtcp` line when `rtcp` is given.
fn peer_sdp(ip: &str, port: u16, dir: &str, rtcp: Option<u16>) -> String {
    let rtcp = rtcp.map(|p| format!("a=rtcp:{p}\r\n")).unwrap_or_default();
    format!(
        "v=0\r\no=phone 1 2 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\n{rtcp}a={dir}\r\n\
         m=video {} RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\n\
         a=fmtp:102 profile-level-id=42e01f;packetization-mode=1\r\na={dir}\r\n",
        port + 2
    )
}

/// The bell call answered by alice (To tag `a`); returns the INVITE.
fn bell_answered(h: &mut Harness) -> Request {
    h.input(Input::ButtonPressed(0));
    let invite = h.request(Method::Invite);
    let alice: SocketAddr = "127.0.0.1:15066".parse().unwrap();
    h.reply(answer(&invite, 200, "a", alice, Some(&phone_sdp(16000))));
    h.take_media();
    h.take_events();
    h.take_requests(Method::Ack);
    invite
}

/// A request from alice in the bell call's dialog.
fn from_answerer(invite: &Request, method: Method, cseq: u32) -> Request {
    Request::new(method.clone(), "sip:door@127.0.0.1:15080")
        .with_header("Via", format!("SIP/2.0/UDP 127.0.0.1:15066;branch=z9hG4bKre{method}{cseq}"))
        .with_header("Max-Forwards", "70")
        .with_header("From", "<sip:everyone@home>;tag=a")
        .with_header("To", invite.headers.get("From").unwrap())
        .with_header("Call-ID", invite.headers.call_id().unwrap())
        .with_header("CSeq", format!("{cseq} {method}"))
        .with_header("Contact", "<sip:phone-a@127.0.0.1:15066>")
}

fn with_sdp(req: Request, sdp: &str) -> Message {
    Message::Request(req.with_body("application/sdp", sdp))
}

/// The paths of the one `Answered` command since the last take.
fn answered_paths(h: &mut Harness) -> MediaPaths {
    match &h.take_media()[..] {
        [MediaCommand::Answered { paths, .. }] => paths.clone(),
        other => panic!("expected one Answered, got {other:?}"),
    }
}

fn sdp_of(resp: &Response) -> SessionDescription {
    SessionDescription::parse(std::str::from_utf8(&resp.body).unwrap()).expect("SDP in the 200")
}

#[test]
fn bell_call_hold_with_sendonly_then_resume_at_a_new_address() {
    let mut h = Harness::new(config());
    let invite = bell_answered(&mut h);
    let offer = SessionDescription::parse(std::str::from_utf8(&invite.body).unwrap()).unwrap();

    h.sip(with_sdp(from_answerer(&invite, Method::Invite, 2), &peer_sdp("127.0.0.1", 16000, "sendonly", None)));
    let ok = h.response();
    assert_eq!(ok.status, 200);
    let held = sdp_of(&ok);
    assert_eq!(held.media[0].direction, Direction::RecvOnly, "our answer to a=sendonly:\n{held}");
    assert_eq!(held.origin.session_id, offer.origin.session_id, "one session id for the dialog (RFC 3264 §8)");
    let v1: u64 = offer.origin.session_version.parse().unwrap();
    assert_eq!(held.origin.session_version, (v1 + 1).to_string());
    let paths = answered_paths(&mut h);
    let audio = paths.audio.as_ref().unwrap();
    assert_eq!(audio.direction, Direction::RecvOnly, "we stop sending to a peer on hold");
    assert!(!paths.video.as_ref().is_some_and(|v| v.direction.sends()), "no video to a peer on hold");
    h.sip(Message::Request(from_answerer(&invite, Method::Ack, 2)));

    h.sip(with_sdp(from_answerer(&invite, Method::Invite, 3), &peer_sdp("127.0.0.2", 17000, "sendrecv", None)));
    let ok = h.response();
    assert_eq!(ok.status, 200);
    assert_eq!(sdp_of(&ok).origin.session_version, (v1 + 2).to_string());
    let paths = answered_paths(&mut h);
    let audio = paths.audio.as_ref().unwrap();
    assert_eq!((audio.remote, audio.direction), ("127.0.0.2:17000".parse().unwrap(), Direction::SendRecv));
    assert_eq!(paths.video.as_ref().unwrap().remote, "127.0.0.2:17002".parse().unwrap());
    assert_eq!(paths.rtcp.audio, Some("127.0.0.2:17001".parse().unwrap()), "RTCP follows: port + 1");
    assert_eq!(paths.rtcp.video, Some("127.0.0.2:17003".parse().unwrap()));
    h.sip(Message::Request(from_answerer(&invite, Method::Ack, 3)));
    h.advance(Duration::from_secs(40));
    assert!(h.take_responses().is_empty(), "no copies of an ACKed 200");
}

#[test]
fn the_rfc_2543_hold_sends_nothing_not_even_rtcp_and_is_not_timed_out() {
    let mut h = Harness::new(config());
    let (invite, to) = call_in(&mut h, "alice");
    h.take_media();
    h.sip(with_sdp(in_dialog(&invite, &to, Method::Invite, 2), &peer_sdp("0.0.0.0", 16000, "sendrecv", None)));
    assert_eq!(h.response().status, 200);
    let paths = answered_paths(&mut h);
    assert_eq!(paths.audio.as_ref().unwrap().direction, Direction::RecvOnly);
    assert_eq!((paths.rtcp.audio, paths.rtcp.video), (None, None), "no RTCP to 0.0.0.0");
    h.sip(Message::Request(in_dialog(&invite, &to, Method::Ack, 2)));
    // rtp_timeout is 30 s: a held peer is silent and the call goes on.
    h.advance(Duration::from_secs(60));
    assert!(h.take_requests(Method::Bye).is_empty(), "a held call is not ended for silence");
    assert!(h.engine.status().call.is_some());

    // Resumed with a=rtcp: the watch runs again and RTCP goes to the named port.
    h.sip(with_sdp(in_dialog(&invite, &to, Method::Invite, 3), &peer_sdp("127.0.0.2", 17000, "sendrecv", Some(17100))));
    assert_eq!(h.response().status, 200);
    let paths = answered_paths(&mut h);
    assert_eq!(paths.rtcp.audio, Some("127.0.0.2:17100".parse().unwrap()));
    h.sip(Message::Request(in_dialog(&invite, &to, Method::Ack, 3)));
    h.advance(Duration::from_secs(31));
    assert!(h.take_events().iter().any(|e| matches!(e, Event::Ended { reason: EndReason::RtpTimeout, .. })));
}

#[test]
fn a_reinvite_without_sdp_gets_our_offer_and_the_ack_brings_the_answer() {
    let mut h = Harness::new(config());
    let invite = bell_answered(&mut h);
    h.sip(Message::Request(from_answerer(&invite, Method::Invite, 2)));
    let ok = h.response();
    assert_eq!(ok.status, 200);
    let offer = sdp_of(&ok);
    assert!(offer.media.iter().any(|m| m.kind == "video" && m.port == 20002), "our offer in the 200:\n{offer}");
    assert!(h.take_media().is_empty(), "no new paths before the answer");
    h.advance(Duration::from_millis(500));
    assert_eq!(h.take_responses().len(), 1, "the 200 is retransmitted until its ACK");

    // An ACK of another CSeq is not this 200's.
    h.sip(Message::Request(from_answerer(&invite, Method::Ack, 1)));
    assert!(h.take_media().is_empty());
    let ack = from_answerer(&invite, Method::Ack, 2);
    h.sip(with_sdp(ack, &peer_sdp("127.0.0.2", 17000, "sendrecv", None)));
    let paths = answered_paths(&mut h);
    let audio = paths.audio.as_ref().unwrap();
    assert_eq!((audio.remote, audio.direction), ("127.0.0.2:17000".parse().unwrap(), Direction::SendRecv));
    h.advance(Duration::from_secs(40));
    assert!(h.take_responses().is_empty(), "no copies after the ACK");
}

#[test]
fn an_offer_while_ours_awaits_its_ack_gets_491_and_the_ack_still_counts() {
    let mut h = Harness::new(config());
    let (invite, to) = call_in(&mut h, "alice");
    h.take_media();
    h.sip(Message::Request(in_dialog(&invite, &to, Method::Invite, 2)));
    assert_eq!(h.response().status, 200);
    h.sip(with_sdp(in_dialog(&invite, &to, Method::Update, 3), &peer_sdp("127.0.0.1", 18000, "sendrecv", None)));
    assert_eq!(h.response().status, 491, "UPDATE with an offer while ours is pending");
    h.sip(with_sdp(in_dialog(&invite, &to, Method::Invite, 4), &peer_sdp("127.0.0.1", 18000, "sendrecv", None)));
    assert_eq!(h.response().status, 491, "re-INVITE while our offer is pending");
    assert!(h.take_media().is_empty());
    h.sip(with_sdp(in_dialog(&invite, &to, Method::Ack, 2), &peer_sdp("127.0.0.2", 17000, "sendrecv", None)));
    assert_eq!(answered_paths(&mut h).rtp.audio.unwrap().remote, "127.0.0.2:17000".parse().unwrap());
    assert!(h.engine.status().call.is_some());
}

#[test]
fn an_unacceptable_offer_gets_488_and_the_session_stays() {
    let mut h = Harness::new(config());
    let invite = bell_answered(&mut h);
    let g729 = "v=0\r\no=phone 1 3 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
                m=audio 17000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
    for (cseq, body) in [(2, g729), (3, "this is not SDP")] {
        h.sip(with_sdp(from_answerer(&invite, Method::Invite, cseq), body));
        assert_eq!(h.response().status, 488, "{body}");
    }
    assert!(h.take_media().is_empty(), "the old paths stay");
    assert!(h.take_requests(Method::Bye).is_empty());
    h.sip(with_sdp(from_answerer(&invite, Method::Invite, 4), &peer_sdp("127.0.0.2", 17000, "sendrecv", None)));
    assert_eq!(h.response().status, 200, "the call goes on and takes the next offer");
    assert_eq!(answered_paths(&mut h).rtp.audio.unwrap().remote, "127.0.0.2:17000".parse().unwrap());
}

#[test]
fn a_reinvite_in_an_early_dialog_crosses_our_invite_491() {
    let mut h = Harness::new(config());
    h.input(Input::ButtonPressed(0));
    let invite = h.request(Method::Invite);
    let alice: SocketAddr = "127.0.0.1:15066".parse().unwrap();
    h.reply(answer(&invite, 183, "a", alice, Some(&phone_sdp(16000))));
    h.take_media();
    h.sip(with_sdp(from_answerer(&invite, Method::Invite, 2), &phone_sdp(17000)));
    assert_eq!(h.response().status, 491);
    assert!(h.take_media().is_empty());
    assert_eq!(h.engine.status().call.unwrap().state, "ringing");
}

#[test]
fn a_reinvite_200_without_ack_ends_the_call_after_64_t1() {
    let mut cfg = config();
    cfg.calls.rtp_timeout = Duration::from_secs(600);
    let mut h = Harness::new(cfg);
    let invite = bell_answered(&mut h);
    h.sip(with_sdp(from_answerer(&invite, Method::Invite, 2), &phone_sdp(17000)));
    assert_eq!(h.response().status, 200);
    h.advance(Duration::from_millis(31_999));
    assert_eq!(h.take_responses().len(), 10, "copies at 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5 s");
    assert!(h.take_requests(Method::Bye).is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.take_requests(Method::Bye).len(), 1, "BYE when the re-INVITE's 200 got no ACK");
    assert!(h.take_events().iter().any(|e| matches!(e, Event::Ended { reason: EndReason::Error, .. })));
}
