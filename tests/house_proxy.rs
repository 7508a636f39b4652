//! Our own intercom-proxy as the house proxy: registrar with digest (MD5), the broadcast route
//! `everyone` = alice (SIPp UAS), carol (baresip, early) and dave (linphone-daemon, early media),
//! and the early-media relay on 127.0.0.1. All three register with digest, a wrong password is
//! refused; the station's button calls `everyone` and all three ring. Every device that sent a
//! 183 with SDP receives the station's H264 from the relay before anyone answers, while the
//! station sends its video to one destination only (the relay); carol answers, alice and dave
//! get CANCEL; an RFC 4733 `#` from carol reaches the station and opens the door.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::capture::{Capture, start_capture};
use common::harness::{Harness, ProcId, bounded, read_lossy, repo_root, require};
use common::peers::{Baresip, Linphone, baresip, linphone, wait_file};
use common::station::{StationSpec, start_station, station_bin};
use common::{ms, secs};

const PROXY_PORT: u16 = 15110;
const STATION_PORT: u16 = 15112;
const STATION_RTP: u16 = 21000;
const ALICE_PORT: u16 = 15114;
const ALICE_MEDIA: u16 = 21200;
const CAROL_PORT: u16 = 15116;
const CAROL_CTRL: u16 = 4450;
const CAROL_RTP: (u16, u16) = (21300, 21399);
const DAVE_PORT: u16 = 15118;
const DAVE_RTP: (u16, u16) = (21400, 21498);
const BOB_PORT: u16 = 15120;
const BOB_MEDIA: u16 = 21600;
const RELAY: (u16, u16) = (41200, 41299);
/// After the answer the relay connects only the answering leg; copies in flight may still land.
const ANSWER_SLACK_S: f64 = 0.5;

/// dave is not among the sample users: HA1s of `dave:home:secret`.
const DAVE_PASSWD: &str = "dave@home md5:989468332867620584ac85e9b268e423 \
     sha256:818d12c051aee47f34a909d209bb1410a1845ecf03d7e19c0ee0034b67855c92 ;\n";

#[test]
fn house_proxy_relays_early_video_to_every_ringing_device_then_dtmf_opens() {
    let mut h = Harness::new("house_proxy");
    let cap = start_capture(
        &mut h,
        "udp and (portrange 15110-15121 or portrange 21000-21699 or portrange 41200-41299)",
        55,
        &[PROXY_PORT, STATION_PORT, ALICE_PORT, CAROL_PORT, DAVE_PORT, BOB_PORT],
    );
    let store = start_proxy(&mut h);
    let bob = sipp_registered_uas(&mut h, "bob", "wrong", BOB_PORT, BOB_MEDIA, 10);
    let _alice = sipp_registered_uas(&mut h, "alice", "secret", ALICE_PORT, ALICE_MEDIA, 55);
    let domain = format!("127.0.0.1:{PROXY_PORT}");
    let carol_rtp = format!("{}-{}", CAROL_RTP.0, CAROL_RTP.1);
    let carol_peer = Baresip {
        user: "carol",
        port: CAROL_PORT,
        ctrl_port: CAROL_CTRL,
        domain: &domain,
        register: true,
        answermode: "early",
        rtp_ports: &carol_rtp,
    };
    let (_, mut carol) = baresip(&mut h, "carol", &carol_peer, secs(55));
    let dave_peer = Linphone {
        user: "dave",
        port: DAVE_PORT,
        registrar: Some(&domain),
        early_media: true,
        auto_answer: false,
        ports: ("21400-21448", "21450-21498"),
    };
    let dave = linphone(&mut h, "dave", &dave_peer, secs(55));
    for user in ["alice", "carol", "dave"] {
        wait_bound(&store, user, secs(15));
    }
    check_refused(&mut h, bob, &store);

    let mut spec = StationSpec::new(STATION_PORT, STATION_RTP);
    spec.domain = "home".into();
    spec.registrar = domain.clone();
    spec.outbound_proxy = domain.clone();
    spec.buttons = vec!["sip:everyone@home".into()];
    spec.unlock_allow = vec!["*@home".into(), "*@127.0.0.1".into()];
    spec.early_media_limit = 4;
    let mut st = start_station(&mut h, &spec);
    st.wait_registered(secs(15), "the station registering with intercom-proxy (digest)");
    wait_bound(&store, "door", secs(5));

    st.command_ok("press 1");
    st.events.wait("ringing", secs(5), "the button press");
    let mut dialogs = BTreeSet::new();
    while dialogs.len() < 3 {
        let e = st.events.wait_for("early_media", secs(10), "a 183 with SDP from each of alice, carol and dave", |e| {
            !dialogs.contains(&e["dialog"].to_string())
        });
        dialogs.insert(e["dialog"].to_string());
    }
    // Let the relay copy the one stream to every early leg before anyone answers.
    std::thread::sleep(secs(3));
    carol.command_ok("accept", "");
    let answered = st.events.wait("answered", secs(10), "carol (baresip) accepting");
    let alice_log = h.log_file("alice").join(format!("uas_127.0.0.1_{ALICE_PORT}.actions.log"));
    wait_file(&alice_log, "call CANCELled", secs(10), "alice (SIPp) getting CANCEL");
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

/// `$DOOR_STATION_BIN_DIR/intercom-proxy`, else next to the station's binary.
fn proxy_bin() -> PathBuf {
    let bin = station_bin().with_file_name("intercom-proxy");
    assert!(bin.is_file(), "no {}: build it with `cargo build -p door-station -p intercom-proxy`", bin.display());
    bin
}

/// Writes proxy.toml, passwd (the samples plus dave) and routes, starts the proxy on
/// `PROXY_PORT` and returns its bindings store.
fn start_proxy(h: &mut Harness) -> PathBuf {
    let dir = h.log_file("proxy");
    std::fs::create_dir_all(&dir).expect("proxy config dir");
    let sample = std::fs::read_to_string(repo_root().join("assets").join("passwd")).expect("read assets/passwd");
    let passwd = dir.join("passwd");
    std::fs::write(&passwd, format!("{sample}{DAVE_PASSWD}")).expect("write passwd");
    let routes = dir.join("routes");
    std::fs::write(&routes, "<sip:everyone@home> <sip:alice@home>, <sip:carol@home>, <sip:dave@home>\n")
        .expect("write routes");
    let store = dir.join("bindings.jsonl");
    let config = dir.join("proxy.toml");
    std::fs::write(
        &config,
        format!(
            r#"# written by the end-to-end tests
domains = ["home"]
[listen]
udp = ["127.0.0.1:{PROXY_PORT}"]
tcp = ["127.0.0.1:{PROXY_PORT}"]
[auth]
enabled = true
passwd = {passwd:?}
algorithms = ["MD5"]
[registrar]
store = {store:?}
[routing]
routes = {routes:?}
[relay]
enabled = true
address = "127.0.0.1"
port_min = {}
port_max = {}
"#,
            RELAY.0, RELAY.1
        ),
    )
    .expect("write proxy.toml");
    let mut cmd = bounded(proxy_bin(), secs(70));
    cmd.arg("--config").arg(&config).env("RUST_LOG", "debug");
    let id = h.spawn("intercom-proxy", cmd, false);
    h.wait_log(id, "intercom-proxy up", secs(10), "intercom-proxy start");
    store
}

/// SIPp as a UAS that registers `user` with digest first (the proxy's `run_uas.sh`):
/// 183 + recvonly SDP to an INVITE, then it waits for CANCEL (it never answers).
fn sipp_registered_uas(h: &mut Harness, user: &str, password: &str, port: u16, media: u16, limit: u64) -> ProcId {
    require("sipp", "sip-tester");
    let script = repo_root().join("door-station/proxy/tests/peers/sipp/run_uas.sh");
    let mut cmd = Command::new("sh");
    cmd.arg(script);
    cmd.env("REGISTRAR", format!("127.0.0.1:{PROXY_PORT}")).env("SIP_USER", user).env("AUTH_PASS", password);
    cmd.env("PORT", port.to_string()).env("MEDIA_PORT", media.to_string()).env("WAIT_MS", "-1");
    cmd.env("ECHO", "0").env("TIMEOUT", limit.to_string()).env("LOGDIR", h.log_file(user));
    h.spawn(user, cmd, false)
}

/// Waits until the proxy's bindings store holds a binding for `user@home`.
fn wait_bound(store: &Path, user: &str, limit: Duration) {
    let aor = format!("\"aor\":\"{user}@home\"");
    let deadline = Instant::now() + limit;
    while !read_lossy(store).contains(&aor) {
        assert!(
            Instant::now() < deadline,
            "{user} is not registered at intercom-proxy within {limit:?}: no {aor} in {}",
            store.display()
        );
        std::thread::sleep(ms(100));
    }
}

/// bob's REGISTER with a wrong password is answered 403 or 401 again, never 200, and no binding
/// for bob appears.
fn check_refused(h: &mut Harness, bob: ProcId, store: &Path) {
    let status = h.wait(bob, secs(12));
    let log = read_lossy(&h.log_file("bob").join(format!("uas_127.0.0.1_{BOB_PORT}.msg.log")));
    let authorized = log.matches("Authorization:").count();
    let challenges = log.matches("SIP/2.0 401").count();
    assert!(authorized >= 1, "bob (wrong password) never answered the challenge (SIPp status {status:?})");
    assert!(
        log.contains("SIP/2.0 403") || challenges >= 2,
        "bob's REGISTER with a wrong password got neither 403 nor a new 401 (bob/*.msg.log)"
    );
    assert!(!log.contains("SIP/2.0 200"), "bob's REGISTER with a wrong password was accepted (bob/*.msg.log)");
    assert!(
        !read_lossy(store).contains("\"aor\":\"bob@home\""),
        "the proxy stored a binding for bob despite the wrong password"
    );
}

fn check_wire(cap: &Capture, spec: &StationSpec) {
    let sip = cap.sip();
    let t200 = sip
        .iter()
        .filter(|p| p.src == CAROL_PORT && p.is_response(200, "INVITE"))
        .map(|p| p.time)
        .next()
        .expect("no 200 to the INVITE from carol (see capture.txt)");
    let devices = [
        ("alice", ALICE_PORT, (ALICE_MEDIA, ALICE_MEDIA + 3)),
        ("carol", CAROL_PORT, CAROL_RTP),
        ("dave", DAVE_PORT, DAVE_RTP),
    ];
    for (who, port, _) in devices {
        let rang = sip.iter().any(|p| p.src == port && (p.is_response(180, "INVITE") || p.is_response(183, "INVITE")));
        assert!(rang, "{who} did not ring (no 180/183 from port {port})");
    }
    for (who, port) in [("alice", ALICE_PORT), ("dave", DAVE_PORT)] {
        let cancelled = sip.iter().any(|p| p.dst == port && p.method == "CANCEL");
        assert!(cancelled, "{who} (not answering) got no CANCEL (see capture.txt)");
    }
    let h264 = cap.h264_pts();
    let station = spec.rtp_port_min..=spec.rtp_port_max();
    let relay = RELAY.0..=RELAY.1;
    let rtp = cap.rtp();
    let video_out: BTreeSet<u16> =
        rtp.iter().filter(|p| station.contains(&p.src) && h264.contains(&p.pt)).map(|p| p.dst).collect();
    assert!(
        video_out.len() == 1 && video_out.iter().all(|d| relay.contains(d)),
        "the station must send its H264 to exactly one destination, a relay port {RELAY:?}; \
         it sent to {video_out:?}"
    );
    for (who, _, range) in devices {
        let times: Vec<f64> = rtp
            .iter()
            .filter(|p| relay.contains(&p.src) && (range.0..=range.1).contains(&p.dst) && h264.contains(&p.pt))
            .map(|p| p.time)
            .collect();
        let early = times.iter().filter(|&&t| t < t200).count();
        assert!(early > 0, "{who} received no H264 (pts {h264:?}) from the relay {RELAY:?} before carol's 200");
        let late = times.iter().filter(|&&t| t > t200 + ANSWER_SLACK_S).count();
        assert!(
            who == "carol" || late == 0,
            "{who} (not answering) still got {late} H264 packets from the relay {ANSWER_SLACK_S} s after carol's 200"
        );
    }
    let dtmf = cap.rtp_events().into_iter().any(|e| station.contains(&e.dst) && e.event == 11);
    assert!(dtmf, "no RFC 4733 event 11 (#) reached the station's RTP ports");
}
