//! Access control: `[wiegand]`, `[osdp]`, `[door]` and `[relay] lock`.
//!
//! Every back-end defaults to `"off"`, so a station without an access panel
//! behaves as before. The credential (format, facility, card) lives in
//! `[wiegand]` and is the one OSDP reports too. The checks here encode the
//! credential and validate the timing with ds-hw's own functions, so a value
//! the sender would refuse is refused at load.

use super::check::{Checked, at, gpio, in_range, issue, quoted};
use super::error::KeyPath;
use ds_hw::wiegand::{Bits, WiegandFormat, WiegandTiming, encode};
use ds_hw::{DoorConfig as DoorTiming, LockKind};
use ds_osdp::{KeyFile, ReaderConfig, ReaderIdentity, SecureChannel, parse_key};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// `[relay] lock`: what the lock does without power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockConfig {
    /// Locked without power (electric strikes): energised to open.
    #[default]
    FailSecure,
    /// Open without power (magnetic locks): energised to stay locked.
    FailSafe,
}

impl LockConfig {
    /// ds-hw's lock kind.
    pub fn kind(self) -> LockKind {
        match self {
            LockConfig::FailSecure => LockKind::FailSecure,
            LockConfig::FailSafe => LockKind::FailSafe,
        }
    }
}

/// A back-end of `[wiegand]` or `[door]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessBackend {
    /// Not wired: nothing is opened.
    #[default]
    Off,
    /// Simulated (Wiegand: recorded edges; door: set from the control socket).
    Sim,
    /// Raspberry Pi GPIO through rppal.
    Rpi,
}

/// `[osdp] backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsdpBackend {
    /// No reader.
    #[default]
    Off,
    /// A reader without a bus (records cards; for the demo).
    Sim,
    /// libosdp on a serial port (RS-485 adapter, UART or pty).
    Serial,
}

/// `[wiegand]`: the credential, and the output to the panel's reader port.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WiegandConfig {
    /// Where frames go.
    pub backend: AccessBackend,
    /// `H10301`, `H10306`, `C1000-35`, `H10304` or `raw:N`.
    pub format: String,
    /// Facility code of the credential (OSDP reports the same one).
    pub facility: u32,
    /// Card number of the credential.
    pub card: u64,
    /// BCM GPIO of D0.
    pub d0_gpio: u8,
    /// BCM GPIO of D1.
    pub d1_gpio: u8,
    /// An NPN or opto stage inverts: GPIO high pulls the line low.
    pub inverted: bool,
    /// Pulse width, µs (readers accept 20–100).
    pub pulse_us: u32,
    /// Pulse start to pulse start, µs (readers accept 200–20000).
    pub interval_us: u32,
    /// Idle time between frames, ms (at least 50).
    pub frame_gap_ms: u32,
}

impl Default for WiegandConfig {
    fn default() -> Self {
        // Timing: ds-hw's WiegandTiming::default (50 µs every 2 ms, 50 ms gap).
        WiegandConfig {
            backend: AccessBackend::Off,
            format: "H10301".into(),
            facility: 123,
            card: 4567,
            d0_gpio: 23,
            d1_gpio: 24,
            inverted: true,
            pulse_us: 50,
            interval_us: 2000,
            frame_gap_ms: 50,
        }
    }
}

/// `[osdp]`: the station as an OSDP reader on the panel's RS-485 bus.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OsdpConfig {
    /// The reader back-end.
    pub backend: OsdpBackend,
    /// The tty.
    pub port: PathBuf,
    /// 9600, 19200, 38400, 57600, 115200 or 230400.
    pub baud: u32,
    /// PD address, 0–126.
    pub address: u8,
    /// BCM GPIO of the transceiver's DE/RE line; -1: none.
    pub direction_gpio: i32,
    /// Secure Channel.
    pub secure: bool,
    /// 32 hex digits; `""`: the key file's key, or install mode.
    pub scbk: String,
    /// Where a key set by the panel (`osdp_KEYSET`) is kept.
    pub key_file: PathBuf,
    /// With no key yet, accept SCBK-D once and take the panel's KEYSET.
    pub install_mode: bool,
    /// Refuse clear-text commands once a key exists.
    pub enforce_secure: bool,
    /// IEEE OUI in `osdp_PDID`, 6 hex digits.
    pub vendor_oui: String,
    /// Serial number in `osdp_PDID`.
    pub serial: u32,
}

impl Default for OsdpConfig {
    fn default() -> Self {
        // 115200 is the rate most panels ship with; 0 the address of a lone reader.
        OsdpConfig {
            backend: OsdpBackend::Off,
            port: PathBuf::from("/dev/ttyAMA0"),
            baud: 115_200,
            address: 0,
            direction_gpio: -1,
            secure: true,
            scbk: String::new(),
            key_file: PathBuf::from("/var/lib/door-station/osdp-scbk"),
            install_mode: false,
            enforce_secure: true,
            vendor_oui: "000000".into(),
            serial: 1,
        }
    }
}

/// `[door]`: door contact, request-to-exit button and tamper switch.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DoorConfig {
    /// Where the inputs come from.
    pub backend: AccessBackend,
    /// BCM GPIO of the door contact; -1: not wired.
    pub contact_gpio: i32,
    /// The contact reads open when its line is low.
    pub contact_active_low: bool,
    /// BCM GPIO of the request-to-exit button; -1: not wired.
    pub exit_gpio: i32,
    /// The button reads pressed when its line is low.
    pub exit_active_low: bool,
    /// BCM GPIO of the tamper switch; -1: not wired.
    pub tamper_gpio: i32,
    /// The switch reads tampered when its line is low.
    pub tamper_active_low: bool,
    /// A level must hold this long.
    pub debounce_ms: u32,
    /// An open door raises `held_open` after this long.
    pub held_open_s: u32,
    /// After a grant ends, an opening still counts as authorized this long.
    pub grant_grace_ms: u32,
    /// How long the request-to-exit button opens the strike.
    pub exit_unlock_ms: u32,
}

impl Default for DoorConfig {
    fn default() -> Self {
        // ds-hw's DoorConfig::default: 50 ms, 30 s, 2 s, 5 s.
        DoorConfig {
            backend: AccessBackend::Off,
            contact_gpio: -1,
            contact_active_low: false,
            exit_gpio: -1,
            exit_active_low: true,
            tamper_gpio: -1,
            tamper_active_low: false,
            debounce_ms: 50,
            held_open_s: 30,
            grant_grace_ms: 2000,
            exit_unlock_ms: 5000,
        }
    }
}

/// `H10301`, `H10306`, `C1000-35`, `H10304`, `raw:N` (case-insensitive).
pub fn parse_format(text: &str) -> Option<WiegandFormat> {
    let upper = text.trim().to_ascii_uppercase();
    Some(match upper.as_str() {
        "H10301" => WiegandFormat::H10301,
        "H10306" => WiegandFormat::H10306,
        "C1000-35" => WiegandFormat::Corporate1000,
        "H10304" => WiegandFormat::H10304,
        _ => {
            let n: u8 = upper.strip_prefix("RAW:")?.parse().ok()?;
            (1..=64).contains(&n).then_some(WiegandFormat::Raw(n))?
        }
    })
}

impl WiegandConfig {
    /// The configured credential as a frame (checked at load).
    pub fn bits(&self) -> Option<Bits> {
        encode(parse_format(&self.format)?, self.facility, self.card).ok()
    }

    /// Pulse width, interval and gap.
    pub fn timing(&self) -> WiegandTiming {
        WiegandTiming {
            pulse: Duration::from_micros(self.pulse_us.into()),
            interval: Duration::from_micros(self.interval_us.into()),
            frame_gap: Duration::from_millis(self.frame_gap_ms.into()),
        }
    }
}

impl OsdpConfig {
    /// The reader's configuration (checked at load).
    pub fn reader_config(&self) -> ReaderConfig {
        let oui = parse_oui(&self.vendor_oui).unwrap_or_default();
        let secure = if self.secure {
            SecureChannel::On {
                key_file: KeyFile::new(&self.key_file),
                initial_key: parse_key(&self.scbk),
                install_mode: self.install_mode,
                enforce: self.enforce_secure,
            }
        } else {
            SecureChannel::Off
        };
        ReaderConfig {
            port: self.port.clone(),
            baud: self.baud,
            address: self.address,
            identity: ReaderIdentity { vendor_oui: oui, serial: self.serial, ..ReaderIdentity::default() },
            secure,
        }
    }
}

impl DoorConfig {
    /// The door monitor's timing.
    pub fn timing(&self) -> DoorTiming {
        DoorTiming {
            debounce: Duration::from_millis(self.debounce_ms.into()),
            held_open_after: Duration::from_secs(self.held_open_s.into()),
            grant_grace: Duration::from_millis(self.grant_grace_ms.into()),
            exit_unlock: Duration::from_millis(self.exit_unlock_ms.into()),
        }
    }
}

fn parse_oui(text: &str) -> Option<[u8; 3]> {
    if text.len() != 6 || !text.is_ascii() {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok();
    Some([byte(0)?, byte(1)?, byte(2)?])
}

/// `[wiegand]`: a credential the format can carry, timing readers accept.
pub(super) fn wiegand(w: &WiegandConfig) -> Checked {
    let Some(format) = parse_format(&w.format) else {
        let problem = "the formats are H10301, H10306, C1000-35, H10304 and raw:N (N from 1 to 64)";
        return Err(issue(at("wiegand", "format"), quoted(&w.format), problem, "format = \"H10301\""));
    };
    if let Err(e) = encode(format, w.facility, w.card) {
        let (max_fc, max_cn) = format.limits();
        let (key, value, example) = if w.facility > max_fc {
            ("facility", w.facility.to_string(), format!("facility = {}", max_fc.min(123)))
        } else {
            ("card", w.card.to_string(), format!("card = {}", max_cn.min(4567)))
        };
        return Err(issue(at("wiegand", key), Some(value), &e.to_string(), &example));
    }
    gpio(at("wiegand", "d0_gpio"), w.d0_gpio, "d0_gpio = 23")?;
    gpio(at("wiegand", "d1_gpio"), w.d1_gpio, "d1_gpio = 24")?;
    if w.d0_gpio == w.d1_gpio {
        let problem = "D0 and D1 need two different lines";
        return Err(issue(at("wiegand", "d1_gpio"), Some(w.d1_gpio.to_string()), problem, "d1_gpio = 24"));
    }
    in_range(at("wiegand", "pulse_us"), w.pulse_us.into(), 20, 100, "pulse_us = 50")?;
    in_range(at("wiegand", "interval_us"), w.interval_us.into(), 200, 20_000, "interval_us = 2000")?;
    in_range(at("wiegand", "frame_gap_ms"), w.frame_gap_ms.into(), 50, 10_000, "frame_gap_ms = 50")?;
    w.timing().validate().map_err(|e| {
        issue(at("wiegand", "interval_us"), Some(w.interval_us.to_string()), &e.to_string(), "interval_us = 2000")
    })
}

/// `[osdp]`.
pub(super) fn osdp(o: &OsdpConfig) -> Checked {
    if !matches!(o.baud, 9600 | 19_200 | 38_400 | 57_600 | 115_200 | 230_400) {
        let problem = "OSDP rates are 9600, 19200, 38400, 57600, 115200 and 230400";
        return Err(issue(at("osdp", "baud"), Some(o.baud.to_string()), problem, "baud = 115200"));
    }
    // 127 is the broadcast address (SIA OSDP 2.2 §5.3).
    in_range(at("osdp", "address"), o.address.into(), 0, 126, "address = 0")?;
    optional_gpio(at("osdp", "direction_gpio"), o.direction_gpio, "direction_gpio = -1")?;
    if !o.scbk.is_empty() && parse_key(&o.scbk).is_none() {
        let problem = "an SCBK is 32 hex digits (16 bytes); \"\" takes the key file's key or install mode";
        return Err(issue(
            at("osdp", "scbk"),
            quoted("(hidden)"),
            problem,
            "scbk = \"000102030405060708090a0b0c0d0e0f\"",
        ));
    }
    if o.secure && o.key_file.as_os_str().is_empty() {
        let problem = "Secure Channel needs a file to keep the panel's key in";
        return Err(issue(
            at("osdp", "key_file"),
            quoted(""),
            problem,
            "key_file = \"/var/lib/door-station/osdp-scbk\"",
        ));
    }
    if parse_oui(&o.vendor_oui).is_none() {
        let problem = "an IEEE OUI is 6 hex digits";
        return Err(issue(at("osdp", "vendor_oui"), quoted(&o.vendor_oui), problem, "vendor_oui = \"000000\""));
    }
    if o.backend == OsdpBackend::Serial && o.port.as_os_str().is_empty() {
        let problem = "the serial reader needs its tty";
        return Err(issue(at("osdp", "port"), quoted(""), problem, "port = \"/dev/ttyAMA0\""));
    }
    Ok(())
}

/// `[door]`.
pub(super) fn door(d: &DoorConfig) -> Checked {
    optional_gpio(at("door", "contact_gpio"), d.contact_gpio, "contact_gpio = 5")?;
    optional_gpio(at("door", "exit_gpio"), d.exit_gpio, "exit_gpio = 6")?;
    optional_gpio(at("door", "tamper_gpio"), d.tamper_gpio, "tamper_gpio = 13")?;
    let wired = [("exit_gpio", d.exit_gpio), ("tamper_gpio", d.tamper_gpio)];
    let mut seen = vec![d.contact_gpio];
    for (key, line) in wired {
        if line >= 0 && seen.contains(&line) {
            let problem = format!("GPIO {line} is already another [door] input");
            return Err(issue(at("door", key), Some(line.to_string()), &problem, "each input on its own line"));
        }
        seen.push(line);
    }
    in_range(at("door", "debounce_ms"), d.debounce_ms.into(), 0, 1000, "debounce_ms = 50")?;
    in_range(at("door", "held_open_s"), d.held_open_s.into(), 1, 3600, "held_open_s = 30")?;
    in_range(at("door", "grant_grace_ms"), d.grant_grace_ms.into(), 0, 60_000, "grant_grace_ms = 2000")?;
    in_range(at("door", "exit_unlock_ms"), d.exit_unlock_ms.into(), 100, 60_000, "exit_unlock_ms = 5000")
}

/// On the Pi, each wired line has one owner: the relay, the buttons, the
/// Wiegand outputs, the RS-485 direction line and the door inputs.
pub(super) fn gpio_owners(c: &super::StationConfig) -> Checked {
    use super::Backend;
    let mut owners: Vec<(KeyPath, i32)> = Vec::new();
    if c.relay.backend == Backend::Rpi {
        owners.push((at("relay", "gpio"), c.relay.gpio.into()));
    }
    if c.buttons.backend == Backend::Rpi {
        let key = |i| KeyPath { table: "button", index: Some(i), key: "gpio" };
        owners.extend(c.button.iter().enumerate().map(|(i, b)| (key(i), b.gpio.into())));
    }
    if c.wiegand.backend == AccessBackend::Rpi {
        owners.push((at("wiegand", "d0_gpio"), c.wiegand.d0_gpio.into()));
        owners.push((at("wiegand", "d1_gpio"), c.wiegand.d1_gpio.into()));
    }
    if c.osdp.backend == OsdpBackend::Serial {
        owners.push((at("osdp", "direction_gpio"), c.osdp.direction_gpio));
    }
    if c.door.backend == AccessBackend::Rpi {
        let d = &c.door;
        owners.push((at("door", "contact_gpio"), d.contact_gpio));
        owners.push((at("door", "exit_gpio"), d.exit_gpio));
        owners.push((at("door", "tamper_gpio"), d.tamper_gpio));
    }
    owners.retain(|(_, line)| *line >= 0);
    for (i, (key, line)) in owners.iter().enumerate() {
        if let Some((first, _)) = owners[..i].iter().find(|(_, l)| l == line) {
            let problem = format!("GPIO {line} is also {first}");
            return Err(issue(*key, Some(line.to_string()), &problem, "a line no other key uses"));
        }
    }
    Ok(())
}

/// `-1` (not wired) or a BCM line.
fn optional_gpio(at: KeyPath, line: i32, example: &str) -> Checked {
    if line == -1 {
        return Ok(());
    }
    match u8::try_from(line) {
        Ok(line) => gpio(at, line, example),
        Err(_) => Err(issue(at, Some(line.to_string()), "must be -1 (not wired) or between 0 and 27", example)),
    }
}
