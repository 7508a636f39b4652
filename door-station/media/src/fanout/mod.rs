//! One encoded stream, many destinations: the station's early media goes to every ringing phone
//! that answered 183 (behind a proxy that does not relay media), each with its own SSRC, payload
//! type and sequence numbers.
//!
//! A video destination added mid-stream gets nothing until the next IDR access unit that starts
//! with SPS and PPS, so its first packet starts a decodable picture; adding it asks the encoder
//! for such a key frame. Audio destinations ([`AudioFanout`]) start at the next frame.
//!
//! Each video destination has its packetization mode. The encoders cut slices to fit one packet,
//! so both modes get the same single NAL unit packets; a NAL unit that still does not fit goes as
//! FU-A in mode 1 and is left out in mode 0 ([`VideoFanout::take_oversized`] tells the caller to
//! ask for a key frame, which repairs the picture).

mod audio;

pub use audio::{AudioCodec, AudioFanout};

use crate::h264::AccessUnit;
use crate::packetize::{H264Packetizer, PacketizationMode, Packetized};
use crate::rtp_session::{RtpError, RtpSender};
use bytes::Bytes;
use std::collections::BTreeMap;

/// Names a destination; the caller chooses it (e.g. per early dialog).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestinationId(pub u64);

/// Packets to send: (destination, RTP packet bytes), in sending order.
pub type Outgoing = Vec<(DestinationId, Bytes)>;

/// What went wrong while fanning out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FanoutError {
    /// An RTP packet for a destination could not be built.
    #[error("RTP packet for destination {dest:?}: {source}")]
    Rtp {
        /// The destination.
        dest: DestinationId,
        /// The cause.
        #[source]
        source: RtpError,
    },
    /// The audio encoder failed.
    #[error("audio encoding failed: {0}")]
    Opus(#[from] crate::opus::OpusError),
    /// An audio frame was not 20 ms at 48 kHz.
    #[error("audio frame must have {expected} samples at 48 kHz, got {got}")]
    FrameSize {
        /// 960.
        expected: usize,
        /// Samples given.
        got: usize,
    },
}

#[derive(Debug)]
struct VideoDestination {
    sender: RtpSender,
    mode: PacketizationMode,
    started: bool,
    oversized: u64,
}

/// Sends one H.264 stream to many RTP destinations.
#[derive(Debug)]
pub struct VideoFanout {
    packetizer: H264Packetizer,
    destinations: BTreeMap<DestinationId, VideoDestination>,
    /// NAL units left out for mode-0 destinations since [`VideoFanout::take_oversized`].
    oversized: usize,
}

impl VideoFanout {
    /// A fan-out with no destinations.
    pub fn new(packetizer: H264Packetizer) -> Self {
        VideoFanout { packetizer, destinations: BTreeMap::new(), oversized: 0 }
    }

    /// Adds (or restarts) a destination that takes `mode`. It receives nothing until the next
    /// IDR access unit. Returns `true`: the caller should ask the encoder for a key frame now.
    #[must_use = "the new destination waits for a key frame: ask the encoder for one"]
    pub fn add_destination(&mut self, id: DestinationId, sender: RtpSender, mode: PacketizationMode) -> bool {
        self.destinations.insert(id, VideoDestination { sender, mode, started: false, oversized: 0 });
        true
    }

    /// How many NAL units were too large for one packet and so left out for mode-0 destinations
    /// since the last call, counted once per access unit. Non-zero: log it and ask the encoder
    /// for a key frame, as those receivers now miss part of a picture.
    pub fn take_oversized(&mut self) -> usize {
        std::mem::take(&mut self.oversized)
    }

    /// How many NAL units destination `id` did not get because they did not fit one packet.
    pub fn oversized_for(&self, id: DestinationId) -> u64 {
        self.destinations.get(&id).map_or(0, |d| d.oversized)
    }

    /// Stops sending to a destination; returns its sender (for final RTCP), if it existed.
    pub fn remove_destination(&mut self, id: DestinationId) -> Option<RtpSender> {
        self.destinations.remove(&id).map(|d| d.sender)
    }

    /// Whether some destination is still waiting for its first key frame (if a requested key
    /// frame never came, ask again).
    pub fn awaiting_keyframe(&self) -> bool {
        self.destinations.values().any(|d| !d.started)
    }

    /// The RTP sender of `id` (its SSRC and counters, for RTCP reports).
    pub fn sender_of(&self, id: DestinationId) -> Option<&RtpSender> {
        self.destinations.get(&id).map(|d| &d.sender)
    }

    /// Whether `id` is receiving packets (it has had its key frame).
    pub fn is_sending(&self, id: DestinationId) -> bool {
        self.destinations.get(&id).is_some_and(|d| d.started)
    }

    /// The destinations, in id order.
    pub fn destinations(&self) -> impl Iterator<Item = DestinationId> + '_ {
        self.destinations.keys().copied()
    }

    /// Packetizes one access unit once and addresses its packets to every destination that is
    /// sending, or that starts with this unit.
    pub fn send(&mut self, unit: &AccessUnit) -> Result<Outgoing, FanoutError> {
        if self.destinations.is_empty() {
            return Ok(Vec::new());
        }
        let joinable = unit.starts_with_parameter_sets();
        let mut packetized: [Option<Packetized>; 2] = [None, None];
        let mut out = Vec::new();
        for (&dest, d) in &mut self.destinations {
            d.started |= joinable;
            if !d.started {
                continue;
            }
            let slot = &mut packetized[usize::from(d.mode == PacketizationMode::SingleNal)];
            let packets = slot.get_or_insert_with(|| self.packetizer.packetize_as(unit, d.mode));
            d.oversized += packets.oversized as u64;
            for p in &packets.payloads {
                let bytes = d.sender.send(unit.timestamp_90k, p.marker, p.payload.clone());
                out.push((dest, bytes.map_err(|source| FanoutError::Rtp { dest, source })?));
            }
        }
        self.oversized += packetized[1].as_ref().map_or(0, |p| p.oversized);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp_session::{SenderConfig, parse};

    fn sender(ssrc: u32, payload_type: u8) -> RtpSender {
        RtpSender::new(SenderConfig { ssrc, payload_type, initial_seq: 0, initial_timestamp: 0 }).unwrap()
    }

    fn unit(frame_index: u64, nals: &[&'static [u8]]) -> AccessUnit {
        let nals = nals.iter().map(|n| Bytes::from_static(n)).collect();
        AccessUnit { nals, timestamp_90k: frame_index as u32 * 6000, frame_index }
    }

    fn add(fanout: &mut VideoFanout, id: u64, sender: RtpSender) {
        let _ = fanout.add_destination(DestinationId(id), sender, PacketizationMode::NonInterleaved);
    }

    fn destinations(out: &Outgoing) -> Vec<u64> {
        out.iter().map(|(d, _)| d.0).collect()
    }

    const SPS: &[u8] = &[0x67, 0x42];
    const PPS: &[u8] = &[0x68, 0xCE];
    const IDR: &[u8] = &[0x65, 0x88];
    const P: &[u8] = &[0x41, 0x9A];

    #[test]
    fn a_new_destination_waits_for_an_idr_with_parameter_sets() {
        let mut fanout = VideoFanout::new(H264Packetizer::default());
        assert!(fanout.send(&unit(0, &[SPS, PPS, IDR])).unwrap().is_empty());
        assert!(fanout.add_destination(DestinationId(1), sender(1, 96), PacketizationMode::NonInterleaved));
        assert!(fanout.awaiting_keyframe());
        assert!(fanout.send(&unit(1, &[P])).unwrap().is_empty());
        assert!(fanout.send(&unit(2, &[IDR])).unwrap().is_empty(), "an IDR without SPS/PPS cannot start a decoder");
        let out = fanout.send(&unit(3, &[SPS, PPS, IDR])).unwrap();
        assert_eq!(destinations(&out), [1, 1, 1]);
        assert!(!fanout.awaiting_keyframe());
        assert_eq!(destinations(&fanout.send(&unit(4, &[P])).unwrap()), [1]);
    }

    #[test]
    fn each_destination_has_its_own_ssrc_payload_type_and_sequence() {
        let mut fanout = VideoFanout::new(H264Packetizer::default());
        add(&mut fanout, 1, sender(11, 96));
        fanout.send(&unit(0, &[SPS, PPS, IDR])).unwrap();
        add(&mut fanout, 2, sender(22, 102));
        let out = fanout.send(&unit(1, &[P])).unwrap();
        assert_eq!(destinations(&out), [1]);
        let out = fanout.send(&unit(2, &[SPS, PPS, IDR])).unwrap();
        assert_eq!(destinations(&out), [1, 1, 1, 2, 2, 2]);
        let first = parse(&out[0].1).unwrap().header;
        let joined = parse(&out[3].1).unwrap().header;
        assert_eq!((first.ssrc, first.payload_type, first.sequence_number), (11, 96, 4));
        assert_eq!((joined.ssrc, joined.payload_type, joined.sequence_number), (22, 102, 0));
        assert_eq!(joined.timestamp, 12_000);
        assert!(fanout.remove_destination(DestinationId(1)).is_some());
        assert_eq!(destinations(&fanout.send(&unit(3, &[P])).unwrap()), [2]);
        assert_eq!(fanout.destinations().collect::<Vec<_>>(), [DestinationId(2)]);
    }

    #[test]
    fn a_mode_0_destination_shares_the_stream_but_never_gets_fu_a() {
        let mut fanout = VideoFanout::new(H264Packetizer::new(16).unwrap());
        add(&mut fanout, 1, sender(1, 102));
        let _ = fanout.add_destination(DestinationId(2), sender(2, 103), PacketizationMode::SingleNal);
        const BIG: &[u8] = &[0x41; 20];
        let out = fanout.send(&unit(0, &[SPS, PPS, IDR])).unwrap();
        assert_eq!(destinations(&out), [1, 1, 1, 2, 2, 2], "small NAL units go the same way to both");
        assert_eq!(fanout.take_oversized(), 0);
        let out = fanout.send(&unit(1, &[P, BIG])).unwrap();
        assert_eq!(destinations(&out), [1, 1, 1, 2]);
        let to_mode_0: Vec<_> = out.iter().filter(|(d, _)| d.0 == 2).map(|(_, b)| parse(b).unwrap()).collect();
        assert_eq!(to_mode_0[0].payload.as_ref(), P);
        assert!(to_mode_0[0].header.marker, "the marker moves to the last packet sent");
        assert_eq!((fanout.take_oversized(), fanout.take_oversized()), (1, 0));
        assert_eq!((fanout.oversized_for(DestinationId(1)), fanout.oversized_for(DestinationId(2))), (0, 1));
    }
}
