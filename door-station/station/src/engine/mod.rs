//! The station's sans-IO core: registration, the bell call with early media,
//! look-at-the-door calls, DTMF and unlock.
//!
//! # The driving loop
//!
//! ```text
//! let mut engine = Engine::new(cfg, now, seed);
//! loop {
//!     // 1. feed what happened (a datagram, a button edge, a control command, ...)
//!     engine.handle_input(now, input);      // or engine.handle_timeout(now) when the deadline passed
//!     // 2. drain until None: send, tell the media threads, pulse the relay, publish events
//!     while let Some(out) = engine.poll_output() { /* execute */ }
//!     // 3. sleep until engine.next_timeout() or the next input
//! }
//! ```
//!
//! The engine reads no clock, opens no socket and draws no random numbers: the
//! shell passes `now` and a seed, parses datagrams with
//! `ds_sip::message::intake`, and executes every [`Output`]. It owns one
//! [`TransactionLayer`] and drives it, so retransmissions and transaction
//! timers come out of [`Engine::poll_output`] like everything else.
//!
//! At most one call exists at a time: a bell call (`outgoing.rs`) or a call
//! to the station (`incoming.rs`). A second button press during a call is
//! ignored; a second incoming call gets 486. Once a dialog is confirmed,
//! its re-INVITEs and UPDATEs (hold, resume, a new address) and the ACKs of
//! its 2xx responses go to its media session (`session.rs`).
//!
//! # What the shell must do for it
//! - Feed [`Input::MediaActivity`] when RTP arrives from a call's remote
//!   side (once a second is plenty): an answered call whose remote side sends
//!   media is ended with BYE after `calls.rtp_timeout` of silence.
//! - Pulse the relay on [`RelayCommand::Pulse`] (and present the credential
//!   to the access panel) or [`RelayCommand::PulseWithoutCredential`]. The engine itself reports
//!   [`Event::Relay`] on and off from the pulses it orders.
//! - Stamp events with `ts_ms` ([`Event::json_line`], or its own serialiser).
//!
//! # Who may open
//! The unlock allow-list is matched against the remote side of the call the
//! code came in on. For a call to the station that is the caller (From). For
//! the bell call it is any of: the dialog's remote URI (the button's target,
//! e.g. `sip:everyone@home`, since in-dialog requests carry it in From), a
//! P-Asserted-Identity in the 200 (from a proxy that asserts who answered),
//! or the answering device's Contact. List the target, or its domain as
//! `*@home`, to let whoever answers the bell open.

pub mod config;
pub mod dtmf;
pub mod events;

mod door;
mod incoming;
mod limits;
mod media;
mod outgoing;
mod register;
mod requests;
mod route;
mod sdes;
mod session;
mod wire;

pub use config::{Account, Backoff, CallConfig, EngineConfig, MediaConfig};
pub use events::{DoorState, DtmfVia, EndReason, Event, PanelEvent, RelayState, UnlockResult};

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use ds_sip::transaction::{Peer, TransactionLayer, TxEvent, TxOutput};
use ds_sip::{Message, Request, Response};
pub use media::MediaPaths;
pub use sdes::StreamProtection;

use door::Door;
use incoming::IncomingCall;
use outgoing::{BellCall, Lingering};
use register::Registration;

/// Identifies a call towards the media layer: the SIP Call-ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub String);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something that happened, fed by the shell.
#[derive(Debug, Clone)]
pub enum Input {
    /// A SIP message arrived (already parsed and checked by intake).
    Sip {
        /// Where it came from.
        from: Peer,
        /// The message.
        msg: Message,
    },
    /// A call button was pressed: a 0-based index into
    /// [`EngineConfig::buttons`] (the control socket's `press 1` is index 0).
    ButtonPressed(usize),
    /// A control-socket command.
    Command(Command),
    /// The media layer decoded an RFC 4733 digit (duplicates already removed).
    Dtmf {
        /// The call it arrived on.
        call: CallId,
        /// The key.
        digit: char,
        /// How it arrived (normally [`DtmfVia::Rfc4733`]).
        via: DtmfVia,
    },
    /// The media layer received RTP from the remote side of this call.
    MediaActivity {
        /// The call.
        call: CallId,
    },
    /// The request-to-exit button: open for `hold` without presenting the
    /// credential ([`RelayCommand::PulseWithoutCredential`], `unlock` by `exit`).
    ExitRequest {
        /// How long the strike stays open (`door.exit_unlock_ms`).
        hold: Duration,
    },
    /// The access panel ordered the door relay on (`osdp_OUT`, temporary on):
    /// open for `hold` without presenting the credential (`unlock` by `panel`).
    PanelOpen {
        /// The panel's timer.
        hold: Duration,
    },
}

/// A control-socket command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `press N`: as the button with this 0-based index would (`press 1` is `Press(0)`).
    Press(usize),
    /// `call <uri>`: a plain call, media to one early dialog at most.
    Call(String),
    /// `hangup`: CANCEL while ringing, BYE when answered.
    Hangup,
    /// `unlock`: pulse the relay (a local operator action).
    Unlock,
}

/// What the relay should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayCommand {
    /// An unlock (code, MESSAGE, `unlock` command): energise for this long,
    /// then release. When the relay accepts it, the shell presents the
    /// configured credential to the access panel (Wiegand, OSDP).
    Pulse(Duration),
    /// Energise for this long without presenting a credential: request to
    /// exit, or the panel's own order.
    PulseWithoutCredential(Duration),
}

/// What the media threads should do.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCommand {
    /// Send early media (video, and audio where negotiated) to this early
    /// dialog; a new destination starts with a key frame.
    StartEarly {
        /// The call.
        call: CallId,
        /// The early dialog's remote tag.
        dialog: String,
        /// Where and how.
        paths: MediaPaths,
    },
    /// The call is answered by this dialog: two-way audio, video to it.
    Answered {
        /// The call.
        call: CallId,
        /// The answering dialog's remote tag.
        dialog: String,
        /// Where and how.
        paths: MediaPaths,
    },
    /// Stop sending to one early dialog.
    StopDialog {
        /// The call.
        call: CallId,
        /// The dialog's remote tag.
        dialog: String,
    },
    /// Stop all media of the call.
    StopCall {
        /// The call.
        call: CallId,
    },
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send one SIP message.
    Transmit {
        /// Where to.
        dest: Peer,
        /// The whole message.
        bytes: Vec<u8>,
    },
    /// Tell the media threads.
    Media(MediaCommand),
    /// Drive the relay.
    Relay(RelayCommand),
    /// Publish on the control socket's event stream.
    Event(Event),
}

/// What `status` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    /// A registration is in force.
    pub registered: bool,
    /// The current call, if any.
    pub call: Option<CallStatus>,
    /// Relay state.
    pub relay: RelayState,
    /// Unlock attempts are locked out.
    pub locked_out: bool,
}

/// The current call, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallStatus {
    /// SIP Call-ID.
    pub call_id: String,
    /// `outgoing` or `incoming`.
    pub direction: &'static str,
    /// `ringing` or `answered`.
    pub state: &'static str,
    /// The target (outgoing) or the caller (incoming).
    pub peer: String,
}

/// What every part of the engine shares: configuration, the transaction
/// layer, the output queue and the id source.
pub(crate) struct Core {
    pub cfg: EngineConfig,
    pub tx: TransactionLayer,
    pub out: VecDeque<Output>,
    pub ids: IdSource,
}

impl Core {
    fn emit(&mut self, event: Event) {
        self.out.push_back(Output::Event(event));
    }

    fn media(&mut self, cmd: MediaCommand) {
        self.out.push_back(Output::Media(cmd));
    }
}

/// Deterministic ids (tags, branches, Call-IDs, cnonces) from the seed:
/// splitmix64, so two engines with different seeds never collide in practice.
pub(crate) struct IdSource(u64);

impl IdSource {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 16 hex digits.
    pub fn token(&mut self) -> String {
        format!("{:016x}", self.next())
    }
}

/// The call that exists, if any.
enum Call {
    Bell(Box<BellCall>),
    Incoming(Box<IncomingCall>),
}

/// The station core. See the [module docs](self) for the loop.
pub struct Engine {
    core: Core,
    reg: Registration,
    call: Option<Call>,
    lingering: Vec<Lingering>,
    door: Door,
    /// The call that existed after the last input, to notice its end.
    last_call: Option<CallId>,
    /// The path the current call's first digit came by: a phone that sends
    /// each key both as RFC 4733 and as INFO (Linhome can) is heard once.
    dtmf_path: Option<(CallId, DtmfVia)>,
}

impl Engine {
    /// A new engine; starts registering at once when a registrar is set.
    pub fn new(cfg: EngineConfig, now: Instant, seed: u64) -> Self {
        let tx = TransactionLayer::new(cfg.timers);
        let door = Door::new(&cfg);
        let mut core = Core { cfg, tx, out: VecDeque::new(), ids: IdSource(seed) };
        let reg = Registration::start(&mut core, now);
        let mut engine =
            Engine { core, reg, call: None, lingering: Vec::new(), door, last_call: None, dtmf_path: None };
        engine.pump(now);
        engine
    }

    /// Feed one input; then drain [`Engine::poll_output`].
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::Sip { from, msg } => self.core.tx.handle_message(now, msg, from),
            Input::ButtonPressed(n) | Input::Command(Command::Press(n)) => self.press(now, n),
            Input::Command(Command::Call(uri)) => self.dial(now, uri, 1),
            Input::Command(Command::Hangup) => self.hangup(now),
            Input::Command(Command::Unlock) => self.door.local_unlock(&mut self.core, now),
            Input::Dtmf { call, digit, via } => self.dtmf(now, &call, digit, via),
            Input::MediaActivity { call } => self.media_activity(now, &call),
            Input::ExitRequest { hold } => self.door.open_without_credential(&mut self.core, now, door::EXIT, hold),
            Input::PanelOpen { hold } => self.door.open_without_credential(&mut self.core, now, door::PANEL, hold),
        }
        self.pump(now);
    }

    /// The deadline from [`Engine::next_timeout`] passed (calling it early is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.tx.handle_timeout(now);
        self.reg.on_timeout(&mut self.core, now);
        self.door.on_timeout(&mut self.core, now);
        self.call_timeout(now);
        self.lingering.retain(|l| !l.expired(now));
        self.pump(now);
    }

    /// The next thing to do; `None` when everything is drained.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.core.out.pop_front()
    }

    /// When to call [`Engine::handle_timeout`] next.
    pub fn next_timeout(&self) -> Option<Instant> {
        let call = self.call.as_ref().and_then(|c| match c {
            Call::Bell(b) => b.deadline(),
            Call::Incoming(i) => i.deadline(),
        });
        [
            self.core.tx.next_timeout(),
            self.reg.deadline(),
            self.door.deadline(),
            call,
            self.lingering.iter().map(Lingering::deadline).min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Orderly stop: ends the current call (CANCEL or BYE, reason
    /// `local_hangup`) and removes the registration (REGISTER with Expires
    /// 0). Keep driving the engine for a moment (until the transactions are
    /// answered, a second or two) so those requests are retransmitted on UDP.
    pub fn shutdown(&mut self, now: Instant) {
        self.hangup(now);
        self.reg.unregister(&mut self.core, now);
        self.pump(now);
    }

    /// What the `status` command shows.
    pub fn status(&self) -> Status {
        let call = self.call.as_ref().map(|c| match c {
            Call::Bell(b) => b.status(),
            Call::Incoming(i) => i.status(),
        });
        Status {
            registered: self.reg.is_registered(),
            call,
            relay: self.door.relay_state(),
            locked_out: self.door.locked_out(),
        }
    }

    fn press(&mut self, now: Instant, button: usize) {
        match self.core.cfg.buttons.get(button).cloned() {
            Some(target) => {
                let limit = self.core.cfg.calls.early_media_limit.max(1);
                self.dial(now, target, limit);
            }
            None => tracing::warn!(button, "press of a button without a target"),
        }
    }

    fn dial(&mut self, now: Instant, target: String, early_limit: usize) {
        if self.call.is_some() {
            tracing::info!(%target, "call request ignored: a call is in progress");
            return;
        }
        self.call = BellCall::start(&mut self.core, now, target, early_limit).map(Call::Bell);
    }

    fn hangup(&mut self, now: Instant) {
        let linger = match self.call.take() {
            Some(Call::Bell(b)) => b.hang_up(&mut self.core, now, EndReason::LocalHangup),
            Some(Call::Incoming(i)) => {
                i.hang_up(&mut self.core, now, EndReason::LocalHangup);
                None
            }
            None => None,
        };
        self.lingering.extend(linger);
    }

    fn call_timeout(&mut self, now: Instant) {
        let Some(call) = self.call.take() else { return };
        self.call = match call {
            Call::Bell(b) => {
                let next = b.on_timeout(&mut self.core, now);
                return self.settle_bell(next);
            }
            Call::Incoming(i) => i.on_timeout(&mut self.core, now).map(Call::Incoming),
        };
    }

    /// Where a bell-call transition leaves the engine.
    pub(crate) fn settle_bell(&mut self, next: outgoing::Next) {
        match next {
            outgoing::Next::Continue(b) => self.call = Some(Call::Bell(b)),
            outgoing::Next::Ended(linger) => self.lingering.extend(linger),
        }
    }

    fn media_activity(&mut self, now: Instant, call: &CallId) {
        match &mut self.call {
            Some(Call::Bell(b)) if b.call_id() == call => b.media_activity(now),
            Some(Call::Incoming(i)) if i.call_id() == call => i.media_activity(now),
            _ => {}
        }
    }

    /// A digit from any path: reported, then handed to the unlock sequencer
    /// with the identity of the call's remote side. Only the path of the
    /// call's first digit counts.
    fn dtmf(&mut self, now: Instant, call: &CallId, digit: char, via: DtmfVia) {
        let Some(identity) = self.remote_identity(call) else { return };
        let Some(digit) = dtmf::dtmf_key(digit) else { return };
        match &self.dtmf_path {
            Some((c, path)) if c == call && *path != via => {
                tracing::debug!(%call, ?via, "digit ignored: this call's keys come by {path:?}");
                return;
            }
            _ => self.dtmf_path = Some((call.clone(), via)),
        }
        self.core.emit(Event::Dtmf { call_id: call.0.clone(), digit, via });
        self.door.digit(&mut self.core, now, &call.0, &identity, digit);
    }

    /// A MESSAGE from the remote side of `call`.
    fn message(&mut self, now: Instant, call: &CallId, body: &str) {
        let Some(identity) = self.remote_identity(call) else { return };
        self.door.message(&mut self.core, now, &call.0, &identity, body);
    }

    /// The remote identities of the current call, if it is `call`.
    pub(crate) fn remote_identity(&self, call: &CallId) -> Option<Vec<String>> {
        match &self.call {
            Some(Call::Bell(b)) if b.call_id() == call => b.remote_identity(),
            Some(Call::Incoming(i)) if i.call_id() == call => Some(vec![i.remote_uri()]),
            _ => None,
        }
    }

    /// Drain the transaction layer: transmissions go out, events are handled
    /// (which may queue more), until it has nothing more to say.
    fn pump(&mut self, now: Instant) {
        while let Some(out) = self.core.tx.poll_output() {
            match out {
                TxOutput::Transmit { dest, bytes } => self.core.out.push_back(Output::Transmit { dest, bytes }),
                TxOutput::Event(ev) => self.on_tx_event(now, ev),
            }
        }
        let current = self.current_call().cloned();
        if current != self.last_call {
            if let Some(ended) = self.last_call.take() {
                self.door.end_call(&ended.0);
            }
            self.last_call = current;
        }
    }

    fn current_call(&self) -> Option<&CallId> {
        self.call.as_ref().map(|c| match c {
            Call::Bell(b) => b.call_id(),
            Call::Incoming(i) => i.call_id(),
        })
    }

    fn on_tx_event(&mut self, now: Instant, ev: TxEvent) {
        match ev {
            TxEvent::Request { key, request, from } => self.on_request(now, key, request, from),
            TxEvent::Response { key, response } => self.on_response(now, &key, response),
            TxEvent::Timeout { key } | TxEvent::TransportError { key } => self.on_failure(now, &key),
            TxEvent::Terminated { .. } => {}
        }
    }

    fn on_response(&mut self, now: Instant, key: &ds_sip::transaction::TransactionKey, resp: Response) {
        if self.reg.owns(key) {
            self.reg.on_response(&mut self.core, now, resp);
            return;
        }
        match self.call.take() {
            Some(Call::Bell(b)) if b.owns(key) => {
                let next = b.on_response(&mut self.core, now, resp);
                self.settle_bell(next);
            }
            other => {
                self.call = other;
                if let Some(l) = self.lingering.iter_mut().find(|l| l.owns(key)) {
                    l.on_response(&mut self.core, now, &resp);
                }
            }
        }
    }

    fn on_failure(&mut self, now: Instant, key: &ds_sip::transaction::TransactionKey) {
        if self.reg.owns(key) {
            self.reg.on_failure(&mut self.core, now);
            return;
        }
        match self.call.take() {
            Some(Call::Bell(b)) if b.owns(key) => {
                let linger = b.fail(&mut self.core, now);
                self.lingering.extend(linger);
            }
            other => self.call = other,
        }
    }

    fn on_request(&mut self, now: Instant, key: ds_sip::transaction::TransactionKey, req: Request, from: Peer) {
        requests::dispatch(self, now, requests::Received { key, req, from });
    }
}
