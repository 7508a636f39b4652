//! A forked INVITE: early dialogs per fork, racing answers, CANCEL of the losers.

mod scene;

use ds_sip::dialog::DialogState;
use ds_sip::testkit::{Caller, Script};
use scene::*;

#[test]
fn two_forks_183_make_two_early_dialogs() {
    let mut s = scene(1, vec![Script::early_media(ms(100)), Script::early_media(ms(150))]);
    s.invite();
    s.sim.run_until(s.t0 + ms(1000));
    let early = s.caller().early_dialogs();
    assert_eq!(early.len(), 2, "one early dialog per To tag");
    let mut tags: Vec<&str> = early.iter().map(|d| d.remote_tag()).collect();
    tags.sort();
    let mut expected = vec![s.callee(0).tag(), s.callee(1).tag()];
    expected.sort();
    assert_eq!(tags, expected);
    assert_ne!(early[0].remote_target(), early[1].remote_target(), "each fork's Contact");
    assert_eq!(early[0].route_set()[0].uri, format!("sip:{PROXY};lr"), "Record-Route of the proxy");
    assert!(s.caller().answered().is_none());
}

#[test]
fn racing_200s_are_both_acked_and_the_second_byed() {
    let a = Script::ring_then_answer(ms(100), ms(1000));
    let b = Script::ring_then_answer(ms(100), ms(1005));
    let mut s = scene(2, vec![a, b]);
    s.invite();
    s.sim.run(10_000);
    let caller = s.caller();
    let kept = caller.answered().expect("answered").clone();
    assert_eq!(kept.remote_tag, s.callee(0).tag(), "the first 2xx wins");
    assert_eq!(caller.dialogs().iter().filter(|d| d.state() == DialogState::Confirmed).count(), 2);
    assert_eq!(caller.byes().len(), 1);
    assert_eq!(caller.byes()[0].remote_tag, s.callee(1).tag());
    assert_eq!((s.callee(0).acks, s.callee(1).acks), (1, 1), "every 2xx is ACKed end to end");
    assert_eq!((s.callee(0).byes, s.callee(1).byes), (0, 1));
    let oks = s.sent(PROXY, CALLER, "SIP/2.0 200");
    assert!(oks.len() >= 2, "the proxy relays both 2xx");
    let acks = s.sent(CALLER, PROXY, "ACK");
    assert_eq!(acks.len(), 2);
    assert_ne!(branch(acks[0]), branch(acks[1]), "an ACK for a 2xx is its own transaction");
}

#[test]
fn first_answer_cancels_the_other_branch() {
    let mut s = scene(3, vec![Script::ring_then_answer(ms(50), ms(500)), Script::ring_forever(ms(50))]);
    s.invite();
    s.sim.run(10_000);
    let loser = callee_addr(1);
    assert_eq!(s.sim.get::<ds_sip::testkit::ForkingProxy>(s.proxy).cancels_sent, 1);
    assert_eq!(s.callee(1).cancels, 1);
    assert_eq!(s.callee(1).final_sent(), Some(487));
    let invite = &s.sent(PROXY, loser, "INVITE")[0];
    let ack = s.sent(PROXY, loser, "ACK");
    assert_eq!(ack.len(), 1, "the proxy's client transaction ACKs the 487");
    assert_eq!(branch(ack[0]), branch(invite), "hop-by-hop ACK reuses the INVITE branch");
    let caller = s.sim.get::<Caller>(s.caller);
    assert!(caller.failures().is_empty(), "the 487 of a losing branch never reaches the caller");
    assert_eq!(caller.answered().map(|d| d.remote_tag.as_str()), Some(s.callee(0).tag()));
}
