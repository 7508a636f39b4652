//! Access control end to end: the station as an OSDP reader of a real control panel (the PyPI
//! libosdp ControlPanel in door-station/osdp/tests/cp.py, over a pseudo-terminal pair) and as a
//! Wiegand sender on simulated lines; and the simulated door inputs driven from the control socket.
//!
//! An unlock by SIP DTMF (SIPp's INFO `#`) must reach the panel as a card read with the
//! configured format, facility and card number over an active Secure Channel, and the frame on
//! the Wiegand lines must decode to the same credential. The credential is decoded here by hand
//! (H10301: even parity over bits 0-12, odd over 13-25), not with the station's own decoder.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::harness::{Harness, ProcId, bounded, read_lossy, repo_root};
use common::peers::sipp_uas_info;
use common::secs;
use common::station::{StationSpec, pulses, start_station};

const FACILITY: u32 = 171;
const CARD: u32 = 48_879;
/// The SCBK both sides know: `door-station-key` in ASCII.
const SCBK: &str = "646f6f722d73746174696f6e2d6b6579";
/// cp.py's PD address.
const PD_ADDRESS: u8 = 101;

/// The panel script: prints `PTY <path>`, then waits for a line on stdin.
fn start_panel(h: &mut Harness, scenario: &str) -> (ProcId, PathBuf) {
    let script = repo_root().join("door-station/osdp/tests/cp.py");
    let mut cmd = bounded("python3", secs(120));
    cmd.arg(script).args([scenario, SCBK]);
    let panel = h.spawn("panel", cmd, true);
    h.wait_log(panel, "PTY ", secs(60), "the panel creating its pty (pip may install libosdp first)");
    let log = h.read_log(panel);
    let line = log.lines().find_map(|l| l.strip_prefix("PTY ")).expect("a PTY line");
    (panel, PathBuf::from(line.trim()))
}

/// The first line of the panel's log that starts with `prefix`.
fn panel_line(h: &Harness, panel: ProcId, prefix: &str) -> String {
    let log = h.read_log(panel);
    log.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("the panel never printed {prefix:?}:\n{log}"))
        .to_string()
}

/// Facility and card of a 26-bit H10301 frame, checking both parity bits.
fn decode_h10301(bits: &[bool]) -> (u32, u32) {
    assert_eq!(bits.len(), 26, "an H10301 frame has 26 bits: {bits:?}");
    let ones = |r: std::ops::Range<usize>| bits[r].iter().filter(|&&b| b).count();
    assert_eq!(ones(0..13) % 2, 0, "leading even parity over bits 0-12 fails: {bits:?}");
    assert_eq!(ones(13..26) % 2, 1, "trailing odd parity over bits 13-25 fails: {bits:?}");
    let value = |r: std::ops::Range<usize>| bits[r].iter().fold(0u32, |v, &b| v << 1 | u32::from(b));
    (value(1..9), value(9..25))
}

/// The first `n` bits of `hex`, most significant first (osdp_RAW packs them so).
fn hex_bits(hex: &str, n: usize) -> Vec<bool> {
    let bytes: Vec<u8> =
        (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex card data")).collect();
    (0..n).map(|i| bytes[i / 8] & (0x80 >> (i % 8)) != 0).collect()
}

/// The `sent` frames of the Wiegand log, as bits.
fn sent_frames(log: &std::path::Path) -> Vec<Vec<bool>> {
    read_lossy(log)
        .lines()
        .filter_map(|l| {
            let mut fields = l.split_whitespace().skip(1);
            (fields.next() == Some("sent")).then(|| fields.next().unwrap_or("").chars().map(|c| c == '1').collect())
        })
        .collect()
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace().find_map(|f| f.strip_prefix(key)).unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

#[test]
fn dtmf_unlock_reaches_the_panel_as_a_secure_card_read_and_on_wiegand() {
    let mut h = Harness::new("osdp_unlock");
    let (panel, pty) = start_panel(&mut h, "station");
    let uas = sipp_uas_info(&mut h, "uas", 15064, 16400, "#", secs(60));
    let mut spec = StationSpec::new(15086, 20600);
    spec.outbound_proxy = "127.0.0.1:15064".into();
    spec.unlock_allow = vec!["*@sip.test".into(), "*@127.0.0.1".into()];
    spec.extra_toml = format!(
        "[wiegand]\nbackend = \"sim\"\nformat = \"H10301\"\nfacility = {FACILITY}\ncard = {CARD}\n\n\
         [osdp]\nbackend = \"serial\"\nport = {port:?}\naddress = {PD_ADDRESS}\nsecure = true\n\
         scbk = \"{SCBK}\"\nkey_file = {key:?}\nenforce_secure = true\n",
        port = pty.display().to_string(),
        key = h.tmp.join("osdp-scbk").display().to_string(),
    );
    let mut st = start_station(&mut h, &spec);
    h.write_stdin(panel, "go");
    h.wait_log(panel, "SECURE", secs(20), "the panel's Secure Channel session with the station");
    assert!(!h.read_log(panel).contains("NO_SC"), "the panel did not get a Secure Channel session");
    st.events.wait_for("osdp", secs(10), "the station seeing the secure link", |e| {
        e["online"] == true && e["secure"] == true
    });

    st.command_ok("press 1");
    let unlock = st.events.wait("unlock", secs(15), "the INFO Signal=# from SIPp");
    assert_eq!(unlock["result"], "opened", "INFO # from an allowed callee must open: {unlock}");
    h.wait_log(panel, "CARD ", secs(15), "the card read the unlock sends to the panel");
    let card = panel_line(&h, panel, "CARD ");
    assert_eq!(field(&card, "format="), "1", "osdp_RAW format 1 is Wiegand: {card}");
    assert_eq!(field(&card, "bits="), "26", "H10301 is 26 bits: {card}");
    assert_eq!(field(&card, "sc="), "1", "the card read must come over Secure Channel: {card}");
    let bits = hex_bits(field(&card, "data="), 26);
    assert_eq!(decode_h10301(&bits), (FACILITY, CARD), "the panel's card read: {card}");

    let frame = st.events.wait("wiegand", secs(10), "the Wiegand frame of the unlock");
    assert_eq!(frame["bits"], 26, "{frame}");
    let frames = sent_frames(&st.wiegand_log);
    assert!(!frames.is_empty(), "no sent frame in {}", st.wiegand_log.display());
    for f in &frames {
        assert_eq!(decode_h10301(f), (FACILITY, CARD), "a frame on the simulated Wiegand lines");
    }

    // The panel's own order: OUT 0 temporary on for 2 s opens without a credential.
    h.wait_log(panel, "OUT_SENT", secs(15), "the panel ordering the relay on");
    let out = st.events.wait_for("panel", secs(10), "the panel's OUT", |e| e["command"] == "output");
    assert_eq!((out["accepted"].clone(), out["ms"].clone()), (true.into(), 2000.into()), "{out}");
    let by_panel = st.events.wait("unlock", secs(5), "the panel's opening");
    assert_eq!(by_panel["by"], "panel", "{by_panel}");
    let edges = st.wait_relay_edges(4, secs(10), "two relay pulses: the unlock's and the panel's");
    let lengths = pulses(&edges);
    assert!(lengths.len() == 2 && lengths[1] >= 1980, "pulses {lengths:?} (the second is the panel's 2 s)");
    assert_eq!(sent_frames(&st.wiegand_log).len(), frames.len(), "the panel's opening sends no credential");

    assert!(h.wait(panel, secs(20)).is_some_and(|s| s.success()), "the panel script failed: see panel.log");
    let _ = h.wait(uas, secs(15));
}

#[test]
fn simulated_door_inputs_report_forced_held_open_authorized_and_exit() {
    let mut h = Harness::new("door_inputs");
    let mut spec = StationSpec::new(15087, 20700);
    spec.pulse_ms = 1000;
    spec.extra_toml = format!(
        "[wiegand]\nbackend = \"sim\"\nfacility = {FACILITY}\ncard = {CARD}\n\n\
         [door]\nbackend = \"sim\"\ndebounce_ms = 20\nheld_open_s = 1\ngrant_grace_ms = 500\nexit_unlock_ms = 800\n"
    );
    let mut st = start_station(&mut h, &spec);
    let door = |st: &mut common::station::Station, state: &str, what: &str| {
        st.events.wait_for("door", secs(5), what, |e| e["state"] == state)
    };

    st.command_ok("door open");
    let opened = door(&mut st, "opened", "a door opened without an unlock");
    assert_eq!(opened["authorized"], false, "{opened}");
    door(&mut st, "forced", "the forced door");
    let held = door(&mut st, "held_open", "the door held open past held_open_s = 1");
    assert_eq!(held["open_s"], 1, "{held}");
    st.command_ok("door close");
    let closed = door(&mut st, "closed", "the door closing");
    assert!(closed["open_ms"].as_u64().is_some_and(|ms| ms >= 1000), "{closed}");

    st.command_ok("unlock");
    st.events.wait("wiegand", secs(5), "the unlock's Wiegand frame");
    st.command_ok("door open");
    let opened = door(&mut st, "opened", "the door opened during the unlock");
    assert_eq!(opened["authorized"], true, "{opened}");
    st.command_ok("door close");
    door(&mut st, "closed", "the door closing again");
    st.wait_relay_edges(2, secs(5), "the unlock's pulse");
    std::thread::sleep(Duration::from_millis(1200)); // the relay's 1 s cooldown

    st.command_ok("exit");
    st.events.wait("exit_requested", secs(5), "the exit button");
    let unlock = st.events.wait_for("unlock", secs(5), "the exit opening", |e| e["by"] == "exit");
    assert_eq!(unlock["result"], "opened", "{unlock}");
    let edges = st.wait_relay_edges(4, secs(5), "the exit's pulse");
    assert_eq!(pulses(&edges).len(), 2, "{edges:?}");

    st.command_ok("tamper on");
    let tamper = st.events.wait("tamper", secs(5), "the tamper switch");
    assert_eq!(tamper["active"], true, "{tamper}");
    std::thread::sleep(Duration::from_millis(300));
    let frames = sent_frames(&st.wiegand_log);
    assert_eq!(frames.len(), 1, "one credential (the unlock's), none for the exit: {frames:?}");
    assert_eq!(decode_h10301(&frames[0]), (FACILITY, CARD));
    assert_eq!(st.events.of_kind("wiegand").len(), 1, "one wiegand event");
    assert!(st.command("door ajar").starts_with("err"), "a bad door argument is refused");
}
