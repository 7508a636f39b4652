//! Intake rules beyond the torture messages: who gets an answer, how bodies
//! are cut, and what the stream framer does with partial input.

mod common;

use ds_sip::message::intake::{DropReason, FramingError, Intake, IntakeError, StreamFramer, parse_datagram};
use ds_sip::{Message, Method};

const HEAD: &str = "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK77\r\n\
To: <sip:door@home>\r\nFrom: <sip:alice@home>;tag=a1\r\nCall-ID: c1@home\r\nMax-Forwards: 70\r\n";

fn request(method: &str, extra: &str, body: &str) -> Vec<u8> {
    format!("{method} sip:door@home SIP/2.0\r\n{HEAD}CSeq: 1 {method}\r\n{extra}\r\n{body}").into_bytes()
}

fn rejected(buf: &[u8]) -> ds_sip::Response {
    match parse_datagram(buf) {
        Intake::Reject(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_ack_and_requests_without_via_are_dropped() {
    let ack = request("ACK", "Content-Length: -1\r\n", "");
    assert!(matches!(parse_datagram(&ack), Intake::Drop(DropReason::Unanswerable(_))));
    let no_via = String::from_utf8(request("OPTIONS", "", ""))
        .unwrap()
        .replace("Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK77\r\n", "");
    assert_eq!(
        parse_datagram(no_via.as_bytes()),
        Intake::Drop(DropReason::Unanswerable(IntakeError::Missing { name: "Via" }))
    );
    let options = request("OPTIONS", "Content-Length: -1\r\n", "");
    assert_eq!(rejected(&options).status, 400);
}

#[test]
fn malformed_responses_are_dropped() {
    let resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>;tag=1\r\nFrom: <sip:c@d>;tag=2\r\n\
Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    assert!(matches!(parse_datagram(resp.as_bytes()), Intake::Message(Message::Response(_))));
    let no_call_id = resp.replace("Call-ID: x\r\n", "");
    assert!(matches!(parse_datagram(no_call_id.as_bytes()), Intake::Drop(DropReason::BadResponse(_))));
    let http = resp.replace("SIP/2.0 200", "SIP/3.0 200");
    assert!(matches!(parse_datagram(http.as_bytes()), Intake::Drop(DropReason::BadResponse(_))));
}

#[test]
fn bodies_follow_content_length_or_the_datagram() {
    let Intake::Message(Message::Request(r)) =
        parse_datagram(&request("MESSAGE", "Content-Length: 2\r\n", "1#trailing"))
    else {
        panic!()
    };
    assert_eq!(r.body, b"1#");
    assert_eq!(r.headers.get("Content-Length"), None, "consumed by intake");
    let Intake::Message(Message::Request(r)) = parse_datagram(&request("MESSAGE", "", "to the end")) else { panic!() };
    assert_eq!(r.body, b"to the end");
    assert_eq!(rejected(&request("MESSAGE", "Content-Length: 99\r\n", "short")).status, 400);
}

#[test]
fn leading_crlf_is_ignored() {
    let buf = [b"\r\n\r\n".as_slice(), &request("OPTIONS", "", "")].concat();
    assert!(matches!(parse_datagram(&buf), Intake::Message(Message::Request(r)) if r.method == Method::Options));
}

#[test]
fn broken_header_lines_are_answered() {
    let bad_name = request("OPTIONS", "Bad Name: x\r\n", "");
    assert!(rejected(&bad_name).headers.get("Warning").unwrap().contains("not a token"));
    let no_colon = request("OPTIONS", "NoColonHere\r\n", "");
    assert!(rejected(&no_colon).headers.get("Warning").unwrap().contains("without ':'"));
    let mut latin1 = request("OPTIONS", "Subject: caf\u{e9}\r\n", "");
    let at = latin1.windows(2).position(|w| w == "\u{e9}".as_bytes()).unwrap();
    latin1.splice(at..at + 2, [0xe9]);
    assert!(rejected(&latin1).headers.get("Warning").unwrap().contains("not UTF-8"));
}

#[test]
fn version_505_and_to_tag() {
    let buf = String::from_utf8(request("OPTIONS", "", "")).unwrap().replace("SIP/2.0\r\n", "SIP/3.0\r\n");
    let resp = rejected(buf.as_bytes());
    assert_eq!((resp.status, resp.reason.as_str()), (505, "Version Not Supported"));
    assert!(resp.headers.to().unwrap().tag().is_some());
    assert_eq!(resp.headers.get("From"), Some("<sip:alice@home>;tag=a1"));
}

#[test]
fn stream_byte_by_byte_matches_one_push() {
    for entry in common::index() {
        let bytes = common::load(&entry.file);
        let mut whole = StreamFramer::new(64 * 1024);
        whole.push(&bytes);
        let expected = whole.next();
        let mut framer = StreamFramer::new(64 * 1024);
        let mut got = None;
        for b in &bytes {
            framer.push(std::slice::from_ref(b));
            if let Some(item) = framer.next() {
                got = Some(item);
                break;
            }
        }
        assert_eq!(got, expected, "{}", entry.file);
    }
}

#[test]
fn stream_requires_content_length() {
    let mut f = StreamFramer::new(4096);
    f.push(&request("OPTIONS", "", ""));
    assert_eq!(f.next(), Some(Err(FramingError::MissingContentLength)));
}
