//! The timers of an answered call: the call time limit and the media
//! inactivity timeout (only watched when the remote side sends media).

use std::time::{Duration, Instant};

use ds_sip::sdp::Negotiated;

use super::config::CallConfig;
use super::{EndReason, media};

/// Call limit and media watchdog of one answered call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallLimits {
    limit_at: Instant,
    watch: Option<Duration>,
    silent_at: Option<Instant>,
}

impl CallLimits {
    /// Limits from `now`; media is watched when `paths` say the remote sends.
    pub fn new(cfg: &CallConfig, now: Instant, paths: Option<&Negotiated>) -> CallLimits {
        let mut limits = CallLimits { limit_at: now + cfg.max_call, watch: None, silent_at: None };
        if let Some(paths) = paths {
            limits.negotiated(cfg, now, paths);
        }
        limits
    }

    /// New paths (a delayed answer, a re-INVITE): the watch starts afresh
    /// when the remote sends on them, and stops while it does not (a hold
    /// with `a=sendonly` from us, `inactive` or `c=0.0.0.0`).
    pub fn negotiated(&mut self, cfg: &CallConfig, now: Instant, paths: &Negotiated) {
        self.watch = media::remote_sends(paths).then_some(cfg.rtp_timeout);
        self.silent_at = self.watch.map(|w| now + w);
    }

    /// RTP arrived.
    pub fn activity(&mut self, now: Instant) {
        self.silent_at = self.watch.map(|w| now + w);
    }

    /// The next deadline.
    pub fn deadline(&self) -> Instant {
        self.silent_at.map_or(self.limit_at, |s| s.min(self.limit_at))
    }

    /// Why the call must end at `now`, if it must.
    pub fn due(&self, now: Instant) -> Option<EndReason> {
        if self.limit_at <= now {
            Some(EndReason::CallLimit)
        } else if self.silent_at.is_some_and(|t| t <= now) {
            Some(EndReason::RtpTimeout)
        } else {
            None
        }
    }
}
