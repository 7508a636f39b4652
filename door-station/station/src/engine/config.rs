//! The engine's configuration: plain data, built by the daemon from
//! `station.toml` (see `assets/station.toml` for every key and its default).
//!
//! Nothing here reads files or validates user input; the config loader does
//! that and fills these structs with checked values.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ds_sip::sdp::LocalCaps;
use ds_sip::transaction::{Timers, Transport};

use crate::unlock::{AllowList, UnlockCode, UnlockConfig};

/// Everything the engine needs to know, in one value.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The SIP account (`[sip]`).
    pub account: Account,
    /// Local SIP address written into Via and Contact (`sip.listen`).
    pub local_addr: SocketAddr,
    /// Transport towards the proxy and registrar (`sip.transport`).
    pub transport: Transport,
    /// Where REGISTER goes; `None`: the station does not register (`sip.registrar`).
    pub registrar: Option<SocketAddr>,
    /// Next hop of every out-of-dialog request; `None`: the Request-URI's
    /// host, which must then be an IP literal (`sip.outbound_proxy`).
    pub outbound_proxy: Option<SocketAddr>,
    /// Requested registration lifetime (`sip.register_expires`).
    pub register_expires: Duration,
    /// Registration retry backoff.
    pub backoff: Backoff,
    /// The call target of each button, in file order (`[[button]] target`).
    pub buttons: Vec<String>,
    /// Call timers and the caller allow-list (`[calls]`).
    pub calls: CallConfig,
    /// What the SDP offers and answers (`[media]`).
    pub media: MediaConfig,
    /// Unlock code and who may use it (`[unlock]`).
    pub unlock: UnlockConfig,
    /// How long the relay is pulsed on a valid code (`relay.pulse_ms`).
    pub relay_pulse: Duration,
    /// SIP transaction timers (RFC 3261 §17.1.1.1 defaults).
    pub timers: Timers,
    /// The User-Agent / Server header value.
    pub user_agent: String,
}

/// The SIP account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// User part of the address of record (`sip.user`).
    pub user: String,
    /// Domain of the address of record (`sip.domain`).
    pub domain: String,
    /// Display name in From (`sip.display_name`); empty for none.
    pub display_name: String,
    /// Digest user name (`sip.auth_user`, defaults to `user`).
    pub auth_user: String,
    /// Digest password (`sip.password`).
    pub password: String,
}

impl Account {
    /// The address of record, `sip:user@domain`.
    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain)
    }
}

/// Exponential backoff for failed registrations: `initial`, doubled per
/// failure, at most `max`; a Retry-After from the registrar wins when longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// Upper bound.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_secs(5), max: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The delay after `failures` consecutive failures (1 = the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let shift = failures.saturating_sub(1).min(16);
        self.initial.saturating_mul(1 << shift).min(self.max)
    }
}

/// Call timers and the look-at-the-door allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallConfig {
    /// No final answer by then: CANCEL (`calls.ring_timeout_s`).
    pub ring_timeout: Duration,
    /// Answered calls end (BYE) after this (`calls.max_call_s`).
    pub max_call: Duration,
    /// No media from the answerer for this long: BYE (`calls.rtp_timeout_s`).
    pub rtp_timeout: Duration,
    /// At most this many early dialogs get media (`calls.early_media_limit`).
    pub early_media_limit: usize,
    /// Callers auto-answered (`calls.allow_callers`).
    pub allow_callers: AllowList,
}

/// What the SDP describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// Address in `c=` (the station's media address).
    pub addr: IpAddr,
    /// Local RTP port for audio.
    pub audio_port: u16,
    /// Local RTP port for video.
    pub video_port: u16,
    /// Codecs offered and accepted (`media.audio_codecs`, `media.video`).
    pub caps: LocalCaps,
    /// `media.srtp`.
    pub srtp: ds_media::srtp::SrtpPolicy,
    /// The secret SRTP master keys are made from (random, from the shell).
    pub srtp_secret: [u8; 32],
    /// The configured camera stream (`media.video_*`), which a peer at a
    /// lower H.264 level gets fitted to that level.
    pub video: Option<ds_media::h264::VideoConfig>,
}

impl Default for EngineConfig {
    /// The defaults of `assets/station.toml`, on loopback.
    fn default() -> Self {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        EngineConfig {
            account: Account {
                user: "door".into(),
                domain: "home".into(),
                display_name: "Front door".into(),
                auth_user: "door".into(),
                password: String::new(),
            },
            local_addr: SocketAddr::new(lo, 5060),
            transport: Transport::Udp,
            registrar: None,
            outbound_proxy: None,
            register_expires: Duration::from_secs(600),
            backoff: Backoff::default(),
            buttons: vec!["sip:everyone@home".into()],
            calls: CallConfig {
                ring_timeout: Duration::from_secs(30),
                max_call: Duration::from_secs(300),
                rtp_timeout: Duration::from_secs(30),
                early_media_limit: 4,
                allow_callers: AllowList::default(),
            },
            media: MediaConfig {
                addr: lo,
                audio_port: 20000,
                video_port: 20002,
                caps: LocalCaps::default(),
                srtp: ds_media::srtp::SrtpPolicy::Off,
                srtp_secret: [0; 32],
                video: Some(ds_media::h264::VideoConfig::default()),
            },
            unlock: UnlockConfig {
                code: UnlockCode::Digit('#'),
                allow: AllowList::default(),
                inter_digit_timeout: Duration::from_millis(3000),
                max_failures: 3,
                lockout: Duration::from_secs(60),
                message_body: Some("unlock".into()),
            },
            relay_pulse: Duration::from_millis(3000),
            timers: Timers::default(),
            user_agent: concat!("door-station/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// `(user, host)` of a `sip:`/`sips:` URI, without port and parameters.
pub fn user_host(uri: &str) -> Option<(String, String)> {
    let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let rest = uri.strip_prefix("sip:").or_else(|| uri.strip_prefix("sips:"))?;
    let rest = rest.split([';', '?']).next()?;
    let (user, hostport) = rest.rsplit_once('@').unwrap_or(("", rest));
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => hostport.split(':').next()?,
    };
    (!host.is_empty()).then(|| (user.to_string(), host.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_max() {
        let b = Backoff::default();
        assert_eq!(b.delay(1), Duration::from_secs(5));
        assert_eq!(b.delay(2), Duration::from_secs(10));
        assert_eq!(b.delay(4), Duration::from_secs(40));
        assert_eq!(b.delay(7), Duration::from_secs(300));
        assert_eq!(b.delay(1000), Duration::from_secs(300));
    }

    #[test]
    fn user_and_host() {
        assert_eq!(user_host("<sip:alice@HOME:5060;transport=tcp>"), Some(("alice".into(), "HOME".into())));
        assert_eq!(user_host("sip:[::1]:5060"), Some((String::new(), "::1".into())));
        assert_eq!(user_host("tel:+1"), None);
    }
}
