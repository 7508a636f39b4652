//! SDES-SRTP in the station's SDP (RFC 4568): `a=crypto` and `RTP/SAVP` in
//! our offers, the peer's answer to them, and our answers to peer offers,
//! under the `[media] srtp` policy (ds-media's [`srtp`] rules).
//!
//! Keys: SHA-256 of the shell's 32-byte secret and a per-stream counter
//! from the engine's id source, so the core stays deterministic for a
//! given secret while the keys are as secret as it.

use ds_media::srtp::{self, CryptoAttribute, MasterKey, Protection, SrtpPolicy};
use ds_sip::sdp::{Attribute, MediaDescription, SessionDescription};
use sha2::{Digest, Sha256};

const CRYPTO: &str = "crypto";
const SAVP: &str = "RTP/SAVP";
const AVP: &str = "RTP/AVP";

/// How each accepted stream is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamProtection {
    /// The audio stream's.
    pub audio: Protection,
    /// The video stream's.
    pub video: Protection,
}

impl Default for StreamProtection {
    fn default() -> Self {
        StreamProtection { audio: Protection::Plain, video: Protection::Plain }
    }
}

/// A fresh master key from `secret` and `counter`.
pub fn key(secret: &[u8; 32], counter: u64) -> MasterKey {
    let digest = Sha256::new().chain_update(secret).chain_update(counter.to_le_bytes()).finalize();
    let mut material = [0u8; 30];
    material.copy_from_slice(&digest[..30]);
    MasterKey::from_bytes(material)
}

fn cryptos(m: &MediaDescription) -> Vec<CryptoAttribute> {
    srtp::usable_cryptos(m.attributes.iter().filter(|a| a.name == CRYPTO).filter_map(|a| a.value.as_deref()))
}

fn push_crypto(m: &mut MediaDescription, c: &CryptoAttribute) {
    m.attributes.push(Attribute { name: CRYPTO.into(), value: Some(c.to_string()) });
}

/// Adds our `a=crypto` (one key per stream) and the policy's profile to an offer.
pub fn protect_offer(sdp: &mut SessionDescription, policy: SrtpPolicy, mut key: impl FnMut() -> MasterKey) {
    for m in sdp.media.iter_mut().filter(|m| !m.is_rejected()) {
        if let Some(c) = srtp::offer(policy, key()) {
            m.proto = srtp::offer_profile(policy).into();
            push_crypto(m, &c);
        }
    }
}

/// The offer's policy, read back from it: crypto on RTP/SAVP is mandatory.
fn policy_of(m: &MediaDescription) -> SrtpPolicy {
    match (cryptos(m).is_empty(), m.proto == SAVP) {
        (true, _) => SrtpPolicy::Off,
        (false, true) => SrtpPolicy::Mandatory,
        (false, false) => SrtpPolicy::Optional,
    }
}

/// The protection our `offer` and the peer's `answer` agree on, first audio
/// and video stream; `Err` names the stream that cannot be used.
pub fn accept_answer(offer: &SessionDescription, answer: &SessionDescription) -> Result<StreamProtection, String> {
    let mut out = StreamProtection::default();
    for (ours, theirs) in offer.media.iter().zip(&answer.media).filter(|(o, a)| !o.is_rejected() && !a.is_rejected()) {
        let answered = cryptos(theirs).into_iter().next();
        let p = srtp::accept_answer(policy_of(ours), cryptos(ours).first(), answered)
            .map_err(|e| format!("{} stream: {e}", ours.kind))?;
        match ours.kind.as_str() {
            "audio" => out.audio = p,
            "video" => out.video = p,
            _ => {}
        }
    }
    Ok(out)
}

/// A remote offer with its SAVP streams shown as AVP, for ds-sip's answer
/// (which takes plain RTP profiles only); the protection is added back by
/// [`protect_answer`].
pub fn as_plain(offer: &SessionDescription) -> SessionDescription {
    let mut plain = offer.clone();
    for m in plain.media.iter_mut().filter(|m| m.proto == SAVP) {
        m.proto = AVP.into();
    }
    plain
}

/// Puts the protection into our answer to `offer`: each accepted stream
/// gets the offer's profile and our `a=crypto` (or is rejected, port 0, when
/// the policy and the offer disagree).
pub fn protect_answer(
    offer: &SessionDescription,
    answer: &mut SessionDescription,
    policy: SrtpPolicy,
    mut key: impl FnMut() -> MasterKey,
) -> StreamProtection {
    let mut out = StreamProtection::default();
    for (offered, m) in offer.media.iter().zip(answer.media.iter_mut()).filter(|(_, m)| !m.is_rejected()) {
        m.proto = offered.proto.clone();
        match srtp::answer_offer(policy, offered.proto == SAVP, &cryptos(offered), key()) {
            Ok(Protection::Plain) => {}
            Ok(Protection::Sdes { local, remote }) => {
                push_crypto(m, &local);
                let p = Protection::Sdes { local, remote };
                match m.kind.as_str() {
                    "audio" => out.audio = p,
                    "video" => out.video = p,
                    _ => {}
                }
            }
            Err(e) => {
                tracing::info!(stream = %m.kind, error = %e, "stream refused by the SRTP policy");
                m.port = 0;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
