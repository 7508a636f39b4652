//! DTMF as RFC 4733 telephone events: the payload format, an encoder that schedules the packets
//! of one key press, and a decoder that reports each key press exactly once.

mod decoder;
mod encoder;

pub use decoder::{DEFAULT_EVENT_TIMEOUT, DtmfDecoder};
pub use encoder::{DEFAULT_PACKET_INTERVAL, DtmfEncoder, DtmfPacket, END_PACKETS};

/// What is wrong with a telephone-event payload or a digit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtmfError {
    /// The payload is shorter than the 4-byte event block (RFC 4733 §2.3).
    #[error("telephone-event payload is {len} bytes, at least 4 are needed")]
    Short {
        /// The payload length.
        len: usize,
    },
    /// The character is not a DTMF key.
    #[error("{0:?} is not a DTMF key (0-9, *, #, A-D)")]
    NotAKey(char),
}

/// A DTMF key: events 0–9 are the digits, 10 is `*`, 11 is `#`, 12–15 are A–D (RFC 4733 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Digit(u8);

const KEYS: [char; 16] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];

impl Digit {
    /// The key for an event code; `None` for codes above 15 (flash, tones, ...).
    pub fn from_event(code: u8) -> Option<Digit> {
        (usize::from(code) < KEYS.len()).then_some(Digit(code))
    }

    /// The key for a character (`a`–`d` accepted as `A`–`D`).
    pub fn from_char(c: char) -> Result<Digit, DtmfError> {
        let upper = c.to_ascii_uppercase();
        KEYS.iter().position(|&k| k == upper).map(|i| Digit(i as u8)).ok_or(DtmfError::NotAKey(c))
    }

    /// The RFC 4733 event code.
    pub fn event(self) -> u8 {
        self.0
    }

    /// The key as a character: `0`–`9`, `*`, `#`, `A`–`D`.
    pub fn as_char(self) -> char {
        KEYS[usize::from(self.0 & 0x0F)]
    }
}

impl std::fmt::Display for Digit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// One RFC 4733 event block (§2.3): event, end bit, volume (−dBm0), duration in timestamp units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–15 for DTMF).
    pub event: u8,
    /// Set on the final packet(s) of the event.
    pub end: bool,
    /// Power level, 0 to 63 (−dBm0); larger is quieter.
    pub volume: u8,
    /// Duration so far, in units of the RTP clock.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Reads the first event block of a payload; further blocks are ignored.
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent, DtmfError> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(DtmfError::Short { len: payload.len() });
        };
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The 4-byte wire form (the R bit is always 0).
    pub fn to_bytes(self) -> [u8; 4] {
        let flags = if self.end { 0x80 } else { 0 } | (self.volume & 0x3F);
        let [d0, d1] = self.duration.to_be_bytes();
        [self.event, flags, d0, d1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_rfc_4733_codes() {
        let codes: Vec<u8> = "0123456789*#ABCD".chars().map(|c| Digit::from_char(c).unwrap().event()).collect();
        assert_eq!(codes, (0..16).collect::<Vec<u8>>());
        assert_eq!(Digit::from_char('d').unwrap().as_char(), 'D');
        assert_eq!(Digit::from_char('x'), Err(DtmfError::NotAKey('x')));
        assert_eq!(Digit::from_event(16), None);
        assert_eq!(Digit::from_event(11).unwrap().to_string(), "#");
    }

    #[test]
    fn event_block_round_trips() {
        let ev = TelephoneEvent { event: 11, end: true, volume: 10, duration: 1600 };
        assert_eq!(ev.to_bytes(), [11, 0x8A, 0x06, 0x40]);
        assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
        // The reserved bit is ignored when reading.
        assert_eq!(TelephoneEvent::parse(&[1, 0x4A, 0, 160]).unwrap().volume, 10);
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), Err(DtmfError::Short { len: 3 }));
    }
}
