//! The Raspberry Pi Wiegand lines: two rppal outputs driving open-collector stages.

use rppal::gpio::{Level, OutputPin};

use super::lines::WiegandLines;
use super::schedule::WiegandLine;
use crate::HwError;
use crate::gpio::open_gpio;

/// Which GPIO lines drive D0 and D1, and through what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WiegandPins {
    /// BCM number of the line driving D0 (`wiegand.d0_gpio`).
    pub d0: u8,
    /// BCM number of the line driving D1 (`wiegand.d1_gpio`).
    pub d1: u8,
    /// The driver stage inverts (`wiegand.inverted`, default `true`): a high GPIO
    /// turns the NPN transistor or optocoupler on, which pulls the Wiegand line
    /// low. Set `false` only for a non-inverting buffer.
    pub inverted: bool,
}

/// D0 and D1 on GPIO, claimed released.
#[derive(Debug)]
pub struct RpiWiegandLines {
    d0: OutputPin,
    d1: OutputPin,
    inverted: bool,
}

impl RpiWiegandLines {
    /// Claims both lines, at the level that leaves the Wiegand lines released.
    pub fn open(pins: WiegandPins) -> Result<Self, HwError> {
        let gpio = open_gpio()?;
        let claim = |pin: u8| -> Result<OutputPin, HwError> {
            let p = gpio.get(pin).map_err(|e| HwError::Pin { pin, reason: e.to_string() })?;
            let mut out = if pins.inverted { p.into_output_low() } else { p.into_output_high() };
            out.set_reset_on_drop(false);
            Ok(out)
        };
        Ok(RpiWiegandLines { d0: claim(pins.d0)?, d1: claim(pins.d1)?, inverted: pins.inverted })
    }
}

impl WiegandLines for RpiWiegandLines {
    fn drive(&mut self, line: WiegandLine, low: bool) -> Result<(), HwError> {
        let gpio_high = low == self.inverted;
        let pin = match line {
            WiegandLine::D0 => &mut self.d0,
            WiegandLine::D1 => &mut self.d1,
        };
        pin.write(if gpio_high { Level::High } else { Level::Low });
        Ok(())
    }
}

impl Drop for RpiWiegandLines {
    fn drop(&mut self) {
        let _ = self.drive(WiegandLine::D0, false);
        let _ = self.drive(WiegandLine::D1, false);
    }
}
