//! The control socket: a Unix stream socket with a line protocol
//! (README "The control socket").
//!
//! Each line is one command; each command gets one line back, `ok`,
//! `ok <json>` or `err <reason>`. `events` answers `ok` and then streams the
//! event bus as JSON lines until the client closes. Every other command is
//! handed to the run loop as a [`ControlRequest`] and answered with what the
//! loop replies; this module knows nothing about calls.

use crate::events::{Delivery, EventBus};
use crate::shell::shutdown::Shutdown;
use serde_json::Value;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// A command for the run loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlCommand {
    /// `press [N]`: call button N (1-based), as the GPIO button would.
    Press(usize),
    /// `call <uri>`: a plain call to a URI.
    Call(String),
    /// `hangup`: end the current call.
    Hangup,
    /// `unlock`: pulse the relay as a valid code would.
    Unlock,
    /// `status`: the station's state.
    Status,
    /// `door open|close`: the simulated door contact.
    Door(bool),
    /// `exit`: press the simulated request-to-exit button.
    Exit,
    /// `tamper on|off`: the simulated tamper switch.
    Tamper(bool),
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlLine {
    /// A command for the run loop.
    Command(ControlCommand),
    /// `events`: stream the event bus.
    Events,
}

/// The answer to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `ok`
    Ok,
    /// `ok <json>`
    OkJson(Value),
    /// `err <reason>`
    Err(String),
}

impl Reply {
    /// The answer line, without the newline.
    pub fn to_line(&self) -> String {
        match self {
            Reply::Ok => "ok".to_string(),
            Reply::OkJson(v) => format!("ok {v}"),
            Reply::Err(reason) => format!("err {}", reason.replace(['\r', '\n'], " ")),
        }
    }
}

/// A command and where its answer goes.
#[derive(Debug)]
pub struct ControlRequest {
    /// The command.
    pub command: ControlCommand,
    /// The run loop answers here.
    pub reply: oneshot::Sender<Reply>,
}

/// The commands, for `err` answers.
const USAGE: &str =
    "commands: press [N], call <uri>, hangup, unlock, status, events, door open|close, exit, tamper on|off";

/// Parse one line; `Ok(None)` for a blank line.
pub fn parse_line(line: &str) -> Result<Option<ControlLine>, String> {
    let line = line.trim();
    let (word, arg) = match line.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (line, ""),
    };
    let command = match (word, arg) {
        ("", _) => return Ok(None),
        ("events", "") => return Ok(Some(ControlLine::Events)),
        ("press", "") => ControlCommand::Press(1),
        ("press", n) => ControlCommand::Press(parse_button(n)?),
        ("call", "") => return Err("call needs a URI: call sip:alice@home".into()),
        ("call", uri) => ControlCommand::Call(uri.to_string()),
        ("hangup", "") => ControlCommand::Hangup,
        ("unlock", "") => ControlCommand::Unlock,
        ("status", "") => ControlCommand::Status,
        ("exit", "") => ControlCommand::Exit,
        ("door", "open") => ControlCommand::Door(true),
        ("door", "close") => ControlCommand::Door(false),
        ("door", _) => return Err("door takes open or close: door open".into()),
        ("tamper", "on") => ControlCommand::Tamper(true),
        ("tamper", "off") => ControlCommand::Tamper(false),
        ("tamper", _) => return Err("tamper takes on or off: tamper on".into()),
        ("events" | "hangup" | "unlock" | "status" | "exit", _) => return Err(format!("{word} takes no argument")),
        _ => return Err(format!("unknown command {word:?}; {USAGE}")),
    };
    Ok(Some(ControlLine::Command(command)))
}

fn parse_button(arg: &str) -> Result<usize, String> {
    match arg.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("press takes a button number from 1, not {arg:?}")),
    }
}

/// Bind the socket at `path`: create its directory, remove a stale socket
/// left by a station that died. A socket another process still answers on,
/// or a file that is not a socket, is left alone and reported.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            let msg = format!("{} exists and is not a socket; remove it or change [control] socket", path.display());
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, msg));
        }
        Ok(_) if std::os::unix::net::UnixStream::connect(path).is_ok() => {
            let msg = format!("{} is in use: another door-station is running", path.display());
            return Err(io::Error::new(io::ErrorKind::AddrInUse, msg));
        }
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    UnixListener::bind(path)
}

/// Accept clients until shutdown; each is served on its own task.
pub async fn serve(
    listener: UnixListener,
    commands: mpsc::Sender<ControlRequest>,
    bus: EventBus,
    mut shutdown: Shutdown,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.recv() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let client = Client { commands: commands.clone(), bus: bus.clone(), shutdown: shutdown.fork() };
                tokio::spawn(client.run(stream));
            }
            Err(e) => tracing::warn!(error = %e, "control socket: accept failed"),
        }
    }
}

/// One connected client.
struct Client {
    commands: mpsc::Sender<ControlRequest>,
    bus: EventBus,
    shutdown: Shutdown,
}

impl Client {
    async fn run(mut self, stream: UnixStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        loop {
            let line = tokio::select! {
                l = lines.next_line() => l,
                _ = self.shutdown.recv() => return,
            };
            let line = match line {
                Ok(Some(line)) => line,
                Ok(None) => return,
                Err(e) => return tracing::debug!(error = %e, "control client: read failed"),
            };
            let reply = match parse_line(&line) {
                Ok(None) => continue,
                Ok(Some(ControlLine::Events)) => return self.stream_events(lines.into_inner(), write).await,
                Ok(Some(ControlLine::Command(c))) => self.execute(c).await,
                Err(reason) => Reply::Err(reason),
            };
            if write_line(&mut write, &reply.to_line()).await.is_err() {
                return;
            }
        }
    }

    async fn execute(&self, command: ControlCommand) -> Reply {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(ControlRequest { command, reply }).await.is_err() {
            return Reply::Err("the station is shutting down".into());
        }
        answer.await.unwrap_or_else(|_| Reply::Err("the station is shutting down".into()))
    }

    /// `ok`, then every event line until a write fails (the client is gone)
    /// or the station stops. Input after `events` is not read: a client that
    /// half-closes after sending it (`socat ... <<< events`) keeps streaming.
    async fn stream_events(mut self, read: BufReader<OwnedReadHalf>, mut write: OwnedWriteHalf) {
        drop(read);
        let mut events = self.bus.subscribe();
        if write_line(&mut write, "ok").await.is_err() {
            return;
        }
        loop {
            let delivery = tokio::select! {
                d = events.next() => d,
                _ = self.shutdown.recv() => return,
            };
            match delivery {
                Delivery::Line(line) => {
                    if write_line(&mut write, &line).await.is_err() {
                        return;
                    }
                }
                Delivery::Lagged(n) => tracing::warn!(dropped = n, "control client too slow: events dropped"),
                Delivery::Closed => return,
            }
        }
    }
}

async fn write_line(write: &mut OwnedWriteHalf, line: &str) -> io::Result<()> {
    write.write_all(format!("{line}\n").as_bytes()).await
}

#[cfg(test)]
mod tests;
