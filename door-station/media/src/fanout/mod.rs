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
