//! SDES-SRTP: keys exchanged in the SDP (RFC 4568 `a=crypto`), packets protected with
//! AES_CM_128_HMAC_SHA1_80 (RFC 3711).
//!
//! - [`sdes`]: the `a=crypto` attribute, parsed and printed.
//! - [`answer_offer`] / [`offer`] / [`accept_answer`]: what the configured [`SrtpPolicy`] makes
//!   of an offer or answer, giving a [`Protection`].
//! - `SrtpSession` (feature `srtp`): protect what we send with our key, unprotect what comes
//!   with the peer's, through `webrtc-srtp` (pure Rust, from the webrtc-rs family whose `rtp`
//!   crate the station already uses; libsrtp2 bindings would add a C library and `unsafe` for
//!   the same suite). Each SSRC keeps its own rollover counter and a 64-packet replay window
//!   (RFC 3711 §3.3.2), so a peer that switches SSRC mid-call still decrypts.
//!
//! Keys are random bytes that the caller supplies; nothing here draws randomness.

pub mod sdes;
#[cfg(feature = "srtp")]
mod session;

pub use sdes::{CryptoAttribute, CryptoSuite, MasterKey};
#[cfg(feature = "srtp")]
pub use session::SrtpSession;

/// What went wrong with SRTP keys or packets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// An `a=crypto` field is malformed.
    #[error("a=crypto: bad {what}: {got:?}")]
    Syntax {
        /// The field, e.g. "tag".
        what: &'static str,
        /// The text found.
        got: String,
    },
    /// A crypto suite the station does not speak.
    #[error("a=crypto: unsupported crypto suite {suite}")]
    UnsupportedSuite {
        /// Its name.
        suite: String,
    },
    /// The inline key has the wrong length.
    #[error("a=crypto: key and salt are {got} bytes, expected {expected}")]
    KeyLength {
        /// Bytes expected.
        expected: usize,
        /// Bytes found.
        got: usize,
    },
    /// The policy and the other side's SDP do not fit together; the call gets 488.
    #[error("SRTP policy {policy:?}: {reason}")]
    Refused {
        /// Our policy.
        policy: SrtpPolicy,
        /// Why.
        reason: &'static str,
    },
    /// The answer's `a=crypto` tag or suite is not one we offered.
    #[error("the answer's a=crypto tag {tag} ({suite}) was not offered")]
    AnswerMismatch {
        /// The tag answered.
        tag: u32,
        /// The suite answered.
        suite: &'static str,
    },
    /// A packet is too short to be SRTP/SRTCP.
    #[error("{kind} packet of {got} bytes is shorter than {min}")]
    TooShort {
        /// "SRTP" or "SRTCP".
        kind: &'static str,
        /// Its length.
        got: usize,
        /// The least possible length.
        min: usize,
    },
    /// Protecting or unprotecting failed: bad authentication tag, replay, malformed header.
    #[cfg(feature = "srtp")]
    #[error("{during} failed: {source}")]
    Packet {
        /// "protect RTP", "unprotect RTCP", ...
        during: &'static str,
        /// The SRTP library's error.
        #[source]
        source: webrtc_srtp::Error,
    },
}

/// The `[media] srtp` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SrtpPolicy {
    /// Plain RTP only; an offer that requires SRTP (RTP/SAVP) is refused.
    Off,
    /// SRTP when the peer offers or accepts it; plain RTP otherwise. Our offers are RTP/AVP
    /// with `a=crypto` (best effort, as baresip's `mediaenc=srtp`).
    #[default]
    Optional,
    /// SRTP or no call. Our offers are RTP/SAVP.
    Mandatory,
}

/// How one media stream is protected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protection {
    /// Plain RTP.
    Plain,
    /// SDES-SRTP.
    Sdes {
        /// Our `a=crypto` (the key we send with), to put in our SDP.
        local: Box<CryptoAttribute>,
        /// The peer's (the key it sends with).
        remote: Box<CryptoAttribute>,
    },
}

/// The SDP transport protocol for our offer under `policy`.
pub fn offer_profile(policy: SrtpPolicy) -> &'static str {
    match policy {
        SrtpPolicy::Mandatory => "RTP/SAVP",
        SrtpPolicy::Off | SrtpPolicy::Optional => "RTP/AVP",
    }
}

/// The `a=crypto` line(s) of our offer: none when off, else one AES_CM_128_HMAC_SHA1_80 line
/// with tag 1 and `key`.
pub fn offer(policy: SrtpPolicy, key: MasterKey) -> Option<CryptoAttribute> {
    (policy != SrtpPolicy::Off).then(|| CryptoAttribute::new(1, CryptoSuite::AesCm128HmacSha1_80, key))
}

/// Parses an offer's `a=crypto` values, keeping the lines the station can use, in offer order.
pub fn usable_cryptos<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<CryptoAttribute> {
    values
        .into_iter()
        .filter_map(|v| CryptoAttribute::parse(v).ok())
        .filter(CryptoAttribute::is_fully_protected)
        .collect()
}

/// Answers a media stream offered with protocol `savp` (true for RTP/SAVP) and `offered`
/// crypto lines: the first usable line is taken, answered with its tag and suite and `key`.
pub fn answer_offer(
    policy: SrtpPolicy,
    savp: bool,
    offered: &[CryptoAttribute],
    key: MasterKey,
) -> Result<Protection, SrtpError> {
    let refuse = |reason| Err(SrtpError::Refused { policy, reason });
    let chosen = offered.iter().find(|c| c.is_fully_protected());
    match (policy, chosen) {
        (SrtpPolicy::Off, _) if savp => refuse("the offer requires SRTP (RTP/SAVP)"),
        (SrtpPolicy::Off, _) => Ok(Protection::Plain),
        (_, Some(remote)) => Ok(Protection::Sdes {
            local: Box::new(CryptoAttribute::new(remote.tag, remote.suite, key)),
            remote: Box::new(remote.clone()),
        }),
        (SrtpPolicy::Optional, None) if !savp => Ok(Protection::Plain),
        (_, None) => refuse("no usable a=crypto line in the offer"),
    }
}

/// What the answer to our offer (`ours`, from [`offer`]) means: `answered` is the answer's
/// parsed `a=crypto` line, if it had one.
pub fn accept_answer(
    policy: SrtpPolicy,
    ours: Option<&CryptoAttribute>,
    answered: Option<CryptoAttribute>,
) -> Result<Protection, SrtpError> {
    match (ours, answered) {
        (Some(local), Some(remote)) if local.tag == remote.tag && local.suite == remote.suite => {
            Ok(Protection::Sdes { local: Box::new(local.clone()), remote: Box::new(remote) })
        }
        (_, Some(remote)) => Err(SrtpError::AnswerMismatch { tag: remote.tag, suite: remote.suite.name() }),
        (_, None) if policy == SrtpPolicy::Mandatory => {
            Err(SrtpError::Refused { policy, reason: "the answer has no a=crypto line" })
        }
        (_, None) => Ok(Protection::Plain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fill: u8) -> MasterKey {
        MasterKey::from_bytes([fill; 30])
    }

    fn offered() -> Vec<CryptoAttribute> {
        usable_cryptos([
            "1 AES_256_CM_HMAC_SHA1_80 inline:AAAA",
            "2 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP",
            "3 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            "4 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
        ])
    }

    #[test]
    fn the_answer_takes_the_first_usable_line_with_its_tag() {
        let offer = offered();
        assert_eq!(offer.iter().map(|c| c.tag).collect::<Vec<_>>(), [3, 4]);
        let Protection::Sdes { local, remote } = answer_offer(SrtpPolicy::Optional, true, &offer, key(9)).unwrap()
        else {
            panic!("expected SRTP");
        };
        assert_eq!((local.tag, local.suite), (3, CryptoSuite::AesCm128HmacSha1_32));
        assert_eq!(local.key, key(9));
        assert_eq!(*remote, offer[0]);
    }

    #[test]
    fn each_policy_answers_plain_and_secure_offers() {
        let secure = offered();
        let cases = [
            (SrtpPolicy::Off, false, &secure[..], Some(false)),
            (SrtpPolicy::Off, true, &secure[..], None),
            (SrtpPolicy::Optional, false, &[][..], Some(false)),
            (SrtpPolicy::Optional, false, &secure[..], Some(true)),
            (SrtpPolicy::Optional, true, &[][..], None),
            (SrtpPolicy::Mandatory, false, &[][..], None),
            (SrtpPolicy::Mandatory, false, &secure[..], Some(true)),
        ];
        for (policy, savp, offer, expected) in cases {
            let got = answer_offer(policy, savp, offer, key(1));
            let got = got.ok().map(|p| matches!(p, Protection::Sdes { .. }));
            assert_eq!(got, expected, "{policy:?} savp={savp} cryptos={}", offer.len());
        }
    }

    #[test]
    fn our_offer_and_the_answer_fit_together_or_are_refused() {
        assert_eq!(offer(SrtpPolicy::Off, key(1)), None);
        assert_eq!(offer_profile(SrtpPolicy::Mandatory), "RTP/SAVP");
        let ours = offer(SrtpPolicy::Optional, key(1)).unwrap();
        assert_eq!(ours.tag, 1);
        let theirs = CryptoAttribute::new(1, CryptoSuite::AesCm128HmacSha1_80, key(2));
        let ok = accept_answer(SrtpPolicy::Optional, Some(&ours), Some(theirs.clone())).unwrap();
        assert_eq!(ok, Protection::Sdes { local: Box::new(ours.clone()), remote: Box::new(theirs) });
        let wrong = CryptoAttribute::new(7, CryptoSuite::AesCm128HmacSha1_80, key(2));
        assert!(matches!(
            accept_answer(SrtpPolicy::Optional, Some(&ours), Some(wrong)),
            Err(SrtpError::AnswerMismatch { tag: 7, .. })
        ));
        assert_eq!(accept_answer(SrtpPolicy::Optional, Some(&ours), None).unwrap(), Protection::Plain);
        assert!(accept_answer(SrtpPolicy::Mandatory, Some(&ours), None).is_err());
    }
}
