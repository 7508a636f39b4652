//! The door: DTMF entries through the unlock sequencer, and the relay.
//!
//! The relay state is tracked here from the pulses we order (on at the
//! pulse, off when it has run), so `relay` events and `status` need no
//! feedback from the hardware.

use std::time::{Duration, Instant};

use crate::unlock::{UnlockCode, UnlockOutcome, UnlockSequencer};

use super::{Core, DtmfVia, Event, Output, RelayCommand, RelayState};

/// Who opened from the control socket.
pub const LOCAL: &str = "local";
/// Who opened with the request-to-exit button.
pub const EXIT: &str = "exit";
/// Who opened with an `osdp_OUT` from the access panel.
pub const PANEL: &str = "panel";

pub(crate) struct Door {
    seq: UnlockSequencer,
    pulse: Duration,
    relay_off_at: Option<Instant>,
}

impl Door {
    pub fn new(cfg: &super::EngineConfig) -> Door {
        Door { seq: UnlockSequencer::new(cfg.unlock.clone()), pulse: cfg.relay_pulse, relay_off_at: None }
    }

    /// One key from the remote side of `call`, whose identities are `ids`
    /// (the first one on the unlock allow-list counts, else the first).
    pub fn digit(&mut self, core: &mut Core, now: Instant, call: &str, ids: &[String], digit: char) {
        let who = self.pick(ids);
        if let Some(outcome) = self.seq.handle_digit(now, call, &who, digit) {
            self.outcome(core, now, who, outcome);
        }
    }

    /// A MESSAGE body from the remote side of `call`: when it is the unlock
    /// word it counts as the whole code, reported as its keys.
    pub fn message(&mut self, core: &mut Core, now: Instant, call: &str, ids: &[String], body: &str) {
        let who = self.pick(ids);
        let Some(outcome) = self.seq.handle_message(now, &who, body) else { return };
        for digit in code_keys(&self.seq.config().code) {
            core.emit(Event::Dtmf { call_id: call.to_string(), digit, via: DtmfVia::Message });
        }
        self.outcome(core, now, who, outcome);
    }

    /// The `unlock` command: open, whatever the lockout says.
    pub fn local_unlock(&mut self, core: &mut Core, now: Instant) {
        self.outcome(core, now, LOCAL.to_string(), UnlockOutcome::Opened);
    }

    /// An opening the access panel must not see as a badge (request to
    /// exit, the panel's own order): `by` is [`EXIT`] or [`PANEL`]. A pulse
    /// already running is extended, never shortened.
    pub fn open_without_credential(&mut self, core: &mut Core, now: Instant, by: &str, hold: Duration) {
        core.out.push_back(Output::Relay(RelayCommand::PulseWithoutCredential(hold)));
        self.relay_on(core, now + hold);
        core.emit(Event::Unlock { by: by.to_string(), result: UnlockOutcome::Opened });
    }

    /// Forget a finished call's partial PIN.
    pub fn end_call(&mut self, call: &str) {
        self.seq.end_call(call);
    }

    pub fn on_timeout(&mut self, core: &mut Core, now: Instant) {
        self.seq.handle_timeout(now);
        if self.relay_off_at.is_some_and(|t| t <= now) {
            self.relay_off_at = None;
            core.emit(Event::Relay { state: RelayState::Off });
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        [self.seq.next_timeout(), self.relay_off_at].into_iter().flatten().min()
    }

    pub fn relay_state(&self) -> RelayState {
        if self.relay_off_at.is_some() { RelayState::On } else { RelayState::Off }
    }

    pub fn locked_out(&self) -> bool {
        self.seq.locked_until().is_some()
    }

    fn pick(&self, ids: &[String]) -> String {
        let allow = &self.seq.config().allow;
        ids.iter().find(|id| allow.allows(id)).or(ids.first()).cloned().unwrap_or_default()
    }

    fn outcome(&mut self, core: &mut Core, now: Instant, by: String, result: UnlockOutcome) {
        if result == UnlockOutcome::Opened {
            core.out.push_back(Output::Relay(RelayCommand::Pulse(self.pulse)));
            self.relay_on(core, now + self.pulse);
        }
        core.emit(Event::Unlock { by, result });
    }

    /// The relay is on until `until` at least.
    fn relay_on(&mut self, core: &mut Core, until: Instant) {
        if self.relay_off_at.is_none() {
            core.emit(Event::Relay { state: RelayState::On });
        }
        self.relay_off_at = Some(self.relay_off_at.map_or(until, |t| t.max(until)));
    }
}

/// The keys of the code, as typed: `#`, or `1234#`.
fn code_keys(code: &UnlockCode) -> Vec<char> {
    match code {
        UnlockCode::Digit(c) => vec![*c],
        UnlockCode::Pin(pin) => pin.chars().chain(['#']).collect(),
    }
}
