//! Sans-IO SIP for the door station and the house proxy.
//!
//! This crate does no I/O and reads no clock. Every state machine takes
//! `(now, input)` and is drained with `poll_output()` until it has nothing
//! more to say; `next_timeout()` tells the caller when to wake it again.
//!
//! Layers, bottom up (RFC 3261 §5):
//! - [`message`]: the message model and the intake checks (syntax, framing,
//!   required headers) that decide between parse, reject with a response, or
//!   drop. rsip is used for URIs and typed header values; the start line and
//!   header framing are ours because rsip accepts malformed messages and cannot
//!   represent extension methods.
//! - [`transaction`]: RFC 3261 §17 client and server transactions, timers A–K.
//! - [`dialog`]: early and confirmed dialogs, route sets, CSeq.
//! - [`digest`]: HTTP digest (RFC 2617, RFC 8760) client and server.
//! - [`sdp`]: SDP (RFC 8866) and the offer/answer model (RFC 3264).
//! - `testkit` (feature `testkit`): a simulated lossy network, a fake clock,
//!   and caller, forking-proxy and callee models for deterministic tests.
//!
//! It does not open sockets, start timers or pick codecs for a device: the
//! daemons do that around it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dialog;
pub mod digest;
pub mod message;
pub mod sdp;
pub mod transaction;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use message::{Headers, Message, Method, NameAddr, Request, Response, Via};
