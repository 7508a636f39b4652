//! SIPp as the registrar and as the callee: the station registers with digest, the button calls
//! the broadcast URI, early media flows after the 183 and before the 200, and a SIP INFO `#`
//! from the callee pulses the simulated relay for the configured time.

mod common;

use common::capture::start_capture;
use common::harness::Harness;
use common::peers::{sipp_registrar, sipp_uas_info};
use common::secs;
use common::station::{StationSpec, start_station};

const STATION_PORT: u16 = 15080;
const UAS_PORT: u16 = 15062;
const REGISTRAR_PORT: u16 = 15063;
const UAS_MEDIA: u16 = 16000;
const RTP_MIN: u16 = 20000;

#[test]
fn registers_rings_with_early_media_and_opens_on_info() {
    let mut h = Harness::new("sipp_uas");
    let cap = start_capture(
        &mut h,
        "udp and (portrange 15060-15089 or portrange 16000-16003 or portrange 20000-20099)",
        50,
        &[STATION_PORT, UAS_PORT, REGISTRAR_PORT],
    );
    sipp_registrar(&mut h, "registrar", REGISTRAR_PORT, "door", "secret", secs(45));
    let uas = sipp_uas_info(&mut h, "uas", UAS_PORT, UAS_MEDIA, "#", secs(45));

    let mut spec = StationSpec::new(STATION_PORT, RTP_MIN);
    spec.registrar = format!("127.0.0.1:{REGISTRAR_PORT}");
    spec.outbound_proxy = format!("127.0.0.1:{UAS_PORT}");
    spec.unlock_allow = vec!["*@sip.test".into(), "*@127.0.0.1".into()];
    spec.pulse_ms = 1500;
    let mut st = start_station(&mut h, &spec);

    st.wait_registered(secs(15), "the station registering with SIPp (401 digest first)");
    for reg in st.events.of_kind("registered") {
        assert!(
            reg["aor"].as_str().unwrap_or("").contains("door@sip.test"),
            "registered event with an unexpected aor: {reg}"
        );
    }
    let reg_log = common::harness::read_lossy(&h.log_file("registrar.actions.log"));
    assert!(
        reg_log.contains("REGISTER digest verified for door"),
        "SIPp did not verify the station's digest:\n{reg_log}"
    );

    st.command_ok("press 1");
    st.events.wait("ringing", secs(5), "the button press");
    let early = st.events.wait("early_media", secs(10), "early media after SIPp's 183");
    let video_dest = format!("127.0.0.1:{}", UAS_MEDIA + 2);
    assert_eq!(early["remote"].as_str(), Some(video_dest.as_str()), "early_media must name SIPp's video port: {early}");
    st.events.wait("answered", secs(10), "SIPp's 200 three seconds after its 183");
    let unlock = st.events.wait("unlock", secs(10), "the INFO Signal=# from SIPp");
    assert_eq!(unlock["result"], "opened", "INFO # from an allowed callee must open: {unlock}");
    st.assert_one_pulse("INFO # from SIPp");
    let status = h.wait(uas, secs(15));
    st.events.wait("ended", secs(10), "the end of the call");
    cap.finish(&mut h);
    assert!(
        status.is_some_and(|s| s.success()),
        "the SIPp UAS call did not succeed (exit {status:?}): see uas.msg.log"
    );

    check_wire(&cap, &spec);
}

/// On the wire: INVITE to SIPp; RTP from the station to SIPp's media ports after the 183 and
/// before the 200, video (H264) included.
fn check_wire(cap: &common::capture::Capture, spec: &StationSpec) {
    let sip = cap.sip();
    let from_uas =
        |status: u16| sip.iter().find(|p| p.src == UAS_PORT && p.is_response(status, "INVITE")).map(|p| p.time);
    assert!(sip.iter().any(|p| p.method == "INVITE" && p.dst == UAS_PORT), "no INVITE reached SIPp (see capture.txt)");
    let t183 = from_uas(183).expect("SIPp sent no 183 (see capture.txt)");
    let t200 = from_uas(200).expect("SIPp sent no 200 (see capture.txt)");
    let station_rtp = spec.rtp_port_min..=spec.rtp_port_max();
    let rtp: Vec<_> = cap
        .rtp()
        .into_iter()
        .filter(|p| station_rtp.contains(&p.src) && (p.dst == UAS_MEDIA || p.dst == UAS_MEDIA + 2))
        .collect();
    let first = rtp
        .first()
        .unwrap_or_else(|| panic!("no RTP from the station reached SIPp's ports {UAS_MEDIA}/{}", UAS_MEDIA + 2));
    assert!(first.time >= t183, "RTP reached SIPp {:.3} s before its 183", t183 - first.time);
    assert!(first.time < t200, "the first RTP reached SIPp {:.3} s after its 200: no early media", first.time - t200);
    let h264 = cap.h264_pts();
    let video: Vec<_> = rtp.iter().filter(|p| p.dst == UAS_MEDIA + 2 && h264.contains(&p.pt)).collect();
    let early_video = video.iter().filter(|p| p.time < t200).count();
    assert!(early_video > 0, "no H264 RTP (payload types {h264:?}) reached SIPp's video port before the 200");
    let first = video[0].h264_nal_type();
    assert!(
        video[0].starts_with_sps(),
        "the first H264 packet of the early dialog is NAL type {first:?}, not SPS (+PPS+IDR)"
    );
}
