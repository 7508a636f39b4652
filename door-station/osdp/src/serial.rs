//! The serial port under the reader: any tty in raw 8N1 mode, non-blocking, with
//! optional RS-485 direction control.
//!
//! # RS-485 direction
//!
//! OSDP runs half duplex on two-wire RS-485. A transceiver with automatic
//! direction control (e.g. MAX13487, or boards that switch on the TX line) needs
//! nothing. One with a DE/RE pin needs it raised while sending: either let the
//! kernel do it (a UART with `linux,rs485-enabled-at-boot-time` and
//! `rs485-rts-active-high` in its device-tree overlay toggles RTS around each
//! write), or pass a [`Direction`] that drives a GPIO; the channel calls it
//! before a write and after `tcdrain` has let the last bit out.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libosdp::{Channel, ChannelError};
use nix::sys::termios::{self, BaudRate, SetArg};

use crate::ReaderError;

/// Drives the transceiver's driver-enable line.
pub trait Direction: Send {
    /// `true` before sending, `false` once the last byte has left the UART.
    fn transmit(&mut self, on: bool);
}

/// A DE/RE line on a Raspberry Pi GPIO (BCM numbering), high while sending
/// (`osdp.direction_gpio`).
#[cfg(feature = "rpi")]
#[derive(Debug)]
pub struct GpioDirection {
    pin: rppal::gpio::OutputPin,
}

#[cfg(feature = "rpi")]
impl GpioDirection {
    /// Claims `gpio` low (receiving).
    pub fn open(gpio: u8) -> Result<Self, ReaderError> {
        let error =
            |reason: String| ReaderError::Config { reason: format!("RS-485 direction line GPIO {gpio}: {reason}") };
        let pin =
            rppal::gpio::Gpio::new().and_then(|g| g.get(gpio)).map_err(|e| error(e.to_string()))?.into_output_low();
        Ok(GpioDirection { pin })
    }
}

#[cfg(feature = "rpi")]
impl Direction for GpioDirection {
    fn transmit(&mut self, on: bool) {
        if on {
            self.pin.set_high();
        } else {
            self.pin.set_low();
        }
    }
}

/// An open tty, raw, 8N1, non-blocking.
#[derive(Debug)]
pub struct SerialPort {
    file: File,
    path: PathBuf,
}

fn baud_rate(baud: u32) -> Option<BaudRate> {
    Some(match baud {
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115200 => BaudRate::B115200,
        230400 => BaudRate::B230400,
        _ => return None,
    })
}

impl SerialPort {
    /// Opens `path` (e.g. `/dev/ttyAMA0`, `/dev/ttyUSB0`, a pty) at `baud`, one of
    /// the OSDP rates 9600–230400.
    pub fn open(path: &Path, baud: u32) -> Result<Self, ReaderError> {
        let error = |reason: String| ReaderError::Serial { path: path.to_path_buf(), reason };
        let rate = baud_rate(baud).ok_or_else(|| error(format!("unsupported baud rate {baud}")))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| error(e.to_string()))?;
        let fd = file.as_raw_fd();
        let mut tio = termios::tcgetattr(fd).map_err(|e| error(e.to_string()))?;
        termios::cfmakeraw(&mut tio);
        termios::cfsetspeed(&mut tio, rate).map_err(|e| error(e.to_string()))?;
        termios::tcsetattr(fd, SetArg::TCSANOW, &tio).map_err(|e| error(e.to_string()))?;
        Ok(SerialPort { file, path: path.to_path_buf() })
    }

    /// Waits until bytes arrive or `timeout` passes; `true` if readable.
    pub fn wait_readable(&self, timeout: Duration) -> bool {
        use nix::poll::{PollFd, PollFlags, poll};
        let mut fds = [PollFd::new(self.file.as_raw_fd(), PollFlags::POLLIN)];
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        poll(&mut fds, ms).is_ok_and(|n| n > 0)
    }

    /// A second handle on the same port (for waiting while libosdp owns one).
    pub fn try_clone(&self) -> Result<Self, ReaderError> {
        Ok(SerialPort {
            file: self
                .file
                .try_clone()
                .map_err(|e| ReaderError::Serial { path: self.path.clone(), reason: e.to_string() })?,
            path: self.path.clone(),
        })
    }
}

/// The port as a libosdp channel.
pub(crate) struct SerialChannel {
    pub(crate) port: SerialPort,
    pub(crate) direction: Option<Box<dyn Direction>>,
}

impl Channel for SerialChannel {
    fn get_id(&self) -> i32 {
        self.port.file.as_raw_fd()
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ChannelError> {
        Ok(self.port.file.read(buf)?)
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, ChannelError> {
        if let Some(dir) = &mut self.direction {
            dir.transmit(true);
        }
        let written = self.port.file.write(buf);
        if let Some(dir) = &mut self.direction {
            let _ = termios::tcdrain(self.port.file.as_raw_fd());
            dir.transmit(false);
        }
        Ok(written?)
    }

    fn flush(&mut self) -> Result<(), ChannelError> {
        Ok(self.port.file.flush()?)
    }

    fn close(&mut self) -> Result<(), ChannelError> {
        Ok(())
    }
}
