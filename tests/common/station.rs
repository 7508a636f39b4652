//! The door-station daemon under test: its station.toml, the process, the control socket and the
//! simulated relay's edge log.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::events::Events;
use super::harness::{Harness, ProcId, bounded, read_lossy, repo_root};

/// How much shorter than `pulse_ms` a logged pulse may look (see [`Station::assert_one_pulse`]).
const STAMP_SLACK_MS: u64 = 20;

/// How long a station process may live at most.
const STATION_LIMIT: Duration = Duration::from_secs(150);

/// The `door-station` binary: `$DOOR_STATION_BIN_DIR`, else target/release, else target/debug.
pub fn station_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOOR_STATION_BIN_DIR") {
        let bin = PathBuf::from(dir).join("door-station");
        assert!(bin.is_file(), "DOOR_STATION_BIN_DIR is set but {} does not exist: build it first", bin.display());
        return bin;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"));
    ["release", "debug"]
        .iter()
        .map(|profile| target.join(profile).join("door-station"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no door-station binary in {}/{{release,debug}}: run `cargo build -p door-station` \
                 or set DOOR_STATION_BIN_DIR",
                target.display()
            )
        })
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// What a test changes in the station's configuration; everything else has test defaults.
#[derive(Clone, Debug)]
pub struct StationSpec {
    /// `sip.listen` port on 127.0.0.1.
    pub sip_port: u16,
    /// `sip.user`.
    pub user: String,
    /// `sip.domain`.
    pub domain: String,
    /// `sip.password`.
    pub password: String,
    /// `sip.registrar` (empty: no registration).
    pub registrar: String,
    /// `sip.outbound_proxy`.
    pub outbound_proxy: String,
    /// One `[[button]] target` per button.
    pub buttons: Vec<String>,
    /// `calls.allow_callers`.
    pub allow_callers: Vec<String>,
    /// `calls.early_media_limit`.
    pub early_media_limit: u32,
    /// `calls.ring_timeout_s`.
    pub ring_timeout_s: u32,
    /// `media.rtp_port_min` (the range is 100 ports wide).
    pub rtp_port_min: u16,
    /// `unlock.code`.
    pub code: String,
    /// `unlock.allow`.
    pub unlock_allow: Vec<String>,
    /// `unlock.max_failures`.
    pub max_failures: u32,
    /// `unlock.lockout_s`.
    pub lockout_s: u32,
    /// `relay.pulse_ms`.
    pub pulse_ms: u64,
    /// More `[media]` lines (devices, SRTP), appended to the table.
    pub media_extra: String,
    /// `media.keyframe_interval_s`.
    pub keyframe_interval_s: u32,
    /// `media.video_width`, `media.video_height`.
    pub video_size: (u32, u32),
    /// More tables appended to the file as written (`[wiegand]`, `[osdp]`, `[door]`).
    pub extra_toml: String,
}

impl StationSpec {
    /// Defaults for a station on `127.0.0.1:<sip_port>` with RTP ports from `rtp_port_min`.
    pub fn new(sip_port: u16, rtp_port_min: u16) -> StationSpec {
        StationSpec {
            sip_port,
            user: "door".into(),
            domain: "sip.test".into(),
            password: "secret".into(),
            registrar: String::new(),
            outbound_proxy: String::new(),
            buttons: vec!["sip:everyone@sip.test".into()],
            allow_callers: vec!["sip:alice@sip.test".into()],
            early_media_limit: 4,
            ring_timeout_s: 30,
            rtp_port_min,
            code: "#".into(),
            unlock_allow: vec!["sip:alice@sip.test".into()],
            max_failures: 3,
            lockout_s: 60,
            pulse_ms: 1500,
            media_extra: String::new(),
            keyframe_interval_s: 2,
            video_size: (320, 240),
            extra_toml: String::new(),
        }
    }

    /// The last RTP port of the station's range.
    pub fn rtp_port_max(&self) -> u16 {
        self.rtp_port_min + 99
    }

    /// The station.toml text, with the control socket at `socket`.
    pub fn to_toml(&self, socket: &Path) -> String {
        let buttons: String = self
            .buttons
            .iter()
            .enumerate()
            .map(|(i, t)| format!("[[button]]\ntarget = {t:?}\ngpio = {}\n\n", 17 + i))
            .collect();
        format!(
            r#"# written by the end-to-end tests
[sip]
user = {user:?}
domain = {domain:?}
display_name = "Test door"
auth_user = {user:?}
password = {password:?}
registrar = {registrar:?}
outbound_proxy = {outbound:?}
listen = "127.0.0.1:{port}"
transport = "udp"
register_expires = 300

{buttons}[calls]
ring_timeout_s = {ring}
max_call_s = 120
rtp_timeout_s = 30
early_media_limit = {limit}
allow_callers = {callers}

[media]
rtp_port_min = {rtp_min}
rtp_port_max = {rtp_max}
audio_codecs = ["opus", "pcmu", "pcma"]
video = true
video_width = {video_width}
video_height = {video_height}
video_fps = 15
video_bitrate_kbps = 384
keyframe_interval_s = {keyframe}
tone_hz = 440
{media_extra}
[unlock]
code = {code:?}
allow = {allow}
inter_digit_timeout_ms = 3000
max_failures = {failures}
lockout_s = {lockout}
message_body = "unlock"

[relay]
backend = "sim"
gpio = 26
active_low = false
pulse_ms = {pulse}

[buttons]
backend = "sim"
debounce_ms = 30

[control]
socket = {socket:?}

{extra}"#,
            user = self.user,
            domain = self.domain,
            password = self.password,
            registrar = self.registrar,
            outbound = self.outbound_proxy,
            port = self.sip_port,
            ring = self.ring_timeout_s,
            limit = self.early_media_limit,
            callers = toml_list(&self.allow_callers),
            rtp_min = self.rtp_port_min,
            rtp_max = self.rtp_port_max(),
            code = self.code,
            allow = toml_list(&self.unlock_allow),
            failures = self.max_failures,
            lockout = self.lockout_s,
            pulse = self.pulse_ms,
            media_extra = self.media_extra,
            keyframe = self.keyframe_interval_s,
            video_width = self.video_size.0,
            video_height = self.video_size.1,
            socket = socket.display().to_string(),
            extra = self.extra_toml,
        )
    }
}

/// A running station.
pub struct Station {
    /// The station's process.
    pub proc: ProcId,
    /// Its control socket.
    pub socket: PathBuf,
    /// The simulated relay's edge log (`<unix_ms> on|off` lines).
    pub relay_log: PathBuf,
    /// The simulated Wiegand lines' frames (`<unix_ms> sent|failed|aborted <bits> widths_us=..`).
    pub wiegand_log: PathBuf,
    /// The `events` stream of its control socket.
    pub events: Events,
    /// The configuration it runs with.
    pub spec: StationSpec,
}

/// Writes the station's config, checks it with `--check-config`, starts the daemon with the
/// simulated relay logging to `<logs>/relay.log` and connects to its event stream.
pub fn start_station(h: &mut Harness, spec: &StationSpec) -> Station {
    let bin = station_bin();
    let socket = h.tmp.join("control.sock");
    let config = h.log_file("station.toml");
    std::fs::write(&config, spec.to_toml(&socket)).expect("write station.toml");
    let mut check = bounded(&bin, Duration::from_secs(20));
    check.arg("--check-config").arg("--config").arg(&config);
    let out = check.output().unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "`door-station --check-config` rejected the test's station.toml ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let relay_log = h.log_file("relay.log");
    let mut cmd = bounded(&bin, STATION_LIMIT);
    cmd.arg("--config").arg(&config);
    cmd.env("DOOR_STATION_RELAY_LOG", &relay_log);
    let wiegand_log = h.log_file("wiegand.log");
    cmd.env("DOOR_STATION_WIEGAND_LOG", &wiegand_log);
    let filter = "info,door_station=debug,ds_sip=debug";
    cmd.env("RUST_LOG", std::env::var("DS_E2E_RUST_LOG").unwrap_or_else(|_| filter.into()));
    cmd.env("RUST_BACKTRACE", "1").env("NO_COLOR", "1");
    let proc = h.spawn("station", cmd, false);
    let stream = connect_control(h, proc, &socket);
    let events = Events::start(stream, h.log_file("events.jsonl"));
    Station { proc, socket, relay_log, wiegand_log, events, spec: spec.clone() }
}

fn connect_control(h: &mut Harness, proc: ProcId, socket: &Path) -> UnixStream {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(stream) = UnixStream::connect(socket) {
            return stream;
        }
        if let Some(status) = h.wait(proc, Duration::ZERO) {
            panic!("the station exited ({status}) before opening its control socket {}", socket.display());
        }
        if Instant::now() > deadline {
            panic!("the station did not open its control socket {} within 20 s", socket.display());
        }
        thread::sleep(Duration::from_millis(100));
    }
}

impl Station {
    /// Sends one control command and returns its one-line answer.
    pub fn command(&self, line: &str) -> String {
        let mut stream = UnixStream::connect(&self.socket)
            .unwrap_or_else(|e| panic!("cannot connect to the control socket for {line:?}: {e}"));
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("set read timeout");
        writeln!(stream, "{line}").unwrap_or_else(|e| panic!("cannot send {line:?}: {e}"));
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .unwrap_or_else(|e| panic!("no answer to control command {line:?} within 5 s: {e}"));
        answer.trim_end().to_string()
    }

    /// The `status` answer's JSON.
    pub fn status(&self) -> Value {
        let answer = self.command_ok("status");
        let json = answer.strip_prefix("ok").unwrap_or("").trim();
        serde_json::from_str(json).unwrap_or_else(|e| panic!("`status` answered {answer:?}, not `ok <json>`: {e}"))
    }

    /// Waits until the station is registered: a `registered` event, or `status` saying so
    /// (the REGISTER may have been answered before the event stream was subscribed).
    pub fn wait_registered(&mut self, limit: Duration, what: &str) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if !self.events.of_kind("registered").is_empty() || self.status()["registered"] == true {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
        let failures = self.events.of_kind("registration_failed");
        panic!("{what}: the station did not register within {limit:?} (registration_failed events: {failures:?})");
    }

    /// Sends a command that must answer `ok`.
    pub fn command_ok(&self, line: &str) -> String {
        let answer = self.command(line);
        assert!(answer.starts_with("ok"), "control command {line:?} answered {answer:?}, expected `ok`");
        answer
    }

    /// The relay edges logged so far.
    pub fn relay_edges(&self) -> Vec<RelayEdge> {
        relay_edges(&self.relay_log)
    }

    /// Waits until the relay log holds at least `n` edges, or fails the test.
    pub fn wait_relay_edges(&self, n: usize, limit: Duration, what: &str) -> Vec<RelayEdge> {
        let deadline = Instant::now() + limit;
        loop {
            let edges = self.relay_edges();
            if edges.len() >= n {
                return edges;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: expected {n} relay edges in {} within {limit:?}, got {edges:?}",
                self.relay_log.display()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Checks that the relay log holds exactly one pulse (on, off) of the configured length:
    /// at least `pulse_ms` and less than `pulse_ms` + 1000 (a wide bound: not a timing test).
    /// The edges are wall-clock milliseconds stamped when each edge is written, while the pulse
    /// is timed on the monotonic clock, so the difference may come out a few ms short.
    pub fn assert_one_pulse(&self, what: &str) {
        let edges = self.wait_relay_edges(2, Duration::from_millis(self.spec.pulse_ms + 5000), what);
        let on_off: Vec<bool> = edges.iter().map(|e| e.on).collect();
        assert_eq!(on_off, [true, false], "{what}: expected one on/off relay pulse, got {edges:?}");
        let len = pulses(&edges)[0];
        let want = self.spec.pulse_ms;
        assert!(
            (want.saturating_sub(STAMP_SLACK_MS)..want + 1000).contains(&len),
            "{what}: the relay pulse lasted {len} ms, configured pulse_ms = {want}"
        );
    }
}

/// One line of the simulated relay's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayEdge {
    /// Unix time in ms.
    pub unix_ms: u64,
    /// `true` for `on`.
    pub on: bool,
}

/// Parses a relay log; a missing file means no edges.
pub fn relay_edges(path: &Path) -> Vec<RelayEdge> {
    read_lossy(path)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let unix_ms = parts.next()?.parse().ok()?;
            let on = match parts.next()? {
                "on" => true,
                "off" => false,
                _ => return None,
            };
            Some(RelayEdge { unix_ms, on })
        })
        .collect()
}

/// The durations of complete on→off pulses in a list of edges, in ms.
pub fn pulses(edges: &[RelayEdge]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut on_since = None;
    for edge in edges {
        match (edge.on, on_since) {
            (true, None) => on_since = Some(edge.unix_ms),
            (false, Some(t)) => {
                out.push(edge.unix_ms.saturating_sub(t));
                on_since = None;
            }
            _ => {}
        }
    }
    out
}
