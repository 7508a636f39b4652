//! Media for the door station: what the station sends and receives over RTP (RFC 3550) during a
//! call, with simulated sources until the camera and microphone back-ends exist.
//!
//! # The loop
//!
//! The station's media shell (in the `door-station` daemon) owns the sockets and drives this
//! crate; nothing here opens a socket, and only [`sources`] reads the clock.
//!
//! 1. [`sources::Camera`] encodes the moving test pattern ([`h264`]) at the configured frame rate
//!    and sends [`h264::AccessUnit`]s over a channel; [`sources::Microphone`] sends 20 ms tone
//!    frames ([`tone`]).
//! 2. For each access unit the shell calls [`fanout::VideoFanout::send`], which packetizes it once
//!    ([`packetize`], RFC 6184 packetization-mode=1) and returns `(destination, RTP bytes)` for
//!    every destination. A destination added for a new early dialog waits for the next IDR (which
//!    always starts with SPS and PPS), and adding it asks for one: the shell then calls
//!    [`sources::KeyframeTrigger::request`]. Audio frames go through
//!    [`fanout::AudioFanout::send_frame`] (Opus via [`opus`], or G.711 via [`g711`]), stamped with
//!    the microphone's frame index.
//! 3. Incoming RTP is parsed by [`rtp_session::RtpReceiver`], whose last-packet time feeds the
//!    call's media-inactivity timeout; telephone events go to [`dtmf::DtmfDecoder`], which turns
//!    them into digits exactly once (`feed(now, packet)`, then `poll_timeout(now)` until `None`,
//!    and again at `next_timeout()`).
//!
//! Before the camera runs, [`h264::sdp_parameters`] gives the `profile-level-id` and
//! `sprop-parameter-sets` for the SDP offer.
//!
//! Random starting values (SSRC, sequence number, timestamp; RFC 3550 §5.1) are chosen by the
//! caller and passed in [`rtp_session::SenderConfig`].
//!
//! # What it does not do (yet)
//!
//! - No capture or playback hardware: no V4L2/libcamera, ALSA or GStreamer; sources are simulated.
//! - No jitter buffer or playout of received audio, no RTCP receiver reports or RTCP parsing
//!   (a sender report can be built), no SRTP, no congestion control.
//! - Received H.264 is depacketized (for tests), not displayed.
//! - G.711 is made from 48 kHz audio by plain 6:1 averaging, not a proper resampler.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dtmf;
pub mod fanout;
pub mod g711;
pub mod h264;
pub mod opus;
pub mod packetize;
pub mod rtp_session;
pub mod sources;
pub mod tone;
