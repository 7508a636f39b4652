//! The Raspberry Pi relay: one rppal output line.

use rppal::gpio::{Level, OutputPin};

use super::{Relay, RelayConfig};
use crate::HwError;
use crate::gpio::open_gpio;

/// A relay driven by a GPIO line through rppal.
///
/// [`RpiRelay::open`] claims the line already at the released level, so opening
/// never pulses the strike. The line is left driven released when the value is
/// dropped (rppal's reset-on-drop is turned off: a floating input could energize an
/// active-low board).
#[derive(Debug)]
pub struct RpiRelay {
    pin: OutputPin,
    config: RelayConfig,
    energized: bool,
}

impl RpiRelay {
    /// Claims the line and drives it to the released level.
    ///
    /// Fails with [`HwError::GpioUnavailable`] off a Raspberry Pi (no
    /// `/dev/gpiochip*`) and with [`HwError::Pin`] when the line is taken.
    pub fn open(config: RelayConfig) -> Result<Self, HwError> {
        let gpio = open_gpio()?;
        let pin = gpio.get(config.gpio).map_err(|e| HwError::Pin { pin: config.gpio, reason: e.to_string() })?;
        let mut pin = if config.line_high(false) { pin.into_output_high() } else { pin.into_output_low() };
        pin.set_reset_on_drop(false);
        Ok(RpiRelay { pin, config, energized: false })
    }
}

impl Relay for RpiRelay {
    fn set(&mut self, energized: bool) -> Result<(), HwError> {
        let level = if self.config.line_high(energized) { Level::High } else { Level::Low };
        self.pin.write(level);
        self.energized = energized;
        Ok(())
    }

    fn is_energized(&self) -> bool {
        self.energized
    }
}

impl Drop for RpiRelay {
    fn drop(&mut self) {
        let _ = self.set(false);
    }
}
