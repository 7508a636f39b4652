//! The deadline index under many transactions: timers fire in order, and
//! only due transactions are visited.

use super::*;
use crate::message::{Message, Method, Request, Response};
use std::time::{Duration, Instant};

fn peer() -> Peer {
    Peer::udp(([127, 0, 0, 1], 5062).into())
}

fn options(i: usize) -> Request {
    Request::new(Method::Options, "sip:bob@127.0.0.1:5062")
        .with_header("Via", format!("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK{i}"))
        .with_header("Max-Forwards", "70")
        .with_header("From", "<sip:door@127.0.0.1>;tag=f1")
        .with_header("To", "<sip:bob@127.0.0.1>")
        .with_header("Call-ID", format!("call-{i}"))
        .with_header("CSeq", "1 OPTIONS")
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The Call-IDs of the requests transmitted, and how many events.
fn drain(l: &mut TransactionLayer) -> (Vec<String>, usize) {
    let (mut sent, mut events) = (Vec::new(), 0);
    while let Some(o) = l.poll_output() {
        match o {
            TxOutput::Transmit { bytes, .. } => {
                let text = String::from_utf8_lossy(&bytes).to_string();
                let call = text.lines().find_map(|l| l.strip_prefix("Call-ID: ")).unwrap_or_default();
                sent.push(call.to_string());
            }
            TxOutput::Event(_) => events += 1,
        }
    }
    (sent, events)
}

/// `n` OPTIONS client transactions, the i-th started at `t0 + i ms`.
fn staggered(t0: Instant, n: usize) -> (TransactionLayer, Vec<TransactionKey>) {
    let mut l = TransactionLayer::new(Timers::default());
    let keys = (0..n).map(|i| l.send_request(t0 + ms(i as u64), options(i), peer())).collect();
    assert_eq!(drain(&mut l).0.len(), n);
    (l, keys)
}

#[test]
fn a_timeout_visits_only_the_due_transactions_in_deadline_order() {
    let t0 = Instant::now();
    let (mut l, _) = staggered(t0, 5000);
    assert_eq!(l.next_timeout(), Some(t0 + ms(500)), "Timer E of the first one");
    l.handle_timeout(t0 + ms(509));
    let (sent, events) = drain(&mut l);
    let expected: Vec<String> = (0..10).map(|i| format!("call-{i}")).collect();
    assert_eq!((sent, events), (expected, 0));
    assert_eq!(l.timer_visits, 10, "4990 transactions are not due and not visited");
    assert_eq!(l.next_timeout(), Some(t0 + ms(510)));
    l.handle_timeout(t0 + ms(509));
    assert_eq!((drain(&mut l).0.len(), l.timer_visits), (0, 10), "nothing is due twice");
}

#[test]
fn an_answered_transaction_leaves_the_index_and_the_next_deadline_moves() {
    let t0 = Instant::now();
    let (mut l, _) = staggered(t0, 3);
    let ok = Response::for_request(&options(0), 200, "OK");
    l.handle_message(t0 + ms(100), Message::Response(ok), peer());
    assert_eq!(drain(&mut l).1, 1, "the 200 goes up");
    // Timer K (T4 = 5 s) replaces E and F of the first; E of the second is next.
    assert_eq!(l.next_timeout(), Some(t0 + ms(501)));
    l.handle_timeout(t0 + ms(5100));
    let (sent, events) = drain(&mut l);
    assert!(!sent.contains(&"call-0".to_string()), "{sent:?}");
    assert_eq!(events, 1, "the first terminates when K fires");
    assert_eq!(l.len(), 2);
}

#[test]
fn every_transaction_times_out_once_in_start_order() {
    let t0 = Instant::now();
    let n = 2000;
    let (mut l, keys) = staggered(t0, n);
    let mut timeouts = Vec::new();
    let mut steps = 0;
    while let Some(at) = l.next_timeout() {
        assert!(steps < 100 * n, "the run ends");
        steps += 1;
        l.handle_timeout(at);
        while let Some(o) = l.poll_output() {
            if let TxOutput::Event(TxEvent::Timeout { key }) = o {
                timeouts.push((at, key));
            }
        }
    }
    assert!(l.is_empty());
    assert_eq!(timeouts.iter().map(|t| t.1.clone()).collect::<Vec<_>>(), keys);
    assert_eq!(timeouts[0].0, t0 + ms(32_000), "Timer F = 64*T1");
    assert!(timeouts.windows(2).all(|w| w[0].0 <= w[1].0));
    // E fires at 0.5, 1.5, 3.5, 7.5, then every 4 s until F at 32 s: 11 visits each.
    assert_eq!(l.timer_visits, 11 * n);
}

#[test]
fn server_transactions_are_indexed_too() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    for i in 0..100 {
        l.handle_message(t0 + ms(i), Message::Request(options(i as usize)), peer());
    }
    let keys: Vec<TransactionKey> = std::iter::from_fn(|| match l.poll_output()? {
        TxOutput::Event(TxEvent::Request { key, .. }) => Some(key),
        _ => None,
    })
    .collect();
    assert_eq!(keys.len(), 100);
    assert_eq!(l.next_timeout(), None, "a trying non-INVITE server has no timer");
    for (i, key) in keys.iter().enumerate() {
        l.send_response(t0 + ms(200 + i as u64), key, Response::for_request(&options(i), 200, "OK"));
    }
    assert_eq!(l.next_timeout(), Some(t0 + ms(200) + Timers::default().t1x64()), "Timer J");
    l.handle_timeout(t0 + ms(200 + 49) + Timers::default().t1x64());
    assert_eq!((l.len(), l.timer_visits), (50, 50));
}
