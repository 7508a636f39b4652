//! Call buttons: presses delivered to a [`ButtonSink`], the sans-IO
//! [`Debouncer`], and the back-ends.
//!
//! # How the daemon receives presses
//!
//! Every back-end delivers [`ButtonEvent`]s to a [`ButtonSink`], a cloneable
//! callback called on the back-end's own thread (the GPIO interrupt thread for
//! [`RpiButton`], the caller's thread for [`SimButton`]). [`ButtonSink::channel`]
//! turns it into a `std::sync::mpsc::Receiver`; a tokio shell wraps a
//! `tokio::sync::mpsc::UnboundedSender` instead:
//! `ButtonSink::new(move |ev| tx.send(ev).is_ok())`, which never blocks.
//!
//! Buttons are numbered from 1, in the order of `[[button]]` in the config file
//! and as in the control socket's `press N`.

mod debounce;
mod forward;
#[cfg(feature = "rpi")]
mod rpi;
mod sim;

pub use debounce::{DebounceEvent, Debouncer};
#[cfg(feature = "rpi")]
pub use rpi::RpiButton;
pub use sim::SimButton;

use std::sync::{Arc, mpsc};
use std::time::Instant;

use crate::HwError;

/// A debounced press of a call button.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ButtonEvent {
    /// The button number, from 1.
    pub index: usize,
    /// When the press began: the edge after which the line stayed pressed.
    pub at: Instant,
}

/// Where a back-end delivers presses: a callback that returns `false` once
/// nobody receives them any more.
#[derive(Clone)]
pub struct ButtonSink {
    deliver: Arc<dyn Fn(ButtonEvent) -> bool + Send + Sync>,
}

impl std::fmt::Debug for ButtonSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ButtonSink")
    }
}

impl ButtonSink {
    /// A sink that calls `deliver` for each press (on the back-end's thread; it
    /// must not block).
    pub fn new(deliver: impl Fn(ButtonEvent) -> bool + Send + Sync + 'static) -> Self {
        ButtonSink { deliver: Arc::new(deliver) }
    }

    /// A sink feeding a standard channel, and the channel's receiving end.
    pub fn channel() -> (ButtonSink, mpsc::Receiver<ButtonEvent>) {
        let (tx, rx) = mpsc::channel();
        (ButtonSink::new(move |ev| tx.send(ev).is_ok()), rx)
    }

    /// Delivers one press; [`HwError::SinkClosed`] if nobody listens.
    pub fn send(&self, event: ButtonEvent) -> Result<(), HwError> {
        if (self.deliver)(event) { Ok(()) } else { Err(HwError::SinkClosed) }
    }
}

/// A button back-end. It delivers presses to the sink it was opened with for as
/// long as it lives; dropping it stops the deliveries.
pub trait Button: Send {
    /// Whether this back-end reports presses of button `index`.
    fn covers(&self, index: usize) -> bool;

    /// Delivers a press of button `index` as if it had been pushed now (the
    /// control socket's `press N`).
    fn press(&self, index: usize) -> Result<(), HwError>;
}
