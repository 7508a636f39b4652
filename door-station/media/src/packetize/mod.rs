//! RFC 6184 for H.264: packetization-mode 1 (single NAL unit packets and FU-A fragments, §5.6,
//! §5.8) and mode 0 (single NAL unit packets only, §6.2), the marker bit on the last packet of an
//! access unit (§5.1), and a depacketizer that also understands STAP-A (§5.7.1).
//!
//! A mode-0 receiver cannot take a NAL unit larger than one packet, so the station's encoders cut
//! slices to fit ([`crate::h264::MAX_NAL_BYTES`]); one that still does not fit is left out for
//! such a receiver (counted in [`Packetized::oversized`]), never sent as FU-A.
//!
//! The packetizer makes payloads only; [`crate::rtp_session::RtpSender`] puts the RTP header
//! around them, so one packetized access unit can go to many destinations.

mod depacketize;

pub use depacketize::{DepacketizeError, H264Depacketizer, ReceivedUnit};

use crate::h264::AccessUnit;
use bytes::{BufMut, Bytes, BytesMut};

/// Default largest RTP payload: with the 12-byte RTP header, a 10-byte SRTP tag (RFC 3711
/// AES_CM_128_HMAC_SHA1_80) and IPv6/UDP headers a packet is 1270 bytes, within the 1280 bytes
/// every IPv6 link carries, and leaves room for a VPN on a 1500-byte link.
pub const DEFAULT_MAX_PAYLOAD: usize = 1200;
/// The smallest payload size the packetizer accepts.
pub const MIN_MAX_PAYLOAD: usize = 16;

/// NAL unit type of a STAP-A aggregation packet (RFC 6184 table 1).
pub const STAP_A: u8 = 24;
/// NAL unit type of an FU-A fragment (RFC 6184 table 1).
pub const FU_A: u8 = 28;

/// Errors of the packetizer's configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketizeError {
    /// The payload size is too small to carry FU-A fragments usefully.
    #[error("maximum RTP payload {got} is below the minimum of {min} bytes")]
    PayloadTooSmall {
        /// The size given.
        got: usize,
        /// [`MIN_MAX_PAYLOAD`].
        min: usize,
    },
}

/// One RTP payload and whether it ends its access unit (the RTP marker bit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpPayload {
    /// The RTP payload: a whole NAL unit or an FU-A fragment.
    pub payload: Bytes,
    /// Set on the last packet of the access unit.
    pub marker: bool,
}

/// How a receiver takes H.264 (RFC 6184 §6, the fmtp `packetization-mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PacketizationMode {
    /// Mode 0: one whole NAL unit per packet.
    SingleNal,
    /// Mode 1: single NAL units, FU-A fragments and STAP-A, in decoding order.
    #[default]
    NonInterleaved,
}

/// The payloads of one access unit for one packetization mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packetized {
    /// In sending order; the last one has the marker set.
    pub payloads: Vec<RtpPayload>,
    /// NAL units left out because they do not fit one packet (mode 0 only).
    pub oversized: usize,
}

/// Splits access units into RTP payloads no larger than `max_payload` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct H264Packetizer {
    max_payload: usize,
}

impl H264Packetizer {
    /// A packetizer whose payloads are at most `max_payload` bytes.
    pub fn new(max_payload: usize) -> Result<Self, PacketizeError> {
        if max_payload < MIN_MAX_PAYLOAD {
            return Err(PacketizeError::PayloadTooSmall { got: max_payload, min: MIN_MAX_PAYLOAD });
        }
        Ok(H264Packetizer { max_payload })
    }

    /// The largest payload this packetizer makes.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// The packetization-mode 1 payloads of one access unit, in order; the last one has the
    /// marker set.
    pub fn packetize(&self, unit: &AccessUnit) -> Vec<RtpPayload> {
        self.packetize_as(unit, PacketizationMode::NonInterleaved).payloads
    }

    /// The payloads of one access unit for a receiver in `mode`. In mode 0 a NAL unit larger than
    /// the payload size is left out and counted; the marker then goes on the last one sent.
    pub fn packetize_as(&self, unit: &AccessUnit, mode: PacketizationMode) -> Packetized {
        let mut payloads = Vec::new();
        let mut oversized = 0;
        for nal in unit.nals.iter().filter(|n| !n.is_empty()) {
            if nal.len() <= self.max_payload {
                payloads.push(nal.clone());
            } else if mode == PacketizationMode::SingleNal {
                oversized += 1;
            } else {
                self.fragment(nal, &mut payloads);
            }
        }
        let last = payloads.len().saturating_sub(1);
        let payloads =
            payloads.into_iter().enumerate().map(|(i, payload)| RtpPayload { payload, marker: i == last }).collect();
        Packetized { payloads, oversized }
    }

    /// FU-A: the indicator keeps F and NRI of the NAL header with type 28; the FU header carries
    /// start/end bits and the original type; the NAL header byte itself is not repeated.
    fn fragment(&self, nal: &Bytes, out: &mut Vec<Bytes>) {
        let header = nal[0];
        let indicator = (header & 0xE0) | FU_A;
        let body = &nal[1..];
        let chunk = self.max_payload - 2;
        let count = body.len().div_ceil(chunk);
        for (i, piece) in body.chunks(chunk).enumerate() {
            let start = if i == 0 { 0x80 } else { 0 };
            let end = if i + 1 == count { 0x40 } else { 0 };
            let mut fu = BytesMut::with_capacity(piece.len() + 2);
            fu.put_u8(indicator);
            fu.put_u8(start | end | (header & 0x1F));
            fu.put_slice(piece);
            out.push(fu.freeze());
        }
    }
}

impl Default for H264Packetizer {
    fn default() -> Self {
        H264Packetizer { max_payload: DEFAULT_MAX_PAYLOAD }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(nals: Vec<Vec<u8>>) -> AccessUnit {
        AccessUnit { nals: nals.into_iter().map(Bytes::from).collect(), timestamp_90k: 0, frame_index: 0 }
    }

    #[test]
    fn small_nal_units_go_whole_and_only_the_last_is_marked() {
        let au = unit(vec![vec![0x67, 1, 2], vec![0x68, 3], vec![0x65, 4, 5, 6]]);
        let out = H264Packetizer::new(100).unwrap().packetize(&au);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].payload.as_ref(), &[0x67, 1, 2]);
        assert_eq!(out.iter().map(|p| p.marker).collect::<Vec<_>>(), [false, false, true]);
    }

    #[test]
    fn large_nal_unit_is_cut_into_fu_a_fragments() {
        let mut idr = vec![0x65];
        idr.extend((0..250u32).map(|i| i as u8));
        let out = H264Packetizer::new(100).unwrap().packetize(&unit(vec![idr.clone()]));
        // 250 body bytes in pieces of 98: 98 + 98 + 54.
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|p| p.payload.len() <= 100));
        assert_eq!(out[0].payload[..2], [0x60 | FU_A, 0x80 | 5]);
        assert_eq!(out[1].payload[..2], [0x60 | FU_A, 5]);
        assert_eq!(out[2].payload[..2], [0x60 | FU_A, 0x40 | 5]);
        let body: Vec<u8> = out.iter().flat_map(|p| p.payload[2..].to_vec()).collect();
        assert_eq!(body, idr[1..]);
        assert!(out[2].marker && !out[0].marker && !out[1].marker);
    }

    #[test]
    fn a_nal_unit_of_exactly_the_payload_size_is_not_fragmented() {
        let out = H264Packetizer::new(16).unwrap().packetize(&unit(vec![vec![0x41; 16], vec![]]));
        assert_eq!(out.len(), 1);
        assert!(out[0].marker);
        assert_eq!(H264Packetizer::new(15), Err(PacketizeError::PayloadTooSmall { got: 15, min: 16 }));
    }

    #[test]
    fn mode_0_sends_whole_nal_units_and_leaves_out_larger_ones() {
        let mut idr = vec![0x65];
        idr.extend((0..250u32).map(|i| i as u8));
        let au = unit(vec![vec![0x67, 1], vec![0x68, 2], vec![0x65; 100], idr]);
        let out = H264Packetizer::new(100).unwrap().packetize_as(&au, PacketizationMode::SingleNal);
        assert_eq!(out.oversized, 1);
        let types: Vec<u8> = out.payloads.iter().map(|p| p.payload[0] & 0x1F).collect();
        assert_eq!(types, [7, 8, 5], "no FU-A (28) in mode 0");
        assert_eq!(out.payloads[2].payload.len(), 100);
        assert_eq!(out.payloads.iter().map(|p| p.marker).collect::<Vec<_>>(), [false, false, true]);
        let mode_1 = H264Packetizer::new(100).unwrap().packetize_as(&au, PacketizationMode::NonInterleaved);
        assert_eq!((mode_1.payloads.len(), mode_1.oversized), (6, 0));
    }
}
