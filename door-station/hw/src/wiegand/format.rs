//! Wiegand card formats: pure encoders and parity-checking decoders.
//!
//! Layouts follow proxmark3 `client/src/wiegand_formats.c` (RfidResearchGroup:
//! `Pack_H10301`, `Pack_H10306`, `Pack_C1k35s`, `Pack_H10304`) and HID's
//! "Understanding Card Data Formats". Positions count from 0 = the first bit sent.

use std::fmt;

/// A card format: how facility code, card number and parity share the bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WiegandFormat {
    /// HID H10301, "standard 26-bit": FC 8 bits, CN 16 bits.
    H10301,
    /// HID H10306, 34-bit: FC 16 bits, CN 16 bits.
    H10306,
    /// HID Corporate 1000, 35-bit: company ID 12 bits, CN 20 bits, three parity bits.
    Corporate1000,
    /// HID H10304, 37-bit with facility: FC 16 bits, CN 19 bits.
    H10304,
    /// `n` bits of card number, no facility code and no parity (1 to 64).
    Raw(u8),
}

impl WiegandFormat {
    /// The number of bits in a frame of this format.
    pub fn bit_len(self) -> usize {
        match self {
            WiegandFormat::H10301 => 26,
            WiegandFormat::H10306 => 34,
            WiegandFormat::Corporate1000 => 35,
            WiegandFormat::H10304 => 37,
            WiegandFormat::Raw(n) => usize::from(n),
        }
    }

    /// Largest facility code and card number the format can carry.
    pub fn limits(self) -> (u32, u64) {
        let layout = self.layout();
        let max = |len: usize| match len {
            0 => 0,
            len => u64::MAX >> (64 - len.min(64)),
        };
        (max(layout.fc.1) as u32, max(layout.cn.1))
    }

    fn layout(self) -> Layout {
        match self {
            WiegandFormat::H10301 => H10301,
            WiegandFormat::H10306 => H10306,
            WiegandFormat::Corporate1000 => C1K35,
            WiegandFormat::H10304 => H10304,
            WiegandFormat::Raw(n) => Layout { fc: (0, 0), cn: (0, usize::from(n)), parity: &[] },
        }
    }
}

impl fmt::Display for WiegandFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WiegandFormat::H10301 => f.write_str("H10301 (26-bit)"),
            WiegandFormat::H10306 => f.write_str("H10306 (34-bit)"),
            WiegandFormat::Corporate1000 => f.write_str("Corporate 1000 (35-bit)"),
            WiegandFormat::H10304 => f.write_str("H10304 (37-bit)"),
            WiegandFormat::Raw(n) => write!(f, "raw {n}-bit"),
        }
    }
}

/// Why a credential could not be encoded or a frame not decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WiegandError {
    /// The facility code does not fit the format's field.
    #[error("facility code {got} does not fit {format} (0 to {max})")]
    FacilityOutOfRange {
        /// The format asked for.
        format: WiegandFormat,
        /// The largest value that fits.
        max: u32,
        /// The value given.
        got: u32,
    },
    /// The card number does not fit the format's field.
    #[error("card number {got} does not fit {format} (0 to {max})")]
    CardOutOfRange {
        /// The format asked for.
        format: WiegandFormat,
        /// The largest value that fits.
        max: u64,
        /// The value given.
        got: u64,
    },
    /// A raw format must have 1 to 64 bits.
    #[error("a raw Wiegand format has 1 to 64 bits, not {bits}")]
    RawLength {
        /// The bit count asked for.
        bits: u8,
    },
    /// A frame of the wrong length for the format.
    #[error("{format} frames have {expected} bits, this one has {got}")]
    WrongLength {
        /// The format decoded against.
        format: WiegandFormat,
        /// Its bit count.
        expected: usize,
        /// The frame's bit count.
        got: usize,
    },
    /// A parity bit does not match the bits it covers.
    #[error("{format}: parity bit at position {position} is wrong")]
    Parity {
        /// The format decoded against.
        format: WiegandFormat,
        /// Position of the failing parity bit (0 = first sent).
        position: usize,
    },
}

/// A Wiegand frame: bits in the order they are sent (leading parity first).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Bits {
    bits: Vec<bool>,
}

impl Bits {
    /// A frame from bits in sending order.
    pub fn from_bools(bits: Vec<bool>) -> Self {
        Bits { bits }
    }

    /// Parses a string of `0` and `1` (anything else gives `None`).
    pub fn parse(text: &str) -> Option<Self> {
        text.chars()
            .map(|c| match c {
                '0' => Some(false),
                '1' => Some(true),
                _ => None,
            })
            .collect::<Option<Vec<bool>>>()
            .map(Bits::from_bools)
    }

    /// The bits, first sent first.
    pub fn as_slice(&self) -> &[bool] {
        &self.bits
    }

    /// How many bits.
    pub fn len(&self) -> usize {
        self.bits.len()
    }

    /// Whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Packed MSB first and left-aligned, the last byte padded with zeros: the
    /// data of an OSDP `osdp_RAW` card read.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bits
            .chunks(8)
            .map(|chunk| chunk.iter().enumerate().fold(0u8, |byte, (i, &bit)| byte | (u8::from(bit) << (7 - i))))
            .collect()
    }

    fn field(&self, (start, len): (usize, usize)) -> u64 {
        self.bits[start..start + len].iter().fold(0u64, |acc, &bit| (acc << 1) | u64::from(bit))
    }

    fn set_field(&mut self, (start, len): (usize, usize), value: u64) {
        for i in 0..len {
            self.bits[start + i] = (value >> (len - 1 - i)) & 1 == 1;
        }
    }
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.bits.iter().try_for_each(|&b| f.write_str(if b { "1" } else { "0" }))
    }
}

impl fmt::Debug for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bits({self})")
    }
}

/// A decoded credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Credential {
    /// Facility code (company ID for Corporate 1000; 0 for raw).
    pub facility: u32,
    /// Card number (the whole value for raw).
    pub card: u64,
}

/// Which positions a parity bit covers.
#[derive(Clone, Copy, Debug)]
enum Cover {
    /// Positions `start..end`.
    Span(usize, usize),
    /// Positions `start..end` whose index modulo 3 is not `skip`.
    TwoOfThree(usize, usize, usize),
}

impl Cover {
    fn contains(self, pos: usize) -> bool {
        match self {
            Cover::Span(a, b) => (a..b).contains(&pos),
            Cover::TwoOfThree(a, b, skip) => (a..b).contains(&pos) && pos % 3 != skip,
        }
    }
}

/// One parity bit: where it sits, whether the covered bits plus it are odd.
#[derive(Clone, Copy, Debug)]
struct Parity {
    at: usize,
    odd: bool,
    cover: Cover,
}

/// `(start, len)` of the two fields and the parity bits in computing order.
#[derive(Clone, Copy, Debug)]
struct Layout {
    fc: (usize, usize),
    cn: (usize, usize),
    parity: &'static [Parity],
}

const fn even(at: usize, cover: Cover) -> Parity {
    Parity { at, odd: false, cover }
}

const fn odd(at: usize, cover: Cover) -> Parity {
    Parity { at, odd: true, cover }
}

/// b0 even over b1–b12, b25 odd over b13–b24 (`Pack_H10301`).
const H10301: Layout =
    Layout { fc: (1, 8), cn: (9, 16), parity: &[even(0, Cover::Span(1, 13)), odd(25, Cover::Span(13, 25))] };

/// b0 even over the FC b1–b16, b33 odd over the CN b17–b32 (`Pack_H10306`).
const H10306: Layout =
    Layout { fc: (1, 16), cn: (17, 16), parity: &[even(0, Cover::Span(1, 17)), odd(33, Cover::Span(17, 33))] };

/// `Pack_C1k35s`: b1 even over b2–b33 but every third (b4, b7 …); then b34 odd
/// over b1–b32 but b3, b6 …; then b0 odd over everything after it.
const C1K35: Layout = Layout {
    fc: (2, 12),
    cn: (14, 20),
    parity: &[even(1, Cover::TwoOfThree(2, 34, 1)), odd(34, Cover::TwoOfThree(1, 33, 0)), odd(0, Cover::Span(1, 35))],
};

/// b0 even over b1–b18, b36 odd over b18–b35 (`Pack_H10304`).
const H10304: Layout =
    Layout { fc: (1, 16), cn: (17, 19), parity: &[even(0, Cover::Span(1, 19)), odd(36, Cover::Span(18, 36))] };

fn parity_of(bits: &Bits, p: Parity) -> bool {
    let ones =
        bits.as_slice().iter().enumerate().filter(|&(pos, &b)| b && pos != p.at && p.cover.contains(pos)).count();
    (ones % 2 == 1) != p.odd
}

fn check_raw(format: WiegandFormat) -> Result<(), WiegandError> {
    match format {
        WiegandFormat::Raw(n) if !(1..=64).contains(&n) => Err(WiegandError::RawLength { bits: n }),
        _ => Ok(()),
    }
}

/// Encodes facility code `fc` and card number `cn` with the format's parity.
///
/// `fc` must be 0 for [`WiegandFormat::Raw`], whose `cn` is the whole value.
pub fn encode(format: WiegandFormat, fc: u32, cn: u64) -> Result<Bits, WiegandError> {
    check_raw(format)?;
    let (max_fc, max_cn) = format.limits();
    if fc > max_fc {
        return Err(WiegandError::FacilityOutOfRange { format, max: max_fc, got: fc });
    }
    if cn > max_cn {
        return Err(WiegandError::CardOutOfRange { format, max: max_cn, got: cn });
    }
    let layout = format.layout();
    let mut bits = Bits::from_bools(vec![false; format.bit_len()]);
    bits.set_field(layout.fc, u64::from(fc));
    bits.set_field(layout.cn, cn);
    for &p in layout.parity {
        bits.bits[p.at] = parity_of(&bits, p);
    }
    Ok(bits)
}

/// Decodes a frame, checking its length and every parity bit.
pub fn decode(format: WiegandFormat, bits: &Bits) -> Result<Credential, WiegandError> {
    check_raw(format)?;
    if bits.len() != format.bit_len() {
        return Err(WiegandError::WrongLength { format, expected: format.bit_len(), got: bits.len() });
    }
    let layout = format.layout();
    if let Some(p) = layout.parity.iter().find(|&&p| bits.as_slice()[p.at] != parity_of(bits, p)) {
        return Err(WiegandError::Parity { format, position: p.at });
    }
    Ok(Credential { facility: bits.field(layout.fc) as u32, card: bits.field(layout.cn) })
}
