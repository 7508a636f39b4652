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
}
