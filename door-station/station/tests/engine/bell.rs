use std::net::SocketAddr;
use std::time::Duration;

use door_station::engine::{Command, EndReason, Event, Input, MediaCommand};
use ds_sip::{Method, Request};

use crate::harness::{Harness, PROXY, answer, config, phone_sdp, plain};

fn alice() -> SocketAddr {
    "127.0.0.1:15066".parse().unwrap()
}

fn bob() -> SocketAddr {
    "127.0.0.1:15072".parse().unwrap()
}

/// Presses the button; returns the INVITE.
fn ring(h: &mut Harness) -> Request {
    h.input(Input::ButtonPressed(0));
    h.request(Method::Invite)
}

/// Both forks answer 183 with SDP.
fn two_early(h: &mut Harness, invite: &Request) {
    h.reply(plain(invite, 100));
    h.reply(answer(invite, 183, "a", alice(), Some(&phone_sdp(16000))));
    h.reply(answer(invite, 183, "b", bob(), Some(&phone_sdp(16100))));
}

/// Alice answers 200; returns after the first fork won.
fn answered(h: &mut Harness) -> Request {
    let invite = ring(h);
    two_early(h, &invite);
    h.reply(answer(&invite, 200, "a", alice(), Some(&phone_sdp(16000))));
    h.take_media();
    h.take_events();
    invite
}

fn started_early(media: &[MediaCommand]) -> Vec<(String, Option<SocketAddr>)> {
    media
        .iter()
        .filter_map(|m| match m {
            MediaCommand::StartEarly { dialog, paths, .. } => {
                Some((dialog.clone(), paths.video.as_ref().map(|v| v.remote)))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn invite_offers_audio_and_sendonly_h264_through_the_proxy() {
    let mut h = Harness::new(config());
    h.input(Input::ButtonPressed(0));
    let (dest, invite) = h.take_requests(Method::Invite).pop().unwrap();
    assert_eq!(dest.addr, PROXY.parse().unwrap());
    assert_eq!(invite.uri, "sip:everyone@home");
    let sdp = String::from_utf8(invite.body.clone()).unwrap();
    for needle in [
        "m=audio 20000 RTP/AVP",
        "opus/48000/2",
        "PCMU/8000",
        "PCMA/8000",
        "telephone-event",
        "m=video 20002",
        "H264/90000",
        "packetization-mode=1",
        "a=sendonly",
    ] {
        assert!(sdp.contains(needle), "{needle} missing in\n{sdp}");
    }
    assert!(matches!(&h.take_events()[..], [Event::Ringing { target, .. }] if target == "sip:everyone@home"));
    // A second press during the call does nothing.
    h.input(Input::ButtonPressed(0));
    assert!(h.take_requests(Method::Invite).is_empty());
}

#[test]
fn two_forks_with_sdp_get_early_media_and_the_first_200_wins() {
    let mut h = Harness::new(config());
    let invite = ring(&mut h);
    h.take_events();
    two_early(&mut h, &invite);
    let media = h.take_media();
    assert_eq!(
        started_early(&media),
        vec![
            ("a".into(), Some("127.0.0.1:16200".parse().unwrap())),
            ("b".into(), Some("127.0.0.1:16300".parse().unwrap()))
        ]
    );
    let early: Vec<_> = h.take_events().into_iter().filter(|e| matches!(e, Event::EarlyMedia { .. })).collect();
    assert_eq!(early.len(), 2);
    // A repeated 183 does not restart anything.
    h.reply(answer(&invite, 183, "a", alice(), Some(&phone_sdp(16000))));
    assert!(h.take_media().is_empty());

    h.reply(answer(&invite, 200, "a", alice(), Some(&phone_sdp(16000))));
    let (dest, ack) = h.take_requests(Method::Ack).pop().expect("ACK for the 200");
    assert_eq!(dest.addr, alice(), "no Record-Route: the ACK goes to the Contact");
    assert_eq!(ack.headers.cseq().unwrap().0, invite.headers.cseq().unwrap().0);
    assert!(ack.headers.to().unwrap().tag() == Some("a"));
    let media = h.take_media();
    assert!(
        media.iter().any(
            |m| matches!(m, MediaCommand::Answered { dialog, paths, .. } if dialog == "a" && paths.audio.is_some())
        )
    );
    assert!(media.iter().any(|m| matches!(m, MediaCommand::StopDialog { dialog, .. } if dialog == "b")));
    assert!(!media.iter().any(|m| matches!(m, MediaCommand::StopDialog { dialog, .. } if dialog == "a")));
    assert!(h.take_events().iter().any(|e| matches!(e, Event::Answered { by, .. } if by.contains("phone-a"))));

    // Bob's 200 races in: ACK and BYE to him.
    h.reply(answer(&invite, 200, "b", bob(), Some(&phone_sdp(16100))));
    let (dest, ack) = h.take_requests(Method::Ack).pop().expect("ACK for the second 200");
    assert_eq!((dest.addr, ack.headers.to().unwrap().tag()), (bob(), Some("b")));
    let (dest, bye) = h.take_requests(Method::Bye).pop().expect("BYE for the second 200");
    assert_eq!((dest.addr, bye.headers.to().unwrap().tag()), (bob(), Some("b")));
    assert!(h.take_media().is_empty(), "the answered call's media is untouched");
    assert!(h.engine.status().call.is_some());

    // A retransmitted 200 from Alice is ACKed again, nothing else.
    h.reply(answer(&invite, 200, "a", alice(), Some(&phone_sdp(16000))));
    assert_eq!(h.take_requests(Method::Ack).len(), 1);
    assert!(h.take_requests(Method::Bye).is_empty());
}

#[test]
fn early_media_stops_at_the_limit() {
    let mut cfg = config();
    cfg.calls.early_media_limit = 1;
    let mut h = Harness::new(cfg);
    let invite = ring(&mut h);
    two_early(&mut h, &invite);
    assert_eq!(started_early(&h.take_media()).len(), 1);
}

#[test]
fn challenge_to_the_invite_is_answered_once_with_cseq_plus_one() {
    let mut h = Harness::new(config());
    let invite = ring(&mut h);
    let challenge = r#"Digest realm="home", nonce="x", algorithm=MD5"#;
    h.reply(answer(&invite, 407, "p", alice(), None).with_header("Proxy-Authenticate", challenge));
    let again = h.request(Method::Invite);
    assert_eq!(again.headers.cseq().unwrap().0, 2);
    assert_eq!(again.headers.call_id(), invite.headers.call_id());
    assert_eq!(again.headers.from(), invite.headers.from());
    assert!(again.headers.get("Proxy-Authorization").unwrap().contains(r#"uri="sip:everyone@home""#));
    h.reply(answer(&again, 407, "p", alice(), None).with_header("Proxy-Authenticate", challenge));
    assert!(h.take_requests(Method::Invite).is_empty(), "only one retry");
    assert!(h.take_events().iter().any(|e| matches!(e, Event::Ended { reason: EndReason::Rejected, .. })));
    assert!(h.engine.status().call.is_none());
}

#[test]
fn ring_timeout_cancels_and_a_racing_200_is_acked_and_byed() {
    let mut h = Harness::new(config());
    let invite = ring(&mut h);
    h.reply(answer(&invite, 180, "a", alice(), None));
    h.advance(Duration::from_millis(29_999));
    assert!(h.take_requests(Method::Cancel).is_empty());
    h.advance(Duration::from_millis(1));
    let (dest, cancel) = h.take_requests(Method::Cancel).pop().expect("CANCEL");
    assert_eq!(dest.addr, PROXY.parse().unwrap());
    assert_eq!(cancel.headers.top_via().unwrap().branch(), invite.headers.top_via().unwrap().branch());
    assert!(h.take_events().iter().any(|e| matches!(e, Event::Ended { reason: EndReason::RingTimeout, .. })));
    assert!(h.take_media().iter().any(|m| matches!(m, MediaCommand::StopCall { .. })));

    h.reply(answer(&invite, 200, "a", alice(), Some(&phone_sdp(16000))));
    assert_eq!(h.take_requests(Method::Ack).len(), 1);
    assert_eq!(h.take_requests(Method::Bye).len(), 1);
    assert!(h.take_media().is_empty());
}

#[test]
fn rejection_ends_the_call() {
    let mut h = Harness::new(config());
    let invite = ring(&mut h);
    h.reply(answer(&invite, 486, "a", alice(), None));
    assert!(h.take_events().iter().any(|e| matches!(e, Event::Ended { reason: EndReason::Rejected, .. })));
    assert_eq!(h.take_requests(Method::Ack).len(), 1, "the transaction ACKs the 486");
    h.input(Input::ButtonPressed(0));
    assert_eq!(h.take_requests(Method::Invite).len(), 1, "a new call can start");
}

#[test]
fn call_limit_ends_with_bye() {
    let mut h = Harness::new(config());
    let invite = answered(&mut h);
    for _ in 0..29 {
        h.advance(Duration::from_secs(10));
        let call = door_station::engine::CallId(invite.headers.call_id().unwrap().to_string());
        h.input(Input::MediaActivity { call });
    }
    assert!(h.take_requests(Method::Bye).is_empty());
    h.advance(Duration::from_secs(10));
    let (dest, bye) = h.take_requests(Method::Bye).pop().expect("BYE at the limit");
    assert_eq!(dest.addr, alice());
    assert_eq!(bye.headers.cseq().unwrap(), (invite.headers.cseq().unwrap().0 + 1, Method::Bye));
    assert!(h.take_events().iter().any(|e| matches!(e, Event::Ended { reason: EndReason::CallLimit, .. })));
}

#[test]
fn media_silence_ends_with_bye() {
    let mut h = Harness::new(config());
    answered(&mut h);
    h.advance(Duration::from_secs(29));
    assert!(h.take_requests(Method::Bye).is_empty());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.take_requests(Method::Bye).len(), 1);
    assert!(h.take_events().iter().any(|e| matches!(e, Event::Ended { reason: EndReason::RtpTimeout, .. })));
}

#[test]
fn remote_bye_is_answered_and_ends_the_call() {
    let mut h = Harness::new(config());
    let invite = answered(&mut h);
    let mut bye = Request::new(Method::Bye, "sip:door@127.0.0.1:15080")
        .with_header("Via", "SIP/2.0/UDP 127.0.0.1:15066;branch=z9hG4bKbye1")
        .with_header("Max-Forwards", "70")
        .with_header("From", "<sip:everyone@home>;tag=a")
        .with_header("To", invite.headers.get("From").unwrap())
        .with_header("Call-ID", invite.headers.call_id().unwrap())
        .with_header("CSeq", "2 BYE");
    h.sip(ds_sip::Message::Request(bye.clone()));
    assert_eq!(h.response().status, 200);
    assert!(h.take_events().iter().any(|e| matches!(e, Event::Ended { reason: EndReason::RemoteBye, .. })));
    assert!(h.take_requests(Method::Bye).is_empty());
    // The same BYE again (a new transaction) no longer matches a dialog.
    bye.headers.set("Via", "SIP/2.0/UDP 127.0.0.1:15066;branch=z9hG4bKbye2");
    h.sip(ds_sip::Message::Request(bye));
    assert_eq!(h.response().status, 481);
}

#[test]
fn hangup_while_ringing_cancels() {
    let mut h = Harness::new(config());
    let invite = ring(&mut h);
    h.reply(answer(&invite, 180, "a", alice(), None));
    h.input(Input::Command(Command::Hangup));
    assert_eq!(h.take_requests(Method::Cancel).len(), 1);
    assert!(h.take_events().iter().any(|e| matches!(e, Event::Ended { reason: EndReason::LocalHangup, .. })));
}

#[test]
fn an_answerer_that_sends_no_media_is_not_timed_out() {
    let mut h = Harness::new(config());
    let invite = ring(&mut h);
    let listen_only = phone_sdp(16000).replace("a=sendrecv", "a=recvonly");
    h.reply(answer(&invite, 200, "a", alice(), Some(&listen_only)));
    h.advance(Duration::from_secs(299));
    assert!(h.take_requests(Method::Bye).is_empty(), "no RTP is expected from a receive-only answerer");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.take_requests(Method::Bye).len(), 1, "the call limit still holds");
}
