//! The station's event stream: the `events` command of its control socket, read on a thread,
//! with waits that fail the test listing what was seen.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The JSON event stream of the control socket (`events` command), read on a thread.
pub struct Events {
    rx: Receiver<Value>,
    seen: Vec<Value>,
    cursor: usize,
    closed: bool,
}

impl Events {
    pub(super) fn start(mut stream: UnixStream, log: PathBuf) -> Events {
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("set read timeout");
        stream.write_all(b"events\n").expect("send `events` to the control socket");
        let mut reader = BufReader::new(stream);
        let mut first = String::new();
        reader.read_line(&mut first).expect("no answer to `events` on the control socket within 5 s");
        assert!(first.starts_with("ok"), "`events` answered {:?}, expected `ok`", first.trim_end());
        reader.get_ref().set_read_timeout(None).expect("clear read timeout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut file = std::fs::File::create(&log).ok();
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if let Some(f) = file.as_mut() {
                    let _ = writeln!(f, "{line}");
                }
                let value = serde_json::from_str(&line).unwrap_or_else(|_| serde_json::json!({ "unparsed": line }));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Events { rx, seen: Vec::new(), cursor: 0, closed: false }
    }

    fn pull(&mut self, wait: Duration) -> bool {
        match self.rx.recv_timeout(wait) {
            Ok(v) => {
                self.seen.push(v);
                while let Ok(v) = self.rx.try_recv() {
                    self.seen.push(v);
                }
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                false
            }
        }
    }

    /// Every event received so far.
    pub fn all(&mut self) -> &[Value] {
        self.pull(Duration::ZERO);
        &self.seen
    }

    /// Every event of `kind` received so far.
    pub fn of_kind(&mut self, kind: &str) -> Vec<Value> {
        self.all().iter().filter(|e| e["event"] == kind).cloned().collect()
    }

    /// Waits for the next event (after the one the previous wait returned) of `kind` that
    /// satisfies `pred`, or fails the test listing the events seen.
    pub fn wait_for(&mut self, kind: &str, limit: Duration, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(i) =
                (self.cursor..self.seen.len()).find(|&i| self.seen[i]["event"] == kind && pred(&self.seen[i]))
            {
                self.cursor = i + 1;
                return self.seen[i].clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.closed {
                let seen: Vec<String> = self.seen.iter().map(Value::to_string).collect();
                let why = if self.closed { "the station closed its event stream (exited?)" } else { "timed out" };
                panic!("{what}: no `{kind}` event within {limit:?} ({why}); events so far:\n  {}", seen.join("\n  "));
            }
            self.pull(left.min(Duration::from_millis(200)));
        }
    }

    /// Waits for the next event of `kind`.
    pub fn wait(&mut self, kind: &str, limit: Duration, what: &str) -> Value {
        self.wait_for(kind, limit, what, |_| true)
    }
}
