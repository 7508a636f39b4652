//! kamailio as the house proxy forks the button's call to `everyone` = baresip (carol) and
//! linphone-daemon (dave), both answering 183 with SDP (early media) and video enabled.
//! Both ring and both receive H264 from the station before either answers (kamailio does not
//! relay media: the station sends to each early dialog), which decodes from each dialog's first
//! packet on (linphone with its OpenH264 plugin answers mode 1 here); carol answers, dave gets CANCEL; an
//! RFC 4733 `#` from carol opens the door.

mod common;

use common::capture::{Capture, start_capture};
use common::harness::Harness;
use common::media::decode_h264_packets;
use common::peers::{Baresip, Linphone, baresip, kamailio, linphone, wait_kamailio_registered};
use common::station::{StationSpec, start_station};
use common::{ms, secs};

const STATION_PORT: u16 = 15081;
const RTP_MIN: u16 = 20100;
const KAMAILIO_PORT: u16 = 5070;
const CAROL_PORT: u16 = 15066;
const DAVE_PORT: u16 = 15072;
const CAROL_RTP: (u16, u16) = (17000, 17099);
const DAVE_RTP: (u16, u16) = (18000, 18198);

#[test]
fn fork_to_baresip_and_linphone_with_early_video_then_dtmf_opens() {
    let mut h = Harness::new("kamailio_fork");
    let cap = start_capture(
        &mut h,
        "udp and (port 5070 or portrange 15060-15089 or portrange 17000-17099 or portrange 18000-18199 or portrange 20100-20199)",
        55,
        &[KAMAILIO_PORT, STATION_PORT, CAROL_PORT, DAVE_PORT],
    );
    let kam = kamailio(&mut h, "carol,dave", true, secs(55));
    let carol_rtp = format!("{}-{}", CAROL_RTP.0, CAROL_RTP.1);
    let carol_peer = Baresip {
        user: "carol",
        port: CAROL_PORT,
        ctrl_port: 4444,
        domain: "127.0.0.1:5070",
        register: true,
        answermode: "early",
        rtp_ports: &carol_rtp,
    };
    let (_, mut carol) = baresip(&mut h, "carol", &carol_peer, secs(50));
    let dave_peer = Linphone {
        user: "dave",
        port: DAVE_PORT,
        registrar: Some("127.0.0.1:5070"),
        early_media: true,
        auto_answer: false,
        ports: ("18000-18098", "18100-18198"),
    };
    let dave = linphone(&mut h, "dave", &dave_peer, secs(50));
    wait_kamailio_registered(&mut h, kam, "carol", secs(15));
    wait_kamailio_registered(&mut h, kam, "dave", secs(15));

    let mut spec = StationSpec::new(STATION_PORT, RTP_MIN);
    spec.registrar = format!("127.0.0.1:{KAMAILIO_PORT}");
    spec.outbound_proxy = format!("127.0.0.1:{KAMAILIO_PORT}");
    spec.unlock_allow = vec!["*@sip.test".into(), "*@127.0.0.1".into()];
    spec.early_media_limit = 4;
    let mut st = start_station(&mut h, &spec);
    st.wait_registered(secs(15), "the station registering with kamailio (digest)");

    st.command_ok("press 1");
    st.events.wait("ringing", secs(5), "the button press");
    let first = st.events.wait("early_media", secs(10), "the first 183 with SDP (baresip or linphone)");
    let other = first["dialog"].clone();
    st.events.wait_for("early_media", secs(10), "a second early dialog: both callees ring", |e| e["dialog"] != other);
    // Let video flow to both early dialogs before anyone answers.
    std::thread::sleep(secs(3));
    carol.command_ok("accept", "");
    let answered = st.events.wait("answered", secs(10), "carol (baresip) accepting");
    std::thread::sleep(secs(2));
    carol.command_ok("sndcode", "#");
    let unlock = st.events.wait("unlock", secs(10), "RFC 4733 # from carol");
    assert_eq!(unlock["result"], "opened", "# from the answerer ({answered}) must open: {unlock}");
    st.assert_one_pulse("RFC 4733 # from carol");
    carol.command_ok("hangup", "");
    st.events.wait("ended", secs(10), "carol hanging up");
    h.write_stdin(dave, "quit");
    std::thread::sleep(ms(500));
    cap.finish(&mut h);
    check_wire(&cap, &spec);
}

fn check_wire(cap: &Capture, spec: &StationSpec) {
    let sip = cap.sip();
    let t200 = sip
        .iter()
        .filter(|p| (p.src == CAROL_PORT || p.src == DAVE_PORT) && p.is_response(200, "INVITE"))
        .map(|p| p.time)
        .next()
        .expect("no 200 to the INVITE from carol or dave (see capture.txt)");
    for (who, port) in [("carol", CAROL_PORT), ("dave", DAVE_PORT)] {
        let rang = sip.iter().any(|p| p.src == port && (p.is_response(180, "INVITE") || p.is_response(183, "INVITE")));
        assert!(rang, "{who} did not ring (no 180/183 from port {port}, see capture.txt)");
    }
    let cancelled = sip.iter().any(|p| p.dst == DAVE_PORT && p.method == "CANCEL");
    assert!(cancelled, "dave (the branch that did not answer) got no CANCEL (see capture.txt)");
    let h264 = cap.h264_pts();
    let station = spec.rtp_port_min..=spec.rtp_port_max();
    let rtp = cap.rtp();
    for (who, range) in [("carol", CAROL_RTP), ("dave", DAVE_RTP)] {
        let video: Vec<_> = rtp
            .iter()
            .filter(|p| station.contains(&p.src) && (range.0..=range.1).contains(&p.dst) && h264.contains(&p.pt))
            .collect();
        let early = video.iter().filter(|p| p.time < t200).count();
        assert!(
            early > 0,
            "{who} received no H264 (pts {h264:?}) from the station before the first 200 (see capture.txt)"
        );
        let first = video[0].h264_nal_type();
        assert!(
            video[0].starts_with_sps(),
            "the first H264 packet to {who}'s early dialog is NAL type {first:?}, not SPS"
        );
        let decoded = decode_h264_packets(&cap.rtp_packets(station.clone(), range.0..=range.1, &h264));
        assert!(
            decoded.first_unit_decoded && decoded.errors == 0,
            "the H264 {who} received does not decode from its first access unit on: {decoded:?}"
        );
    }
    let dtmf = cap.rtp_events().into_iter().any(|e| station.contains(&e.dst) && e.event == 11);
    assert!(dtmf, "no RFC 4733 event 11 (#) reached the station's RTP ports");
}
