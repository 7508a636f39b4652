//! Microphone and speaker through ALSA (feature `alsa`), device names from the config
//! (`[media] audio_capture_device` / `audio_playback_device`, e.g. `default`, `plughw:1,0`).
//!
//! Both are mono, signed 16-bit, interleaved, at the codec's rate, with a 20 ms period and a
//! buffer of four periods. Devices without those settings should be named through the `plug`
//! layer (`plughw:...`), which converts. An underrun or overrun is recovered once, silently, and
//! counted.

use crate::device::{AudioCapture, AudioPlayback, DeviceError};
use crate::tone::SampleRate;
use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};

const BACKEND: &str = "alsa";
/// Periods in the device buffer: 80 ms at 20 ms each, room for one late wake-up of the thread.
const PERIODS: i64 = 4;

/// Opens `device` for `direction` and sets mono S16 at `rate` with 20 ms periods.
fn open(device: &str, direction: Direction, rate: SampleRate) -> Result<PCM, DeviceError> {
    let pcm = PCM::new(device, direction, false).map_err(|e| DeviceError::open(BACKEND, device, e))?;
    let format_error = |what: &str, e: alsa::Error| DeviceError::Format {
        backend: BACKEND,
        device: device.to_string(),
        expected: format!("{what} (mono S16 at {} Hz; try plughw:)", rate.hz()),
        got: e.to_string(),
    };
    {
        let hw = HwParams::any(&pcm).map_err(|e| format_error("hardware parameters", e))?;
        hw.set_access(Access::RWInterleaved).map_err(|e| format_error("interleaved access", e))?;
        hw.set_format(Format::s16()).map_err(|e| format_error("S16 samples", e))?;
        hw.set_channels(1).map_err(|e| format_error("one channel", e))?;
        hw.set_rate(rate.hz(), ValueOr::Nearest).map_err(|e| format_error("the rate", e))?;
        let period = rate.frame_samples() as i64;
        hw.set_period_size_near(period, ValueOr::Nearest).map_err(|e| format_error("a 20 ms period", e))?;
        hw.set_buffer_size_near(period * PERIODS).map_err(|e| format_error("the buffer size", e))?;
        pcm.hw_params(&hw).map_err(|e| format_error("these parameters", e))?;
    }
    let actual = pcm.hw_params_current().and_then(|hw| hw.get_rate()).map_err(|e| format_error("the rate", e))?;
    if actual != rate.hz() {
        return Err(DeviceError::Format {
            backend: BACKEND,
            device: device.to_string(),
            expected: format!("{} Hz", rate.hz()),
            got: format!("{actual} Hz"),
        });
    }
    Ok(pcm)
}

/// Runs `op` (one read or write), recovering once from an xrun; counts recoveries in `xruns`.
fn with_recovery(
    pcm: &PCM,
    during: &'static str,
    xruns: &mut u64,
    mut op: impl FnMut(&PCM) -> alsa::Result<usize>,
) -> Result<usize, DeviceError> {
    match op(pcm) {
        Ok(n) => Ok(n),
        Err(e) => {
            pcm.try_recover(e, true).map_err(|e| DeviceError::io(BACKEND, during, e))?;
            *xruns += 1;
            op(pcm).map_err(|e| DeviceError::io(BACKEND, during, e))
        }
    }
}

/// An ALSA capture device.
pub struct AlsaCapture {
    pcm: PCM,
    device: String,
    rate: SampleRate,
    overruns: u64,
}

impl std::fmt::Debug for AlsaCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlsaCapture").field("device", &self.device).field("rate", &self.rate).finish()
    }
}

impl AlsaCapture {
    /// Opens `device` for capture at `rate`.
    pub fn open(device: &str, rate: SampleRate) -> Result<Self, DeviceError> {
        let pcm = open(device, Direction::Capture, rate)?;
        pcm.start().map_err(|e| DeviceError::io(BACKEND, "start capture", e))?;
        Ok(AlsaCapture { pcm, device: device.to_string(), rate, overruns: 0 })
    }

    /// Overruns recovered so far.
    pub fn overruns(&self) -> u64 {
        self.overruns
    }
}

impl AudioCapture for AlsaCapture {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn read_frame(&mut self) -> Result<Option<Vec<i16>>, DeviceError> {
        let mut frame = vec![0i16; self.rate.frame_samples()];
        let mut filled = 0;
        while filled < frame.len() {
            let rest = &mut frame[filled..];
            filled += with_recovery(&self.pcm, "read", &mut self.overruns, |pcm| pcm.io_i16()?.readi(rest))?;
        }
        Ok(Some(frame))
    }
}

/// An ALSA playback device.
pub struct AlsaPlayback {
    pcm: PCM,
    device: String,
    rate: SampleRate,
    underruns: u64,
}

impl std::fmt::Debug for AlsaPlayback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlsaPlayback").field("device", &self.device).field("rate", &self.rate).finish()
    }
}

impl AlsaPlayback {
    /// Opens `device` for playback at `rate`.
    pub fn open(device: &str, rate: SampleRate) -> Result<Self, DeviceError> {
        let pcm = open(device, Direction::Playback, rate)?;
        Ok(AlsaPlayback { pcm, device: device.to_string(), rate, underruns: 0 })
    }

    /// Underruns recovered so far (the jitter buffer ran dry or the thread woke late).
    pub fn underruns(&self) -> u64 {
        self.underruns
    }
}

impl AudioPlayback for AlsaPlayback {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn write_frame(&mut self, samples: &[i16]) -> Result<(), DeviceError> {
        let mut written = 0;
        while written < samples.len() {
            let rest = &samples[written..];
            written += with_recovery(&self.pcm, "write", &mut self.underruns, |pcm| pcm.io_i16()?.writei(rest))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), DeviceError> {
        self.pcm.drain().map_err(|e| DeviceError::io(BACKEND, "drain", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::ToneSource;

    /// `null` is defined by alsa-lib's own configuration (libasound2-data): it needs no card.
    #[test]
    fn the_null_device_plays_and_captures_20_ms_frames() {
        let mut speaker = match AlsaPlayback::open("null", SampleRate::Hz8000) {
            Ok(s) => s,
            Err(e) => panic!("ALSA null PCM missing (is libasound2-data installed?): {e}"),
        };
        let mut tone = ToneSource::new(440.0, SampleRate::Hz8000, 8000).unwrap();
        for _ in 0..5 {
            speaker.write_frame(&tone.next_frame()).unwrap();
        }
        speaker.finish().unwrap();
        let mut mic = AlsaCapture::open("null", SampleRate::Hz48000).unwrap();
        let frame = mic.read_frame().unwrap().unwrap();
        assert_eq!(frame.len(), 960);
        assert_eq!(mic.rate(), SampleRate::Hz48000);
    }

    #[test]
    fn a_missing_card_is_reported_by_name() {
        let err = AlsaPlayback::open("hw:97,0", SampleRate::Hz8000).unwrap_err();
        assert!(matches!(&err, DeviceError::Open { device, .. } if device == "hw:97,0"), "{err}");
        let cards = std::fs::read_to_string("/proc/asound/cards").unwrap_or_default();
        eprintln!("sound cards here: {}", if cards.trim().is_empty() { "none" } else { cards.trim() });
    }
}
