//! How bell calls end with SIPp callees: nobody answers within `ring_timeout_s` → CANCEL;
//! two forks answer back to back (one SIPp UAS playing the forking proxy, so the race is the
//! same on every run) → both 200s are ACKed, the second is BYEd, and only one call is answered.

mod common;

use common::capture::start_capture;
use common::harness::Harness;
use common::harness::read_lossy;
use common::peers::{Uas, sipp_fork_race, sipp_uas};
use common::secs;
use common::station::{StationSpec, start_station};

const UAS_A: u16 = 15062;

#[test]
fn ring_timeout_cancels_the_call() {
    const STATION_PORT: u16 = 15084;
    let mut h = Harness::new("ring_timeout");
    let cap = start_capture(&mut h, "udp and portrange 15060-15089", 30, &[STATION_PORT, UAS_A]);
    let uas = Uas { port: UAS_A, media_port: 16000, user: "everyone", dtmf: "", answer_after_ms: None };
    let uas = sipp_uas(&mut h, "uas", &uas, secs(25));
    let mut spec = StationSpec::new(STATION_PORT, 20400);
    spec.outbound_proxy = format!("127.0.0.1:{UAS_A}");
    spec.ring_timeout_s = 3;
    let mut st = start_station(&mut h, &spec);

    st.command_ok("press 1");
    st.events.wait("early_media", secs(5), "SIPp's 183");
    let ended = st.events.wait("ended", secs(10), "the ring timeout (3 s)");
    assert_eq!(ended["reason"], "ring_timeout", "a call nobody answers: {ended}");
    let status = h.wait(uas, secs(10));
    cap.finish(&mut h);
    assert!(status.is_some_and(|s| s.success()), "SIPp (CANCEL → 200 + 487 → ACK) did not complete: {status:?}");

    let sip = cap.sip();
    let invite = sip.iter().find(|p| p.method == "INVITE" && p.dst == UAS_A).expect("no INVITE to SIPp");
    let cancel = sip.iter().find(|p| p.method == "CANCEL" && p.dst == UAS_A).expect("the station sent no CANCEL");
    let rang = cancel.time - invite.time;
    assert!((2.5..6.0).contains(&rang), "CANCEL {rang:.1} s after the INVITE, ring_timeout_s = 3");
    assert!(sip.iter().any(|p| p.src == STATION_PORT && p.method == "ACK"), "the station did not ACK the 487");
}

#[test]
fn a_second_racing_200_is_acked_and_byed() {
    const STATION_PORT: u16 = 15085;
    let mut h = Harness::new("racing_200");
    let cap = start_capture(&mut h, "udp and portrange 15060-15089", 40, &[STATION_PORT, UAS_A]);
    let uas = sipp_fork_race(&mut h, "fork", UAS_A, 16000, secs(30));
    let mut spec = StationSpec::new(STATION_PORT, 20500);
    spec.outbound_proxy = format!("127.0.0.1:{UAS_A}");
    let mut st = start_station(&mut h, &spec);

    st.command_ok("press 1");
    st.events.wait("answered", secs(10), "the first of the two 200s");
    let actions = h.log_file("fork.actions.log");
    common::peers::wait_file(&actions, "BYE dialog B", secs(5), "the BYE for the extra 200 (To tag B)");
    let answered = st.events.of_kind("answered");
    assert_eq!(answered.len(), 1, "two forks answered at once, one call is answered: {answered:?}");
    st.command_ok("hangup");
    let ended = st.events.wait("ended", secs(10), "hanging up");
    assert_eq!(ended["reason"], "local_hangup", "the call after hangup: {ended}");
    let status = h.wait(uas, secs(10));
    cap.finish(&mut h);
    assert!(
        status.is_some_and(|s| s.success()),
        "SIPp (two 200s, ACK A, ACK B, BYE B, BYE A) did not complete: {status:?}, see fork.msg.log"
    );
    let log = read_lossy(&actions);
    for line in ["ACK dialog A", "ACK dialog B", "BYE dialog A"] {
        assert!(log.contains(line), "SIPp's action log lacks `{line}`:\n{log}");
    }

    let byes = byes_received(&read_lossy(&h.log_file("fork.msg.log")));
    for dialog in ["ForkA", "ForkB"] {
        let n = byes.iter().filter(|(tag, _)| tag.contains(dialog)).count();
        assert_eq!(n, 1, "BYE transactions to dialog {dialog}: {byes:?}");
    }
    assert_eq!(byes.len(), 2, "BYEs SIPp received (To tag, CSeq): {byes:?}");
    assert!(byes[0].0.contains("ForkB"), "the extra 200's dialog (B) must be BYEd first, before the hangup: {byes:?}");
    check_race_wire(&cap, STATION_PORT);
}

/// The (To tag, CSeq) of each BYE transaction SIPp received, from its message trace;
/// retransmissions (same tag and CSeq) count once.
fn byes_received(trace: &str) -> Vec<(String, u32)> {
    let mut byes: Vec<(String, u32)> = Vec::new();
    for block in trace.split("message received").skip(1) {
        let msg = block.split("message sent").next().unwrap_or("");
        if !msg.lines().any(|l| l.starts_with("BYE ")) {
            continue;
        }
        let header = |name: &str| {
            msg.lines()
                .find_map(|l| {
                    l.get(..name.len()).filter(|h| h.eq_ignore_ascii_case(name)).map(|_| l[name.len()..].trim())
                })
                .unwrap_or("")
        };
        let tag = header("to:").split(";tag=").nth(1).unwrap_or("").to_string();
        let cseq = header("cseq:").split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
        if !byes.contains(&(tag.clone(), cseq)) {
            byes.push((tag, cseq));
        }
    }
    byes
}

/// On the wire: both 200s reach the station, it sends two ACKs, and its first BYE (dialog B's;
/// the trace tells them apart) leaves less than 2 s after the second 200.
fn check_race_wire(cap: &common::capture::Capture, station: u16) {
    let sip = cap.sip();
    let oks: Vec<f64> = sip
        .iter()
        .filter(|p| p.src == UAS_A && p.dst == station && p.is_response(200, "INVITE"))
        .map(|p| p.time)
        .collect();
    assert!(oks.len() >= 2, "both forks' 200s must reach the station, got {} (see capture.txt)", oks.len());
    let acks = sip.iter().filter(|p| p.src == station && p.dst == UAS_A && p.method == "ACK").count();
    assert!(acks >= 2, "two 200s, {acks} ACKs (see capture.txt)");
    let first_bye = sip
        .iter()
        .find(|p| p.src == station && p.dst == UAS_A && p.method == "BYE")
        .map(|p| p.time)
        .expect("the station sent no BYE (see capture.txt)");
    let after = first_bye - oks[1];
    assert!(after < 2.0, "the extra 200 was BYEd {after:.1} s after it arrived: only by the hangup?");
}
