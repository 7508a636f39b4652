//! Audio fan-out: one 20 ms microphone frame at 48 kHz, encoded once per codec in use (Opus at
//! 48 kHz, G.711 after decimation to 8 kHz) and sent to every destination in its codec.

use super::{DestinationId, FanoutError, Outgoing};
use crate::g711::Law;
use crate::opus::{OPUS_FRAME_SAMPLES, OpusConfig, OpusEncoder};
use crate::rtp_session::RtpSender;
use bytes::Bytes;
use std::collections::BTreeMap;

/// Samples of 48 kHz audio per 8 kHz sample.
const DECIMATION: usize = 6;

/// The audio codecs of the station's SDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AudioCodec {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// Opus, 48 kHz mono.
    Opus,
}

impl AudioCodec {
    /// RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            AudioCodec::Pcmu | AudioCodec::Pcma => crate::g711::G711_RATE,
            AudioCodec::Opus => crate::opus::OPUS_CLOCK,
        }
    }

    /// RTP timestamp units per 20 ms frame.
    pub fn frame_ticks(self) -> u32 {
        self.clock_rate() / 50
    }
}

#[derive(Debug)]
struct AudioDestination {
    codec: AudioCodec,
    sender: RtpSender,
    frames: u32,
}

/// Sends the microphone to many destinations, each in its own codec.
#[derive(Debug)]
pub struct AudioFanout {
    opus_config: OpusConfig,
    opus: Option<OpusEncoder>,
    destinations: BTreeMap<DestinationId, AudioDestination>,
}

impl AudioFanout {
    /// A fan-out with no destinations; an Opus encoder with `opus_config` is made when the first
    /// Opus destination is added.
    pub fn new(opus_config: OpusConfig) -> Self {
        AudioFanout { opus_config, opus: None, destinations: BTreeMap::new() }
    }

    /// Adds (or replaces) a destination; it gets audio from the next frame on, the first packet
    /// with the marker bit (start of a talkspurt, RFC 3551 §4.1).
    pub fn add_destination(&mut self, id: DestinationId, codec: AudioCodec, sender: RtpSender) -> Result<(), FanoutError> {
        if codec == AudioCodec::Opus && self.opus.is_none() {
            self.opus = Some(OpusEncoder::new(self.opus_config)?);
        }
        self.destinations.insert(id, AudioDestination { codec, sender, frames: 0 });
        Ok(())
    }

    /// Stops sending to a destination; returns its sender, if it existed.
    pub fn remove_destination(&mut self, id: DestinationId) -> Option<RtpSender> {
        self.destinations.remove(&id).map(|d| d.sender)
    }

    /// Changes the expected loss the Opus encoder plans its FEC for.
    pub fn set_packet_loss_percent(&mut self, percent: u8) -> Result<(), FanoutError> {
        self.opus_config.packet_loss_percent = percent;
        match self.opus.as_mut() {
            Some(enc) => Ok(enc.set_packet_loss_percent(percent)?),
            None => Ok(()),
        }
    }

    /// Encodes one 20 ms frame of 48 kHz mono PCM and addresses a packet to every destination.
    pub fn send_frame(&mut self, pcm: &[i16]) -> Result<Outgoing, FanoutError> {
        if pcm.len() != OPUS_FRAME_SAMPLES {
            return Err(FanoutError::FrameSize { expected: OPUS_FRAME_SAMPLES, got: pcm.len() });
        }
        let payloads = self.encode(pcm)?;
        let mut out = Vec::with_capacity(self.destinations.len());
        for (&dest, d) in &mut self.destinations {
            let Some(payload) = payloads.get(&d.codec) else { continue };
            let media_time = d.frames.wrapping_mul(d.codec.frame_ticks());
            let bytes = d.sender.send(media_time, d.frames == 0, payload.clone());
            d.frames = d.frames.wrapping_add(1);
            out.push((dest, bytes.map_err(|source| FanoutError::Rtp { dest, source })?));
        }
        Ok(out)
    }

    /// One payload per codec in use.
    fn encode(&mut self, pcm: &[i16]) -> Result<BTreeMap<AudioCodec, Bytes>, FanoutError> {
        let mut payloads = BTreeMap::new();
        let in_use: Vec<AudioCodec> = self.destinations.values().map(|d| d.codec).collect();
        let narrow = in_use.iter().any(|&c| c != AudioCodec::Opus).then(|| decimate(pcm));
        for codec in in_use {
            if payloads.contains_key(&codec) {
                continue;
            }
            let payload = match (codec, &narrow, self.opus.as_mut()) {
                (AudioCodec::Pcmu, Some(n), _) => Law::Ulaw.encode(n),
                (AudioCodec::Pcma, Some(n), _) => Law::Alaw.encode(n),
                (AudioCodec::Opus, _, Some(enc)) => enc.encode(pcm)?,
                _ => continue,
            };
            payloads.insert(codec, Bytes::from(payload));
        }
        Ok(payloads)
    }
}

/// 48 kHz to 8 kHz by averaging each group of six samples (a crude low-pass, enough for voice
/// and the test tone).
fn decimate(pcm: &[i16]) -> Vec<i16> {
    pcm.chunks(DECIMATION)
        .map(|c| (c.iter().map(|&s| i32::from(s)).sum::<i32>() / c.len() as i32) as i16)
        .collect()
}
