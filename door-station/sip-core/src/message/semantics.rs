//! Checks that depend on what the receiving element is (RFC 3261 §8.2 for a
//! UAS, §16.3 for a proxy, §10.3 for a registrar), run after intake on a
//! well-formed request. Each returns the answer to send, ready to go.

use super::{Message, Method, Request, Response, checks, reply};

/// What the receiving element is; some checks apply to one kind only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A user agent (the door station): 501, 416, 420 on Require, 415, 406.
    Endpoint,
    /// A proxy: 416, 483, 420 on Proxy-Require; unknown methods and bodies
    /// are forwarded.
    Proxy,
    /// A registrar: as an endpoint, plus 401 for an unknown Authorization
    /// scheme and 400 for a To that is not a SIP or SIPS URI.
    Registrar,
}

/// Body types the station can handle (SDP, the DTMF bodies of INFO, the text
/// and multipart bodies of MESSAGE).
pub const BODY_TYPES: &[&str] =
    &["application/sdp", "application/dtmf-relay", "application/dtmf", "text/plain", "multipart/mixed"];

/// Request-URI schemes understood (RFC 3261 §8.2.2.1; tel: RFC 3966).
pub const URI_SCHEMES: &[&str] = &["sip", "sips", "tel"];

impl Role {
    /// The methods this element implements, for `Allow`.
    pub fn allowed_methods(self) -> &'static [&'static str] {
        match self {
            Role::Endpoint => &["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "MESSAGE"],
            Role::Proxy | Role::Registrar => {
                &["REGISTER", "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "MESSAGE"]
            }
        }
    }

    fn checks(self) -> &'static [Check] {
        match self {
            Role::Endpoint => &[structure, unknown_method, uri_scheme, require, content_type, accept],
            Role::Proxy => &[structure, uri_scheme, max_forwards, require],
            Role::Registrar => &[structure, unknown_method, uri_scheme, require, content_type, authorization, aor],
        }
    }
}

type Check = fn(&Request, Role, &[&str]) -> Option<Response>;

/// The first answer the element owes this message, if any. `supported` holds
/// the option tags the element implements. Responses and ACKs are never
/// answered. A 401 carries no challenge: the registrar adds its
/// `WWW-Authenticate` before sending.
pub fn check_semantics(msg: &Message, role: Role, supported: &[&str]) -> Option<Response> {
    let Message::Request(req) = msg else {
        return None;
    };
    if req.method == Method::Ack {
        return None;
    }
    role.checks().iter().find_map(|check| check(req, role, supported))
}

/// Required and single-value fields, for messages not built by intake.
fn structure(req: &Request, _: Role, _: &[&str]) -> Option<Response> {
    let e = checks::check_counts(&req.headers).err()?;
    Some(reply::answer(req, 400, Some(&e.to_string())))
}

/// RFC 3261 §8.2.1: 501 with Allow for a method the element does not know.
fn unknown_method(req: &Request, role: Role, _: &[&str]) -> Option<Response> {
    matches!(req.method, Method::Extension(_))
        .then(|| reply::answer(req, 501, None).with_header("Allow", role.allowed_methods().join(", ")))
}

/// RFC 3261 §8.2.2.1 / §16.3: 416 for a Request-URI scheme not understood.
fn uri_scheme(req: &Request, _: Role, _: &[&str]) -> Option<Response> {
    let known = URI_SCHEMES.iter().any(|k| k.eq_ignore_ascii_case(scheme(&req.uri)));
    (!known).then(|| reply::answer(req, 416, None))
}

/// RFC 3261 §16.3 item 3: a proxy answers Max-Forwards 0 with 483.
fn max_forwards(req: &Request, _: Role, _: &[&str]) -> Option<Response> {
    (req.headers.max_forwards() == Some(0)).then(|| reply::answer(req, 483, None))
}

/// RFC 3261 §8.2.2.3 / §16.3: 420 listing the option tags not supported, from
/// Require at a UAS and Proxy-Require at a proxy; never for CANCEL.
fn require(req: &Request, role: Role, supported: &[&str]) -> Option<Response> {
    if req.method == Method::Cancel {
        return None;
    }
    let name = if role == Role::Proxy { "Proxy-Require" } else { "Require" };
    let missing: Vec<&str> = req
        .headers
        .get_all(name)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty() && !supported.contains(t))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(reply::answer(req, 420, None).with_header("Unsupported", missing.join(", ")))
}

/// RFC 3261 §8.2.3: 415 with Accept for a body the element cannot handle.
fn content_type(req: &Request, _: Role, _: &[&str]) -> Option<Response> {
    if req.body.is_empty() {
        return None;
    }
    let ctype = req.headers.content_type().unwrap_or_default();
    let encoded = req.headers.get("Content-Encoding").is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
    if BODY_TYPES.contains(&ctype.as_str()) && !encoded {
        return None;
    }
    let resp = reply::answer(req, 415, None).with_header("Accept", BODY_TYPES.join(", "));
    Some(resp.with_header("Accept-Encoding", "identity"))
}

/// RFC 4475 §3.3.15: 406 for an INVITE whose Accept rules out the SDP the
/// answer would carry.
fn accept(req: &Request, _: Role, _: &[&str]) -> Option<Response> {
    if req.method != Method::Invite {
        return None;
    }
    let mut values = req.headers.get_all("Accept").peekable();
    values.peek()?;
    let takes_sdp = values.flat_map(|v| v.split(',')).any(|t| {
        let t = t.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        matches!(t.as_str(), "application/sdp" | "application/*" | "*/*")
    });
    (!takes_sdp).then(|| reply::answer(req, 406, None))
}

/// RFC 4475 §3.3.7: a registrar answers an unknown Authorization scheme with 401.
fn authorization(req: &Request, _: Role, _: &[&str]) -> Option<Response> {
    if req.method != Method::Register {
        return None;
    }
    let unknown = req.headers.get_all("Authorization").any(|v| {
        let scheme = v.split(|c: char| c.is_ascii_whitespace()).next().unwrap_or("");
        !scheme.eq_ignore_ascii_case("Digest")
    });
    unknown.then(|| reply::answer(req, 401, None))
}

/// RFC 4475 §3.3.4: the address of record in To must be a SIP or SIPS URI.
fn aor(req: &Request, _: Role, _: &[&str]) -> Option<Response> {
    if req.method != Method::Register {
        return None;
    }
    let uri = req.headers.to().map(|t| t.uri).unwrap_or_default();
    let sip = ["sip", "sips"].iter().any(|k| k.eq_ignore_ascii_case(scheme(&uri)));
    (!sip).then(|| reply::answer(req, 400, Some("To is not a SIP or SIPS address of record")))
}

fn scheme(uri: &str) -> &str {
    uri.split_once(':').map_or("", |(s, _)| s)
}
