//! H.264 NAL units: splitting an Annex-B byte stream, naming NAL types, access units, and the
//! `sprop-parameter-sets` / `profile-level-id` values of the SDP (RFC 6184 §8.1).

use bytes::Bytes;

/// The NAL unit types the station cares about (ITU-T H.264 table 7-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NalKind {
    /// A coded slice of a non-IDR picture (type 1).
    Slice,
    /// A coded slice of an IDR picture (type 5).
    Idr,
    /// Supplemental enhancement information (type 6).
    Sei,
    /// Sequence parameter set (type 7).
    Sps,
    /// Picture parameter set (type 8).
    Pps,
    /// Access unit delimiter (type 9).
    Aud,
    /// Any other type, with its number.
    Other(u8),
}

impl NalKind {
    /// The kind of a NAL unit from its first byte; `None` for an empty unit.
    pub fn of(nal: &[u8]) -> Option<NalKind> {
        let kind = match nal.first()? & 0x1F {
            1 => NalKind::Slice,
            5 => NalKind::Idr,
            6 => NalKind::Sei,
            7 => NalKind::Sps,
            8 => NalKind::Pps,
            9 => NalKind::Aud,
            other => NalKind::Other(other),
        };
        Some(kind)
    }
}

/// Splits an Annex-B stream at its start codes (`00 00 01` or `00 00 00 01`) into NAL units
/// without the start codes. Bytes before the first start code are not a NAL unit and are skipped;
/// trailing zero bytes of a unit belong to the next start code and are trimmed.
pub fn split_annex_b(stream: &[u8]) -> Vec<&[u8]> {
    let starts = start_codes(stream);
    let mut units = Vec::with_capacity(starts.len());
    for (i, &(_, payload)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(stream.len(), |&(code, _)| code);
        let unit = trim_trailing_zeros(&stream[payload..end]);
        if !unit.is_empty() {
            units.push(unit);
        }
    }
    units
}

/// (offset of the start code, offset of the unit after it) for every `00 00 01`.
fn start_codes(stream: &[u8]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            let code = if i > 0 && stream[i - 1] == 0 { i - 1 } else { i };
            found.push((code, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    found
}

fn trim_trailing_zeros(unit: &[u8]) -> &[u8] {
    let len = unit.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    &unit[..len]
}

/// Joins NAL units into an Annex-B stream with 4-byte start codes.
pub fn to_annex_b<T: AsRef<[u8]>>(units: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(units.iter().map(|u| u.as_ref().len() + 4).sum());
    for unit in units {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(unit.as_ref());
    }
    out
}

/// One coded picture: its NAL units in decoding order, and its capture time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessUnit {
    /// NAL units without start codes.
    pub nals: Vec<Bytes>,
    /// Capture time on the 90 kHz RTP clock, counted from the first frame (each RTP sender adds
    /// its own random offset).
    pub timestamp_90k: u32,
    /// Index of the frame since the encoder started.
    pub frame_index: u64,
}

impl AccessUnit {
    /// Whether the picture is an IDR picture (it can be decoded without earlier pictures).
    pub fn is_idr(&self) -> bool {
        self.nals.iter().any(|n| NalKind::of(n) == Some(NalKind::Idr))
    }

    /// Whether an SPS and a PPS come before the first IDR slice: a decoder joining here can start.
    pub fn starts_with_parameter_sets(&self) -> bool {
        let kinds: Vec<_> = self.nals.iter().filter_map(|n| NalKind::of(n)).collect();
        let Some(idr) = kinds.iter().position(|&k| k == NalKind::Idr) else {
            return false;
        };
        kinds[..idr].contains(&NalKind::Sps) && kinds[..idr].contains(&NalKind::Pps)
    }

    /// The first NAL unit of a kind.
    pub fn find(&self, kind: NalKind) -> Option<&Bytes> {
        self.nals.iter().find(|n| NalKind::of(n) == Some(kind))
    }

    /// The access unit as an Annex-B byte stream.
    pub fn to_annex_b(&self) -> Vec<u8> {
        to_annex_b(&self.nals)
    }
}

/// The SDP `sprop-parameter-sets` value: base64 of the SPS, a comma, base64 of the PPS
/// (RFC 6184 §8.1).
pub fn sprop_parameter_sets(sps: &[u8], pps: &[u8]) -> String {
    format!("{},{}", base64(sps), base64(pps))
}

/// The SDP `profile-level-id` value: the three bytes after the SPS header, in hex
/// (profile_idc, constraint flags, level_idc; RFC 6184 §8.1). `None` if the SPS is too short.
pub fn profile_level_id(sps: &[u8]) -> Option<String> {
    let bytes = sps.get(1..4)?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3F) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let stream = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 0];
        let units = split_annex_b(&stream);
        assert_eq!(units, vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]);
        let kinds: Vec<_> = units.iter().map(|u| NalKind::of(u).unwrap()).collect();
        assert_eq!(kinds, [NalKind::Sps, NalKind::Pps, NalKind::Idr]);
        assert_eq!(split_annex_b(&to_annex_b(&units)), units);
    }

    #[test]
    fn garbage_and_empty_input_give_no_units() {
        assert!(split_annex_b(&[]).is_empty());
        assert!(split_annex_b(&[1, 2, 3, 0, 0]).is_empty());
        assert!(split_annex_b(&[0, 0, 1, 0, 0, 1]).is_empty());
        assert_eq!(NalKind::of(&[]), None);
        assert_eq!(NalKind::of(&[0x7C]), Some(NalKind::Other(28)));
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn sdp_values_from_parameter_sets() {
        let sps = [0x67, 0x42, 0xC0, 0x1E, 0x8C];
        let pps = [0x68, 0xCE, 0x3C, 0x80];
        assert_eq!(sprop_parameter_sets(&sps, &pps), "Z0LAHow=,aM48gA==");
        assert_eq!(profile_level_id(&sps).as_deref(), Some("42c01e"));
        assert_eq!(profile_level_id(&[0x67, 0x42]), None);
    }

    #[test]
    fn parameter_sets_must_precede_the_idr() {
        let unit = |nals: &[&'static [u8]]| AccessUnit {
            nals: nals.iter().map(|n| Bytes::from_static(n)).collect(),
            timestamp_90k: 0,
            frame_index: 0,
        };
        assert!(unit(&[&[0x67], &[0x68], &[0x65]]).starts_with_parameter_sets());
        assert!(!unit(&[&[0x65], &[0x67], &[0x68]]).starts_with_parameter_sets());
        assert!(!unit(&[&[0x67], &[0x68], &[0x41]]).starts_with_parameter_sets());
        assert!(unit(&[&[0x65]]).is_idr());
    }
}
