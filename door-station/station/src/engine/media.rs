//! SDP for the engine's calls: our offer, answers to remote offers, and the
//! media paths an offer/answer pair gives (RFC 3264, via `ds_sip::sdp`).

use ds_sip::sdp::{self, Negotiated, SessionDescription};

use super::Core;

fn ports(core: &Core) -> (u16, u16) {
    (core.cfg.media.audio_port, core.cfg.media.video_port)
}

/// The station's offer: audio sendrecv, H.264 video sendonly.
pub fn offer(core: &mut Core) -> SessionDescription {
    let origin_id = core.ids.next() >> 1;
    let m = &core.cfg.media;
    sdp::offer(&m.caps, m.addr, ports(core), origin_id)
}

/// The paths after our `offer` got this answer body; `None` when the body
/// is not SDP or nothing could be negotiated.
pub fn negotiate(offer: &SessionDescription, answer: &[u8]) -> Option<Negotiated> {
    let answer = parse(answer)?;
    let paths = sdp::negotiate(offer, &answer);
    (paths.audio.is_some() || paths.video.is_some()).then_some(paths)
}

/// Our answer to a remote offer body, and its paths; `None` when the body is
/// not SDP or no stream could be accepted (the caller answers 488).
pub fn answer(core: &mut Core, offer: &[u8]) -> Option<(SessionDescription, Negotiated)> {
    let offer = parse(offer)?;
    let origin_id = core.ids.next() >> 1;
    let m = &core.cfg.media;
    let answer = sdp::answer(&offer, &m.caps, m.addr, ports(core), origin_id);
    let paths = sdp::negotiate_answered(&offer, &answer);
    (paths.audio.is_some() || paths.video.is_some()).then_some((answer, paths))
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
