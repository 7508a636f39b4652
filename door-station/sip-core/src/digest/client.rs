//! The digest client: answers `401`/`407` challenges for one account.
//!
//! Driving it: when a challenge arrives, call [`DigestClient::on_challenge`].
//! `Fresh` and `Stale` mean "answer it" with [`DigestClient::authorization`];
//! `Rejected` means the server refused the credentials it already had from
//! us (wrong password), so retrying is pointless. After a final success call
//! [`DigestClient::on_success`], so a later challenge (a registration
//! refresh) counts as fresh again.

use super::{Challenge, QopAuth, ha1, params::quote, response};
use crate::Method;

/// What a new challenge means for the credentials we sent before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeOutcome {
    /// The realm has not been answered since the last success: answer it.
    Fresh,
    /// `stale=TRUE` after our answer: the password was right but the nonce
    /// expired. Answer the new nonce; this is not a failure.
    Stale,
    /// The realm was answered and challenged again without `stale`: the
    /// server refused the username or password.
    Rejected,
}

/// The nonce most recently answered in one realm, and its count.
#[derive(Debug, Clone)]
struct RealmState {
    realm: String,
    nonce: String,
    nc: u32,
    /// Credentials went out since the last [`DigestClient::on_success`].
    answered: bool,
}

/// Digest credentials for one account; tracks `nc` per realm and nonce.
#[derive(Debug, Clone)]
pub struct DigestClient {
    username: String,
    password: String,
    realms: Vec<RealmState>,
}

impl DigestClient {
    /// A client for `username` / `password`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        DigestClient { username: username.into(), password: password.into(), realms: Vec::new() }
    }

    /// The username sent in credentials.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Classifies a challenge that just arrived (see [`ChallengeOutcome`]).
    pub fn on_challenge(&self, ch: &Challenge) -> ChallengeOutcome {
        match self.realm(&ch.realm) {
            Some(state) if state.answered && ch.stale => ChallengeOutcome::Stale,
            Some(state) if state.answered => ChallengeOutcome::Rejected,
            _ => ChallengeOutcome::Fresh,
        }
    }

    /// True when `ch` says our last credentials for its realm were right but
    /// their nonce expired: the "stale nonce" case, not "wrong password".
    pub fn is_stale(&self, ch: &Challenge) -> bool {
        self.on_challenge(ch) == ChallengeOutcome::Stale
    }

    /// The request was accepted: later challenges count as fresh again.
    pub fn on_success(&mut self) {
        for state in &mut self.realms {
            state.answered = false;
        }
    }

    /// The `Authorization` / `Proxy-Authorization` header value answering
    /// `ch` for a request `method` to `uri`. With `qop=auth` it sends
    /// `cnonce` (chosen by the caller) and the next `nc` for this nonce;
    /// without qop it sends the RFC 2069 form. Reusing a challenge for
    /// another request counts `nc` up.
    pub fn authorization(&mut self, ch: &Challenge, method: &Method, uri: &str, cnonce: &str) -> String {
        let nc = self.next_nc(ch);
        let qop = ch.qop_auth.then_some(QopAuth { nc, cnonce });
        let secret = ha1(ch.algorithm, &self.username, &ch.realm, &self.password);
        let digest = response(ch.algorithm, &secret, &ch.nonce, qop, method.as_str(), uri);
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response=\"{digest}\", algorithm={}",
            quote(&self.username),
            quote(&ch.realm),
            quote(&ch.nonce),
            quote(uri),
            ch.algorithm,
        );
        if let Some(q) = qop {
            out.push_str(&format!(", cnonce={}, qop=auth, nc={:08x}", quote(q.cnonce), q.nc));
        }
        if let Some(opaque) = &ch.opaque {
            out.push_str(&format!(", opaque={}", quote(opaque)));
        }
        out
    }

    fn realm(&self, realm: &str) -> Option<&RealmState> {
        self.realms.iter().find(|s| s.realm == realm)
    }

    /// Counts one more use of `ch.nonce`: 1 for a nonce not seen before.
    fn next_nc(&mut self, ch: &Challenge) -> u32 {
        let index = match self.realms.iter().position(|s| s.realm == ch.realm) {
            Some(i) => i,
            None => {
                self.realms.push(RealmState {
                    realm: ch.realm.clone(),
                    nonce: ch.nonce.clone(),
                    nc: 0,
                    answered: false,
                });
                self.realms.len() - 1
            }
        };
        let state = &mut self.realms[index];
        if state.nonce != ch.nonce {
            state.nonce = ch.nonce.clone();
            state.nc = 0;
        }
        state.nc = state.nc.wrapping_add(1).max(1);
        state.answered = true;
        state.nc
    }
}
