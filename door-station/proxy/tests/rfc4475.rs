//! Every RFC 4475 torture message, over UDP and over a TCP stream, through
//! the whole proxy core: the invalid ones are answered 400/505 or dropped,
//! the valid ones are never refused as malformed, and the proxy keeps
//! answering afterwards.

mod common;

use common::*;
use ds_sip::message::intake::StreamFramer;
use ds_sip::transaction::{Peer, Transport};
use ds_sip::{Message, Method, Request};
use intercom_proxy::registrar::Registrar;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sip-core/tests/rfc4475")
}

/// (file, class) from INDEX.tsv.
fn index() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(corpus().join("INDEX.tsv")).expect("INDEX.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[0].to_string(), cols[2].to_string())
        })
        .collect()
}

/// Statuses the proxy sent back to `from` itself.
fn answers(out: &[(Peer, Message)], from: Peer) -> Vec<u16> {
    out.iter()
        .filter(|(p, _)| *p == from)
        .filter_map(|(_, m)| match m {
            Message::Response(r) => Some(r.status),
            _ => None,
        })
        .collect()
}

fn still_answers(core: &mut intercom_proxy::core::Proxy, now: Instant, n: usize) {
    let ping = Request::new(Method::Options, "sip:home")
        .with_header("Via", format!("SIP/2.0/UDP {CALLER};branch=z9hG4bKping{n}"))
        .with_header("Max-Forwards", "70")
        .with_header("From", "<sip:door@home>;tag=p")
        .with_header("To", "<sip:home>")
        .with_header("Call-ID", format!("ping-{n}"))
        .with_header("CSeq", "1 OPTIONS");
    assert_eq!(final_status(&exchange(core, now, CALLER, &ping)), Some(200));
}

fn check(class: &str, file: &str, statuses: &[u16]) {
    let malformed = statuses.iter().any(|s| matches!(s, 400 | 505));
    match class {
        "invalid" => assert!(statuses.is_empty() || malformed, "{file}: {statuses:?}"),
        "valid" => assert!(!malformed, "{file} is valid but was refused: {statuses:?}"),
        _ => {}
    }
}

#[test]
fn every_torture_message_over_udp() {
    let t0 = Instant::now();
    let mut core = proxy_with(t0, Duration::from_secs(30), Registrar::new(LIMITS));
    for (i, (file, class)) in index().iter().enumerate() {
        let now = t0 + Duration::from_millis(10 * i as u64);
        let bytes = std::fs::read(corpus().join(file)).unwrap();
        core.handle_datagram(now, Peer::udp(CALLER), &bytes);
        let out = drain(&mut core);
        check(class, file, &answers(&out, Peer::udp(CALLER)));
        still_answers(&mut core, now, i);
    }
}

#[test]
fn every_torture_message_over_tcp() {
    let t0 = Instant::now();
    let mut core = proxy_with(t0, Duration::from_secs(30), Registrar::new(LIMITS));
    let from = Peer { addr: CALLER, transport: Transport::Tcp };
    for (i, (file, class)) in index().iter().enumerate() {
        let now = t0 + Duration::from_millis(10 * i as u64);
        let mut framer = StreamFramer::new(65_536);
        framer.push(&std::fs::read(corpus().join(file)).unwrap());
        let mut statuses = Vec::new();
        while let Some(Ok(intake)) = framer.next() {
            core.handle_intake(now, from, intake);
            statuses.extend(answers(&drain(&mut core), from));
        }
        check(class, file, &statuses);
        still_answers(&mut core, now, i);
    }
}
