//! SDP for the engine's calls: our offer, answers to remote offers, and the
//! media paths an offer/answer pair gives (RFC 3264, via `ds_sip::sdp`),
//! with SDES-SRTP per `[media] srtp` ([`super::sdes`]).
//!
//! H.264 profile (RFC 6184 §8.1): our offer carries the camera's actual
//! `profile-level-id`, or `42e01f` (constrained baseline, level 3.1) before
//! the camera has encoded a frame. Constrained baseline is a subset of
//! every H.264 profile a receiver can name, so any profile in the answer
//! decodes our stream; only the level can be too high ([`video_fit`] gives
//! [`VideoFit::AboveAnswer`]). Then the dialog's paths name a camera
//! stream fitted to that level ([`MediaPaths::stream`], from ds-media's
//! `fit_to_level`), which the shell applies once the dialog is answered (the
//! 200's or the ACK's answer to our offer, or the offer we answer) and
//! undoes when the call ends; our answer states that level and leaves out
//! the old `sprop-parameter-sets`. Early dialogs share the camera's one
//! encoder (ds-media's `VideoFanout`), so they keep the stream. An answer
//! without `profile-level-id` means baseline level 1 by the RFC, but many
//! peers simply omit it, so that is only logged at debug level.

use ds_media::h264::{VideoConfig, fit_to_level};
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
    /// The camera stream this dialog needs when its H.264 level is below
    /// the configured stream's; `None` keeps the configured one. Applied
    /// when the dialog is answered: early dialogs share the camera's stream.
    pub stream: Option<VideoConfig>,
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

/// The paths after our `offer` got this answer body, with the camera
/// stream fitted to the answer's H.264 level when it is below ours; `None`
/// when the body is not SDP, nothing could be negotiated or the answer's
/// SRTP does not match the offer's.
pub fn negotiate(core: &Core, offer: &SessionDescription, answer: &[u8]) -> Option<MediaPaths> {
    let answer = parse(answer)?;
    let rtp = sdp::negotiate(offer, &answer);
    let srtp = sdes::accept_answer(offer, &answer)
        .map_err(|e| tracing::warn!(error = %e, "the answer's SRTP is not usable; no media"))
        .ok()?;
    let rtcp = RtcpTargets::of(&rtp, &answer);
    let stream = fitted_stream(core, &video_fmtps(offer, &answer, &rtp));
    (rtp.audio.is_some() || rtp.video.is_some()).then_some(MediaPaths { rtp, srtp: Box::new(srtp), rtcp, stream })
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
    let fmtps = video_fmtps(&answer, &offer, &rtp);
    let stream = fitted_stream(core, &fmtps);
    if let (Some(_), (Some(ours), Some(theirs))) = (stream, &fmtps) {
        restate_level(&mut answer, &rtp, ours, theirs);
    }
    (rtp.audio.is_some() || rtp.video.is_some())
        .then_some((answer, MediaPaths { rtp, srtp: Box::new(srtp), rtcp, stream }))
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
    let value = fmtp_value(fmtp, "profile-level-id")?;
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

/// Our and the peer's fmtp of the negotiated H.264 payload type.
type VideoFmtps = (Option<String>, Option<String>);

fn video_fmtps(local: &SessionDescription, remote: &SessionDescription, rtp: &Negotiated) -> VideoFmtps {
    let Some(path) = &rtp.video else { return (None, None) };
    let fmtp = |sdp: &SessionDescription| {
        let pt = path.codec.pt.to_string();
        sdp.media.iter().filter(|m| m.kind == "video").find_map(|m| m.fmtp_for(&pt)).map(str::to_owned)
    };
    (fmtp(local), fmtp(remote))
}

/// The configured camera stream fitted to the peer's level when that is
/// below ours; `None` when the configured stream fits (or there is none).
fn fitted_stream(core: &Core, (ours, theirs): &VideoFmtps) -> Option<VideoConfig> {
    let (ours, asked) = match video_fit(ours.as_deref(), theirs.as_deref()) {
        VideoFit::AboveAnswer { ours, asked } => (ours, asked),
        VideoFit::Fits => return None,
        VideoFit::Unstated => {
            tracing::debug!("the peer names no H.264 profile-level-id");
            return None;
        }
    };
    let configured = core.cfg.media.video?;
    let Some(fitted) = fit_to_level(asked, configured) else {
        tracing::warn!(ours, asked, "the peer asks an H.264 level not in Table A-1; stream kept");
        return None;
    };
    (fitted != configured).then(|| {
        tracing::info!(
            ours,
            asked,
            width = fitted.width,
            height = fitted.height,
            fps = fitted.fps,
            "video fitted to the peer's level"
        );
        fitted
    })
}

/// Our answer's H.264 fmtp at the peer's level, without the configured
/// stream's `sprop-parameter-sets` (the fitted stream has other SPS).
fn restate_level(answer: &mut SessionDescription, rtp: &Negotiated, ours: &str, theirs: &str) {
    let (Some(path), Some(level)) = (&rtp.video, h264_level(theirs)) else { return };
    let Some(id) = fmtp_value(ours, "profile-level-id").and_then(|id| profile_level_id_at(id, level)) else { return };
    let pt = path.codec.pt.to_string();
    for m in answer.media.iter_mut().filter(|m| m.kind == "video") {
        for (_, fmtp) in m.fmtp.iter_mut().filter(|(p, _)| *p == pt) {
            let kept = fmtp.split(';').filter_map(|p| match p.split_once('=') {
                Some((k, _)) if k.trim().eq_ignore_ascii_case("sprop-parameter-sets") => None,
                Some((k, _)) if k.trim().eq_ignore_ascii_case("profile-level-id") => Some(format!("{}={id}", k.trim())),
                _ => Some(p.to_string()),
            });
            *fmtp = kept.collect::<Vec<_>>().join(";");
        }
    }
}

fn fmtp_value<'a>(fmtp: &'a str, key: &str) -> Option<&'a str> {
    fmtp.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim())
    })
}

/// `profile-level-id` with our profile and constraints at `level` (9 is
/// level 1b: level_idc 11 with constraint_set3, RFC 6184 §8.1).
fn profile_level_id_at(ours: &str, level: u8) -> Option<String> {
    let bytes = u32::from_str_radix(ours, 16).ok().filter(|_| ours.len() == 6)?.to_be_bytes();
    let (flags, level) = if level == 9 { (bytes[2] | 0x10, 11) } else { (bytes[2] & !0x10, level) };
    Some(format!("{:02x}{flags:02x}{level:02x}", bytes[1]))
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
    fn our_profile_is_restated_at_the_peer_s_level_1b_with_constraint_set3() {
        assert_eq!(profile_level_id_at("42e01f", 12).as_deref(), Some("42e00c"));
        assert_eq!(profile_level_id_at("42e01f", 9).as_deref(), Some("42f00b"));
        assert_eq!(h264_level("profile-level-id=42f00b"), Some(9));
        assert_eq!(profile_level_id_at("42e0", 12), None);
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
