//! Answers built by intake and the semantic checks: `Response::for_request`
//! plus a To tag derived from the request, so that a retransmission gets the
//! same answer and the core needs no randomness.

use super::{Request, Response};

/// The reason phrase of the codes intake and the semantic checks send.
pub fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        406 => "Not Acceptable",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        483 => "Too Many Hops",
        501 => "Not Implemented",
        505 => "Version Not Supported",
        _ => "",
    }
}

/// A ready-to-send answer: the copied fields, a To tag when the request's To
/// has none and is well-formed, and a `Warning: 399` with `detail` if given.
pub fn answer(req: &Request, status: u16, detail: Option<&str>) -> Response {
    let mut resp = Response::for_request(req, status, reason(status));
    add_to_tag(&mut resp, req);
    if let Some(text) = detail {
        resp.headers.push("Warning", format!("399 - \"{}\"", warning_text(text)));
    }
    resp
}

fn add_to_tag(resp: &mut Response, req: &Request) {
    let mut values = req.headers.get_all("To");
    let (Some(raw), None) = (values.next(), values.next()) else {
        return;
    };
    let Some(to) = req.headers.to().filter(|_| super::checks::is_single_name_addr(raw)) else {
        return;
    };
    if to.tag().is_some() {
        return;
    }
    resp.headers.set("To", format!("{raw};tag={}", derived_tag(req)));
}

/// A tag from the fields that identify the request (FNV-1a, 64 bits), so a
/// retransmission is answered with the same tag.
pub fn derived_tag(req: &Request) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for name in ["Call-ID", "From", "CSeq", "Via"] {
        for byte in req.headers.get(name).unwrap_or_default().bytes().chain([0]) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Text safe inside a quoted-string and short.
fn warning_text(text: &str) -> String {
    text.chars().filter(|c| !c.is_control() && *c != '"' && *c != '\\').take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Method;

    fn options(to: &str) -> Request {
        Request::new(Method::Options, "sip:a@b")
            .with_header("Via", "SIP/2.0/UDP h;branch=z9hG4bK1")
            .with_header("To", to)
            .with_header("From", "<sip:c@d>;tag=1")
            .with_header("Call-ID", "x")
            .with_header("CSeq", "1 OPTIONS")
    }

    #[test]
    fn tag_added_once_and_stable() {
        let req = options("<sip:a@b>");
        let a = answer(&req, 400, Some("bad \"thing\""));
        let b = answer(&req, 400, None);
        assert_eq!(a.headers.to().unwrap().tag(), b.headers.to().unwrap().tag());
        assert_eq!(a.headers.to().unwrap().tag().unwrap().len(), 16);
        assert_eq!(a.headers.get("Warning"), Some("399 - \"bad thing\""));
        let in_dialog = answer(&options("<sip:a@b>;tag=xyz"), 420, None);
        assert_eq!(in_dialog.headers.get("To"), Some("<sip:a@b>;tag=xyz"));
        assert_eq!(in_dialog.reason, "Bad Extension");
    }
}
