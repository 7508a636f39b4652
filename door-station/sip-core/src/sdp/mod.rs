//! SDP (RFC 8866) and the offer/answer model (RFC 3264) for the station's
//! calls: audio (Opus, PCMU, PCMA, RFC 4733 telephone-event) and one-way
//! H.264 video (RFC 6184, packetization-mode 1, and mode 0 when the encoder
//! keeps NAL units to one packet).
//!
//! - [`SessionDescription::parse`] is total: any input gives a description
//!   or an [`SdpError`] naming the line. LF-only line ends are accepted;
//!   unknown attributes are kept in order and written back.
//! - `Display` writes a description with CRLF line ends.
//! - [`offer`] builds the door's offer from [`LocalCaps`]; [`answer`]
//!   answers a remote offer; [`negotiate`] (we offered) and
//!   [`negotiate_answered`] (we answered) turn an offer/answer pair into the
//!   [`Negotiated`] media paths the media threads need.
//!
//! ```
//! use ds_sip::sdp::{Direction, LocalCaps, SessionDescription, negotiate, offer};
//! use std::net::{IpAddr, Ipv4Addr};
//!
//! let door = IpAddr::V4(Ipv4Addr::LOCALHOST);
//! let ours = offer(&LocalCaps::default(), door, (20000, 20002), 1);
//! let body = ours.to_string(); // the INVITE body
//! let answer = SessionDescription::parse(
//!     "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n\
//!      m=audio 16000 RTP/AVP 0\na=recvonly\nm=video 0 RTP/AVP 102\n",
//! )
//! .unwrap();
//! let paths = negotiate(&ours, &answer);
//! let audio = paths.audio.unwrap();
//! assert_eq!((audio.codec.pt, audio.direction), (0, Direction::SendOnly));
//! assert_eq!(audio.remote.port(), 16000);
//! assert!(paths.video.is_none()); // rejected with port 0
//! # assert!(body.starts_with("v=0\r\n"));
//! ```
//!
//! Not handled: ICE, SRTP (`RTP/SAVP` streams are rejected), bundling,
//! simulcast, multicast TTLs beyond keeping them in the address text.

mod answer;
mod caps;
mod negotiate;
mod parse;
mod write;

#[cfg(test)]
mod samples;
#[cfg(test)]
mod tests;

pub use answer::answer;
pub use caps::{
    AudioCodec, LocalCaps, PT_H264, PT_H264_MODE0, PT_OPUS, PT_TELEPHONE_EVENT_8K, PT_TELEPHONE_EVENT_48K, VideoCaps,
    offer,
};
pub use negotiate::{MediaPath, Negotiated, negotiate, negotiate_answered};

use std::net::IpAddr;

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`: the originator and session id/version.
    pub origin: Origin,
    /// `s=`: the session name (`-` when absent).
    pub name: String,
    /// Session-level `c=`, the default for media without their own.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines, as `type:value` text.
    pub bandwidths: Vec<String>,
    /// `t=` lines as (start, stop); `t=0 0` is the usual one.
    pub times: Vec<(u64, u64)>,
    /// Session-level direction attribute, if written.
    pub direction: Option<Direction>,
    /// Other session-level attributes, in order.
    pub attributes: Vec<Attribute>,
    /// Other session-level lines (`i=`, `u=`, `e=`, `p=`, `r=`, `z=`, `k=`)
    /// as (type letter, value), in order.
    pub other: Vec<(char, String)>,
    /// The media descriptions (`m=` sections), in order.
    pub media: Vec<MediaDescription>,
}

/// The `o=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id (a numeric string per RFC 8866 §5.2).
    pub session_id: String,
    /// Session version, increased with each new description.
    pub session_version: String,
    /// The originator's address.
    pub connection: Connection,
}

/// A `c=` line (or the address part of `o=`): `IN IP4 192.0.2.1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// The address as written (may be a name or carry `/ttl`).
    pub address: String,
}

impl Connection {
    /// `IN IP4 a.b.c.d` or `IN IP6 ...` for an IP address.
    pub fn ip(addr: IpAddr) -> Connection {
        let addr_type = if addr.is_ipv4() { "IP4" } else { "IP6" };
        Connection { net_type: "IN".into(), addr_type: addr_type.into(), address: addr.to_string() }
    }

    /// The address as an IP, ignoring a multicast `/ttl` suffix; `None` for
    /// a host name.
    pub fn ip_addr(&self) -> Option<IpAddr> {
        let host = self.address.split('/').next().unwrap_or_default();
        host.parse().ok()
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `application`, ...
    pub kind: String,
    /// The transport port; 0 means the stream is rejected or disabled.
    pub port: u16,
    /// The `/<number of ports>` of `m=`, if written.
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `RTP/AVPF`, `RTP/SAVP`, ...
    pub proto: String,
    /// The format list as written (RTP payload types for RTP profiles).
    pub formats: Vec<String>,
    /// Media-level `c=`.
    pub connection: Option<Connection>,
    /// Media-level `b=` lines, as `type:value` text.
    pub bandwidths: Vec<String>,
    /// The direction in effect: the media-level attribute, else the
    /// session-level one, else `sendrecv` (RFC 8866 §6.7).
    pub direction: Direction,
    /// `a=rtpmap:` lines.
    pub rtpmap: Vec<RtpMap>,
    /// `a=fmtp:` lines as (format, parameters).
    pub fmtp: Vec<(String, String)>,
    /// Other attributes (`rtcp`, `ssrc`, `ptime`, unknown ones), in order.
    pub attributes: Vec<Attribute>,
    /// Other media-level lines (`i=`, `k=`) as (type letter, value).
    pub other: Vec<(char, String)>,
}

/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// The payload type.
    pub pt: u8,
    /// The encoding name as written (compare case-insensitively).
    pub encoding: String,
    /// The RTP clock rate in Hz.
    pub clock: u32,
    /// The channel count, if written.
    pub channels: Option<u8>,
}

/// A property or value attribute, `a=name` or `a=name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name.
    pub name: String,
    /// The value after the first `:`, if any.
    pub value: Option<String>,
}

/// The media direction attributes (RFC 8866 §6.7, RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Send and receive (the default).
    #[default]
    SendRecv,
    /// Send only.
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn token(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction for an attribute name, if it is one.
    pub fn from_token(token: &str) -> Option<Direction> {
        [Direction::SendRecv, Direction::SendOnly, Direction::RecvOnly, Direction::Inactive]
            .into_iter()
            .find(|d| d.token() == token)
    }

    fn from_flags(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// This side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// This side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other end: sendonly ↔ recvonly.
    pub fn reversed(self) -> Direction {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What both allow: send only if both allow sending, and so on.
    pub fn intersect(self, other: Direction) -> Direction {
        Direction::from_flags(self.sends() && other.sends(), self.receives() && other.receives())
    }
}

/// A codec as used on one media path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// The RTP payload type to send with.
    pub pt: u8,
    /// The encoding name as written in the remote description.
    pub name: String,
    /// The RTP clock rate.
    pub clock: u32,
    /// Channels (1 unless the rtpmap says otherwise).
    pub channels: u8,
    /// The `a=fmtp` parameters for this payload type, if any.
    pub fmtp: Option<String>,
}

/// Why a session description could not be parsed. `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// No lines at all.
    #[error("empty session description")]
    Empty,
    /// A line that is not `<letter>=<value>`.
    #[error("line {line}: expected `<type>=<value>`, found {text:?}")]
    Malformed {
        /// Line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A type letter RFC 8866 does not define (§5: reject, do not guess).
    #[error("line {line}: unknown line type {letter:?}")]
    UnknownType {
        /// Line number.
        line: usize,
        /// The type letter.
        letter: char,
    },
    /// The first line is not `v=0`.
    #[error("line {line}: expected `v=0`, found {text:?}")]
    Version {
        /// Line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A line type that cannot appear where it is (e.g. `s=` after `m=`).
    #[error("line {line}: `{letter}=` is not allowed here")]
    OutOfPlace {
        /// Line number.
        line: usize,
        /// The type letter.
        letter: char,
    },
    /// A required line is absent (`o=` before the first `m=`).
    #[error("missing `{letter}=` line")]
    Missing {
        /// The type letter.
        letter: char,
    },
    /// A field of a known line has the wrong shape.
    #[error("line {line}: bad {field}: {value:?}")]
    BadField {
        /// Line number.
        line: usize,
        /// Which field, e.g. "m= port".
        field: &'static str,
        /// The text found.
        value: String,
    },
}

impl SessionDescription {
    /// Parses a description (see the module docs).
    pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
        parse::parse(text)
    }
}

impl SessionDescription {
    /// True when at least one stream has a non-zero port; an answer without
    /// one is a refusal (the caller would send 488 instead).
    pub fn accepts_any(&self) -> bool {
        self.media.iter().any(|m| !m.is_rejected())
    }
}

impl MediaDescription {
    /// The RTCP port: `a=rtcp` (RFC 3605) if present, else RTP port + 1
    /// (RFC 3550 §11).
    pub fn rtcp_port(&self) -> u16 {
        self.attribute("rtcp")
            .and_then(|a| a.value.as_deref())
            .and_then(|v| v.split_ascii_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(self.port.wrapping_add(1))
    }

    /// True for an `m=` line with port 0 (rejected or disabled).
    pub fn is_rejected(&self) -> bool {
        self.port == 0
    }

    /// The `a=fmtp` parameters for `format`.
    pub fn fmtp_for(&self, format: &str) -> Option<&str> {
        self.fmtp.iter().find(|(f, _)| f == format).map(|(_, p)| p.as_str())
    }

    /// The first attribute named `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The codec of each RTP payload type in the format list, in order:
    /// from `a=rtpmap`, or the RFC 3551 static table for PCMU (0), GSM (3),
    /// PCMA (8), G722 (9) and G729 (18) when the rtpmap is missing. Formats
    /// that are not numbers or have no known mapping are skipped.
    pub fn codecs(&self) -> Vec<Codec> {
        self.formats.iter().filter_map(|f| self.codec(f)).collect()
    }

    fn codec(&self, format: &str) -> Option<Codec> {
        let pt: u8 = format.parse().ok().filter(|pt| *pt < 128)?;
        let (name, clock, channels) = match self.rtpmap.iter().find(|m| m.pt == pt) {
            Some(map) => (map.encoding.clone(), map.clock, map.channels.unwrap_or(1)),
            None => {
                let (name, clock) = static_payload(pt)?;
                (name.to_string(), clock, 1)
            }
        };
        Some(Codec { pt, name, clock, channels, fmtp: self.fmtp_for(format).map(str::to_string) })
    }
}

/// RFC 3551 §6 static audio payload types that are still seen in SIP.
fn static_payload(pt: u8) -> Option<(&'static str, u32)> {
    match pt {
        0 => Some(("PCMU", 8000)),
        3 => Some(("GSM", 8000)),
        8 => Some(("PCMA", 8000)),
        9 => Some(("G722", 8000)),
        18 => Some(("G729", 8000)),
        _ => None,
    }
}
