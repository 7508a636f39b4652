//! ds-osdp: the door station as an OSDP reader (a peripheral device, PD) on an
//! access-control panel's RS-485 bus.
//!
//! When a resident opens the door, the panel must see it as a badge read: the
//! station reports its configured credential as an `osdp_RAW` card read
//! (Wiegand format) in reply to the panel's next `osdp_POLL`.
//!
//! - [`OsdpReader`]: the small trait the station codes against.
//! - [`LibOsdpReader`]: the real one, the C libosdp (through the `libosdp`
//!   crate) on a [`SerialPort`]. It answers POLL, ID, CAP, LSTAT, COMSET, OUT,
//!   LED and BUZ; runs Secure Channel with the SCBK from a [`KeyFile`] or the
//!   config; in install mode accepts one session with SCBK-D and stores the
//!   panel's `osdp_KEYSET`; enforces Secure Channel when configured.
//! - [`SimReader`]: records reported cards and lets tests inject panel
//!   commands.
//!
//! # The driving loop
//!
//! ```text
//! loop {
//!     reader.wait_readable(10 ms);      // returns at once when the panel sent bytes
//!     reader.poll(Instant::now())?;     // reads, answers, queues PanelCommands
//!     while let Some(cmd) = reader.poll_command() { … }   // OUT → relay, LED, BUZ
//! }
//! ```
//!
//! [`ReaderThread`] runs exactly this loop on its own thread.
//!
//! libosdp needs `poll` at least every 50 ms. Unlike the station's sans-IO
//! cores, libosdp reads the monotonic clock itself for its own timeouts (the
//! `now` passed to [`OsdpReader::poll`] is only recorded); the OSDP state
//! machine is C code behind this trait, which is what the simulated reader
//! replaces in tests of the station.
//!
//! # What it does not do
//!
//! No control-panel role, no file transfer, no multi-drop of several readers
//! from one process. COMSET is reported but the new baud rate is applied only
//! when the daemon reopens the port.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod keyfile;
mod pd;
mod serial;
mod sim;
mod thread;

pub use keyfile::{KeyFile, Scbk, format_key, parse_key};
pub use pd::{LibOsdpReader, ReaderConfig, ReaderIdentity, SecureChannel};
#[cfg(feature = "rpi")]
pub use serial::GpioDirection;
pub use serial::{Direction, SerialPort};
pub use sim::{SimReader, SimReaderLog};
pub use thread::ReaderThread;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ds_hw::wiegand::Bits;

/// The format byte of an `osdp_RAW` card read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardFormat {
    /// 0: raw, unspecified.
    Unspecified,
    /// 1: Wiegand (parity/data/parity as sent on D0/D1).
    Wiegand,
}

/// A command from the panel for the station to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PanelCommand {
    /// `osdp_OUT`: output `output` (0 = the door relay), OSDP control code
    /// (1/3 off, 2/4 on, 5 temporary on, 6 temporary off), timer in 100 ms.
    Output {
        /// Output number.
        output: u8,
        /// OSDP control code.
        control: u8,
        /// Timer in units of 100 ms (for codes 5 and 6).
        timer_100ms: u16,
    },
    /// `osdp_LED`: the reader LED's permanent or temporary colour.
    Led {
        /// LED number.
        led: u8,
        /// OSDP colour code of the permanent state's "on" colour (0 black,
        /// 1 red, 2 green, 3 amber …).
        permanent_color: u8,
        /// Colour of the temporary state, if one was set.
        temporary_color: Option<u8>,
        /// Duration of the temporary state in 100 ms.
        temporary_100ms: u16,
    },
    /// `osdp_BUZ`: tone code (0 none, 1 off, 2 default), on/off in 100 ms,
    /// repeat count (0 = forever).
    Buzzer {
        /// OSDP tone code.
        tone: u8,
        /// On time in 100 ms.
        on_100ms: u8,
        /// Off time in 100 ms.
        off_100ms: u8,
        /// Repetitions.
        count: u8,
    },
    /// `osdp_COMSET` was acknowledged: reopen the port with this address and
    /// rate (and keep them).
    ComSet {
        /// New PD address.
        address: u8,
        /// New baud rate.
        baud: u32,
    },
    /// `osdp_KEYSET`: a new SCBK was stored in the key file.
    KeyStored,
}

/// Whether the panel is talking to the reader, and securely.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStatus {
    /// The panel polled recently.
    pub online: bool,
    /// A Secure Channel session is up.
    pub secure: bool,
}

/// What went wrong in the reader.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReaderError {
    /// The serial port could not be opened or set up.
    #[error("OSDP serial port {}: {reason}", path.display())]
    Serial {
        /// The tty.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key file could not be read or written.
    #[error("OSDP key file {}: {reason}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The configuration cannot work.
    #[error("OSDP configuration: {reason}")]
    Config {
        /// What to change.
        reason: String,
    },
    /// libosdp refused (setup, or a full event queue).
    #[error("libosdp: {reason}")]
    Library {
        /// libosdp's error.
        reason: String,
    },
}

/// The reader as the station sees it.
pub trait OsdpReader: Send {
    /// Queues a card read; it goes to the panel as `osdp_RAW` in reply to the
    /// next `osdp_POLL`.
    fn report_card(&mut self, format: CardFormat, bits: &Bits) -> Result<(), ReaderError>;

    /// Sets the tamper state reported in `osdp_LSTATR`.
    fn set_tamper(&mut self, tampered: bool);

    /// Reads what the panel sent and answers it. Call at least every 50 ms,
    /// and as soon as the port is readable.
    fn poll(&mut self, now: Instant) -> Result<(), ReaderError>;

    /// The next command the panel gave since the last call.
    fn poll_command(&mut self) -> Option<PanelCommand>;

    /// Online and secure state.
    fn status(&self) -> LinkStatus;

    /// Blocks until the panel has sent bytes or `timeout` passed (the
    /// simulated reader just sleeps); `true` if bytes are waiting.
    fn wait_readable(&self, timeout: Duration) -> bool;
}
