//! Parallel forking on the simulated network (RFC 3261 §16.7, §16.10).

mod common;

use common::*;
use ds_sip::Message;
use ds_sip::testkit::Script;
use std::time::Duration;

const FORK_TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn fork_to_three_one_answers_the_others_get_cancel() {
    let ring = Script::ring_forever(ms(100));
    let mut s = scene(1, FORK_TIMEOUT, vec![ring.clone(), Script::ring_then_answer(ms(100), ms(2000)), ring]);
    s.invite("sip:everyone@home");
    s.sim.run(10_000);
    assert!(s.caller().answered().is_some(), "the caller got the 200");
    assert!(s.caller().failures().is_empty());
    for i in [0, 2] {
        assert_eq!(s.callee(i).cancels, 1, "callee {i} is cancelled");
        assert_eq!(s.callee(i).final_sent(), Some(487));
    }
    assert_eq!(s.callee(1).cancels, 0);
    assert_eq!(s.callee(1).acks, 1, "the caller's ACK reaches the answerer through the proxy");
    let invites = s.sent(PROXY, callee_addr(1), "INVITE");
    let Message::Request(inv) = message(invites[0]) else { panic!() };
    assert_eq!(inv.uri, format!("sip:callee@{}", callee_addr(1)));
    assert_eq!(inv.headers.get("Record-Route"), Some("<sip:127.0.0.1:5060;transport=udp;lr>"));
    assert_eq!(inv.headers.max_forwards(), Some(69));
    let oks = s.sent(PROXY, CALLER, "SIP/2.0 200");
    let Message::Response(ok) = message(oks[0]) else { panic!() };
    assert_eq!(ok.headers.vias().len(), 1, "our Via is removed before the 200 goes up");
    assert_eq!(s.sent(PROXY, CALLER, "SIP/2.0 180").len(), 3, "every ringing branch is relayed");
    assert_eq!(s.proxy().active_forks(), 0, "the fork is gone once its transactions end");
}

#[test]
fn busy_everywhere_gives_one_486() {
    let busy = |d| Script::final_after(ms(d), 486);
    let mut s = scene(2, FORK_TIMEOUT, vec![busy(100), busy(300), busy(200)]);
    s.invite("sip:everyone@home");
    s.sim.run(10_000);
    assert_eq!(s.caller().failures(), [486]);
    assert_eq!(s.sent(PROXY, CALLER, "SIP/2.0 486").len(), 1, "one final, sent when the last branch failed");
    let at = s.sent(PROXY, CALLER, "SIP/2.0 486")[0].at;
    assert!(at >= s.t0 + ms(300) && at < s.t0 + ms(400), "sent after the last 486, not before");
    for i in 0..3 {
        assert_eq!(s.sent(PROXY, callee_addr(i), "ACK").len(), 1, "hop-by-hop ACK to callee {i}");
    }
}

#[test]
fn best_response_prefers_busy_over_unavailable_and_hides_503() {
    let mut s = scene(
        3,
        FORK_TIMEOUT,
        vec![Script::final_after(ms(50), 480), Script::final_after(ms(80), 486), Script::final_after(ms(60), 503)],
    );
    s.invite("sip:everyone@home");
    s.sim.run(10_000);
    assert_eq!(s.caller().failures(), [486]);
    let mut only_503 = scene(4, FORK_TIMEOUT, vec![Script::final_after(ms(50), 503)]);
    only_503.invite("sip:a0@home");
    only_503.sim.run(10_000);
    assert_eq!(only_503.caller().failures(), [500], "503 from downstream goes up as 500 (§16.7)");
}

#[test]
fn a_decline_cancels_the_other_branches() {
    let mut s = scene(5, FORK_TIMEOUT, vec![Script::ring_forever(ms(50)), Script::final_after(ms(500), 603)]);
    s.invite("sip:everyone@home");
    s.sim.run(10_000);
    assert_eq!(s.caller().failures(), [603]);
    assert_eq!(s.callee(0).cancels, 1);
}

#[test]
fn fork_timeout_cancels_and_answers_408() {
    let ring = Script::ring_forever(ms(100));
    let mut s = scene(6, Duration::from_secs(5), vec![ring.clone(), ring.clone(), ring]);
    s.invite("sip:everyone@home");
    s.sim.run(10_000);
    assert_eq!(s.caller().failures(), [408]);
    for i in 0..3 {
        let cancels = s.sent(PROXY, callee_addr(i), "CANCEL");
        assert_eq!(cancels.len(), 1, "callee {i}");
        assert!(cancels[0].at >= s.t0 + Duration::from_secs(5) && cancels[0].at < s.t0 + Duration::from_millis(5100));
    }
}

#[test]
fn caller_cancel_reaches_every_branch_and_ends_487() {
    let ring = Script::ring_forever(ms(100));
    let mut s = scene(7, FORK_TIMEOUT, vec![ring.clone(), ring]);
    s.invite("sip:everyone@home");
    s.sim.run_until(s.t0 + Duration::from_secs(1));
    let now = s.sim.now();
    s.sim.get_mut::<ds_sip::testkit::Caller>(s.caller).cancel(now);
    s.sim.run(10_000);
    assert_eq!(s.caller().failures(), [487]);
    assert_eq!((s.callee(0).cancels, s.callee(1).cancels), (1, 1));
    assert_eq!(s.sent(PROXY, CALLER, "SIP/2.0 200").len(), 1, "200 for the CANCEL");
}

#[test]
fn a_failure_before_the_answer_is_not_forwarded() {
    let mut s =
        scene(8, FORK_TIMEOUT, vec![Script::final_after(ms(100), 486), Script::ring_then_answer(ms(50), ms(900))]);
    s.invite("sip:everyone@home");
    s.sim.run(10_000);
    assert!(s.caller().answered().is_some());
    assert!(s.caller().failures().is_empty());
    assert!(s.sent(PROXY, CALLER, "SIP/2.0 486").is_empty());
}

#[test]
fn bye_follows_the_record_route_to_the_answerer() {
    let mut s = scene(9, FORK_TIMEOUT, vec![Script::ring_then_answer(ms(50), ms(200))]);
    s.invite("sip:a0@home");
    s.sim.run_until(s.t0 + Duration::from_secs(2));
    let now = s.sim.now();
    s.sim.get_mut::<ds_sip::testkit::Caller>(s.caller).hangup(now);
    s.sim.run(10_000);
    assert_eq!(s.callee(0).byes, 1);
    assert_eq!(s.sent(PROXY, CALLER, "SIP/2.0 200").len(), 2, "200 for INVITE and for BYE");
}

#[test]
fn forking_survives_loss() {
    let ring = Script::ring_forever(ms(100));
    let mut s = scene(10, FORK_TIMEOUT, vec![ring.clone(), Script::ring_then_answer(ms(100), ms(1500)), ring]);
    s.sim.net.set_default_link(ds_sip::testkit::Link { loss_per_mille: 150, ..Default::default() });
    s.invite("sip:everyone@home");
    s.sim.run(100_000);
    assert!(s.caller().answered().is_some());
    assert_eq!((s.callee(0).final_sent(), s.callee(2).final_sent()), (Some(487), Some(487)));
}
