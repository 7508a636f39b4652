//! An adaptive jitter buffer for received audio, sans-IO.
//!
//! # The loop
//!
//! The receive path calls [`JitterBuffer::push`] with each RTP packet and the time it arrived;
//! the playback thread calls [`JitterBuffer::pop`] once per frame (every 20 ms) and gets one of:
//!
//! - [`Playout::Frame`]: the next frame's payload, to decode and play;
//! - [`Playout::Conceal`]: a frame is missing; the decoder makes up 20 ms (Opus packet loss
//!   concealment or FEC from the next packet, or a repeated/faded G.711 frame);
//! - [`Playout::Empty`]: no stream is playing (before the first packet, or after it stopped).
//!
//! Frames are kept by timestamp on one playout timeline. Playout starts once the first packet has
//! waited the target delay, which is one frame plus three times the RFC 3550 interarrival jitter,
//! clamped to the configured bounds. When the stream runs dry the playout point stays put
//! (the delay grows by a frame); when more than two frames above the target are buffered, one
//! frame is dropped at most every [`SHRINK_SPACING`] pops (the delay shrinks).
//!
//! A new SSRC, or a sequence or timestamp jump that cannot be loss or reordering, is a *resync*
//! (PBXs do it when they switch media): the new stream's timestamps are mapped to where its
//! arrival time falls on the timeline (at least after the last frame received), so audio carries
//! on without a gap, and late packets of the old stream still find their place. Payload-type changes pass through in
//! [`Frame::payload_type`].
//!
//! Nothing here reads the clock; time is passed in.

mod estimator;
#[cfg(test)]
mod tests;

use crate::tone::{FRAME_MS, SampleRate};
use bytes::Bytes;
use estimator::JitterEstimator;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Least number of pops between two frames dropped to shrink the delay (200 ms of 20 ms frames).
pub const SHRINK_SPACING: u32 = 10;

/// Largest forward sequence jump still taken as loss (RFC 3550 appendix A.1, MAX_DROPOUT).
const MAX_DROPOUT: u16 = 3000;
/// Largest backward sequence step still taken as reordering (RFC 3550 appendix A.1, MAX_MISORDER).
const MAX_MISORDER: u16 = 100;
/// A timestamp jump forward beyond this is a new timestamp base, not a silence (DTX) gap.
const MAX_GAP: Duration = Duration::from_secs(30);

/// What is wrong with a jitter-buffer configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JitterError {
    /// A field is out of range.
    #[error("jitter buffer {field} = {value} is invalid: {expected}")]
    Config {
        /// The field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// What is accepted.
        expected: &'static str,
    },
}

/// Settings of one jitter buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP clock rate of the stream (8000 for G.711, 48000 for Opus, RFC 7587).
    pub clock_rate: u32,
    /// RTP timestamp units in one frame (160 at 8 kHz, 960 at 48 kHz for 20 ms).
    pub frame_units: u32,
    /// Least playout delay.
    pub min_delay: Duration,
    /// Largest playout delay.
    pub max_delay: Duration,
    /// Most frames held; the oldest is dropped beyond this.
    pub capacity: usize,
    /// Consecutive frames concealed with nothing buffered after which the stream counts as
    /// stopped and playout returns to [`Playout::Empty`].
    pub max_conceal: u32,
}

impl JitterConfig {
    /// 20 ms frames at `rate`, 40–200 ms of delay (ITU-T G.114 keeps one-way delay under 150 ms
    /// for good interactivity), 50 frames, silence after 10 concealed frames (200 ms).
    pub fn audio(rate: SampleRate) -> Self {
        JitterConfig {
            clock_rate: rate.hz(),
            frame_units: rate.hz() * FRAME_MS / 1000,
            min_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(200),
            capacity: 50,
            max_conceal: 10,
        }
    }

    fn validate(&self) -> Result<(), JitterError> {
        let fail = |field, value, expected| Err(JitterError::Config { field, value, expected });
        if self.clock_rate == 0 {
            return fail("clock_rate", 0, "above 0");
        }
        if self.frame_units == 0 || self.frame_units > self.clock_rate {
            return fail("frame_units", self.frame_units.into(), "1 to one second of clock");
        }
        if self.capacity < 2 {
            return fail("capacity", self.capacity as u64, "at least 2");
        }
        Ok(())
    }

    fn frame_duration(&self) -> Duration {
        Duration::from_secs_f64(f64::from(self.frame_units) / f64::from(self.clock_rate))
    }
}

/// One received RTP packet, as the jitter buffer needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Synchronisation source.
    pub ssrc: u32,
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Payload type.
    pub payload_type: u8,
    /// Payload bytes.
    pub payload: Bytes,
}

impl From<&rtp::packet::Packet> for Arrival {
    fn from(p: &rtp::packet::Packet) -> Self {
        Arrival {
            ssrc: p.header.ssrc,
            seq: p.header.sequence_number,
            timestamp: p.header.timestamp,
            payload_type: p.header.payload_type,
            payload: p.payload.clone(),
        }
    }
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// Kept for playout.
    Buffered,
    /// Kept, and it starts a new SSRC or sequence/timestamp base.
    Resynced,
    /// Its time has already been played; dropped.
    Late,
    /// A copy of a packet already held; dropped.
    Duplicate,
}

/// A frame to play.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Synchronisation source it came from.
    pub ssrc: u32,
    /// Its sequence number.
    pub seq: u16,
    /// Its RTP timestamp as sent.
    pub timestamp: u32,
    /// Its payload type (which decoder to use).
    pub payload_type: u8,
    /// Its payload.
    pub payload: Bytes,
    /// True for the first frame after a resync (a decoder may reset).
    pub resync: bool,
}

/// Why a frame is concealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conceal {
    /// The frame never came (later ones did); playout moves on.
    Lost,
    /// Nothing is buffered; playout waits a frame, so the delay grows.
    Underrun,
}

/// What to play for the next frame period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Playout {
    /// Decode and play this frame.
    Frame(Frame),
    /// Make up one frame.
    Conceal(Conceal),
    /// No stream is playing.
    Empty,
}

/// Counters since the buffer was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets buffered (including resyncs).
    pub buffered: u64,
    /// Frames played.
    pub played: u64,
    /// Frames concealed because they were lost.
    pub lost: u64,
    /// Frames concealed because nothing was buffered.
    pub underruns: u64,
    /// Packets that came after their time.
    pub late: u64,
    /// Duplicate packets.
    pub duplicates: u64,
    /// Frames dropped because the buffer was full.
    pub overflow: u64,
    /// Frames dropped to shrink the delay.
    pub shrunk: u64,
    /// Stream changes (SSRC, sequence or timestamp base).
    pub resyncs: u64,
}

/// The incoming stream as last seen: its identity and where its timestamps sit on the playout
/// timeline.
#[derive(Clone, Copy, Debug)]
struct Stream {
    ssrc: u32,
    last_seq: u16,
    last_ts: u32,
    /// Timeline position of `last_ts`.
    last_key: i64,
}

impl Stream {
    /// Timeline position of `ts`, unwrapping around `last_ts` (RFC 3550 timestamps wrap).
    fn key_of(&self, ts: u32) -> i64 {
        self.last_key + i64::from(ts.wrapping_sub(self.last_ts) as i32)
    }
}

/// Where playout is.
#[derive(Clone, Copy, Debug)]
enum State {
    /// No stream.
    Idle,
    /// The first packet came at `since`; waiting for the target delay.
    Buffering { since: Instant },
    /// Playing; `next` is the timeline position of the next frame.
    Playing { next: i64, since_shrink: u32, concealed: u32 },
}

/// The adaptive jitter buffer; see the module docs.
#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterConfig,
    frames: BTreeMap<i64, Frame>,
    stream: Option<Stream>,
    /// The stream before the last resync, and where the new one began: late packets of the old
    /// stream still go to their place instead of switching back.
    previous: Option<(Stream, i64)>,
    newest_key: Option<i64>,
    state: State,
    estimator: JitterEstimator,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer for `config` (validated).
    pub fn new(config: JitterConfig) -> Result<Self, JitterError> {
        config.validate()?;
        Ok(JitterBuffer {
            config,
            frames: BTreeMap::new(),
            stream: None,
            previous: None,
            newest_key: None,
            state: State::Idle,
            estimator: JitterEstimator::new(config.clock_rate),
            stats: JitterStats::default(),
        })
    }

    /// Takes a packet that arrived at `now`.
    pub fn push(&mut self, now: Instant, packet: Arrival) -> PushOutcome {
        let (key, resync) = self.place(now, &packet);
        if self.frames.contains_key(&key) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        if resync {
            self.estimator.restart();
        }
        // Late packets are the jitter that matters: they count before being dropped.
        self.estimator.observe(now, key);
        if let State::Playing { next, .. } = self.state
            && key < next
        {
            self.stats.late += 1;
            return PushOutcome::Late;
        }
        self.remember(&packet, key, resync);
        let frame = Frame {
            ssrc: packet.ssrc,
            seq: packet.seq,
            timestamp: packet.timestamp,
            payload_type: packet.payload_type,
            payload: packet.payload,
            resync,
        };
        self.frames.insert(key, frame);
        self.stats.buffered += 1;
        self.enforce_capacity();
        if let State::Idle = self.state {
            self.state = State::Buffering { since: now };
        }
        if resync {
            self.stats.resyncs += 1;
            PushOutcome::Resynced
        } else {
            PushOutcome::Buffered
        }
    }

    /// Where `packet` goes on the timeline, and whether it starts a new stream.
    fn place(&self, now: Instant, packet: &Arrival) -> (i64, bool) {
        let Some(stream) = self.stream else {
            return (i64::from(packet.timestamp), false);
        };
        if stream.ssrc == packet.ssrc && !self.is_jump(&stream, packet) {
            return (stream.key_of(packet.timestamp), false);
        }
        if let Some((old, switched_at)) = self.previous
            && old.ssrc == packet.ssrc
            && !self.is_jump(&old, packet)
            && old.key_of(packet.timestamp) < switched_at
        {
            return (old.key_of(packet.timestamp), false);
        }
        // A new stream starts where its arrival time puts it on the timeline (leaving room for
        // old packets still on their way), after the newest frame, and never in the past.
        let frame = i64::from(self.config.frame_units);
        let after = self.newest_key.map_or(0, |k| k + frame);
        let after = self.estimator.expected_media_time(now).map_or(after, |e| e.max(after));
        let key = match self.state {
            State::Playing { next, .. } => after.max(next),
            _ => after,
        };
        (key, true)
    }

    /// True when the sequence number or timestamp moved further than loss, reordering or a
    /// silence gap explain.
    fn is_jump(&self, stream: &Stream, packet: &Arrival) -> bool {
        let ahead = packet.seq.wrapping_sub(stream.last_seq);
        let seq_ok = ahead <= MAX_DROPOUT || ahead >= u16::MAX - MAX_MISORDER;
        let dt = stream.key_of(packet.timestamp) - stream.last_key;
        let frame = i64::from(self.config.frame_units);
        let back_limit = frame * (self.config.capacity as i64 + i64::from(MAX_MISORDER));
        let gap_limit = (MAX_GAP.as_secs() as i64) * i64::from(self.config.clock_rate);
        !seq_ok || dt < -back_limit || dt > gap_limit
    }

    /// Updates the stream state with a packet placed at `key` (reordered old packets leave it).
    fn remember(&mut self, packet: &Arrival, key: i64, resync: bool) {
        if resync {
            self.previous = self.stream.map(|old| (old, key));
        }
        if resync || self.stream.is_none_or(|s| key >= s.last_key) {
            self.stream =
                Some(Stream { ssrc: packet.ssrc, last_seq: packet.seq, last_ts: packet.timestamp, last_key: key });
        }
        self.newest_key = Some(self.newest_key.map_or(key, |k| k.max(key)));
    }

    fn enforce_capacity(&mut self) {
        while self.frames.len() > self.config.capacity {
            self.frames.pop_first();
            self.stats.overflow += 1;
        }
    }

    /// What to play for the frame period starting at `now`.
    pub fn pop(&mut self, now: Instant) -> Playout {
        match self.state {
            State::Idle => Playout::Empty,
            State::Buffering { since } => {
                if now.saturating_duration_since(since) < self.target_delay() {
                    return Playout::Empty;
                }
                let Some(&first) = self.frames.keys().next() else {
                    self.state = State::Idle;
                    return Playout::Empty;
                };
                self.play(first, 0, 0)
            }
            State::Playing { next, since_shrink, concealed } => match self.shrink(next, since_shrink) {
                Some(next) => self.play(next, 0, concealed),
                None => self.play(next, since_shrink + 1, concealed),
            },
        }
    }

    /// Drops the frame at `next` when more than two frames above the target are buffered;
    /// returns the new playout position, or `None` if nothing was dropped.
    fn shrink(&mut self, next: i64, since_shrink: u32) -> Option<i64> {
        let target = self.target_frames() + 2;
        if since_shrink < SHRINK_SPACING || self.buffered_frames(next) <= target {
            return None;
        }
        if self.frames.remove(&next).is_some() {
            self.stats.shrunk += 1;
        }
        Some(next + i64::from(self.config.frame_units))
    }

    /// Plays the frame period at timeline position `next`.
    fn play(&mut self, next: i64, since_shrink: u32, concealed: u32) -> Playout {
        let frame = i64::from(self.config.frame_units);
        if let Some(entry) = self.frames.first_entry()
            && *entry.key() < next + frame
        {
            let key = *entry.key();
            let f = entry.remove();
            self.state = State::Playing { next: key.max(next) + frame, since_shrink, concealed: 0 };
            self.stats.played += 1;
            return Playout::Frame(f);
        }
        if !self.frames.is_empty() {
            self.state = State::Playing { next: next + frame, since_shrink, concealed: 0 };
            self.stats.lost += 1;
            return Playout::Conceal(Conceal::Lost);
        }
        if concealed >= self.config.max_conceal {
            self.state = State::Idle;
            return Playout::Empty;
        }
        self.state = State::Playing { next, since_shrink, concealed: concealed + 1 };
        self.stats.underruns += 1;
        Playout::Conceal(Conceal::Underrun)
    }

    /// Frames from `next` to the newest buffered one, inclusive.
    fn buffered_frames(&self, next: i64) -> u32 {
        let Some((&last, _)) = self.frames.last_key_value() else {
            return 0;
        };
        let frame = i64::from(self.config.frame_units);
        u32::try_from((last - next) / frame + 1).unwrap_or(0)
    }

    fn target_frames(&self) -> u32 {
        let frame = self.config.frame_duration();
        self.target_delay().as_nanos().div_ceil(frame.as_nanos().max(1)) as u32
    }

    /// The frame the next [`JitterBuffer::pop`] would play, if it is buffered already: after a
    /// [`Conceal::Lost`], the packet that followed the lost one (an Opus decoder rebuilds the lost
    /// frame from its in-band FEC).
    pub fn peek_next(&self) -> Option<&Frame> {
        let State::Playing { next, .. } = self.state else {
            return None;
        };
        let (&key, frame) = self.frames.first_key_value()?;
        (key < next + i64::from(self.config.frame_units)).then_some(frame)
    }

    /// The playout delay the buffer aims for now.
    pub fn target_delay(&self) -> Duration {
        let c = &self.config;
        self.estimator.target_delay(c.frame_duration(), c.min_delay, c.max_delay)
    }

    /// The RFC 3550 interarrival jitter measured so far.
    pub fn jitter(&self) -> Duration {
        self.estimator.jitter()
    }

    /// The interarrival jitter in RTP clock units, for an RTCP receiver report (RFC 3550 §6.4.1).
    pub fn jitter_units(&self) -> u32 {
        self.estimator.jitter_units() as u32
    }

    /// Frames held.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when no frame is held.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }
}
