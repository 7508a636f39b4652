//! Reassembles H.264 access units from RTP packets: single NAL units, STAP-A and FU-A.
//!
//! Push packets in arrival order with [`H264Depacketizer::push`], then take finished units with
//! [`H264Depacketizer::pop_unit`]. A unit ends at its marker bit or when the timestamp changes.
//! A sequence gap marks the unit being built as incomplete and drops a half-built fragment.

use super::{FU_A, STAP_A};
use bytes::Bytes;
use rtp::packet::Packet;
use std::collections::VecDeque;

/// What was wrong with one packet; the depacketizer stays usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DepacketizeError {
    /// The RTP payload is empty.
    #[error("empty H.264 RTP payload (seq {seq})")]
    Empty {
        /// Sequence number of the packet.
        seq: u16,
    },
    /// A packet type packetization-mode=1 does not allow (STAP-B, MTAP, FU-B) or reserved.
    #[error("NAL unit type {nal_type} is not allowed in packetization-mode=1 (seq {seq})")]
    Unsupported {
        /// The type in the payload header.
        nal_type: u8,
        /// Sequence number of the packet.
        seq: u16,
    },
    /// A STAP-A length field points past the end of the packet.
    #[error("STAP-A unit at byte {offset} runs past the payload end (seq {seq})")]
    StapTruncated {
        /// Where the bad length field is.
        offset: usize,
        /// Sequence number of the packet.
        seq: u16,
    },
    /// An FU-A shorter than its two header bytes, or a fragment with both start and end bits.
    #[error("malformed FU-A (seq {seq})")]
    FuMalformed {
        /// Sequence number of the packet.
        seq: u16,
    },
    /// A middle or end fragment whose start was lost.
    #[error("FU-A fragment without its start (seq {seq})")]
    FuWithoutStart {
        /// Sequence number of the packet.
        seq: u16,
    },
}

/// One reassembled access unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedUnit {
    /// RTP timestamp shared by the unit's packets.
    pub timestamp: u32,
    /// NAL units without start codes.
    pub nals: Vec<Bytes>,
    /// False if a packet of the unit (or just before it) was lost.
    pub complete: bool,
}

impl ReceivedUnit {
    /// The unit as an Annex-B byte stream, ready for a decoder.
    pub fn to_annex_b(&self) -> Vec<u8> {
        crate::h264::to_annex_b(&self.nals)
    }
}

#[derive(Debug)]
struct Building {
    timestamp: u32,
    nals: Vec<Bytes>,
    complete: bool,
}

/// The receiving side of RFC 6184 packetization-mode=1.
#[derive(Debug, Default)]
pub struct H264Depacketizer {
    building: Option<Building>,
    fragment: Option<Vec<u8>>,
    last_seq: Option<u16>,
    ready: VecDeque<ReceivedUnit>,
}

impl H264Depacketizer {
    /// An empty depacketizer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one RTP packet. Finished units are then available from [`Self::pop_unit`].
    pub fn push(&mut self, packet: &Packet) -> Result<(), DepacketizeError> {
        let header = &packet.header;
        let lost = self.last_seq.is_some_and(|last| header.sequence_number != last.wrapping_add(1));
        self.last_seq = Some(header.sequence_number);
        if self.building.as_ref().is_some_and(|b| b.timestamp != header.timestamp) {
            self.finish();
        }
        let building = self.building.get_or_insert_with(|| Building {
            timestamp: header.timestamp,
            nals: Vec::new(),
            complete: !lost,
        });
        if lost {
            building.complete = false;
            self.fragment = None;
        }
        let result = self.read_payload(header.sequence_number, &packet.payload);
        if result.is_err() {
            self.mark_incomplete();
        }
        if header.marker {
            self.finish();
        }
        result
    }

    /// The next finished access unit, oldest first.
    pub fn pop_unit(&mut self) -> Option<ReceivedUnit> {
        self.ready.pop_front()
    }

    fn mark_incomplete(&mut self) {
        if let Some(b) = self.building.as_mut() {
            b.complete = false;
        }
    }

    fn finish(&mut self) {
        if self.fragment.take().is_some() {
            self.mark_incomplete();
        }
        if let Some(b) = self.building.take() {
            self.ready.push_back(ReceivedUnit { timestamp: b.timestamp, nals: b.nals, complete: b.complete });
        }
    }

    fn emit(&mut self, nal: Bytes) {
        if let Some(b) = self.building.as_mut() {
            b.nals.push(nal);
        }
    }

    fn read_payload(&mut self, seq: u16, payload: &Bytes) -> Result<(), DepacketizeError> {
        let Some(&first) = payload.first() else {
            return Err(DepacketizeError::Empty { seq });
        };
        match first & 0x1F {
            1..=23 => {
                self.emit(payload.clone());
                Ok(())
            }
            STAP_A => self.read_stap_a(seq, payload),
            FU_A => self.read_fu_a(seq, payload),
            nal_type => Err(DepacketizeError::Unsupported { nal_type, seq }),
        }
    }

    fn read_stap_a(&mut self, seq: u16, payload: &Bytes) -> Result<(), DepacketizeError> {
        let mut offset = 1;
        while offset < payload.len() {
            let Some(len_bytes) = payload.get(offset..offset + 2) else {
                return Err(DepacketizeError::StapTruncated { offset, seq });
            };
            let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
            let start = offset + 2;
            if len == 0 || start + len > payload.len() {
                return Err(DepacketizeError::StapTruncated { offset, seq });
            }
            self.emit(payload.slice(start..start + len));
            offset = start + len;
        }
        Ok(())
    }

    fn read_fu_a(&mut self, seq: u16, payload: &Bytes) -> Result<(), DepacketizeError> {
        let (Some(&indicator), Some(&fu)) = (payload.first(), payload.get(1)) else {
            return Err(DepacketizeError::FuMalformed { seq });
        };
        let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
        if start && end {
            return Err(DepacketizeError::FuMalformed { seq });
        }
        if start {
            let mut nal = Vec::with_capacity(payload.len() * 4);
            nal.push((indicator & 0xE0) | (fu & 0x1F));
            nal.extend_from_slice(&payload[2..]);
            self.fragment = Some(nal);
            return Ok(());
        }
        let Some(nal) = self.fragment.as_mut() else {
            return Err(DepacketizeError::FuWithoutStart { seq });
        };
        nal.extend_from_slice(&payload[2..]);
        if end {
            let nal = self.fragment.take().unwrap_or_default();
            self.emit(Bytes::from(nal));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::AccessUnit;
    use crate::packetize::H264Packetizer;
    use rtp::header::Header;

    fn packet(seq: u16, timestamp: u32, marker: bool, payload: &[u8]) -> Packet {
        let header = Header { version: 2, sequence_number: seq, timestamp, marker, ..Header::default() };
        Packet { header, payload: Bytes::copy_from_slice(payload) }
    }

    fn big_idr() -> Vec<u8> {
        let mut idr = vec![0x65];
        idr.extend((0..3000u32).map(|i| (i % 251) as u8 + 1));
        idr
    }

    #[test]
    fn packetized_unit_comes_back_whole() {
        let nals = vec![Bytes::from_static(&[0x67, 1]), Bytes::from_static(&[0x68, 2]), Bytes::from(big_idr())];
        let au = AccessUnit { nals: nals.clone(), timestamp_90k: 0, frame_index: 0 };
        let mut depack = H264Depacketizer::new();
        for (i, p) in H264Packetizer::new(1200).unwrap().packetize(&au).iter().enumerate() {
            depack.push(&packet(i as u16, 3000, p.marker, &p.payload)).unwrap();
        }
        let unit = depack.pop_unit().unwrap();
        assert_eq!(unit, ReceivedUnit { timestamp: 3000, nals, complete: true });
        assert_eq!(depack.pop_unit(), None);
    }

    #[test]
    fn stap_a_is_split_into_its_units() {
        let stap = [STAP_A | 0x60, 0, 2, 0x67, 1, 0, 3, 0x68, 2, 3];
        let mut depack = H264Depacketizer::new();
        depack.push(&packet(1, 0, false, &stap)).unwrap();
        depack.push(&packet(2, 0, true, &[0x65, 9])).unwrap();
        let unit = depack.pop_unit().unwrap();
        assert_eq!(unit.nals, [&[0x67, 1][..], &[0x68, 2, 3], &[0x65, 9]]);
        let bad = [STAP_A, 0, 9, 0x67];
        assert_eq!(depack.push(&packet(3, 1, true, &bad)), Err(DepacketizeError::StapTruncated { offset: 1, seq: 3 }));
        assert!(!depack.pop_unit().unwrap().complete);
    }

    #[test]
    fn a_lost_fragment_makes_the_unit_incomplete() {
        let au = AccessUnit { nals: vec![Bytes::from(big_idr())], timestamp_90k: 0, frame_index: 0 };
        let payloads = H264Packetizer::new(1200).unwrap().packetize(&au);
        let mut depack = H264Depacketizer::new();
        depack.push(&packet(10, 0, false, &payloads[0].payload)).unwrap();
        // payloads[1] lost
        depack.push(&packet(12, 0, true, &payloads[2].payload)).unwrap_err();
        let unit = depack.pop_unit().unwrap();
        assert!(!unit.complete);
        assert!(unit.nals.is_empty());
    }

    #[test]
    fn timestamp_change_ends_a_unit_whose_marker_was_lost() {
        let mut depack = H264Depacketizer::new();
        depack.push(&packet(1, 0, false, &[0x41, 1])).unwrap();
        depack.push(&packet(2, 6000, true, &[0x41, 2])).unwrap();
        assert_eq!(depack.pop_unit().unwrap().timestamp, 0);
        assert_eq!(depack.pop_unit().unwrap().timestamp, 6000);
    }

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        let mut depack = H264Depacketizer::new();
        assert_eq!(depack.push(&packet(1, 0, false, &[])), Err(DepacketizeError::Empty { seq: 1 }));
        assert_eq!(
            depack.push(&packet(2, 0, false, &[25, 0])),
            Err(DepacketizeError::Unsupported { nal_type: 25, seq: 2 })
        );
        assert_eq!(depack.push(&packet(3, 0, false, &[FU_A])), Err(DepacketizeError::FuMalformed { seq: 3 }));
        assert_eq!(depack.push(&packet(4, 0, false, &[FU_A, 0xC5, 1])), Err(DepacketizeError::FuMalformed { seq: 4 }));
        assert_eq!(
            depack.push(&packet(5, 0, true, &[FU_A, 0x45, 1])),
            Err(DepacketizeError::FuWithoutStart { seq: 5 })
        );
        assert!(!depack.pop_unit().unwrap().complete);
    }
}
