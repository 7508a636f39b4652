//! Header field values checked against RFC 3261 §25.1 and the ranges of
//! §8.1.1 and §20, plus the message-level rules: required fields and fields
//! that may appear once.

use super::Headers;
use super::grammar::{self, Cursor, Expected};
use super::intake::IntakeError;
use super::typed::split_commas;

/// delta-seconds and similar 32-bit scalars (RFC 3261 §25.1).
const U32_MAX: u64 = u32::MAX as u64;
/// CSeq numbers are below 2^31 (RFC 3261 §8.1.1.5).
const CSEQ_MAX: u64 = (1 << 31) - 1;

/// Fields every request and response carries (RFC 3261 §8.1.1). Max-Forwards
/// is not among them: RFC 2543 peers omit it (RFC 4475 §3.4.1), so a missing
/// one is read as the default 70 by whoever forwards.
pub const REQUIRED: &[&str] = &["To", "From", "CSeq", "Call-ID", "Via"];

/// Fields whose grammar allows one value (RFC 4475 §3.3.8).
const SINGLE: &[&str] = &[
    "To",
    "From",
    "CSeq",
    "Call-ID",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Expires",
    "Min-Expires",
    "Date",
    "Retry-After",
];

/// Every field value, then the required and single-value rules.
pub fn check_headers(headers: &Headers) -> Result<(), IntakeError> {
    for (name, value) in headers.iter() {
        check_field(name, value).map_err(|expected| IntakeError::Header { name: name.to_string(), expected })?;
    }
    check_counts(headers)
}

/// The required fields are present and the single-value ones appear once.
pub fn check_counts(headers: &Headers) -> Result<(), IntakeError> {
    if let Some(name) = REQUIRED.iter().find(|n| headers.get(n).is_none()) {
        return Err(IntakeError::Missing { name });
    }
    match SINGLE.iter().find(|n| headers.get_all(n).nth(1).is_some()) {
        Some(name) => Err(IntakeError::Repeated { name }),
        None => Ok(()),
    }
}

/// One field value by its canonical name; unknown fields are not checked.
fn check_field(name: &str, value: &str) -> Result<(), Expected> {
    match name {
        "To" | "From" => single_element(value).and_then(|v| name_addr(v, AddrForm::Either)),
        "Contact" if value == "*" => Ok(()),
        "Contact" => list(value, |v| name_addr(v, AddrForm::Either).and_then(|()| contact_expires(v))),
        "Route" | "Record-Route" => list(value, |v| name_addr(v, AddrForm::NameAddr)),
        "Via" => list(value, via),
        "CSeq" => cseq(value).map(|_| ()),
        "Call-ID" => grammar::call_id(value),
        "Max-Forwards" => grammar::bounded_number(value, 255).map(|_| ()),
        "Expires" | "Min-Expires" => grammar::bounded_number(value, U32_MAX).map(|_| ()),
        "Retry-After" => retry_after(value),
        "Content-Length" => grammar::bounded_number(value, u32::MAX.into()).map(|_| ()),
        "Content-Type" => media_type(value),
        "Date" => rfc1123_date(value),
        "Require" | "Proxy-Require" | "Unsupported" => list(value, token_only),
        "Authorization"
        | "Proxy-Authorization"
        | "WWW-Authenticate"
        | "Proxy-Authenticate"
        | "Authentication-Info"
        | "Warning" => balanced_quotes(value),
        "Supported" if value.is_empty() => Ok(()),
        "Supported" => list(value, token_only),
        _ => Ok(()),
    }
}

/// True when `value` is one well-formed name-addr or addr-spec.
pub fn is_single_name_addr(value: &str) -> bool {
    single_element(value).and_then(|v| name_addr(v, AddrForm::Either)).is_ok()
}

fn single_element(value: &str) -> Result<&str, Expected> {
    if split_commas(value).len() == 1 { Ok(value) } else { Err("a single value (no top-level comma)") }
}

/// A comma-separated list with no empty elements.
fn list(value: &str, each: impl Fn(&str) -> Result<(), Expected>) -> Result<(), Expected> {
    let parts = split_commas(value);
    let empty = value.trim().ends_with(',') || value.trim().starts_with(',') || parts.iter().any(String::is_empty);
    if parts.is_empty() || empty {
        return Err("a non-empty list element");
    }
    parts.iter().try_for_each(|p| each(p))
}

/// Every quoted-string in the value is closed and its escapes are valid.
fn balanced_quotes(value: &str) -> Result<(), Expected> {
    let mut c = Cursor::new(value);
    loop {
        c.take_while(|ch| ch != '"');
        if c.is_empty() {
            return Ok(());
        }
        c.quoted_string()?;
    }
}

fn token_only(v: &str) -> Result<(), Expected> {
    if grammar::is_token(v) { Ok(()) } else { Err("token") }
}

/// `CSeq = 1*DIGIT LWS Method`; returns the number and method token.
pub fn cseq(value: &str) -> Result<(u64, &str), Expected> {
    let (num, method) = value.split_once(grammar::is_wsp).ok_or("1*DIGIT LWS Method")?;
    let n = grammar::bounded_number(num, CSEQ_MAX).map_err(|_| "a sequence number below 2^31")?;
    let method = method.trim_start_matches(grammar::is_wsp);
    if grammar::is_token(method) { Ok((n, method)) } else { Err("a method token") }
}

/// Where a URI may stand without `<>`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AddrForm {
    Either,
    NameAddr,
}

/// `( name-addr / addr-spec ) *( SEMI param )`. An addr-spec cannot carry
/// `?headers` or spaces (RFC 3261 §20.10); a display name is a quoted
/// string or tokens separated by LWS.
fn name_addr(value: &str, form: AddrForm) -> Result<(), Expected> {
    let mut c = Cursor::new(value);
    c.skip_ws();
    let has_angle = value.contains('<') || c.peek() == Some('"');
    if has_angle {
        display_name(&mut c)?;
        angle_uri(&mut c)?;
    } else if form == AddrForm::NameAddr {
        return Err("name-addr (URI in <>)");
    } else {
        let spec = c.take_while(|ch| ch != ';' && !grammar::is_wsp(ch));
        if grammar::uri(spec)?.has_headers {
            return Err("<> around a URI with headers");
        }
    }
    c.params()?;
    c.skip_ws();
    if c.is_empty() { Ok(()) } else { Err("parameters after the address") }
}

fn display_name(c: &mut Cursor<'_>) -> Result<(), Expected> {
    if c.peek() == Some('"') {
        c.quoted_string()?;
        c.skip_ws();
        return Ok(());
    }
    while c.peek().is_some_and(grammar::is_token_char) {
        c.token()?;
        c.skip_ws();
    }
    if c.peek() == Some('<') { Ok(()) } else { Err("display-name of tokens or a quoted-string") }
}

/// `"<" addr-spec ">"` with no LWS inside the brackets.
fn angle_uri(c: &mut Cursor<'_>) -> Result<(), Expected> {
    if !c.eat('<') {
        return Err("'<'");
    }
    let uri = c.take_while(|ch| ch != '>');
    if !c.eat('>') {
        return Err("'>'");
    }
    if uri.starts_with(grammar::is_wsp) || uri.ends_with(grammar::is_wsp) {
        return Err("no spaces inside <>");
    }
    grammar::uri(uri).map(|_| ())
}

fn contact_expires(value: &str) -> Result<(), Expected> {
    let na = super::NameAddr::parse(value).ok_or("contact")?;
    match na.params.iter().find(|(k, _)| k.eq_ignore_ascii_case("expires")) {
        Some((_, Some(v))) => grammar::bounded_number(v, U32_MAX).map(|_| ()),
        Some((_, None)) => Err("expires=delta-seconds"),
        None => Ok(()),
    }
}

/// `sent-protocol LWS sent-by *( SEMI via-params )`, SWS around the slashes.
fn via(value: &str) -> Result<(), Expected> {
    let mut c = Cursor::new(value);
    for (i, expected) in ["SIP", "2.0", ""].iter().enumerate() {
        c.skip_ws();
        if i > 0 && !c.eat('/') {
            return Err("sent-protocol with '/'");
        }
        c.skip_ws();
        let part = c.token()?;
        if !(expected.is_empty() || part.eq_ignore_ascii_case(expected)) {
            return Err("SIP/2.0/transport");
        }
    }
    if !c.skip_ws() {
        return Err("LWS before sent-by");
    }
    let sent_by = c.take_while(|ch| ch != ';' && !grammar::is_wsp(ch));
    grammar::host_port(sent_by)?;
    c.params()?;
    c.skip_ws();
    if c.is_empty() { Ok(()) } else { Err("via-params") }
}

/// `Retry-After = delta-seconds [ comment ] *( SEMI retry-param )`; only the
/// number is checked.
fn retry_after(value: &str) -> Result<(), Expected> {
    let digits = value.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("");
    grammar::bounded_number(digits, U32_MAX).map(|_| ())
}

/// `m-type SLASH m-subtype *( SEMI m-parameter )`.
fn media_type(value: &str) -> Result<(), Expected> {
    let mut c = Cursor::new(value);
    c.token()?;
    c.skip_ws();
    if !c.eat('/') {
        return Err("type/subtype");
    }
    c.skip_ws();
    c.token()?;
    c.params()?;
    c.skip_ws();
    if c.is_empty() { Ok(()) } else { Err("media parameters") }
}

/// `rfc1123-date = wkday "," SP date1 SP time SP "GMT"` (RFC 3261 §20.17).
fn rfc1123_date(value: &str) -> Result<(), Expected> {
    const DAYS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: &[&str] = &["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = value.split(' ').collect();
    let ok = match parts[..] {
        [wkday, day, month, year, time, "GMT"] => {
            wkday.strip_suffix(',').is_some_and(|d| DAYS.contains(&d))
                && digits(day, 2)
                && MONTHS.contains(&month)
                && digits(year, 4)
                && time.split(':').filter(|t| digits(t, 2)).count() == 3
                && time.len() == 8
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err("rfc1123-date in GMT") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addrs() {
        for ok in [
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com> ; tag = 98asjd8",
            "caller<sip:caller@example.com>;tag=323",
            "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam=\"x\";tag=_token~1'+`*%!-.",
            "sip:+19725552222@gw1.example.net;unknownparam",
            "isbn:2983792873",
        ] {
            assert_eq!(name_addr(ok, AddrForm::Either), Ok(()), "{ok}");
        }
        for bad in [
            "\"Mr. J. User <sip:j.user@example.com>",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "Watson, Thomas <sip:t.watson@example.org>",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "\"Joe\" <sip:joe@example.org>;;;;",
        ] {
            assert!(name_addr(bad, AddrForm::Either).is_err(), "{bad}");
        }
        assert!(name_addr("sip:a@b", AddrForm::NameAddr).is_err());
    }

    #[test]
    fn vias() {
        assert_eq!(via("SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw"), Ok(()));
        assert_eq!(via("SIP / 2.0 / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8"), Ok(()));
        assert_eq!(via("SIP/2.0/UDP [2001:db8::9]:5061;branch=x;rport"), Ok(()));
        assert!(via("SIP/2.0/UDP 192.0.2.15;;").is_err());
        assert!(via("SIP/7.0/UDP c.example.com").is_err());
        assert!(list("SIP/2.0/UDP 192.0.2.15;;,;,,", via).is_err());
    }

    #[test]
    fn quotes_in_credentials() {
        assert_eq!(balanced_quotes("Digest realm=\"home\", nonce=\"a\\\"b\", algorithm=MD5"), Ok(()));
        assert!(balanced_quotes("Digest realm=\"home, nonce=x").is_err());
        assert_eq!(check_field("Authorization", "NoOneKnowsThisScheme opaque-data=here"), Ok(()));
    }

    #[test]
    fn scalars_and_dates() {
        assert_eq!(cseq("0009 INVITE"), Ok((9, "INVITE")));
        assert!(cseq("36893488147419103232 REGISTER").is_err());
        assert!(cseq("2147483648 INVITE").is_err());
        assert_eq!(rfc1123_date("Sat, 15 Oct 2005 04:44:56 GMT"), Ok(()));
        assert!(rfc1123_date("Fri, 01 Jan 2010 16:00:00 EST").is_err());
        assert!(retry_after("949302838503028349304023988").is_err());
        assert_eq!(retry_after("120 (lunch);duration=60"), Ok(()));
    }
}
