//! Typed views of Via and name-addr headers (RFC 3261 §20.42, §25.1).

/// Split a header value at top-level commas (not inside quotes or `<>`).
pub fn split_commas(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut quoted, mut angle, mut escaped) = (String::new(), false, false, false);
    for ch in value.chars() {
        match ch {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Parse `;name=value;flag` parameters (leading `;` optional).
pub fn parse_params(s: &str) -> Vec<(String, Option<String>)> {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), Some(v.trim().trim_matches('"').to_string())),
            None => (p.to_string(), None),
        })
        .collect()
}

fn find_param<'a>(params: &'a [(String, Option<String>)], name: &str) -> Option<&'a Option<String>> {
    params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// One Via value: `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport token, upper-cased (`UDP`, `TCP`, `TLS`, ...).
    pub transport: String,
    /// sent-by host (IPv6 without brackets).
    pub host: String,
    /// sent-by port, if written.
    pub port: Option<u16>,
    /// Parameters in order.
    pub params: Vec<(String, Option<String>)>,
}

impl Via {
    /// Parse one Via value; `None` if it is not `SIP/2.0/<transport> <sent-by>`.
    /// LWS around the slashes is allowed (RFC 3261 §25.1 `SLASH`).
    pub fn parse(value: &str) -> Option<Via> {
        let (proto, rest) = split_sent_protocol(value)?;
        let [name, version, transport] = proto;
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return None;
        }
        let rest = rest.trim();
        let (sent_by, params) = match rest.find(';') {
            Some(i) => (rest[..i].trim(), &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = split_host_port(sent_by)?;
        Some(Via { transport: transport.to_ascii_uppercase(), host, port, params: parse_params(params) })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        find_param(&self.params, "branch")?.as_deref()
    }

    /// The received parameter.
    pub fn received(&self) -> Option<&str> {
        find_param(&self.params, "received")?.as_deref()
    }

    /// `Some(None)` for a bare `rport`, `Some(Some(p))` for `rport=p`.
    pub fn rport(&self) -> Option<Option<u16>> {
        find_param(&self.params, "rport").map(|v| v.as_deref().and_then(|p| p.parse().ok()))
    }

    /// Set or add a parameter.
    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        match self.params.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            Some(p) => p.1 = value,
            None => self.params.push((name.to_string(), value)),
        }
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SIP/2.0/{} ", self.transport)?;
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)
    }
}

fn write_params(f: &mut std::fmt::Formatter<'_>, params: &[(String, Option<String>)]) -> std::fmt::Result {
    for (k, v) in params {
        match v {
            Some(v) => write!(f, ";{k}={v}")?,
            None => write!(f, ";{k}")?,
        }
    }
    Ok(())
}

/// `name SLASH version SLASH transport` and what follows it (which must
/// start with whitespace).
fn split_sent_protocol(value: &str) -> Option<([&str; 3], &str)> {
    let mut rest = value.trim_start();
    let mut parts = [""; 3];
    for (i, part) in parts.iter_mut().enumerate() {
        if i > 0 {
            rest = rest.trim_start().strip_prefix('/')?.trim_start();
        }
        let end = rest.find(|c: char| c.is_ascii_whitespace() || c == '/').unwrap_or(rest.len());
        (*part, rest) = rest.split_at(end);
        if part.is_empty() {
            return None;
        }
    }
    rest.starts_with(|c: char| c.is_ascii_whitespace()).then_some((parts, rest))
}

/// Split `host[:port]`, `[v6]:port`.
pub fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.trim().parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h.trim().to_string(), Some(p.trim().parse().ok()?))),
        None if !s.is_empty() => Some((s.to_string(), None)),
        None => None,
    }
}

/// A name-addr or addr-spec with header parameters: `"Alice" <sip:a@h>;tag=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without quotes, if any.
    pub display: Option<String>,
    /// The URI, without the angle brackets.
    pub uri: String,
    /// Header parameters (after the `>`; or after the addr-spec).
    pub params: Vec<(String, Option<String>)>,
}

impl NameAddr {
    /// A bare `<uri>`.
    pub fn new(uri: impl Into<String>) -> NameAddr {
        NameAddr { display: None, uri: uri.into(), params: Vec::new() }
    }

    /// Parse a name-addr or addr-spec. For an addr-spec, `;params` belong to
    /// the header, not the URI (RFC 3261 §20.10).
    pub fn parse(value: &str) -> Option<NameAddr> {
        let value = value.trim();
        if let Some(lt) = find_unquoted(value, '<') {
            let display = value[..lt].trim();
            let rest = &value[lt + 1..];
            let gt = rest.find('>')?;
            let display = match display {
                "" => None,
                d if d.starts_with('"') => Some(unquote(d)?),
                d => Some(d.to_string()),
            };
            let uri = rest[..gt].trim().to_string();
            Some(NameAddr { display, uri, params: parse_params(&rest[gt + 1..]) })
        } else {
            if value.is_empty() {
                return None;
            }
            let (uri, params) = match value.find(';') {
                Some(i) => (&value[..i], &value[i..]),
                None => (value, ""),
            };
            Some(NameAddr { display: None, uri: uri.trim().to_string(), params: parse_params(params) })
        }
    }

    /// The tag parameter.
    pub fn tag(&self) -> Option<&str> {
        self.param("tag")
    }

    /// A parameter's value (`None` for absent or valueless).
    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name)?.as_deref()
    }

    /// Set or add a parameter.
    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        match self.params.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            Some(p) => p.1 = value,
            None => self.params.push((name.to_string(), value)),
        }
    }

    /// The URI parsed by rsip, for typed access to user, host, port and params.
    pub fn rsip_uri(&self) -> Option<rsip::Uri> {
        rsip::Uri::try_from(self.uri.as_str()).ok()
    }
}

impl std::fmt::Display for NameAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{}\" ", d.replace('\\', "\\\\").replace('"', "\\\""))?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

fn find_unquoted(s: &str, target: char) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, ch) in s.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == target && !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(chars.next()?);
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_round_trip() {
        let v = Via::parse("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport").unwrap();
        assert_eq!(v.branch(), Some("z9hG4bK1"));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.to_string(), "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport");
        let v6 = Via::parse("SIP/2.0/TCP [2001:db8::9]:5061;branch=x").unwrap();
        assert_eq!(v6.host, "2001:db8::9");
        assert_eq!(v6.to_string(), "SIP/2.0/TCP [2001:db8::9]:5061;branch=x");
        let spaced = Via::parse("SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!((spaced.transport.as_str(), spaced.host.as_str()), ("UDP", "192.0.2.2"));
        assert!(Via::parse("SIP/2.0/UDP").is_none());
        assert!(Via::parse("SIP/2.0/UDP/X h").is_none());
    }

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse("\"Door \\\"1\\\"\" <sip:door@home;transport=tcp>;tag=abc").unwrap();
        assert_eq!(n.display.as_deref(), Some("Door \"1\""));
        assert_eq!(n.uri, "sip:door@home;transport=tcp");
        assert_eq!(n.tag(), Some("abc"));
        let a = NameAddr::parse("sip:a@h;tag=9").unwrap();
        assert_eq!(a.uri, "sip:a@h");
        assert_eq!(a.tag(), Some("9"));
        assert_eq!(NameAddr::parse(&n.to_string()).unwrap(), n);
    }

    #[test]
    fn commas_respect_quotes_and_brackets() {
        let parts = split_commas("\"a, b\" <sip:x@y;p=1,2>, <sip:z@w>");
        assert_eq!(parts, vec!["\"a, b\" <sip:x@y;p=1,2>", "<sip:z@w>"]);
    }
}
