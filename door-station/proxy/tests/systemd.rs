//! The built proxy under a stand-in for systemd (`NOTIFY_SOCKET` bound by
//! the test, `WATCHDOG_USEC=200000`): `READY=1`, `WATCHDOG=1` pings, then
//! `STOPPING=1` after SIGTERM. And the Pi image's proxy.toml (assets/pi/)
//! passes `--check-config`. Ports 15260 on 127.0.0.1.

// The systemd stand-in is shared with the station's daemon test.
#[path = "../../station/tests/support/notify.rs"]
mod notify;

use std::path::{Path, PathBuf};
use std::process::Command;

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("intercom-proxy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

#[test]
fn ready_then_watchdog_pings_then_stopping_after_sigterm() {
    let dir = scratch("notify");
    let config = dir.0.join("proxy.toml");
    let text = format!(
        "domains = [\"home\"]\n[listen]\nudp = [\"127.0.0.1:15260\"]\ntcp = [\"127.0.0.1:15260\"]\n\
         [auth]\nenabled = false\npasswd = \"\"\n[registrar]\nstore = \"{}\"\n[routing]\nroutes = \"\"\n",
        dir.0.join("bindings.jsonl").display()
    );
    std::fs::write(&config, text).unwrap();
    let mut proxy = Command::new(env!("CARGO_BIN_EXE_intercom-proxy"));
    proxy.arg("--config").arg(&config);
    let bound = || assert!(std::net::UdpSocket::bind("127.0.0.1:15260").is_err(), "SIP is bound by READY=1");
    notify::assert_lifecycle(proxy, &dir.0, bound);
}

/// The image's proxy.toml, with its /etc and /var/lib paths moved to the
/// workspace's sample passwd and routes and a scratch bindings file.
#[test]
fn the_pi_image_proxy_toml_passes_check_config() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets");
    let text = std::fs::read_to_string(assets.join("pi/proxy.toml")).unwrap();
    assert!(text.contains("udp = [\"0.0.0.0:5060\"]"), "the proxy owns 5060 on the Pi");
    let dir = scratch("pi-check");
    let moved = text
        .replace("\"/etc/door-station/", &format!("\"{}/", assets.display()))
        .replace("\"/var/lib/door-station/", &format!("\"{}/", dir.0.display()));
    assert_ne!(moved, text, "the paths were found");
    let config = dir.0.join("proxy.toml");
    std::fs::write(&config, moved).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_intercom-proxy"))
        .args(["--config", config.to_str().unwrap(), "--check-config"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
