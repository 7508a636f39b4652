//! A reader without a bus, for the station's tests and the demo.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ds_hw::wiegand::Bits;

use crate::{CardFormat, LinkStatus, OsdpReader, PanelCommand, ReaderError};

#[derive(Debug, Default)]
struct Shared {
    cards: Vec<(CardFormat, Bits)>,
    commands: VecDeque<PanelCommand>,
    tampered: bool,
    last_poll: Option<Instant>,
}

/// A shared view of what a [`SimReader`] was asked to do.
#[derive(Clone, Debug, Default)]
pub struct SimReaderLog {
    shared: Arc<Mutex<Shared>>,
}

impl SimReaderLog {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every card reported, oldest first.
    pub fn cards(&self) -> Vec<(CardFormat, Bits)> {
        self.lock().cards.clone()
    }

    /// The tamper state last set.
    pub fn tampered(&self) -> bool {
        self.lock().tampered
    }

    /// Makes the reader deliver `command` as if the panel had sent it.
    pub fn inject(&self, command: PanelCommand) {
        self.lock().commands.push_back(command);
    }
}

/// Records cards instead of sending them; commands come from [`SimReaderLog::inject`].
#[derive(Debug, Default)]
pub struct SimReader {
    log: SimReaderLog,
}

impl SimReader {
    /// A reader with an empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle on its log.
    pub fn log(&self) -> SimReaderLog {
        self.log.clone()
    }
}

impl OsdpReader for SimReader {
    fn report_card(&mut self, format: CardFormat, bits: &Bits) -> Result<(), ReaderError> {
        self.log.lock().cards.push((format, bits.clone()));
        Ok(())
    }

    fn set_tamper(&mut self, tampered: bool) {
        self.log.lock().tampered = tampered;
    }

    fn poll(&mut self, now: Instant) -> Result<(), ReaderError> {
        self.log.lock().last_poll = Some(now);
        Ok(())
    }

    fn poll_command(&mut self) -> Option<PanelCommand> {
        self.log.lock().commands.pop_front()
    }

    fn status(&self) -> LinkStatus {
        LinkStatus { online: self.log.lock().last_poll.is_some(), secure: false }
    }

    fn wait_readable(&self, timeout: Duration) -> bool {
        std::thread::sleep(timeout);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ds_hw::wiegand::{WiegandFormat, encode};

    #[test]
    fn records_cards_and_delivers_injected_commands() {
        let mut reader = SimReader::new();
        let log = reader.log();
        let bits = encode(WiegandFormat::H10301, 1, 2).unwrap();
        reader.report_card(CardFormat::Wiegand, &bits).unwrap();
        reader.set_tamper(true);
        assert_eq!(log.cards(), [(CardFormat::Wiegand, bits)]);
        assert!(log.tampered());
        assert!(!reader.status().online);
        reader.poll(Instant::now()).unwrap();
        assert!(reader.status().online);
        log.inject(PanelCommand::KeyStored);
        assert_eq!(reader.poll_command(), Some(PanelCommand::KeyStored));
        assert_eq!(reader.poll_command(), None);
    }
}
