//! Opus (RFC 6716) over RTP (RFC 7587): 48 kHz mono, 20 ms frames, in-band FEC on.
//!
//! A thin wrapper over `audiopus` that fixes the station's choices and checks frame sizes, so a
//! wrong-sized buffer is an error value instead of a libopus complaint.

use audiopus::coder::{Decoder, Encoder};
use audiopus::packet::Packet;
use audiopus::{Application, Bitrate, Channels, MutSignals, SampleRate};

/// Samples in one 20 ms mono frame at 48 kHz.
pub const OPUS_FRAME_SAMPLES: usize = 960;
/// The RTP clock rate of Opus, whatever the audio bandwidth (RFC 7587 §4.1).
pub const OPUS_CLOCK: u32 = 48_000;
/// Largest packet the encoder may write (RFC 6716 §3.4 R5 bound for one frame is 1275 bytes).
const MAX_PACKET: usize = 1275;

/// What went wrong in the Opus wrapper.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OpusError {
    /// A PCM frame had the wrong number of samples.
    #[error("Opus frame must have {expected} samples, got {got}")]
    FrameSize {
        /// Samples in a 20 ms mono frame.
        expected: usize,
        /// Samples given.
        got: usize,
    },
    /// The packet-loss percentage is above 100.
    #[error("packet loss percentage {percent} is above 100")]
    PacketLoss {
        /// The value given.
        percent: u8,
    },
    /// libopus refused; `during` says which call.
    #[error("libopus failed during {during}: {source}")]
    Codec {
        /// The operation, e.g. "encode".
        during: &'static str,
        /// The libopus error.
        #[source]
        source: audiopus::Error,
    },
}

fn codec(during: &'static str) -> impl FnOnce(audiopus::Error) -> OpusError {
    move |source| OpusError::Codec { during, source }
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusConfig {
    /// Target bit rate in bits per second.
    pub bitrate_bps: i32,
    /// Expected packet loss in percent (0–100); tunes how much FEC the encoder spends.
    pub packet_loss_percent: u8,
}

impl Default for OpusConfig {
    /// 32 kbit/s mono voice, 10 % expected loss.
    fn default() -> Self {
        OpusConfig { bitrate_bps: 32_000, packet_loss_percent: 10 }
    }
}

/// An Opus encoder for 20 ms mono frames at 48 kHz with in-band FEC.
pub struct OpusEncoder {
    inner: Encoder,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder").finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// A VoIP-mode encoder with in-band FEC on.
    pub fn new(config: OpusConfig) -> Result<Self, OpusError> {
        let mut inner =
            Encoder::new(SampleRate::Hz48000, Channels::Mono, Application::Voip).map_err(codec("create encoder"))?;
        inner.set_bitrate(Bitrate::BitsPerSecond(config.bitrate_bps)).map_err(codec("set bitrate"))?;
        inner.set_inband_fec(true).map_err(codec("enable FEC"))?;
        let mut encoder = OpusEncoder { inner };
        encoder.set_packet_loss_percent(config.packet_loss_percent)?;
        Ok(encoder)
    }

    /// Changes the expected packet loss (e.g. from RTCP receiver reports).
    pub fn set_packet_loss_percent(&mut self, percent: u8) -> Result<(), OpusError> {
        if percent > 100 {
            return Err(OpusError::PacketLoss { percent });
        }
        self.inner.set_packet_loss_perc(percent).map_err(codec("set packet loss"))
    }

    /// Whether in-band FEC is on (it always is; read back from libopus).
    pub fn fec_enabled(&self) -> Result<bool, OpusError> {
        self.inner.inband_fec().map_err(codec("read FEC"))
    }

    /// Encodes one 20 ms frame (960 samples) into one Opus packet.
    pub fn encode(&mut self, pcm: &[i16]) -> Result<Vec<u8>, OpusError> {
        check_frame(pcm.len())?;
        let mut out = vec![0u8; MAX_PACKET];
        let n = self.inner.encode(pcm, &mut out).map_err(codec("encode"))?;
        out.truncate(n);
        Ok(out)
    }
}

fn check_frame(got: usize) -> Result<(), OpusError> {
    if got == OPUS_FRAME_SAMPLES { Ok(()) } else { Err(OpusError::FrameSize { expected: OPUS_FRAME_SAMPLES, got }) }
}

/// An Opus decoder producing 20 ms mono frames at 48 kHz.
pub struct OpusDecoder {
    inner: Decoder,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// A mono 48 kHz decoder.
    pub fn new() -> Result<Self, OpusError> {
        let inner = Decoder::new(SampleRate::Hz48000, Channels::Mono).map_err(codec("create decoder"))?;
        Ok(OpusDecoder { inner })
    }

    /// Decodes one packet.
    pub fn decode(&mut self, packet: &[u8]) -> Result<Vec<i16>, OpusError> {
        let packet = Packet::try_from(packet).map_err(codec("read packet"))?;
        self.run(Some(packet), false)
    }

    /// Conceals one lost frame. With the packet that followed it, the frame is rebuilt from that
    /// packet's in-band FEC data; without, libopus extrapolates.
    pub fn decode_lost(&mut self, next: Option<&[u8]>) -> Result<Vec<i16>, OpusError> {
        match next {
            Some(bytes) => {
                let packet = Packet::try_from(bytes).map_err(codec("read packet"))?;
                self.run(Some(packet), true)
            }
            None => self.run(None, false),
        }
    }

    fn run(&mut self, packet: Option<Packet<'_>>, fec: bool) -> Result<Vec<i16>, OpusError> {
        let mut out = vec![0i16; OPUS_FRAME_SAMPLES];
        let signals = MutSignals::try_from(&mut out).map_err(codec("output buffer"))?;
        let n = self.inner.decode(packet, signals, fec).map_err(codec("decode"))?;
        out.truncate(n);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{SampleRate as Rate, ToneSource, rms};

    fn tone_frames(n: usize) -> Vec<Vec<i16>> {
        let mut tone = ToneSource::new(440.0, Rate::Hz48000, 10_000).unwrap();
        (0..n).map(|_| tone.next_frame()).collect()
    }

    #[test]
    fn encode_decode_keeps_length_and_energy() {
        let mut enc = OpusEncoder::new(OpusConfig::default()).unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        assert!(enc.fec_enabled().unwrap());
        let frames = tone_frames(25);
        let mut decoded = Vec::new();
        for frame in &frames {
            let packet = enc.encode(frame).unwrap();
            assert!(!packet.is_empty() && packet.len() < 400, "{} bytes", packet.len());
            let pcm = dec.decode(&packet).unwrap();
            assert_eq!(pcm.len(), OPUS_FRAME_SAMPLES);
            decoded.push(pcm);
        }
        // Skip the codec's start-up; after that the level must be close to the input's.
        let input = rms(&frames[10..].concat());
        let output = rms(&decoded[10..].concat());
        assert!((output / input - 1.0).abs() < 0.2, "input rms {input}, output rms {output}");
    }

    #[test]
    fn a_lost_frame_is_rebuilt_from_the_next_packets_fec() {
        let mut enc = OpusEncoder::new(OpusConfig { packet_loss_percent: 30, ..OpusConfig::default() }).unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let packets: Vec<_> = tone_frames(20).iter().map(|f| enc.encode(f).unwrap()).collect();
        for p in &packets[..15] {
            dec.decode(p).unwrap();
        }
        let rebuilt = dec.decode_lost(Some(&packets[16])).unwrap();
        assert_eq!(rebuilt.len(), OPUS_FRAME_SAMPLES);
        assert!(rms(&rebuilt) > 1000.0, "rebuilt frame is silent: {}", rms(&rebuilt));
        assert_eq!(dec.decode(&packets[16]).unwrap().len(), OPUS_FRAME_SAMPLES);
    }

    #[test]
    fn wrong_sizes_and_settings_are_errors() {
        let mut enc = OpusEncoder::new(OpusConfig::default()).unwrap();
        assert_eq!(enc.encode(&[0; 160]), Err(OpusError::FrameSize { expected: 960, got: 160 }));
        assert_eq!(enc.set_packet_loss_percent(101), Err(OpusError::PacketLoss { percent: 101 }));
        let mut dec = OpusDecoder::new().unwrap();
        assert!(matches!(dec.decode(&[]), Err(OpusError::Codec { .. })));
    }
}
