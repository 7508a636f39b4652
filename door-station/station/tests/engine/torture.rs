//! Every RFC 4475 torture message the intake lets through, fed to the
//! engine idle, ringing and answered: nothing panics, and no request gets
//! more than one answer.

use std::path::Path;

use door_station::engine::Input;
use ds_sip::message::intake::{Intake, parse_datagram};
use ds_sip::{Message, Method};

use crate::harness::{Harness, answer, config, phone_sdp, proxy};

fn torture_messages() -> Vec<(String, Message)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sip-core/tests/rfc4475");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the RFC 4475 messages") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "dat")
            && let Intake::Message(msg) = parse_datagram(&std::fs::read(&path).unwrap())
        {
            out.push((path.file_name().unwrap().to_string_lossy().into_owned(), msg));
        }
    }
    assert!(out.len() >= 13, "the valid messages at least: {}", out.len());
    out
}

fn feed_all(h: &mut Harness) {
    for (name, msg) in torture_messages() {
        let answers_owed = matches!(&msg, Message::Request(r) if r.method != Method::Ack);
        h.take_responses();
        h.input(Input::Sip { from: proxy(), msg });
        let answers = h.take_responses().len();
        if answers_owed {
            assert!(answers <= 1, "{name}: {answers} answers");
        }
    }
}

#[test]
fn torture_messages_idle() {
    let mut h = Harness::new(config());
    feed_all(&mut h);
}

#[test]
fn torture_messages_during_a_bell_call() {
    let mut h = Harness::new(config());
    h.input(Input::ButtonPressed(0));
    let invite = h.request(Method::Invite);
    h.reply(answer(&invite, 183, "a", "127.0.0.1:15066".parse().unwrap(), Some(&phone_sdp(16000))));
    feed_all(&mut h);
    h.reply(answer(&invite, 200, "a", "127.0.0.1:15066".parse().unwrap(), Some(&phone_sdp(16000))));
    feed_all(&mut h);
}
