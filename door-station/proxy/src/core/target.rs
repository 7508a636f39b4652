//! Where a request goes (RFC 3261 §16.5): our domains through the
//! registrar and the static routes, foreign domains to the upstream proxy.
//! No DNS here: a URI outside our domains is sent to the upstream proxy, or
//! to its host when that is an IP literal.

use std::net::{IpAddr, SocketAddr};

use ds_sip::transaction::{Peer, Transport};

use crate::registrar::Registrar;
use crate::routes::{Aor, Routes, user_host};

/// One branch to create: the new Request-URI and the next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The Request-URI of the forwarded request.
    pub uri: String,
    /// The next hop.
    pub dest: Peer,
}

/// The proxy's view of addresses: which are ours, how to reach the others.
#[derive(Debug, Clone)]
pub struct Locality {
    /// Our domains, lower-cased; the first one names requests sent to a listen address.
    pub domains: Vec<String>,
    /// Our listen addresses.
    pub local: Vec<Peer>,
    /// The outbound proxy, if any.
    pub upstream: Option<Peer>,
}

impl Locality {
    /// The domain a host stands for when it is one of ours (a domain, or a
    /// listen address, which stands for the first domain).
    pub fn our_domain(&self, uri: &str) -> Option<String> {
        let (_, host) = user_host(uri)?;
        let host = host.to_ascii_lowercase();
        if self.domains.contains(&host) {
            return Some(host);
        }
        self.is_local_address(uri).then(|| self.domains.first().cloned()).flatten()
    }

    /// True when the URI's host:port is one of our listen addresses. A URI
    /// naming one of our IPs without a port is ours too: phones often drop
    /// the port from their AOR (liblinphone writes `sip:bob@127.0.0.1`).
    pub fn is_local_address(&self, uri: &str) -> bool {
        let Some(addr) = uri_socket(uri) else { return false };
        let portless = !has_port(uri);
        self.local.iter().any(|p| {
            let same_ip = p.addr.ip() == addr.ip() || p.addr.ip().is_unspecified();
            same_ip && (portless || p.addr.port() == addr.port())
        })
    }

    /// The AOR of a URI in our domains, with a listen address mapped to the first domain.
    pub fn our_aor(&self, uri: &str) -> Option<Aor> {
        let domain = self.our_domain(uri)?;
        let (user, _) = user_host(uri)?;
        (!user.is_empty()).then(|| Aor(format!("{user}@{domain}")))
    }

    /// The next hop for a URI outside our domains: its host when that is an
    /// IP literal (a device's contact), else the upstream proxy.
    pub fn foreign_hop(&self, uri: &str) -> Option<Peer> {
        resolve(uri).or(self.upstream)
    }

    /// Our address for `transport` (falls back to the first listen address).
    pub fn local_for(&self, transport: Transport) -> Option<Peer> {
        self.local.iter().find(|p| p.transport == transport).or(self.local.first()).copied()
    }
}

/// Every target for `aor` in our domains: a static route's members (one
/// level of nested aliases), else the AOR's own bindings, best q first.
pub fn targets_for(loc: &Locality, routes: &Routes, reg: &Registrar, now_s: u64, aor: &Aor, max: usize) -> Vec<Target> {
    let mut out = Vec::new();
    match routes.members(aor) {
        Some(members) => {
            for m in members {
                expand_member(loc, routes, reg, now_s, m, 1, &mut out);
            }
        }
        None => bindings_of(reg, now_s, aor, &mut out),
    }
    let mut seen = Vec::new();
    out.retain(|t| {
        let new = !seen.contains(&(t.uri.clone(), t.dest));
        seen.push((t.uri.clone(), t.dest));
        new
    });
    out.truncate(max);
    out
}

fn expand_member(
    loc: &Locality,
    routes: &Routes,
    reg: &Registrar,
    now_s: u64,
    member: &str,
    depth: u8,
    out: &mut Vec<Target>,
) {
    match loc.our_aor(member) {
        Some(aor) => match routes.members(&aor) {
            Some(nested) if depth > 0 => {
                for m in nested {
                    expand_member(loc, routes, reg, now_s, m, depth - 1, out);
                }
            }
            _ => bindings_of(reg, now_s, &aor, out),
        },
        None => {
            if let Some(dest) = loc.foreign_hop(member) {
                out.push(Target { uri: member.to_string(), dest });
            }
        }
    }
}

fn bindings_of(reg: &Registrar, now_s: u64, aor: &Aor, out: &mut Vec<Target>) {
    for b in reg.lookup(now_s, aor) {
        out.push(Target { uri: b.contact.uri.clone(), dest: b.source });
    }
}

/// The transport a URI asks for: `;transport=` or TLS for `sips:`.
pub fn uri_transport(uri: &str) -> Transport {
    if uri.trim_start().starts_with("sips:") {
        return Transport::Tls;
    }
    uri.split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix("transport=").and_then(Transport::from_via_token))
        .unwrap_or(Transport::Udp)
}

fn uri_socket(uri: &str) -> Option<SocketAddr> {
    let (_, host) = user_host(uri)?;
    let ip: IpAddr = host.parse().ok()?;
    let rest = uri.trim().split_once(':')?.1;
    let host_port = rest.split([';', '?']).next()?.rsplit('@').next()?;
    let port = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && (h.ends_with(']') || !h.contains(':')) => p.parse().ok()?,
        _ if uri_transport(uri) == Transport::Tls => 5061,
        _ => 5060,
    };
    Some(SocketAddr::new(ip, port))
}

/// True when the URI writes a port after its host.
fn has_port(uri: &str) -> bool {
    let Some(rest) = uri.trim().split_once(':').map(|(_, r)| r) else { return false };
    let host_port = rest.split([';', '?']).next().unwrap_or("").rsplit('@').next().unwrap_or("");
    match host_port.rsplit_once(']') {
        Some((_, after)) => after.starts_with(':'),
        None => host_port.contains(':'),
    }
}

/// The peer for a URI whose host is an IP literal (port 5060, or 5061 for TLS).
pub fn resolve(uri: &str) -> Option<Peer> {
    Some(Peer { addr: uri_socket(uri)?, transport: uri_transport(uri) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Locality {
        Locality {
            domains: vec!["home".into()],
            local: vec![Peer::udp("127.0.0.1:5060".parse().unwrap())],
            upstream: Some(Peer::udp("127.0.0.1:5070".parse().unwrap())),
        }
    }

    #[test]
    fn uris_resolve_with_ports_and_transports() {
        let p = resolve("sip:a@127.0.0.1:15066;transport=tcp").unwrap();
        assert_eq!((p.addr, p.transport), ("127.0.0.1:15066".parse().unwrap(), Transport::Tcp));
        assert_eq!(resolve("sip:[::1]:5070").unwrap().addr, "[::1]:5070".parse().unwrap());
        assert_eq!(resolve("sips:b@10.0.0.1").unwrap().addr.port(), 5061);
        assert_eq!(resolve("sip:bob@cloud.example"), None);
    }

    #[test]
    fn listen_addresses_stand_for_the_first_domain() {
        let l = loc();
        assert_eq!(l.our_aor("sip:alice@127.0.0.1:5060").unwrap().0, "alice@home");
        assert_eq!(l.our_aor("sip:alice@127.0.0.1").unwrap().0, "alice@home", "a portless IP of ours is ours");
        assert_eq!(l.our_aor("sip:alice@HOME:5999;transport=tcp").unwrap().0, "alice@home");
        assert_eq!(l.our_aor("sip:alice@127.0.0.1:5070"), None, "another port is another host");
        assert_eq!(l.foreign_hop("sip:carol@cloud.example"), l.upstream);
    }
}
