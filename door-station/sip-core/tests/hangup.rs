//! A BYE in the confirmed dialog follows the route set through the proxy.

mod scene;

use ds_sip::Method;
use ds_sip::testkit::{Caller, Script};
use ds_sip::transaction::TxEvent;
use scene::*;

#[test]
fn bye_goes_through_the_record_routed_proxy_with_the_next_cseq() {
    let mut s = scene(1, vec![Script::ring_then_answer(ms(100), ms(300))]);
    s.invite();
    s.sim.run_until(s.t0 + ms(2000));
    let now = s.sim.now();
    s.sim.get_mut::<Caller>(s.caller).hangup(now);
    s.sim.run(10_000);
    assert_eq!(s.callee(0).byes, 1);
    let bye = message(s.sent(CALLER, PROXY, "BYE")[0]);
    assert_eq!(bye.headers().cseq(), Some((2, Method::Bye)), "INVITE was 1");
    assert_eq!(bye.headers().route()[0].uri, format!("sip:{PROXY};lr"), "loose route via the proxy");
    let forwarded = message(s.sent(PROXY, callee_addr(0), "BYE")[0]);
    assert!(forwarded.headers().route().is_empty(), "the proxy removed its own Route");
    let ds_sip::Message::Request(fwd) = forwarded else { panic!("a request") };
    assert_eq!(fwd.uri, format!("sip:callee@{}", callee_addr(0)), "the callee's Contact");
    let ok = s.caller().ep.events.iter().any(|(_, e)| {
        matches!(e, TxEvent::Response { key, response } if key.method() == Method::Bye && response.status == 200)
    });
    assert!(ok, "the 200 for the BYE came back through the proxy");
}
