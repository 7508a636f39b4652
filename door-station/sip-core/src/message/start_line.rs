//! Request-Line and Status-Line (RFC 3261 §7.1, §7.2, §25.1).

use super::Method;
use super::grammar;
use super::intake::IntakeError;

/// A request line split at its two single spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// The method token.
    pub method: Method,
    /// The Request-URI as written.
    pub uri: String,
}

/// A status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// 100–699.
    pub status: u16,
    /// May be empty or UTF-8.
    pub reason: String,
}

/// True when the line starts like a Status-Line.
pub fn is_status_line(line: &[u8]) -> bool {
    line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/")
}

/// The method token of a line that may not parse, for deciding whether an
/// answer is allowed (never to an ACK).
pub fn method_of(line: &[u8]) -> Method {
    let first = line.split(|&b| b == b' ').next().unwrap_or_default();
    Method::from_token(&String::from_utf8_lossy(first))
}

/// `Method SP Request-URI SP SIP-Version`: exactly one SP between the
/// elements, none at the end; a version other than 2.0 is a 505.
pub fn request_line(line: &[u8]) -> Result<RequestLine, IntakeError> {
    let text = std::str::from_utf8(line).map_err(|_| bad_line("ASCII request line"))?;
    let parts: Vec<&str> = text.split(' ').collect();
    let [method, uri, version] = parts[..] else {
        return Err(bad_line(shape_error(&parts)));
    };
    if !grammar::is_token(method) {
        return Err(IntakeError::Method { method: method.to_string() });
    }
    check_version(version)?;
    request_uri(uri)?;
    Ok(RequestLine { method: Method::from_token(method), uri: uri.to_string() })
}

/// What is wrong with a request line that is not three elements.
fn shape_error(parts: &[&str]) -> &'static str {
    match parts {
        [.., ""] => "no SP at the end of the request line",
        _ if parts.contains(&"") => "single SP between request-line elements",
        [_, _, _, ..] => "a Request-URI without LWS",
        _ => "Method SP Request-URI SP SIP-Version",
    }
}

fn bad_line(expected: &'static str) -> IntakeError {
    IntakeError::StartLine { expected }
}

/// `SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT`; only 2.0 is supported.
fn check_version(version: &str) -> Result<(), IntakeError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = version.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        && version[4..].split_once('.').is_some_and(|(a, b)| digits(a) && digits(b));
    if well_formed {
        Err(IntakeError::VersionNotSupported { version: version.to_string() })
    } else {
        Err(bad_line("SIP-Version"))
    }
}

/// The Request-URI: not in `<>`, no LWS (both already impossible after the
/// split, but reported precisely), and a SIP URI carries no headers.
fn request_uri(uri: &str) -> Result<(), IntakeError> {
    let err = |expected| IntakeError::RequestUri { uri: uri.to_string(), expected };
    if uri.is_empty() {
        return Err(err("a Request-URI"));
    }
    if uri.starts_with('<') {
        return Err(err("no <> around the Request-URI"));
    }
    let shape = grammar::uri(uri).map_err(err)?;
    if shape.has_headers {
        return Err(err("no escaped headers in a SIP Request-URI"));
    }
    Ok(())
}

/// `SIP-Version SP Status-Code SP Reason-Phrase`. A missing final SP before
/// an empty reason is accepted.
pub fn status_line(line: &[u8]) -> Result<StatusLine, IntakeError> {
    let text = std::str::from_utf8(line).map_err(|_| bad_line("UTF-8 status line"))?;
    let mut parts = text.splitn(3, ' ');
    let (version, code, reason) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next());
    check_version(version)?;
    let status = match code.len() {
        3 => grammar::bounded_number(code, 699).ok().filter(|&c| c >= 100),
        _ => None,
    };
    let status = status.ok_or_else(|| IntakeError::StatusCode { code: code.to_string() })?;
    let reason = reason.unwrap_or("");
    if reason.chars().any(|c| c.is_control() && c != '\t') {
        return Err(bad_line("Reason-Phrase without control characters"));
    }
    Ok(StatusLine { status: status as u16, reason: reason.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let ok = request_line(b"INVITE sip:a@b SIP/2.0").unwrap();
        assert_eq!((ok.method, ok.uri.as_str()), (Method::Invite, "sip:a@b"));
        assert!(matches!(request_line(b"INVITE  sip:a@b SIP/2.0"), Err(IntakeError::StartLine { .. })));
        assert!(matches!(request_line(b"INVITE sip:a@b SIP/2.0 "), Err(IntakeError::StartLine { .. })));
        assert!(matches!(request_line(b"INVITE <sip:a@b> SIP/2.0"), Err(IntakeError::RequestUri { .. })));
        assert!(matches!(request_line(b"OPTIONS sip:a@b SIP/7.0"), Err(IntakeError::VersionNotSupported { .. })));
        assert!(matches!(request_line(b"OPTIONS sip:a@b HTTP/1.1"), Err(IntakeError::StartLine { .. })));
        assert!(matches!(request_line(b"IN(VITE sip:a@b SIP/2.0"), Err(IntakeError::Method { .. })));
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_line(b"SIP/2.0 100 ").unwrap().reason, "");
        assert_eq!(status_line(b"SIP/2.0 180").unwrap().status, 180);
        assert_eq!(status_line("SIP/2.0 200 Хорошо".as_bytes()).unwrap().reason, "Хорошо");
        for bad in ["SIP/2.0 4294967301 x", "SIP/2.0 099 x", "SIP/2.0 700 x", "SIP/2.0 20 x", "SIP/2.0 +20 x"] {
            assert!(matches!(status_line(bad.as_bytes()), Err(IntakeError::StatusCode { .. })), "{bad}");
        }
    }
}
