//! The relay and the call buttons, from `[relay]`, `[buttons]` and
//! `[[button]]`.
//!
//! The relay is opened released, wrapped in a [`RelayGuard`] (released on
//! drop) and registered with ds-hw's panic hook, so it is released at start,
//! at exit and on a panic in any thread. Pulses are timed by ds-hw's sans-IO
//! [`RelayPulse`]; the run loop wakes it at [`Hardware::next_timeout`].
//!
//! With the simulated relay, `DOOR_STATION_RELAY_LOG=<file>` makes it also
//! append every edge to that file as a line `<unix_ms> on|off` (the
//! end-to-end tests read it).
//!
//! Button presses, from GPIO or from the control socket's `press N`, arrive
//! on the channel given to [`Hardware::open`]: both go through the back-end,
//! so a simulated press and a real one take the same path.

use crate::config::{Backend, StationConfig};
use ds_hw::{
    Button, ButtonEvent, ButtonSink, HwError, LockRelay, PulseConfig, PulseError, Relay, RelayAction, RelayGuard,
    RelayPulse, SimButton, SimRelay,
};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The environment variable naming the simulated relay's edge file.
pub const RELAY_LOG_ENV: &str = "DOOR_STATION_RELAY_LOG";

/// The station's hardware.
pub struct Hardware {
    relay: RelayGuard,
    pulse: RelayPulse,
    buttons: Vec<Box<dyn Button>>,
}

impl std::fmt::Debug for Hardware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hardware").field("relay", &self.relay).field("buttons", &self.buttons.len()).finish()
    }
}

/// A change of the relay, for the event bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayChange {
    /// `true`: energised (door open).
    pub energized: bool,
}

impl Hardware {
    /// Open the back-ends; presses are delivered to `presses`.
    pub fn open(config: &StationConfig, presses: mpsc::UnboundedSender<ButtonEvent>) -> Result<Hardware, HwError> {
        let lock = LockRelay::new(open_relay(config)?, config.relay.lock.kind())?;
        let relay = RelayGuard::new(Box::new(lock));
        relay.release()?;
        ds_hw::install_panic_release(relay.releaser());
        let sink = ButtonSink::new(move |ev| presses.send(ev).is_ok());
        let buttons = open_buttons(config, sink)?;
        Ok(Hardware { relay, pulse: RelayPulse::new(PulseConfig::default()), buttons })
    }

    /// Deliver a press of button `index` (from 1) through its back-end.
    pub fn press(&self, index: usize) -> Result<(), HwError> {
        match self.buttons.iter().find(|b| b.covers(index)) {
            Some(b) => b.press(index),
            None => Err(HwError::NoSuchButton { index }),
        }
    }

    /// Energise the relay for `duration` (or extend the current pulse).
    pub fn pulse(&mut self, now: Instant, duration: Duration) -> Result<Vec<RelayChange>, PulseError> {
        self.pulse.trigger(now, duration)?;
        Ok(self.drive())
    }

    /// Wake the pulse timer.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<RelayChange> {
        self.pulse.handle_timeout(now);
        self.drive()
    }

    /// When [`Hardware::handle_timeout`] is due.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.pulse.next_timeout()
    }

    /// Release the relay now (shutdown).
    pub fn release(&mut self, now: Instant) -> Vec<RelayChange> {
        self.pulse.release_now(now);
        let mut changes = self.drive();
        if self.relay.is_energized() {
            if let Err(e) = self.relay.release() {
                tracing::error!(error = %e, "relay could not be released");
            }
            changes.push(RelayChange { energized: false });
        }
        changes
    }

    /// Whether the relay is energised.
    pub fn relay_energized(&self) -> bool {
        self.relay.is_energized()
    }

    fn drive(&mut self) -> Vec<RelayChange> {
        let mut changes = Vec::new();
        while let Some(action) = self.pulse.poll_output() {
            let energized = action == RelayAction::Energize;
            match self.relay.set(energized) {
                Ok(()) => changes.push(RelayChange { energized }),
                Err(e) => tracing::error!(error = %e, energized, "relay could not be driven"),
            }
        }
        changes
    }
}

/// `door-station --release-relay` (systemd's `ExecStopPost=`): drive the
/// relay line to its released level, however the daemon ended. The rppal
/// back-end opens the line released (honouring `active_low`) and leaves it
/// so at exit. The simulated relay has no line: it only appends an `off`
/// edge to `DOOR_STATION_RELAY_LOG`, if set, so that tests can see it ran.
pub fn release_relay(config: &StationConfig) -> Result<(), HwError> {
    match config.relay.backend {
        Backend::Sim => match std::env::var_os(RELAY_LOG_ENV) {
            Some(path) if !path.is_empty() => append_off_edge(path.as_ref()),
            _ => Ok(()),
        },
        Backend::Rpi => open_rpi_relay(config)?.set(false),
    }
}

fn append_off_edge(path: &std::path::Path) -> Result<(), HwError> {
    use std::io::Write;
    let edge_log = |source| HwError::EdgeLog { path: path.to_path_buf(), source };
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(edge_log)?;
    let unix_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    writeln!(file, "{unix_ms} off").map_err(edge_log)
}

fn open_relay(config: &StationConfig) -> Result<Box<dyn Relay>, HwError> {
    match config.relay.backend {
        Backend::Sim => {
            let relay = SimRelay::new();
            match std::env::var_os(RELAY_LOG_ENV) {
                Some(path) if !path.is_empty() => Ok(Box::new(relay.with_file(path)?)),
                _ => Ok(Box::new(relay)),
            }
        }
        Backend::Rpi => open_rpi_relay(config),
    }
}

#[cfg(feature = "rpi")]
fn open_rpi_relay(config: &StationConfig) -> Result<Box<dyn Relay>, HwError> {
    let wiring = ds_hw::RelayConfig { gpio: config.relay.gpio, active_low: config.relay.active_low };
    Ok(Box::new(ds_hw::RpiRelay::open(wiring)?))
}

#[cfg(not(feature = "rpi"))]
fn open_rpi_relay(_config: &StationConfig) -> Result<Box<dyn Relay>, HwError> {
    Err(HwError::GpioUnavailable { reason: "this build has no Raspberry Pi back-end (feature rpi)".into() })
}

fn open_buttons(config: &StationConfig, sink: ButtonSink) -> Result<Vec<Box<dyn Button>>, HwError> {
    match config.buttons.backend {
        Backend::Sim => Ok(vec![Box::new(SimButton::new(config.button.len(), sink))]),
        Backend::Rpi => open_rpi_buttons(config, sink),
    }
}

#[cfg(feature = "rpi")]
fn open_rpi_buttons(config: &StationConfig, sink: ButtonSink) -> Result<Vec<Box<dyn Button>>, HwError> {
    let debounce = Duration::from_millis(config.buttons.debounce_ms.into());
    let open = |(i, b): (usize, &crate::config::ButtonConfig)| -> Result<Box<dyn Button>, HwError> {
        Ok(Box::new(ds_hw::RpiButton::open(i + 1, b.gpio, debounce, sink.clone())?))
    };
    config.button.iter().enumerate().map(open).collect()
}

#[cfg(not(feature = "rpi"))]
fn open_rpi_buttons(_config: &StationConfig, _sink: ButtonSink) -> Result<Vec<Box<dyn Button>>, HwError> {
    Err(HwError::GpioUnavailable { reason: "this build has no Raspberry Pi back-end (feature rpi)".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(buttons: usize) -> StationConfig {
        StationConfig { button: vec![crate::config::ButtonConfig::default(); buttons], ..StationConfig::default() }
    }

    #[test]
    fn sim_press_reaches_the_channel_numbered_from_one() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let hw = Hardware::open(&config(2), tx).unwrap();
        hw.press(2).unwrap();
        assert_eq!(rx.try_recv().unwrap().index, 2);
        assert!(matches!(hw.press(3), Err(HwError::NoSuchButton { index: 3 })));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn pulse_energises_then_releases_at_its_deadline() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut hw = Hardware::open(&config(1), tx).unwrap();
        let t0 = Instant::now();
        assert_eq!(hw.pulse(t0, Duration::from_millis(3000)).unwrap(), vec![RelayChange { energized: true }]);
        assert!(hw.relay_energized());
        let due = hw.next_timeout().unwrap();
        assert_eq!(due, t0 + Duration::from_millis(3000));
        assert_eq!(hw.handle_timeout(due), vec![RelayChange { energized: false }]);
        assert!(!hw.relay_energized());
    }

    #[test]
    fn release_at_shutdown_reports_the_edge_once() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut hw = Hardware::open(&config(1), tx).unwrap();
        let t0 = Instant::now();
        hw.pulse(t0, Duration::from_secs(3)).unwrap();
        assert_eq!(hw.release(t0 + Duration::from_secs(1)), vec![RelayChange { energized: false }]);
        assert!(!hw.relay_energized());
        assert_eq!(hw.release(t0 + Duration::from_secs(2)), vec![]);
    }
}
