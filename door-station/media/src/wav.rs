//! WAV files as microphone and speaker, for tests and `make run`: [`WavMicrophone`] plays a
//! recording into a call, [`FilePlayback`] records what the speaker would have played, so a test
//! can decode it and check what arrived.
//!
//! Files are 16-bit PCM at 8 or 48 kHz (the station's [`SampleRate`]s). Stereo input is mixed to
//! mono.

use crate::device::{AudioCapture, AudioPlayback, DeviceError};
use crate::tone::SampleRate;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

const BACKEND: &str = "wav";

/// The [`SampleRate`] of `hz`, if the station has one.
pub fn sample_rate_of(hz: u32) -> Option<SampleRate> {
    [SampleRate::Hz8000, SampleRate::Hz48000].into_iter().find(|r| r.hz() == hz)
}

/// Reads a whole 16-bit PCM WAV file as mono samples and its rate.
pub fn read_wav(path: &Path) -> Result<(SampleRate, Vec<i16>), DeviceError> {
    let device = path.display().to_string();
    let reader = hound::WavReader::open(path).map_err(|e| DeviceError::open(BACKEND, &device, e))?;
    let spec = reader.spec();
    let format_error = |got: String| DeviceError::Format {
        backend: BACKEND,
        device: device.clone(),
        expected: "16-bit integer PCM at 8000 or 48000 Hz".into(),
        got,
    };
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(format_error(format!("{}-bit {:?}", spec.bits_per_sample, spec.sample_format)));
    }
    let rate = sample_rate_of(spec.sample_rate).ok_or_else(|| format_error(format!("{} Hz", spec.sample_rate)))?;
    let samples: Vec<i16> =
        reader.into_samples::<i16>().collect::<Result<_, _>>().map_err(|e| DeviceError::io(BACKEND, "read", e))?;
    Ok((rate, mix_to_mono(&samples, spec.channels.max(1))))
}

/// Averages interleaved channels into one.
fn mix_to_mono(samples: &[i16], channels: u16) -> Vec<i16> {
    if channels == 1 {
        return samples.to_vec();
    }
    samples
        .chunks_exact(usize::from(channels))
        .map(|c| (c.iter().map(|&s| i32::from(s)).sum::<i32>() / i32::from(channels)) as i16)
        .collect()
}

/// The WAV format of 16-bit PCM with `channels` at `hz`.
fn pcm16(channels: u16, hz: u32) -> hound::WavSpec {
    hound::WavSpec { channels, sample_rate: hz, bits_per_sample: 16, sample_format: hound::SampleFormat::Int }
}

/// A WAV recording as the microphone, 20 ms at a time; the last frame is padded with silence.
#[derive(Clone, Debug)]
pub struct WavMicrophone {
    rate: SampleRate,
    samples: Vec<i16>,
    position: usize,
    looping: bool,
}

impl WavMicrophone {
    /// Opens `path`; with `looping`, the recording starts again at its end instead of ending.
    pub fn open(path: &Path, looping: bool) -> Result<Self, DeviceError> {
        let (rate, samples) = read_wav(path)?;
        Ok(Self::from_samples(rate, samples, looping))
    }

    /// A microphone playing `samples` at `rate`.
    pub fn from_samples(rate: SampleRate, samples: Vec<i16>, looping: bool) -> Self {
        WavMicrophone { rate, samples, position: 0, looping }
    }
}

impl AudioCapture for WavMicrophone {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn read_frame(&mut self) -> Result<Option<Vec<i16>>, DeviceError> {
        let n = self.rate.frame_samples();
        if self.position >= self.samples.len() {
            if !self.looping || self.samples.is_empty() {
                return Ok(None);
            }
            self.position = 0;
        }
        let end = (self.position + n).min(self.samples.len());
        let mut frame = self.samples[self.position..end].to_vec();
        frame.resize(n, 0);
        self.position = end;
        Ok(Some(frame))
    }
}

/// A speaker that writes a mono 16-bit WAV file. The file is complete after
/// [`AudioPlayback::finish`] (or drop).
pub struct FilePlayback {
    path: PathBuf,
    rate: SampleRate,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    frames: u64,
}

impl std::fmt::Debug for FilePlayback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilePlayback")
            .field("path", &self.path)
            .field("rate", &self.rate)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl FilePlayback {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path, rate: SampleRate) -> Result<Self, DeviceError> {
        let writer = hound::WavWriter::create(path, pcm16(1, rate.hz()))
            .map_err(|e| DeviceError::open(BACKEND, path.display().to_string(), e))?;
        Ok(FilePlayback { path: path.to_path_buf(), rate, writer: Some(writer), frames: 0 })
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

impl AudioPlayback for FilePlayback {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn write_frame(&mut self, samples: &[i16]) -> Result<(), DeviceError> {
        let writer =
            self.writer.as_mut().ok_or_else(|| DeviceError::io(BACKEND, "write", "the file is already finished"))?;
        for &s in samples {
            writer.write_sample(s).map_err(|e| DeviceError::io(BACKEND, "write", e))?;
        }
        self.frames += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), DeviceError> {
        match self.writer.take() {
            Some(w) => w.finalize().map_err(|e| DeviceError::io(BACKEND, "finish", e)),
            None => Ok(()),
        }
    }
}

impl Drop for FilePlayback {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{ToneSource, rms};

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ds-media-wav-{}-{name}.wav", std::process::id()))
    }

    #[test]
    fn a_file_speaker_writes_a_wav_that_decodes_to_what_was_played() {
        let path = temp("speaker");
        let mut tone = ToneSource::new(1000.0, SampleRate::Hz8000, 10_000).unwrap();
        let frames: Vec<Vec<i16>> = (0..5).map(|_| tone.next_frame()).collect();
        let mut speaker = FilePlayback::create(&path, SampleRate::Hz8000).unwrap();
        for f in &frames {
            speaker.write_frame(f).unwrap();
        }
        speaker.finish().unwrap();
        assert!(speaker.write_frame(&frames[0]).is_err());
        let (rate, samples) = read_wav(&path).unwrap();
        assert_eq!(rate, SampleRate::Hz8000);
        assert_eq!(samples, frames.concat());
        assert!((rms(&samples) - 10_000.0 / 2f64.sqrt()).abs() < 100.0);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_wav_microphone_yields_padded_frames_then_ends_or_loops() {
        let path = temp("mic");
        let mut w = hound::WavWriter::create(&path, pcm16(2, 48_000)).unwrap();
        for i in 0..1000i16 {
            w.write_sample(i).unwrap();
            w.write_sample(i + 2).unwrap(); // right channel: left + 2, so the mix is left + 1
        }
        w.finalize().unwrap();
        let mut mic = WavMicrophone::open(&path, false).unwrap();
        assert_eq!(mic.rate(), SampleRate::Hz48000);
        let first = mic.read_frame().unwrap().unwrap();
        assert_eq!((first.len(), first[0], first[959]), (960, 1, 960));
        let second = mic.read_frame().unwrap().unwrap();
        assert_eq!((second[39], second[40], second[959]), (1000, 0, 0));
        assert_eq!(mic.read_frame().unwrap(), None);
        let mut looping = WavMicrophone::open(&path, true).unwrap();
        let frames: Vec<_> = (0..3).map(|_| looping.read_frame().unwrap().unwrap()[0]).collect();
        assert_eq!(frames, [1, 961, 1]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn unsupported_files_are_reported() {
        let path = temp("rate");
        hound::WavWriter::create(&path, pcm16(1, 44_100)).unwrap().finalize().unwrap();
        assert!(matches!(read_wav(&path), Err(DeviceError::Format { got, .. }) if got == "44100 Hz"));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(read_wav(&temp("missing")), Err(DeviceError::Open { .. })));
    }
}
