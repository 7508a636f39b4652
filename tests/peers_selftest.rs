//! The peer recipes on their own, without the station: when a station test fails, these tell
//! whether the peers and the capture work on this machine. SIPp UAC → SIPp UAS with INFO DTMF;
//! kamailio forking a SIPp call to baresip and linphone-daemon with early media and video.

mod common;

use common::capture::start_capture;
use common::harness::Harness;
use common::peers::{
    Baresip, Linphone, UacCall, baresip, kamailio, linphone, sipp_uac, sipp_uas_info, wait_kamailio_registered,
};
use common::{ms, secs};

#[test]
fn sipp_uac_calls_sipp_uas_with_early_media_and_info() {
    let mut h = Harness::new("selftest_sipp");
    let cap = start_capture(&mut h, "udp and portrange 15060-15065", 30, &[15061, 15062]);
    let uas = sipp_uas_info(&mut h, "uas", 15062, 16000, "#", secs(20));
    let call = UacCall {
        target: "127.0.0.1:15062",
        callee: "everyone",
        caller: "alice",
        from_domain: "sip.test",
        dtmf: "1",
        dtmf_mode: "none",
        talk: ms(2500),
    };
    let uac = sipp_uac(&mut h, "uac", 15061, 16100, &call, secs(20));
    let uac_status = h.wait(uac, secs(25));
    let uas_status = h.wait(uas, secs(10));
    cap.finish(&mut h);
    assert!(uac_status.is_some_and(|s| s.success()), "SIPp UAC: {uac_status:?}");
    assert!(uas_status.is_some_and(|s| s.success()), "SIPp UAS: {uas_status:?}");
    let flow: Vec<String> = cap
        .sip()
        .iter()
        .map(|p| if p.status == 0 { p.method.clone() } else { format!("{} {}", p.status, p.cseq_method) })
        .collect();
    let want = ["INVITE", "100 INVITE", "183 INVITE", "200 INVITE", "ACK", "INFO", "200 INFO", "BYE", "200 BYE"];
    assert_eq!(flow, want, "SIP flow between the two SIPp instances");
}

#[test]
fn kamailio_forks_to_baresip_and_linphone_with_early_video() {
    let mut h = Harness::new("selftest_fork");
    let cap = start_capture(
        &mut h,
        "udp and (port 5070 or portrange 15060-15079 or portrange 16100-16103 or portrange 17000-17099 or portrange 18000-18199)",
        40,
        &[5070, 15061, 15066, 15072],
    );
    let kam = kamailio(&mut h, "carol,dave", true, secs(40));
    let carol_peer = Baresip {
        user: "carol",
        port: 15066,
        ctrl_port: 4444,
        domain: "127.0.0.1:5070",
        register: true,
        answermode: "early",
        rtp_ports: "17000-17099",
    };
    let (_, mut carol) = baresip(&mut h, "carol", &carol_peer, secs(35));
    let dave_peer = Linphone {
        user: "dave",
        port: 15072,
        registrar: Some("127.0.0.1:5070"),
        early_media: true,
        auto_answer: false,
        ports: ("18000-18098", "18100-18198"),
    };
    let dave = linphone(&mut h, "dave", &dave_peer, secs(35));
    wait_kamailio_registered(&mut h, kam, "carol", secs(15));
    wait_kamailio_registered(&mut h, kam, "dave", secs(15));
    let call = UacCall {
        target: "127.0.0.1:5070",
        callee: "everyone",
        caller: "door",
        from_domain: "sip.test",
        dtmf: "1",
        dtmf_mode: "none",
        talk: ms(2000),
    };
    let uac = sipp_uac(&mut h, "uac", 15061, 16100, &call, secs(25));
    std::thread::sleep(secs(4));
    carol.command_ok("accept", "");
    let status = h.wait(uac, secs(20));
    h.write_stdin(dave, "quit");
    cap.finish(&mut h);
    assert!(status.is_some_and(|s| s.success()), "SIPp UAC through kamailio: {status:?}");
    let sip = cap.sip();
    for port in [15066, 15072] {
        assert!(sip.iter().any(|p| p.src == port && p.is_response(183, "INVITE")), "no 183 from {port}");
    }
    assert!(sip.iter().any(|p| p.dst == 15072 && p.method == "CANCEL"), "linphone got no CANCEL");
    let h264 = cap.h264_pts();
    let video: Vec<_> =
        cap.rtp().into_iter().filter(|p| (18100..=18198).contains(&p.src) && h264.contains(&p.pt)).collect();
    assert!(!video.is_empty(), "linphone sent no early H264 (pts {h264:?})");
    assert!(video[0].starts_with_sps(), "linphone's first H264 packet is NAL type {:?}", video[0].h264_nal_type());
}
