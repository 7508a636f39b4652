//! The one error type of the hardware back-ends.

use std::io;
use std::path::PathBuf;

/// What went wrong talking to a relay or a button back-end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HwError {
    /// The GPIO character device could not be opened: not a Raspberry Pi, no
    /// `/dev/gpiochip*`, or no permission. The simulated back-end works anywhere.
    #[error(
        "GPIO is not available: {reason}. The \"rpi\" back-end needs a Raspberry Pi with \
         /dev/gpiochip0 readable by this user; use backend = \"sim\" on other machines"
    )]
    GpioUnavailable {
        /// The underlying error, as the GPIO library reported it.
        reason: String,
    },
    /// One GPIO line could not be claimed (already in use, or not on this board).
    #[error("GPIO line {pin} (BCM numbering): {reason}")]
    Pin {
        /// BCM number of the line.
        pin: u8,
        /// The underlying error.
        reason: String,
    },
    /// The simulated relay could not append an edge to its log file.
    #[error("relay edge log {}: {source}", path.display())]
    EdgeLog {
        /// The file given to the simulated relay.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A press of a button number the back-end does not have.
    #[error("no button {index} on this back-end (buttons are numbered from 1, as in the config file)")]
    NoSuchButton {
        /// The number asked for.
        index: usize,
    },
    /// Nobody receives button events any more (the receiving end was dropped).
    #[error("button events are no longer received")]
    SinkClosed,
    /// The Wiegand sender could not start or has stopped.
    #[error("Wiegand output: {reason}")]
    Wiegand {
        /// What went wrong.
        reason: String,
    },
}
