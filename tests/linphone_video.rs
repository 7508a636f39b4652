//! A resident calls the door from linphone ("look at the door"). linphone 5.1 with OpenH264
//! offers H.264 without `packetization-mode`, that is mode 0 (RFC 6184 §8.1): the station answers
//! mode 0 and sends single NAL unit packets only, which decode from the first packet on.

mod common;

use common::capture::start_capture;
use common::harness::Harness;
use common::media::decode_h264_packets;
use common::peers::{Linphone, linphone};
use common::secs;
use common::station::{StationSpec, start_station};

const STATION_PORT: u16 = 15088;
const RTP_MIN: u16 = 20800;
const ERIN_PORT: u16 = 15090;
const ERIN_RTP: (u16, u16) = (18600, 18798);
/// NAL unit type of an FU-A fragment (RFC 6184 table 1).
const FU_A: u8 = 28;

#[test]
fn linphone_calling_the_door_gets_mode_0_video_that_decodes() {
    let mut h = Harness::new("linphone_video");
    let cap = start_capture(
        &mut h,
        "udp and (port 15088 or port 15090 or portrange 18600-18799 or portrange 20800-20899)",
        40,
        &[STATION_PORT, ERIN_PORT],
    );
    let mut spec = StationSpec::new(STATION_PORT, RTP_MIN);
    spec.allow_callers = vec!["*@127.0.0.1".into()];
    let mut st = start_station(&mut h, &spec);
    let erin_peer = Linphone {
        user: "erin",
        port: ERIN_PORT,
        registrar: None,
        early_media: false,
        auto_answer: false,
        ports: ("18600-18698", "18700-18798"),
    };
    let erin = linphone(&mut h, "erin", &erin_peer, secs(35));
    std::thread::sleep(secs(2));
    h.write_stdin(erin, &format!("call sip:door@127.0.0.1:{STATION_PORT}"));
    let incoming = st.events.wait("incoming", secs(10), "linphone's INVITE");
    assert_eq!(incoming["accepted"], true, "erin is on allow_callers and must be auto-answered: {incoming}");
    std::thread::sleep(secs(5));
    h.write_stdin(erin, "terminate");
    st.events.wait("ended", secs(10), "linphone hanging up");
    h.write_stdin(erin, "quit");
    cap.finish(&mut h);

    let h264 = cap.h264_pts();
    let station = spec.rtp_port_min..=spec.rtp_port_max();
    let video = cap.rtp_packets(station, ERIN_RTP.0..=ERIN_RTP.1, &h264);
    assert!(video.len() >= 10, "linphone received {} H264 packets (pts {h264:?}) in 5 s of call", video.len());
    let types: Vec<u8> = video.iter().map(|p| p.payload.first().map_or(0, |b| b & 0x1F)).collect();
    assert!(!types.contains(&FU_A), "FU-A sent to a packetization-mode 0 peer: NAL types {types:?}");
    assert!(types.iter().all(|t| (1..=23).contains(t)), "only single NAL unit packets in mode 0: {types:?}");
    assert_eq!(types[0], 7, "the first video packet is not an SPS");
    let decoded = decode_h264_packets(&video);
    assert!(decoded.first_unit_decoded, "the first access unit linphone got does not decode: {decoded:?}");
    assert_eq!(decoded.errors, 0, "decoder errors in what linphone received: {decoded:?}");
    assert_eq!(decoded.first_size, Some((320, 240)), "{decoded:?}");
}
