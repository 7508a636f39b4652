//! Requests the transaction layer builds: branches, CANCEL, ACK for non-2xx.

use crate::message::{Method, Request, Response};

/// The RFC 3261 branch prefix (§8.1.1.7): a branch starting with it was made
/// by an RFC 3261 element and is unique on its own.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// A branch from a caller-supplied random value: `z9hG4bK` + 16 hex digits.
pub fn branch_from(seed: u64) -> String {
    format!("{MAGIC_COOKIE}{seed:016x}")
}

/// Copy `names` from `src` to `dst`, all values, in order.
fn copy_headers(dst: &mut Request, src: &crate::message::Headers, names: &[&str]) {
    for name in names {
        for value in src.get_all(name) {
            dst.headers.push(name, value);
        }
    }
}

/// A request for the same transaction identity as `invite` with another
/// method: one Via (the INVITE's top one), the same Request-URI, From,
/// Call-ID, CSeq number and Route (RFC 3261 §9.1 for CANCEL, §17.1.1.3 for ACK).
fn same_hop(invite: &Request, method: Method, to: Option<&str>) -> Request {
    let mut req = Request::new(method.clone(), invite.uri.clone());
    if let Some(via) = invite.headers.top_via() {
        req.headers.push("Via", via.to_string());
    }
    req.headers.push("Max-Forwards", "70");
    copy_headers(&mut req, &invite.headers, &["From"]);
    match to {
        Some(to) => req.headers.push("To", to),
        None => copy_headers(&mut req, &invite.headers, &["To"]),
    }
    copy_headers(&mut req, &invite.headers, &["Call-ID"]);
    let n = invite.headers.cseq().map(|(n, _)| n).unwrap_or(0);
    req.headers.push("CSeq", format!("{n} {method}"));
    copy_headers(&mut req, &invite.headers, &["Route"]);
    req
}

/// The CANCEL for an INVITE (RFC 3261 §9.1). Send it with
/// [`TransactionLayer::send_request`](super::TransactionLayer::send_request)
/// to the same peer as the INVITE, and only after a provisional response.
pub fn cancel_for(invite: &Request) -> Request {
    same_hop(invite, Method::Cancel, None)
}

/// The ACK for a non-2xx final response to `invite` (RFC 3261 §17.1.1.3):
/// hop-by-hop, same branch as the INVITE, To from the response (with its tag).
/// The INVITE client transaction builds and sends it itself.
pub fn ack_for_non2xx(invite: &Request, resp: &Response) -> Request {
    same_hop(invite, Method::Ack, resp.headers.get("To"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Request {
        Request::new(Method::Invite, "sip:bob@127.0.0.1:5062")
            .with_header("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK0")
            .with_header("Max-Forwards", "69")
            .with_header("Route", "<sip:p1;lr>")
            .with_header("From", "<sip:door@h>;tag=a")
            .with_header("To", "<sip:bob@h>")
            .with_header("Call-ID", "c1")
            .with_header("CSeq", "7 INVITE")
            .with_header("Contact", "<sip:door@127.0.0.1>")
    }

    #[test]
    fn branch_has_cookie_and_is_deterministic() {
        assert_eq!(branch_from(0xab), "z9hG4bK00000000000000ab");
        assert_ne!(branch_from(1), branch_from(2));
    }

    #[test]
    fn cancel_copies_the_hop_fields() {
        let c = cancel_for(&invite());
        assert_eq!(c.method, Method::Cancel);
        assert_eq!(c.uri, "sip:bob@127.0.0.1:5062");
        assert_eq!(c.headers.vias().len(), 1);
        assert_eq!(c.headers.top_via().unwrap().branch(), Some("z9hG4bK1"));
        assert_eq!(c.headers.cseq(), Some((7, Method::Cancel)));
        assert_eq!(c.headers.get("To"), Some("<sip:bob@h>"));
        assert_eq!(c.headers.get("Route"), Some("<sip:p1;lr>"));
        assert_eq!(c.headers.get("Contact"), None);
    }

    #[test]
    fn ack_takes_the_to_tag_of_the_response() {
        let inv = invite();
        let resp = Response::for_request(&inv, 486, "Busy Here");
        let mut resp = resp;
        resp.headers.set("To", "<sip:bob@h>;tag=b");
        let ack = ack_for_non2xx(&inv, &resp);
        assert_eq!(ack.headers.cseq(), Some((7, Method::Ack)));
        assert_eq!(ack.headers.to().unwrap().tag(), Some("b"));
        assert_eq!(ack.headers.top_via().unwrap().branch(), Some("z9hG4bK1"));
    }
}
