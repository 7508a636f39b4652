//! Fuzz-style tests without an external fuzzer: every torture message is
//! truncated at every offset and mutated many times with a fixed seed, then
//! fed to the datagram parser, the stream framer and the role checks. None
//! may panic; whatever parses must survive a round trip.

mod common;

use ds_sip::message::intake::{Intake, Role, StreamFramer, check_semantics, parse_datagram};

/// Bytes that matter to the grammar.
const INTERESTING: &[u8] = b"\r\n \t\"<>:;,\\%@?/=0 9\x00\xff\xc3";

fn files() -> Vec<Vec<u8>> {
    common::index().iter().map(|e| common::load(&e.file)).collect()
}

/// Parse as a datagram and check every property that must hold; returns
/// whether a message came out.
fn datagram(buf: &[u8]) -> bool {
    let intake = parse_datagram(buf);
    let parsed = matches!(intake, Intake::Message(_));
    match intake {
        Intake::Message(msg) => {
            for role in [Role::Endpoint, Role::Proxy, Role::Registrar] {
                if let Some(answer) = check_semantics(&msg, role, &["timer"]) {
                    assert!((400..700).contains(&answer.status));
                }
            }
            let again = parse_datagram(&msg.to_bytes());
            assert_eq!(again, Intake::Message(msg), "round trip of {:?}", String::from_utf8_lossy(buf));
        }
        Intake::Reject(resp) => {
            assert!(resp.status == 400 || resp.status == 505);
            let _ = parse_datagram(&resp.to_bytes());
        }
        Intake::Drop(_) => {}
    }
    parsed
}

/// Feed a stream in chunks and drain it; the framer must make progress.
fn stream(buf: &[u8], rng: &mut common::Rng) {
    let mut framer = StreamFramer::new(8 * 1024);
    let mut rest = buf;
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len().min(700));
        framer.push(&rest[..n]);
        rest = &rest[n..];
        for _ in 0..=buf.len() {
            match framer.next() {
                None => break,
                Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    }
}

fn mutate(buf: &[u8], rng: &mut common::Rng) -> Vec<u8> {
    let mut out = buf.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        let byte = INTERESTING[rng.below(INTERESTING.len())];
        match rng.below(4) {
            0 if at < out.len() => out[at] = byte,
            1 if at < out.len() => {
                out.remove(at);
            }
            2 => out.insert(at, byte),
            _ => {
                let end = (at + rng.below(40)).min(out.len());
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
        }
    }
    out
}

#[test]
fn truncations_never_panic() {
    let mut rng = common::Rng(0x5eed_0001);
    for file in files() {
        for cut in 0..=file.len() {
            datagram(&file[..cut]);
            datagram(&file[cut..]);
            datagram(&[&file[..cut], b"\r\n\r\n".as_slice()].concat());
        }
        stream(&file, &mut rng);
    }
}

#[test]
fn mutations_never_panic_and_round_trip() {
    let mut rng = common::Rng(0x5eed_0002);
    let (mut tried, mut parsed) = (0, 0);
    for file in files() {
        for _ in 0..250 {
            let m = mutate(&file, &mut rng);
            parsed += usize::from(datagram(&m));
            tried += 1;
            stream(&m, &mut rng);
        }
    }
    // Many mutants still parse, so the round trip is exercised.
    assert!(parsed * 20 > tried, "{parsed} of {tried} parsed");
}

#[test]
fn concatenated_streams_never_panic() {
    let mut rng = common::Rng(0x5eed_0003);
    let all = files();
    for _ in 0..200 {
        let mut buf = Vec::new();
        for _ in 0..4 {
            let f = &all[rng.below(all.len())];
            buf.extend_from_slice(if rng.below(3) == 0 { b"\r\n\r\n" } else { b"" });
            buf.extend_from_slice(&mutate(f, &mut rng));
        }
        stream(&buf, &mut rng);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = common::Rng(0x5eed_0004);
    for _ in 0..2000 {
        let len = rng.below(300);
        let mut buf: Vec<u8> = (0..len).map(|_| INTERESTING[rng.below(INTERESTING.len())]).collect();
        if rng.below(2) == 0 {
            buf.splice(0..0, b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n".iter().copied());
        }
        datagram(&buf);
        stream(&buf, &mut rng);
    }
}
