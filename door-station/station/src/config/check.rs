//! The checks a parsed `station.toml` must pass before the station starts.
//!
//! Each check returns the first [`Issue`] of its table; the caller places it
//! in the file. The limits are the ones the rest of the station relies on
//! (the BCM GPIO range, RTP's even ports, G.711's 8 kHz band), not taste.

use super::error::{Issue, KeyPath};
use super::{
    ButtonConfig, ButtonsConfig, CallsConfig, ControlConfig, MediaConfig, RelayConfig, SipConfig, StationConfig,
    UnlockConfig,
};
use std::collections::HashSet;

pub(super) type Checked = Result<(), Issue>;

/// Run every check, top of the file first.
pub(crate) fn check(c: &StationConfig) -> Checked {
    sip(&c.sip)?;
    for (i, b) in c.button.iter().enumerate() {
        button(i, b)?;
    }
    calls(&c.calls)?;
    media(&c.media)?;
    unlock(&c.unlock)?;
    relay(&c.relay, &c.button)?;
    buttons(&c.buttons)?;
    control(&c.control)?;
    super::access::wiegand(&c.wiegand)?;
    super::access::osdp(&c.osdp)?;
    super::access::door(&c.door)?;
    super::access::gpio_owners(c)
}

pub(super) fn at(table: &'static str, key: &'static str) -> KeyPath {
    KeyPath { table, index: None, key }
}

pub(super) fn issue(at: KeyPath, value: Option<String>, problem: &str, example: &str) -> Issue {
    Issue { at, value, problem: problem.to_string(), example: example.to_string() }
}

pub(super) fn quoted(s: &str) -> Option<String> {
    Some(format!("{s:?}"))
}

/// `lo <= value <= hi`, else an issue.
pub(super) fn in_range(at: KeyPath, value: u64, lo: u64, hi: u64, example: &str) -> Checked {
    if (lo..=hi).contains(&value) {
        return Ok(());
    }
    let problem = format!("must be between {lo} and {hi}");
    Err(issue(at, Some(value.to_string()), &problem, example))
}

fn sip(s: &SipConfig) -> Checked {
    if !is_sip_user(&s.user) {
        let value = (!s.user.is_empty()).then(|| format!("{:?}", s.user));
        let problem = "the address of record needs a user part (letters, digits, -_.!~*'()&=+$,;?/)";
        return Err(issue(at("sip", "user"), value, problem, "user = \"door\""));
    }
    if s.domain.is_empty() || s.domain.contains(|c: char| c.is_whitespace() || "@;<>\"".contains(c)) {
        let value = (!s.domain.is_empty()).then(|| format!("{:?}", s.domain));
        let problem = "the address of record needs a domain (a host name or IP address)";
        return Err(issue(at("sip", "domain"), value, problem, "domain = \"home\""));
    }
    if s.auth_user.as_deref() == Some("") {
        let problem = "an empty digest user cannot authenticate; remove the key to use `user`";
        return Err(issue(at("sip", "auth_user"), quoted(""), problem, "auth_user = \"door\""));
    }
    if s.listen.port() == 0 {
        let problem = "peers need a fixed port to reach the station";
        return Err(issue(at("sip", "listen"), quoted(&s.listen.to_string()), problem, "listen = \"0.0.0.0:5060\""));
    }
    // RFC 3261 §10.2.1.1 lets a registrar refuse short intervals with 423;
    // one week is more than any registrar grants.
    in_range(at("sip", "register_expires"), s.register_expires.into(), 30, 604_800, "register_expires = 600")
}

/// RFC 3261 §25.1 `user`: unreserved / escaped / user-unreserved.
fn is_sip_user(user: &str) -> bool {
    !user.is_empty() && user.chars().all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()%&=+$,;?/".contains(c))
}

fn button(i: usize, b: &ButtonConfig) -> Checked {
    let key = |key| KeyPath { table: "button", index: Some(i), key };
    if !is_sip_uri(&b.target) {
        let value = (!b.target.is_empty()).then(|| format!("{:?}", b.target));
        let problem = "a button calls a SIP URI";
        return Err(issue(key("target"), value, problem, "target = \"sip:everyone@home\""));
    }
    gpio(key("gpio"), b.gpio, "gpio = 17")
}

/// BCM GPIO 0–27 are the lines on the Pi's 40-pin header.
pub(super) fn gpio(at: KeyPath, line: u8, example: &str) -> Checked {
    in_range(at, line.into(), 0, 27, example)
}

fn is_sip_uri(s: &str) -> bool {
    (s.starts_with("sip:") || s.starts_with("sips:")) && rsip::Uri::try_from(s).is_ok()
}

/// `sip:user@host` without parameters, or `*@domain`.
fn is_caller_pattern(s: &str) -> bool {
    let Some((scheme_user, host)) = s.rsplit_once('@') else { return false };
    let host_ok = !host.is_empty() && !host.contains(|c: char| c.is_whitespace() || ";?<>:@".contains(c));
    let user_ok = match scheme_user.split_once(':') {
        Some(("sip" | "sips", user)) => is_sip_user(user),
        _ => scheme_user == "*",
    };
    host_ok && user_ok
}

fn caller_list(at: KeyPath, list: &[String], example: &str) -> Checked {
    let bad = |p: &&String| !is_caller_pattern(p) || crate::unlock::AllowEntry::parse(p).is_err();
    match list.iter().find(bad) {
        None => Ok(()),
        Some(bad) => {
            let problem = format!("{bad:?} is neither a SIP URI without parameters (sip:alice@home) nor *@domain");
            Err(issue(at, Some(format!("{list:?}")), &problem, example))
        }
    }
}

fn calls(c: &CallsConfig) -> Checked {
    in_range(at("calls", "ring_timeout_s"), c.ring_timeout_s.into(), 1, 600, "ring_timeout_s = 30")?;
    in_range(at("calls", "max_call_s"), c.max_call_s.into(), 1, 86_400, "max_call_s = 300")?;
    in_range(at("calls", "rtp_timeout_s"), c.rtp_timeout_s.into(), 1, 3600, "rtp_timeout_s = 30")?;
    in_range(at("calls", "early_media_limit"), c.early_media_limit as u64, 1, 32, "early_media_limit = 4")?;
    caller_list(at("calls", "allow_callers"), &c.allow_callers, "allow_callers = [\"sip:alice@home\", \"*@home\"]")
}

fn media(m: &MediaConfig) -> Checked {
    rtp_ports(m)?;
    if m.audio_codecs.is_empty() {
        let problem = "the station needs at least one audio codec";
        return Err(issue(at("media", "audio_codecs"), Some("[]".into()), problem, "audio_codecs = [\"pcmu\"]"));
    }
    let mut seen = HashSet::new();
    if !m.audio_codecs.iter().all(|c| seen.insert(*c)) {
        let problem = "each codec may be listed once";
        let value = Some(format!("{:?}", m.audio_codecs).to_lowercase());
        return Err(issue(at("media", "audio_codecs"), value, problem, "audio_codecs = [\"opus\", \"pcmu\"]"));
    }
    video(m)?;
    devices(m)?;
    // G.711 samples at 8 kHz: a tone must stay in the 300–3400 Hz telephone band.
    in_range(at("media", "tone_hz"), m.tone_hz.into(), 100, 3400, "tone_hz = 440")
}

/// RTP takes an even port and RTCP the odd one above (RFC 3550 §11); a call
/// needs one pair for audio and one for video.
fn rtp_ports(m: &MediaConfig) -> Checked {
    in_range(at("media", "rtp_port_min"), m.rtp_port_min.into(), 1024, 65_530, "rtp_port_min = 20000")?;
    if !m.rtp_port_min.is_multiple_of(2) {
        let problem = "RTP uses even ports (RFC 3550 §11)";
        return Err(issue(
            at("media", "rtp_port_min"),
            Some(m.rtp_port_min.to_string()),
            problem,
            "rtp_port_min = 20000",
        ));
    }
    if u32::from(m.rtp_port_max) < u32::from(m.rtp_port_min) + 3 {
        let problem = format!(
            "the range must hold at least 4 ports (audio and video RTP+RTCP) above rtp_port_min = {}",
            m.rtp_port_min
        );
        return Err(issue(
            at("media", "rtp_port_max"),
            Some(m.rtp_port_max.to_string()),
            &problem,
            "rtp_port_max = 20999",
        ));
    }
    Ok(())
}

fn video(m: &MediaConfig) -> Checked {
    let even = |key, v: u32, lo, hi, ex: &str| -> Checked {
        in_range(at("media", key), v.into(), lo, hi, ex)?;
        if v.is_multiple_of(2) {
            return Ok(());
        }
        Err(issue(at("media", key), Some(v.to_string()), "H.264 4:2:0 frames need an even size", ex))
    };
    even("video_width", m.video_width, 16, 1920, "video_width = 320")?;
    even("video_height", m.video_height, 16, 1080, "video_height = 240")?;
    in_range(at("media", "video_fps"), m.video_fps.into(), 1, 30, "video_fps = 15")?;
    in_range(at("media", "video_bitrate_kbps"), m.video_bitrate_kbps.into(), 32, 8000, "video_bitrate_kbps = 384")?;
    in_range(at("media", "keyframe_interval_s"), m.keyframe_interval_s.into(), 1, 60, "keyframe_interval_s = 2")
}

/// Device names must be given where the back-end needs one, and echo
/// cancellation pairs a GStreamer microphone with a GStreamer speaker.
fn devices(m: &MediaConfig) -> Checked {
    use super::{CameraKind, MicrophoneKind, SpeakerKind};
    let named = |key, value: &str, ex: &str| -> Checked {
        if value.trim().is_empty() {
            return Err(issue(at("media", key), quoted(value), "this back-end needs a device or file name", ex));
        }
        Ok(())
    };
    if m.camera != CameraKind::Pattern {
        named("camera_device", &m.camera_device, "camera_device = \"/dev/video0\"")?;
    }
    if m.microphone != MicrophoneKind::Tone {
        named("microphone_device", &m.microphone_device, "microphone_device = \"default\"")?;
    }
    if m.speaker != SpeakerKind::Null {
        named("speaker_device", &m.speaker_device, "speaker_device = \"default\"")?;
    }
    let gst_pair = m.microphone == MicrophoneKind::Gstreamer && m.speaker == SpeakerKind::Gstreamer;
    if m.echo_cancel && !gst_pair {
        let problem = "echo cancellation (webrtcdsp) needs microphone = \"gstreamer\" and speaker = \"gstreamer\"";
        return Err(issue(at("media", "echo_cancel"), Some("true".into()), problem, "echo_cancel = false"));
    }
    Ok(())
}

/// One DTMF key, or a PIN of digits ending in `#`; the sequencer's own
/// parser must agree.
pub(crate) fn is_unlock_code(code: &str) -> bool {
    is_code_shape(code) && crate::unlock::UnlockCode::parse(code).is_ok()
}

fn is_code_shape(code: &str) -> bool {
    let single = code.len() == 1 && code.chars().all(|c| c.is_ascii_digit() || "*#ABCD".contains(c));
    let pin = code.len() >= 2 && code.ends_with('#') && code[..code.len() - 1].chars().all(|c| c.is_ascii_digit());
    single || pin
}

fn unlock(u: &UnlockConfig) -> Checked {
    if !is_unlock_code(&u.code) {
        let problem = "a code is one digit or a PIN of digits ending in '#'";
        return Err(issue(at("unlock", "code"), quoted(&u.code), problem, "code = \"1234#\""));
    }
    caller_list(at("unlock", "allow"), &u.allow, "allow = [\"sip:alice@home\"]")?;
    let idt = u.inter_digit_timeout_ms.into();
    in_range(at("unlock", "inter_digit_timeout_ms"), idt, 500, 60_000, "inter_digit_timeout_ms = 3000")?;
    in_range(at("unlock", "max_failures"), u.max_failures.into(), 1, 100, "max_failures = 3")?;
    in_range(at("unlock", "lockout_s"), u.lockout_s.into(), 1, 86_400, "lockout_s = 60")?;
    if u.message_body.trim() != u.message_body {
        let problem = "the body is compared after trimming, so surrounding spaces never match";
        return Err(issue(at("unlock", "message_body"), quoted(&u.message_body), problem, "message_body = \"unlock\""));
    }
    Ok(())
}

fn relay(r: &RelayConfig, buttons: &[ButtonConfig]) -> Checked {
    gpio(at("relay", "gpio"), r.gpio, "gpio = 26")?;
    if let Some(n) = buttons.iter().position(|b| b.gpio == r.gpio) {
        let problem = format!("GPIO {} is also [[button]] #{}'s line", r.gpio, n + 1);
        let free = (0..=27u8).rev().find(|g| buttons.iter().all(|b| b.gpio != *g)).unwrap_or(26);
        let example = format!("gpio = {free}");
        return Err(issue(at("relay", "gpio"), Some(r.gpio.to_string()), &problem, &example));
    }
    in_range(at("relay", "pulse_ms"), r.pulse_ms.into(), 100, 60_000, "pulse_ms = 3000")
}

fn buttons(b: &ButtonsConfig) -> Checked {
    in_range(at("buttons", "debounce_ms"), b.debounce_ms.into(), 0, 1000, "debounce_ms = 30")
}

/// `sun_path` holds 108 bytes including the terminating NUL (unix(7)).
fn control(c: &ControlConfig) -> Checked {
    let s = c.socket.to_string_lossy();
    if !c.socket.is_absolute() || c.socket.file_name().is_none() {
        let problem = "the control socket needs an absolute file path";
        return Err(issue(at("control", "socket"), quoted(&s), problem, "socket = \"/run/door-station/control.sock\""));
    }
    if s.len() > 107 {
        let problem = "a Unix socket path holds at most 107 bytes (unix(7))";
        return Err(issue(at("control", "socket"), quoted(&s), problem, "socket = \"/run/door-station/control.sock\""));
    }
    Ok(())
}
