//! RFC 4475 "badbranch": a branch that is only the magic cookie carries no
//! transaction id, so the server matches by the RFC 2543 fields instead.

use ds_sip::message::intake::{Intake, parse_datagram};
use ds_sip::transaction::{Peer, Timers, TransactionKey, TransactionLayer, TxEvent, TxOutput};
use ds_sip::{Message, Response};
use std::time::{Duration, Instant};

fn torture() -> Message {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rfc4475/badbranch.dat");
    match parse_datagram(&std::fs::read(path).expect("badbranch.dat")) {
        Intake::Message(m) => m,
        other => panic!("badbranch.dat must parse: {other:?}"),
    }
}

#[test]
fn bare_cookie_falls_back_to_rfc2543_matching() {
    let t0 = Instant::now();
    let from = Peer::udp(([192, 0, 2, 1], 5060).into());
    let mut layer = TransactionLayer::new(Timers::default());
    let Message::Request(req) = torture() else { panic!("a request") };
    let key = TransactionKey::server_for_request(&req).unwrap();
    assert_eq!(key.branch(), None, "no RFC 3261 key from a bare cookie");
    layer.handle_message(t0, Message::Request(req.clone()), from);
    layer.send_response(t0, &key, Response::for_request(&req, 200, "OK"));
    layer.handle_message(t0 + Duration::from_millis(100), Message::Request(req.clone()), from);
    let mut requests = 0;
    let mut sent = 0;
    while let Some(out) = layer.poll_output() {
        match out {
            TxOutput::Event(TxEvent::Request { .. }) => requests += 1,
            TxOutput::Transmit { dest, .. } => {
                assert_eq!(dest, from);
                sent += 1;
            }
            TxOutput::Event(_) => {}
        }
    }
    assert_eq!((requests, sent), (1, 2), "the retransmission matched and got the 200 again");
}
