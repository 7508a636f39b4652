//! Answering a remote offer (RFC 3264 §6).

use std::net::IpAddr;

use super::caps::{
    AudioCodec, EVENTS, LocalCaps, is_h264_for, is_h264_mode1, is_rtp_profile, media, session, telephone_event_for,
};
use super::{Direction, MediaDescription, SessionDescription};

/// Our answer to a remote offer (RFC 3264 §6): every offered `m=` line gets
/// one in the same order. The first audio and the first video stream we can
/// serve are accepted with the first offered codec we support (the
/// offerer's preference) and telephone-event; all others get port 0. For
/// video that is the first H.264 in packetization-mode 1, else the first
/// in mode 0 when our encoder keeps NAL units to one packet. The
/// direction mirrors the offer (their `sendonly` → our `recvonly`, their
/// `recvonly` → our `sendonly`), limited by `caps.video.direction` for video.
pub fn answer(
    offer: &SessionDescription,
    caps: &LocalCaps,
    addr: IpAddr,
    ports: (u16, u16),
    session_id: u64,
) -> SessionDescription {
    let mut sdp = session(addr, session_id);
    let (mut audio_done, mut video_done) = (false, false);
    for m in &offer.media {
        let accepted = match m.kind.as_str() {
            "audio" if !audio_done && ports.0 != 0 => answer_audio(m, caps, ports.0),
            "video" if !video_done && ports.1 != 0 => answer_video(m, caps, ports.1),
            _ => None,
        };
        audio_done |= accepted.is_some() && m.kind == "audio";
        video_done |= accepted.is_some() && m.kind == "video";
        sdp.media.push(accepted.unwrap_or_else(|| rejected(m)));
    }
    sdp
}

/// A stream we do not take: port 0, the offer's formats (RFC 3264 §6).
fn rejected(offered: &MediaDescription) -> MediaDescription {
    let mut m = media(&offered.kind, 0, &offered.proto, Direction::Inactive);
    m.formats = offered.formats.clone();
    m
}

fn answer_audio(offered: &MediaDescription, caps: &LocalCaps, port: u16) -> Option<MediaDescription> {
    if offered.is_rejected() || !is_rtp_profile(&offered.proto) {
        return None;
    }
    let codecs = offered.codecs();
    let (chosen, ours) =
        codecs.iter().find_map(|c| AudioCodec::matching(c).filter(|a| caps.audio.contains(a)).map(|a| (c, a)))?;
    let mut m = media("audio", port, &offered.proto, offered.direction.reversed());
    m.push_format(chosen.pt, ours.name(), ours.clock(), ours.channels(), ours.fmtp());
    if caps.telephone_event
        && let Some(te) = telephone_event_for(&codecs, chosen.clock)
    {
        let events = te.fmtp.as_deref().unwrap_or(EVENTS);
        m.push_format(te.pt, "telephone-event", te.clock, None, Some(events));
    }
    m.push_ptime();
    Some(m)
}

fn answer_video(offered: &MediaDescription, caps: &LocalCaps, port: u16) -> Option<MediaDescription> {
    let video = caps.video.as_ref()?;
    if offered.is_rejected() || !is_rtp_profile(&offered.proto) {
        return None;
    }
    let h264: Vec<_> = offered.codecs().into_iter().filter(|c| is_h264_for(c, video)).collect();
    let chosen = h264.iter().find(|c| is_h264_mode1(c)).or(h264.first())?;
    let mode = chosen.h264_packetization_mode()?;
    let direction = offered.direction.reversed().intersect(video.direction);
    let mut m = media("video", port, &offered.proto, direction);
    m.push_format(chosen.pt, "H264", 90000, None, Some(&video.fmtp(mode)));
    Some(m)
}
