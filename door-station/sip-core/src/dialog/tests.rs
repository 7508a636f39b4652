use super::request::is_loose_router;
use super::*;
use crate::message::{Message, Method, Request, Response, Via};

fn invite() -> Request {
    Request::new(Method::Invite, "sip:flat@house")
        .with_header("Via", "SIP/2.0/UDP 127.0.0.1:15080;branch=z9hG4bK1")
        .with_header("From", "<sip:door@house>;tag=door1")
        .with_header("To", "<sip:flat@house>")
        .with_header("Call-ID", "c@door")
        .with_header("CSeq", "10 INVITE")
        .with_header("Contact", "<sip:door@127.0.0.1:15080>")
}

fn answer(status: u16, tag: &str, contact: &str, rr: &[&str]) -> Response {
    let mut r = Response::for_request(&invite(), status, "X");
    r.headers.set("To", format!("<sip:flat@house>;tag={tag}"));
    r.headers.push("Contact", contact);
    for v in rr {
        r.headers.push("Record-Route", *v);
    }
    r
}

fn via() -> Via {
    Via::parse("SIP/2.0/UDP 127.0.0.1:15080;branch=z9hG4bK2").unwrap()
}

#[test]
fn forked_183s_make_two_early_dialogs() {
    let a = Dialog::uac(&invite(), &answer(183, "a", "<sip:p1@10.0.0.1>", &[])).unwrap();
    let b = Dialog::uac(&invite(), &answer(183, "b", "<sip:p2@10.0.0.2>", &[])).unwrap();
    assert_eq!(a.state(), DialogState::Early);
    assert_ne!(a.id(), b.id());
    assert_eq!(a.id(), DialogId { call_id: "c@door".into(), local_tag: "door1".into(), remote_tag: "a".into() });
    assert!(a.matches(&Message::Response(answer(200, "a", "<sip:p1@10.0.0.1>", &[]))));
    assert!(!a.matches(&Message::Response(answer(200, "b", "<sip:p2@10.0.0.2>", &[]))));
    assert_eq!(b.remote_target(), "sip:p2@10.0.0.2");
}

#[test]
fn no_dialog_without_to_tag_or_for_100_and_errors() {
    let mut trying = Response::for_request(&invite(), 100, "Trying");
    assert_eq!(Dialog::try_uac(&invite(), &trying), Err(DialogError::NotDialogCreating { status: 100 }));
    trying.status = 180;
    assert_eq!(Dialog::try_uac(&invite(), &trying), Err(DialogError::NoToTag));
    assert!(Dialog::uac(&invite(), &answer(486, "a", "<sip:x@h>", &[])).is_none());
}

#[test]
fn two_xx_confirms_and_recomputes_route_set() {
    let mut d = Dialog::uac(&invite(), &answer(180, "a", "<sip:p1@h1>", &["<sip:old;lr>"])).unwrap();
    d.update(&answer(200, "a", "<sip:p1@h2>", &["<sip:p2;lr>", "<sip:p1;lr>"]));
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.remote_target(), "sip:p1@h2");
    let routes: Vec<&str> = d.route_set().iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(routes, ["sip:p1;lr", "sip:p2;lr"], "UAC reverses Record-Route");
    d.update(&answer(200, "other", "<sip:evil@h>", &[]));
    assert_eq!(d.remote_target(), "sip:p1@h2", "other dialogs' responses are ignored");
}

#[test]
fn loose_routing_keeps_target_in_request_uri() {
    let mut d = Dialog::uac(&invite(), &answer(200, "a", "<sip:flat@10.0.0.5>", &["<sip:proxy@10.0.0.1;lr>"])).unwrap();
    let bye = d.request(Method::Bye, via());
    assert_eq!(bye.uri, "sip:flat@10.0.0.5");
    assert_eq!(bye.headers.route().len(), 1);
    assert_eq!(bye.headers.route()[0].uri, "sip:proxy@10.0.0.1;lr");
    assert_eq!(bye.headers.cseq(), Some((11, Method::Bye)));
    assert_eq!(bye.headers.from().unwrap().tag(), Some("door1"));
    assert_eq!(bye.headers.to().unwrap().tag(), Some("a"));
    assert!(bye.headers.get("Contact").is_none());
    assert_eq!(d.request(Method::Info, via()).headers.cseq(), Some((12, Method::Info)));
}

#[test]
fn strict_routing_puts_the_first_route_in_request_uri() {
    let rr = ["<sip:p2@10.0.0.2;lr>", "<sip:p1@10.0.0.1>"];
    let mut d = Dialog::uac(&invite(), &answer(200, "a", "<sip:flat@10.0.0.5>", &rr)).unwrap();
    let bye = d.request(Method::Bye, via());
    assert_eq!(bye.uri, "sip:p1@10.0.0.1");
    let routes: Vec<String> = bye.headers.route().into_iter().map(|r| r.uri).collect();
    assert_eq!(routes, ["sip:p2@10.0.0.2;lr", "sip:flat@10.0.0.5"]);
}

#[test]
fn ack_reuses_invite_cseq_and_does_not_count() {
    let mut d = Dialog::uac(&invite(), &answer(200, "a", "<sip:flat@10.0.0.5>", &[])).unwrap();
    let ack = d.ack(10, via());
    assert_eq!(ack.headers.cseq(), Some((10, Method::Ack)));
    assert_eq!(d.request(Method::Bye, via()).headers.cseq(), Some((11, Method::Bye)));
}

#[test]
fn uas_dialog_checks_cseq_order_and_refreshes_target() {
    let mut d = Dialog::uas(&invite(), "flat9", "<sip:flat@10.0.0.5>").unwrap();
    assert_eq!(d.state(), DialogState::Early);
    assert_eq!(d.id().remote_tag, "door1");
    let ok = answer(200, "flat9", "<sip:flat@10.0.0.5>", &[]);
    d.update(&ok);
    assert_eq!(d.state(), DialogState::Confirmed);
    let reinvite = Request::new(Method::Invite, "sip:flat@10.0.0.5")
        .with_header("From", "<sip:door@house>;tag=door1")
        .with_header("To", "<sip:flat@house>;tag=flat9")
        .with_header("Call-ID", "c@door")
        .with_header("CSeq", "11 INVITE")
        .with_header("Contact", "<sip:door@127.0.0.9:15080>");
    assert_eq!(d.on_request(&reinvite), Ok(()));
    assert_eq!(d.remote_target(), "sip:door@127.0.0.9:15080");
    let mut old = reinvite.clone();
    old.headers.set("CSeq", "9 INFO");
    assert_eq!(d.on_request(&old), Err(DialogError::CSeqOutOfOrder { last: 11, got: 9 }));
    let bye = d.request(Method::Bye, via());
    assert_eq!(bye.headers.cseq(), Some((1, Method::Bye)));
    assert_eq!(bye.headers.from().unwrap().tag(), Some("flat9"));
    assert_eq!(bye.uri, "sip:door@127.0.0.9:15080");
    let mut stranger = reinvite;
    stranger.headers.set("From", "<sip:door@house>;tag=zzz");
    assert_eq!(d.on_request(&stranger), Err(DialogError::NotThisDialog));
}

#[test]
fn dialog_id_of_depends_on_side() {
    let msg = Message::Response(answer(200, "a", "<sip:x@h>", &[]));
    let ours = dialog_id_of(&msg, true).unwrap();
    assert_eq!((ours.local_tag.as_str(), ours.remote_tag.as_str()), ("door1", "a"));
    let theirs = dialog_id_of(&msg, false).unwrap();
    assert_eq!((theirs.local_tag.as_str(), theirs.remote_tag.as_str()), ("a", "door1"));
    assert_eq!(dialog_id_of(&Message::Request(invite()), false), None, "no To tag yet");
}

#[test]
fn lr_detection() {
    assert!(is_loose_router("sip:p@h;lr"));
    assert!(is_loose_router("sip:h;transport=udp;lr=on"));
    assert!(!is_loose_router("sip:h;transport=udp"));
    assert!(!is_loose_router("sip:h?x=;lr"));
}
