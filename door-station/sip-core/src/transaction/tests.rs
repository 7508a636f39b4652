//! Behaviour of each transaction kind on a fake clock, one layer at a time.
//! The multi-party runs are in `tests/` on the testkit network.

use super::*;
use crate::message::{Message, Method, Request, Response};
use std::time::{Duration, Instant};

fn peer(port: u16, transport: Transport) -> Peer {
    Peer { addr: ([127, 0, 0, 1], port).into(), transport }
}

fn request(method: Method, branch: &str) -> Request {
    Request::new(method.clone(), "sip:bob@127.0.0.1:5062")
        .with_header("Via", format!("SIP/2.0/UDP 127.0.0.1:5060;branch={branch}"))
        .with_header("Max-Forwards", "70")
        .with_header("From", "<sip:door@127.0.0.1>;tag=f1")
        .with_header("To", "<sip:bob@127.0.0.1>")
        .with_header("Call-ID", "call-1")
        .with_header("CSeq", format!("1 {method}"))
}

fn response(req: &Request, status: u16, to_tag: &str) -> Response {
    let mut r = Response::for_request(req, status, "X");
    r.headers.set("To", format!("<sip:bob@127.0.0.1>;tag={to_tag}"));
    r
}

/// Everything queued: (transmitted start lines, events).
fn drain(l: &mut TransactionLayer) -> (Vec<String>, Vec<TxEvent>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while let Some(o) = l.poll_output() {
        match o {
            TxOutput::Transmit { bytes, .. } => {
                let text = String::from_utf8_lossy(&bytes).to_string();
                sent.push(text.lines().next().unwrap_or_default().to_string());
            }
            TxOutput::Event(e) => events.push(e),
        }
    }
    (sent, events)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn invite_client_timer_a_doubles_until_timer_b() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let key = l.send_request(t0, request(Method::Invite, "z9hG4bKa"), peer(5062, Transport::Udp));
    assert_eq!(drain(&mut l).0.len(), 1);
    let mut fired = Vec::new();
    while let Some(t) = l.next_timeout() {
        l.handle_timeout(t);
        let (sent, events) = drain(&mut l);
        fired.push(((t - t0).as_millis(), sent.len(), events));
    }
    let retransmits: Vec<u128> = fired.iter().filter(|f| f.1 == 1).map(|f| f.0).collect();
    assert_eq!(retransmits, [500, 1500, 3500, 7500, 15500, 31500]);
    let last = fired.last().unwrap();
    assert_eq!(last.0, 32_000);
    assert_eq!(last.2, [TxEvent::Timeout { key: key.clone() }, TxEvent::Terminated { key }]);
}

#[test]
fn invite_client_acks_non2xx_and_absorbs_its_retransmission() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let inv = request(Method::Invite, "z9hG4bKb");
    let key = l.send_request(t0, inv.clone(), peer(5062, Transport::Udp));
    drain(&mut l);
    let busy = response(&inv, 486, "t");
    l.handle_message(t0 + ms(10), Message::Response(busy.clone()), peer(5062, Transport::Udp));
    let (sent, events) = drain(&mut l);
    assert_eq!(sent, ["ACK sip:bob@127.0.0.1:5062 SIP/2.0"]);
    assert!(matches!(&events[..], [TxEvent::Response { response, .. }] if response.status == 486));
    l.handle_message(t0 + ms(20), Message::Response(busy), peer(5062, Transport::Udp));
    let (sent, events) = drain(&mut l);
    assert_eq!((sent.len(), events.len()), (1, 0), "ACK again, nothing up");
    assert_eq!(l.next_timeout(), Some(t0 + ms(10) + Duration::from_secs(32)), "timer D");
    l.handle_timeout(t0 + ms(10) + Duration::from_secs(32));
    assert_eq!(drain(&mut l).1, [TxEvent::Terminated { key }]);
}

#[test]
fn invite_client_passes_every_forked_2xx_for_64_t1() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let inv = request(Method::Invite, "z9hG4bKc");
    let key = l.send_request(t0, inv.clone(), peer(5062, Transport::Udp));
    drain(&mut l);
    for (i, tag) in ["one", "two", "two"].iter().enumerate() {
        let at = t0 + ms(100 * i as u64 + 100);
        l.handle_message(at, Message::Response(response(&inv, 200, tag)), peer(5062, Transport::Udp));
        let (sent, events) = drain(&mut l);
        assert!(sent.is_empty(), "the TU acks 2xx, not the transaction");
        assert!(matches!(&events[..], [TxEvent::Response { response, .. }] if response.status == 200));
    }
    assert_eq!(l.next_timeout(), Some(t0 + ms(100) + ms(500) * 64), "timer M");
    l.handle_timeout(t0 + ms(100) + ms(500) * 64);
    assert_eq!(drain(&mut l).1, [TxEvent::Terminated { key }]);
}

#[test]
fn non_invite_client_timer_e_caps_at_t2_and_f_times_out() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let key = l.send_request(t0, request(Method::Options, "z9hG4bKd"), peer(5062, Transport::Udp));
    drain(&mut l);
    let mut at = Vec::new();
    let mut events = Vec::new();
    while let Some(t) = l.next_timeout() {
        l.handle_timeout(t);
        let (sent, ev) = drain(&mut l);
        if !sent.is_empty() {
            at.push((t - t0).as_millis());
        }
        events.extend(ev);
    }
    assert_eq!(&at[..5], [500, 1500, 3500, 7500, 11500]);
    assert_eq!(events, [TxEvent::Timeout { key: key.clone() }, TxEvent::Terminated { key }]);
}

#[test]
fn reliable_transport_never_retransmits_and_ends_at_once() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = request(Method::Bye, "z9hG4bKe");
    let key = l.send_request(t0, req.clone(), peer(5062, Transport::Tcp));
    drain(&mut l);
    assert_eq!(l.next_timeout(), Some(t0 + ms(32_000)), "only timer F");
    l.handle_message(t0 + ms(5), Message::Response(response(&req, 200, "t")), peer(5062, Transport::Tcp));
    let (_, events) = drain(&mut l);
    assert_eq!(events.last(), Some(&TxEvent::Terminated { key }), "timer K is zero");
    assert!(l.is_empty());
}

#[test]
fn invite_server_resends_last_response_and_absorbs_ack_for_non2xx() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let inv = request(Method::Invite, "z9hG4bKf");
    let from = peer(5060, Transport::Udp);
    l.handle_message(t0, Message::Request(inv.clone()), from);
    let (_, events) = drain(&mut l);
    let Some(TxEvent::Request { key, .. }) = events.first().cloned() else { panic!("no request: {events:?}") };
    l.handle_message(t0 + ms(1), Message::Request(inv.clone()), from);
    assert_eq!(drain(&mut l), (vec![], vec![]), "nothing sent yet, so nothing to re-send");
    l.send_response(t0 + ms(2), &key, response(&inv, 180, "s"));
    l.handle_message(t0 + ms(3), Message::Request(inv.clone()), from);
    assert_eq!(drain(&mut l).0, ["SIP/2.0 180 X", "SIP/2.0 180 X"]);
    l.send_response(t0 + ms(4), &key, response(&inv, 486, "s"));
    l.handle_timeout(t0 + ms(504));
    assert_eq!(drain(&mut l).0, ["SIP/2.0 486 X", "SIP/2.0 486 X"], "timer G");
    let ack = ack_for_non2xx(&inv, &response(&inv, 486, "s"));
    l.handle_message(t0 + ms(600), Message::Request(ack), from);
    assert_eq!(drain(&mut l), (vec![], vec![]), "ACK absorbed, not passed up");
    assert_eq!(l.next_timeout(), Some(t0 + ms(5600)), "timer I = T4");
    l.handle_timeout(t0 + ms(5600));
    assert_eq!(drain(&mut l).1, [TxEvent::Terminated { key }]);
}

#[test]
fn invite_server_timer_h_without_ack() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let inv = request(Method::Invite, "z9hG4bKg");
    l.handle_message(t0, Message::Request(inv.clone()), peer(5060, Transport::Udp));
    let key = TransactionKey::server_for_request(&inv).unwrap();
    l.send_response(t0, &key, response(&inv, 603, "s"));
    let mut events = Vec::new();
    while let Some(t) = l.next_timeout() {
        l.handle_timeout(t);
        events.extend(drain(&mut l).1);
    }
    assert!(events.contains(&TxEvent::Timeout { key }));
}

#[test]
fn invite_server_accepted_passes_ack_for_2xx_and_more_2xx() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let inv = request(Method::Invite, "z9hG4bKh");
    let from = peer(5060, Transport::Udp);
    l.handle_message(t0, Message::Request(inv.clone()), from);
    let key = TransactionKey::server_for_request(&inv).unwrap();
    drain(&mut l);
    l.send_response(t0, &key, response(&inv, 200, "a"));
    l.send_response(t0, &key, response(&inv, 200, "b"));
    assert_eq!(drain(&mut l).0.len(), 2, "a proxy forwards a second fork's 2xx");
    assert!(l.try_send_response(t0, &key, response(&inv, 486, "c")).is_err());
    l.handle_message(t0 + ms(1), Message::Request(inv.clone()), from);
    assert_eq!(drain(&mut l).0.len(), 0, "retransmitted INVITE absorbed in Accepted");
    let mut ack = request(Method::Ack, "z9hG4bKh");
    ack.headers.set("CSeq", "1 ACK");
    l.handle_message(t0 + ms(2), Message::Request(ack), from);
    let events = drain(&mut l).1;
    assert!(matches!(&events[..], [TxEvent::Request { request, .. }] if request.method == Method::Ack));
}

#[test]
fn cancel_has_its_own_server_transaction() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let inv = request(Method::Invite, "z9hG4bKi");
    let from = peer(5060, Transport::Udp);
    l.handle_message(t0, Message::Request(inv.clone()), from);
    l.handle_message(t0 + ms(5), Message::Request(cancel_for(&inv)), from);
    let keys: Vec<TransactionKey> = drain(&mut l)
        .1
        .into_iter()
        .filter_map(|e| match e {
            TxEvent::Request { key, .. } => Some(key),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
    assert_eq!(keys[1].method(), Method::Cancel);
    assert_eq!(keys[1].for_method(&Method::Invite), keys[0]);
}

#[test]
fn rfc2543_branch_falls_back_to_field_matching() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let inv = request(Method::Invite, "1234-no-cookie");
    let from = peer(5060, Transport::Udp);
    l.handle_message(t0, Message::Request(inv.clone()), from);
    let key = TransactionKey::server_for_request(&inv).unwrap();
    assert_eq!(key.branch(), None);
    drain(&mut l);
    l.send_response(t0, &key, response(&inv, 404, "s"));
    l.handle_message(t0 + ms(1), Message::Request(inv.clone()), from);
    assert_eq!(drain(&mut l).0.len(), 2, "retransmission matched without a cookie");
    let other = request(Method::Invite, "1234-no-cookie").with_header("X", "y");
    let mut other = other;
    other.headers.set("Call-ID", "call-2");
    assert_ne!(TransactionKey::server_for_request(&other), Some(key.clone()));
    let ack = ack_for_non2xx(&inv, &response(&inv, 404, "s"));
    l.handle_message(t0 + ms(2), Message::Request(ack), from);
    assert_eq!(drain(&mut l), (vec![], vec![]), "ACK matched the INVITE transaction");
}

#[test]
fn non_invite_server_answers_retransmissions_then_timer_j() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let bye = request(Method::Bye, "z9hG4bKj");
    let from = peer(5060, Transport::Udp);
    l.handle_message(t0, Message::Request(bye.clone()), from);
    let key = TransactionKey::server_for_request(&bye).unwrap();
    l.handle_message(t0 + ms(1), Message::Request(bye.clone()), from);
    assert_eq!(drain(&mut l).1.len(), 1, "retransmission in Trying is dropped");
    l.send_response(t0 + ms(2), &key, response(&bye, 200, "s"));
    l.handle_message(t0 + ms(3), Message::Request(bye), from);
    assert_eq!(drain(&mut l).0, ["SIP/2.0 200 X", "SIP/2.0 200 X"]);
    assert_eq!(l.next_timeout(), Some(t0 + ms(2) + ms(32_000)), "timer J = 64*T1");
}

#[test]
fn auto_trying_after_200ms() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    l.set_auto_trying(true);
    l.handle_message(t0, Message::Request(request(Method::Invite, "z9hG4bKk")), peer(5060, Transport::Udp));
    drain(&mut l);
    assert_eq!(l.next_timeout(), Some(t0 + ms(200)));
    l.handle_timeout(t0 + ms(200));
    assert_eq!(drain(&mut l).0, ["SIP/2.0 100 Trying"]);
}

#[test]
fn request_without_branch_reports_an_error() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = Request::new(Method::Options, "sip:x@127.0.0.1");
    assert!(matches!(
        l.try_send_request(t0, req.clone(), peer(5062, Transport::Udp)),
        Err(TransactionError::MissingBranch { .. })
    ));
    let key = l.send_request(t0, req, peer(5062, Transport::Udp));
    assert_eq!(drain(&mut l).1, [TxEvent::TransportError { key }]);
}

#[test]
fn invite_server_on_tcp_never_retransmits_and_ends_on_the_ack() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let inv = request(Method::Invite, "z9hG4bKl");
    let from = peer(5060, Transport::Tcp);
    l.handle_message(t0, Message::Request(inv.clone()), from);
    let key = TransactionKey::server_for_request(&inv).unwrap();
    l.send_response(t0, &key, response(&inv, 486, "s"));
    drain(&mut l);
    assert_eq!(l.next_timeout(), Some(t0 + ms(32_000)), "only timer H, no G");
    l.handle_message(t0 + ms(5), Message::Request(ack_for_non2xx(&inv, &response(&inv, 486, "s"))), from);
    assert_eq!(drain(&mut l).1, [TxEvent::Terminated { key }], "timer I is zero");
}

#[test]
fn transport_error_ends_the_transaction() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let key = l.send_request(t0, request(Method::Invite, "z9hG4bKm"), peer(5062, Transport::Tcp));
    drain(&mut l);
    l.handle_transport_error(&key);
    assert_eq!(drain(&mut l).1, [TxEvent::TransportError { key: key.clone() }, TxEvent::Terminated { key }]);
    assert_eq!(l.next_timeout(), None);
}
