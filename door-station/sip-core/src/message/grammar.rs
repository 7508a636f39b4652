//! Lexical rules of RFC 3261 §25.1 used by intake: tokens, quoted strings,
//! generic parameters and URIs. Inputs are unfolded header values, so LWS is
//! plain SP / HTAB here. Every function is total and returns a short static
//! reason on failure, which the caller wraps with the header it was checking.

/// A grammar failure: what was expected.
pub type Expected = &'static str;

/// `token` characters: alphanum and `-.!%*_+`'~`.
pub fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// A non-empty token.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// `word` characters (Call-ID): token characters plus `()<>:\"/[]?{}`.
fn is_word_char(c: char) -> bool {
    is_token_char(c) || "()<>:\\\"/[]?{}".contains(c)
}

/// `Call-ID = word [ "@" word ]`.
pub fn call_id(s: &str) -> Result<(), Expected> {
    let word = |w: &str| !w.is_empty() && w.chars().all(is_word_char);
    let ok = match s.split_once('@') {
        Some((local, host)) => word(local) && word(host),
        None => word(s),
    };
    if ok { Ok(()) } else { Err("word [\"@\" word]") }
}

/// Whitespace inside a header value (after unfolding).
pub fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A cursor over one header value.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    /// Start at the beginning of `s`.
    pub fn new(s: &'a str) -> Self {
        Cursor { rest: s }
    }

    /// What is left.
    #[cfg(test)]
    pub fn rest(&self) -> &'a str {
        self.rest
    }

    /// True at the end.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Skip SWS; returns whether any whitespace was skipped.
    pub fn skip_ws(&mut self) -> bool {
        let before = self.rest.len();
        self.rest = self.rest.trim_start_matches(is_wsp);
        self.rest.len() != before
    }

    /// Consume `c` if it is next.
    pub fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    /// Peek the next character.
    pub fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    /// Take the longest prefix whose characters satisfy `f`.
    pub fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c: char| !f(c)).unwrap_or(self.rest.len());
        let (head, tail) = self.rest.split_at(end);
        self.rest = tail;
        head
    }

    /// A non-empty token.
    pub fn token(&mut self) -> Result<&'a str, Expected> {
        let t = self.take_while(is_token_char);
        if t.is_empty() { Err("token") } else { Ok(t) }
    }

    /// A quoted-string (the cursor is on the opening quote); returns the
    /// raw text between the quotes, escapes kept.
    pub fn quoted_string(&mut self) -> Result<&'a str, Expected> {
        let body = self.rest.strip_prefix('"').ok_or("quoted-string")?;
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &body[i + 1..];
                    return Ok(&body[..i]);
                }
                '\\' => match chars.next() {
                    Some((_, e)) if e != '\r' && e != '\n' && e.is_ascii() => {}
                    _ => return Err("quoted-pair"),
                },
                c if c.is_ascii_control() && !is_wsp(c) => return Err("qdtext"),
                _ => {}
            }
        }
        Err("closing quote")
    }

    /// `*( SEMI generic-param )` to the end of the value, or up to a
    /// character that is not `;`. Returns the (name, value) pairs.
    pub fn params(&mut self) -> Result<Vec<(&'a str, Option<&'a str>)>, Expected> {
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            if !self.eat(';') {
                return Ok(out);
            }
            self.skip_ws();
            let name = self.token().map_err(|_| "parameter name after ';'")?;
            let save = self.clone();
            self.skip_ws();
            if self.eat('=') {
                self.skip_ws();
                out.push((name, Some(self.gen_value()?)));
            } else {
                *self = save;
                out.push((name, None));
            }
        }
    }

    /// `gen-value = token / host / quoted-string`.
    fn gen_value(&mut self) -> Result<&'a str, Expected> {
        if self.peek() == Some('"') {
            return self.quoted_string();
        }
        let v = self.take_while(|c| is_token_char(c) || c == ':' || c == '[' || c == ']');
        if v.is_empty() { Err("parameter value") } else { Ok(v) }
    }
}

/// Parse a decimal with no sign and at most `max`.
pub fn bounded_number(s: &str, max: u64) -> Result<u64, Expected> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("1*DIGIT");
    }
    let trimmed = s.trim_start_matches('0');
    if trimmed.len() > 20 {
        return Err("a number in range");
    }
    match trimmed.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        Err(_) if trimmed.is_empty() => Ok(0),
        _ => Err("a number in range"),
    }
}

/// The facts about a URI that intake checks beyond its syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UriShape {
    /// A SIP or SIPS URI with a `?headers` part.
    pub has_headers: bool,
}

/// `SIP-URI / SIPS-URI / absoluteURI` with no whitespace or brackets.
pub fn uri(s: &str) -> Result<UriShape, Expected> {
    let (scheme, rest) = s.split_once(':').ok_or("scheme \":\"")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err("URI scheme");
    }
    if rest.is_empty() || !rest.chars().all(is_uric) {
        return Err("URI characters (no LWS, <>, quotes)");
    }
    check_escapes(rest)?;
    if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        sip_uri(rest)
    } else {
        Ok(UriShape { has_headers: false })
    }
}

fn is_uric(c: char) -> bool {
    c.is_ascii_graphic() && !"<>\"{}|\\^`".contains(c)
}

fn check_escapes(s: &str) -> Result<(), Expected> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
        if !hex(i + 1) || !hex(i + 2) {
            return Err("escaped = \"%\" HEXDIG HEXDIG");
        }
    }
    Ok(())
}

/// The part after `sip:`: `[userinfo "@"] hostport uri-parameters [headers]`.
/// The user part cannot hold a raw `@`, so the first `@` ends it.
fn sip_uri(rest: &str) -> Result<UriShape, Expected> {
    let after_user = match rest.split_once('@') {
        Some(("", _)) => return Err("user before '@'"),
        Some((_, host)) => host,
        None => rest,
    };
    let (hostport, has_headers) = match after_user.split_once('?') {
        Some((_, "")) => return Err("headers after '?'"),
        Some((hp, _)) => (hp, true),
        None => (after_user, false),
    };
    let mut parts = hostport.split(';');
    host_port(parts.next().unwrap_or(""))?;
    if parts.any(str::is_empty) {
        return Err("uri-parameter after ';'");
    }
    Ok(UriShape { has_headers })
}

/// `host [":" port]` with host a hostname, IPv4 address or `[IPv6]`.
pub fn host_port(s: &str) -> Result<(), Expected> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or("']'")?;
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return Err("IPv6 reference");
        }
        let port = match after {
            "" => None,
            a => Some(a.strip_prefix(':').ok_or("':' before the port")?),
        };
        (None, port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(s), None),
        }
    };
    if let Some(h) = host {
        hostname(h)?;
    }
    match port {
        Some(p) => bounded_number(p, 65535).map(|_| ()).map_err(|_| "port 0-65535"),
        None => Ok(()),
    }
}

fn hostname(h: &str) -> Result<(), Expected> {
    let h = h.strip_suffix('.').unwrap_or(h);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if h.split('.').all(label_ok) { Ok(()) } else { Err("hostname or IPv4 address") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_balance_and_escape() {
        let mut c = Cursor::new(r#""J Rosenberg \\\"" <sip:x@y>"#);
        assert_eq!(c.quoted_string(), Ok(r#"J Rosenberg \\\""#));
        assert_eq!(c.rest(), " <sip:x@y>");
        assert!(Cursor::new(r#""Mr. J. User <sip:j@x>"#).quoted_string().is_err());
        assert!(Cursor::new("\"a\\").quoted_string().is_err());
    }

    #[test]
    fn params_reject_empty_elements() {
        assert!(Cursor::new(";;").params().is_err());
        let mut c = Cursor::new(" ; tag    = 1918181833n ; lr");
        assert_eq!(c.params(), Ok(vec![("tag", Some("1918181833n")), ("lr", None)]));
        assert!(c.is_empty());
    }

    #[test]
    fn uris() {
        assert_eq!(uri("sip:user@example.com?Route=%3Csip:x%3E"), Ok(UriShape { has_headers: true }));
        assert_eq!(uri("sip:u;par=u%40example.net@example.com"), Ok(UriShape { has_headers: false }));
        assert!(uri("sip:[2001:db8::1]:5060").is_ok());
        assert!(uri("sip:host:99999").is_err());
        assert!(uri("sip:a b@c").is_err());
        assert!(uri("sip:").is_err());
        assert!(uri("sip:%zz@h").is_err());
        assert!(uri("soap.beep://192.0.2.103:3002").is_ok());
        assert!(uri("<sip:a@b>").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(bounded_number("0068", 255), Ok(68));
        assert_eq!(bounded_number("000", 255), Ok(0));
        assert!(bounded_number("300", 255).is_err());
        assert!(bounded_number("-1", 255).is_err());
        assert!(bounded_number("36893488147419103232", u64::MAX).is_err());
    }
}
