//! Access control around the run loop, from `[wiegand]`, `[osdp]` and `[door]`.
//!
//! - Out: on every unlock the relay accepted, [`Access::present_credential`]
//!   sends the configured credential as a Wiegand frame and queues it as an
//!   OSDP card read for the panel's next poll; [`Access::granted`] tells the
//!   door monitor the strike is open, so the opening is not "forced".
//! - In: the door monitor's outputs, the panel's commands, the OSDP link state
//!   and the Wiegand frame reports arrive on one channel as [`AccessNews`].
//!
//! Each back-end runs on its own thread (ds-hw's Wiegand sender, ds-osdp's
//! reader thread, the door monitor); a small bridge thread per back-end owns
//! the handle and forwards its reports, so the async loop never blocks.
//!
//! With the simulated Wiegand lines, `DOOR_STATION_WIEGAND_LOG=<file>` appends
//! every frame recorded on the lines as `<unix_ms> sent|failed|aborted <bits>
//! widths_us=<min>-<max>` (the end-to-end tests decode it).

use crate::config::{AccessBackend, OsdpBackend, StationConfig};
use crate::engine::{DoorState, Event, PanelEvent};
use anyhow::Context;
use ds_hw::door::{DoorFeed, SimDoorInputs, run_door_monitor};
use ds_hw::wiegand::{Bits, FrameReport, SimWiegandLines, WiegandLines, WiegandLog, WiegandSender};
use ds_hw::{DoorEvent, DoorInput, DoorMonitor, DoorOutput, SystemClock};
use ds_osdp::{CardFormat, LinkStatus, OsdpReader, PanelCommand, ReaderThread, SimReader};
use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::{self as std_mpsc, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// The environment variable naming the simulated Wiegand lines' frame file.
pub const WIEGAND_LOG_ENV: &str = "DOOR_STATION_WIEGAND_LOG";

/// How often the bridge threads look for reports when nothing is sent.
const BRIDGE_TICK: Duration = Duration::from_millis(20);

/// What the access back-ends tell the run loop.
#[derive(Debug)]
pub enum AccessNews {
    /// From the door monitor: open for an exit request, or an event.
    Door(DoorOutput),
    /// A command from the access panel.
    Panel(PanelCommand),
    /// The OSDP link changed.
    Link(LinkStatus),
    /// A Wiegand frame was sent or given up.
    Frame(FrameReport),
}

type News = mpsc::UnboundedSender<AccessNews>;

enum OsdpRequest {
    Card(Bits),
    Tamper(bool),
}

/// The open access back-ends.
pub struct Access {
    credential: Option<Bits>,
    wiegand: Option<Sender<Bits>>,
    osdp: Option<Sender<OsdpRequest>>,
    door_feed: Option<Sender<DoorFeed>>,
    door_sim: Option<SimDoorInputs>,
    debounce: Duration,
    /// The bridge threads, joined at shutdown (the door thread ends by
    /// itself once every feed sender is gone, a pending exit release included).
    threads: Vec<JoinHandle<()>>,
    /// Keeps the GPIO inputs claimed (and their interrupts running).
    _inputs: Option<Box<dyn Send>>,
    /// Keeps the news channel open when no back-end is on.
    _news: News,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("wiegand", &self.wiegand.is_some())
            .field("osdp", &self.osdp.is_some())
            .field("door", &self.door_feed.is_some())
            .finish()
    }
}

impl Access {
    /// Opens the configured back-ends; their news goes to `news`.
    pub fn open(config: &StationConfig, news: News) -> anyhow::Result<Access> {
        let mut access = Access {
            credential: config.wiegand.bits(),
            wiegand: None,
            osdp: None,
            door_feed: None,
            door_sim: None,
            debounce: Duration::from_millis(config.door.debounce_ms.into()),
            threads: Vec::new(),
            _inputs: None,
            _news: news.clone(),
        };
        access.open_wiegand(config, news.clone()).context("[wiegand]")?;
        access.open_osdp(config, news.clone()).context("[osdp]")?;
        access.open_door(config, news).context("[door]")?;
        Ok(access)
    }

    /// The strike is open for `hold` from `now` (a pulse the relay accepted).
    pub fn granted(&self, now: Instant, hold: Duration) {
        if let Some(feed) = &self.door_feed {
            let _ = feed.send(DoorFeed::Granted { until: now + hold });
        }
    }

    /// Present the configured credential to the panel: a Wiegand frame, and
    /// a card read for the next OSDP poll.
    pub fn present_credential(&self) {
        let Some(bits) = &self.credential else { return };
        if let Some(w) = &self.wiegand {
            let _ = w.send(bits.clone());
        }
        if let Some(o) = &self.osdp {
            let _ = o.send(OsdpRequest::Card(bits.clone()));
        }
    }

    /// Report the tamper state to the panel (`osdp_LSTATR`).
    pub fn set_tamper(&self, active: bool) {
        if let Some(o) = &self.osdp {
            let _ = o.send(OsdpRequest::Tamper(active));
        }
    }

    /// Set a simulated door input (`[door] backend = "sim"` only). The exit
    /// button is pressed and released after the debounce time.
    pub fn simulate(&self, input: DoorInput, level: bool) -> Result<(), String> {
        let Some(sim) = &self.door_sim else {
            return Err("the door inputs are not simulated; set [door] backend = \"sim\"".into());
        };
        sim.set(input, level).map_err(|e| e.to_string())?;
        if input == DoorInput::Exit && level {
            let (sim, hold) = (sim.clone(), self.debounce * 2 + Duration::from_millis(20));
            tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                let _ = sim.set(DoorInput::Exit, false);
            });
        }
        Ok(())
    }

    /// Stop the back-ends: queued frames are still sent.
    pub fn shutdown(mut self) {
        self.wiegand = None;
        self.osdp = None;
        self.door_feed = None;
        self.door_sim = None;
        self._inputs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    fn spawn(&mut self, name: &str, body: impl FnOnce() + Send + 'static) -> anyhow::Result<()> {
        let thread = std::thread::Builder::new().name(name.into()).spawn(body)?;
        self.threads.push(thread);
        Ok(())
    }

    fn spawn_detached(&self, name: &str, body: impl FnOnce() + Send + 'static) -> anyhow::Result<()> {
        std::thread::Builder::new().name(name.into()).spawn(body)?;
        Ok(())
    }

    fn open_wiegand(&mut self, config: &StationConfig, news: News) -> anyhow::Result<()> {
        let w = &config.wiegand;
        let (lines, file): (Box<dyn WiegandLines>, _) = match w.backend {
            AccessBackend::Off => return Ok(()),
            AccessBackend::Sim => {
                let lines = SimWiegandLines::new(Arc::new(SystemClock));
                let gap = (w.timing().interval + w.timing().frame_gap) / 2;
                let file = FrameFile::from_env(lines.log(), gap)?;
                (Box::new(lines), file)
            }
            AccessBackend::Rpi => (rpi_wiegand_lines(w)?, None),
        };
        let sender = WiegandSender::spawn(lines, w.timing())?;
        let (tx, frames) = std_mpsc::channel();
        self.wiegand = Some(tx);
        self.spawn("wiegand-bridge", move || wiegand_bridge(frames, sender, file, news))
    }

    fn open_osdp(&mut self, config: &StationConfig, news: News) -> anyhow::Result<()> {
        let reader: Box<dyn OsdpReader> = match config.osdp.backend {
            OsdpBackend::Off => return Ok(()),
            OsdpBackend::Sim => Box::new(SimReader::new()),
            OsdpBackend::Serial => {
                let direction = direction_line(config.osdp.direction_gpio)?;
                Box::new(ds_osdp::LibOsdpReader::open(&config.osdp.reader_config(), direction)?)
            }
        };
        let reader = ReaderThread::spawn(reader)?;
        let (tx, requests) = std_mpsc::channel();
        self.osdp = Some(tx);
        self.spawn("osdp-bridge", move || osdp_bridge(requests, reader, news))
    }

    fn open_door(&mut self, config: &StationConfig, news: News) -> anyhow::Result<()> {
        let (feed, rx) = std_mpsc::channel();
        let (open, tampered) = match config.door.backend {
            AccessBackend::Off => return Ok(()),
            AccessBackend::Sim => {
                self.door_sim = Some(SimDoorInputs::new(feed.clone()));
                (false, false)
            }
            AccessBackend::Rpi => self.open_rpi_door(config, feed.clone())?,
        };
        self.door_feed = Some(feed);
        let monitor = DoorMonitor::new(config.door.timing(), Instant::now(), open, tampered);
        self.spawn_detached("door", move || {
            run_door_monitor(rx, monitor, &SystemClock, |o| news.send(AccessNews::Door(o)).is_ok());
        })
    }

    #[cfg(feature = "rpi")]
    fn open_rpi_door(&mut self, config: &StationConfig, feed: Sender<DoorFeed>) -> anyhow::Result<(bool, bool)> {
        use ds_hw::door::{DoorPin, DoorPins, RpiDoorInputs};
        let d = &config.door;
        let pin = |gpio: i32, active_low| u8::try_from(gpio).ok().map(|gpio| DoorPin { gpio, active_low });
        let pins = DoorPins {
            contact: pin(d.contact_gpio, d.contact_active_low),
            exit: pin(d.exit_gpio, d.exit_active_low),
            tamper: pin(d.tamper_gpio, d.tamper_active_low),
        };
        let inputs = RpiDoorInputs::open(pins, feed)?;
        let levels = (inputs.door_open(), inputs.tampered());
        self._inputs = Some(Box::new(inputs));
        Ok(levels)
    }

    #[cfg(not(feature = "rpi"))]
    fn open_rpi_door(&mut self, _config: &StationConfig, _feed: Sender<DoorFeed>) -> anyhow::Result<(bool, bool)> {
        anyhow::bail!("this build has no Raspberry Pi back-end (feature rpi)")
    }
}

#[cfg(feature = "rpi")]
fn rpi_wiegand_lines(w: &crate::config::WiegandConfig) -> anyhow::Result<Box<dyn WiegandLines>> {
    let pins = ds_hw::wiegand::WiegandPins { d0: w.d0_gpio, d1: w.d1_gpio, inverted: w.inverted };
    Ok(Box::new(ds_hw::wiegand::RpiWiegandLines::open(pins)?))
}

#[cfg(not(feature = "rpi"))]
fn rpi_wiegand_lines(_w: &crate::config::WiegandConfig) -> anyhow::Result<Box<dyn WiegandLines>> {
    anyhow::bail!("this build has no Raspberry Pi back-end (feature rpi)")
}

#[cfg(feature = "rpi")]
fn direction_line(gpio: i32) -> anyhow::Result<Option<Box<dyn ds_osdp::Direction>>> {
    match u8::try_from(gpio) {
        Ok(gpio) => Ok(Some(Box::new(ds_osdp::GpioDirection::open(gpio)?))),
        Err(_) => Ok(None),
    }
}

#[cfg(not(feature = "rpi"))]
fn direction_line(gpio: i32) -> anyhow::Result<Option<Box<dyn ds_osdp::Direction>>> {
    anyhow::ensure!(gpio < 0, "[osdp] direction_gpio needs the Raspberry Pi back-end (feature rpi)");
    Ok(None)
}

/// Owns the sender: forwards frames, reports every frame it finished.
fn wiegand_bridge(frames: Receiver<Bits>, sender: WiegandSender, mut file: Option<FrameFile>, news: News) {
    loop {
        match frames.recv_timeout(BRIDGE_TICK) {
            Ok(bits) => {
                if let Err(e) = sender.send(bits) {
                    tracing::error!(error = %e, "Wiegand frame dropped");
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Some(report) = sender.report_timeout(Duration::ZERO) {
            if let Some(f) = &mut file {
                f.append(report.sent);
            }
            if news.send(AccessNews::Frame(report)).is_err() {
                return;
            }
        }
    }
}

/// Owns the reader thread: forwards cards and tamper, reports commands and
/// link changes.
fn osdp_bridge(requests: Receiver<OsdpRequest>, reader: ReaderThread, news: News) {
    let mut link = LinkStatus::default();
    loop {
        match requests.recv_timeout(BRIDGE_TICK) {
            Ok(OsdpRequest::Card(bits)) => reader.report_card(CardFormat::Wiegand, bits),
            Ok(OsdpRequest::Tamper(on)) => reader.set_tamper(on),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Ok(e) = reader.errors().try_recv() {
            tracing::warn!(error = %e, "OSDP reader");
        }
        let mut out: Vec<AccessNews> = reader.commands().try_iter().map(AccessNews::Panel).collect();
        let now = reader.status();
        if now != link {
            link = now;
            out.push(AccessNews::Link(now));
        }
        if out.into_iter().any(|n| news.send(n).is_err()) {
            return;
        }
    }
}

/// The frames of the simulated lines, appended to a file after each report.
struct FrameFile {
    log: WiegandLog,
    file: std::fs::File,
    gap: Duration,
    written: usize,
}

impl FrameFile {
    fn from_env(log: WiegandLog, gap: Duration) -> anyhow::Result<Option<FrameFile>> {
        let Some(path) = std::env::var_os(WIEGAND_LOG_ENV).filter(|p| !p.is_empty()) else { return Ok(None) };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("{WIEGAND_LOG_ENV}={}", path.to_string_lossy()))?;
        Ok(Some(FrameFile { log, file, gap, written: 0 }))
    }

    /// Every frame since the last call; the last one is the reported attempt.
    fn append(&mut self, sent: bool) {
        let frames = self.log.frames(self.gap);
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let last = frames.len().saturating_sub(1);
        for (i, frame) in frames.iter().enumerate().skip(self.written) {
            let status = match (i == last, sent) {
                (true, true) => "sent",
                (true, false) => "failed",
                (false, _) => "aborted",
            };
            let widths = frame.iter().map(|p| p.width.as_micros());
            let (min, max) = widths.fold((u128::MAX, 0), |(lo, hi), w| (lo.min(w), hi.max(w)));
            let bits = WiegandLog::bits_of(frame);
            if let Err(e) = writeln!(self.file, "{unix_ms} {status} {bits} widths_us={min}-{max}") {
                tracing::warn!(error = %e, "{WIEGAND_LOG_ENV}: cannot write");
            }
        }
        self.written = frames.len();
    }
}

/// The JSON event for a door monitor event.
pub fn door_event(event: DoorEvent) -> Event {
    match event {
        DoorEvent::Opened { authorized, .. } => Event::Door(DoorState::Opened { authorized }),
        DoorEvent::Forced { .. } => Event::Door(DoorState::Forced),
        DoorEvent::HeldOpen { at, since } => {
            Event::Door(DoorState::HeldOpen { open_s: at.saturating_duration_since(since).as_secs() })
        }
        DoorEvent::Closed { open_for, .. } => Event::Door(DoorState::Closed { open_ms: open_for.as_millis() as u64 }),
        DoorEvent::ExitRequested { .. } => Event::ExitRequested,
        DoorEvent::Tamper { active, .. } => Event::Tamper { active },
    }
}

/// What the station does with a panel command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelAction {
    /// Open the door relay for this long, without presenting the credential.
    Open(Duration),
    /// Release the door relay now.
    Release,
    /// Nothing to do (reported only, or refused).
    None,
}

/// The event and the action for a panel command. Output 0 is the door relay:
/// temporary on (code 5) opens for the timer, off (1, 3) and temporary off
/// (6) release; permanent on (2, 4) would leave the door open and is refused.
pub fn panel_command(cmd: &PanelCommand) -> (Option<Event>, PanelAction) {
    let (event, action) = match *cmd {
        PanelCommand::Output { output, control, timer_100ms } => {
            let ms = u64::from(timer_100ms) * 100;
            let action = match (output, control) {
                (0, 5) if ms > 0 => PanelAction::Open(Duration::from_millis(ms)),
                (0, 1 | 3 | 6) => PanelAction::Release,
                _ => PanelAction::None,
            };
            let accepted = action != PanelAction::None;
            (PanelEvent::Output { output, control, ms, accepted }, action)
        }
        PanelCommand::Led { led, permanent_color, temporary_color, .. } => {
            (PanelEvent::Led { led, color: temporary_color.unwrap_or(permanent_color) }, PanelAction::None)
        }
        PanelCommand::Buzzer { tone, count, .. } => (PanelEvent::Buzzer { tone, count }, PanelAction::None),
        PanelCommand::ComSet { address, baud } => (PanelEvent::ComSet { address, baud }, PanelAction::None),
        PanelCommand::KeyStored => (PanelEvent::KeyStored, PanelAction::None),
        _ => return (None, PanelAction::None),
    };
    (Some(Event::Panel(event)), action)
}

#[cfg(test)]
mod tests;
