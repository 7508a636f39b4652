//! The early-media relay as the core plans it, on the simulated network:
//! SDP rewritten per branch and towards the caller, every 183 leg fed from
//! the caller's one stream, only the answerer after the 200, all freed on BYE.

mod common;

use common::*;
use ds_sip::Message;
use ds_sip::sdp::SessionDescription;
use ds_sip::testkit::{Caller, Script};
use intercom_proxy::registrar::Registrar;
use intercom_proxy::relay::{MediaSession, RelaySettings};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const OFFER: &str = "v=0\r\no=door 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
    m=audio 20000 RTP/AVP 0\r\nm=video 20002 RTP/AVP 102\r\na=sendonly\r\n";

fn relayed_scene(seed: u64, scripts: Vec<Script>, max_early_legs: usize) -> Scene {
    let mut s = settings(Duration::from_secs(30));
    s.relay =
        Some(RelaySettings { ip: "127.0.0.1".parse().unwrap(), port_min: 40000, port_max: 40099, max_early_legs });
    scene_with(seed, proxy_from(Instant::now(), s, Registrar::new(LIMITS)), scripts)
}

fn sdp_ports(m: &Message) -> Vec<u16> {
    let body = std::str::from_utf8(m.body()).unwrap();
    SessionDescription::parse(body).unwrap().media.iter().map(|m| m.port).collect()
}

/// The last snapshot of the one relayed call, if it still exists.
fn last_session(s: &mut Scene) -> Option<Option<MediaSession>> {
    s.proxy_mut().take_relay_changes().pop().map(|(_, session)| session)
}

fn early(after: u64) -> Script {
    Script::early_media(ms(after))
}

#[test]
fn one_caller_stream_feeds_every_early_leg_then_only_the_answerer() {
    let answerer = Script { answer: Some((ms(1500), 200)), ..early(100) };
    let mut s = relayed_scene(21, vec![early(100), answerer, early(150)], 4);
    s.invite_with("sip:everyone@home", OFFER);
    s.sim.run_until(s.t0 + ms(500));

    let mut seen = Vec::new();
    for i in 0..3 {
        let invite = message(s.sent(PROXY, callee_addr(i), "INVITE")[0]);
        let ports = sdp_ports(&invite);
        assert!(ports.iter().all(|p| (40000..40100).contains(p)), "branch {i} gets relay ports: {ports:?}");
        seen.push(ports);
    }
    seen.dedup();
    assert_eq!(seen.len(), 3, "each branch has its own ports");
    for ok in s.sent(PROXY, CALLER, "SIP/2.0 183") {
        // The scripted callees answer with audio only.
        assert_eq!(sdp_ports(&message(ok)), vec![40000], "every 183 points the caller at one relay address");
    }

    let mut session = last_session(&mut s).flatten().expect("a relayed call");
    assert_eq!(session.legs.iter().filter(|l| l.early).count(), 3);
    let door_audio: SocketAddr = "127.0.0.1:20000".parse().unwrap();
    let copies = session.route(40000, door_audio);
    assert_eq!(copies.len(), 3, "one packet from the door goes to three devices");
    let mut sources: Vec<u16> = copies.iter().map(|(from, _)| *from).collect();
    sources.dedup();
    assert_eq!(sources.len(), 3, "each copy leaves from that leg's own port");

    s.sim.run_until(s.t0 + Duration::from_secs(3));
    assert!(s.caller().answered().is_some());
    let mut session = last_session(&mut s).flatten().expect("still relayed");
    assert_eq!(session.legs.len(), 1);
    let only = session.route(40000, door_audio);
    assert_eq!(only.len(), 1, "only the answerer after the 200");
    assert_eq!(only[0].1, "127.0.0.1:16000".parse::<SocketAddr>().unwrap());

    let now = s.sim.now();
    s.sim.get_mut::<Caller>(s.caller).hangup(now);
    s.sim.run(10_000);
    assert_eq!(last_session(&mut s), Some(None), "BYE ends the relay");
}

#[test]
fn a_failed_call_frees_the_relay_and_extra_early_legs_go_direct() {
    let mut s =
        relayed_scene(22, vec![early(100), early(120), Script { answer: Some((ms(400), 486)), ..early(50) }], 1);
    s.invite_with("sip:everyone@home", OFFER);
    s.sim.run_until(s.t0 + ms(300));
    let direct = s.sent(PROXY, CALLER, "SIP/2.0 183").iter().filter(|m| sdp_ports(&message(m)) == vec![16000]).count();
    assert_eq!(direct, 2, "beyond one relayed early leg, 183s pass untouched");
    let now = s.sim.now();
    s.sim.get_mut::<Caller>(s.caller).cancel(now);
    s.sim.run(10_000);
    assert_eq!(s.caller().failures(), [487]);
    assert_eq!(last_session(&mut s), Some(None));
}

#[test]
fn an_idle_call_is_torn_down_when_the_relay_says_so() {
    let answerer = Script { answer: Some((ms(300), 200)), ..early(100) };
    let mut s = relayed_scene(23, vec![answerer], 4);
    s.invite_with("sip:a0@home", OFFER);
    s.sim.run_until(s.t0 + Duration::from_secs(2));
    assert!(matches!(last_session(&mut s), Some(Some(_))), "relayed and answered");
    s.proxy_mut().relay_idle("no-such-call");
    assert_eq!(last_session(&mut s), None, "an unknown call changes nothing");
    let call_id = s.caller().dialogs()[0].call_id().to_string();
    s.proxy_mut().relay_idle(&call_id);
    assert_eq!(last_session(&mut s), Some(None), "ports freed without a BYE");
}
