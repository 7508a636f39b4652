//! Unlock policy with SIPp calling the station and sending the PIN as SIP INFO digits:
//! a caller not on the unlock list never opens; a wrong PIN three times locks out, and even the
//! right PIN is refused while locked out; after the lockout the right PIN opens (the control that
//! proves the relay log works).

mod common;

use common::harness::{Harness, ProcId};
use common::peers::{UacCall, sipp_uac};
use common::station::{Station, StationSpec, start_station};
use common::{ms, secs};
use serde_json::Value;

const STATION_PORT: u16 = 15083;
const UAC_PORT: u16 = 15061;
const UAC_MEDIA: u16 = 16100;
const RTP_MIN: u16 = 20300;
const LOCKOUT_S: u32 = 8;

fn call(h: &mut Harness, tag: &str, caller: &str, dtmf: &str) -> ProcId {
    let target = format!("127.0.0.1:{STATION_PORT}");
    let call = UacCall {
        target: &target,
        callee: "door",
        caller,
        from_domain: "sip.test",
        dtmf,
        dtmf_mode: "info",
        talk: ms(1000),
    };
    sipp_uac(h, tag, UAC_PORT, UAC_MEDIA, &call, secs(25))
}

/// Runs one SIPp call to its end and returns the `unlock` events it caused.
fn call_and_collect(h: &mut Harness, st: &mut Station, tag: &str, caller: &str, dtmf: &str) -> Vec<Value> {
    let before = st.events.of_kind("unlock").len();
    let dtmf_before = st.events.of_kind("dtmf").len();
    let uac = call(h, tag, caller, dtmf);
    let incoming = st.events.wait("incoming", secs(10), &format!("{tag}: the INVITE from {caller}"));
    assert_eq!(incoming["accepted"], true, "{tag}: {caller} is on allow_callers and must be auto-answered: {incoming}");
    let status = h.wait(uac, secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "{tag}: the SIPp call from {caller} failed ({status:?}), see {tag}.msg.log"
    );
    st.events.wait("ended", secs(5), &format!("{tag}: the BYE from {caller}"));
    let dtmf_seen = st.events.of_kind("dtmf").len() - dtmf_before;
    assert_eq!(
        dtmf_seen,
        dtmf.len(),
        "{tag}: the station reported {dtmf_seen} dtmf events, {caller} sent {dtmf:?} as INFO"
    );
    st.events.of_kind("unlock")[before..].to_vec()
}

fn results(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["result"].as_str().unwrap_or("?")).collect()
}

#[test]
fn not_allowed_caller_and_lockout_never_open() {
    let mut h = Harness::new("unlock_policy");
    let mut spec = StationSpec::new(STATION_PORT, RTP_MIN);
    spec.allow_callers = vec!["sip:alice@sip.test".into(), "sip:mallory@sip.test".into()];
    spec.code = "1234#".into();
    spec.unlock_allow = vec!["sip:alice@sip.test".into()];
    spec.max_failures = 3;
    spec.lockout_s = LOCKOUT_S;
    spec.pulse_ms = 1000;
    let mut st = start_station(&mut h, &spec);

    // A caller who may call but not open sends the right code.
    let mallory = call_and_collect(&mut h, &mut st, "mallory", "mallory", "1234#");
    assert_eq!(results(&mallory), ["not_allowed"], "the right code from a caller not on unlock.allow: {mallory:?}");
    assert!(st.relay_edges().is_empty(), "the relay moved for a caller not on unlock.allow: {:?}", st.relay_edges());

    // Three wrong PINs, then the right one while locked out.
    let alice = call_and_collect(&mut h, &mut st, "lockout", "alice", "9999#9999#9999#1234#");
    let got = results(&alice);
    assert_eq!(got.first(), Some(&"wrong_code"), "the first wrong PIN must give wrong_code: {got:?}");
    assert!(got.contains(&"locked_out"), "three wrong PINs (max_failures = 3) must lock out: {got:?}");
    assert_eq!(got.last(), Some(&"locked_out"), "the right PIN while locked out must be refused: {got:?}");
    assert!(!got.contains(&"opened"), "the door opened during the lockout: {got:?}");
    std::thread::sleep(ms(300));
    assert!(st.relay_edges().is_empty(), "the relay moved during wrong codes/lockout: {:?}", st.relay_edges());
    let status = st.status();
    assert_eq!(status["locked_out"], true, "`status` during the lockout: {status}");

    // After the lockout the right PIN from alice opens: proof that edges would have been seen.
    std::thread::sleep(secs(u64::from(LOCKOUT_S) + 1));
    let after = call_and_collect(&mut h, &mut st, "after_lockout", "alice", "1234#");
    assert_eq!(results(&after), ["opened"], "the right PIN after the lockout expired: {after:?}");
    st.assert_one_pulse("the right PIN after the lockout");
}
