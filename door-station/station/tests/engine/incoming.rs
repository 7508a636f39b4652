use door_station::engine::{Event, MediaCommand};
use ds_sip::{Message, Method, Request};

use crate::harness::{Harness, config, phone_sdp};

/// An INVITE to the station from `user@home`, with an offer.
pub fn invite_from(user: &str, n: u32) -> Request {
    Request::new(Method::Invite, "sip:door@127.0.0.1:15080")
        .with_header("Via", format!("SIP/2.0/UDP 127.0.0.1:15066;branch=z9hG4bKinv{user}{n}"))
        .with_header("Max-Forwards", "70")
        .with_header("From", format!("<sip:{user}@home>;tag={user}tag"))
        .with_header("To", "<sip:door@home>")
        .with_header("Call-ID", format!("look-{user}-{n}"))
        .with_header("CSeq", "1 INVITE")
        .with_header("Contact", format!("<sip:{user}@127.0.0.1:15066>"))
        .with_body("application/sdp", phone_sdp(16000))
}

/// An INVITE from `user@home` without an offer (the station offers in its 200).
pub fn invite_without_offer(user: &str) -> Request {
    let mut invite = invite_from(user, 1);
    invite.body.clear();
    invite.headers.remove("Content-Type");
    invite
}

/// A request in the dialog the station's 200 created.
pub fn in_dialog(invite: &Request, ok_to: &str, method: Method, cseq: u32) -> Request {
    Request::new(method.clone(), "sip:door@127.0.0.1:15080")
        .with_header("Via", format!("SIP/2.0/UDP 127.0.0.1:15066;branch=z9hG4bK{method}{cseq}"))
        .with_header("Max-Forwards", "70")
        .with_header("From", invite.headers.get("From").unwrap())
        .with_header("To", ok_to)
        .with_header("Call-ID", invite.headers.call_id().unwrap())
        .with_header("CSeq", format!("{cseq} {method}"))
}

/// Calls the station as `user`; returns the INVITE and the To of the 200.
pub fn call_in(h: &mut Harness, user: &str) -> (Request, String) {
    let invite = invite_from(user, 1);
    h.sip(Message::Request(invite.clone()));
    let ok = h.response();
    assert_eq!(ok.status, 200, "{user} is allowed to call");
    let to = ok.headers.get("To").unwrap().to_string();
    let mut ack = in_dialog(&invite, &to, Method::Ack, 1);
    ack.headers.set("Via", "SIP/2.0/UDP 127.0.0.1:15066;branch=z9hG4bKack1");
    h.sip(Message::Request(ack));
    (invite, to)
}

#[test]
fn allowed_caller_is_answered_with_sendonly_video() {
    let mut h = Harness::new(config());
    h.sip(Message::Request(invite_from("alice", 1)));
    let ok = h.response();
    assert_eq!(ok.status, 200);
    assert!(ok.headers.to().unwrap().tag().is_some());
    assert!(ok.headers.contact().is_some());
    let sdp = String::from_utf8(ok.body.clone()).unwrap();
    assert!(sdp.contains("m=video 20002"), "{sdp}");
    assert!(sdp.contains("a=sendonly"), "{sdp}");
    assert!(sdp.contains("PCMU/8000"), "{sdp}");
    assert_eq!(
        h.take_events(),
        vec![Event::Incoming { call_id: "look-alice-1".into(), from: "sip:alice@home".into(), accepted: true }]
    );
    assert!(matches!(&h.take_media()[..], [MediaCommand::Answered { dialog, .. }] if dialog == "alicetag"));
}

#[test]
fn the_200_is_retransmitted_until_the_ack() {
    let mut h = Harness::new(config());
    let invite = invite_from("alice", 1);
    h.sip(Message::Request(invite.clone()));
    let ok = h.response();
    h.advance(std::time::Duration::from_millis(500));
    assert_eq!(h.take_responses().len(), 1, "retransmitted at T1");
    let to = ok.headers.get("To").unwrap().to_string();
    h.sip(Message::Request(in_dialog(&invite, &to, Method::Ack, 1)));
    h.advance(std::time::Duration::from_secs(10));
    assert!(h.take_responses().is_empty(), "no retransmission after the ACK");
}

#[test]
fn without_an_ack_the_call_ends_with_bye_after_64_t1() {
    let mut cfg = config();
    cfg.calls.rtp_timeout = std::time::Duration::from_secs(600);
    let mut h = Harness::new(cfg);
    h.sip(Message::Request(invite_from("alice", 1)));
    h.take_events();
    h.advance(std::time::Duration::from_millis(31_999));
    assert_eq!(h.take_responses().len(), 1 + 10, "the 200 and its copies at 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5 s");
    assert!(h.take_requests(Method::Bye).is_empty());
    h.advance(std::time::Duration::from_millis(1));
    let (dest, _) = h.take_requests(Method::Bye).pop().expect("BYE when no ACK came");
    assert_eq!(dest.addr, "127.0.0.1:15066".parse().unwrap(), "to the caller's Contact");
    assert!(
        h.take_events()
            .iter()
            .any(|e| matches!(e, Event::Ended { reason: door_station::engine::EndReason::Error, .. }))
    );
}

#[test]
fn other_callers_get_403() {
    let mut h = Harness::new(config());
    h.sip(Message::Request(invite_from("mallory", 1)));
    let resp = h.response();
    assert_eq!(resp.status, 403);
    assert!(resp.headers.to().unwrap().tag().is_some());
    assert_eq!(
        h.take_events(),
        vec![Event::Incoming { call_id: "look-mallory-1".into(), from: "sip:mallory@home".into(), accepted: false }]
    );
    assert!(h.take_media().is_empty());
}

#[test]
fn a_second_call_is_busy() {
    let mut h = Harness::new(config());
    call_in(&mut h, "alice");
    h.sip(Message::Request(invite_from("bob", 2)));
    assert_eq!(h.response().status, 486);
}

#[test]
fn options_unknown_methods_and_unknown_dialogs() {
    let mut h = Harness::new(config());
    let options = invite_from("x", 1).with_header("CSeq", "1 OPTIONS");
    let mut options = Request { method: Method::Options, body: Vec::new(), ..options };
    options.headers.set("CSeq", "1 OPTIONS");
    options.headers.remove("Content-Type");
    h.sip(Message::Request(options.clone()));
    let resp = h.response();
    assert_eq!(resp.status, 200);
    assert!(resp.headers.get("Allow").unwrap().contains("INVITE"));

    let mut odd = Request { method: Method::Extension("FROB".into()), ..options.clone() };
    odd.headers.set("CSeq", "2 FROB");
    odd.headers.set("Via", "SIP/2.0/UDP 127.0.0.1:15066;branch=z9hG4bKfrob");
    h.sip(Message::Request(odd));
    assert_eq!(h.response().status, 501);

    let mut info = Request { method: Method::Info, ..options };
    info.headers.set("CSeq", "3 INFO");
    info.headers.set("To", "<sip:door@home>;tag=nosuch");
    info.headers.set("Via", "SIP/2.0/UDP 127.0.0.1:15066;branch=z9hG4bKinfo");
    h.sip(Message::Request(info));
    assert_eq!(h.response().status, 481);
}

#[test]
fn reinvite_gets_a_fresh_answer() {
    let mut h = Harness::new(config());
    let (invite, to) = call_in(&mut h, "alice");
    h.take_media();
    let reinvite = in_dialog(&invite, &to, Method::Invite, 2)
        .with_header("Contact", "<sip:alice@127.0.0.1:15066>")
        .with_body("application/sdp", phone_sdp(17000));
    h.sip(Message::Request(reinvite));
    let ok = h.response();
    assert_eq!(ok.status, 200);
    assert!(String::from_utf8_lossy(&ok.body).contains("m=audio 20000"));
    let media = h.take_media();
    assert!(matches!(&media[..], [MediaCommand::Answered { paths, .. }]
        if paths.audio.as_ref().unwrap().remote == "127.0.0.1:17000".parse().unwrap()));
}

#[test]
fn a_late_answer_to_an_earlier_bye_leaves_the_current_call_alone() {
    let mut h = Harness::new(config());
    h.input(door_station::engine::Input::ButtonPressed(0));
    let invite = h.request(Method::Invite);
    let contact = "127.0.0.1:15066".parse().unwrap();
    h.reply(crate::harness::answer(&invite, 200, "a", contact, Some(&phone_sdp(16000))));
    h.input(door_station::engine::Input::Command(door_station::engine::Command::Hangup));
    let bye = h.request(Method::Bye);
    call_in(&mut h, "alice");
    h.reply(crate::harness::plain(&bye, 200));
    assert!(h.engine.status().call.is_some(), "the look-at-the-door call goes on");
}

#[test]
fn an_invite_without_offer_gets_our_offer_and_the_ack_carries_the_answer() {
    let mut h = Harness::new(config());
    let invite = invite_without_offer("alice");
    h.sip(Message::Request(invite.clone()));
    let ok = h.response();
    assert_eq!(ok.status, 200);
    assert!(String::from_utf8_lossy(&ok.body).contains("m=video 20002 RTP/AVP 102"));
    assert!(h.take_media().is_empty(), "no paths before the answer");
    let to = ok.headers.get("To").unwrap().to_string();
    let ack = in_dialog(&invite, &to, Method::Ack, 1).with_body("application/sdp", phone_sdp(16000));
    h.sip(Message::Request(ack));
    let media = h.take_media();
    assert!(matches!(&media[..], [MediaCommand::Answered { paths, .. }]
        if paths.video.as_ref().unwrap().remote == "127.0.0.1:16200".parse().unwrap()));
}
