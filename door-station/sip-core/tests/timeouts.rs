//! Nobody answers: timers B and F end the client transactions with Timeout.

mod scene;

use ds_sip::testkit::{Caller, Link, Script, Sim};
use ds_sip::transaction::TxEvent;
use scene::*;
use std::time::Instant;

fn timeouts(caller: &Caller) -> Vec<(Instant, TxEvent)> {
    caller.ep.events.iter().filter(|(_, e)| matches!(e, TxEvent::Timeout { .. })).cloned().collect()
}

#[test]
fn timer_b_when_nothing_answers() {
    let t0 = Instant::now();
    let mut sim = Sim::new(t0, 1);
    let caller = sim.add(Caller::new(CALLER, PROXY, 1)); // nobody listens at PROXY
    let key = sim.get_mut::<Caller>(caller).invite(t0, "sip:flat@house", None);
    sim.run(10_000);
    let c = sim.get::<Caller>(caller);
    assert_eq!(timeouts(c), [(t0 + ms(32_000), TxEvent::Timeout { key: key.clone() })], "64*T1");
    assert_eq!(sim.net.sent_starting("INVITE").len(), 7, "0, .5, 1.5, 3.5, 7.5, 15.5, 31.5 s");
    assert!(c.ep.events.iter().any(|(_, e)| *e == TxEvent::Terminated { key: key.clone() }));
    assert!(c.ep.layer.is_empty());
}

#[test]
fn timer_f_when_a_non_invite_is_lost() {
    let mut s = scene(1, vec![]);
    s.sim.net.set_link(CALLER, PROXY, Link { loss_per_mille: 1000, ..Link::default() });
    let now = s.sim.now();
    let key = s.sim.get_mut::<Caller>(s.caller).options(now, "sip:flat@house");
    s.sim.run(10_000);
    assert_eq!(timeouts(s.caller()), [(s.t0 + ms(32_000), TxEvent::Timeout { key })]);
    let at: Vec<u128> = s.sent(CALLER, PROXY, "OPTIONS").iter().map(|o| (o.at - s.t0).as_millis()).collect();
    assert_eq!(at, [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500], "E doubles to T2");
}

#[test]
fn ringing_forever_is_not_a_timeout() {
    let mut s = scene(1, vec![Script::ring_forever(ms(100))]);
    s.invite();
    s.sim.run_until(s.t0 + ms(120_000));
    assert!(timeouts(s.caller()).is_empty(), "timer B stops in Proceeding (§17.1.1.2)");
    assert_eq!(s.sent(CALLER, PROXY, "INVITE").len(), 1, "timer A stops on the 100 Trying");
}

#[test]
fn ack_for_non_2xx_stays_hop_by_hop() {
    let mut s = scene(1, vec![Script::final_after(ms(200), 486)]);
    s.invite();
    s.sim.run(10_000);
    let callee = callee_addr(0);
    assert_eq!(s.caller().failures(), [486]);
    let caller_ack = s.sent(CALLER, PROXY, "ACK");
    let proxy_ack = s.sent(PROXY, callee, "ACK");
    assert_eq!((caller_ack.len(), proxy_ack.len()), (1, 1));
    assert_eq!(branch(caller_ack[0]), branch(s.sent(CALLER, PROXY, "INVITE")[0]));
    assert_eq!(branch(proxy_ack[0]), branch(s.sent(PROXY, callee, "INVITE")[0]), "the proxy's own ACK");
    assert_eq!(message(proxy_ack[0]).headers().vias().len(), 1, "not the caller's ACK forwarded");
    assert!(s.sent(CALLER, callee, "ACK").is_empty());
    let to_tag = message(caller_ack[0]).headers().to().and_then(|t| t.tag().map(str::to_string));
    assert_eq!(to_tag.as_deref(), Some(s.callee(0).tag()), "To tag from the 486");
    assert_eq!(s.callee(0).acks, 0, "absorbed by the callee's server transaction");
}
