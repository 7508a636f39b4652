//! The checked config, turned into what each consumer takes: the engine's
//! [`EngineConfig`], the camera's [`VideoConfig`]. The shell supplies what
//! only exists at run time (the address the sockets got, the RTP ports, the
//! camera's SPS/PPS).

use super::{AudioCodec, SipTransport, StationConfig};
use crate::engine::{Account, Backoff, CallConfig, EngineConfig, MediaConfig};
use crate::unlock::{AllowList, UnlockCode, UnlockConfig, UnlockError};
use ds_media::h264::{SdpParameters, VideoConfig};
use ds_sip::sdp::{self, LocalCaps, VideoCaps};
use ds_sip::transaction::{Timers, Transport};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What the shell learnt at start.
#[derive(Debug, Clone)]
pub struct RuntimeAddrs {
    /// The SIP address for Via and Contact (an interface address, never 0.0.0.0).
    pub sip: SocketAddr,
    /// The address for SDP `c=`.
    pub media: IpAddr,
    /// The bound RTP ports: audio, video.
    pub rtp_ports: (u16, u16),
}

impl StationConfig {
    /// The engine's configuration. Fails only on values [`super::parse`]
    /// would have refused.
    pub fn engine_config(&self, at: &RuntimeAddrs, video: Option<&SdpParameters>) -> Result<EngineConfig, UnlockError> {
        let s = &self.sip;
        Ok(EngineConfig {
            account: Account {
                user: s.user.clone(),
                domain: s.domain.clone(),
                display_name: s.display_name.clone(),
                auth_user: s.auth_user().to_string(),
                password: s.password.clone(),
            },
            local_addr: at.sip,
            transport: match s.transport {
                SipTransport::Udp => Transport::Udp,
                SipTransport::Tcp => Transport::Tcp,
            },
            registrar: s.registrar,
            outbound_proxy: s.outbound_proxy,
            register_expires: Duration::from_secs(s.register_expires.into()),
            backoff: Backoff::default(),
            buttons: self.button.iter().map(|b| b.target.clone()).collect(),
            calls: self.call_config()?,
            media: MediaConfig {
                addr: at.media,
                audio_port: at.rtp_ports.0,
                video_port: at.rtp_ports.1,
                caps: self.local_caps(video),
                srtp: self.media.srtp.into(),
                // The shell puts a random one here.
                srtp_secret: [0; 32],
                video: self.media.video.then(|| self.video_config()),
            },
            unlock: self.unlock_config()?,
            relay_pulse: Duration::from_millis(self.relay.pulse_ms.into()),
            timers: Timers::default(),
            user_agent: concat!("door-station/", env!("CARGO_PKG_VERSION")).into(),
        })
    }

    fn call_config(&self) -> Result<CallConfig, UnlockError> {
        let c = &self.calls;
        Ok(CallConfig {
            ring_timeout: Duration::from_secs(c.ring_timeout_s.into()),
            max_call: Duration::from_secs(c.max_call_s.into()),
            rtp_timeout: Duration::from_secs(c.rtp_timeout_s.into()),
            early_media_limit: c.early_media_limit,
            allow_callers: AllowList::parse(&c.allow_callers)?,
        })
    }

    fn unlock_config(&self) -> Result<UnlockConfig, UnlockError> {
        let u = &self.unlock;
        Ok(UnlockConfig {
            code: UnlockCode::parse(&u.code)?,
            allow: AllowList::parse(&u.allow)?,
            inter_digit_timeout: Duration::from_millis(u.inter_digit_timeout_ms.into()),
            max_failures: u.max_failures,
            lockout: Duration::from_secs(u.lockout_s.into()),
            message_body: (!u.message_body.is_empty()).then(|| u.message_body.clone()),
        })
    }

    /// The codecs the SDP offers; the H.264 parameters come from the camera,
    /// packetization-mode 0 from whether its encoder cuts slices to fit one
    /// RTP packet (not the Pi's hardware encoder).
    pub fn local_caps(&self, video: Option<&SdpParameters>) -> LocalCaps {
        let audio = self.media.audio_codecs.iter().map(|c| match c {
            AudioCodec::Opus => sdp::AudioCodec::Opus,
            AudioCodec::Pcmu => sdp::AudioCodec::Pcmu,
            AudioCodec::Pcma => sdp::AudioCodec::Pcma,
        });
        let video = self.media.video.then(|| {
            let mut caps =
                VideoCaps { single_nal: self.media.camera_backend().limits_nal_size(), ..VideoCaps::default() };
            if let Some(p) = video {
                caps.profile_level_id = p.profile_level_id.clone();
                caps.sprop_parameter_sets = Some(p.sprop_parameter_sets.clone());
            }
            caps
        });
        LocalCaps { audio: audio.collect(), telephone_event: true, video }
    }

    /// The test-pattern camera's settings.
    pub fn video_config(&self) -> VideoConfig {
        let m = &self.media;
        VideoConfig {
            width: m.video_width,
            height: m.video_height,
            fps: m.video_fps,
            bitrate_bps: m.video_bitrate_kbps.saturating_mul(1000),
            keyframe_interval_s: m.keyframe_interval_s,
            max_nal_bytes: Some(ds_media::h264::MAX_NAL_BYTES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../../assets/station.toml");

    fn addrs() -> RuntimeAddrs {
        RuntimeAddrs {
            sip: "127.0.0.1:15080".parse().unwrap(),
            media: [127, 0, 0, 1].into(),
            rtp_ports: (20000, 20002),
        }
    }

    #[test]
    fn shipped_file_becomes_the_engine_config() {
        let c = super::super::parse(SHIPPED, "station.toml").unwrap();
        let e = c.engine_config(&addrs(), None).unwrap();
        assert_eq!(e.account.aor(), "sip:door@home");
        assert_eq!(e.local_addr, "127.0.0.1:15080".parse().unwrap());
        assert_eq!(e.registrar, Some("127.0.0.1:5070".parse().unwrap()));
        assert_eq!(e.register_expires, Duration::from_secs(600));
        assert_eq!(e.buttons, vec!["sip:everyone@home".to_string()]);
        assert_eq!(e.calls.ring_timeout, Duration::from_secs(30));
        assert!(e.calls.allow_callers.allows("sip:alice@home"));
        assert!(!e.calls.allow_callers.allows("sip:eve@home"));
        assert_eq!(e.unlock.code, UnlockCode::Digit('#'));
        assert_eq!(e.unlock.message_body.as_deref(), Some("unlock"));
        assert_eq!(e.relay_pulse, Duration::from_millis(3000));
        assert_eq!((e.media.audio_port, e.media.video_port), (20000, 20002));
        assert_eq!(e.media.caps.audio, vec![sdp::AudioCodec::Opus, sdp::AudioCodec::Pcmu, sdp::AudioCodec::Pcma]);
    }

    #[test]
    fn camera_parameters_go_into_the_offer_and_video_can_be_off() {
        let text = "[sip]\nuser = \"d\"\ndomain = \"h\"\n[media]\naudio_codecs = [\"pcma\"]\n";
        let mut c = super::super::parse(text, "station.toml").unwrap();
        let p = SdpParameters { profile_level_id: "42c00c".into(), sprop_parameter_sets: "Z0LADA==,aM4=".into() };
        let caps = c.local_caps(Some(&p));
        assert_eq!(caps.audio, vec![sdp::AudioCodec::Pcma]);
        let video = caps.video.unwrap();
        assert_eq!(
            (video.profile_level_id.as_str(), video.sprop_parameter_sets.as_deref()),
            ("42c00c", Some("Z0LADA==,aM4="))
        );
        c.media.video = false;
        assert_eq!(c.local_caps(Some(&p)).video, None);
    }

    #[test]
    fn empty_message_body_turns_message_unlock_off() {
        let text = "[sip]\nuser = \"d\"\ndomain = \"h\"\n[unlock]\nmessage_body = \"\"\ncode = \"1234#\"\n";
        let c = super::super::parse(text, "station.toml").unwrap();
        let e = c.engine_config(&addrs(), None).unwrap();
        assert_eq!(e.unlock.message_body, None);
        assert_eq!(e.unlock.code, UnlockCode::Pin("1234".into()));
        assert_eq!(c.video_config().bitrate_bps, 384_000);
    }
}
