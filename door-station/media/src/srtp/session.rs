//! Protecting and unprotecting packets of one media stream with the SDES keys.

use super::{CryptoAttribute, CryptoSuite, SrtpError};
use bytes::Bytes;
use webrtc_srtp::context::Context;
use webrtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use webrtc_srtp::protection_profile::ProtectionProfile;

/// Replay window in packets (RFC 3711 §3.3.2: at least 64).
const REPLAY_WINDOW: usize = 64;
/// RTP fixed header (RFC 3550 §5.1).
const RTP_HEADER: usize = 12;
/// RTCP header plus sender SSRC (RFC 3550 §6.4).
const RTCP_HEADER: usize = 8;
/// The E flag and SRTCP index (RFC 3711 §3.4).
const SRTCP_INDEX: usize = 4;
/// SRTCP always carries an 80-bit tag, even with the _32 suite (RFC 4568 §6.2.2).
const SRTCP_TAG: usize = 10;

/// The SRTP state of one media stream: our key for what we send, the peer's for what comes.
pub struct SrtpSession {
    suite: CryptoSuite,
    outbound: Context,
    inbound: Context,
}

impl std::fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpSession").field("suite", &self.suite).finish_non_exhaustive()
    }
}

fn profile(suite: CryptoSuite) -> ProtectionProfile {
    match suite {
        CryptoSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        CryptoSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
    }
}

fn context(attr: &CryptoAttribute, replay: bool) -> Result<Context, SrtpError> {
    let (rtp, rtcp) = if replay {
        (Some(srtp_replay_protection(REPLAY_WINDOW)), Some(srtcp_replay_protection(REPLAY_WINDOW)))
    } else {
        (None, None)
    };
    Context::new(&attr.key.key, &attr.key.salt, profile(attr.suite), rtp, rtcp)
        .map_err(|source| SrtpError::Packet { during: "create context", source })
}

impl SrtpSession {
    /// A session sending with `local`'s key and receiving with `remote`'s (both from
    /// [`super::Protection::Sdes`]).
    pub fn new(local: &CryptoAttribute, remote: &CryptoAttribute) -> Result<Self, SrtpError> {
        Ok(SrtpSession { suite: remote.suite, outbound: context(local, false)?, inbound: context(remote, true)? })
    }

    fn rtp_tag_len(&self) -> usize {
        match self.suite {
            CryptoSuite::AesCm128HmacSha1_80 => 10,
            CryptoSuite::AesCm128HmacSha1_32 => 4,
        }
    }

    /// SRTP from a marshalled RTP packet.
    pub fn protect_rtp(&mut self, rtp: &[u8]) -> Result<Bytes, SrtpError> {
        check_len("RTP", rtp.len(), RTP_HEADER)?;
        self.outbound.encrypt_rtp(rtp).map_err(|source| SrtpError::Packet { during: "protect RTP", source })
    }

    /// The RTP packet inside an SRTP datagram; fails on a bad tag or a replay.
    pub fn unprotect_rtp(&mut self, srtp: &[u8]) -> Result<Bytes, SrtpError> {
        check_len("SRTP", srtp.len(), RTP_HEADER + self.rtp_tag_len())?;
        self.inbound.decrypt_rtp(srtp).map_err(|source| SrtpError::Packet { during: "unprotect RTP", source })
    }

    /// SRTCP from a marshalled RTCP compound packet.
    pub fn protect_rtcp(&mut self, rtcp: &[u8]) -> Result<Bytes, SrtpError> {
        check_len("RTCP", rtcp.len(), RTCP_HEADER)?;
        self.outbound.encrypt_rtcp(rtcp).map_err(|source| SrtpError::Packet { during: "protect RTCP", source })
    }

    /// The RTCP packet inside an SRTCP datagram.
    pub fn unprotect_rtcp(&mut self, srtcp: &[u8]) -> Result<Bytes, SrtpError> {
        check_len("SRTCP", srtcp.len(), RTCP_HEADER + SRTCP_INDEX + SRTCP_TAG)?;
        self.inbound.decrypt_rtcp(srtcp).map_err(|source| SrtpError::Packet { during: "unprotect RTCP", source })
    }
}

fn check_len(kind: &'static str, got: usize, min: usize) -> Result<(), SrtpError> {
    if got < min {
        return Err(SrtpError::TooShort { kind, got, min });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
