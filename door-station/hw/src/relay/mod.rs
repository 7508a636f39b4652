//! The door-strike relay: the [`Relay`] trait, its back-ends and the guard that
//! releases it whatever happens to the process.
//!
//! # Failing secure
//!
//! [`RelayGuard`] releases the relay when it is dropped (normal exit, an error
//! returned from `main`, a panic that unwinds) and [`install_panic_release`] makes
//! the panic hook release it before anything else runs, which also covers
//! `panic = "abort"`. Nothing in a process survives `SIGKILL` or a power cut: the
//! wiring must fail secure on its own (a strike that locks when unpowered, a relay
//! board that releases when its input floats), and the service manager releases the
//! line again after the daemon stops (`ExecStopPost`).
//!
//! # Lock kinds and polarity
//!
//! [`RelayConfig::active_low`] is the relay board's polarity (which line level
//! energizes the coil). [`LockRelay`] adds the lock's kind on top: a
//! fail-secure strike is energized to open, a fail-safe magnetic lock is
//! energized to stay locked; through it `set(true)` always means "door open".

mod guard;
mod lock;
#[cfg(feature = "rpi")]
mod rpi;
mod sim;

pub use guard::{RelayGuard, RelayReleaser, install_panic_release};
pub use lock::{LockKind, LockRelay};
#[cfg(feature = "rpi")]
pub use rpi::RpiRelay;
pub use sim::{RelayEdge, RelayLog, SimRelay};

use crate::HwError;

/// A relay output: energized (door strike open) or released (locked).
pub trait Relay: Send {
    /// Drives the relay. Setting the level it already has is allowed and harmless.
    fn set(&mut self, energized: bool) -> Result<(), HwError>;

    /// The level last driven (released after opening).
    fn is_energized(&self) -> bool;
}

/// How the relay is wired: which line drives it and at which level it is energized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayConfig {
    /// BCM GPIO number of the line that drives the relay (`relay.gpio`).
    pub gpio: u8,
    /// The relay is energized when the line is low (`relay.active_low`); most
    /// opto-isolated relay boards sold for the Pi are.
    pub active_low: bool,
}

impl RelayConfig {
    /// Whether the line is driven high for the given relay state.
    pub fn line_high(&self, energized: bool) -> bool {
        energized != self.active_low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polarity_maps_state_to_line_level() {
        let high = RelayConfig { gpio: 26, active_low: false };
        let low = RelayConfig { gpio: 26, active_low: true };
        assert!(high.line_high(true));
        assert!(!high.line_high(false));
        assert!(!low.line_high(true));
        assert!(low.line_high(false));
    }
}
