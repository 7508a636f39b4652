//! Received audio to the speaker: the jitter buffer, the decoder for each payload type, and loss
//! concealment, giving exactly one 20 ms frame each time the speaker needs one. Sans-IO.
//!
//! Concealment:
//! - Opus: a lost frame is rebuilt from the in-band FEC of the packet after it when that packet
//!   is already buffered, else libopus's own packet-loss concealment extrapolates (it fades by
//!   itself).
//! - G.711: the last good frame is repeated at half the level each time (−6 dB per frame), and
//!   silence follows after [`G711_REPEATS`] frames; a plain version of the waveform substitution
//!   of ITU-T G.711 Appendix I.
//! - Nothing playing: silence.

use crate::g711::Law;
use crate::jitter::{Arrival, Conceal, Frame, JitterBuffer, JitterConfig, JitterError, Playout, PushOutcome};
use crate::opus::{OpusDecoder, OpusError};
use crate::tone::SampleRate;
use std::time::Instant;

/// Concealed G.711 frames before silence (60 ms).
pub const G711_REPEATS: u32 = 3;

/// What is wrong with a playout configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlayoutError {
    /// A codec's clock is not the speaker's rate.
    #[error("payload type {payload_type} runs at {codec_hz} Hz, the speaker at {speaker_hz} Hz")]
    Rate {
        /// The payload type.
        payload_type: u8,
        /// The codec's rate.
        codec_hz: u32,
        /// The speaker's rate.
        speaker_hz: u32,
    },
    /// The jitter buffer configuration.
    #[error(transparent)]
    Jitter(#[from] JitterError),
    /// The Opus decoder could not be made.
    #[error(transparent)]
    Opus(#[from] OpusError),
}

/// A codec the peer may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioCodec {
    /// PCMU or PCMA, 8 kHz.
    G711(Law),
    /// Opus, 48 kHz.
    Opus,
}

impl AudioCodec {
    fn rate(self) -> SampleRate {
        match self {
            AudioCodec::G711(_) => SampleRate::Hz8000,
            AudioCodec::Opus => SampleRate::Hz48000,
        }
    }
}

/// What happened to the frames so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlayoutStats {
    /// Frames decoded from packets.
    pub decoded: u64,
    /// Lost Opus frames rebuilt from FEC.
    pub fec: u64,
    /// Frames made up by the decoder or by repetition.
    pub concealed: u64,
    /// Silent frames (nothing playing, or concealment ran out).
    pub silent: u64,
    /// Packets of a payload type not configured, or that failed to decode.
    pub undecodable: u64,
}

/// Jitter buffer plus decoders for one incoming audio stream.
#[derive(Debug)]
pub struct AudioPlayout {
    jitter: JitterBuffer,
    rate: SampleRate,
    codecs: Vec<(u8, AudioCodec)>,
    opus: Option<OpusDecoder>,
    last: Vec<i16>,
    last_codec: Option<AudioCodec>,
    repeats: u32,
    stats: PlayoutStats,
}

impl AudioPlayout {
    /// Playout at `rate` of the payload types in `codecs` (all at that rate), with the default
    /// jitter buffer for the rate.
    pub fn new(rate: SampleRate, codecs: &[(u8, AudioCodec)]) -> Result<Self, PlayoutError> {
        Self::with_jitter(JitterConfig::audio(rate), rate, codecs)
    }

    /// The same with another jitter-buffer configuration.
    pub fn with_jitter(
        jitter: JitterConfig,
        rate: SampleRate,
        codecs: &[(u8, AudioCodec)],
    ) -> Result<Self, PlayoutError> {
        if let Some(&(payload_type, codec)) = codecs.iter().find(|(_, c)| c.rate() != rate) {
            return Err(PlayoutError::Rate { payload_type, codec_hz: codec.rate().hz(), speaker_hz: rate.hz() });
        }
        let opus = match codecs.iter().any(|(_, c)| *c == AudioCodec::Opus) {
            true => Some(OpusDecoder::new()?),
            false => None,
        };
        Ok(AudioPlayout {
            jitter: JitterBuffer::new(jitter)?,
            rate,
            codecs: codecs.to_vec(),
            opus,
            last: vec![],
            last_codec: None,
            repeats: 0,
            stats: PlayoutStats::default(),
        })
    }

    /// Takes a packet that arrived at `now`.
    pub fn push(&mut self, now: Instant, packet: Arrival) -> PushOutcome {
        self.jitter.push(now, packet)
    }

    /// The 20 ms of audio to play at `now`.
    pub fn next_frame(&mut self, now: Instant) -> Vec<i16> {
        let frame = match self.jitter.pop(now) {
            Playout::Frame(frame) => self.decode(&frame),
            Playout::Conceal(why) => self.conceal(why),
            Playout::Empty => None,
        };
        frame.unwrap_or_else(|| {
            self.stats.silent += 1;
            vec![0; self.rate.frame_samples()]
        })
    }

    fn codec_of(&self, payload_type: u8) -> Option<AudioCodec> {
        self.codecs.iter().find(|(pt, _)| *pt == payload_type).map(|(_, c)| *c)
    }

    fn decode(&mut self, frame: &Frame) -> Option<Vec<i16>> {
        let codec = self.codec_of(frame.payload_type);
        let pcm = match (codec, self.opus.as_mut()) {
            (Some(AudioCodec::G711(law)), _) => Some(law.decode(&frame.payload)),
            (Some(AudioCodec::Opus), Some(opus)) => opus.decode(&frame.payload).ok(),
            _ => None,
        };
        let Some(mut pcm) = pcm else {
            self.stats.undecodable += 1;
            return self.conceal(Conceal::Lost);
        };
        pcm.resize(self.rate.frame_samples(), 0);
        self.stats.decoded += 1;
        self.repeats = 0;
        self.last_codec = codec;
        self.last = pcm.clone();
        Some(pcm)
    }

    fn conceal(&mut self, why: Conceal) -> Option<Vec<i16>> {
        match (self.last_codec, self.opus.as_mut()) {
            (Some(AudioCodec::Opus), Some(opus)) => {
                let next = (why == Conceal::Lost).then(|| self.jitter.peek_next()).flatten();
                let fec = next.is_some();
                let mut pcm = opus.decode_lost(next.map(|f| &f.payload[..])).ok()?;
                pcm.resize(self.rate.frame_samples(), 0);
                if fec {
                    self.stats.fec += 1;
                } else {
                    self.stats.concealed += 1;
                }
                Some(pcm)
            }
            (Some(AudioCodec::G711(_)), _) if self.repeats < G711_REPEATS && !self.last.is_empty() => {
                self.repeats += 1;
                let shift = self.repeats;
                self.stats.concealed += 1;
                Some(self.last.iter().map(|&s| s >> shift).collect())
            }
            _ => None,
        }
    }

    /// The jitter buffer (delay, jitter, counters).
    pub fn jitter(&self) -> &JitterBuffer {
        &self.jitter
    }

    /// The counters.
    pub fn stats(&self) -> PlayoutStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opus::{OpusConfig, OpusEncoder};
    use crate::tone::{ToneSource, rms};
    use bytes::Bytes;
    use std::time::Duration;

    fn arrival(i: u32, units: u32, pt: u8, payload: Vec<u8>) -> Arrival {
        Arrival { ssrc: 1, seq: i as u16, timestamp: i * units, payload_type: pt, payload: Bytes::from(payload) }
    }

    /// Sends 20 frames of tone, all buffered at once but those in `lost`, and plays them out
    /// through a buffer whose delay is fixed at 400 ms (so it never drops frames to shrink);
    /// returns the rms of each frame played, by slot.
    fn play(
        rate: SampleRate,
        codec: AudioCodec,
        lost: &[u32],
        mut encode: impl FnMut(&[i16]) -> Vec<u8>,
    ) -> (Vec<f64>, PlayoutStats) {
        let t0 = Instant::now();
        let pt = if codec == AudioCodec::Opus { 111 } else { 0 };
        let fixed = Duration::from_millis(400);
        let config = JitterConfig { min_delay: fixed, max_delay: fixed, ..JitterConfig::audio(rate) };
        let mut playout = AudioPlayout::with_jitter(config, rate, &[(pt, codec)]).unwrap();
        let mut tone = ToneSource::new(440.0, rate, 10_000).unwrap();
        let units = rate.frame_samples() as u32;
        for i in 0..20u32 {
            let payload = encode(&tone.next_frame());
            if !lost.contains(&i) {
                playout.push(t0, arrival(i, units, pt, payload));
            }
        }
        let levels = (0..20u64)
            .map(|i| {
                let frame = playout.next_frame(t0 + fixed + Duration::from_millis(20 * i));
                assert_eq!(frame.len(), rate.frame_samples());
                rms(&frame)
            })
            .collect();
        (levels, playout.stats())
    }

    #[test]
    fn a_lost_g711_frame_is_repeated_softer_then_silence_follows() {
        let law = Law::Ulaw;
        let (levels, stats) =
            play(SampleRate::Hz8000, AudioCodec::G711(law), &[5, 9, 10, 11, 12], |pcm| law.encode(pcm));
        let full = levels[4];
        let ratio = |i: usize| levels[i] / full;
        assert!((ratio(5) - 0.5).abs() < 0.05, "first repeat at half level: {levels:?}");
        assert!((ratio(9) - 0.5).abs() < 0.05 && (ratio(10) - 0.25).abs() < 0.05 && (ratio(11) - 0.125).abs() < 0.05);
        assert_eq!(levels[12], 0.0, "silence after {G711_REPEATS} repeats");
        assert!(ratio(13) > 0.9, "audio back with the packets");
        assert_eq!((stats.concealed, stats.silent, stats.fec), (4, 1, 0));
    }

    #[test]
    fn a_lost_opus_frame_is_rebuilt_from_the_next_packets_fec() {
        let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
        encoder.set_packet_loss_percent(20).unwrap();
        let (levels, stats) = play(SampleRate::Hz48000, AudioCodec::Opus, &[8], |pcm| encoder.encode(pcm).unwrap());
        assert_eq!(stats.fec, 1, "{stats:?}");
        let rebuilt = levels[8];
        assert!(rebuilt > 0.5 * levels[10], "FEC frame level {rebuilt} against {}", levels[10]);
    }

    #[test]
    fn codecs_must_run_at_the_speakers_rate() {
        let err = AudioPlayout::new(SampleRate::Hz8000, &[(111, AudioCodec::Opus)]).unwrap_err();
        assert!(matches!(err, PlayoutError::Rate { payload_type: 111, codec_hz: 48_000, speaker_hz: 8000 }));
        let mut p = AudioPlayout::new(SampleRate::Hz8000, &[(0, AudioCodec::G711(Law::Ulaw))]).unwrap();
        let t0 = Instant::now();
        p.push(t0, arrival(0, 160, 8, vec![0xD5; 160])); // PCMA, not configured
        assert_eq!(p.next_frame(t0 + Duration::from_millis(40)), vec![0; 160]);
        assert_eq!(p.stats().undecodable, 1);
    }
}
