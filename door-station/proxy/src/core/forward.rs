//! Building a forwarded request (RFC 3261 §16.6) and the checks on the way
//! in: Route preprocessing (§16.4) and loop detection (§16.3 step 4).
//!
//! Our branches are `z9hG4bKip<loop hash><counter>`: the loop hash covers
//! what a looped request keeps unchanged (Request-URI, Call-ID, CSeq, From
//! tag, To tag), so a request coming back with one of our Vias and the same
//! hash is a loop (482), while a spiral (another Request-URI) passes.

use ds_sip::transaction::Peer;
use ds_sip::{Method, Request};

use super::target::{Locality, Target};
use crate::reply::fnv_strs;

/// The prefix of every branch we create.
pub const BRANCH_PREFIX: &str = "z9hG4bKip";

/// Max-Forwards when the request has none (RFC 3261 §16.6 step 3).
pub const DEFAULT_MAX_FORWARDS: u32 = 70;

/// The hash of the fields a looping request keeps.
pub fn loop_hash(req: &Request) -> u64 {
    let tag = |name: &str| {
        let v = req.headers.get(name).unwrap_or_default();
        v.split(";tag=").nth(1).map(|t| t.split(';').next().unwrap_or("")).unwrap_or("")
    };
    let cseq = req.headers.get("CSeq").unwrap_or_default();
    fnv_strs([req.uri.as_str(), req.headers.call_id().unwrap_or_default(), cseq.trim(), tag("From"), tag("To")])
}

/// A branch for a request with loop hash `hash`, unique by `n`.
pub fn branch(hash: u64, n: u64) -> String {
    format!("{BRANCH_PREFIX}{hash:016x}{n:08x}")
}

/// True when `req` carries one of our Vias whose branch has the same loop hash.
pub fn is_loop(loc: &Locality, req: &Request) -> bool {
    let hash = format!("{:016x}", loop_hash(req));
    req.headers.vias().iter().any(|via| {
        let ours =
            loc.local.iter().any(|p| p.addr.ip().to_string() == via.host && via.port.unwrap_or(5060) == p.addr.port());
        ours && via.branch().and_then(|b| b.strip_prefix(BRANCH_PREFIX)).is_some_and(|b| b.starts_with(&hash))
    })
}

/// A strict router before us put our Record-Route value into the
/// Request-URI (§16.4): the real target is the last Route value.
pub fn undo_strict_routing(loc: &Locality, req: &mut Request) {
    let ours = req.uri.contains(";lr")
        && loc.is_local_address(&req.uri)
        && crate::routes::user_host(&req.uri).is_some_and(|(u, _)| u.is_empty());
    let mut routes = req.headers.route();
    let Some(last) = routes.pop().filter(|_| ours) else { return };
    req.uri = last.uri;
    req.headers.remove("Route");
    for r in routes {
        req.headers.push("Route", r.to_string());
    }
}

/// Removes the top Route values that name us (§16.4; two after a transport switch).
pub fn pop_own_routes(loc: &Locality, req: &mut Request) {
    while let Some(top) = req.headers.route().into_iter().next() {
        if !loc.is_local_address(&top.uri) {
            break;
        }
        req.headers.remove_first("Route");
    }
}

/// `<sip:ip:port;transport=x;lr>` for our listen address `me`.
pub fn record_route_value(me: Peer) -> String {
    let transport = me.transport.via_token().to_ascii_lowercase();
    format!("<sip:{};transport={transport};lr>", me.addr)
}

/// Our Via for a hop from `me` with `branch`.
pub fn via_value(me: Peer, branch: &str) -> String {
    format!("SIP/2.0/{} {};branch={branch};rport", me.transport.via_token(), me.addr)
}

/// The request to send to `target`: new Request-URI (unless `keep_uri`),
/// Max-Forwards decremented, Record-Route for dialog-creating requests
/// (doubled when the transport changes, RFC 5658), our Via on top.
pub fn forwarded(
    loc: &Locality,
    req: &Request,
    target: &Target,
    inbound: Peer,
    branch: &str,
    keep_uri: bool,
) -> Request {
    let mut out = req.clone();
    if !keep_uri {
        out.uri = target.uri.clone();
    }
    let mf = req.headers.max_forwards().unwrap_or(DEFAULT_MAX_FORWARDS + 1).saturating_sub(1);
    out.headers.set("Max-Forwards", mf.to_string());
    let me_out = loc.local_for(target.dest.transport).unwrap_or(inbound);
    if creates_dialog(req) {
        if let Some(me_in) = loc.local_for(inbound.transport).filter(|m| m.transport != me_out.transport) {
            out.headers.push_front("Record-Route", record_route_value(me_in));
        }
        out.headers.push_front("Record-Route", record_route_value(me_out));
    }
    out.headers.remove("Proxy-Authorization");
    out.headers.push_front("Via", via_value(me_out, branch));
    out
}

/// Initial INVITE, SUBSCRIBE or REFER: the proxy stays on the dialog's path.
fn creates_dialog(req: &Request) -> bool {
    let initial = req.headers.to().is_some_and(|t| t.tag().is_none());
    initial && matches!(req.method, Method::Invite | Method::Subscribe | Method::Refer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ds_sip::transaction::Transport;

    fn loc() -> Locality {
        let udp = Peer::udp("127.0.0.1:5060".parse().unwrap());
        let tcp = Peer { transport: Transport::Tcp, ..udp };
        Locality { domains: vec!["home".into()], local: vec![udp, tcp], upstream: None }
    }

    fn invite() -> Request {
        Request::new(Method::Invite, "sip:everyone@home")
            .with_header("Via", "SIP/2.0/UDP 127.0.0.1:15080;branch=z9hG4bK1")
            .with_header("From", "<sip:door@home>;tag=d")
            .with_header("To", "<sip:everyone@home>")
            .with_header("Call-ID", "c")
            .with_header("CSeq", "1 INVITE")
            .with_header("Proxy-Authorization", "Digest x")
    }

    #[test]
    fn forwarding_rewrites_uri_decrements_and_record_routes() {
        let l = loc();
        let target =
            Target { uri: "sip:a@127.0.0.1:15066".into(), dest: Peer::udp("127.0.0.1:15066".parse().unwrap()) };
        let inbound = Peer::udp("127.0.0.1:15080".parse().unwrap());
        let out = forwarded(&l, &invite(), &target, inbound, "z9hG4bKipX", false);
        assert_eq!(out.uri, "sip:a@127.0.0.1:15066");
        assert_eq!(out.headers.max_forwards(), Some(70));
        assert_eq!(out.headers.get("Record-Route"), Some("<sip:127.0.0.1:5060;transport=udp;lr>"));
        assert_eq!(out.headers.top_via().unwrap().branch(), Some("z9hG4bKipX"));
        assert_eq!(out.headers.vias().len(), 2);
        assert!(out.headers.get("Proxy-Authorization").is_none());
    }

    #[test]
    fn transport_switch_double_record_routes() {
        let l = loc();
        let target = Target {
            uri: "sip:a@127.0.0.1:15066;transport=tcp".into(),
            dest: Peer { addr: "127.0.0.1:15066".parse().unwrap(), transport: Transport::Tcp },
        };
        let out = forwarded(&l, &invite(), &target, Peer::udp("127.0.0.1:15080".parse().unwrap()), "b", false);
        let rr: Vec<String> = out.headers.record_route().iter().map(|r| r.uri.clone()).collect();
        assert_eq!(rr, ["sip:127.0.0.1:5060;transport=tcp;lr", "sip:127.0.0.1:5060;transport=udp;lr"]);
        assert!(out.headers.top_via().unwrap().transport == "TCP");
        let mut back = invite().with_header(
            "Route",
            "<sip:127.0.0.1:5060;transport=tcp;lr>, <sip:127.0.0.1:5060;transport=udp;lr>, <sip:10.0.0.1;lr>",
        );
        pop_own_routes(&l, &mut back);
        assert_eq!(back.headers.route().len(), 1);
    }

    #[test]
    fn a_strict_router_s_request_uri_is_restored_from_the_last_route() {
        let l = loc();
        let mut req = invite().with_header("Route", "<sip:10.0.0.7;lr>, <sip:bob@10.0.0.9:5070>");
        req.uri = "sip:127.0.0.1:5060;transport=udp;lr".into();
        undo_strict_routing(&l, &mut req);
        assert_eq!(req.uri, "sip:bob@10.0.0.9:5070");
        assert_eq!(req.headers.route().len(), 1);
        let mut normal = invite();
        undo_strict_routing(&l, &mut normal);
        assert_eq!(normal, invite());
    }

    #[test]
    fn own_via_with_same_hash_is_a_loop_but_a_spiral_is_not() {
        let l = loc();
        let req = invite();
        let mut looped = req.clone();
        looped.headers.push_front("Via", via_value(l.local[0], &branch(loop_hash(&req), 7)));
        assert!(is_loop(&l, &looped));
        let mut spiral = looped.clone();
        spiral.uri = "sip:alice@home".into();
        assert!(!is_loop(&l, &spiral));
        assert!(!is_loop(&l, &req));
    }
}
