//! Loss on the wire: the client retransmits on timer A, servers absorb the
//! copies and answer them with their last response.

mod scene;

use ds_sip::testkit::{Caller, Link, Script};
use scene::*;

#[test]
fn invite_retransmits_with_timer_a_doubling_until_a_response() {
    let mut s = scene(1, vec![Script::ring_then_answer(ms(100), ms(1000))]);
    s.sim.net.set_link(CALLER, PROXY, Link { drop_first: 3, ..Link::default() });
    s.invite();
    s.sim.run(10_000);
    let invites = s.sent(CALLER, PROXY, "INVITE");
    let at: Vec<u128> = invites.iter().map(|i| (i.at - s.t0).as_millis()).collect();
    assert_eq!(at, [0, 500, 1500, 3500], "T1, then doubling (RFC 3261 §17.1.1.2)");
    assert!(invites[..3].iter().all(|i| i.lost) && !invites[3].lost);
    assert!(invites.windows(2).all(|w| branch(w[0]) == branch(w[1])), "one transaction");
    assert!(s.caller().answered().is_some(), "eventually a response");
    assert_eq!(s.callee(0).acks, 1);
}

#[test]
fn calls_complete_under_random_loss() {
    let mut lost_total = 0;
    for seed in 1..=30 {
        let mut s = scene(seed, vec![Script::ring_then_answer(ms(100), ms(800))]);
        s.sim.net.set_default_link(Link { loss_per_mille: 250, ..Link::default() });
        s.invite();
        s.sim.run(100_000);
        let lost = s.sim.net.log().iter().filter(|d| d.lost).count();
        lost_total += lost;
        assert!(s.caller().answered().is_some(), "seed {seed}: answered despite {lost} losses");
        let oks = s.sent(callee_addr(0), PROXY, "SIP/2.0 200");
        let span = oks.last().unwrap().at - oks[0].at;
        assert!(
            s.callee(0).acks == 1 || span >= ms(31_500),
            "seed {seed}: ACKed, or the 2xx was retransmitted for 64*T1 ({span:?})"
        );
        assert_eq!(s.callee(0).invites, 1, "seed {seed}: retransmissions never reach the TU");
    }
    assert!(lost_total > 30, "the network did lose datagrams: {lost_total}");
}

#[test]
fn same_seed_same_run() {
    let run = |seed| {
        let mut s = scene(seed, vec![Script::ring_then_answer(ms(100), ms(800))]);
        s.sim.net.set_default_link(Link { loss_per_mille: 300, ..Link::default() });
        s.invite();
        s.sim.run(100_000);
        s.sim.net.log().iter().map(|d| (d.at - s.t0, d.lost, d.start_line())).collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn servers_absorb_retransmissions_and_resend_their_last_response() {
    let mut s = scene(1, vec![Script::ring_then_answer(ms(700), ms(3000))]);
    s.sim.net.set_link(PROXY, CALLER, Link { drop_first: 1, ..Link::default() }); // the 100 Trying
    s.sim.net.set_link(callee_addr(0), PROXY, Link { drop_first: 1, ..Link::default() }); // the 180
    s.invite();
    s.sim.run(10_000);
    assert_eq!(s.sent(CALLER, PROXY, "INVITE").len(), 2, "the lost 100 made the caller retransmit once");
    assert_eq!(s.sent(PROXY, CALLER, "SIP/2.0 100").len(), 2, "the proxy re-sent its last response");
    let to_callee = s.sent(PROXY, callee_addr(0), "INVITE");
    assert_eq!(to_callee.len(), 3, "0, 500 ms, then 1500 ms after the 180 was lost at 700 ms");
    assert!(to_callee.windows(2).all(|w| branch(w[0]) == branch(w[1])), "the proxy forked only once");
    assert_eq!(s.sent(callee_addr(0), PROXY, "SIP/2.0 180").len(), 2, "re-sent for the retransmission");
    assert_eq!(s.callee(0).invites, 1, "the callee's TU saw one INVITE");
    assert!(s.sim.get::<Caller>(s.caller).answered().is_some());
}

#[test]
fn lost_ack_makes_the_callee_retransmit_its_2xx() {
    let mut s = scene(1, vec![Script::ring_then_answer(ms(100), ms(500))]);
    s.sim.net.set_link(PROXY, callee_addr(0), Link { drop_first_of: Some(("ACK", 2)), ..Link::default() });
    s.invite();
    s.sim.run(10_000);
    let oks = s.sent(callee_addr(0), PROXY, "SIP/2.0 200");
    assert_eq!(oks.len(), 3, "2xx retransmitted by the UAS core until the third ACK arrives");
    let at: Vec<u128> = oks.iter().map(|o| (o.at - s.t0).as_millis()).collect();
    assert_eq!(at[1] - at[0], 500, "first 2xx retransmission after T1");
    assert_eq!(s.sent(CALLER, PROXY, "ACK").len(), 3, "the caller re-ACKs each 2xx copy");
    assert_eq!(s.callee(0).acks, 1);
}
