//! The station's media as a real peer gets it, checked by decoding: a SIPp UAS answers two
//! calls (183 with early media, then 200) and its SDP points at this test's UDP sockets. Every
//! early dialog's video starts with a picture OpenH264 decodes at once (SPS+PPS+IDR, no wait
//! for a periodic key frame), the station's 440 Hz tone arrives as PCMU, and the 1 kHz PCMU
//! tone SIPp replays from a pcap after the answer is played into the station's WAV speaker.
//! The GStreamer camera (`videotestsrc`, `x264enc`) gets the same video check. A 640x480
//! camera answered by a UAS at level 1.2 (`42e00c`) sends the answered dialog at most 396
//! macroblocks a frame, while the early dialog (a shared stream) and a peer at our level get
//! 640x480.

mod common;

use common::harness::Harness;
use common::media::{RtpSink, by_ssrc, decode_h264, decode_pcmu, rms, sipp_uas_edited, tone_share};
use common::peers::Uas;
use common::secs;
use common::station::{StationSpec, start_station};

const STATION_PORT: u16 = 15080;
const UAS_PORT: u16 = 15062;
const UAS_MEDIA: u16 = 16000;
/// The test's own sockets, named in SIPp's SDP: audio, and video two above.
const PEER_AUDIO: u16 = 16100;
const RTP_MIN: u16 = 20000;
const CALLS: u32 = 2;

/// What the peer received over `calls` calls, and the station's speaker file.
struct Run {
    video: Vec<common::media::Received>,
    audio: Vec<common::media::Received>,
    speaker: std::path::PathBuf,
}

/// `calls` calls to a SIPp UAS whose SDP names this test's sockets, with `media` added to the
/// station's `[media]`; SIPp replays `pcap` after each answer.
fn calls(name: &str, media: &str, calls: u32, pcap: Option<&str>) -> (Harness, Run) {
    calls_to(name, (media, (320, 240)), calls, pcap, "42e01f")
}

/// [`calls`] with a camera of `size`, to a UAS whose SDP asks `profile_level_id`.
fn calls_to(
    name: &str,
    (media, size): (&str, (u32, u32)),
    calls: u32,
    pcap: Option<&str>,
    profile_level_id: &str,
) -> (Harness, Run) {
    let mut h = Harness::new(name);
    let audio = RtpSink::bind(PEER_AUDIO);
    let video = RtpSink::bind(PEER_AUDIO + 2);
    let uas = Uas { port: UAS_PORT, media_port: UAS_MEDIA, user: "everyone", dtmf: "", answer_after_ms: Some(2000) };
    let level = |t: String| t.replace("profile-level-id=42e01f", &format!("profile-level-id={profile_level_id}"));
    let sipp = sipp_uas_edited(&mut h, "uas", (&uas, PEER_AUDIO), pcap, calls, level);

    let speaker = h.log_file("speaker.wav");
    let mut spec = StationSpec::new(STATION_PORT, RTP_MIN);
    spec.video_size = size;
    spec.outbound_proxy = format!("127.0.0.1:{UAS_PORT}");
    spec.media_extra = format!("{media}speaker = \"wav\"\nspeaker_device = {:?}\n", speaker.display().to_string());
    let mut st = start_station(&mut h, &spec);
    for call in 1..=calls {
        st.command_ok("press 1");
        st.events.wait("early_media", secs(10), &format!("early media of call {call}"));
        st.events.wait("answered", secs(10), &format!("SIPp answering call {call}"));
        st.events.wait("ended", secs(20), &format!("the end of call {call}"));
    }
    let status = h.wait(sipp, secs(20));
    assert!(status.is_some_and(|s| s.success()), "the SIPp UAS failed (exit {status:?}): see uas.msg.log");
    h.stop(st.proc);
    let (video, audio) = (video.finish(), audio.finish());
    (h, Run { video, audio, speaker })
}

/// Every stream starts with SPS and its first access unit decodes to a 320x240 picture.
fn check_video(video: &[common::media::Received], streams_expected: usize, min_pictures: usize) {
    let streams = by_ssrc(video);
    assert_eq!(streams.len(), streams_expected, "a video stream (SSRC) per early dialog and per answer");
    for (i, (ssrc, packets)) in streams.iter().enumerate() {
        let first = &packets[0].packet.payload;
        assert_eq!(first.first().map(|b| b & 0x1f), Some(7), "stream {i} ({ssrc:#x}) does not start with SPS");
        let d = decode_h264(packets);
        assert!(d.first_unit_decoded, "stream {i}: the first access unit gave no picture: {d:?}");
        assert_eq!(d.first_size, Some((320, 240)), "stream {i}: {d:?}");
        assert_eq!(d.errors, 0, "stream {i}: the decoder refused units: {d:?}");
        assert!(d.pictures >= min_pictures, "stream {i}: only {} pictures: {d:?}", d.pictures);
    }
}

#[test]
fn every_early_dialog_decodes_at_once_and_audio_flows_both_ways() {
    let (_h, Run { video, audio, speaker }) = calls("media_decode", "", CALLS, Some("media/tone_pcmu.pcap"));
    // The answer changes the audio direction (sendonly -> sendrecv), so the answered dialog
    // starts a new stream: two per call, each of which must start with a decodable picture.
    check_video(&video, 2 * CALLS as usize, 15);

    let tones = by_ssrc(&audio);
    assert_eq!(tones.len(), 2 * CALLS as usize, "an audio stream per early dialog and per answer");
    for (i, (_, packets)) in tones.iter().enumerate() {
        assert!(packets.iter().all(|r| r.packet.header.payload_type == 0), "SIPp answered PCMU only");
        let pcm = decode_pcmu(packets);
        let share = tone_share(&pcm, 8000.0, 440.0);
        assert!(share > 0.8, "call {i}: the station's audio is not its 440 Hz tone (share {share:.2})");
    }

    let (rate, samples) = ds_media::wav::read_wav(&speaker).expect("the WAV speaker's file");
    let rate = f64::from(rate.hz());
    let windows: Vec<&[i16]> = samples.chunks(rate as usize / 10).collect();
    let toned = windows.iter().filter(|w| rms(w) > 300.0 && tone_share(w, rate, 1000.0) > 0.8).count();
    assert!(
        toned >= 30,
        "SIPp's 1 kHz tone is in only {toned} of {} 100 ms windows of the speaker's file",
        windows.len()
    );
}

/// The GStreamer camera path with its test source (`videotestsrc`) and `x264enc`: the same
/// decodable start for the early dialog and the answer.
#[test]
fn a_gstreamer_camera_with_x264_decodes_at_once() {
    let media = "camera = \"gstreamer\"\ncamera_device = \"videotestsrc\"\nvideo_encoder = \"x264\"\n";
    let (_h, run) = calls("media_decode_gst", media, 1, None);
    check_video(&run.video, 2, 10);
}

/// The streams of one call with a 640x480 camera: the early dialog's, then the answer's.
fn vga_call(name: &str, profile_level_id: &str) -> Vec<common::media::Decoded> {
    let (_h, run) = calls_to(name, ("", (640, 480)), 1, None, profile_level_id);
    let streams = by_ssrc(&run.video);
    assert_eq!(streams.len(), 2, "the early dialog's stream and the answer's");
    streams.iter().map(|(_, packets)| decode_h264(packets)).collect()
}

#[test]
fn a_peer_at_level_1_2_gets_at_most_396_macroblocks_a_frame_once_it_answers() {
    let decoded = vga_call("media_decode_level", "42e00c");
    eprintln!("level 1.2: early {:?}, answered {:?}", decoded[0].sizes, decoded[1].sizes);
    assert_eq!(decoded[0].first_size, Some((640, 480)), "early dialogs share the configured stream");
    let answered = &decoded[1];
    assert!(answered.first_unit_decoded && answered.errors == 0 && answered.pictures >= 10, "{answered:?}");
    for &(w, h) in &answered.sizes {
        let mbs = w.div_ceil(16) * h.div_ceil(16);
        assert!(mbs <= 396, "the answered stream has {w}x{h} pictures ({mbs} macroblocks): {answered:?}");
    }
}

#[test]
fn a_peer_at_our_level_gets_640x480() {
    let decoded = vga_call("media_decode_vga", "42e01f");
    for d in &decoded {
        assert_eq!(d.sizes, [(640, 480)].into(), "{d:?}");
        assert!(d.first_unit_decoded && d.errors == 0, "{d:?}");
    }
}
