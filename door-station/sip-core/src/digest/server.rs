//! The digest server for the house proxy and registrar.
//!
//! Nonces are `<issued>.<seq>.<mac>`: the issue time in seconds since the
//! UNIX epoch and a sequence number (both hex), and the first 128 bits of
//! HMAC-SHA-256 over them and the realm under the server secret (RFC 7616
//! §5.4 suggests time-stamped, keyed nonces). The server needs no table of
//! issued nonces; it only remembers the highest `nc` seen per nonce still
//! alive, to refuse replays. The sequence number keeps nonces issued in the
//! same second apart, so two clients never share one nonce count.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{Algorithm, Challenge, Credentials, QopAuth, hex, response};
use crate::Method;

/// The outcome of checking credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The credentials are good; the request may proceed.
    Accepted {
        /// The authenticated user.
        username: String,
    },
    /// The digest is right but the nonce expired: challenge again with
    /// `stale=TRUE` (RFC 7616 §3.3).
    Stale,
    /// Refused: challenge again without `stale`.
    Rejected(Rejection),
}

/// Why credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The credentials name another realm.
    WrongRealm,
    /// The nonce was not issued by this server (or under another secret).
    BadNonce,
    /// The HA1 lookup knows no such user for this algorithm.
    UnknownUser,
    /// The response digest does not match: wrong password.
    WrongResponse,
    /// The nonce count was not above the last one seen for this nonce.
    Replay,
}

/// Issues and verifies nonces for one realm.
#[derive(Debug, Clone)]
pub struct DigestServer {
    realm: String,
    secret: Vec<u8>,
    lifetime_s: u64,
    seq: u32,
    /// Highest nc accepted per nonce, with the nonce's issue time.
    seen: HashMap<String, (u64, u32)>,
    /// The keys of `seen` by issue time, so expiry visits only the
    /// expired entries.
    by_issue: BTreeSet<(u64, String)>,
}

impl DigestServer {
    /// A server for `realm` signing nonces with `secret`; nonces older than
    /// `lifetime` are answered as stale.
    pub fn new(realm: impl Into<String>, secret: impl Into<Vec<u8>>, lifetime: Duration) -> Self {
        DigestServer {
            realm: realm.into(),
            secret: secret.into(),
            lifetime_s: lifetime.as_secs(),
            seq: 0,
            seen: HashMap::new(),
            by_issue: BTreeSet::new(),
        }
    }

    /// The realm this server authenticates.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// A fresh challenge with `qop="auth"`, at `now_s` seconds since the epoch.
    pub fn challenge(&mut self, alg: Algorithm, now_s: u64, stale: bool) -> Challenge {
        self.seq = self.seq.wrapping_add(1);
        let stem = format!("{now_s:x}.{:x}", self.seq);
        Challenge {
            realm: self.realm.clone(),
            nonce: format!("{stem}.{}", self.mac(&stem)),
            opaque: None,
            algorithm: alg,
            qop_auth: true,
            stale,
        }
    }

    /// One challenge per algorithm, SHA-256 first (RFC 8760 §2.4: in order of
    /// preference), sharing one nonce. Send each as its own header field.
    pub fn challenges(&mut self, now_s: u64, stale: bool) -> Vec<Challenge> {
        let sha = self.challenge(Algorithm::Sha256, now_s, stale);
        let md5 = Challenge { algorithm: Algorithm::Md5, ..sha.clone() };
        vec![sha, md5]
    }

    /// Checks `creds` sent with a `method` request at `now_s`. `ha1_of` maps
    /// (username, algorithm) to the stored HA1 hex ([`super::ha1`]). A good
    /// digest on an expired nonce is [`Verification::Stale`]; a wrong digest
    /// is refused whatever the nonce's age.
    pub fn verify(
        &mut self,
        now_s: u64,
        method: &Method,
        creds: &Credentials,
        ha1_of: impl FnOnce(&str, Algorithm) -> Option<String>,
    ) -> Verification {
        match self.check(now_s, method, creds, ha1_of) {
            Ok(v) => v,
            Err(why) => Verification::Rejected(why),
        }
    }

    fn check(
        &mut self,
        now_s: u64,
        method: &Method,
        creds: &Credentials,
        ha1_of: impl FnOnce(&str, Algorithm) -> Option<String>,
    ) -> Result<Verification, Rejection> {
        if creds.realm != self.realm {
            return Err(Rejection::WrongRealm);
        }
        let issued = self.issue_time(&creds.nonce).ok_or(Rejection::BadNonce)?;
        if issued > now_s {
            return Err(Rejection::BadNonce);
        }
        let secret = ha1_of(&creds.username, creds.algorithm).ok_or(Rejection::UnknownUser)?;
        let qop = match (creds.qop_auth, &creds.cnonce, creds.nc) {
            (true, Some(cnonce), Some(nc)) => Some(QopAuth { nc, cnonce }),
            _ => None,
        };
        let expected =
            response(creds.algorithm, &secret.to_ascii_lowercase(), &creds.nonce, qop, method.as_str(), &creds.uri);
        if !same(expected.as_bytes(), creds.response.as_bytes()) {
            return Err(Rejection::WrongResponse);
        }
        if now_s - issued > self.lifetime_s {
            return Ok(Verification::Stale);
        }
        // Without qop there is no nc: such a nonce is good for one request.
        self.count(now_s, &creds.nonce, issued, qop.map_or(1, |q| q.nc))?;
        Ok(Verification::Accepted { username: creds.username.clone() })
    }

    /// Records `nc` for `nonce` unless it is not above the last one.
    fn count(&mut self, now_s: u64, nonce: &str, issued: u64, nc: u32) -> Result<(), Rejection> {
        self.expire(now_s);
        let last = match self.seen.get_mut(nonce) {
            Some(last) => last,
            None => {
                self.by_issue.insert((issued, nonce.to_string()));
                self.seen.entry(nonce.to_string()).or_insert((issued, 0))
            }
        };
        if nc <= last.1 {
            return Err(Rejection::Replay);
        }
        last.1 = nc;
        Ok(())
    }

    /// Forgets the counts of nonces older than the lifetime, oldest first.
    fn expire(&mut self, now_s: u64) {
        while let Some((issued, _)) = self.by_issue.first() {
            if now_s.saturating_sub(*issued) <= self.lifetime_s {
                break;
            }
            if let Some((_, nonce)) = self.by_issue.pop_first() {
                self.seen.remove(&nonce);
            }
        }
    }

    /// How many nonces have a remembered count.
    pub fn remembered(&self) -> usize {
        self.seen.len()
    }

    /// The issue time of a nonce this server signed, or `None`.
    fn issue_time(&self, nonce: &str) -> Option<u64> {
        let (stem, mac) = nonce.rsplit_once('.')?;
        if !same(self.mac(stem).as_bytes(), mac.as_bytes()) {
            return None;
        }
        let (time, _seq) = stem.split_once('.')?;
        u64::from_str_radix(time, 16).ok()
    }

    fn mac(&self, stem: &str) -> String {
        let tag = hmac_sha256(&self.secret, format!("{stem}:{}", self.realm).as_bytes());
        hex(&tag[..16])
    }
}

/// Equality without an early exit, so timing does not reveal the prefix.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA-256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|k| k ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 §4.2, test case 1.
    #[test]
    fn hmac_matches_rfc4231_case_1() {
        let tag = hmac_sha256(&[0x0b; 20], b"Hi There");
        assert_eq!(hex(&tag), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    }

    /// RFC 4231 §4.3, test case 2 (key shorter than the block).
    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn forged_and_foreign_nonces_have_no_issue_time() {
        let mut a = DigestServer::new("home", b"one".to_vec(), Duration::from_secs(60));
        let b = DigestServer::new("home", b"two".to_vec(), Duration::from_secs(60));
        let nonce = a.challenge(Algorithm::Md5, 1000, false).nonce;
        assert_eq!(a.issue_time(&nonce), Some(1000));
        assert_eq!(b.issue_time(&nonce), None);
        let forged = nonce.replacen("3e8", "3e9", 1);
        assert_eq!(a.issue_time(&forged), None);
        assert_eq!(a.issue_time("no dots"), None);
    }
}
