//! How bell calls end with SIPp callees: nobody answers within `ring_timeout_s` → CANCEL;
//! two forks answer at the same moment behind kamailio → both 200s are ACKed, the second is
//! BYEd, and only one call is answered.

mod common;

use common::capture::start_capture;
use common::harness::Harness;
use common::peers::{Uas, kamailio, register_contact, sipp_uas};
use common::secs;
use common::station::{StationSpec, start_station};

const UAS_A: u16 = 15062;
const UAS_B: u16 = 15063;

#[test]
fn ring_timeout_cancels_the_call() {
    const STATION_PORT: u16 = 15084;
    let mut h = Harness::new("ring_timeout");
    let cap = start_capture(
        &mut h,
        "udp and portrange 15060-15089",
        30,
        &[STATION_PORT, UAS_A],
    );
    let uas = Uas {
        port: UAS_A,
        media_port: 16000,
        user: "everyone",
        dtmf: "",
        answer_after_ms: None,
    };
    let uas = sipp_uas(&mut h, "uas", &uas, secs(25));
    let mut spec = StationSpec::new(STATION_PORT, 20400);
    spec.outbound_proxy = format!("127.0.0.1:{UAS_A}");
    spec.ring_timeout_s = 3;
    let mut st = start_station(&mut h, &spec);

    st.command_ok("press 1");
    st.events.wait("early_media", secs(5), "SIPp's 183");
    let ended = st.events.wait("ended", secs(10), "the ring timeout (3 s)");
    assert_eq!(
        ended["reason"], "ring_timeout",
        "a call nobody answers: {ended}"
    );
    let status = h.wait(uas, secs(10));
    cap.finish(&mut h);
    assert!(
        status.is_some_and(|s| s.success()),
        "SIPp (CANCEL → 200 + 487 → ACK) did not complete: {status:?}"
    );

    let sip = cap.sip();
    let invite = sip
        .iter()
        .find(|p| p.method == "INVITE" && p.dst == UAS_A)
        .expect("no INVITE to SIPp");
    let cancel = sip
        .iter()
        .find(|p| p.method == "CANCEL" && p.dst == UAS_A)
        .expect("the station sent no CANCEL");
    let rang = cancel.time - invite.time;
    assert!(
        (2.5..6.0).contains(&rang),
        "CANCEL {rang:.1} s after the INVITE, ring_timeout_s = 3"
    );
    assert!(
        sip.iter()
            .any(|p| p.src == STATION_PORT && p.method == "ACK"),
        "the station did not ACK the 487"
    );
}

#[test]
fn a_second_racing_200_is_acked_and_byed() {
    const STATION_PORT: u16 = 15085;
    let mut h = Harness::new("racing_200");
    let cap = start_capture(
        &mut h,
        "udp and (port 5070 or portrange 15060-15089)",
        40,
        &[5070, STATION_PORT, UAS_A, UAS_B],
    );
    kamailio(&mut h, "alice,bob", false, secs(40));
    for (user, port, media_port) in [("alice", UAS_A, 16000), ("bob", UAS_B, 16200)] {
        let uas = Uas {
            port,
            media_port,
            user,
            dtmf: "",
            answer_after_ms: Some(2000),
        };
        sipp_uas(&mut h, user, &uas, secs(30));
        register_contact(user, port);
    }
    let mut spec = StationSpec::new(STATION_PORT, 20500);
    spec.registrar = "127.0.0.1:5070".into();
    spec.outbound_proxy = "127.0.0.1:5070".into();
    let mut st = start_station(&mut h, &spec);
    st.wait_registered(secs(10), "the station registering with kamailio");

    st.command_ok("press 1");
    st.events.wait("answered", secs(10), "the first 200");
    std::thread::sleep(secs(3));
    let answered = st.events.of_kind("answered");
    assert_eq!(
        answered.len(),
        1,
        "two forks answered at once, one call is answered: {answered:?}"
    );
    st.command_ok("hangup");
    st.events.wait("ended", secs(10), "hanging up");
    cap.finish(&mut h);

    // kamailio also CANCELs the branch whose 200 lost the race; SIPp then drops that call and
    // leaves the station's BYE unanswered (retransmitted), so BYEs are counted per CSeq.
    let sip = cap.sip();
    let oks: Vec<f64> = sip
        .iter()
        .filter(|p| p.dst == STATION_PORT && p.is_response(200, "INVITE"))
        .map(|p| p.time)
        .collect();
    assert!(
        oks.len() >= 2,
        "both forks' 200s must reach the station, got {} (see capture.txt)",
        oks.len()
    );
    let mut byes = Vec::new();
    for port in [UAS_A, UAS_B] {
        let acked = sip.iter().any(|p| p.dst == port && p.method == "ACK");
        assert!(acked, "the 200 from {port} was not ACKed");
        let mut cseqs: Vec<(u32, f64)> = sip
            .iter()
            .filter(|p| p.dst == port && p.method == "BYE")
            .map(|p| (p.cseq, p.time))
            .collect();
        cseqs.dedup_by_key(|(cseq, _)| *cseq);
        assert_eq!(
            cseqs.len(),
            1,
            "{port}: one BYE transaction (the extra 200's or the hangup's): {cseqs:?}"
        );
        byes.push(cseqs[0].1);
    }
    let first_bye = byes.iter().copied().fold(f64::MAX, f64::min);
    let after = first_bye - oks[1];
    assert!(
        after < 2.0,
        "the extra 200 was BYEd {after:.1} s after it arrived: only by the hangup?"
    );
}
