//! HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616,
//! RFC 8760): the client side for REGISTER and INVITE, and the server side
//! for the house proxy.
//!
//! - [`Challenge`] is a parsed `WWW-Authenticate` / `Proxy-Authenticate`
//!   value; [`best_challenge`] picks SHA-256 over MD5 when a server offers
//!   both (RFC 8760 §2.4).
//! - [`DigestClient`] answers challenges: it counts `nc` per nonce, takes the
//!   `cnonce` from the caller (no randomness here), and tells a stale nonce
//!   (retry with the same password) from a refused password.
//! - [`DigestServer`] issues nonces that carry their issue time and are
//!   signed with HMAC-SHA-256 under a server secret, so it needs no table of
//!   issued nonces; it verifies [`Credentials`] against an HA1 lookup, rejects
//!   replayed nonce counts and answers "stale" for expired nonces.
//!
//! Supported: algorithms `MD5` and `SHA-256`, `qop=auth` and the RFC 2069
//! form without qop. Not supported: `-sess` algorithms, `qop=auth-int`,
//! `userhash`, `SHA-512-256`; challenges that need them are parse errors, so
//! [`best_challenge`] skips them. Time is passed in as seconds since the
//! UNIX epoch; this module never reads a clock.
//!
//! ```
//! use ds_sip::Method;
//! use ds_sip::digest::{Credentials, DigestClient, DigestServer, Verification, best_challenge, ha1};
//! use std::time::Duration;
//!
//! let mut server = DigestServer::new("home", b"secret key".to_vec(), Duration::from_secs(300));
//! let offered: Vec<String> = server.challenges(1_700_000_000, false).iter().map(|c| c.to_string()).collect();
//!
//! let mut client = DigestClient::new("door", "pw");
//! let challenge = best_challenge(offered.iter().map(String::as_str)).unwrap();
//! let value = client.authorization(&challenge, &Method::Register, "sip:home", "cnonce-1");
//!
//! let creds = Credentials::parse(&value).unwrap();
//! let verdict = server.verify(1_700_000_001, &Method::Register, &creds, |user, alg| {
//!     (user == "door").then(|| ha1(alg, user, "home", "pw"))
//! });
//! assert_eq!(verdict, Verification::Accepted { username: "door".into() });
//! ```

mod client;
mod credentials;
mod params;
mod server;

#[cfg(test)]
mod tests;

pub use client::{ChallengeOutcome, DigestClient};
pub use credentials::Credentials;
pub use server::{DigestServer, Rejection, Verification};

use md5::Md5;
use sha2::{Digest, Sha256};
use std::fmt;

use params::{Params, quote};

/// A digest algorithm (RFC 8760 §2.1 registry names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, the RFC 2617 default when `algorithm` is absent.
    Md5,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
}

impl Algorithm {
    /// The token as written in headers.
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses an `algorithm` token, case-insensitively. `-sess` variants and
    /// other algorithms are [`DigestError::UnsupportedAlgorithm`].
    pub fn parse(token: &str) -> Result<Algorithm, DigestError> {
        if token.eq_ignore_ascii_case("MD5") {
            Ok(Algorithm::Md5)
        } else if token.eq_ignore_ascii_case("SHA-256") {
            Ok(Algorithm::Sha256)
        } else {
            Err(DigestError::UnsupportedAlgorithm { token: token.to_string() })
        }
    }

    /// `H(data)` as lower-case hex.
    pub fn hash_hex(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data)),
            Algorithm::Sha256 => hex(&Sha256::digest(data)),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// Why a digest header value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The value does not start with the `Digest` scheme.
    #[error("expected the Digest scheme, found {found:?}")]
    NotDigest {
        /// The scheme that was there.
        found: String,
    },
    /// The parameter list is not `name=value, ...`.
    #[error("malformed parameter list at byte {at}: {reason}")]
    Syntax {
        /// Byte offset into the parameter list.
        at: usize,
        /// What was expected.
        reason: &'static str,
    },
    /// A required parameter is absent.
    #[error("missing parameter {name}")]
    Missing {
        /// The parameter name.
        name: &'static str,
    },
    /// An algorithm this stack does not implement.
    #[error("unsupported algorithm {token:?}")]
    UnsupportedAlgorithm {
        /// The token as written.
        token: String,
    },
    /// A qop list without `auth` (only `auth-int`, or unknown values).
    #[error("unsupported qop {value:?}")]
    UnsupportedQop {
        /// The qop value as written.
        value: String,
    },
    /// A parameter with a value of the wrong shape (e.g. `nc` not 8 hex digits).
    #[error("bad value for {name}: {value:?}")]
    BadValue {
        /// The parameter name.
        name: &'static str,
        /// The value as written.
        value: String,
    },
}

/// A digest challenge from a `WWW-Authenticate` or `Proxy-Authenticate`
/// header value (RFC 3261 §22.1, RFC 7616 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection realm.
    pub realm: String,
    /// The server nonce.
    pub nonce: String,
    /// Opaque data to echo back.
    pub opaque: Option<String>,
    /// The hash algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// The server offered `qop=auth`: answer with qop, cnonce and nc.
    pub qop_auth: bool,
    /// `stale=TRUE`: the nonce expired but the previous credentials were good.
    pub stale: bool,
}

impl Challenge {
    /// Parses a challenge. Parameter names are case-insensitive, values may
    /// be tokens or quoted strings, in any order; unknown parameters are
    /// ignored (RFC 7616 §3.3).
    pub fn parse(header_value: &str) -> Result<Challenge, DigestError> {
        let params = Params::parse_digest(header_value)?;
        Ok(Challenge {
            realm: params.require("realm")?.to_string(),
            nonce: params.require("nonce")?.to_string(),
            opaque: params.get("opaque").map(str::to_string),
            algorithm: params.algorithm()?,
            qop_auth: qop_offers_auth(params.get("qop"))?,
            stale: params.get("stale").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        })
    }
}

/// `qop="auth,auth-int"` offers auth; a qop list without `auth` is an error;
/// no qop at all is the RFC 2069 form.
fn qop_offers_auth(qop: Option<&str>) -> Result<bool, DigestError> {
    let Some(list) = qop else { return Ok(false) };
    if list.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")) {
        Ok(true)
    } else {
        Err(DigestError::UnsupportedQop { value: list.to_string() })
    }
}

impl fmt::Display for Challenge {
    /// The header value, as a server sends it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest realm={}, nonce={}", quote(&self.realm), quote(&self.nonce))?;
        if let Some(opaque) = &self.opaque {
            write!(f, ", opaque={}", quote(opaque))?;
        }
        write!(f, ", algorithm={}", self.algorithm)?;
        if self.qop_auth {
            f.write_str(", qop=\"auth\"")?;
        }
        if self.stale {
            f.write_str(", stale=TRUE")?;
        }
        Ok(())
    }
}

/// Picks the challenge to answer among several header values: the first
/// SHA-256 one, else the first MD5 one (RFC 8760 §2.4: the client uses the
/// strongest algorithm it supports). Values that do not parse are skipped.
pub fn best_challenge<'a>(values: impl Iterator<Item = &'a str>) -> Option<Challenge> {
    let mut best: Option<Challenge> = None;
    for challenge in values.filter_map(|v| Challenge::parse(v).ok()) {
        if challenge.algorithm == Algorithm::Sha256 {
            return Some(challenge);
        }
        best.get_or_insert(challenge);
    }
    best
}

/// `HA1 = H(username ":" realm ":" password)` as hex (RFC 7616 §3.4.2).
/// This is what a Flexisip-style passwd file stores.
pub fn ha1(alg: Algorithm, user: &str, realm: &str, password: &str) -> String {
    alg.hash_hex(format!("{user}:{realm}:{password}").as_bytes())
}

/// The qop part of a response: `nc` and `cnonce` for `qop=auth`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QopAuth<'a> {
    pub nc: u32,
    pub cnonce: &'a str,
}

/// The request digest (RFC 7616 §3.4.1; RFC 2069 form without qop).
pub(crate) fn response(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    qop: Option<QopAuth<'_>>,
    method: &str,
    uri: &str,
) -> String {
    let ha2 = alg.hash_hex(format!("{method}:{uri}").as_bytes());
    let data = match qop {
        Some(q) => format!("{ha1}:{nonce}:{:08x}:{}:auth:{ha2}", q.nc, q.cnonce),
        None => format!("{ha1}:{nonce}:{ha2}"),
    };
    alg.hash_hex(data.as_bytes())
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
