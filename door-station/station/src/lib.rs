//! The `door-station` daemon: a SIP video door intercom.
//!
//! The station's behaviour lives in a sans-IO engine (`engine`): it takes
//! `(now, input)` — a SIP message, a button press, a control command, a DTMF
//! digit, "RTP arrived" — and is drained with `poll_output()` for what to
//! transmit, which media to start or stop, when to pulse the relay and what
//! to report. This crate's shell ([`shell`]) is the thin tokio layer around
//! it: it owns the SIP sockets, the RTP sockets and media threads, the
//! hardware and the control socket, feeds inputs, executes outputs and sleeps
//! until the engine's next timeout.
//!
//! - [`config`]: `station.toml`, checked at start with errors that name the
//!   file, line, key and fix.
//! - [`engine`]: the sans-IO station core.
//! - [`control`]: the Unix control socket (`press`, `call`, `hangup`,
//!   `unlock`, `status`, `events`).
//! - [`events`]: the fan-out of engine events to control clients as JSON lines.
//! - [`shell`]: the run loop and everything that does I/O.
//! - [`unlock`]: the unlock-code sequencer (sans-IO).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod control;
pub mod engine;
pub mod events;
pub mod shell;
pub mod unlock;
