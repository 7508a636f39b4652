//! Digest authentication of REGISTER (401), INVITE and MESSAGE (407), with
//! trusted hosts and a per-source lockout.
//!
//! The realm is the domain the request is for (REGISTER) or from (INVITE,
//! MESSAGE), which is what Flexisip and kamailio use, so HA1s in a Flexisip
//! passwd file keep working. Nonces come from ds-sip's
//! [`DigestServer`]: signed, time-limited, with nonce-count replay
//! detection. Every challenge offers SHA-256 first and MD5 second (RFC 8760).
//! A wrong digest, an unknown user or a replayed count is answered 403 and
//! counted against the source address; after `max_failures` in a row the
//! source gets 403 for `lockout_s` without its credentials being checked.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use ds_sip::digest::{Algorithm, Challenge, Credentials, DigestServer, Rejection, Verification};
use ds_sip::{Method, Request, Response};

use crate::config::TrustedNet;
use crate::passwd::Passwd;
use crate::reply::answer;

/// The settings of [`Authenticator`], from `[auth]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// When false every request is authorized.
    pub enabled: bool,
    /// Sources never challenged.
    pub trusted: Vec<TrustedNet>,
    /// Nonce lifetime.
    pub nonce_lifetime: Duration,
    /// Failures in a row before a lockout.
    pub max_failures: u32,
    /// Lockout length, seconds.
    pub lockout_s: u64,
    /// Algorithms offered, one challenge each, in this order (clients that
    /// read only the first challenge use the first).
    pub algorithms: Vec<Algorithm>,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Go on. `user` is the authenticated user, `None` for a trusted source or auth disabled.
    Authorized {
        /// The digest username.
        user: Option<String>,
    },
    /// Send this 401/407 challenge.
    Challenge(Response),
    /// Send this 403.
    Refused(Response),
}

#[derive(Debug, Clone, Copy, Default)]
struct Failures {
    count: u32,
    locked_until_s: u64,
}

/// Challenges and verifies requests.
#[derive(Debug)]
pub struct Authenticator {
    settings: AuthSettings,
    secret: Vec<u8>,
    servers: HashMap<String, DigestServer>,
    passwd: Passwd,
    failures: HashMap<IpAddr, Failures>,
}

/// At most this many sources are tracked; beyond, unlocked ones are forgotten.
const MAX_TRACKED_SOURCES: usize = 4096;

impl Authenticator {
    /// `secret` signs the nonces (the shell draws it at start).
    pub fn new(settings: AuthSettings, secret: Vec<u8>, passwd: Passwd) -> Authenticator {
        Authenticator { settings, secret, servers: HashMap::new(), passwd, failures: HashMap::new() }
    }

    /// Replaces the users (SIGHUP). Nonces and lockouts are kept.
    pub fn set_passwd(&mut self, passwd: Passwd) {
        self.passwd = passwd;
    }

    /// The users.
    pub fn passwd(&self) -> &Passwd {
        &self.passwd
    }

    /// True when `ip` is never challenged.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        !self.settings.enabled || self.settings.trusted.iter().any(|t| t.contains(ip))
    }

    /// Checks `req` from `source` for `realm` at `now_s` (seconds since the epoch).
    pub fn check(&mut self, now_s: u64, req: &Request, realm: &str, source: IpAddr) -> AuthOutcome {
        if self.is_trusted(source) {
            return AuthOutcome::Authorized { user: None };
        }
        if self.failures.get(&source).is_some_and(|f| f.locked_until_s > now_s) {
            return AuthOutcome::Refused(refusal(req, "too many failed attempts, try later"));
        }
        let Some(creds) = credentials_for(req, realm) else {
            return AuthOutcome::Challenge(self.challenge(now_s, req, realm, false));
        };
        let passwd = &self.passwd;
        let server = server_for(&mut self.servers, &self.secret, &self.settings, realm);
        let verdict = server.verify(now_s, &req.method, &creds, |user, alg| {
            passwd.get(user, realm).and_then(|e| e.ha1(alg, user, realm))
        });
        match verdict {
            Verification::Accepted { username } => {
                self.failures.remove(&source);
                AuthOutcome::Authorized { user: Some(username) }
            }
            Verification::Stale => AuthOutcome::Challenge(self.challenge(now_s, req, realm, true)),
            Verification::Rejected(Rejection::BadNonce | Rejection::WrongRealm) => {
                AuthOutcome::Challenge(self.challenge(now_s, req, realm, false))
            }
            Verification::Rejected(why) => {
                self.fail(now_s, source);
                AuthOutcome::Refused(refusal(req, rejection_text(why)))
            }
        }
    }

    fn fail(&mut self, now_s: u64, source: IpAddr) {
        if self.failures.len() >= MAX_TRACKED_SOURCES {
            self.failures.retain(|_, f| f.locked_until_s > now_s);
        }
        let f = self.failures.entry(source).or_default();
        f.count += 1;
        if f.count >= self.settings.max_failures {
            f.count = 0;
            f.locked_until_s = now_s + self.settings.lockout_s;
        }
    }

    fn challenge(&mut self, now_s: u64, req: &Request, realm: &str, stale: bool) -> Response {
        let (status, header) = match req.method {
            Method::Register => (401, "WWW-Authenticate"),
            _ => (407, "Proxy-Authenticate"),
        };
        let mut resp = answer(req, status);
        let server = server_for(&mut self.servers, &self.secret, &self.settings, realm);
        let first = server.challenge(self.settings.algorithms.first().copied().unwrap_or(Algorithm::Md5), now_s, stale);
        resp.headers.push(header, first.to_string());
        for alg in self.settings.algorithms.iter().skip(1) {
            resp.headers.push(header, Challenge { algorithm: *alg, ..first.clone() }.to_string());
        }
        resp
    }
}

fn server_for<'a>(
    servers: &'a mut HashMap<String, DigestServer>,
    secret: &[u8],
    settings: &AuthSettings,
    realm: &str,
) -> &'a mut DigestServer {
    servers
        .entry(realm.to_string())
        .or_insert_with(|| DigestServer::new(realm, secret.to_vec(), settings.nonce_lifetime))
}

/// The credentials of `req` for `realm` (REGISTER: Authorization; others: Proxy-Authorization).
fn credentials_for(req: &Request, realm: &str) -> Option<Credentials> {
    let name = if req.method == Method::Register { "Authorization" } else { "Proxy-Authorization" };
    req.headers.get_all(name).filter_map(|v| Credentials::parse(v).ok()).find(|c| c.realm == realm)
}

fn refusal(req: &Request, why: &str) -> Response {
    let mut resp = answer(req, 403);
    resp.headers.push("Warning", format!("399 - \"{why}\""));
    resp
}

fn rejection_text(why: Rejection) -> &'static str {
    match why {
        Rejection::UnknownUser => "unknown user",
        Rejection::WrongResponse => "wrong password",
        Rejection::Replay => "nonce count replayed",
        _ => "credentials refused",
    }
}

#[cfg(test)]
mod tests;
