//! Requests inside a dialog (RFC 3261 §12.2.1.1): Request-URI and Route
//! from the route set (loose and strict routing), From/To with tags, CSeq.

use super::Dialog;
use crate::message::{Method, NameAddr, Request, Via};

/// True when the URI carries the `lr` parameter (RFC 3261 §19.1.1).
pub(crate) fn is_loose_router(uri: &str) -> bool {
    let without_headers = uri.split('?').next().unwrap_or(uri);
    without_headers.split(';').skip(1).any(|p| p.split('=').next().unwrap_or("").trim().eq_ignore_ascii_case("lr"))
}

/// Request-URI and Route values for a request to `target` through `routes` (§12.2.1.1).
fn route(target: &str, routes: &[NameAddr]) -> (String, Vec<String>) {
    match routes.first() {
        None => (target.to_string(), Vec::new()),
        Some(first) if is_loose_router(&first.uri) => {
            (target.to_string(), routes.iter().map(|r| r.to_string()).collect())
        }
        Some(first) => {
            // Strict router: it becomes the Request-URI, the remote target the last Route.
            let mut rest: Vec<String> = routes[1..].iter().map(|r| r.to_string()).collect();
            rest.push(NameAddr::new(target).to_string());
            (first.uri.clone(), rest)
        }
    }
}

/// Methods whose requests carry our Contact (target refresh, §12.2.1.1 and RFC 3311/6665/3515).
fn carries_contact(method: &Method) -> bool {
    matches!(method, Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer)
}

impl Dialog {
    /// The next request in this dialog: CSeq one higher than the last one we
    /// sent, Request-URI and Route from the route set, `via` on top. For ACK
    /// use [`ack`](Self::ack); for CANCEL use
    /// [`cancel_for`](crate::transaction::cancel_for) on the INVITE.
    pub fn request(&mut self, method: Method, via: Via) -> Request {
        self.local_cseq += 1;
        self.build(method, self.local_cseq, via)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_cseq` (§13.2.2.4):
    /// end to end, through the route set, not counted in the CSeq. Send it
    /// with `send_stateless`; a fresh branch goes into `via`.
    pub fn ack(&self, invite_cseq: u32, via: Via) -> Request {
        self.build(Method::Ack, invite_cseq, via)
    }

    fn build(&self, method: Method, cseq: u32, via: Via) -> Request {
        let (uri, routes) = route(&self.remote_target, &self.route_set);
        let mut req =
            Request::new(method.clone(), uri).with_header("Via", via.to_string()).with_header("Max-Forwards", "70");
        for r in routes {
            req.headers.push("Route", r);
        }
        req.headers.push("From", self.local.to_string());
        req.headers.push("To", self.remote.to_string());
        req.headers.push("Call-ID", self.id.call_id.clone());
        req.headers.push("CSeq", format!("{cseq} {method}"));
        if let (true, Some(c)) = (carries_contact(&method), &self.local_contact) {
            req.headers.push("Contact", c.clone());
        }
        req
    }
}
