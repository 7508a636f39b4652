//! CANCEL of a ringing call: 200 for the CANCEL, 487 for the INVITE, ACK hop by hop.

mod scene;

use ds_sip::Method;
use ds_sip::testkit::{Caller, Script};
use ds_sip::transaction::TxEvent;
use scene::*;

fn statuses_for(caller: &Caller, method: Method) -> Vec<u16> {
    caller
        .ep
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            TxEvent::Response { key, response } if key.method() == method => Some(response.status),
            _ => None,
        })
        .collect()
}

#[test]
fn cancel_gets_200_then_487_then_ack() {
    let mut s = scene(1, vec![Script::ring_forever(ms(100))]);
    s.invite();
    s.sim.run_until(s.t0 + ms(2000));
    let now = s.sim.now();
    s.sim.get_mut::<Caller>(s.caller).cancel(now);
    s.sim.run(10_000);
    let caller = s.caller();
    assert_eq!(statuses_for(caller, Method::Cancel), [200]);
    assert_eq!(statuses_for(caller, Method::Invite), [100, 180, 487]);
    assert_eq!(caller.failures(), [487]);
    assert!(caller.dialogs().is_empty(), "the early dialog died with the 487");
    assert_eq!(s.callee(0).cancels, 1);
    assert_eq!(s.callee(0).final_sent(), Some(487));
    let invite = &s.sent(CALLER, PROXY, "INVITE")[0];
    let cancel = &s.sent(CALLER, PROXY, "CANCEL")[0];
    let ack = s.sent(CALLER, PROXY, "ACK");
    assert_eq!(ack.len(), 1);
    assert_eq!(branch(cancel), branch(invite), "CANCEL carries the INVITE's branch (§9.1)");
    assert_eq!(branch(ack[0]), branch(invite), "ACK for the 487 is part of the INVITE transaction");
    assert_eq!(s.callee(0).acks, 0, "the callee's TU never sees an ACK for a non-2xx");
    assert!(caller.ep.layer.is_empty(), "timer D and K ended every caller transaction");
    assert_eq!(s.sim.next_event(), None, "nothing left to happen");
}

#[test]
fn cancel_after_the_answer_changes_nothing() {
    let mut s = scene(1, vec![Script::ring_then_answer(ms(50), ms(100))]);
    s.invite();
    s.sim.run_until(s.t0 + ms(1000));
    let now = s.sim.now();
    s.sim.get_mut::<Caller>(s.caller).cancel(now);
    s.sim.run(10_000);
    assert!(s.caller().answered().is_some());
    assert_eq!(s.callee(0).final_sent(), Some(200));
    assert_eq!(statuses_for(s.caller(), Method::Cancel), [200], "the proxy still answers the CANCEL");
    assert_eq!(s.callee(0).cancels, 0, "nothing pending to cancel downstream");
}

#[test]
fn cancel_of_an_unknown_invite_gets_481() {
    let mut s = scene(1, vec![]);
    let now = s.sim.now();
    let invite = ds_sip::Request::new(Method::Invite, "sip:flat@house")
        .with_header("Via", format!("SIP/2.0/UDP {CALLER};branch=z9hG4bKnever"))
        .with_header("Max-Forwards", "70")
        .with_header("From", "<sip:door@house>;tag=x")
        .with_header("To", "<sip:flat@house>")
        .with_header("Call-ID", "nope")
        .with_header("CSeq", "1 INVITE");
    let cancel = ds_sip::transaction::cancel_for(&invite);
    let caller = s.sim.get_mut::<Caller>(s.caller);
    caller.ep.layer.send_request(now, cancel, ds_sip::transaction::Peer::udp(PROXY));
    s.sim.run(1000);
    assert_eq!(statuses_for(s.caller(), Method::Cancel), [481]);
}
