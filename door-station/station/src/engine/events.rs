//! What the engine reports: one [`Event`] per thing a script or a
//! home-automation bridge may want to know. Serialised with serde, an event is
//! exactly one JSON line of the control socket's `events` stream (README,
//! "The control socket"); [`Event::json_line`] adds the `ts_ms` stamp.

use serde::Serialize;

pub use crate::unlock::UnlockOutcome as UnlockResult;

/// How a DTMF digit arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DtmfVia {
    /// An RTP telephone-event (RFC 4733).
    Rfc4733,
    /// A SIP INFO (`application/dtmf-relay` or `application/dtmf`).
    Info,
    /// A SIP MESSAGE whose body is the configured text.
    Message,
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The other side sent BYE.
    RemoteBye,
    /// The `hangup` command.
    LocalHangup,
    /// Nobody answered within the ring timeout.
    RingTimeout,
    /// The call time limit passed.
    CallLimit,
    /// No media from the answerer for the RTP timeout.
    RtpTimeout,
    /// A 4xx–6xx final answer.
    Rejected,
    /// The caller cancelled an incoming call.
    Cancelled,
    /// Transport error, transaction timeout or an unroutable target.
    Error,
}

/// Relay state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayState {
    /// Energised: the door strike is open.
    On,
    /// Released.
    Off,
}

/// One event of the control socket's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The registrar accepted the binding for `expires` seconds.
    Registered {
        /// Address of record.
        aor: String,
        /// Granted lifetime, seconds.
        expires: u32,
    },
    /// REGISTER failed; the next attempt is in `retry_in_s`.
    RegistrationFailed {
        /// SIP status code, 0 for a timeout or transport error.
        status: u16,
        /// Seconds until the next attempt.
        retry_in_s: u64,
    },
    /// A bell call went out.
    Ringing {
        /// SIP Call-ID.
        call_id: String,
        /// The button's target URI.
        target: String,
    },
    /// Early media started towards one early dialog.
    EarlyMedia {
        /// SIP Call-ID.
        call_id: String,
        /// The dialog's remote tag.
        dialog: String,
        /// `ip:port` the video goes to.
        remote: String,
    },
    /// Somebody answered the bell call.
    Answered {
        /// SIP Call-ID.
        call_id: String,
        /// The answerer's URI (To of the 200, else its Contact).
        by: String,
    },
    /// A call to the station came in.
    Incoming {
        /// SIP Call-ID.
        call_id: String,
        /// Caller URI (From).
        from: String,
        /// Auto-answered (true) or refused with 403 (false).
        accepted: bool,
    },
    /// A DTMF digit arrived.
    Dtmf {
        /// SIP Call-ID.
        call_id: String,
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        digit: char,
        /// How it arrived.
        via: DtmfVia,
    },
    /// An unlock attempt finished.
    Unlock {
        /// Caller URI, or `local` for the control socket.
        by: String,
        /// What happened.
        result: UnlockResult,
    },
    /// The relay changed state.
    Relay {
        /// New state.
        state: RelayState,
    },
    /// A call ended.
    Ended {
        /// SIP Call-ID.
        call_id: String,
        /// Why.
        reason: EndReason,
    },
    /// The door contact changed, or the door is held open (`[door]`).
    Door(DoorState),
    /// The request-to-exit button was pressed (an `unlock` by `exit` follows).
    ExitRequested,
    /// The tamper input changed.
    Tamper {
        /// `true` tampered, `false` restored.
        active: bool,
    },
    /// The OSDP link to the panel changed.
    Osdp {
        /// The panel polls.
        online: bool,
        /// A Secure Channel session is up.
        secure: bool,
    },
    /// The access panel sent a command over OSDP.
    Panel(PanelEvent),
    /// A Wiegand frame went out on the panel's reader port, or was given up.
    Wiegand {
        /// Frame length.
        bits: usize,
        /// `false`: given up after a resend.
        sent: bool,
        /// Attempts aborted for bad timing.
        overruns: u32,
    },
}

/// `door` events: the `state` field and what goes with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DoorState {
    /// The door opened; `authorized` if an unlock or exit grant was in effect.
    Opened {
        /// A grant was in effect.
        authorized: bool,
    },
    /// The door opened without a grant (reported after `opened`).
    Forced,
    /// The door has been open longer than `door.held_open_s`.
    HeldOpen {
        /// How long it has been open.
        open_s: u64,
    },
    /// The door closed.
    Closed {
        /// How long it was open.
        open_ms: u64,
    },
}

/// `panel` events: the `command` field and what goes with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum PanelEvent {
    /// `osdp_OUT`; output 0 is the door relay.
    Output {
        /// Output number.
        output: u8,
        /// OSDP control code (1/3 off, 2/4 permanent on, 5 temporary on, 6 temporary off).
        control: u8,
        /// The timer, ms.
        ms: u64,
        /// Carried out (temporary on, off); permanent on is refused.
        accepted: bool,
    },
    /// `osdp_LED`.
    Led {
        /// LED number.
        led: u8,
        /// OSDP colour code (0 black, 1 red, 2 green, 3 amber, …).
        color: u8,
    },
    /// `osdp_BUZ`.
    Buzzer {
        /// OSDP tone code (0 none, 1 off, 2 default).
        tone: u8,
        /// Repetitions (0 = until told otherwise).
        count: u8,
    },
    /// `osdp_KEYSET`: a new Secure Channel key was stored.
    KeyStored,
    /// `osdp_COMSET`: new address and rate (applied at the next start).
    #[serde(rename = "comset")]
    ComSet {
        /// PD address.
        address: u8,
        /// Baud rate.
        baud: u32,
    },
}

#[derive(Serialize)]
struct Stamped<'a> {
    #[serde(flatten)]
    event: &'a Event,
    ts_ms: u64,
}

impl Event {
    /// The JSON line of the `events` stream (no trailing newline), stamped
    /// with milliseconds since the station started.
    pub fn json_line(&self, ts_ms: u64) -> String {
        // Serialising plain strings, numbers and unit enums cannot fail.
        serde_json::to_string(&Stamped { event: self, ts_ms }).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_matches_the_control_socket_table() {
        let e = Event::Dtmf { call_id: "c1".into(), digit: '#', via: DtmfVia::Info };
        assert_eq!(e.json_line(42), r##"{"event":"dtmf","call_id":"c1","digit":"#","via":"info","ts_ms":42}"##);
        let e = Event::RegistrationFailed { status: 0, retry_in_s: 5 };
        assert_eq!(e.json_line(1), r#"{"event":"registration_failed","status":0,"retry_in_s":5,"ts_ms":1}"#);
        let e = Event::Unlock { by: "local".into(), result: UnlockResult::WrongCode };
        assert_eq!(e.json_line(0), r#"{"event":"unlock","by":"local","result":"wrong_code","ts_ms":0}"#);
        let e = Event::Ended { call_id: "c".into(), reason: EndReason::RtpTimeout };
        assert_eq!(e.json_line(7), r#"{"event":"ended","call_id":"c","reason":"rtp_timeout","ts_ms":7}"#);
        let e = Event::EarlyMedia { call_id: "c".into(), dialog: "t1".into(), remote: "127.0.0.1:16200".into() };
        assert_eq!(
            e.json_line(3),
            r#"{"event":"early_media","call_id":"c","dialog":"t1","remote":"127.0.0.1:16200","ts_ms":3}"#
        );
        let e = Event::Relay { state: RelayState::On };
        assert_eq!(e.json_line(9), r#"{"event":"relay","state":"on","ts_ms":9}"#);
    }

    #[test]
    fn access_events_are_flat_json_objects() {
        let e = Event::Door(DoorState::Opened { authorized: false });
        assert_eq!(e.json_line(1), r#"{"event":"door","state":"opened","authorized":false,"ts_ms":1}"#);
        assert_eq!(Event::Door(DoorState::Forced).json_line(1), r#"{"event":"door","state":"forced","ts_ms":1}"#);
        let e = Event::Door(DoorState::HeldOpen { open_s: 30 });
        assert_eq!(e.json_line(2), r#"{"event":"door","state":"held_open","open_s":30,"ts_ms":2}"#);
        assert_eq!(Event::ExitRequested.json_line(3), r#"{"event":"exit_requested","ts_ms":3}"#);
        let e = Event::Osdp { online: true, secure: true };
        assert_eq!(e.json_line(4), r#"{"event":"osdp","online":true,"secure":true,"ts_ms":4}"#);
        let e = Event::Panel(PanelEvent::Output { output: 0, control: 5, ms: 3000, accepted: true });
        assert_eq!(
            e.json_line(5),
            r#"{"event":"panel","command":"output","output":0,"control":5,"ms":3000,"accepted":true,"ts_ms":5}"#
        );
        assert_eq!(
            Event::Panel(PanelEvent::KeyStored).json_line(6),
            r#"{"event":"panel","command":"key_stored","ts_ms":6}"#
        );
        let e = Event::Wiegand { bits: 26, sent: true, overruns: 0 };
        assert_eq!(e.json_line(7), r#"{"event":"wiegand","bits":26,"sent":true,"overruns":0,"ts_ms":7}"#);
    }
}
