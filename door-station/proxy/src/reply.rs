//! Responses the proxy itself originates: copied fields plus a To tag
//! derived from the request, so a retransmission is answered identically
//! and the core needs no randomness.

use ds_sip::{Request, Response};

/// The reason phrase for the codes the proxy sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        487 => "Request Terminated",
        500 => "Server Internal Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// A response to `req` with a To tag (none for 100, RFC 3261 §8.2.6.1).
pub fn answer(req: &Request, status: u16) -> Response {
    let mut resp = Response::for_request(req, status, reason(status));
    if status > 100 {
        add_to_tag(&mut resp, req);
    }
    resp
}

fn add_to_tag(resp: &mut Response, req: &Request) {
    let Some(mut to) = req.headers.to() else { return };
    if to.tag().is_some() {
        return;
    }
    to.set_param("tag", Some(format!("{:016x}", fnv(req, &["Call-ID", "From", "CSeq", "Via"]))));
    resp.headers.set("To", to.to_string());
}

/// FNV-1a over the first value of each named header (0-separated).
pub fn fnv(req: &Request, names: &[&str]) -> u64 {
    fnv_strs(names.iter().map(|n| req.headers.get(n).unwrap_or_default()))
}

/// FNV-1a over strings (0-separated).
pub fn fnv_strs<'a>(parts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}
