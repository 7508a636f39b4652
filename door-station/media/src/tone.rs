//! A sine tone: the simulated microphone.
//!
//! Frames are 20 ms (RFC 3551 §4.2 default packetisation) at 8 kHz (160 samples, G.711) or
//! 48 kHz (960 samples, Opus). The phase carries over between frames, so consecutive frames join
//! without a click.

use std::f64::consts::TAU;

/// Length of one audio frame in milliseconds.
pub const FRAME_MS: u32 = 20;

/// The sample rates the station produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleRate {
    /// 8 kHz, for G.711.
    Hz8000,
    /// 48 kHz, for Opus (RFC 7587 always uses a 48 kHz RTP clock).
    Hz48000,
}

impl SampleRate {
    /// Samples per second.
    pub fn hz(self) -> u32 {
        match self {
            SampleRate::Hz8000 => 8_000,
            SampleRate::Hz48000 => 48_000,
        }
    }

    /// Samples in one 20 ms frame.
    pub fn frame_samples(self) -> usize {
        (self.hz() * FRAME_MS / 1000) as usize
    }
}

/// What can be wrong with a tone.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ToneError {
    /// The frequency is not between 0 and half the sample rate (exclusive).
    #[error("tone frequency {hz} Hz must be above 0 and below {nyquist} Hz")]
    Frequency {
        /// The frequency asked for.
        hz: f64,
        /// Half the sample rate.
        nyquist: f64,
    },
}

/// A sine generator producing 20 ms frames.
#[derive(Debug, Clone)]
pub struct ToneSource {
    rate: SampleRate,
    step: f64,
    phase: f64,
    amplitude: f64,
}

impl ToneSource {
    /// A tone of `hz` at `rate`, with peak `amplitude` (full scale is `i16::MAX`).
    pub fn new(hz: f64, rate: SampleRate, amplitude: i16) -> Result<Self, ToneError> {
        let nyquist = f64::from(rate.hz()) / 2.0;
        if !(hz > 0.0 && hz < nyquist) {
            return Err(ToneError::Frequency { hz, nyquist });
        }
        Ok(ToneSource {
            rate,
            step: TAU * hz / f64::from(rate.hz()),
            phase: 0.0,
            amplitude: f64::from(amplitude.unsigned_abs().min(i16::MAX as u16)),
        })
    }

    /// The sample rate of the frames.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// The next 20 ms of tone.
    pub fn next_frame(&mut self) -> Vec<i16> {
        let mut frame = vec![0; self.rate.frame_samples()];
        self.fill(&mut frame);
        frame
    }

    /// Fills `out` with the next `out.len()` samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        for sample in out {
            *sample = (self.phase.sin() * self.amplitude).round() as i16;
            self.phase = (self.phase + self.step) % TAU;
        }
    }
}

/// Root-mean-square level of a block of samples (0 for an empty block).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upward zero crossings in a signal: one per period of a sine.
    fn upward_crossings(samples: &[i16]) -> usize {
        samples.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count()
    }

    #[test]
    fn frames_have_20ms_of_samples() {
        let mut narrow = ToneSource::new(440.0, SampleRate::Hz8000, 8000).unwrap();
        let mut wide = ToneSource::new(440.0, SampleRate::Hz48000, 8000).unwrap();
        assert_eq!(narrow.next_frame().len(), 160);
        assert_eq!(wide.next_frame().len(), 960);
    }

    #[test]
    fn one_second_of_440_hz_has_440_periods() {
        for rate in [SampleRate::Hz8000, SampleRate::Hz48000] {
            let mut tone = ToneSource::new(440.0, rate, 10_000).unwrap();
            let second: Vec<i16> = (0..50).flat_map(|_| tone.next_frame()).collect();
            let crossings = upward_crossings(&second);
            assert!((439..=441).contains(&crossings), "{rate:?}: {crossings}");
        }
    }

    #[test]
    fn level_is_amplitude_over_root_two_and_frames_join() {
        let mut tone = ToneSource::new(1000.0, SampleRate::Hz8000, 10_000).unwrap();
        let a = tone.next_frame();
        let b = tone.next_frame();
        assert!((rms(&a) - 10_000.0 / 2f64.sqrt()).abs() < 50.0, "{}", rms(&a));
        // 1 kHz at 8 kHz: 8 samples a period; the second frame continues the first exactly.
        assert_eq!(&a[..8], &b[..8]);
        assert_eq!(*a.iter().max().unwrap(), 10_000);
    }

    #[test]
    fn frequency_outside_the_band_is_refused() {
        assert!(matches!(ToneSource::new(4000.0, SampleRate::Hz8000, 1), Err(ToneError::Frequency { .. })));
        assert!(ToneSource::new(0.0, SampleRate::Hz48000, 1).is_err());
        assert!(ToneSource::new(f64::NAN, SampleRate::Hz48000, 1).is_err());
    }
}
