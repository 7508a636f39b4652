//! [`LibOsdpReader`]: libosdp's peripheral device on a serial port.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ds_hw::wiegand::Bits;
use libosdp::{
    OsdpCommand, OsdpEvent, OsdpEventCardRead, OsdpFlag, OsdpStatusReportType, PdCapEntity, PdCapability, PdId,
    PdInfoBuilder, PeripheralDevice,
};

use crate::serial::{Direction, SerialChannel, SerialPort};
use crate::{CardFormat, KeyFile, LinkStatus, OsdpReader, PanelCommand, ReaderError, Scbk};

/// What the reader says about itself in `osdp_PDID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderIdentity {
    /// IEEE OUI of the vendor (`osdp.vendor_oui`).
    pub vendor_oui: [u8; 3],
    /// Model number.
    pub model: u8,
    /// Hardware version.
    pub version: u8,
    /// Serial number (`osdp.serial`).
    pub serial: u32,
    /// Firmware major, minor, build.
    pub firmware: (u8, u8, u8),
}

impl Default for ReaderIdentity {
    /// OUI 00:00:00 (unassigned), model 1, version 1, serial 1, firmware 0.1.0.
    fn default() -> Self {
        ReaderIdentity { vendor_oui: [0, 0, 0], model: 1, version: 1, serial: 1, firmware: (0, 1, 0) }
    }
}

/// Secure Channel settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecureChannel {
    /// No Secure Channel: not advertised, `osdp_CHLNG` is refused.
    Off,
    /// Secure Channel with the SCBK from `key_file`, or `initial_key` if the
    /// file does not exist yet.
    On {
        /// Where a key set by the panel is kept (`osdp.key_file`).
        key_file: KeyFile,
        /// The key from the config (`osdp.scbk`), used until the panel sets one.
        initial_key: Option<Scbk>,
        /// With no key yet, accept one session with the well-known SCBK-D, in
        /// which the panel sends `osdp_KEYSET` (`osdp.install_mode`).
        install_mode: bool,
        /// Refuse clear-text commands other than ID, CAP, COMSET and CHLNG, and
        /// SCBK-D (`osdp.enforce_secure`). It takes effect once a key exists:
        /// after an install, from the next start.
        enforce: bool,
    },
}

/// Everything the reader needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderConfig {
    /// The tty (`osdp.port`).
    pub port: PathBuf,
    /// 9600, 19200, 38400, 57600, 115200 or 230400 (`osdp.baud`).
    pub baud: u32,
    /// PD address 0–126 (`osdp.address`).
    pub address: u8,
    /// `osdp_PDID` contents.
    pub identity: ReaderIdentity,
    /// Secure Channel.
    pub secure: SecureChannel,
}

#[derive(Debug, Default)]
struct Shared {
    commands: VecDeque<PanelCommand>,
    tampered: bool,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// libosdp's PD on a serial port.
pub struct LibOsdpReader {
    pd: PeripheralDevice,
    /// A second handle on the port, to wait for bytes while libosdp owns the first.
    waker: SerialPort,
    shared: Arc<Mutex<Shared>>,
    last_poll: Option<Instant>,
}

impl std::fmt::Debug for LibOsdpReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibOsdpReader").field("status", &self.status()).finish()
    }
}

fn library(e: libosdp::OsdpError) -> ReaderError {
    ReaderError::Library { reason: e.to_string() }
}

fn capabilities(secure: bool) -> Vec<PdCapability> {
    let one = || PdCapEntity::new(1, 1);
    let mut caps = vec![
        PdCapability::OutputControl(one()),
        PdCapability::CardDataFormat(one()),
        PdCapability::LedControl(one()),
        PdCapability::AudibleOutput(one()),
        PdCapability::CheckCharacterSupport(PdCapEntity::new(1, 0)),
    ];
    if secure {
        caps.push(PdCapability::CommunicationSecurity(one()));
    }
    caps
}

/// The key to start with, and libosdp's flags for it.
fn key_and_flags(secure: &SecureChannel) -> Result<(Option<Scbk>, OsdpFlag), ReaderError> {
    let SecureChannel::On { key_file, initial_key, install_mode, enforce } = secure else {
        return Ok((None, OsdpFlag::empty()));
    };
    match (key_file.load()?.or(*initial_key), install_mode) {
        (Some(key), _) if *enforce => Ok((Some(key), OsdpFlag::EnforceSecure)),
        (Some(key), _) => Ok((Some(key), OsdpFlag::empty())),
        (None, true) => Ok((None, OsdpFlag::InstallMode)),
        (None, false) => Err(ReaderError::Config {
            reason: format!(
                "Secure Channel is on but there is no SCBK: set osdp.scbk, or set \
                 osdp.install_mode = true to take one from the panel (stored in {})",
                key_file.path().display()
            ),
        }),
    }
}

impl LibOsdpReader {
    /// Opens the port and sets up the PD. `direction` drives an RS-485
    /// transceiver's DE line, if it has one that the kernel does not drive.
    pub fn open(config: &ReaderConfig, direction: Option<Box<dyn Direction>>) -> Result<Self, ReaderError> {
        let (key, flags) = key_and_flags(&config.secure)?;
        let port = SerialPort::open(&config.port, config.baud)?;
        let id = &config.identity;
        let mut info = PdInfoBuilder::new()
            .name("door-station")
            .and_then(|b| b.address(i32::from(config.address)))
            .and_then(|b| b.baud_rate(config.baud as i32))
            .map_err(library)?
            .flag(flags)
            .id(&PdId {
                version: id.version,
                model: id.model,
                vendor_code: (id.vendor_oui[0], id.vendor_oui[1], id.vendor_oui[2]),
                serial_number: id.serial.to_le_bytes(),
                firmware_version: id.firmware,
            })
            .capabilities(&capabilities(config.secure != SecureChannel::Off));
        if let Some(key) = key {
            info = info.secure_channel_key(key);
        }
        let waker = port.try_clone()?;
        let channel = SerialChannel { port, direction };
        let mut pd = PeripheralDevice::new(info, Box::new(channel)).map_err(library)?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let key_file = match &config.secure {
            SecureChannel::On { key_file, .. } => Some(key_file.clone()),
            SecureChannel::Off => None,
        };
        let callback_shared = Arc::clone(&shared);
        pd.set_command_callback(move |cmd| on_command(&callback_shared, key_file.as_ref(), cmd));
        Ok(LibOsdpReader { pd, waker, shared, last_poll: None })
    }
}

/// libosdp's command callback: 0 acknowledges, anything else NAKs.
fn on_command(shared: &Mutex<Shared>, key_file: Option<&KeyFile>, cmd: &mut OsdpCommand) -> i32 {
    let panel = match cmd {
        OsdpCommand::Status(report) if report.type_ == OsdpStatusReportType::Local => {
            report.report[0] = u8::from(lock(shared).tampered);
            report.report[1] = 0; // power: normal
            report.nr_entries = 2;
            return 0;
        }
        OsdpCommand::KeySet(keyset) => {
            let Some(file) = key_file else { return -1 };
            let Ok(key) = <Scbk>::try_from(keyset.data.as_slice()) else {
                return -1;
            };
            if file.store(&key).is_err() {
                return -1;
            }
            PanelCommand::KeyStored
        }
        OsdpCommand::Output(out) => {
            PanelCommand::Output { output: out.output_no, control: out.control_code, timer_100ms: out.timer_count }
        }
        OsdpCommand::Led(led) => PanelCommand::Led {
            led: led.led_number,
            permanent_color: u8::from(led.permanent.on_color),
            temporary_color: (led.temporary.control_code == 2).then_some(u8::from(led.temporary.on_color)),
            temporary_100ms: led.temporary.timer_count,
        },
        OsdpCommand::Buzzer(buz) => PanelCommand::Buzzer {
            tone: buz.control_code,
            on_100ms: buz.on_count,
            off_100ms: buz.off_count,
            count: buz.rep_count,
        },
        OsdpCommand::ComSet(_) => return 0,
        OsdpCommand::ComSetDone(com) => PanelCommand::ComSet { address: com.address, baud: com.baud_rate },
        _ => return -1,
    };
    lock(shared).commands.push_back(panel);
    0
}

impl OsdpReader for LibOsdpReader {
    fn report_card(&mut self, format: CardFormat, bits: &Bits) -> Result<(), ReaderError> {
        let event = match format {
            CardFormat::Wiegand => OsdpEventCardRead::new_wiegand(bits.len(), bits.to_bytes()).map_err(library)?,
            CardFormat::Unspecified => {
                let mut raw = OsdpEventCardRead::new_raw(bits.to_bytes());
                raw.nr_bits = bits.len();
                raw
            }
        };
        self.pd.notify_event(OsdpEvent::CardRead(event)).map_err(library)
    }

    fn set_tamper(&mut self, tampered: bool) {
        lock(&self.shared).tampered = tampered;
    }

    fn poll(&mut self, now: Instant) -> Result<(), ReaderError> {
        self.last_poll = Some(now);
        self.pd.refresh();
        Ok(())
    }

    fn poll_command(&mut self) -> Option<PanelCommand> {
        lock(&self.shared).commands.pop_front()
    }

    fn status(&self) -> LinkStatus {
        LinkStatus { online: self.pd.is_online(), secure: self.pd.is_sc_active() }
    }

    fn wait_readable(&self, timeout: Duration) -> bool {
        self.waker.wait_readable(timeout)
    }
}
