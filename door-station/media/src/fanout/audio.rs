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
    /// Microphone frame index of the first and of the latest frame sent.
    first: Option<u64>,
    last: Option<u64>,
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
    pub fn add_destination(
        &mut self,
        id: DestinationId,
        codec: AudioCodec,
        sender: RtpSender,
    ) -> Result<(), FanoutError> {
        if codec == AudioCodec::Opus && self.opus.is_none() {
            self.opus = Some(OpusEncoder::new(self.opus_config)?);
        }
        self.destinations.insert(id, AudioDestination { codec, sender, first: None, last: None });
        Ok(())
    }

    /// Stops sending to a destination; returns its sender, if it existed.
    pub fn remove_destination(&mut self, id: DestinationId) -> Option<RtpSender> {
        self.destinations.remove(&id).map(|d| d.sender)
    }

    /// The RTP sender of `id` (its SSRC and counters, for RTCP reports).
    pub fn sender_of(&self, id: DestinationId) -> Option<&RtpSender> {
        self.destinations.get(&id).map(|d| &d.sender)
    }

    /// Changes the expected loss the Opus encoder plans its FEC for.
    pub fn set_packet_loss_percent(&mut self, percent: u8) -> Result<(), FanoutError> {
        if percent > 100 {
            return Err(crate::opus::OpusError::PacketLoss { percent }.into());
        }
        self.opus_config.packet_loss_percent = percent;
        match self.opus.as_mut() {
            Some(enc) => Ok(enc.set_packet_loss_percent(percent)?),
            None => Ok(()),
        }
    }

    /// Encodes microphone frame `index` (20 ms of 48 kHz mono PCM) and addresses a packet to every
    /// destination. RTP timestamps follow the index, so frames the microphone dropped leave a gap;
    /// the first packet after a gap, like the very first, has the marker bit (RFC 3551 §4.1).
    pub fn send_frame(&mut self, index: u64, pcm: &[i16]) -> Result<Outgoing, FanoutError> {
        if pcm.len() != OPUS_FRAME_SAMPLES {
            return Err(FanoutError::FrameSize { expected: OPUS_FRAME_SAMPLES, got: pcm.len() });
        }
        let payloads = self.encode(pcm)?;
        let mut out = Vec::with_capacity(self.destinations.len());
        for (&dest, d) in &mut self.destinations {
            let Some(payload) = payloads.get(&d.codec) else {
                continue;
            };
            let first = *d.first.get_or_insert(index);
            let frames = index.saturating_sub(first) as u32;
            let marker = d.last.is_none_or(|last| index != last.wrapping_add(1));
            d.last = Some(index);
            let media_time = frames.wrapping_mul(d.codec.frame_ticks());
            let bytes = d.sender.send(media_time, marker, payload.clone());
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
    pcm.chunks(DECIMATION).map(|c| (c.iter().map(|&s| i32::from(s)).sum::<i32>() / c.len() as i32) as i16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opus::OpusDecoder;
    use crate::rtp_session::{SenderConfig, parse};
    use crate::tone::{SampleRate, ToneSource, rms};

    fn sender(ssrc: u32, payload_type: u8) -> RtpSender {
        RtpSender::new(SenderConfig { ssrc, payload_type, initial_seq: 500, initial_timestamp: 1000 }).unwrap()
    }

    #[test]
    fn each_destination_gets_its_codec_clock_and_marker() {
        let mut fanout = AudioFanout::new(OpusConfig::default());
        fanout.add_destination(DestinationId(1), AudioCodec::Pcmu, sender(1, 0)).unwrap();
        fanout.add_destination(DestinationId(2), AudioCodec::Opus, sender(2, 111)).unwrap();
        fanout.add_destination(DestinationId(3), AudioCodec::Pcma, sender(3, 8)).unwrap();
        let mut tone = ToneSource::new(440.0, SampleRate::Hz48000, 8000).unwrap();
        let mut opus = OpusDecoder::new().unwrap();
        for frame in 0..10u32 {
            let out = fanout.send_frame(u64::from(frame), &tone.next_frame()).unwrap();
            let packets: Vec<_> = out.iter().map(|(_, b)| parse(b).unwrap()).collect();
            assert_eq!(packets.len(), 3);
            let [pcmu, opus_packet, pcma] = [&packets[0], &packets[1], &packets[2]];
            assert_eq!(pcmu.payload.len(), 160);
            assert_eq!(pcma.payload.len(), 160);
            assert_eq!(pcmu.header.timestamp, 1000 + frame * 160);
            assert_eq!(opus_packet.header.timestamp, 1000 + frame * 960);
            assert_eq!(opus_packet.header.payload_type, 111);
            assert!(packets.iter().all(|p| p.header.marker == (frame == 0)));
            assert_eq!(opus.decode(&opus_packet.payload).unwrap().len(), 960);
            if frame > 0 {
                let level = rms(&Law::Ulaw.decode(&pcmu.payload));
                assert!((level - 8000.0 / 2f64.sqrt()).abs() < 300.0, "µ-law level {level}");
            }
        }
    }

    #[test]
    fn late_destinations_and_gaps_start_talkspurts() {
        let mut fanout = AudioFanout::new(OpusConfig::default());
        let pcma = |ssrc| sender(ssrc, 8);
        fanout.add_destination(DestinationId(1), AudioCodec::Pcma, pcma(1)).unwrap();
        fanout.send_frame(7, &[0; 960]).unwrap();
        fanout.add_destination(DestinationId(2), AudioCodec::Pcma, pcma(2)).unwrap();
        let headers = |out: Outgoing| -> Vec<(bool, u32, u16)> {
            out.iter()
                .map(|(_, b)| parse(b).unwrap().header)
                .map(|h| (h.marker, h.timestamp, h.sequence_number))
                .collect()
        };
        let out = fanout.send_frame(8, &[0; 960]).unwrap();
        assert_eq!(headers(out), [(false, 1160, 501), (true, 1000, 500)]);
        // Frame 9 was dropped by the microphone: a gap in the timestamps, and a new talkspurt.
        let out = fanout.send_frame(10, &[0; 960]).unwrap();
        assert_eq!(headers(out), [(true, 1480, 502), (true, 1320, 501)]);
    }

    #[test]
    fn wrong_frames_and_settings_are_refused() {
        let mut fanout = AudioFanout::new(OpusConfig::default());
        fanout.add_destination(DestinationId(1), AudioCodec::Pcmu, sender(1, 0)).unwrap();
        let wrong = fanout.send_frame(0, &[0; 160]);
        assert_eq!(wrong, Err(FanoutError::FrameSize { expected: 960, got: 160 }));
        assert!(fanout.set_packet_loss_percent(101).is_err());
        assert!(fanout.set_packet_loss_percent(20).is_ok());
        assert!(fanout.remove_destination(DestinationId(1)).is_some());
        assert!(fanout.send_frame(1, &[0; 960]).unwrap().is_empty());
    }
}
