//! The built daemon against SIPp and kamailio on loopback: digest
//! registration, a refused password, a 3-way fork with CANCEL of the losers,
//! bindings that survive a restart, a routes file reloaded on SIGHUP, and
//! kamailio as the cloud.
//!
//! These run with every `cargo test -p intercom-proxy`. A missing peer is a
//! failure that names its Debian package (`make deps` installs them all),
//! never a silent skip. The tests share ports, so they take a lock (in this
//! process and, through a lock file, across processes) and run one at a
//! time. Each peer is bounded by `timeout`, each test by a watchdog.
//! Ports: proxy 15200, SIPp 15202–15210, kamailio 15270, media 16600–16661
//! (all 127.0.0.1).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

const PROXY: &str = "127.0.0.1:15200";

/// The tests share ports: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held for the whole of one real-peer test.
struct Serial {
    _in_process: std::sync::MutexGuard<'static, ()>,
    _across_processes: std::fs::File,
    _watchdog: Watchdog,
}

/// Checks the peers are installed, then waits for the ports: for the other
/// tests of this binary, and for any other run of these tests on the machine.
/// The test fails if it is still running after `limit`.
fn serial(peers: &[(&str, &str)], limit: Duration) -> Serial {
    for (binary, package) in peers {
        need(binary, package);
    }
    let in_process = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = std::env::temp_dir().join("intercom-proxy-real-peers.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).expect("lock file");
    file.lock().expect("lock on the real-peer ports");
    Serial { _in_process: in_process, _across_processes: file, _watchdog: Watchdog::arm(limit) }
}

/// Fails with the Debian package to install when `binary` is not on PATH.
fn need(binary: &str, package: &str) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| dir.join(binary).is_file());
    assert!(found, "`{binary}` is not on PATH: install the Debian package {package} (`make deps` does)");
}

/// Aborts the test process when a test outlives its limit: a hung peer
/// must fail the run, not stall it. It first kills the proxies still
/// running (by their own pids); the peers stop by their `timeout` wrappers.
struct Watchdog(std::sync::mpsc::Sender<()>);

/// Pids of the proxies started and not yet reaped (so never a reused pid).
static LIVE_PROXIES: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn live_proxies() -> std::sync::MutexGuard<'static, Vec<u32>> {
    LIVE_PROXIES.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Watchdog {
    fn arm(limit: Duration) -> Watchdog {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
                eprintln!("a real-peer test ran longer than {limit:?}: aborting");
                for pid in live_proxies().iter().filter(|pid| **pid > 1) {
                    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                }
                std::process::abort();
            }
        });
        Watchdog(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("intercom-proxy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A peer's stderr, appended to `<dir>/<name>.stderr`.
fn peer_log(dir: &Path, name: &str) -> std::fs::File {
    let path = dir.join(format!("{name}.stderr"));
    std::fs::OpenOptions::new().create(true).append(true).open(path).expect("peer log")
}

fn sipp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/sipp")
}

struct Proxy(Child);

impl Proxy {
    fn start(config: &Path, log: &Path) -> Proxy {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_intercom-proxy"))
            .args(["--config", config.to_str().unwrap()])
            .stderr(out)
            .spawn()
            .expect("the proxy starts");
        live_proxies().push(child.id());
        std::thread::sleep(Duration::from_millis(400));
        Proxy(child)
    }

    /// Sends `sig` to the proxy's own pid (it is not reaped yet, so the pid is ours).
    fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.0.id().to_string()]).status().unwrap();
        assert!(ok.success());
    }

    fn stop(mut self) {
        self.signal("-TERM");
        let status = self.reap();
        assert!(status.success(), "SIGTERM is a clean stop: {status}");
    }

    fn reap(&mut self) -> ExitStatus {
        let pid = self.0.id();
        live_proxies().retain(|p| *p != pid);
        self.0.wait().expect("wait for the proxy")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.reap();
    }
}

fn write_config(dir: &Path) -> PathBuf {
    write_config_with(dir, "<sip:everyone@home> <sip:alice@home>, <sip:bob@home>, <sip:carol@home>\n", "")
}

fn write_config_with(dir: &Path, routes: &str, upstream: &str) -> PathBuf {
    let passwd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/passwd");
    let text = format!(
        "domains = [\"home\"]\n[listen]\nudp = [\"{PROXY}\"]\ntcp = [\"{PROXY}\"]\n[auth]\npasswd = \"{}\"\n\
         [registrar]\nstore = \"{}\"\n[routing]\nroutes = \"{}\"\nfork_timeout_s = 20\nupstream = \"{upstream}\"\n",
        passwd.display(),
        dir.join("bindings.jsonl").display(),
        dir.join("routes").display()
    );
    std::fs::write(dir.join("routes"), routes).unwrap();
    let path = dir.join("proxy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A registered SIPp UAS (answers after `wait_ms`, or never when -1).
fn uas(dir: &Path, user: &str, port: u16, media: u16, wait_ms: i32) -> Child {
    uas_at(dir, PROXY, user, port, media, wait_ms)
}

fn uas_at(dir: &Path, registrar: &str, user: &str, port: u16, media: u16, wait_ms: i32) -> Child {
    Command::new(sipp_dir().join("run_uas.sh"))
        .envs([("REGISTRAR", registrar), ("SIP_USER", user), ("AUTH_PASS", "secret"), ("ECHO", "0"), ("TIMEOUT", "30")])
        .envs([("PORT", port.to_string()), ("MEDIA_PORT", media.to_string()), ("WAIT_MS", wait_ms.to_string())])
        .env("LOGDIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(peer_log(dir, &format!("uas_{port}")))
        .spawn()
        .expect("run_uas.sh")
}

fn uac(dir: &Path, callee: &str) -> ExitStatus {
    Command::new(sipp_dir().join("run_uac.sh"))
        .envs([("TARGET", PROXY), ("CALLEE", callee), ("DTMF", "1"), ("TALK_MS", "300"), ("PORT", "15208")])
        .envs([("MEDIA_PORT", "16660"), ("TIMEOUT", "10")])
        .env("LOGDIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(peer_log(dir, "uac"))
        .status()
        .expect("run_uac.sh")
}

fn register_with(dir: &Path, user: &str, password: &str, port: u16) -> ExitStatus {
    let log = dir.join(format!("reg_{user}.msg.log"));
    Command::new("timeout")
        .args(["-k", "5", "20", "sipp", PROXY])
        .args(["-sf", sipp_dir().join("register.xml").to_str().unwrap(), "-i", "127.0.0.1", "-bind_local", "-nostdin"])
        .args(["-p", &port.to_string(), "-s", user, "-au", user, "-ap", password, "-set", "expires", "300"])
        .args(["-m", "1", "-d", "100", "-timeout", "10s", "-trace_msg", "-message_file", log.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(peer_log(dir, &format!("reg_{user}")))
        .status()
        .expect("sipp")
}

/// Stops a peer: SIGTERM to its `timeout` wrapper, which forwards it to the
/// peer's main process only. Never signal a kamailio's whole process group:
/// its children must be stopped by its main process.
fn stop_peer(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

fn msg_log(dir: &Path, port: u16) -> String {
    std::fs::read_to_string(dir.join(format!("uas_127.0.0.1_{port}.msg.log"))).unwrap_or_default()
}

fn wait_for(what: &str, deadline: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn requests(log: &str, method: &str) -> usize {
    log.lines().filter(|l| l.starts_with(&format!("{method} sip:"))).count()
}

const SIPP: (&str, &str) = ("sipp", "sip-tester");
const KAMAILIO_BIN: (&str, &str) = ("kamailio", "kamailio");
const TIMEOUT: (&str, &str) = ("timeout", "coreutils");

#[test]
fn sipp_registers_forks_restarts_and_reloads() {
    let _one_at_a_time = serial(&[SIPP, TIMEOUT], Duration::from_secs(90));
    let dir = fresh_dir("peers");
    let config = write_config(&dir);
    let proxy = Proxy::start(&config, &dir.join("proxy1.log"));

    assert_eq!(register_with(&dir, "bob", "wrong", 15210).code(), Some(1), "a wrong password fails");
    let refused = std::fs::read_to_string(dir.join("reg_bob.msg.log")).unwrap();
    assert!(refused.contains("SIP/2.0 403 Forbidden"), "{refused}");

    let mut callees = [
        uas(&dir, "alice", 15202, 16600, 1500),
        uas(&dir, "bob", 15204, 16620, -1),
        uas(&dir, "carol", 15206, 16640, -1),
    ];
    let store = dir.join("bindings.jsonl");
    wait_for("three bindings on disk", Duration::from_secs(5), || {
        std::fs::read_to_string(&store).is_ok_and(|t| t.lines().count() == 3)
    });
    assert!(uac(&dir, "everyone").success(), "the call to everyone is answered");
    for port in [15204, 15206] {
        let log = msg_log(&dir, port);
        assert_eq!(requests(&log, "INVITE"), 1, "{port} rang");
        assert_eq!(requests(&log, "CANCEL"), 1, "{port} got CANCEL");
    }
    assert_eq!(requests(&msg_log(&dir, 15202), "BYE"), 1, "the BYE reached the answerer");

    proxy.stop();
    let proxy = Proxy::start(&config, &dir.join("proxy2.log"));
    std::fs::write(dir.join("routes"), "<sip:front@home> <sip:alice@home>\n").unwrap();
    proxy.signal("-HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert!(uac(&dir, "front").success(), "after restart and reload, front reaches alice");
    let alice = msg_log(&dir, 15202);
    assert_eq!(requests(&alice, "INVITE"), 2);
    assert_eq!(requests(&alice, "REGISTER"), 2, "alice did not register again (challenge + answer only)");

    proxy.stop();
    callees.iter_mut().for_each(stop_peer);
}

const KAMAILIO: &str = "127.0.0.1:15270";

#[test]
fn kamailio_as_the_cloud_rings_a_remote_member() {
    let _one_at_a_time = serial(&[SIPP, KAMAILIO_BIN, TIMEOUT], Duration::from_secs(90));
    let dir = fresh_dir("cloud");
    let routes = "<sip:everyone@home> <sip:alice@home>, <sip:carol@sip.test>\n";
    let config = write_config_with(&dir, routes, &format!("sip:{KAMAILIO}"));
    let mut kamailio = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/kamailio/run.sh"))
        .envs([
            ("LISTEN", format!("udp:{KAMAILIO}")),
            ("TIMEOUT", "40".into()),
            ("RUNDIR", dir.join("kam").display().to_string()),
        ])
        .stderr(std::fs::File::create(dir.join("kamailio.log")).unwrap())
        .spawn()
        .expect("kamailio");
    let proxy = Proxy::start(&config, &dir.join("proxy.log"));
    let mut alice = uas(&dir, "alice", 15202, 16600, -1);
    let mut carol = uas_at(&dir, KAMAILIO, "carol", 15206, 16640, 1000);
    wait_for("alice's binding", Duration::from_secs(5), || {
        std::fs::read_to_string(dir.join("bindings.jsonl")).is_ok_and(|t| t.contains("alice"))
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(uac(&dir, "everyone").success(), "carol answers through the cloud");
    let carol_log = msg_log(&dir, 15206);
    assert_eq!((requests(&carol_log, "INVITE"), requests(&carol_log, "BYE")), (1, 1));
    assert_eq!(requests(&msg_log(&dir, 15202), "CANCEL"), 1, "alice at home is cancelled");
    proxy.stop();
    for c in [&mut alice, &mut carol, &mut kamailio] {
        stop_peer(c);
    }
}
