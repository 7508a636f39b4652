//! ds-hw: the door station's hardware behind small traits.
//!
//! Two kinds of hardware, each a trait with a Raspberry Pi back-end (rppal,
//! feature `rpi`, on by default) and a simulated one that records what happened
//! with timestamps:
//!
//! - [`Relay`]: the door-strike relay. [`RpiRelay`] drives a GPIO line (polarity
//!   from [`RelayConfig`]); [`SimRelay`] records edges in a [`RelayLog`] and, if
//!   asked, as `<unix_ms> on|off` lines in a file. A [`RelayGuard`] owns the relay
//!   and releases it on drop; [`install_panic_release`] releases it from the
//!   panic hook (see [`relay`] for what cannot be covered from inside a process).
//! - [`Button`]: call buttons. [`RpiButton`] reads a GPIO line by interrupt and
//!   debounces it; [`SimButton`] is pressed from code. Both deliver
//!   [`ButtonEvent`]s to a [`ButtonSink`] (see [`button`]).
//!
//! Access control, each a sans-IO core with simulated and rppal back-ends:
//!
//! - [`wiegand`]: credential formats with parity, the frame scheduler, and the
//!   real-time thread that clocks frames out to a panel's reader port.
//! - [`door`]: door contact (opened, forced, held open), request-to-exit and
//!   tamper supervision.
//! - [`LockRelay`]: fail-secure or fail-safe locks behind the relay.
//!
//! Sans-IO cores decide *when*; the back-ends only do:
//!
//! - [`RelayPulse`]: Idle → Pulsing → Cooldown → Idle, with states as types.
//! - [`Debouncer`]: raw levels in, one [`DebounceEvent`] per settled change out.
//! - [`wiegand::FrameScheduler`] and [`DoorMonitor`].
//!
//! # The driving loop
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ds_hw::{PulseConfig, RelayAction, RelayGuard, RelayPulse, SimRelay};
//!
//! let relay = SimRelay::new();
//! let log = relay.log();
//! let guard = RelayGuard::new(Box::new(relay));
//! let mut pulse = RelayPulse::new(PulseConfig::default());
//! let t0 = Instant::now(); // the shell reads the clock; the core never does
//! pulse.trigger(t0, Duration::from_secs(3)).unwrap();
//! let mut drive = |pulse: &mut RelayPulse| {
//!     while let Some(action) = pulse.poll_output() {
//!         guard.set(action == RelayAction::Energize).unwrap();
//!     }
//! };
//! drive(&mut pulse);
//! // ... sleep until pulse.next_timeout(), then:
//! pulse.handle_timeout(t0 + Duration::from_secs(3));
//! drive(&mut pulse);
//! assert_eq!(log.len(), 2);
//! ```
//!
//! # What it does not do
//!
//! It reads no configuration file and decides nothing about calls or codes: the
//! daemon builds [`RelayConfig`] and the debounce time from its own config and
//! decides when to pulse. No async runtime:
//! back-ends use plain threads and callbacks.

// Unsafe code is denied everywhere but in `wiegand::rt`, the FFI calls that
// make the Wiegand thread real-time.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod button;
mod clock;
pub mod door;
mod error;
#[cfg(feature = "rpi")]
mod gpio;
mod pulse;
pub mod relay;
pub mod wiegand;

#[cfg(feature = "rpi")]
pub use button::RpiButton;
pub use button::{Button, ButtonEvent, ButtonSink, DebounceEvent, Debouncer, SimButton};
pub use clock::{Clock, ManualClock, SystemClock};
pub use door::{DoorConfig, DoorEvent, DoorInput, DoorMonitor, DoorOutput};
pub use error::HwError;
pub use pulse::{Cooldown, Idle, PulseConfig, PulseError, PulseState, Pulsing, RelayAction, RelayPulse};
#[cfg(feature = "rpi")]
pub use relay::RpiRelay;
pub use relay::{
    LockKind, LockRelay, Relay, RelayConfig, RelayEdge, RelayGuard, RelayLog, RelayReleaser, SimRelay,
    install_panic_release,
};
