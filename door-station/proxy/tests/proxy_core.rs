//! The proxy core fed message by message: registrar with digest, the
//! checks of §16.3, routing to the upstream proxy, and bindings that
//! survive a restart.

mod common;

use common::*;
use ds_sip::digest::{DigestClient, best_challenge};
use ds_sip::transaction::Peer;
use ds_sip::{Message, Method, Request};
use intercom_proxy::core::Proxy;
use intercom_proxy::core::ProxyParts;
use intercom_proxy::passwd::Passwd;
use intercom_proxy::registrar::{Registrar, store};
use intercom_proxy::routes::Routes;
use std::time::{Duration, Instant};

fn proxy_with_auth(t0: Instant) -> Proxy {
    let mut passwd = Passwd::default();
    passwd.set_password("alice", "home", "secret");
    let parts = ProxyParts {
        registrar: Registrar::new(LIMITS),
        auth: auth(true, passwd),
        routes: Routes::parse(ROUTES).unwrap(),
    };
    Proxy::new(settings(Duration::from_secs(30)), parts, t0, EPOCH, 7)
}

fn invite(uri: &str, from: &str, branch: &str) -> Request {
    Request::new(Method::Invite, uri)
        .with_header("Via", format!("SIP/2.0/UDP {CALLER};branch={branch}"))
        .with_header("Max-Forwards", "70")
        .with_header("From", format!("<{from}>;tag=door"))
        .with_header("To", format!("<{uri}>"))
        .with_header("Call-ID", format!("call-{branch}"))
        .with_header("CSeq", "1 INVITE")
        .with_header("Contact", format!("<sip:door@{CALLER}>"))
}

/// Sends `req`, answers the challenge with `password`, returns the second exchange.
fn with_digest(
    core: &mut Proxy,
    now: Instant,
    from: std::net::SocketAddr,
    req: Request,
    user: &str,
    password: &str,
) -> Vec<(Peer, Message)> {
    let first = exchange(core, now, from, &req);
    let challenge_resp = response(&first).expect("a challenge");
    let (hdr, auth) = if challenge_resp.status == 401 {
        ("WWW-Authenticate", "Authorization")
    } else {
        ("Proxy-Authenticate", "Proxy-Authorization")
    };
    let ch = best_challenge(challenge_resp.headers.get_all(hdr)).unwrap();
    let value = DigestClient::new(user, password).authorization(&ch, &req.method, &req.uri, "cnonce");
    let mut again = req.with_header(auth, value);
    let cseq = again.headers.cseq().unwrap().0 + 1;
    again.headers.set("CSeq", format!("{cseq} {}", again.method));
    let via = again.headers.get("Via").unwrap().replace(";branch=", ";branch=z9hG4bK2");
    again.headers.set("Via", via);
    exchange(core, now, from, &again)
}

#[test]
fn register_is_challenged_then_bound() {
    let t0 = Instant::now();
    let mut core = proxy_with_auth(t0);
    let req = register("alice", callee_addr(0), &format!("<sip:alice@{}>", callee_addr(0)), 1);
    let first = exchange(&mut core, t0, callee_addr(0), &req);
    assert_eq!(final_status(&first), Some(401));
    assert!(core.registrar().is_empty());
    let out = with_digest(&mut core, t0, callee_addr(0), req, "alice", "secret");
    assert_eq!(final_status(&out), Some(200));
    assert_eq!(out[0].0, Peer::udp(callee_addr(0)), "answered to the source");
    assert_eq!(core.registrar().len(), 1);
    assert!(core.take_bindings_changed());
}

#[test]
fn wrong_password_is_refused() {
    let t0 = Instant::now();
    let mut core = proxy_with_auth(t0);
    let req = register("alice", callee_addr(0), &format!("<sip:alice@{}>", callee_addr(0)), 1);
    let out = with_digest(&mut core, t0, callee_addr(0), req, "alice", "guess");
    assert_eq!(final_status(&out), Some(403));
    assert!(core.registrar().is_empty());
}

#[test]
fn a_user_cannot_register_someone_else() {
    let t0 = Instant::now();
    let mut core = proxy_with_auth(t0);
    let mut passwd = Passwd::default();
    passwd.set_password("alice", "home", "secret");
    passwd.set_password("bob", "home", "pw");
    core.reload(passwd, Routes::default());
    let req = register("bob", callee_addr(0), "<sip:bob@127.0.0.1:15062>", 1);
    let out = with_digest(&mut core, t0, callee_addr(0), req, "alice", "secret");
    assert_eq!(final_status(&out), Some(403));
}

#[test]
fn invites_from_our_users_are_challenged_with_407() {
    let t0 = Instant::now();
    let mut core = proxy_with_auth(t0);
    let req = invite("sip:a0@home", "sip:alice@home", "z9hG4bKi1");
    let first = exchange(&mut core, t0, CALLER, &req);
    assert_eq!(final_status(&first), Some(407));
    let out = with_digest(&mut core, t0, CALLER, req, "alice", "secret");
    assert_eq!(final_status(&out), Some(404), "authenticated, then routed: a0 is unknown and unregistered");
}

#[test]
fn foreign_to_foreign_needs_trust() {
    let t0 = Instant::now();
    let mut core = proxy_with_auth(t0);
    let out = exchange(&mut core, t0, CALLER, &invite("sip:x@cloud.example", "sip:mallory@evil.example", "z9hG4bKf"));
    assert_eq!(final_status(&out), Some(403), "not an open relay");
}

#[test]
fn max_forwards_zero_is_483_and_a_loop_is_482() {
    let t0 = Instant::now();
    let mut core = proxy_with(t0, Duration::from_secs(30), Registrar::new(LIMITS));
    let mut dead = invite("sip:a0@home", "sip:door@home", "z9hG4bKmf");
    dead.headers.set("Max-Forwards", "0");
    assert_eq!(final_status(&exchange(&mut core, t0, CALLER, &dead)), Some(483));

    let contact = format!("<sip:callee@{}>", UPSTREAM);
    exchange(&mut core, t0, UPSTREAM, &register("a0", UPSTREAM, &contact, 1));
    let out = exchange(&mut core, t0, CALLER, &invite("sip:a0@home", "sip:door@home", "z9hG4bKlp"));
    let forwarded = out.iter().find_map(|(_, m)| match m {
        Message::Request(r) if r.method == Method::Invite => Some(r.clone()),
        _ => None,
    });
    let mut looped = forwarded.expect("forwarded to a0");
    looped.uri = "sip:a0@home".into();
    looped.headers.push_front("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKother");
    assert_eq!(final_status(&exchange(&mut core, t0, UPSTREAM, &looped)), Some(482));
}

#[test]
fn unknown_is_404_and_known_but_absent_is_480() {
    let t0 = Instant::now();
    let mut core = proxy_with(t0, Duration::from_secs(30), Registrar::new(LIMITS));
    assert_eq!(
        final_status(&exchange(&mut core, t0, CALLER, &invite("sip:nobody@home", "sip:door@home", "z9hG4bKa"))),
        Some(404)
    );
    assert_eq!(
        final_status(&exchange(&mut core, t0, CALLER, &invite("sip:everyone@home", "sip:door@home", "z9hG4bKb"))),
        Some(480)
    );
}

#[test]
fn foreign_domains_and_foreign_route_members_go_upstream() {
    let t0 = Instant::now();
    let mut core = proxy_with(t0, Duration::from_secs(30), Registrar::new(LIMITS));
    let out = exchange(&mut core, t0, CALLER, &invite("sip:bob@cloud.example", "sip:door@home", "z9hG4bKu"));
    let sent: Vec<_> =
        out.iter().filter(|(_, m)| matches!(m, Message::Request(r) if r.method == Method::Invite)).collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, Peer::udp(UPSTREAM));

    let contact = format!("<sip:callee@{}>", callee_addr(0));
    exchange(&mut core, t0, callee_addr(0), &register("a0", callee_addr(0), &contact, 1));
    let out = exchange(&mut core, t0, CALLER, &invite("sip:house@home", "sip:door@home", "z9hG4bKh"));
    let branches: Vec<(Peer, String)> = out
        .iter()
        .filter_map(|(p, m)| match m {
            Message::Request(r) if r.method == Method::Invite => Some((*p, r.uri.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        branches,
        [
            (Peer::udp(callee_addr(0)), contact.trim_matches(['<', '>']).to_string()),
            (Peer::udp(UPSTREAM), "sip:carol@cloud.example".into())
        ]
    );
}

#[test]
fn options_to_the_proxy_is_answered_200() {
    let t0 = Instant::now();
    let mut core = proxy_with(t0, Duration::from_secs(30), Registrar::new(LIMITS));
    let mut req = invite("sip:home", "sip:door@home", "z9hG4bKo");
    req.method = Method::Options;
    req.headers.set("CSeq", "1 OPTIONS");
    let out = exchange(&mut core, t0, CALLER, &req);
    assert_eq!(final_status(&out), Some(200));
    assert!(response(&out).unwrap().headers.get("Allow").unwrap().contains("REGISTER"));
}

#[test]
fn bindings_survive_a_restart() {
    let t0 = Instant::now();
    let mut core = proxy_with(t0, Duration::from_secs(30), Registrar::new(LIMITS));
    let contact = format!("<sip:callee@{}>", callee_addr(1));
    exchange(&mut core, t0, callee_addr(1), &register("a1", callee_addr(1), &contact, 1));
    let text = store::to_text(&core.bindings());
    drop(core);

    let later = t0 + Duration::from_secs(600);
    let (bindings, warnings) = store::from_text(&text);
    assert!(warnings.is_empty());
    let restored = Registrar::restore(LIMITS, bindings, EPOCH + 600);
    let mut core = proxy_with(later, Duration::from_secs(30), restored);
    let out = exchange(&mut core, later, CALLER, &invite("sip:a1@home", "sip:door@home", "z9hG4bKr"));
    assert!(out.iter().any(
        |(p, m)| *p == Peer::udp(callee_addr(1)) && matches!(m, Message::Request(r) if r.method == Method::Invite)
    ));
}

#[test]
fn expired_bindings_are_dropped_on_timeout() {
    let t0 = Instant::now();
    let mut core = proxy_with(t0, Duration::from_secs(30), Registrar::new(LIMITS));
    let mut req = register("a1", callee_addr(1), "<sip:callee@127.0.0.1:15063>", 1);
    req.headers.push("Expires", "60");
    exchange(&mut core, t0, callee_addr(1), &req);
    assert!(core.take_bindings_changed());
    let wake = core.next_timeout().unwrap();
    assert!(wake <= t0 + Duration::from_secs(60));
    core.handle_timeout(t0 + Duration::from_secs(60));
    assert!(core.registrar().is_empty());
    assert!(core.take_bindings_changed());
}
