//! Parsed `Authorization` / `Proxy-Authorization` values (RFC 3261 §22.2,
//! RFC 7616 §3.4), as the server side receives them.

use super::params::Params;
use super::{Algorithm, DigestError};

/// Digest credentials from a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The realm the credentials are for.
    pub realm: String,
    /// The server nonce being answered.
    pub nonce: String,
    /// The digest-uri the response covers.
    pub uri: String,
    /// The request digest, lower-case hex.
    pub response: String,
    /// The algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// The client nonce (with `qop=auth`).
    pub cnonce: Option<String>,
    /// The nonce count (with `qop=auth`).
    pub nc: Option<u32>,
    /// `qop=auth` was used; `false` is the RFC 2069 form.
    pub qop_auth: bool,
    /// Opaque data echoed from the challenge.
    pub opaque: Option<String>,
}

impl Credentials {
    /// Parses a credentials value. With `qop=auth`, `cnonce` and an 8-digit
    /// hex `nc` are required (RFC 7616 §3.4).
    pub fn parse(header_value: &str) -> Result<Credentials, DigestError> {
        let p = Params::parse_digest(header_value)?;
        let algorithm = p.algorithm()?;
        let qop_auth = match p.get("qop") {
            None => false,
            Some(q) if q.eq_ignore_ascii_case("auth") => true,
            Some(q) => {
                return Err(DigestError::UnsupportedQop { value: q.to_string() });
            }
        };
        let (cnonce, nc) = if qop_auth {
            (Some(p.require("cnonce")?.to_string()), Some(parse_nc(p.require("nc")?)?))
        } else {
            (None, None)
        };
        Ok(Credentials {
            username: p.require("username")?.to_string(),
            realm: p.require("realm")?.to_string(),
            nonce: p.require("nonce")?.to_string(),
            uri: p.require("uri")?.to_string(),
            response: p.require("response")?.to_ascii_lowercase(),
            algorithm,
            cnonce,
            nc,
            qop_auth,
            opaque: p.get("opaque").map(str::to_string),
        })
    }
}

/// `nc-value = 8LHEX` (RFC 7616 §3.4).
fn parse_nc(value: &str) -> Result<u32, DigestError> {
    let bad = || DigestError::BadValue { name: "nc", value: value.to_string() };
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    u32::from_str_radix(value, 16).map_err(|_| bad())
}
