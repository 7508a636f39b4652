//! An SDES-SRTP call (RFC 4568, AES_CM_128_HMAC_SHA1_80) with baresip (`mediaenc=srtp-mand`,
//! RTP/SAVP): baresip calls the station, which runs `srtp = "mandatory"` and auto-answers.
//! Both directions are checked by decoding: baresip's 1 kHz sine reaches the station's WAV
//! speaker, and baresip's recording of what it received holds the station's 440 Hz tone.

mod common;

use std::path::PathBuf;

use common::harness::{Harness, read_lossy};
use common::media::{rms, tone_share};
use common::peers::{Baresip, baresip_env};
use common::secs;
use common::station::{StationSpec, start_station};

const STATION_PORT: u16 = 15082;
const RTP_MIN: u16 = 20200;
const ALICE_PORT: u16 = 15068;

/// 100 ms windows of `samples` (mono) that hold `freq` clearly.
fn toned_windows(samples: &[i16], rate: f64, freq: f64) -> usize {
    samples.chunks(rate as usize / 10).filter(|w| rms(w) > 300.0 && tone_share(w, rate, freq) > 0.7).count()
}

fn wav_files(dir: &std::path::Path, suffix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.to_string_lossy().ends_with(suffix)).collect())
        .unwrap_or_default()
}

#[test]
fn sdes_srtp_call_with_baresip_carries_audio_both_ways() {
    let mut h = Harness::new("srtp_baresip");
    let speaker = h.log_file("speaker.wav");
    let mut spec = StationSpec::new(STATION_PORT, RTP_MIN);
    spec.allow_callers = vec!["sip:alice@sip.test".into()];
    spec.media_extra =
        format!("srtp = \"mandatory\"\nspeaker = \"wav\"\nspeaker_device = {:?}\n", speaker.display().to_string());
    let mut st = start_station(&mut h, &spec);

    let recordings = h.log_file("alice.snd");
    std::fs::create_dir_all(&recordings).unwrap();
    let alice = Baresip {
        user: "alice",
        port: ALICE_PORT,
        ctrl_port: 4445,
        domain: "sip.test",
        register: false,
        answermode: "manual",
        rtp_ports: "17100-17199",
    };
    let snd = recordings.display().to_string();
    let env = [("MEDIAENC", "srtp-mand"), ("AUDIO_SRC", "ausine,1000"), ("SND_PATH", snd.as_str())];
    let (alice_proc, mut ctrl) = baresip_env(&mut h, "alice", &alice, secs(45), &env);
    ctrl.command_ok("dial", &format!("sip:door@127.0.0.1:{STATION_PORT}"));
    let incoming = st.events.wait("incoming", secs(10), "alice's SRTP INVITE");
    assert_eq!(incoming["accepted"], true, "alice must be auto-answered: {incoming}");
    std::thread::sleep(secs(5));
    ctrl.command_ok("hangup", "");
    st.events.wait("ended", secs(10), "alice hanging up");
    h.stop(st.proc);
    h.stop(alice_proc);

    let trace = read_lossy(&h.proc_log(alice_proc).to_path_buf());
    assert!(trace.contains("RTP/SAVP"), "baresip's SIP trace shows no RTP/SAVP");

    let (rate, samples) = ds_media::wav::read_wav(&speaker).expect("the station's WAV speaker");
    let heard = toned_windows(&samples, f64::from(rate.hz()), 1000.0);
    assert!(heard >= 20, "baresip's 1 kHz over SRTP is in only {heard} 100 ms windows of the station's speaker");

    let dec = wav_files(&recordings, "-dec.wav");
    assert!(!dec.is_empty(), "baresip recorded nothing in {}", recordings.display());
    let (rate, samples) = ds_media::wav::read_wav(&dec[0]).expect("baresip's recording");
    let got = toned_windows(&samples, f64::from(rate.hz()), 440.0);
    assert!(got >= 20, "the station's 440 Hz over SRTP is in only {got} 100 ms windows of baresip's recording");
}
