//! The `auth-param` list of a digest header value (RFC 7235 §2.1, RFC 3261
//! §25.1): `name=token` or `name="quoted string"`, comma-separated, with
//! optional whitespace, in any order. Names are case-insensitive.

use super::{Algorithm, DigestError};

/// Parameters of one `Digest` challenge or credentials value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params {
    /// `(lower-case name, unquoted value)` in wire order.
    items: Vec<(String, String)>,
}

impl Params {
    /// Parses `Digest name=value, ...`; the scheme is case-insensitive.
    pub fn parse_digest(value: &str) -> Result<Params, DigestError> {
        let value = value.trim_start();
        let end = value.find(|c: char| c.is_ascii_whitespace()).unwrap_or(value.len());
        let (scheme, rest) = value.split_at(end);
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(DigestError::NotDigest { found: scheme.to_string() });
        }
        Params::parse_list(rest)
    }

    /// Parses a bare `name=value, ...` list.
    pub fn parse_list(list: &str) -> Result<Params, DigestError> {
        let mut cursor = Cursor { s: list, at: 0 };
        let mut items = Vec::new();
        loop {
            cursor.skip_separators();
            if cursor.done() {
                return Ok(Params { items });
            }
            let name = cursor.token("a parameter name")?.to_ascii_lowercase();
            cursor.skip_ws();
            cursor.expect('=')?;
            cursor.skip_ws();
            let value = cursor.value()?;
            items.push((name, value));
            cursor.skip_ws();
            if !cursor.done() && !cursor.eat(',') {
                return Err(cursor.error("',' between parameters"));
            }
        }
    }

    /// The first value of `name` (lower-case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.items.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The `algorithm` parameter; MD5 when absent (RFC 7616 §3.3).
    pub fn algorithm(&self) -> Result<Algorithm, DigestError> {
        self.get("algorithm").map_or(Ok(Algorithm::Md5), Algorithm::parse)
    }

    /// The value of `name`, or [`DigestError::Missing`].
    pub fn require(&self, name: &'static str) -> Result<&str, DigestError> {
        self.get(name).ok_or(DigestError::Missing { name })
    }
}

/// A position in the parameter list.
struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.at..]
    }

    fn done(&self) -> bool {
        self.at >= self.s.len()
    }

    fn error(&self, reason: &'static str) -> DigestError {
        DigestError::Syntax { at: self.at, reason }
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    /// Whitespace and empty list elements (RFC 7230 §7 `#rule`).
    fn skip_separators(&mut self) {
        loop {
            self.skip_ws();
            if !self.eat(',') {
                return;
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), DigestError> {
        if self.eat(c) { Ok(()) } else { Err(self.error("'=' after the parameter name")) }
    }

    /// A token: up to whitespace, `=`, `,` or `"`.
    fn token(&mut self, what: &'static str) -> Result<String, DigestError> {
        let rest = self.rest();
        let len = rest.find(|c: char| c.is_ascii_whitespace() || matches!(c, '=' | ',' | '"')).unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error(what));
        }
        self.at += len;
        Ok(rest[..len].to_string())
    }

    fn value(&mut self) -> Result<String, DigestError> {
        if self.eat('"') { self.quoted() } else { self.token("a token or quoted-string value") }
    }

    /// The rest of a quoted string after its opening quote; `\x` is `x`.
    fn quoted(&mut self) -> Result<String, DigestError> {
        let mut out = String::new();
        let whole = self.s;
        let mut chars = whole[self.at..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => out.push(escaped),
                    None => break,
                },
                _ => out.push(c),
            }
        }
        self.at = self.s.len();
        Err(self.error("a closing '\"'"))
    }
}

/// `value` as a quoted-string, escaping `"` and `\`.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_token_values_in_any_case() {
        let p = Params::parse_digest(r#"digest REALM="a \"b\"",nonce=xyz ,  QOP="auth,auth-int""#).unwrap();
        assert_eq!(p.get("realm"), Some(r#"a "b""#));
        assert_eq!(p.get("nonce"), Some("xyz"));
        assert_eq!(p.get("qop"), Some("auth,auth-int"));
    }

    #[test]
    fn other_scheme_is_refused() {
        assert_eq!(Params::parse_digest("Basic realm=\"x\""), Err(DigestError::NotDigest { found: "Basic".into() }));
    }

    #[test]
    fn unterminated_quote_and_missing_equals_are_errors() {
        assert!(matches!(Params::parse_list(r#"realm="abc"#), Err(DigestError::Syntax { .. })));
        assert!(matches!(Params::parse_list("realm nonce"), Err(DigestError::Syntax { .. })));
        assert!(matches!(Params::parse_list("realm=\"a\" nonce=\"b\""), Err(DigestError::Syntax { .. })));
    }

    #[test]
    fn quote_round_trips() {
        let raw = r#"we\ird "user""#;
        let list = format!("u={}", quote(raw));
        assert_eq!(Params::parse_list(&list).unwrap().get("u"), Some(raw));
    }

    #[test]
    fn empty_elements_and_non_ascii_do_not_panic() {
        let p = Params::parse_list(" , ,a=1,, b=\"é\" ,").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("é"));
        assert!(Params::parse_list("é=\"").is_err());
    }
}
