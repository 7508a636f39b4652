//! Over TCP nothing is retransmitted, even when the network is slower than T1.

mod scene;

use ds_sip::testkit::{Callee, Caller, ForkingProxy, Link, Script, Sim};
use ds_sip::transaction::Transport;
use scene::*;
use std::time::Instant;

#[test]
fn slow_tcp_call_has_no_retransmissions() {
    let t0 = Instant::now();
    let mut sim = Sim::new(t0, 1);
    sim.net.set_default_link(Link { latency: ms(800), ..Link::default() });
    let caller = sim.add(Caller::new(CALLER, PROXY, 1).over(Transport::Tcp));
    sim.add(ForkingProxy::new(PROXY, vec![callee_addr(0)], 2).over(Transport::Tcp));
    let script = Script::final_after(ms(100), 486);
    let callee = sim.add(Callee::new(callee_addr(0), script, 3).over(Transport::Tcp));
    sim.get_mut::<Caller>(caller).invite(t0, "sip:flat@house", None);
    sim.run(10_000);
    assert_eq!(sim.get::<Caller>(caller).failures(), [486]);
    assert_eq!(sim.net.sent_starting("INVITE").len(), 2, "one per hop, although 800 ms > T1");
    assert_eq!(sim.net.sent_starting("SIP/2.0 486").len(), 2, "no timer G on TCP");
    assert_eq!(sim.net.sent_starting("ACK").len(), 2, "one hop-by-hop ACK per hop");
    assert!(sim.net.log().iter().all(|s| s.datagram.to.transport == Transport::Tcp));
    assert!(sim.get::<Caller>(caller).ep.layer.is_empty(), "timer D is zero on TCP");
    assert!(sim.get::<Callee>(callee).ep.layer.is_empty(), "timer I is zero on TCP");
    let end = sim.now() - t0;
    assert!(end < ms(5_000), "no 32 s timer D or 5 s timer I kept anything alive: {end:?}");
}
