//! `DoorMonitor`: the sans-IO state machine of the door's inputs.
//!
//! ```text
//!             contact opens (grant in effect)  → Opened{authorized}
//!   Closed ───────────────────────────────────────────────▶ Open ──held_open_after──▶ (HeldOpen reported)
//!     ▲       contact opens (no grant)        → Opened + Forced                 │
//!     └──────────────────────────── contact closes → Closed{open_for} ◀─────────┘
//! ```
//!
//! Each input's raw level goes through its own [`Debouncer`]. A grant comes from
//! the station (an unlock by code or by the panel: [`DoorMonitor::granted`]) or
//! from the request-to-exit button, which also asks the shell to open the strike
//! ([`DoorOutput::Unlock`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::button::{DebounceEvent, Debouncer};

/// Which input a raw level comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DoorInput {
    /// The door contact (reed switch): `true` = door open.
    Contact,
    /// The request-to-exit button: `true` = pressed.
    Exit,
    /// The tamper switch: `true` = enclosure open / tampered.
    Tamper,
}

/// Timing of the door supervision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoorConfig {
    /// Debounce of all three inputs (`door.debounce_ms`).
    pub debounce: Duration,
    /// A door open longer than this raises [`DoorEvent::HeldOpen`]
    /// (`door.held_open_s`).
    pub held_open_after: Duration,
    /// After a grant ends, an opening still counts as authorized for this long
    /// (someone pushing the door as the strike relocks; `door.grant_grace_ms`).
    pub grant_grace: Duration,
    /// How long the request-to-exit button opens the strike (`door.exit_unlock_ms`).
    pub exit_unlock: Duration,
}

impl Default for DoorConfig {
    /// 50 ms debounce, held open after 30 s, 2 s grace, exit opens for 5 s:
    /// common defaults of door controllers (door-held times of 15–60 s).
    fn default() -> Self {
        DoorConfig {
            debounce: Duration::from_millis(50),
            held_open_after: Duration::from_secs(30),
            grant_grace: Duration::from_secs(2),
            exit_unlock: Duration::from_secs(5),
        }
    }
}

/// What happened at the door (each goes to the JSON event stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorEvent {
    /// The door opened; `authorized` if an unlock or exit grant was in effect.
    Opened {
        /// When the contact opened (the debounced edge).
        at: Instant,
        /// A grant was in effect.
        authorized: bool,
    },
    /// The door opened without a grant.
    Forced {
        /// When.
        at: Instant,
    },
    /// The door has been open for longer than `held_open_after`.
    HeldOpen {
        /// When the limit passed.
        at: Instant,
        /// When the door opened.
        since: Instant,
    },
    /// The door closed.
    Closed {
        /// When.
        at: Instant,
        /// How long it was open.
        open_for: Duration,
    },
    /// The request-to-exit button was pressed (the strike is opened locally).
    ExitRequested {
        /// When.
        at: Instant,
    },
    /// The tamper input changed.
    Tamper {
        /// When.
        at: Instant,
        /// `true` tampered, `false` restored.
        active: bool,
    },
}

/// What the shell must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorOutput {
    /// Open the strike for this long (request to exit), then tell the monitor
    /// with [`DoorMonitor::granted`] if the relay pulse was accepted.
    Unlock(Duration),
    /// Report this event.
    Event(DoorEvent),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Door {
    Closed,
    Open { since: Instant, held_at: Instant, held_reported: bool },
}

/// Door contact, request-to-exit and tamper supervision.
#[derive(Debug)]
pub struct DoorMonitor {
    config: DoorConfig,
    contact: Debouncer,
    exit: Debouncer,
    tamper: Debouncer,
    door: Door,
    /// Openings before this instant are authorized.
    grant_until: Option<Instant>,
    out: VecDeque<DoorOutput>,
}

impl DoorMonitor {
    /// A monitor whose inputs read `door_open`, `tampered` now (reported as no
    /// event; a door found open at start is not forced and starts its held timer).
    pub fn new(config: DoorConfig, now: Instant, door_open: bool, tampered: bool) -> Self {
        let door = if door_open {
            Door::Open { since: now, held_at: now + config.held_open_after, held_reported: false }
        } else {
            Door::Closed
        };
        DoorMonitor {
            contact: Debouncer::new(config.debounce, door_open),
            exit: Debouncer::new(config.debounce, false),
            tamper: Debouncer::new(config.debounce, tampered),
            config,
            door,
            grant_until: None,
            out: VecDeque::new(),
        }
    }

    /// The strike is open until `until` (an unlock the station carried out):
    /// an opening until then, plus the grace, is authorized.
    pub fn granted(&mut self, until: Instant) {
        let until = until + self.config.grant_grace;
        self.grant_until = Some(self.grant_until.map_or(until, |t| t.max(until)));
    }

    /// A raw level of one input (an edge or a sample).
    pub fn handle_level(&mut self, now: Instant, input: DoorInput, level: bool) {
        self.debouncer(input).handle_level(now, level);
        self.settle(now);
    }

    /// Call at [`next_timeout`](Self::next_timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        for input in [DoorInput::Contact, DoorInput::Exit, DoorInput::Tamper] {
            self.debouncer(input).handle_timeout(now);
        }
        self.settle(now);
    }

    /// The earliest deadline: a debounce settling, or the held-open limit.
    pub fn next_timeout(&self) -> Option<Instant> {
        let held = match self.door {
            Door::Open { held_at, held_reported: false, .. } => Some(held_at),
            _ => None,
        };
        [self.contact.next_timeout(), self.exit.next_timeout(), self.tamper.next_timeout(), held]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next action or event.
    pub fn poll_output(&mut self) -> Option<DoorOutput> {
        self.out.pop_front()
    }

    /// Whether the door is open (debounced).
    pub fn is_open(&self) -> bool {
        matches!(self.door, Door::Open { .. })
    }

    fn debouncer(&mut self, input: DoorInput) -> &mut Debouncer {
        match input {
            DoorInput::Contact => &mut self.contact,
            DoorInput::Exit => &mut self.exit,
            DoorInput::Tamper => &mut self.tamper,
        }
    }

    fn settle(&mut self, now: Instant) {
        while let Some(ev) = self.exit.poll_output() {
            if let DebounceEvent::Pressed { at } = ev {
                self.exit_pressed(at);
            }
        }
        while let Some(ev) = self.tamper.poll_output() {
            let (at, active) = match ev {
                DebounceEvent::Pressed { at } => (at, true),
                DebounceEvent::Released { at } => (at, false),
            };
            self.event(DoorEvent::Tamper { at, active });
        }
        while let Some(ev) = self.contact.poll_output() {
            match ev {
                DebounceEvent::Pressed { at } => self.opened(at),
                DebounceEvent::Released { at } => self.closed(at),
            }
        }
        self.check_held(now);
    }

    fn exit_pressed(&mut self, at: Instant) {
        self.event(DoorEvent::ExitRequested { at });
        self.out.push_back(DoorOutput::Unlock(self.config.exit_unlock));
        // The exit grant holds even if the shell's relay is busy: the person is inside.
        self.granted(at + self.config.exit_unlock);
    }

    fn opened(&mut self, at: Instant) {
        if self.is_open() {
            return;
        }
        let authorized = self.grant_until.is_some_and(|until| at <= until);
        self.door = Door::Open { since: at, held_at: at + self.config.held_open_after, held_reported: false };
        self.event(DoorEvent::Opened { at, authorized });
        if !authorized {
            self.event(DoorEvent::Forced { at });
        }
    }

    fn closed(&mut self, at: Instant) {
        if let Door::Open { since, .. } = std::mem::replace(&mut self.door, Door::Closed) {
            self.event(DoorEvent::Closed { at, open_for: at.saturating_duration_since(since) });
        }
    }

    fn check_held(&mut self, now: Instant) {
        if let Door::Open { since, held_at, held_reported: false } = self.door
            && now >= held_at
        {
            self.door = Door::Open { since, held_at, held_reported: true };
            self.event(DoorEvent::HeldOpen { at: held_at, since });
        }
    }

    fn event(&mut self, event: DoorEvent) {
        self.out.push_back(DoorOutput::Event(event));
    }
}
