//! baresip calls the station directly ("look at the door"): a caller on `calls.allow_callers`
//! is auto-answered and receives H264 video; another caller gets 403.

mod common;

use common::capture::start_capture;
use common::harness::Harness;
use common::peers::{Baresip, baresip};
use common::station::{StationSpec, start_station};
use common::{ms, secs};

const STATION_PORT: u16 = 15082;
const RTP_MIN: u16 = 20200;
const ALICE_PORT: u16 = 15068;
const MALLORY_PORT: u16 = 15078;
const ALICE_RTP: (u16, u16) = (17100, 17199);
const MALLORY_RTP: (u16, u16) = (17200, 17299);

#[test]
fn allowed_caller_sees_video_and_other_caller_gets_403() {
    let mut h = Harness::new("inbound");
    let cap = start_capture(
        &mut h,
        "udp and (portrange 15060-15089 or portrange 17100-17299 or portrange 20200-20299)",
        50,
        &[STATION_PORT, ALICE_PORT, MALLORY_PORT],
    );
    let mut spec = StationSpec::new(STATION_PORT, RTP_MIN);
    spec.allow_callers = vec!["sip:alice@sip.test".into()];
    let mut st = start_station(&mut h, &spec);
    let door = format!("sip:door@127.0.0.1:{STATION_PORT}");
    let alice_rtp = format!("{}-{}", ALICE_RTP.0, ALICE_RTP.1);
    let mallory_rtp = format!("{}-{}", MALLORY_RTP.0, MALLORY_RTP.1);
    let peer = |user, port, ctrl_port, rtp_ports| Baresip {
        user,
        port,
        ctrl_port,
        domain: "sip.test",
        register: false,
        answermode: "manual",
        rtp_ports,
    };

    let (_, mut alice) = baresip(&mut h, "alice", &peer("alice", ALICE_PORT, 4445, &alice_rtp), secs(45));
    alice.command_ok("dial", &door);
    let incoming = st.events.wait("incoming", secs(10), "alice's INVITE");
    assert!(incoming["from"].as_str().unwrap_or("").contains("alice@sip.test"), "incoming from alice: {incoming}");
    assert_eq!(incoming["accepted"], true, "alice is on allow_callers and must be auto-answered: {incoming}");
    std::thread::sleep(secs(4));
    alice.command_ok("hangup", "");
    st.events.wait("ended", secs(10), "alice hanging up");

    let (_, mut mallory) = baresip(&mut h, "mallory", &peer("mallory", MALLORY_PORT, 4446, &mallory_rtp), secs(30));
    mallory.command_ok("dial", &door);
    let refused = st.events.wait("incoming", secs(10), "mallory's INVITE");
    assert!(refused["from"].as_str().unwrap_or("").contains("mallory@sip.test"), "incoming from mallory: {refused}");
    assert_eq!(refused["accepted"], false, "mallory is not on allow_callers: {refused}");
    std::thread::sleep(ms(1500));
    cap.finish(&mut h);

    let sip = cap.sip();
    let answered = sip.iter().any(|p| p.src == STATION_PORT && p.dst == ALICE_PORT && p.is_response(200, "INVITE"));
    assert!(answered, "the station sent no 200 to alice's INVITE (see capture.txt)");
    let rejected = sip.iter().any(|p| p.src == STATION_PORT && p.dst == MALLORY_PORT && p.is_response(403, "INVITE"));
    assert!(rejected, "the station sent no 403 to mallory's INVITE (see capture.txt)");
    let h264 = cap.h264_pts();
    let station = spec.rtp_port_min..=spec.rtp_port_max();
    let rtp = cap.rtp();
    let video_to = |range: (u16, u16)| {
        rtp.iter()
            .filter(|p| station.contains(&p.src) && (range.0..=range.1).contains(&p.dst) && h264.contains(&p.pt))
            .count()
    };
    assert!(
        video_to(ALICE_RTP) >= 10,
        "alice received {} H264 packets (pts {h264:?}) in 4 s of call",
        video_to(ALICE_RTP)
    );
    assert_eq!(video_to(MALLORY_RTP), 0, "the refused caller received video");
}
