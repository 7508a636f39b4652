//! Opening the Raspberry Pi's GPIO peripheral (rppal), shared by the back-ends.

use rppal::gpio::Gpio;

use crate::HwError;

/// Opens the GPIO peripheral, with an error that says what is needed.
pub(crate) fn open_gpio() -> Result<Gpio, HwError> {
    Gpio::new().map_err(|e| HwError::GpioUnavailable { reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a machine without `/dev/gpiochip0` (CI, a laptop) opening fails with a
    /// message that says what is needed; on a Pi it succeeds.
    #[test]
    fn off_a_pi_the_error_names_what_is_missing() {
        if std::path::Path::new("/dev/gpiochip0").exists() {
            return;
        }
        let err = open_gpio().unwrap_err();
        assert!(matches!(err, HwError::GpioUnavailable { .. }), "{err:?}");
        assert!(err.to_string().contains("/dev/gpiochip0"), "{err}");
    }
}
