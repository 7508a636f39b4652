//! The run loop: feed the engine, drain it, execute what it asks, sleep
//! until its next timeout.
//!
//! ```text
//! loop {
//!     drain engine.poll_output() until None:
//!         Transmit -> SIP socket     Media -> media task
//!         Relay    -> hardware; if it accepted: door monitor (grant), and
//!                     for an unlock also the credential (Wiegand, OSDP)
//!         Event    -> event bus + log
//!     wait for the first of: a SIP message, RTP news (DTMF, activity),
//!         a button press, a control command, access news (door inputs,
//!         panel commands, OSDP link, Wiegand reports), the engine's or the
//!         relay's deadline, SIGINT/SIGTERM
//!     feed it (handle_input / handle_timeout), with now = Instant::now()
//!     WATCHDOG=1 to systemd when due (see super::systemd)
//! }
//! ```
//!
//! On SIGINT or SIGTERM the engine hangs up and unregisters
//! ([`Engine::shutdown`]); the loop keeps running for [`GRACE`] (or until a
//! second signal) so those requests are sent and retransmitted, then the
//! relay is released and every task is stopped.

use crate::control::{ControlCommand, ControlRequest, Reply};
use crate::engine::{Command, Engine, Input, MediaCommand, Output, RelayCommand};
use crate::events::EventBus;
use crate::shell::access::{self, Access, AccessNews, PanelAction};
use crate::shell::hardware::{Hardware, RelayChange};
use crate::shell::systemd::Notifier;
use crate::shell::transport::{Inbound, SipSender};
use ds_hw::{ButtonEvent, DoorEvent, DoorInput, DoorOutput};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How long the station keeps running after a stop signal, for the BYE or
/// CANCEL and the un-REGISTER to get through (a few UDP retransmissions at
/// T1 = 500 ms, RFC 3261 §17.1.1.1).
pub const GRACE: Duration = Duration::from_secs(2);

/// Everything that feeds the loop.
pub struct Feeds {
    /// SIP messages from the transport.
    pub sip: mpsc::Receiver<Inbound>,
    /// DTMF and media activity from the RTP receivers.
    pub media: mpsc::Receiver<Input>,
    /// Button presses from the hardware back-ends.
    pub presses: mpsc::UnboundedReceiver<ButtonEvent>,
    /// Control-socket commands.
    pub control: mpsc::Receiver<ControlRequest>,
    /// Door inputs, panel commands, link and frame reports.
    pub access: mpsc::UnboundedReceiver<AccessNews>,
    /// Counts stop requests (SIGINT/SIGTERM, see [`super::stop_on_signals`]):
    /// the first starts the graceful shutdown, the second cuts it short.
    pub stop: watch::Receiver<u32>,
}

/// What the loop drives and executes with.
pub struct Station {
    /// The sans-IO core.
    pub engine: Engine,
    /// Relay and buttons.
    pub hw: Hardware,
    /// Wiegand, OSDP and the door inputs.
    pub access: Access,
    /// SIP out.
    pub sip: SipSender,
    /// Media commands out.
    pub media: mpsc::UnboundedSender<MediaCommand>,
    /// Events out.
    pub bus: EventBus,
    /// systemd: the watchdog pings come from this loop, `STOPPING=1` when it ends.
    pub notifier: Notifier,
}

/// Why the loop stopped waiting.
enum Wake {
    Input(Input),
    Access(AccessNews),
    Control(ControlRequest),
    Deadline,
    Signal,
    Closed,
}

impl Station {
    /// Run until a stop signal; then shut down gracefully.
    pub async fn run(mut self, mut feeds: Feeds) -> (Hardware, Access) {
        loop {
            self.notifier.tick(Instant::now());
            self.drain(Instant::now());
            match self.wait(&mut feeds, true).await {
                Wake::Signal => break,
                Wake::Closed => {
                    tracing::error!("an input channel closed; stopping");
                    break;
                }
                wake => self.handle(wake),
            }
        }
        tracing::info!("stopping: hanging up and unregistering");
        self.notifier.stopping();
        self.engine.shutdown(Instant::now());
        let until = Instant::now() + GRACE;
        while Instant::now() < until {
            self.notifier.tick(Instant::now());
            self.drain(Instant::now());
            if self.engine.next_timeout().is_none() {
                break;
            }
            let wake = tokio::time::timeout_at(until.into(), self.wait(&mut feeds, false)).await;
            match wake {
                Ok(Wake::Signal | Wake::Closed) | Err(_) => break,
                Ok(wake) => self.handle(wake),
            }
        }
        self.drain(Instant::now());
        self.sip.close();
        (self.hw, self.access)
    }

    async fn wait(&mut self, feeds: &mut Feeds, commands: bool) -> Wake {
        let deadlines = [self.engine.next_timeout(), self.hw.next_timeout(), self.notifier.next_timeout()];
        let deadline = deadlines.into_iter().flatten().min();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            m = feeds.sip.recv() => m.map_or(Wake::Closed, |m| Wake::Input(Input::Sip { from: m.from, msg: m.msg })),
            i = feeds.media.recv() => i.map_or(Wake::Closed, Wake::Input),
            p = feeds.presses.recv() => match p.and_then(|p| p.index.checked_sub(1)) {
                Some(i) => Wake::Input(Input::ButtonPressed(i)),
                None => Wake::Closed,
            },
            c = feeds.control.recv(), if commands => c.map_or(Wake::Closed, Wake::Control),
            a = feeds.access.recv() => a.map_or(Wake::Closed, Wake::Access),
            _ = sleep => Wake::Deadline,
            _ = feeds.stop.wait_for(|n| *n >= if commands { 1 } else { 2 }) => Wake::Signal,
        }
    }

    fn handle(&mut self, wake: Wake) {
        let now = Instant::now();
        match wake {
            Wake::Input(input) => self.engine.handle_input(now, input),
            Wake::Control(request) => self.control(now, request),
            Wake::Access(news) => self.access_news(now, news),
            Wake::Deadline => {
                self.engine.handle_timeout(now);
                let changes = self.hw.handle_timeout(now);
                log_relay(&changes);
            }
            Wake::Signal | Wake::Closed => {}
        }
    }

    /// Execute every output the engine has queued.
    fn drain(&mut self, now: Instant) {
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Transmit { dest, bytes } => {
                    tracing::debug!(?dest, first_line = %first_line(&bytes), "SIP out");
                    self.sip.send(dest, bytes);
                }
                Output::Media(command) => {
                    if self.media.send(command).is_err() {
                        tracing::error!("the media task is gone; media command dropped");
                    }
                }
                Output::Relay(RelayCommand::Pulse(duration)) => {
                    if self.pulse(now, duration) {
                        self.access.present_credential();
                    }
                }
                Output::Relay(RelayCommand::PulseWithoutCredential(duration)) => {
                    self.pulse(now, duration);
                }
                Output::Event(event) => self.publish(now, &event),
            }
        }
    }

    fn control(&mut self, now: Instant, request: ControlRequest) {
        let reply = match request.command {
            ControlCommand::Press(n) => match self.hw.press(n) {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::Err(e.to_string()),
            },
            ControlCommand::Call(uri) => self.call(now, uri),
            ControlCommand::Hangup => match self.engine.status().call {
                None => Reply::Err("no call".into()),
                Some(_) => self.feed(now, Command::Hangup),
            },
            ControlCommand::Unlock => self.feed(now, Command::Unlock),
            ControlCommand::Door(open) => self.simulate(DoorInput::Contact, open),
            ControlCommand::Exit => self.simulate(DoorInput::Exit, true),
            ControlCommand::Tamper(on) => self.simulate(DoorInput::Tamper, on),
            ControlCommand::Status => match serde_json::to_value(self.engine.status()) {
                Ok(v) => Reply::OkJson(v),
                Err(e) => Reply::Err(format!("status: {e}")),
            },
        };
        let _ = request.reply.send(reply);
    }

    fn call(&mut self, now: Instant, uri: String) -> Reply {
        if !(uri.starts_with("sip:") || uri.starts_with("sips:")) || rsip::Uri::try_from(uri.as_str()).is_err() {
            return Reply::Err(format!("{uri:?} is not a SIP URI; e.g. call sip:alice@home"));
        }
        if self.engine.status().call.is_some() {
            return Reply::Err("a call is in progress; hangup first".into());
        }
        self.feed(now, Command::Call(uri))
    }

    fn simulate(&self, input: DoorInput, level: bool) -> Reply {
        match self.access.simulate(input, level) {
            Ok(()) => Reply::Ok,
            Err(e) => Reply::Err(e),
        }
    }

    /// Pulse the relay; `true` if it accepted (the door monitor is told).
    fn pulse(&mut self, now: Instant, duration: Duration) -> bool {
        match self.hw.pulse(now, duration) {
            Ok(changes) => {
                log_relay(&changes);
                self.access.granted(now, duration);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "relay pulse refused");
                false
            }
        }
    }

    fn publish(&self, now: Instant, event: &crate::engine::Event) {
        let line = self.bus.publish(now, event);
        tracing::info!(target: "door_station::event", "{line}");
    }

    fn access_news(&mut self, now: Instant, news: AccessNews) {
        match news {
            AccessNews::Door(DoorOutput::Unlock(hold)) => self.engine.handle_input(now, Input::ExitRequest { hold }),
            AccessNews::Door(DoorOutput::Event(event)) => {
                if let DoorEvent::Tamper { active, .. } = event {
                    self.access.set_tamper(active);
                }
                self.publish(now, &access::door_event(event));
            }
            AccessNews::Panel(command) => {
                let (event, action) = access::panel_command(&command);
                match event {
                    Some(event) => self.publish(now, &event),
                    None => tracing::info!(?command, "panel command"),
                }
                match action {
                    PanelAction::Open(hold) => self.engine.handle_input(now, Input::PanelOpen { hold }),
                    PanelAction::Release => log_relay(&self.hw.release(now)),
                    PanelAction::None => {}
                }
            }
            AccessNews::Link(link) => {
                self.publish(now, &crate::engine::Event::Osdp { online: link.online, secure: link.secure })
            }
            AccessNews::Frame(report) => {
                if !report.sent {
                    tracing::warn!(overruns = report.overruns, "Wiegand frame given up: its timing overran twice");
                }
                let event = crate::engine::Event::Wiegand {
                    bits: report.bits.len(),
                    sent: report.sent,
                    overruns: report.overruns,
                };
                self.publish(now, &event);
            }
        }
    }

    fn feed(&mut self, now: Instant, command: Command) -> Reply {
        self.engine.handle_input(now, Input::Command(command));
        Reply::Ok
    }
}

fn log_relay(changes: &[RelayChange]) {
    for c in changes {
        tracing::info!(energized = c.energized, "relay");
    }
}

fn first_line(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == b'\r').unwrap_or(bytes.len()).min(120);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
