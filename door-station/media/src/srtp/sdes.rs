//! The SDP `a=crypto` attribute of SDES (RFC 4568) for SRTP:
//!
//! ```text
//! a=crypto:<tag> <crypto-suite> inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>] [<session-params>]
//! ```
//!
//! The parser is total: anything else is an [`SrtpError`] naming what was wrong. Keys are not
//! generated here (no randomness in this crate): the caller passes 30 random bytes.

use super::SrtpError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;

/// Master key length of the AES-128 suites (RFC 4568 §6.2.1).
pub const KEY_LEN: usize = 16;
/// Master salt length of the AES-128 suites.
pub const SALT_LEN: usize = 14;
/// Key and salt together, as carried inline.
pub const KEY_SALT_LEN: usize = KEY_LEN + SALT_LEN;

/// The SRTP crypto suites the station speaks (RFC 4568 §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// AES-128 counter mode, 80-bit HMAC-SHA1 tag: the one every SDES peer supports.
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, 32-bit HMAC-SHA1 tag (RTCP keeps 80 bits).
    AesCm128HmacSha1_32,
}

impl CryptoSuite {
    /// The SDP name.
    pub fn name(self) -> &'static str {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            CryptoSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite of an SDP name, if supported.
    pub fn from_name(name: &str) -> Option<Self> {
        [CryptoSuite::AesCm128HmacSha1_80, CryptoSuite::AesCm128HmacSha1_32].into_iter().find(|s| s.name() == name)
    }
}

/// An SRTP master key and salt. Its `Debug` does not show the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    /// The master key.
    pub key: [u8; KEY_LEN],
    /// The master salt.
    pub salt: [u8; SALT_LEN],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// A key from 30 bytes: key, then salt.
    pub fn from_bytes(material: [u8; KEY_SALT_LEN]) -> Self {
        let mut key = [0; KEY_LEN];
        let mut salt = [0; SALT_LEN];
        key.copy_from_slice(&material[..KEY_LEN]);
        salt.copy_from_slice(&material[KEY_LEN..]);
        MasterKey { key, salt }
    }

    /// Key and salt as base64, as `inline:` carries them.
    pub fn to_base64(&self) -> String {
        let mut material = self.key.to_vec();
        material.extend_from_slice(&self.salt);
        STANDARD.encode(material)
    }

    /// Decodes `inline:`'s base64 (padded or not).
    pub fn from_base64(text: &str) -> Result<Self, SrtpError> {
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| SrtpError::Syntax { what: "inline key (base64)", got: text.to_string() })?;
        let material: [u8; KEY_SALT_LEN] =
            bytes.try_into().map_err(|b: Vec<u8>| SrtpError::KeyLength { expected: KEY_SALT_LEN, got: b.len() })?;
        Ok(Self::from_bytes(material))
    }
}

/// One `a=crypto` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CryptoAttribute {
    /// The tag that an answer repeats (1–999999999).
    pub tag: u32,
    /// The suite.
    pub suite: CryptoSuite,
    /// The sender's master key and salt.
    pub key: MasterKey,
    /// Key lifetime in packets, if given (`2^31` or `1000000`).
    pub lifetime: Option<u64>,
    /// MKI value and its length in bytes, if given.
    pub mki: Option<(u64, u8)>,
    /// Session parameters such as `UNENCRYPTED_SRTCP`, kept verbatim.
    pub session_params: Vec<String>,
}

impl CryptoAttribute {
    /// A line for our own key.
    pub fn new(tag: u32, suite: CryptoSuite, key: MasterKey) -> Self {
        CryptoAttribute { tag, suite, key, lifetime: None, mki: None, session_params: vec![] }
    }

    /// Parses the attribute value, with or without the leading `a=crypto:` / `crypto:`.
    pub fn parse(line: &str) -> Result<Self, SrtpError> {
        let value = line.trim();
        let value = value.strip_prefix("a=").unwrap_or(value);
        let value = value.strip_prefix("crypto:").unwrap_or(value);
        let mut fields = value.split_ascii_whitespace();
        let tag_text = fields.next().unwrap_or("");
        let tag = tag_text
            .parse::<u32>()
            .ok()
            .filter(|t| (1..=999_999_999).contains(t))
            .ok_or_else(|| syntax("tag (1 to 9 digits)", tag_text))?;
        let suite_text = fields.next().ok_or_else(|| syntax("crypto-suite", value))?;
        let suite = CryptoSuite::from_name(suite_text)
            .ok_or_else(|| SrtpError::UnsupportedSuite { suite: suite_text.to_string() })?;
        let params = fields.next().ok_or_else(|| syntax("key-params", value))?;
        // Several `;`-separated keys are allowed (RFC 4568 §9.1); the first is used.
        let first = params.split(';').next().unwrap_or("");
        let (key, lifetime, mki) = parse_key_params(first)?;
        Ok(CryptoAttribute { tag, suite, key, lifetime, mki, session_params: fields.map(str::to_string).collect() })
    }

    /// Whether every packet is encrypted and authenticated: no `UNENCRYPTED_*` or
    /// `UNAUTHENTICATED_SRTP` session parameter (RFC 4568 §6.3.2-4), which the station refuses.
    pub fn is_fully_protected(&self) -> bool {
        !self.session_params.iter().any(|p| p.starts_with("UNENCRYPTED_") || p == "UNAUTHENTICATED_SRTP")
    }
}

fn syntax(what: &'static str, got: &str) -> SrtpError {
    SrtpError::Syntax { what, got: got.to_string() }
}

/// `inline:<key||salt>[|lifetime][|mki:length]`.
type KeyParams = (MasterKey, Option<u64>, Option<(u64, u8)>);

fn parse_key_params(text: &str) -> Result<KeyParams, SrtpError> {
    let info = text.strip_prefix("inline:").ok_or_else(|| syntax("key-method inline:", text))?;
    let mut parts = info.split('|');
    let key = MasterKey::from_base64(parts.next().unwrap_or(""))?;
    let mut lifetime = None;
    let mut mki = None;
    for part in parts {
        if let Some((value, length)) = part.split_once(':') {
            let value = value.parse().map_err(|_| syntax("MKI value", part))?;
            let length = length
                .parse()
                .ok()
                .filter(|l| (1..=128).contains(l))
                .ok_or_else(|| syntax("MKI length (1 to 128)", part))?;
            mki = Some((value, length));
        } else {
            lifetime = Some(parse_lifetime(part)?);
        }
    }
    Ok((key, lifetime, mki))
}

/// `2^N` or a plain number of packets.
fn parse_lifetime(text: &str) -> Result<u64, SrtpError> {
    let value = match text.strip_prefix("2^") {
        Some(exp) => exp.parse::<u32>().ok().filter(|e| *e < 64).map(|e| 1u64 << e),
        None => text.parse().ok(),
    };
    value.ok_or_else(|| syntax("key lifetime", text))
}

impl fmt::Display for CryptoAttribute {
    /// The attribute value, without `a=crypto:` (what goes after it in the SDP).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} inline:{}", self.tag, self.suite.name(), self.key.to_base64())?;
        if let Some(lifetime) = self.lifetime {
            if lifetime.is_power_of_two() {
                write!(f, "|2^{}", lifetime.trailing_zeros())?;
            } else {
                write!(f, "|{lifetime}")?;
            }
        }
        if let Some((value, length)) = self.mki {
            write!(f, "|{value}:{length}")?;
        }
        for p in &self.session_params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of RFC 4568 §9.1 (session parameters aside).
    const RFC_EXAMPLE: &str =
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4";

    #[test]
    fn the_rfc_example_parses_and_prints_back() {
        let c = CryptoAttribute::parse(RFC_EXAMPLE).unwrap();
        assert_eq!(c.tag, 1);
        assert_eq!(c.suite, CryptoSuite::AesCm128HmacSha1_80);
        assert_eq!(c.lifetime, Some(1 << 20));
        assert_eq!(c.mki, Some((1, 4)));
        assert_eq!(&c.key.key[..4], b"=-n@");
        assert_eq!(format!("a=crypto:{c}"), RFC_EXAMPLE);
        assert!(c.is_fully_protected());
    }

    #[test]
    fn a_generated_line_round_trips() {
        let material: [u8; 30] = std::array::from_fn(|i| i as u8 * 7);
        let mut c = CryptoAttribute::new(2, CryptoSuite::AesCm128HmacSha1_32, MasterKey::from_bytes(material));
        c.session_params.push("UNENCRYPTED_SRTCP".into());
        let text = c.to_string();
        assert!(text.starts_with("2 AES_CM_128_HMAC_SHA1_32 inline:"));
        let back = CryptoAttribute::parse(&text).unwrap();
        assert_eq!(back, c);
        assert!(!back.is_fully_protected());
        assert_eq!(format!("{:?}", back.key), "MasterKey(..)");
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        type Check = fn(&SrtpError) -> bool;
        let cases: [(&str, Check); 7] = [
            ("", |e| matches!(e, SrtpError::Syntax { what: "tag (1 to 9 digits)", .. })),
            ("0 AES_CM_128_HMAC_SHA1_80 inline:x", |e| matches!(e, SrtpError::Syntax { .. })),
            (
                "1 F8_128_HMAC_SHA1_80 inline:x",
                |e| matches!(e, SrtpError::UnsupportedSuite { suite } if suite == "F8_128_HMAC_SHA1_80"),
            ),
            ("1 AES_CM_128_HMAC_SHA1_80", |e| matches!(e, SrtpError::Syntax { what: "key-params", .. })),
            ("1 AES_CM_128_HMAC_SHA1_80 uri:x", |e| matches!(e, SrtpError::Syntax { .. })),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", |e| matches!(e, SrtpError::KeyLength { expected: 30, got: 3 })),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^99", |e| {
                matches!(e, SrtpError::Syntax { what: "key lifetime", .. })
            }),
        ];
        for (line, check) in cases {
            let err = CryptoAttribute::parse(line).unwrap_err();
            assert!(check(&err), "{line:?} gave {err:?}");
        }
    }
}
