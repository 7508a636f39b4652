//! Hold and resume by re-INVITE, in both kinds of call, with SIPp doing the SIP and the test
//! owning every media socket the peer's SDP names, so it sees where the station's RTP and RTCP
//! go and can send the peer's media from the new address:
//! - the bell call, answered by a SIPp UAS that holds with `a=sendonly` (the station answers
//!   `a=recvonly` and stops sending), then resumes at a new address (127.0.0.2) and new ports;
//! - a resident's call to the door (SIPp UAC) that holds with `c=0.0.0.0` (RFC 2543), resumes
//!   with a re-INVITE without SDP (the station offers in its 200, the ACK answers) at a new
//!   address, with a re-INVITE crossing the station's offer before that ACK (491), then sends
//!   an offer the station cannot take (488, the call goes on).
//!
//! After each resume: the station's PCMU decodes to its 440 Hz tone at the new port and nothing
//! more reaches the old one; the first video packet at the new port starts a decodable
//! picture (periodic key frames are off); RTCP moves with the stream; the peer's 1 kHz tone
//! sent from the new address plays on the station's WAV speaker; and a `#` (RFC 4733 from the
//! new address, or SIP INFO) opens the door.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::capture::{Capture, SipPacket, start_capture};
use common::harness::{Harness, free_udp_port};
use common::media::{Datagram, PeerStream, Received, RtpSink, by_ssrc, decode_h264, decode_pcmu, rms, tone_share};
use common::peers::{sipp_with_vars, wait_file};
use common::secs;
use common::station::{Station, StationSpec, start_station};

/// The station's telephone-event payload type, which SIPp's SDP repeats.
const TELEPHONE_EVENT: u8 = 101;
/// The station's microphone tone (`tone_hz` of the test config).
const STATION_TONE: f64 = 440.0;
/// The peer's tone before the hold and after the resume.
const TONE_BEFORE: f64 = 600.0;
const TONE_AFTER: f64 = 1000.0;

/// The peer's media sockets: `a` before the move (127.0.0.1), `b` after it (127.0.0.2).
struct PeerMedia {
    a_audio: RtpSink,
    a_rtcp: RtpSink,
    a_video: RtpSink,
    a_video_rtcp: RtpSink,
    b_audio: RtpSink,
    b_rtcp: RtpSink,
    b_video: RtpSink,
    b_video_rtcp: RtpSink,
}

impl PeerMedia {
    fn bind() -> PeerMedia {
        let (b_audio, b_rtcp) = RtpSink::pair("127.0.0.2");
        let (b_video, b_video_rtcp) = RtpSink::pair("127.0.0.2");
        PeerMedia {
            a_audio: RtpSink::any("127.0.0.1"),
            a_rtcp: RtpSink::any("127.0.0.1"),
            a_video: RtpSink::any("127.0.0.1"),
            a_video_rtcp: RtpSink::any("127.0.0.1"),
            b_audio,
            b_rtcp,
            b_video,
            b_video_rtcp,
        }
    }

    /// The ports before the move: audio, its RTCP, video, its RTCP.
    fn old_ports(&self) -> [u16; 4] {
        [&self.a_audio, &self.a_rtcp, &self.a_video, &self.a_video_rtcp].map(RtpSink::port)
    }

    /// The SIPp globals naming these sockets.
    fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("a_ip", "127.0.0.1".into()),
            ("a_audio", self.a_audio.port().to_string()),
            ("a_rtcp", self.a_rtcp.port().to_string()),
            ("a_video", self.a_video.port().to_string()),
            ("a_video_rtcp", self.a_video_rtcp.port().to_string()),
            ("b_ip", "127.0.0.2".into()),
            ("b_audio", self.b_audio.port().to_string()),
            ("b_video", self.b_video.port().to_string()),
        ]
    }

    /// What arrived; the old video and RTCP ports are judged from the capture.
    fn finish(self) -> Finished {
        drop((self.a_rtcp.finish_raw(), self.a_video.finish_raw(), self.a_video_rtcp.finish_raw()));
        Finished {
            a_audio: self.a_audio.finish(),
            b_audio: self.b_audio.finish(),
            b_video: self.b_video.finish(),
            b_rtcp: self.b_rtcp.finish_raw(),
            b_video_rtcp: self.b_video_rtcp.finish_raw(),
        }
    }
}

/// What reached the peer's sockets.
struct Finished {
    a_audio: Vec<Received>,
    b_audio: Vec<Received>,
    b_video: Vec<Received>,
    b_rtcp: Vec<Datagram>,
    b_video_rtcp: Vec<Datagram>,
}

/// A station on free SIP ports whose speaker writes a WAV file; periodic key frames off, so a
/// key frame on the new path is the station's doing.
fn station(h: &mut Harness, rtp_min: u16, outbound: Option<u16>) -> (Station, std::path::PathBuf) {
    let speaker = h.log_file("speaker.wav");
    let mut spec = StationSpec::new(free_udp_port(), rtp_min);
    if let Some(port) = outbound {
        spec.outbound_proxy = format!("127.0.0.1:{port}");
    }
    spec.keyframe_interval_s = 60;
    spec.unlock_allow = vec!["*@sip.test".into(), "*@127.0.0.1".into()];
    spec.media_extra = format!("speaker = \"wav\"\nspeaker_device = {:?}\n", speaker.display().to_string());
    (start_station(h, &spec), speaker)
}

/// SIP, and everything to the peer's old ports (the kernel's time stamps order those
/// datagrams against the SIP messages).
fn capture(h: &mut Harness, station: u16, sipp: u16, peer: &PeerMedia) -> Capture {
    let old: Vec<String> = peer.old_ports().iter().map(|p| format!(" or port {p}")).collect();
    start_capture(h, &format!("udp and (port {station} or port {sipp}{})", old.concat()), 90, &[station, sipp])
}

/// The peer's tone from `sock` to the station's audio port, new SSRC each time.
fn send_tone(sock: &std::net::UdpSocket, to: SocketAddr, freq: f64, frames: u32, ssrc: u32) -> PeerStream {
    let mut stream = PeerStream { ssrc, seq: ssrc as u16, ts: ssrc.rotate_left(7) };
    let mut phase = 0;
    stream.tone(sock, to, freq, frames, &mut phase);
    stream
}

/// The station's audio arrives at the old address, and the peer's tone goes back from there;
/// SIPp logs the hold and then the resume (`moves`); the station's audio arrives at the new
/// address from the same socket. Returns the station's audio address.
fn across_the_move(peer: &PeerMedia, actions: &Path, moves: (&str, &str), ssrc: u32) -> SocketAddr {
    let station_audio = peer.a_audio.wait_first(secs(5), "the station's audio after the answer");
    send_tone(&peer.a_audio.socket, station_audio, TONE_BEFORE, 40, ssrc);
    wait_file(actions, moves.0, secs(10), "SIPp's hold");
    wait_file(actions, moves.1, secs(10), "SIPp's resume");
    let from = peer.b_audio.wait_first(secs(5), "the station's audio at the new address");
    assert_eq!(from, station_audio, "the station's audio comes from its one audio socket (symmetric RTP)");
    station_audio
}

/// The `n`th (0-based) SIP message from `src` matching `pred`, or fails naming `what`.
fn nth_from<'a>(
    sip: &'a [SipPacket],
    src: u16,
    n: usize,
    what: &str,
    pred: impl Fn(&SipPacket) -> bool,
) -> &'a SipPacket {
    sip.iter()
        .filter(|p| p.src == src && pred(p))
        .nth(n)
        .unwrap_or_else(|| panic!("no {what} from port {src} in the capture (see capture.txt)"))
}

/// 100 ms windows of the speaker's file that hold `freq`.
fn toned_windows(speaker: &Path, freq: f64) -> usize {
    let (rate, samples) = ds_media::wav::read_wav(speaker).expect("the WAV speaker's file");
    let rate = f64::from(rate.hz());
    samples.chunks(rate as usize / 10).filter(|w| rms(w) > 1000.0 && tone_share(w, rate, freq) > 0.8).count()
}

/// Epoch seconds of the peer's ACKs: of the hold, of the move, and from when no RTCP may reach
/// the old ports (the move; a `c=0.0.0.0` hold already stops it).
struct Moments {
    held: f64,
    moved: f64,
    rtcp_gone: f64,
}

/// What must hold after the hold and the move; `old` are the old ports as
/// [`PeerMedia::old_ports`].
fn check_move(got: &Finished, cap: &Capture, old: [u16; 4], at: Moments) {
    let Moments { held, moved, rtcp_gone } = at;
    let [audio, rtcp, video, video_rtcp] = old.map(|p| cap.udp_to(p));
    let late_rtp = audio.iter().chain(&video).filter(|&&t| t > held).count();
    assert_eq!(late_rtp, 0, "RTP reached the old ports after the hold was ACKed");
    let late_rtcp = rtcp.iter().chain(&video_rtcp).filter(|&&t| t > rtcp_gone).count();
    assert_eq!(late_rtcp, 0, "RTCP reached the old a=rtcp ports after it should have stopped");
    assert!(!got.a_audio.is_empty(), "no audio before the hold: the old path never worked");
    let early_b = got.b_audio.iter().chain(&got.b_video).filter(|r| r.epoch < held).count();
    assert_eq!(early_b, 0, "RTP reached the new address during the hold");

    let audio: Vec<&Received> = got.b_audio.iter().filter(|r| r.packet.header.payload_type == 0).collect();
    let pcm = decode_pcmu(&audio);
    let share = tone_share(&pcm, 8000.0, STATION_TONE);
    assert!(pcm.len() >= 8000, "only {} samples of PCMU at the new address", pcm.len());
    assert!(share > 0.8, "the station's audio at the new address is not its 440 Hz tone (share {share:.2})");

    let streams = by_ssrc(&got.b_video);
    let (_, first) = streams.first().expect("no video at the new address");
    let nal = first[0].packet.payload.first().map(|b| b & 0x1f);
    assert!(matches!(nal, Some(7 | 24)), "the first video packet at the new address is NAL type {nal:?}, not SPS");
    let decoded = decode_h264(first);
    assert!(decoded.first_unit_decoded, "the first video at the new address is no decodable picture: {decoded:?}");
    assert_eq!(decoded.errors, 0, "{decoded:?}");

    let is_report = |d: &Datagram| d.bytes.len() >= 8 && matches!(d.bytes[1], 200 | 201);
    assert!(got.b_rtcp.iter().any(is_report), "no RTCP report at the new audio RTP port + 1");
    assert!(got.b_video_rtcp.iter().all(|d| d.epoch > moved), "video RTCP at the new address before the move");
}

#[test]
fn the_bell_call_holds_with_sendonly_and_resumes_at_a_new_address() {
    let mut h = Harness::new("reinvite_uas");
    let peer = PeerMedia::bind();
    let sipp_port = free_udp_port();
    let (mut st, speaker) = station(&mut h, 22000, Some(sipp_port));
    let cap = capture(&mut h, st.spec.sip_port, sipp_port, &peer);
    let uas = sipp_with_vars(&mut h, "uas", ("uas_reinvite.xml", sipp_port, None), "everyone", &peer.vars(), secs(80));
    let actions = h.log_file("uas.actions.log");

    st.command_ok("press 1");
    st.events.wait("answered", secs(10), "SIPp answering the bell call");
    let moves = ("hold answered a=recvonly", "resume answered a=sendrecv");
    let station_audio = across_the_move(&peer, &actions, moves, 0x1111_1111);
    let mut b = send_tone(&peer.b_audio.socket, station_audio, TONE_AFTER, 50, 0x2222_2222);
    b.event(&peer.b_audio.socket, station_audio, TELEPHONE_EVENT, 11);
    b.tone(&peer.b_audio.socket, station_audio, TONE_AFTER, 10, &mut 0);
    let dtmf = st.events.wait("dtmf", secs(5), "the RFC 4733 # from the new address");
    assert_eq!(dtmf["digit"], "#", "{dtmf}");
    let unlock = st.events.wait("unlock", secs(5), "the # after the resume");
    assert_eq!(unlock["result"], "opened", "{unlock}");
    st.assert_one_pulse("the RFC 4733 # after the resume");
    peer.b_rtcp.wait_first(secs(15), "RTCP at the new audio port + 1");

    st.command_ok("hangup");
    st.events.wait("ended", secs(5), "the hangup");
    let status = h.wait(uas, secs(10));
    assert!(status.is_some_and(|s| s.success()), "the SIPp UAS failed (exit {status:?}), see uas.msg.log");
    h.stop(st.proc);
    cap.finish(&mut h);

    let sip = cap.sip();
    let hold_ack = nth_from(&sip, sipp_port, 0, "ACK of the hold", |p| p.method == "ACK");
    let resume_ack = nth_from(&sip, sipp_port, 1, "ACK of the resume", |p| p.method == "ACK");
    let old = peer.old_ports();
    let at = Moments { held: hold_ack.time, moved: resume_ack.time, rtcp_gone: resume_ack.time };
    check_move(&peer.finish(), &cap, old, at);
    assert!(toned_windows(&speaker, TONE_BEFORE) >= 3, "the peer's tone before the hold is not on the speaker");
    let after = toned_windows(&speaker, TONE_AFTER);
    assert!(after >= 5, "the peer's tone from the new address is in only {after} windows of the speaker");
}

#[test]
fn a_call_to_the_door_holds_with_c_0_resumes_without_sdp_and_survives_a_488() {
    let mut h = Harness::new("reinvite_uac");
    let peer = PeerMedia::bind();
    let sipp_port = free_udp_port();
    let (mut st, speaker) = station(&mut h, 22100, None);
    let cap = capture(&mut h, st.spec.sip_port, sipp_port, &peer);
    let mut vars = peer.vars();
    vars.push(("caller", "alice".into()));
    let target = format!("127.0.0.1:{}", st.spec.sip_port);
    let uac = sipp_with_vars(&mut h, "uac", ("uac_reinvite.xml", sipp_port, Some(&target)), "door", &vars, secs(80));
    let actions = h.log_file("uac.actions.log");

    let incoming = st.events.wait("incoming", secs(10), "SIPp's INVITE from alice");
    assert_eq!(incoming["accepted"], true, "{incoming}");
    let moves = ("hold with c=0.0.0.0 answered", "refused 491");
    let station_audio = across_the_move(&peer, &actions, moves, 0x3333_3333);
    wait_file(&actions, "resumed by the ACK's answer", secs(1), "the ACK answering the station's offer");
    send_tone(&peer.b_audio.socket, station_audio, TONE_AFTER, 60, 0x4444_4444);
    wait_file(&actions, "G.729-only offer refused 488", secs(10), "the offer the station cannot take");
    let unlock = st.events.wait("unlock", secs(10), "the INFO # after the 488");
    assert_eq!(unlock["result"], "opened", "{unlock}");
    st.assert_one_pulse("the INFO # after the 488");

    let status = h.wait(uac, secs(20));
    assert!(status.is_some_and(|s| s.success()), "the SIPp UAC failed (exit {status:?}), see uac.msg.log");
    st.events.wait("ended", secs(5), "SIPp's BYE");
    h.stop(st.proc);
    cap.finish(&mut h);

    let sip = cap.sip();
    let ack = |n: usize, what: &str| nth_from(&sip, sipp_port, n, what, |p| p.method == "ACK").time;
    let held = ack(1, "ACK of the hold");
    let (moved, refused) = (ack(3, "ACK with the answer"), ack(4, "ACK of the 488"));
    let old = peer.old_ports();
    let got = peer.finish();
    let after_488 = got.b_audio.iter().filter(|r| r.epoch > refused).count();
    assert!(after_488 > 0, "no audio reached the new address after the 488: the session was lost");
    check_move(&got, &cap, old, Moments { held, moved, rtcp_gone: held });
    assert!(toned_windows(&speaker, TONE_BEFORE) >= 3, "the peer's tone before the hold is not on the speaker");
    let after = toned_windows(&speaker, TONE_AFTER);
    assert!(after >= 5, "the peer's tone from the new address is in only {after} windows of the speaker");
}
