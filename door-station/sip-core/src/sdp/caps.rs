//! What the station can do ([`LocalCaps`]) and its offer ([`offer`]).
//!
//! Payload types in our offers: PCMU 0 and PCMA 8 (static, RFC 3551), Opus
//! 96 (`opus/48000/2`, RFC 7587), telephone-event 97 at 48 kHz (with Opus)
//! and 101 at 8 kHz (RFC 4733), H.264 102 in packetization-mode 1 and 103 in
//! mode 0 (RFC 6184). When answering, the offer's payload type numbers are
//! kept (RFC 3264 §6.1 recommends it).

use std::net::IpAddr;

use super::{Codec, Connection, Direction, MediaDescription, Origin, RtpMap, SessionDescription};

/// Opus payload type in our offers.
pub const PT_OPUS: u8 = 96;
/// telephone-event/48000 payload type in our offers.
pub const PT_TELEPHONE_EVENT_48K: u8 = 97;
/// telephone-event/8000 payload type in our offers.
pub const PT_TELEPHONE_EVENT_8K: u8 = 101;
/// H.264 packetization-mode 1 payload type in our offers.
pub const PT_H264: u8 = 102;
/// H.264 packetization-mode 0 payload type in our offers (same stream, same
/// profile; only offered when the encoder keeps NAL units to one packet).
pub const PT_H264_MODE0: u8 = 103;

/// The DTMF events we send and accept: digits, `*`, `#`, A–D, flash
/// (RFC 4733 §3.2).
pub(super) const EVENTS: &str = "0-16";
const OPUS_FMTP: &str = "useinbandfec=1";
const PTIME_MS: &str = "20";

/// An audio codec the station implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// Opus, `opus/48000/2` (RFC 7587), with in-band FEC.
    Opus,
    /// G.711 µ-law, `PCMU/8000`.
    Pcmu,
    /// G.711 A-law, `PCMA/8000`.
    Pcma,
}

impl AudioCodec {
    /// The rtpmap encoding name.
    pub fn name(self) -> &'static str {
        match self {
            AudioCodec::Opus => "opus",
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }

    /// The codec for a configuration name (`"opus"`, `"pcmu"`, `"pcma"`,
    /// any case), as in `station.toml` `media.audio_codecs`.
    pub fn from_name(name: &str) -> Option<AudioCodec> {
        [AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma].into_iter().find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The RTP clock rate.
    pub fn clock(self) -> u32 {
        match self {
            AudioCodec::Opus => 48000,
            AudioCodec::Pcmu | AudioCodec::Pcma => 8000,
        }
    }

    pub(super) fn channels(self) -> Option<u8> {
        (self == AudioCodec::Opus).then_some(2)
    }

    fn offer_pt(self) -> u8 {
        match self {
            AudioCodec::Opus => PT_OPUS,
            AudioCodec::Pcmu => 0,
            AudioCodec::Pcma => 8,
        }
    }

    pub(super) fn fmtp(self) -> Option<&'static str> {
        (self == AudioCodec::Opus).then_some(OPUS_FMTP)
    }

    /// The codec a remote rtpmap names, if we implement it.
    pub fn matching(codec: &Codec) -> Option<AudioCodec> {
        [AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma]
            .into_iter()
            .find(|c| codec.name.eq_ignore_ascii_case(c.name()) && codec.clock == c.clock())
    }
}

/// The station's H.264 video (constrained baseline, packetization-mode 1,
/// and mode 0 when `single_nal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoCaps {
    /// `profile-level-id`, `42e01f` (constrained baseline, level 3.1).
    pub profile_level_id: String,
    /// `sprop-parameter-sets` (base64 SPS,PPS), if known before the call.
    pub sprop_parameter_sets: Option<String>,
    /// The direction we offer: `sendonly` for a door camera.
    pub direction: Direction,
    /// The encoder keeps every NAL unit within one RTP packet, so the stream
    /// can also go in packetization-mode 0 (single NAL unit packets only,
    /// RFC 6184 §6.2), which is all some softphones (linphone with
    /// OpenH264) take.
    pub single_nal: bool,
}

impl Default for VideoCaps {
    fn default() -> Self {
        VideoCaps {
            profile_level_id: "42e01f".into(),
            sprop_parameter_sets: None,
            direction: Direction::SendOnly,
            single_nal: true,
        }
    }
}

impl VideoCaps {
    /// The fmtp of our stream in packetization-mode `mode` (0 or 1).
    pub(super) fn fmtp(&self, mode: u8) -> String {
        let mut fmtp = format!("profile-level-id={};packetization-mode={mode}", self.profile_level_id);
        if let Some(sprop) = &self.sprop_parameter_sets {
            fmtp.push_str(&format!(";sprop-parameter-sets={sprop}"));
        }
        fmtp
    }
}

/// What the station offers and accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCaps {
    /// Audio codecs in preference order; empty = no audio.
    pub audio: Vec<AudioCodec>,
    /// Offer and accept RFC 4733 telephone-event.
    pub telephone_event: bool,
    /// H.264 video; `None` = no video.
    pub video: Option<VideoCaps>,
}

impl Default for LocalCaps {
    /// Opus, PCMU, PCMA, telephone-event, and send-only H.264.
    fn default() -> Self {
        LocalCaps {
            audio: vec![AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma],
            telephone_event: true,
            video: Some(VideoCaps::default()),
        }
    }
}

/// The value of `key` in an fmtp parameter list (`a=1;b=2`).
pub(super) fn fmtp_param<'a>(fmtp: &'a str, key: &str) -> Option<&'a str> {
    fmtp.split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
}

impl Codec {
    /// The RFC 6184 `packetization-mode` of an H.264 format: 0 when the
    /// parameter is absent (§8.1); `None` for another codec or a value
    /// that is not a number.
    pub fn h264_packetization_mode(&self) -> Option<u8> {
        if !self.name.eq_ignore_ascii_case("H264") || self.clock != 90000 {
            return None;
        }
        match self.fmtp.as_deref().and_then(|f| fmtp_param(f, "packetization-mode")) {
            None => Some(0),
            Some(mode) => mode.parse().ok(),
        }
    }
}

/// H.264 in packetization-mode 1.
pub(super) fn is_h264_mode1(codec: &Codec) -> bool {
    codec.h264_packetization_mode() == Some(1)
}

/// H.264 in a packetization mode `video` can send: 1 always; 0 (single
/// NAL units only) when the encoder keeps NAL units to one packet. Mode 2
/// (interleaved) is not implemented.
pub(super) fn is_h264_for(codec: &Codec, video: &VideoCaps) -> bool {
    match codec.h264_packetization_mode() {
        Some(1) => true,
        Some(0) => video.single_nal,
        _ => false,
    }
}

pub(super) fn is_telephone_event(codec: &Codec) -> bool {
    codec.name.eq_ignore_ascii_case("telephone-event")
}

/// The RTP profiles we can answer: plain RTP, with or without feedback.
pub(super) fn is_rtp_profile(proto: &str) -> bool {
    proto == "RTP/AVP" || proto == "RTP/AVPF"
}

/// An empty media section.
pub(super) fn media(kind: &str, port: u16, proto: &str, direction: Direction) -> MediaDescription {
    MediaDescription {
        kind: kind.into(),
        port,
        port_count: None,
        proto: proto.into(),
        formats: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        direction,
        rtpmap: Vec::new(),
        fmtp: Vec::new(),
        attributes: Vec::new(),
        other: Vec::new(),
    }
}

impl MediaDescription {
    /// Adds a payload type with its rtpmap and fmtp lines.
    pub(super) fn push_format(&mut self, pt: u8, encoding: &str, clock: u32, channels: Option<u8>, fmtp: Option<&str>) {
        self.formats.push(pt.to_string());
        self.rtpmap.push(RtpMap { pt, encoding: encoding.into(), clock, channels });
        if let Some(params) = fmtp {
            self.fmtp.push((pt.to_string(), params.into()));
        }
    }

    pub(super) fn push_ptime(&mut self) {
        self.attributes.push(super::Attribute { name: "ptime".into(), value: Some(PTIME_MS.into()) });
    }
}

/// A description with our origin and session-level `c=`, no media yet.
pub(super) fn session(addr: IpAddr, session_id: u64) -> SessionDescription {
    SessionDescription {
        origin: Origin {
            username: "door-station".into(),
            session_id: session_id.to_string(),
            session_version: session_id.to_string(),
            connection: Connection::ip(addr),
        },
        name: "door-station".into(),
        connection: Some(Connection::ip(addr)),
        bandwidths: Vec::new(),
        times: vec![(0, 0)],
        direction: None,
        attributes: Vec::new(),
        other: Vec::new(),
        media: Vec::new(),
    }
}

/// The door's offer: audio `sendrecv` with the codecs of `caps` in order and
/// telephone-event (at 48 kHz too when Opus is offered); video H.264
/// packetization-mode 1, then mode 0 if the encoder allows it (one stream,
/// two formats), in `caps.video.direction` (`sendonly`). `ports` are
/// (audio, video); a port of 0 leaves that medium out.
pub fn offer(caps: &LocalCaps, addr: IpAddr, ports: (u16, u16), session_id: u64) -> SessionDescription {
    let mut sdp = session(addr, session_id);
    if !caps.audio.is_empty() && ports.0 != 0 {
        sdp.media.push(audio_offer(caps, ports.0));
    }
    if let (Some(video), true) = (&caps.video, ports.1 != 0) {
        let mut m = media("video", ports.1, "RTP/AVP", video.direction);
        m.push_format(PT_H264, "H264", 90000, None, Some(&video.fmtp(1)));
        if video.single_nal {
            m.push_format(PT_H264_MODE0, "H264", 90000, None, Some(&video.fmtp(0)));
        }
        sdp.media.push(m);
    }
    sdp
}

fn audio_offer(caps: &LocalCaps, port: u16) -> MediaDescription {
    let mut m = media("audio", port, "RTP/AVP", Direction::SendRecv);
    for codec in &caps.audio {
        m.push_format(codec.offer_pt(), codec.name(), codec.clock(), codec.channels(), codec.fmtp());
    }
    if caps.telephone_event {
        if caps.audio.contains(&AudioCodec::Opus) {
            m.push_format(PT_TELEPHONE_EVENT_48K, "telephone-event", 48000, None, Some(EVENTS));
        }
        m.push_format(PT_TELEPHONE_EVENT_8K, "telephone-event", 8000, None, Some(EVENTS));
    }
    m.push_ptime();
    m
}

/// The telephone-event of `codecs` to pair with an audio codec at `clock`:
/// the same clock if offered (RFC 4733 §2.1), else any.
pub(super) fn telephone_event_for(codecs: &[Codec], clock: u32) -> Option<&Codec> {
    let mut events = codecs.iter().filter(|c| is_telephone_event(c));
    let first = events.clone().next();
    events.find(|c| c.clock == clock).or(first)
}
