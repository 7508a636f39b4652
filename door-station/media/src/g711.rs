//! ITU-T G.711 companding: µ-law (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8).
//!
//! The arithmetic is the classic segment search of the ITU-T reference (as in Sun's `g711.c`):
//! 16-bit linear PCM in, one 8-bit code out, 8 kHz, 160 samples per 20 ms frame.

/// Which G.711 law a stream uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law, `PCMU/8000`, static payload type 0 (RFC 3551 §6).
    Ulaw,
    /// A-law, `PCMA/8000`, static payload type 8 (RFC 3551 §6).
    Alaw,
}

impl Law {
    /// The static RTP payload type of this law (RFC 3551 table 4).
    pub fn payload_type(self) -> u8 {
        match self {
            Law::Ulaw => 0,
            Law::Alaw => 8,
        }
    }

    /// Encodes linear samples into one code byte each.
    pub fn encode(self, pcm: &[i16]) -> Vec<u8> {
        let f = match self {
            Law::Ulaw => linear_to_ulaw,
            Law::Alaw => linear_to_alaw,
        };
        pcm.iter().map(|&s| f(s)).collect()
    }

    /// Decodes code bytes into linear samples.
    pub fn decode(self, codes: &[u8]) -> Vec<i16> {
        let f = match self {
            Law::Ulaw => ulaw_to_linear,
            Law::Alaw => alaw_to_linear,
        };
        codes.iter().map(|&c| f(c)).collect()
    }
}

/// Sample rate of G.711 (RFC 3551 §4.5.14).
pub const G711_RATE: u32 = 8_000;

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 8159;
const ULAW_SEG_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const ALAW_SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// The first segment whose end is at or above `value`; 8 when beyond the last.
fn segment(value: i32, ends: &[i32; 8]) -> i32 {
    ends.iter().position(|&end| value <= end).unwrap_or(8) as i32
}

/// Encodes one 16-bit linear sample as a µ-law code. Negative samples use their one's complement
/// magnitude, as the ITU-T G.191 reference does, so -1 encodes like 0 (as code 0x7F).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let sample = i32::from(sample);
    let (magnitude, mask) = if sample < 0 { (!sample, 0x7F) } else { (sample, 0xFF) };
    let value = (magnitude >> 2).min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    let seg = segment(value, &ULAW_SEG_END);
    let code = if seg >= 8 { 0x7F } else { (seg << 4) | ((value >> (seg + 1)) & 0x0F) };
    (code ^ mask) as u8
}

/// Decodes one µ-law code to a 16-bit linear sample.
pub fn ulaw_to_linear(code: u8) -> i16 {
    let code = i32::from(!code);
    let magnitude = (((code & 0x0F) << 3) + ULAW_BIAS) << ((code & 0x70) >> 4);
    let value = if code & 0x80 != 0 { ULAW_BIAS - magnitude } else { magnitude - ULAW_BIAS };
    value as i16
}

/// Encodes one 16-bit linear sample as an A-law code.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut value = i32::from(sample) >> 3;
    let mask = if value >= 0 {
        0xD5
    } else {
        value = -value - 1;
        0x55
    };
    let seg = segment(value, &ALAW_SEG_END);
    let code = if seg >= 8 {
        0x7F
    } else {
        let shift = if seg < 2 { 1 } else { seg };
        (seg << 4) | ((value >> shift) & 0x0F)
    };
    (code ^ mask) as u8
}

/// Decodes one A-law code to a 16-bit linear sample.
pub fn alaw_to_linear(code: u8) -> i16 {
    let code = i32::from(code ^ 0x55);
    let seg = (code & 0x70) >> 4;
    let mantissa = (code & 0x0F) << 4;
    let magnitude = match seg {
        0 => mantissa + 8,
        1 => mantissa + 0x108,
        _ => (mantissa + 0x108) << (seg - 1),
    };
    let value = if code & 0x80 != 0 { magnitude } else { -magnitude };
    value as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_values() {
        // Values from the ITU-T G.711 tables (and every reference implementation).
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(-1), 0x7F);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0xFE), 8); // segment 0 has steps of 8
        assert_eq!(ulaw_to_linear(0xF0), 120);
        assert_eq!(linear_to_ulaw(1000), 0xCE);
        assert_eq!(ulaw_to_linear(0xCE), 988);
    }

    #[test]
    fn alaw_known_values() {
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_alaw(1000), 0xFA);
        assert_eq!(alaw_to_linear(0xFA), 1008);
    }

    /// Half a quantisation step of the segment `x` falls in, plus the bits dropped before the search.
    fn bound(x: i32) -> i32 {
        x.abs() / 16 + 16
    }

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        for law in [Law::Ulaw, Law::Alaw] {
            for x in (i16::MIN..=i16::MAX).step_by(7) {
                let y = law.decode(&law.encode(&[x]))[0];
                let err = (i32::from(x) - i32::from(y)).abs();
                // Beyond ±32124 (µ) / ±32256 (A) the codec clips.
                let clipped = i32::from(x).abs() > 32_000;
                assert!(clipped || err <= bound(x.into()), "{law:?}: {x} -> {y}, error {err}");
            }
        }
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(code)), code, "A-law {code:#04x}");
            // µ-law has two codes for zero (0x7F and 0xFF); the encoder picks 0xFF.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(linear_to_ulaw(ulaw_to_linear(code)), expected, "µ-law {code:#04x}");
        }
    }

    #[test]
    fn decoders_are_odd_symmetric() {
        for code in 0..=255u8 {
            assert_eq!(ulaw_to_linear(code), -ulaw_to_linear(code ^ 0x80));
            assert_eq!(alaw_to_linear(code), -alaw_to_linear(code ^ 0x80));
        }
        assert_eq!(Law::Ulaw.payload_type(), 0);
        assert_eq!(Law::Alaw.payload_type(), 8);
    }
}
