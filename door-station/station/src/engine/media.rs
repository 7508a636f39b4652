//! SDP for the engine's calls: our offer, answers to remote offers, and the
//! media paths an offer/answer pair gives (RFC 3264, via `ds_sip::sdp`),
//! with SDES-SRTP per `[media] srtp` ([`super::sdes`]).

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
    /// From the negotiated paths and the peer's SDP.
    pub fn of(rtp: &Negotiated, remote: &SessionDescription) -> RtcpTargets {
        let at = |path: Option<&sdp::MediaPath>, kind: &str| {
            let path = path?;
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
    (rtp.audio.is_some() || rtp.video.is_some()).then_some((answer, MediaPaths { rtp, srtp: Box::new(srtp), rtcp }))
}

/// True when the remote side sends us something (audio or video), so its
/// silence can be timed.
pub fn remote_sends(paths: &Negotiated) -> bool {
    [&paths.audio, &paths.video].into_iter().flatten().any(|p| p.direction.receives())
}

/// `ip:port` for the `early_media` event: where the video goes (else the audio).
pub fn remote_label(paths: &Negotiated) -> String {
    paths.video.as_ref().or(paths.audio.as_ref()).map(|p| p.remote.to_string()).unwrap_or_default()
}

fn parse(body: &[u8]) -> Option<SessionDescription> {
    SessionDescription::parse(std::str::from_utf8(body).ok()?).ok()
}
