//! The built daemon under a stand-in for systemd: `NOTIFY_SOCKET` is a Unix
//! datagram socket bound by the test, `WATCHDOG_USEC=200000`. The station
//! must say `READY=1`, then ping `WATCHDOG=1` from its loop, then say
//! `STOPPING=1` after SIGTERM and exit 0. `--release-relay` with the
//! simulated relay appends an `off` edge to `DOOR_STATION_RELAY_LOG`.
//! Ports: SIP 127.0.0.1:15090, RTP 44000–44099.

mod support {
    pub mod notify;
}

use std::path::{Path, PathBuf};
use std::process::Command;
use support::notify;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("door-station-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_config(dir: &Path) -> PathBuf {
    let text = format!(
        "[sip]\nuser = \"door\"\ndomain = \"home\"\nlisten = \"127.0.0.1:15090\"\n\
         [[button]]\ntarget = \"sip:everyone@home\"\n\
         [media]\nrtp_port_min = 44000\nrtp_port_max = 44099\nvideo = false\n\
         [relay]\nbackend = \"sim\"\n[buttons]\nbackend = \"sim\"\n\
         [control]\nsocket = \"{}\"\n",
        dir.join("control.sock").display()
    );
    let path = dir.join("station.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn ready_then_watchdog_pings_then_stopping_after_sigterm() {
    let dir = TempDir::new("notify");
    let mut station = Command::new(env!("CARGO_BIN_EXE_door-station"));
    station.arg("--config").arg(write_config(&dir.0));
    let control = dir.0.join("control.sock");
    notify::assert_lifecycle(station, &dir.0, || assert!(control.exists(), "the control socket is up by READY=1"));
}

#[test]
fn release_relay_with_the_sim_backend_logs_an_off_edge_and_exits_0() {
    let dir = TempDir::new("release");
    let config = write_config(&dir.0);
    let log = dir.0.join("relay.log");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_door-station"))
            .args(["--config", config.to_str().unwrap(), "--release-relay"])
            .env("DOOR_STATION_RELAY_LOG", &log)
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(run().status.success(), "a second release is fine too");
    let text = std::fs::read_to_string(&log).unwrap();
    let words: Vec<&str> = text
        .lines()
        .map(|l| {
            l.split_once(' ').map_or("", |(ms, w)| {
                assert!(ms.parse::<u64>().is_ok(), "unix ms in {l:?}");
                w
            })
        })
        .collect();
    assert_eq!(words, ["off", "off"], "one off edge per run: {text:?}");
    assert!(!dir.0.join("control.sock").exists(), "the daemon did not start");
}

#[test]
fn release_relay_without_a_log_does_nothing_and_a_bad_config_fails() {
    let dir = TempDir::new("release-bad");
    let config = write_config(&dir.0);
    let out = Command::new(env!("CARGO_BIN_EXE_door-station"))
        .args(["--config", config.to_str().unwrap(), "--release-relay"])
        .env_remove("DOOR_STATION_RELAY_LOG")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let bad = dir.0.join("bad.toml");
    std::fs::write(&bad, "[relay]\nbackend = \"nope\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_door-station"))
        .args(["--config", bad.to_str().unwrap(), "--release-relay"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "an unreadable config is an error, not a silent success");
}

/// The image's `/etc/door-station/station.toml` (assets/pi/) passes `--check-config`.
#[test]
fn the_pi_image_station_toml_passes_check_config() {
    let asset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/pi/station.toml");
    let text = std::fs::read_to_string(&asset).unwrap();
    for line in ["listen = \"127.0.0.1:5062\"", "registrar = \"127.0.0.1:5060\"", "backend = \"rpi\""] {
        assert!(text.lines().any(|l| l.trim() == line), "{line:?} in {}", asset.display());
    }
    let out = Command::new(env!("CARGO_BIN_EXE_door-station"))
        .args(["--config", asset.to_str().unwrap(), "--check-config"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(": ok\n"));
}
