//! SDP for the engine's calls: our offer, answers to remote offers, and the
//! media paths an offer/answer pair gives (RFC 3264, via `ds_sip::sdp`),
//! with SDES-SRTP per `[media] srtp` ([`super::sdes`]).
//!
//! H.264 profile (RFC 6184 §8.1): our offer carries the camera's actual
//! `profile-level-id`, or `42e01f` (constrained baseline, level 3.1) before
//! the camera has encoded a frame. Constrained baseline is a subset of
//! every H.264 profile a receiver can name, so any profile in the answer
//! decodes our stream; only the level can be too high. The camera's one
//! encoder feeds every early dialog at once (ds-media's `VideoFanout`), so
//! one answer cannot re-level it: when the answer asks a lower level than
//! ours ([`video_fit`] gives [`VideoFit::AboveAnswer`]), the station logs a
//! warning and keeps sending (configure `[media] video_width/height/fps`
//! within the lower level if such peers matter). An answer without
//! `profile-level-id` means baseline level 1 by the RFC, but many peers
//! simply omit it, so that is only logged at debug level.

use ds_sip::sdp::{self, Negotiated, SessionDescription};

use super::Core;
use super::sdes::{self, StreamProtection};

/// The negotiated paths of a dialog and how each is protected.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaPaths {
    /// Where and with which codecs.
    pub rtp: Negotiated,
    /// SRTP keys per stream (plain RTP when not negotiated); boxed, as
    /// media commands travel in the engine's outputs.
    pub srtp: Box<StreamProtection>,
    /// Where the peer takes RTCP per stream: its `a=rtcp` port (RFC 3605)
    /// or RTP port + 1, at the stream's RTP address.
    pub rtcp: RtcpTargets,
}

/// The peer's RTCP addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtcpTargets {
    /// Audio RTCP.
    pub audio: Option<std::net::SocketAddr>,
    /// Video RTCP.
    pub video: Option<std::net::SocketAddr>,
}

impl RtcpTargets {
    /// From the negotiated paths and the peer's SDP; none for a stream on
    /// hold with `c=0.0.0.0` (RFC 2543's form: nothing is sent to it).
    pub fn of(rtp: &Negotiated, remote: &SessionDescription) -> RtcpTargets {
        let at = |path: Option<&sdp::MediaPath>, kind: &str| {
            let path = path.filter(|p| !p.remote.ip().is_unspecified())?;
            let m = remote.media.iter().find(|m| m.kind == kind && !m.is_rejected())?;
            Some(std::net::SocketAddr::new(path.remote.ip(), m.rtcp_port()))
        };
        RtcpTargets { audio: at(rtp.audio.as_ref(), "audio"), video: at(rtp.video.as_ref(), "video") }
    }
}

impl std::ops::Deref for MediaPaths {
    type Target = Negotiated;
    fn deref(&self) -> &Negotiated {
        &self.rtp
    }
}

fn ports(core: &Core) -> (u16, u16) {
    (core.cfg.media.audio_port, core.cfg.media.video_port)
}

fn key(core: &mut Core) -> ds_media::srtp::MasterKey {
    let counter = core.ids.next();
    sdes::key(&core.cfg.media.srtp_secret, counter)
}

/// The station's offer: audio sendrecv, H.264 video sendonly.
pub fn offer(core: &mut Core) -> SessionDescription {
    let origin_id = core.ids.next() >> 1;
    let m = &core.cfg.media;
    let mut offer = sdp::offer(&m.caps, m.addr, ports(core), origin_id);
    let policy = core.cfg.media.srtp;
    sdes::protect_offer(&mut offer, policy, || key(core));
    offer
}

/// The paths after our `offer` got this answer body; `None` when the body
/// is not SDP, nothing could be negotiated or the answer's SRTP does not
/// match the offer's.
pub fn negotiate(offer: &SessionDescription, answer: &[u8]) -> Option<MediaPaths> {
    let answer = parse(answer)?;
    let rtp = sdp::negotiate(offer, &answer);
    let srtp = sdes::accept_answer(offer, &answer)
        .map_err(|e| tracing::warn!(error = %e, "the answer's SRTP is not usable; no media"))
        .ok()?;
    let rtcp = RtcpTargets::of(&rtp, &answer);
    log_video_fit(offer, &answer, &rtp);
    (rtp.audio.is_some() || rtp.video.is_some()).then_some(MediaPaths { rtp, srtp: Box::new(srtp), rtcp })
}

/// Our answer to a remote offer body, and its paths; `None` when the body is
/// not SDP or no stream could be accepted (the caller answers 488).
pub fn answer(core: &mut Core, offer: &[u8]) -> Option<(SessionDescription, MediaPaths)> {
    let offer = parse(offer)?;
    let origin_id = core.ids.next() >> 1;
    let m = &core.cfg.media;
    let mut answer = sdp::answer(&sdes::as_plain(&offer), &m.caps, m.addr, ports(core), origin_id);
    let policy = core.cfg.media.srtp;
    let srtp = sdes::protect_answer(&offer, &mut answer, policy, || key(core));
    let rtp = sdp::negotiate_answered(&sdes::as_plain(&offer), &answer);
    let rtcp = RtcpTargets::of(&rtp, &offer);
    log_video_fit(&answer, &offer, &rtp);
    (rtp.audio.is_some() || rtp.video.is_some()).then_some((answer, MediaPaths { rtp, srtp: Box::new(srtp), rtcp }))
}

/// True when the remote side sends us something (audio or video), so its
/// silence can be timed. A peer holding with `c=0.0.0.0` is taken as silent.
pub fn remote_sends(paths: &Negotiated) -> bool {
    [&paths.audio, &paths.video]
        .into_iter()
        .flatten()
        .any(|p| p.direction.receives() && !p.remote.ip().is_unspecified())
}

/// `ip:port` for the `early_media` event: where the video goes (else the audio).
pub fn remote_label(paths: &Negotiated) -> String {
    paths.video.as_ref().or(paths.audio.as_ref()).map(|p| p.remote.to_string()).unwrap_or_default()
}

fn parse(body: &[u8]) -> Option<SessionDescription> {
    SessionDescription::parse(std::str::from_utf8(body).ok()?).ok()
}

/// How our H.264 stream fits what the peer asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoFit {
    /// The peer's level is ours or higher: nothing to do.
    Fits,
    /// The peer named a lower level (`level_idc` values, 9 for level 1b).
    AboveAnswer {
        /// Our level.
        ours: u8,
        /// The peer's.
        asked: u8,
    },
    /// The peer named no (or no valid) `profile-level-id`.
    Unstated,
}

/// The `level_idc` of a `profile-level-id` in an fmtp line, level 1b as 9
/// (RFC 6184 §8.1: level_idc 11 with constraint_set3 in baseline, main and
/// extended profiles).
pub fn h264_level(fmtp: &str) -> Option<u8> {
    let value = fmtp.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("profile-level-id").then(|| v.trim())
    })?;
    let bytes = u32::from_str_radix(value, 16).ok().filter(|_| value.len() == 6)?.to_be_bytes();
    let (profile, flags, level) = (bytes[1], bytes[2], bytes[3]);
    let one_b = level == 11 && flags & 0x10 != 0 && matches!(profile, 0x42 | 0x4d | 0x58);
    Some(if one_b { 9 } else { level })
}

/// Our stream's fmtp against the peer's.
pub fn video_fit(ours: Option<&str>, theirs: Option<&str>) -> VideoFit {
    match (ours.and_then(h264_level), theirs.and_then(h264_level)) {
        (_, None) => VideoFit::Unstated,
        (Some(ours), Some(asked)) if asked < ours => VideoFit::AboveAnswer { ours, asked },
        _ => VideoFit::Fits,
    }
}

fn log_video_fit(local: &SessionDescription, remote: &SessionDescription, rtp: &Negotiated) {
    let Some(path) = &rtp.video else { return };
    let fmtp = |sdp: &SessionDescription| {
        let pt = path.codec.pt.to_string();
        sdp.media.iter().filter(|m| m.kind == "video").find_map(|m| m.fmtp_for(&pt)).map(str::to_owned)
    };
    match video_fit(fmtp(local).as_deref(), fmtp(remote).as_deref()) {
        VideoFit::Fits => {}
        VideoFit::AboveAnswer { ours, asked } => {
            tracing::warn!(ours, asked, "the peer asks a lower H.264 level than the camera sends; stream kept")
        }
        VideoFit::Unstated => tracing::debug!("the peer names no H.264 profile-level-id"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_come_from_profile_level_id_with_level_1b() {
        assert_eq!(h264_level("profile-level-id=42e01f;packetization-mode=1"), Some(31));
        assert_eq!(h264_level("packetization-mode=1; PROFILE-LEVEL-ID=42C00C"), Some(12));
        assert_eq!(h264_level("profile-level-id=42f00b"), Some(9), "constraint_set3 + level 11 is 1b");
        assert_eq!(h264_level("profile-level-id=64001f"), Some(31));
        assert_eq!(h264_level("profile-level-id=42e0"), None);
        assert_eq!(h264_level("packetization-mode=1"), None);
    }

    #[test]
    fn a_lower_level_in_the_answer_is_noticed_a_higher_or_any_profile_fits() {
        let ours = Some("profile-level-id=42e01f;packetization-mode=1");
        assert_eq!(video_fit(ours, Some("profile-level-id=42e01f")), VideoFit::Fits);
        assert_eq!(video_fit(ours, Some("profile-level-id=640028")), VideoFit::Fits, "high 4.0 decodes CB 3.1");
        assert_eq!(video_fit(ours, Some("profile-level-id=42e00d")), VideoFit::AboveAnswer { ours: 31, asked: 13 });
        assert_eq!(video_fit(ours, Some("packetization-mode=1")), VideoFit::Unstated);
    }

    #[test]
    fn the_default_offer_is_constrained_baseline_level_3_1() {
        let offer = sdp::offer(&sdp::LocalCaps::default(), [127, 0, 0, 1].into(), (4000, 4002), 1);
        let video = offer.media.iter().find(|m| m.kind == "video").expect("video offered");
        let fmtp = video.fmtp.first().map(|(_, f)| f.as_str());
        assert_eq!(fmtp.and_then(h264_level), Some(31));
        assert!(fmtp.unwrap().contains("profile-level-id=42e01f"));
    }
}
