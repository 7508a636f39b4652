//! The Raspberry Pi button: one input line with the pull-up on, the button
//! wired to ground.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use rppal::gpio::{InputPin, Trigger};

use super::forward::{RawLevel, forward_presses};
use super::{Button, ButtonEvent, ButtonSink, Debouncer};
use crate::gpio::open_gpio;
use crate::{HwError, SystemClock};

/// A push button on a GPIO line (BCM numbering), read through rppal's
/// asynchronous interrupt on both edges.
///
/// The interrupt thread stamps each edge with `Instant::now()` (microseconds
/// after the edge) and hands it to a small thread that runs a [`Debouncer`] and
/// delivers each settled press to the sink. Dropping the button stops both.
#[derive(Debug)]
pub struct RpiButton {
    pin: InputPin,
    index: usize,
    sink: ButtonSink,
}

impl RpiButton {
    /// Claims line `gpio` as button `index`, with pull-up, debounced by `debounce`.
    ///
    /// Fails with [`HwError::GpioUnavailable`] off a Raspberry Pi and with
    /// [`HwError::Pin`] when the line is taken.
    pub fn open(index: usize, gpio: u8, debounce: Duration, sink: ButtonSink) -> Result<Self, HwError> {
        let pin_error = |e: rppal::gpio::Error| HwError::Pin { pin: gpio, reason: e.to_string() };
        let mut pin = open_gpio()?.get(gpio).map_err(pin_error)?.into_input_pullup();
        let (edges, levels) = mpsc::channel::<RawLevel>();
        let debouncer = Debouncer::new(debounce, pin.is_low());
        let forward_sink = sink.clone();
        std::thread::Builder::new()
            .name(format!("button-{index}"))
            .spawn(move || forward_presses(levels, debouncer, index, forward_sink, &SystemClock))
            .map_err(|e| HwError::Pin { pin: gpio, reason: format!("cannot start its thread: {e}") })?;
        pin.set_async_interrupt(Trigger::Both, None, move |event| {
            let pressed = event.trigger == Trigger::FallingEdge;
            let _ = edges.send((Instant::now(), pressed));
        })
        .map_err(pin_error)?;
        Ok(RpiButton { pin, index, sink })
    }

    /// Whether the line reads pressed (low) right now, not debounced.
    pub fn reads_pressed(&self) -> bool {
        self.pin.is_low()
    }
}

impl Button for RpiButton {
    fn covers(&self, index: usize) -> bool {
        index == self.index
    }

    fn press(&self, index: usize) -> Result<(), HwError> {
        if index != self.index {
            return Err(HwError::NoSuchButton { index });
        }
        self.sink.send(ButtonEvent { index, at: Instant::now() })
    }
}
