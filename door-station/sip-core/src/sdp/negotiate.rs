//! From an offer/answer pair to the media paths the station runs.
//!
//! `m=` lines are paired by position (RFC 3264 §6). For each kind, the
//! first pair that both sides accepted (port ≠ 0) and that has a codec we
//! implement gives the path:
//! - the codec is the first format of the *answer* that we support (the
//!   answerer's choice, RFC 3264 §6.1), sent with the payload type the
//!   *remote* side listed for it (each side names the numbers it receives);
//! - the remote address is the remote `m=` port at the media-level `c=`, else
//!   the session-level `c=`; without an IP address there is no path;
//! - the direction is ours: what our side allows, limited by the remote
//!   side's direction seen from our end. A remote `c=` of `0.0.0.0` (the
//!   RFC 2543 hold form) stops our sending.
//! - H.264 needs the same packetization-mode (0 or 1; no mode means 0, RFC
//!   6184 §8.1) on both sides. Mode 0 is only in our offer or answer when the
//!   encoder keeps NAL units to one packet. When the answer has both, mode 1
//!   is taken (a NAL unit that is too large still goes, as FU-A). One
//!   leniency: an *answer* that repeats our mode-1 payload type without any
//!   `packetization-mode` is read as mode 1, since it answers that format.

use std::net::{IpAddr, SocketAddr};

use super::caps::{AudioCodec, fmtp_param, is_h264_mode1, telephone_event_for};
use super::{Codec, Connection, Direction, MediaDescription, SessionDescription};

/// The negotiated media of one dialog.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Negotiated {
    /// The audio path, if audio was accepted.
    pub audio: Option<MediaPath>,
    /// The video path, if video was accepted.
    pub video: Option<MediaPath>,
}

/// One negotiated RTP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPath {
    /// Where to send RTP.
    pub remote: SocketAddr,
    /// The codec, with the payload type to send with.
    pub codec: Codec,
    /// The telephone-event payload type to send RFC 4733 events with.
    pub telephone_event: Option<u8>,
    /// Our direction: `SendOnly` means we send and do not expect media.
    pub direction: Direction,
}

/// The paths after our offer got `remote_answer` (a 183 or 200 body).
pub fn negotiate(local_offer: &SessionDescription, remote_answer: &SessionDescription) -> Negotiated {
    paths(local_offer, remote_answer, true)
}

/// The paths after we answered `remote_offer` with `local_answer`.
pub fn negotiate_answered(remote_offer: &SessionDescription, local_answer: &SessionDescription) -> Negotiated {
    paths(remote_offer, local_answer, false)
}

fn paths(offer: &SessionDescription, answer: &SessionDescription, we_offered: bool) -> Negotiated {
    let (local, remote) = if we_offered { (offer, answer) } else { (answer, offer) };
    let mut out = Negotiated::default();
    for (i, (offered, answered)) in offer.media.iter().zip(&answer.media).enumerate() {
        let slot = match answered.kind.as_str() {
            "audio" => &mut out.audio,
            "video" => &mut out.video,
            _ => continue,
        };
        if slot.is_some() || offered.is_rejected() || answered.is_rejected() || offered.kind != answered.kind {
            continue;
        }
        let pair = Pair::new(offered, answered);
        let codecs = if we_offered { &pair.answer } else { &pair.offer };
        *slot = pair.path(&local.media[i], &remote.media[i], codecs, remote.connection.as_ref());
    }
    out
}

/// The codecs of the offered and answered `m=` line at one position.
struct Pair {
    offer: Vec<Codec>,
    /// The answer's codecs; an H.264 format without `packetization-mode`
    /// on a payload type we offered with mode 1 is read as mode 1 (answers
    /// often leave fmtp out, and the payload type is the offer's).
    answer: Vec<Codec>,
    kind: String,
}

impl Pair {
    fn new(offered: &MediaDescription, answered: &MediaDescription) -> Pair {
        let offer = offered.codecs();
        let answer = answered.codecs().into_iter().map(|c| inherit_mode(c, &offer)).collect();
        Pair { offer, answer, kind: answered.kind.clone() }
    }

    fn path(
        &self,
        local: &MediaDescription,
        remote: &MediaDescription,
        remote_codecs: &[Codec],
        session_c: Option<&Connection>,
    ) -> Option<MediaPath> {
        let chosen = self.chosen_codec()?;
        let codec = remote_codecs.iter().find(|c| same_codec(c, chosen))?.clone();
        let ip = remote_ip(remote, session_c)?;
        let mut direction = local.direction.intersect(remote.direction.reversed());
        if ip.is_unspecified() {
            direction = direction.intersect(Direction::RecvOnly);
        }
        let telephone_event = match self.kind.as_str() {
            "audio" => telephone_event_for(remote_codecs, codec.clock).map(|c| c.pt),
            _ => None,
        };
        Some(MediaPath { remote: SocketAddr::new(ip, remote.port), codec, telephone_event, direction })
    }

    /// The answer's first codec that we implement and that was offered; for
    /// video its first H.264 in mode 1, else in mode 0.
    fn chosen_codec(&self) -> Option<&Codec> {
        let mut both = self.answer.iter().filter(|c| self.offer.iter().any(|o| same_codec(o, c)));
        match self.kind.as_str() {
            "audio" => both.find(|c| AudioCodec::matching(c).is_some()),
            "video" => {
                let h264: Vec<&Codec> = both.filter(|c| h264_mode(c).is_some()).collect();
                h264.iter().find(|c| is_h264_mode1(c)).or(h264.first()).copied()
            }
            _ => None,
        }
    }
}

/// An answered H.264 format without `packetization-mode` takes the fmtp of
/// the offered format with the same payload type if that one is mode 1.
fn inherit_mode(mut codec: Codec, offer: &[Codec]) -> Codec {
    let silent = codec.fmtp.as_deref().and_then(|f| fmtp_param(f, "packetization-mode")).is_none();
    if codec.name.eq_ignore_ascii_case("H264")
        && silent
        && let Some(o) = offer.iter().find(|o| o.pt == codec.pt && is_h264_mode1(o))
    {
        codec.fmtp = o.fmtp.clone();
    }
    codec
}

/// Same encoding, clock and channels; for H.264 also the same
/// packetization-mode, 0 or 1, and the same payload type on both sides (the
/// payload type names the format: an answer keeps the offer's numbers,
/// RFC 3264 §6.1, and ours are 102 for mode 1 and 103 for mode 0). Opus is always `/2` (RFC 7587 §7), so a peer that leaves
/// the channel count out still means the same codec.
fn same_codec(a: &Codec, b: &Codec) -> bool {
    let opus = a.name.eq_ignore_ascii_case("opus");
    a.name.eq_ignore_ascii_case(&b.name)
        && a.clock == b.clock
        && (a.channels == b.channels || opus)
        && (!a.name.eq_ignore_ascii_case("H264")
            || (h264_mode(a).is_some() && h264_mode(a) == h264_mode(b) && a.pt == b.pt))
}

/// The packetization mode of an H.264 format we can send: 0 or 1.
fn h264_mode(codec: &Codec) -> Option<u8> {
    codec.h264_packetization_mode().filter(|m| *m <= 1)
}

fn remote_ip(m: &MediaDescription, session_c: Option<&Connection>) -> Option<IpAddr> {
    m.connection.as_ref().or(session_c)?.ip_addr()
}
