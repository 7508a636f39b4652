//! Child processes bounded by `timeout`, log files, and the dump of those logs when a test fails.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Lines of each log file printed when a test fails.
const TAIL_LINES: usize = 120;

/// Index of a process started by [`Harness::spawn`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcId(usize);

impl ProcId {
    /// No process (a capture read back from a file).
    pub const NONE: ProcId = ProcId(usize::MAX);
}

struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    log: PathBuf,
    status: Option<ExitStatus>,
}

/// One end-to-end test: its log directory, a short temporary directory (Unix socket paths are
/// limited to 108 bytes) and every peer it started. Dropping it stops the peers (SIGTERM, then
/// SIGKILL) and, when the test is failing, prints the tail of every log file.
pub struct Harness {
    /// Test name, also the name of its log directory.
    pub name: String,
    /// `target/e2e-logs/<name>/`.
    pub logs: PathBuf,
    /// `/tmp/ds-e2e-<name>-<pid>/`, for sockets.
    pub tmp: PathBuf,
    procs: Vec<Proc>,
    /// The capture file and its SIP ports, summarised when the test fails.
    pub capture: Option<(PathBuf, Vec<u16>)>,
}

/// The repository root (the e2e package's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/peers/`, the peer recipes (SIPp scenarios, configs, run scripts).
pub fn peers_dir() -> PathBuf {
    repo_root().join("tests").join("peers")
}

/// A UDP port on 127.0.0.1 that was free a moment ago (for a peer that binds it itself).
pub fn free_udp_port() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
    socket.local_addr().expect("local address").port()
}

/// Finds `bin` on the PATH or fails the test naming the Debian package that ships it.
pub fn require(bin: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join(bin)).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "`{bin}` is not on the PATH: install the Debian package `{package}` \
                 (`make deps` installs every peer)"
        )
    })
}

/// A command that runs `program` under `timeout`, so it ends by itself after `limit`
/// even when the test process is killed.
pub fn bounded(program: impl AsRef<std::ffi::OsStr>, limit: Duration) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.arg("-k").arg("3").arg(format!("{}", limit.as_secs().max(1))).arg(program);
    cmd
}

fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn wait_child(proc: &mut Proc, limit: Duration) -> Option<ExitStatus> {
    if proc.status.is_some() {
        return proc.status;
    }
    let deadline = Instant::now() + limit;
    loop {
        match proc.child.try_wait() {
            Ok(Some(status)) => {
                proc.status = Some(status);
                return Some(status);
            }
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            _ => return None,
        }
    }
}

impl Harness {
    /// Creates (and empties) the log and temporary directories of test `name`.
    pub fn new(name: &str) -> Harness {
        let logs = repo_root().join("target").join("e2e-logs").join(name);
        let tmp = PathBuf::from(format!("/tmp/ds-e2e-{name}-{}", std::process::id()));
        for dir in [&logs, &tmp] {
            let _ = fs::remove_dir_all(dir);
            fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        }
        eprintln!("[{name}] logs in {}", logs.display());
        Harness { name: name.to_string(), logs, tmp, procs: Vec::new(), capture: None }
    }

    /// A path inside the log directory.
    pub fn log_file(&self, file: &str) -> PathBuf {
        self.logs.join(file)
    }

    /// Starts `cmd` with stdout and stderr going to `<logs>/<name>.log`. With `stdin` the
    /// child's stdin is a pipe kept open until the process is stopped (see [`Harness::write_stdin`]).
    pub fn spawn(&mut self, name: &str, mut cmd: Command, stdin: bool) -> ProcId {
        let log = self.log_file(&format!("{name}.log"));
        let out = File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log file handle");
        cmd.stdout(out).stderr(err);
        cmd.stdin(if stdin { Stdio::piped() } else { Stdio::null() });
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let stdin = child.stdin.take();
        eprintln!("[{}] started {name} (pid {})", self.name, child.id());
        self.procs.push(Proc { name: name.to_string(), child, stdin, log, status: None });
        ProcId(self.procs.len() - 1)
    }

    /// Writes one line to the stdin of a process started with `stdin = true`.
    pub fn write_stdin(&mut self, id: ProcId, line: &str) {
        let proc = &mut self.procs[id.0];
        let stdin = proc.stdin.as_mut().unwrap_or_else(|| panic!("{} has no stdin pipe", proc.name));
        if let Err(e) = writeln!(stdin, "{line}").and_then(|_| stdin.flush()) {
            panic!("cannot write {line:?} to {}: {e}", proc.name);
        }
    }

    /// The log file of a process.
    pub fn proc_log(&self, id: ProcId) -> &Path {
        &self.procs[id.0].log
    }

    /// The current text of a process's log.
    pub fn read_log(&self, id: ProcId) -> String {
        read_lossy(self.proc_log(id))
    }

    /// The process id (of the `timeout` wrapper when started through [`bounded`]).
    pub fn pid(&self, id: ProcId) -> u32 {
        self.procs[id.0].child.id()
    }

    /// Whether the process has not exited yet.
    pub fn is_running(&mut self, id: ProcId) -> bool {
        wait_child(&mut self.procs[id.0], Duration::ZERO).is_none()
    }

    /// Waits up to `limit` for the process to exit by itself.
    pub fn wait(&mut self, id: ProcId, limit: Duration) -> Option<ExitStatus> {
        wait_child(&mut self.procs[id.0], limit)
    }

    /// Waits until `pattern` appears in the process's log, or fails the test.
    pub fn wait_log(&mut self, id: ProcId, pattern: &str, limit: Duration, what: &str) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.read_log(id).contains(pattern) {
                return;
            }
            if !self.is_running(id) {
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
        let name = &self.procs[id.0].name;
        panic!("{what}: `{pattern}` did not appear in the log of {name} within {limit:?}");
    }

    /// Sends `signal` (e.g. "INT", "TERM") to the process; `timeout` forwards it to its child.
    pub fn signal(&mut self, id: ProcId, signal: &str) {
        if self.is_running(id) {
            send_signal(self.pid(id), signal);
        }
    }

    /// Stops the process: SIGTERM, up to 5 s, then SIGKILL to its process group.
    pub fn stop(&mut self, id: ProcId) -> Option<ExitStatus> {
        let proc = &mut self.procs[id.0];
        proc.stdin = None;
        if wait_child(proc, Duration::ZERO).is_some() {
            return proc.status;
        }
        send_signal(proc.child.id(), "TERM");
        if wait_child(proc, Duration::from_secs(5)).is_none() {
            // `timeout` runs in its own process group: take the whole group down.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", proc.child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = proc.child.kill();
            wait_child(proc, Duration::from_secs(2));
        }
        proc.status
    }

    fn dump_logs(&self) {
        eprintln!("===== [{}] logs (last {TAIL_LINES} lines of each, in {}) =====", self.name, self.logs.display());
        let mut files = Vec::new();
        collect_files(&self.logs, &mut files);
        files.sort();
        for file in files {
            let mut bytes = Vec::new();
            if File::open(&file).and_then(|mut f| f.read_to_end(&mut bytes)).is_err() || bytes.contains(&0) {
                continue;
            }
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(TAIL_LINES);
            eprintln!("----- {} ({} lines) -----", file.display(), lines.len());
            for line in &lines[from..] {
                eprintln!("{line}");
            }
        }
        eprintln!("===== end of [{}] logs =====", self.name);
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else if !matches!(path.extension().and_then(|e| e.to_str()), Some("pcapng" | "pcap" | "db" | "wav")) {
            out.push(path);
        }
    }
}

/// The file's text, empty when it does not exist.
pub fn read_lossy(path: &Path) -> String {
    fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

impl Drop for Harness {
    fn drop(&mut self) {
        for i in (0..self.procs.len()).rev() {
            self.stop(ProcId(i));
        }
        if thread::panicking() {
            if let Some((file, ports)) = &self.capture {
                super::capture::summarize_after_failure(file, ports, &self.log_file("capture.txt"));
            }
            self.dump_logs();
        }
        let _ = fs::remove_dir_all(&self.tmp);
    }
}
