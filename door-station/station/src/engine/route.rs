//! Where a request goes next: the outbound proxy, the top Route (loose
//! routing, RFC 3261 §16.12), or the Request-URI's host. The engine does no
//! DNS, so a host must be an IP literal.

use std::net::{IpAddr, SocketAddr};

use ds_sip::Request;
use ds_sip::transaction::{Peer, Transport};

use super::config::EngineConfig;

/// The peer a `sip:` URI names: its host (an IP literal), port (5060 by
/// default) and `transport` parameter (else `default`).
pub fn uri_peer(uri: &str, default: Transport) -> Option<Peer> {
    let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let rest = uri.strip_prefix("sip:").or_else(|| uri.strip_prefix("sips:"))?;
    let (addr_part, params) = match rest.find([';', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let hostport = addr_part.rsplit_once('@').map_or(addr_part, |(_, h)| h);
    let addr = parse_hostport(hostport)?;
    let transport = params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("transport"))
        .and_then(|(_, v)| Transport::from_via_token(v.trim()))
        .unwrap_or(default);
    Some(Peer { addr, transport })
}

fn parse_hostport(s: &str) -> Option<SocketAddr> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Some(addr);
    }
    let ip: IpAddr = s.trim_start_matches('[').trim_end_matches(']').parse().ok()?;
    Some(SocketAddr::new(ip, 5060))
}

/// Next hop of an out-of-dialog request: the outbound proxy, else the
/// Request-URI.
pub fn first_hop(cfg: &EngineConfig, uri: &str) -> Option<Peer> {
    match cfg.outbound_proxy {
        Some(addr) => Some(Peer { addr, transport: cfg.transport }),
        None => uri_peer(uri, cfg.transport),
    }
}

/// Next hop of an in-dialog request: the top Route if it is a loose router,
/// else the Request-URI (which, under strict routing, is the first route).
pub fn dialog_hop(req: &Request, default: Transport) -> Option<Peer> {
    match req.headers.route().first() {
        Some(route) => uri_peer(&route.uri, default),
        None => uri_peer(&req.uri, default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_peers() {
        let p = uri_peer("sip:alice@127.0.0.1:15066;transport=TCP", Transport::Udp).unwrap();
        assert_eq!(p.addr, "127.0.0.1:15066".parse().unwrap());
        assert_eq!(p.transport, Transport::Tcp);
        let p = uri_peer("<sip:127.0.0.1;lr>", Transport::Udp).unwrap();
        assert_eq!(p.addr, "127.0.0.1:5060".parse().unwrap());
        let p = uri_peer("sip:bob@[::1]:5070", Transport::Udp).unwrap();
        assert_eq!(p.addr, "[::1]:5070".parse().unwrap());
        assert!(uri_peer("sip:everyone@home", Transport::Udp).is_none());
        assert!(uri_peer("tel:+1", Transport::Udp).is_none());
    }
}
