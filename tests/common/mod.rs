//! Shared code of the end-to-end tests: a harness that owns the peer processes and their
//! logs, the station under test and its control socket, the real SIP peers, and tshark.
#![allow(dead_code)]

pub mod capture;
pub mod events;
pub mod harness;
pub mod media;
pub mod peers;
pub mod station;

use std::time::Duration;

/// Shorthand for a whole number of seconds.
pub const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Shorthand for milliseconds.
pub const fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}
