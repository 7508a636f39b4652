//! The simulated relay: records every edge with its time, in memory and
//! optionally as lines in a file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::Relay;
use crate::{Clock, HwError, SystemClock};

/// One change of the relay's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayEdge {
    /// When the relay changed.
    pub at: Instant,
    /// The new state: `true` energized (door open), `false` released.
    pub energized: bool,
}

/// A shared, cloneable view of the edges a [`SimRelay`] has recorded.
#[derive(Clone, Debug, Default)]
pub struct RelayLog {
    edges: Arc<Mutex<Vec<RelayEdge>>>,
}

impl RelayLog {
    fn lock(&self) -> MutexGuard<'_, Vec<RelayEdge>> {
        self.edges.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every edge so far, oldest first.
    pub fn edges(&self) -> Vec<RelayEdge> {
        self.lock().clone()
    }

    /// The edges after the first `seen` ones (for a reader that polls).
    pub fn edges_since(&self, seen: usize) -> Vec<RelayEdge> {
        self.lock().get(seen..).map(<[RelayEdge]>::to_vec).unwrap_or_default()
    }

    /// How many edges were recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no edge was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The state after the last edge (released if there was none).
    pub fn is_energized(&self) -> bool {
        self.lock().last().is_some_and(|e| e.energized)
    }

    fn push(&self, edge: RelayEdge) {
        self.lock().push(edge);
    }
}

/// A relay that records timestamped edges instead of driving a line.
///
/// Only changes are edges: setting the state it already has records nothing.
/// It starts released, which is not an edge. With [`SimRelay::with_file`] each
/// edge is also appended to a file as one line `<unix_ms> on|off`, the time read
/// from the system's wall clock.
pub struct SimRelay {
    log: RelayLog,
    file: Option<(PathBuf, File)>,
    clock: Arc<dyn Clock>,
    energized: bool,
}

impl std::fmt::Debug for SimRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimRelay")
            .field("energized", &self.energized)
            .field("file", &self.file.as_ref().map(|(p, _)| p))
            .field("edges", &self.log.len())
            .finish()
    }
}

impl Default for SimRelay {
    fn default() -> Self {
        Self::new()
    }
}

impl SimRelay {
    /// A released relay that records edges in memory, timed by the system clock.
    pub fn new() -> Self {
        SimRelay { log: RelayLog::default(), file: None, clock: Arc::new(SystemClock), energized: false }
    }

    /// Also appends each edge to `path` (created if missing, never truncated).
    pub fn with_file(mut self, path: impl AsRef<Path>) -> Result<Self, HwError> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| HwError::EdgeLog { path: path.clone(), source })?;
        self.file = Some((path, file));
        Ok(self)
    }

    /// Reads the edge times from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A handle on the recorded edges; it stays valid after the relay is dropped.
    pub fn log(&self) -> RelayLog {
        self.log.clone()
    }

    fn append_line(&mut self, energized: bool) -> Result<(), HwError> {
        let Some((path, file)) = &mut self.file else {
            return Ok(());
        };
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let word = if energized { "on" } else { "off" };
        writeln!(file, "{unix_ms} {word}")
            .and_then(|()| file.flush())
            .map_err(|source| HwError::EdgeLog { path: path.clone(), source })
    }
}

impl Relay for SimRelay {
    /// Records the edge, then appends it to the file. A failed write is
    /// reported, but the (simulated) relay has moved all the same.
    fn set(&mut self, energized: bool) -> Result<(), HwError> {
        if energized == self.energized {
            return Ok(());
        }
        self.energized = energized;
        self.log.push(RelayEdge { at: self.clock.now(), energized });
        self.append_line(energized)
    }

    fn is_energized(&self) -> bool {
        self.energized
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use std::time::Duration;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ds-hw-{}-{name}", std::process::id()))
    }

    #[test]
    fn records_only_changes_with_their_time() {
        let t0 = Instant::now();
        let clock = ManualClock::new(t0);
        let mut relay = SimRelay::new().with_clock(Arc::new(clock.clone()));
        let log = relay.log();
        relay.set(false).unwrap();
        assert!(log.is_empty(), "released → released is not an edge");
        clock.advance(Duration::from_millis(10));
        relay.set(true).unwrap();
        relay.set(true).unwrap();
        clock.advance(Duration::from_millis(3000));
        relay.set(false).unwrap();
        let ms = |n| t0 + Duration::from_millis(n);
        assert_eq!(
            log.edges(),
            vec![RelayEdge { at: ms(10), energized: true }, RelayEdge { at: ms(3010), energized: false },]
        );
        assert_eq!(log.edges_since(1), vec![RelayEdge { at: ms(3010), energized: false }]);
        assert!(log.edges_since(5).is_empty());
        assert!(!log.is_energized());
    }

    #[test]
    fn appends_one_line_per_edge_to_the_file() {
        let path = temp_path("edges.log");
        let _ = std::fs::remove_file(&path);
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
        {
            let mut relay = SimRelay::new().with_file(&path).unwrap();
            relay.set(true).unwrap();
            relay.set(false).unwrap();
        }
        let mut relay = SimRelay::new().with_file(&path).unwrap();
        relay.set(true).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let lines: Vec<(u128, &str)> = text
            .lines()
            .map(|l| {
                let (ms, word) = l.split_once(' ').unwrap();
                (ms.parse().unwrap(), word)
            })
            .collect();
        let words: Vec<&str> = lines.iter().map(|(_, w)| *w).collect();
        assert_eq!(words, ["on", "off", "on"], "file is appended to, not truncated");
        assert!(lines.iter().all(|(ms, _)| *ms >= before));
    }

    #[test]
    fn unwritable_file_is_a_clear_error() {
        let err = SimRelay::new().with_file("/nonexistent-dir/edges.log").unwrap_err();
        assert!(matches!(err, HwError::EdgeLog { .. }));
        assert!(err.to_string().contains("/nonexistent-dir/edges.log"));
    }
}
