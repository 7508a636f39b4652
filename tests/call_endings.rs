//! How a bell call ends when nobody answers: SIPp rings (183) but never answers, and after
//! `ring_timeout_s` the station CANCELs (and ACKs the 487).

mod common;

use common::capture::start_capture;
use common::harness::Harness;
use common::peers::{Uas, sipp_uas};
use common::secs;
use common::station::{StationSpec, start_station};

const UAS_A: u16 = 15062;

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
