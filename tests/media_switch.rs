//! A peer that switches its audio stream mid-call, as a PBX does when it moves the media: new
//! SSRC, new sequence and timestamp bases. The test is the media end of a SIPp UAS (SIPp does
//! the SIP; this test sends the RTP from the port SIPp's SDP names): a 1 kHz PCMU tone, then
//! the switch, more tone and an RFC 4733 `#`. The station's WAV speaker must hold the tone on
//! both sides of the switch and the `#` must arrive as a DTMF event. A picture loss indication
//! (RTCP PLI) sent to the video RTCP port gets a key frame long before the periodic one.

mod common;

use common::harness::Harness;
use common::media::{PeerStream, RtpSink, rms, sipp_uas_to, tone_share};
use common::peers::Uas;
use common::secs;
use common::station::{StationSpec, start_station};

const STATION_PORT: u16 = 15080;
const UAS_PORT: u16 = 15062;
const UAS_MEDIA: u16 = 16000;
const PEER_AUDIO: u16 = 16100;
const RTP_MIN: u16 = 20000;
/// SIPp's answer copies the station's telephone-event payload type.
const TELEPHONE_EVENT: u8 = 101;

#[test]
fn audio_and_dtmf_survive_a_mid_call_ssrc_and_timestamp_switch() {
    let mut h = Harness::new("media_switch");
    let peer = RtpSink::bind(PEER_AUDIO);
    let video = RtpSink::bind(PEER_AUDIO + 2);
    let uas = Uas { port: UAS_PORT, media_port: UAS_MEDIA, user: "everyone", dtmf: "", answer_after_ms: Some(500) };
    let sipp = sipp_uas_to(&mut h, "uas", &uas, PEER_AUDIO, None, 1);

    let speaker = h.log_file("speaker.wav");
    let mut spec = StationSpec::new(STATION_PORT, RTP_MIN);
    spec.outbound_proxy = format!("127.0.0.1:{UAS_PORT}");
    // No periodic key frame during the call: the only IDRs are the dialog's first and the PLI's.
    spec.keyframe_interval_s = 60;
    spec.media_extra = format!("speaker = \"wav\"\nspeaker_device = {:?}\n", speaker.display().to_string());
    let mut st = start_station(&mut h, &spec);
    st.command_ok("press 1");
    st.events.wait("answered", secs(10), "SIPp answering");

    // The station's audio socket is the first port of its range (the test owns the range).
    let station_audio = std::net::SocketAddr::from(([127, 0, 0, 1], RTP_MIN));
    let sock = &peer.socket;
    let mut phase = 0;
    let mut a = PeerStream { ssrc: 0x1111_1111, seq: 100, ts: 1000 };
    a.tone(sock, station_audio, 1000.0, 50, &mut phase);
    let mut b = PeerStream { ssrc: 0x2222_2222, seq: 50_000, ts: 3_000_000_000 };
    b.tone(sock, station_audio, 1000.0, 40, &mut phase);
    b.event(sock, station_audio, TELEPHONE_EVENT, 11);
    b.tone(sock, station_audio, 1000.0, 25, &mut phase);
    // RFC 4585 §6.3.1: V=2, FMT=1, PT=206 (PSFB), length 2, sender and media SSRC.
    let pli = [0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
    video.socket.send_to(&pli, ("127.0.0.1", RTP_MIN + 3)).unwrap();
    b.tone(sock, station_audio, 1000.0, 10, &mut phase);

    let dtmf = st.events.wait("dtmf", secs(5), "the RFC 4733 # after the switch");
    assert_eq!(dtmf["digit"], "#", "{dtmf}");
    st.events.wait("ended", secs(20), "SIPp's BYE");
    let status = h.wait(sipp, secs(20));
    assert!(status.is_some_and(|s| s.success()), "the SIPp UAS failed (exit {status:?})");
    h.stop(st.proc);
    drop(peer.finish());
    let video = video.finish();
    let streams = common::media::by_ssrc(&video);
    let (_, answered) = streams.last().expect("video from the station");
    let sps = |r: &&&common::media::Received| r.packet.payload.first().map(|b| b & 0x1f) == Some(7);
    let idrs = answered.iter().filter(sps).count();
    assert!(idrs >= 2, "the answered stream has {idrs} key frame(s): the PLI got none");

    let (rate, samples) = ds_media::wav::read_wav(&speaker).expect("the WAV speaker's file");
    let rate = f64::from(rate.hz());
    let windows: Vec<&[i16]> = samples.chunks(rate as usize / 10).collect();
    let toned: Vec<bool> = windows.iter().map(|w| rms(w) > 1000.0 && tone_share(w, rate, 1000.0) > 0.8).collect();
    let count = toned.iter().filter(|&&t| t).count();
    // 1 s before the switch, 1.3 s after: more than the first stream alone could fill.
    assert!(count >= 18, "the 1 kHz tone is in only {count} of {} 100 ms windows", windows.len());
    let first = toned.iter().position(|&t| t).unwrap();
    let last = toned.iter().rposition(|&t| t).unwrap();
    let gaps = toned[first..=last].iter().filter(|&&t| !t).count();
    assert!(gaps <= 3, "the tone breaks for {gaps} windows between {first} and {last}: {toned:?}");
}
