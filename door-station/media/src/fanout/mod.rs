//! One encoded stream, many destinations: the station's early media goes to every ringing phone
//! that answered 183 (behind a proxy that does not relay media), each with its own SSRC, payload
//! type and sequence numbers.
//!
//! A video destination added mid-stream gets nothing until the next IDR access unit that starts
//! with SPS and PPS, so its first packet starts a decodable picture; adding it asks the encoder
//! for such a key frame. Audio destinations ([`AudioFanout`]) start at the next frame.

mod audio;

pub use audio::{AudioCodec, AudioFanout};

use crate::h264::AccessUnit;
use crate::packetize::H264Packetizer;
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
    started: bool,
}

/// Sends one H.264 stream to many RTP destinations.
#[derive(Debug)]
pub struct VideoFanout {
    packetizer: H264Packetizer,
    destinations: BTreeMap<DestinationId, VideoDestination>,
}

impl VideoFanout {
    /// A fan-out with no destinations.
    pub fn new(packetizer: H264Packetizer) -> Self {
        VideoFanout { packetizer, destinations: BTreeMap::new() }
    }

    /// Adds (or restarts) a destination. It receives nothing until the next IDR access unit.
    /// Returns `true`: the caller should ask the encoder for a key frame now.
    #[must_use = "the new destination waits for a key frame: ask the encoder for one"]
    pub fn add_destination(&mut self, id: DestinationId, sender: RtpSender) -> bool {
        self.destinations.insert(id, VideoDestination { sender, started: false });
        true
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
        let payloads = self.packetizer.packetize(unit);
        let joinable = unit.starts_with_parameter_sets();
        let mut out = Vec::with_capacity(payloads.len() * self.destinations.len());
        for (&dest, d) in &mut self.destinations {
            d.started |= joinable;
            if !d.started {
                continue;
            }
            for p in &payloads {
                let bytes = d.sender.send(unit.timestamp_90k, p.marker, p.payload.clone());
                out.push((dest, bytes.map_err(|source| FanoutError::Rtp { dest, source })?));
            }
        }
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
        assert!(fanout.add_destination(DestinationId(1), sender(1, 96)));
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
        let _ = fanout.add_destination(DestinationId(1), sender(11, 96));
        fanout.send(&unit(0, &[SPS, PPS, IDR])).unwrap();
        let _ = fanout.add_destination(DestinationId(2), sender(22, 102));
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
}
