//! Registering a house user at the upstream proxy: the challenge is
//! answered, the binding refreshed before it runs out, a refusal retried
//! later, and the cloud's calls to our Contact reach the house members.

mod common;

use common::*;
use ds_sip::digest::{Algorithm, Credentials, DigestServer, Verification, ha1};
use ds_sip::transaction::Peer;
use ds_sip::{Message, Method, Request, Response};
use intercom_proxy::core::{Proxy, UpstreamAccount};
use intercom_proxy::registrar::Registrar;
use std::time::{Duration, Instant};

fn proxy_registering(t0: Instant) -> Proxy {
    let mut s = settings(Duration::from_secs(30));
    s.upstream_accounts = vec![UpstreamAccount {
        aor: "sip:door@sip.test".into(),
        user: "door".into(),
        password: "secret".into(),
        local: "everyone".into(),
        expires_s: 600,
    }];
    proxy_from(t0, s, Registrar::new(LIMITS))
}

/// The REGISTERs the core sent to the upstream proxy.
fn registers(out: &[(Peer, Message)]) -> Vec<Request> {
    out.iter()
        .filter(|(p, _)| *p == Peer::udp(UPSTREAM))
        .filter_map(|(_, m)| match m {
            Message::Request(r) if r.method == Method::Register => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn reply(core: &mut Proxy, now: Instant, resp: Response) -> Vec<(Peer, Message)> {
    core.handle_datagram(now, Peer::udp(UPSTREAM), &resp.to_bytes());
    drain(core)
}

fn challenge(server: &mut DigestServer, req: &Request) -> Response {
    let mut resp = Response::for_request(req, 401, "Unauthorized");
    resp.headers.push("WWW-Authenticate", server.challenge(Algorithm::Md5, EPOCH, false).to_string());
    resp
}

#[test]
fn registers_with_digest_and_refreshes_before_expiry() {
    let t0 = Instant::now();
    let mut core = proxy_registering(t0);
    assert_eq!(core.next_timeout(), Some(t0), "registers at once");
    core.handle_timeout(t0);
    let first = registers(&drain(&mut core));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].uri, "sip:sip.test");
    assert_eq!(first[0].headers.contact().unwrap().uri, format!("sip:everyone@{PROXY};transport=udp"));

    let mut server = DigestServer::new("sip.test", b"cloud".to_vec(), Duration::from_secs(300));
    let second = registers(&reply(&mut core, t0, challenge(&mut server, &first[0])));
    assert_eq!(second.len(), 1, "the challenge is answered");
    let creds = Credentials::parse(second[0].headers.get("Authorization").unwrap()).unwrap();
    let verdict = server.verify(EPOCH, &Method::Register, &creds, |u, alg| Some(ha1(alg, u, "sip.test", "secret")));
    assert_eq!(verdict, Verification::Accepted { username: "door".into() });

    let ok = Response::for_request(&second[0], 200, "OK")
        .with_header("Contact", format!("<sip:everyone@{PROXY};transport=udp>;expires=300"));
    assert!(registers(&reply(&mut core, t0, ok)).is_empty());
    assert_eq!(core.uplinks()[0].registered_until, Some(t0 + Duration::from_secs(300)));
    assert!(core.next_timeout().is_some_and(|t| t <= t0 + Duration::from_secs(240)));
    core.handle_timeout(t0 + Duration::from_secs(239));
    assert!(registers(&drain(&mut core)).is_empty(), "not before 80 % of the granted 300 s");
    core.handle_timeout(t0 + Duration::from_secs(240));
    let refresh = registers(&drain(&mut core));
    assert_eq!(refresh.len(), 1);
    assert_eq!(refresh[0].headers.cseq().unwrap().0, 3, "same Call-ID, next CSeq");
    assert_eq!(refresh[0].headers.call_id(), first[0].headers.call_id());
}

#[test]
fn a_refused_password_is_retried_a_minute_later() {
    let t0 = Instant::now();
    let mut core = proxy_registering(t0);
    core.handle_timeout(t0);
    let first = registers(&drain(&mut core));
    let mut server = DigestServer::new("sip.test", b"cloud".to_vec(), Duration::from_secs(300));
    let second = registers(&reply(&mut core, t0, challenge(&mut server, &first[0])));
    let again = registers(&reply(&mut core, t0, challenge(&mut server, &second[0])));
    assert!(again.is_empty(), "a second challenge means a wrong password: no loop");
    core.handle_timeout(t0 + Duration::from_secs(59));
    assert!(registers(&drain(&mut core)).is_empty());
    core.handle_timeout(t0 + Duration::from_secs(60));
    let retry = registers(&drain(&mut core));
    assert_eq!(retry.len(), 1, "retried after a minute");
    assert!(retry[0].headers.get("Authorization").is_none(), "with fresh credentials state");
}

#[test]
fn calls_from_the_cloud_to_our_contact_ring_the_house() {
    let t0 = Instant::now();
    let mut core = proxy_registering(t0);
    for i in 0..3 {
        let contact = format!("<sip:callee@{}>", callee_addr(i));
        exchange(&mut core, t0, callee_addr(i), &register(&format!("a{i}"), callee_addr(i), &contact, 1));
    }
    let invite = Request::new(Method::Invite, format!("sip:everyone@{PROXY};transport=udp"))
        .with_header("Via", format!("SIP/2.0/UDP {UPSTREAM};branch=z9hG4bKcloud"))
        .with_header("Max-Forwards", "69")
        .with_header("From", "<sip:bob@sip.test>;tag=b")
        .with_header("To", "<sip:door@sip.test>")
        .with_header("Call-ID", "cloud-call")
        .with_header("CSeq", "1 INVITE")
        .with_header("Contact", "<sip:bob@127.0.0.1:15300>");
    let out = exchange(&mut core, t0, UPSTREAM, &invite);
    let rung: Vec<Peer> = out
        .iter()
        .filter(|(_, m)| matches!(m, Message::Request(r) if r.method == Method::Invite))
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(rung, (0..3).map(|i| Peer::udp(callee_addr(i))).collect::<Vec<_>>());
}
