use super::*;
use ds_sip::sdp::SessionDescription;
use std::net::SocketAddr;

const OFFER: &str = "v=0\r\no=door 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
    m=audio 20000 RTP/AVP 0\r\nm=video 20002 RTP/AVP 102\r\na=sendonly\r\n";

fn answer_from(ip: &str) -> String {
    format!(
        "v=0\r\no=- 2 2 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\nm=video 7002 RTP/AVP 102\r\na=recvonly\r\n"
    )
}

fn plan(max_early_legs: usize) -> RelayPlan {
    RelayPlan::new(RelaySettings {
        ip: "192.168.1.2".parse().unwrap(),
        port_min: 40000,
        port_max: 40099,
        max_early_legs,
    })
}

fn ports_of(body: &str) -> Vec<u16> {
    SessionDescription::parse(body).unwrap().media.iter().map(|m| m.port).collect()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn one_stream_from_the_caller_reaches_every_early_leg_then_only_the_answerer() {
    let mut p = plan(4);
    assert!(p.start("c1", OFFER.as_bytes()));
    let a = p.branch_offer("c1", "a").unwrap();
    let b = p.branch_offer("c1", "b").unwrap();
    assert_ne!(ports_of(&a), ports_of(&b), "each branch gets its own ports");
    let to_caller = p.answer("c1", "a", answer_from("10.0.0.1").as_bytes(), false).unwrap();
    p.answer("c1", "b", answer_from("10.0.0.2").as_bytes(), false).unwrap();
    let caller_ports = ports_of(&to_caller);
    assert_eq!(caller_ports, vec![40000, 40002]);

    let (_, Some(mut s)) = p.take_changes().pop().unwrap() else { panic!() };
    let video = s.route(40002, addr("10.0.0.9:20002"));
    assert_eq!(video.iter().map(|(_, to)| *to).collect::<Vec<_>>(), vec![addr("10.0.0.1:7002"), addr("10.0.0.2:7002")]);

    p.answer("c1", "b", answer_from("10.0.0.2").as_bytes(), true).unwrap();
    assert!(p.is_answered("c1"));
    let (_, Some(mut s)) = p.take_changes().pop().unwrap() else { panic!() };
    assert_eq!(s.legs.len(), 1);
    assert_eq!(s.route(40002, addr("10.0.0.9:20002")).len(), 1);
    let before = p.free_pairs();
    p.end("c1");
    assert_eq!(p.free_pairs(), before + 4, "caller and answerer ports are freed");
    assert_eq!(p.take_changes(), vec![("c1".to_string(), None)]);
}

#[test]
fn early_legs_beyond_the_limit_and_malformed_sdp_are_not_relayed() {
    let mut p = plan(1);
    p.start("c1", OFFER.as_bytes());
    p.branch_offer("c1", "a");
    p.branch_offer("c1", "b");
    p.branch_offer("c1", "c");
    assert!(p.answer("c1", "a", b"garbage", false).is_none(), "a broken 183 is passed on as is");
    assert!(p.answer("c1", "b", answer_from("10.0.0.2").as_bytes(), false).is_some());
    assert!(p.answer("c1", "c", answer_from("10.0.0.3").as_bytes(), false).is_none(), "limit of early legs");
    assert!(p.answer("c1", "c", answer_from("10.0.0.3").as_bytes(), true).is_some(), "an answer is always relayed");
}

#[test]
fn no_ports_or_no_sdp_means_no_relay() {
    let mut p = RelayPlan::new(RelaySettings {
        ip: "127.0.0.1".parse().unwrap(),
        port_min: 40000,
        port_max: 40002,
        max_early_legs: 4,
    });
    assert!(!p.start("c1", b"not sdp"));
    assert!(!p.start("c2", OFFER.as_bytes()), "two lines need two pairs");
}
