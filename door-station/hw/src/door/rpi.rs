//! The door inputs on GPIO: contact, exit button and tamper, each an input with
//! the pull-up on and an interrupt on both edges.

use std::sync::mpsc::Sender;
use std::time::Instant;

use rppal::gpio::{InputPin, Trigger};

use super::feed::DoorFeed;
use super::monitor::DoorInput;
use crate::HwError;
use crate::gpio::open_gpio;

/// One input line and its polarity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoorPin {
    /// BCM number.
    pub gpio: u8,
    /// The input is active (open / pressed / tampered) when the line is low.
    /// Typical wiring, each switch to ground with the pull-up on:
    /// door contact (reed closed while the door is closed) `false`;
    /// exit button (normally open) `true`; tamper (closed while the case is
    /// shut) `false`.
    pub active_low: bool,
}

/// Which inputs are wired (`door.contact_gpio`, `door.exit_gpio`, `door.tamper_gpio`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DoorPins {
    /// The door contact.
    pub contact: Option<DoorPin>,
    /// The request-to-exit button.
    pub exit: Option<DoorPin>,
    /// The tamper switch.
    pub tamper: Option<DoorPin>,
}

/// The claimed input lines; dropping it stops the interrupts.
#[derive(Debug)]
pub struct RpiDoorInputs {
    _pins: Vec<InputPin>,
    door_open: bool,
    tampered: bool,
}

impl RpiDoorInputs {
    /// Claims the wired inputs and sends every edge from now on; the levels
    /// read at opening are [`door_open`](Self::door_open) and
    /// [`tampered`](Self::tampered), to start the [`DoorMonitor`](super::DoorMonitor) with.
    pub fn open(pins: DoorPins, feed: Sender<DoorFeed>) -> Result<Self, HwError> {
        let gpio = open_gpio()?;
        let wired =
            [(DoorInput::Contact, pins.contact), (DoorInput::Exit, pins.exit), (DoorInput::Tamper, pins.tamper)];
        let mut claimed = Vec::new();
        let (mut door_open, mut tampered) = (false, false);
        for (input, pin) in wired {
            let Some(pin) = pin else { continue };
            let error = |e: rppal::gpio::Error| HwError::Pin { pin: pin.gpio, reason: e.to_string() };
            let mut line = gpio.get(pin.gpio).map_err(error)?.into_input_pullup();
            let level = line.is_low() == pin.active_low;
            match input {
                DoorInput::Contact => door_open = level,
                DoorInput::Tamper => tampered = level,
                DoorInput::Exit => {}
            }
            let tx = feed.clone();
            line.set_async_interrupt(Trigger::Both, None, move |event| {
                let low = event.trigger == Trigger::FallingEdge;
                let _ = tx.send(DoorFeed::Level { at: Instant::now(), input, level: low == pin.active_low });
            })
            .map_err(error)?;
            claimed.push(line);
        }
        Ok(RpiDoorInputs { _pins: claimed, door_open, tampered })
    }

    /// Whether the door contact read open when the inputs were opened.
    pub fn door_open(&self) -> bool {
        self.door_open
    }

    /// Whether the tamper input read active when the inputs were opened.
    pub fn tampered(&self) -> bool {
        self.tampered
    }
}
