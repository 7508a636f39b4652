//! A stand-in for systemd's side of `Type=notify` with `WatchdogSec=`,
//! shared by the station's and the proxy's daemon tests.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Killed (SIGKILL, its own pid) if the test fails before it exits.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The next notification, its trailing newline cut (`READY=1`, ...).
fn next(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).expect("a notification before the read timeout");
    String::from_utf8_lossy(&buf[..n]).trim_end().to_string()
}

/// Runs `daemon` with `NOTIFY_SOCKET` in `dir` and `WATCHDOG_USEC=200000`
/// (its log in `dir/daemon.log`) and checks the whole protocol: `READY=1`
/// first, then `WATCHDOG=1` pings; `when_ready` runs at `READY=1`; after
/// SIGTERM to the daemon's own pid only pings until `STOPPING=1`, then exit 0.
pub fn assert_lifecycle(mut daemon: Command, dir: &Path, when_ready: impl FnOnce()) {
    let path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path).unwrap();
    // Only a guard against a daemon that never speaks: no timing is asserted.
    socket.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
    daemon.env("NOTIFY_SOCKET", &path).env("WATCHDOG_USEC", "200000").env_remove("WATCHDOG_PID");
    let mut child = Daemon(daemon.stdout(Stdio::null()).stderr(log).spawn().unwrap());
    let log = || std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();

    assert_eq!(next(&socket), "READY=1", "READY=1 comes first; log:\n{}", log());
    when_ready();
    for _ in 0..3 {
        assert_eq!(next(&socket), "WATCHDOG=1");
    }
    let pid = child.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success(), "kill -TERM {pid}");
    loop {
        match next(&socket).as_str() {
            "STOPPING=1" => break,
            line => assert_eq!(line, "WATCHDOG=1", "only pings before STOPPING=1"),
        }
    }
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "exit after SIGTERM: {exit:?}; log:\n{}", log());
}
