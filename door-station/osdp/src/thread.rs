//! [`ReaderThread`]: runs any [`OsdpReader`] on its own thread, woken as soon
//! as the port has bytes, so replies leave within a millisecond or two.

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ds_hw::wiegand::Bits;

use crate::{CardFormat, LinkStatus, OsdpReader, PanelCommand, ReaderError};

/// Longest the thread waits for bytes before polling anyway (libosdp wants a
/// call at least every 50 ms).
const IDLE_WAIT: Duration = Duration::from_millis(10);

enum Request {
    Card(CardFormat, Bits),
    Tamper(bool),
}

/// The handle on a reader thread. Dropping it stops the thread.
#[derive(Debug)]
pub struct ReaderThread {
    requests: Option<Sender<Request>>,
    commands: Receiver<PanelCommand>,
    status: Arc<Mutex<LinkStatus>>,
    errors: Receiver<ReaderError>,
    thread: Option<JoinHandle<()>>,
}

impl ReaderThread {
    /// Starts a thread named `osdp` that owns `reader`.
    pub fn spawn(mut reader: Box<dyn OsdpReader>) -> Result<Self, ReaderError> {
        let (requests, request_rx) = mpsc::channel();
        let (command_tx, commands) = mpsc::channel();
        let (error_tx, errors) = mpsc::channel();
        let status = Arc::new(Mutex::new(LinkStatus::default()));
        let thread_status = Arc::clone(&status);
        let thread = std::thread::Builder::new()
            .name("osdp".into())
            .spawn(move || {
                loop {
                    if !serve(reader.as_mut(), &request_rx, &command_tx, &error_tx) {
                        return;
                    }
                    *thread_status.lock().unwrap_or_else(|e| e.into_inner()) = reader.status();
                }
            })
            .map_err(|e| ReaderError::Library { reason: format!("cannot start the reader thread: {e}") })?;
        Ok(ReaderThread { requests: Some(requests), commands, status, errors, thread: Some(thread) })
    }

    /// Queues a card read for the next poll.
    pub fn report_card(&self, format: CardFormat, bits: Bits) {
        self.request(Request::Card(format, bits));
    }

    /// Sets the tamper state for `osdp_LSTATR`.
    pub fn set_tamper(&self, tampered: bool) {
        self.request(Request::Tamper(tampered));
    }

    /// Panel commands, in order (OUT, LED, BUZ, COMSET, KEYSET).
    pub fn commands(&self) -> &Receiver<PanelCommand> {
        &self.commands
    }

    /// Errors the reader returned (a card the library refused, …).
    pub fn errors(&self) -> &Receiver<ReaderError> {
        &self.errors
    }

    /// Online and secure state after the last poll.
    pub fn status(&self) -> LinkStatus {
        *self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn request(&self, request: Request) {
        if let Some(tx) = &self.requests {
            let _ = tx.send(request);
        }
    }
}

impl Drop for ReaderThread {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One turn: requests, wait for bytes, poll, forward commands. `false` once
/// the handle is gone.
fn serve(
    reader: &mut dyn OsdpReader,
    requests: &Receiver<Request>,
    commands: &Sender<PanelCommand>,
    errors: &Sender<ReaderError>,
) -> bool {
    loop {
        let result = match requests.try_recv() {
            Ok(Request::Card(format, bits)) => reader.report_card(format, &bits),
            Ok(Request::Tamper(on)) => {
                reader.set_tamper(on);
                Ok(())
            }
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => return false,
        };
        if let Err(e) = result {
            let _ = errors.send(e);
        }
    }
    reader.wait_readable(IDLE_WAIT);
    if let Err(e) = reader.poll(Instant::now()) {
        let _ = errors.send(e);
    }
    while let Some(command) = reader.poll_command() {
        let _ = commands.send(command);
    }
    true
}
