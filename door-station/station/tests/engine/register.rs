use std::time::Duration;

use door_station::engine::Event;
use ds_sip::Method;

use crate::harness::{Harness, PROXY, config, plain};

const CHALLENGE: &str = r#"Digest realm="home", nonce="n1", qop="auth", algorithm=MD5"#;

fn registering() -> Harness {
    let mut cfg = config();
    cfg.registrar = Some(PROXY.parse().unwrap());
    cfg.register_expires = Duration::from_secs(600);
    Harness::new(cfg)
}

fn register_ok(h: &mut Harness, reg: &ds_sip::Request, expires: u32) {
    let contact = reg.headers.contact().unwrap();
    let ok = plain(reg, 200).with_header("Contact", format!("<{}>;expires={expires}", contact.uri));
    h.reply(ok);
}

#[test]
fn challenge_answered_then_refreshed_at_half_the_granted_time() {
    let mut h = registering();
    let first = h.request(Method::Register);
    assert_eq!(first.uri, "sip:home");
    assert_eq!(first.headers.cseq().unwrap().0, 1);
    assert!(first.headers.get("Authorization").is_none());
    assert_eq!(first.headers.get("Expires"), Some("600"));

    h.reply(plain(&first, 401).with_header("WWW-Authenticate", CHALLENGE));
    let second = h.request(Method::Register);
    assert_eq!(second.headers.cseq().unwrap().0, 2);
    assert_eq!(second.headers.call_id(), first.headers.call_id());
    let auth = second.headers.get("Authorization").expect("credentials");
    for part in [r#"username="door""#, r#"realm="home""#, r#"nonce="n1""#, "qop=auth", "nc=00000001"] {
        assert!(auth.contains(part), "{part} missing in {auth}");
    }
    assert_ne!(second.headers.top_via().unwrap().branch(), first.headers.top_via().unwrap().branch());

    let ok =
        plain(&second, 200).with_header("Contact", format!("<{}>;expires=120", second.headers.contact().unwrap().uri));
    h.reply(ok);
    assert_eq!(h.take_events(), vec![Event::Registered { aor: "sip:door@home".into(), expires: 120 }]);
    assert!(h.engine.status().registered);

    h.advance(Duration::from_secs(59));
    assert!(h.take_requests(Method::Register).is_empty(), "refreshed too early");
    h.advance(Duration::from_secs(1));
    let refresh = h.request(Method::Register);
    assert_eq!(h.elapsed(), Duration::from_secs(60));
    assert_eq!(refresh.headers.cseq().unwrap().0, 3);

    // A stale nonce on refresh is answered again, not counted as a failure.
    h.reply(plain(&refresh, 401).with_header("WWW-Authenticate", CHALLENGE));
    let again = h.request(Method::Register);
    h.reply(plain(&again, 401).with_header("WWW-Authenticate", format!("{CHALLENGE}, stale=true").replace("n1", "n2")));
    let stale = h.request(Method::Register);
    assert!(stale.headers.get("Authorization").unwrap().contains(r#"nonce="n2""#));
    register_ok(&mut h, &stale, 300);
    assert_eq!(h.take_events(), vec![Event::Registered { aor: "sip:door@home".into(), expires: 300 }]);
}

#[test]
fn expires_header_counts_when_the_contact_has_none() {
    let mut h = registering();
    let reg = h.request(Method::Register);
    h.reply(plain(&reg, 200).with_header("Expires", "40"));
    assert_eq!(h.take_events(), vec![Event::Registered { aor: "sip:door@home".into(), expires: 40 }]);
    h.advance(Duration::from_secs(20));
    assert_eq!(h.take_requests(Method::Register).len(), 1);
}

#[test]
fn failures_back_off_exponentially_and_honour_retry_after() {
    let mut h = registering();
    let reg = h.request(Method::Register);
    h.reply(plain(&reg, 403));
    assert_eq!(h.take_events(), vec![Event::RegistrationFailed { status: 403, retry_in_s: 5 }]);
    h.advance(Duration::from_millis(4999));
    assert!(h.take_requests(Method::Register).is_empty());
    h.advance(Duration::from_millis(1));
    let _ = h.request(Method::Register);

    // No answer at all: Timer F (64·T1 = 32 s), then 10 s.
    h.advance(Duration::from_secs(32));
    assert_eq!(h.take_events(), vec![Event::RegistrationFailed { status: 0, retry_in_s: 10 }]);
    h.take_requests(Method::Register);
    h.advance(Duration::from_secs(10));
    let reg = h.request(Method::Register);
    h.reply(plain(&reg, 503).with_header("Retry-After", "120"));
    assert_eq!(h.take_events(), vec![Event::RegistrationFailed { status: 503, retry_in_s: 120 }]);

    // A wrong password: the second challenge is not answered again.
    h.advance(Duration::from_secs(120));
    let reg = h.request(Method::Register);
    h.reply(plain(&reg, 401).with_header("WWW-Authenticate", CHALLENGE));
    let authed = h.request(Method::Register);
    h.reply(plain(&authed, 401).with_header("WWW-Authenticate", CHALLENGE.replace("n1", "n3")));
    assert!(h.take_requests(Method::Register).is_empty());
    assert_eq!(h.take_events(), vec![Event::RegistrationFailed { status: 401, retry_in_s: 40 }]);

    // Success resets the backoff.
    h.advance(Duration::from_secs(40));
    let reg = h.request(Method::Register);
    register_ok(&mut h, &reg, 600);
    h.take_events();
    h.advance(Duration::from_secs(300));
    let reg = h.request(Method::Register);
    h.reply(plain(&reg, 500));
    assert_eq!(h.take_events(), vec![Event::RegistrationFailed { status: 500, retry_in_s: 5 }]);
}

#[test]
fn shutdown_removes_the_binding_without_retrying() {
    let mut h = registering();
    let reg = h.request(Method::Register);
    register_ok(&mut h, &reg, 600);
    h.take_events();
    h.engine.shutdown(h.now);
    h.drain();
    let bye = h.request(Method::Register);
    assert_eq!(bye.headers.get("Expires"), Some("0"));
    h.reply(plain(&bye, 401).with_header("WWW-Authenticate", CHALLENGE));
    let authed = h.request(Method::Register);
    assert_eq!(authed.headers.get("Expires"), Some("0"));
    h.reply(plain(&authed, 200));
    assert!(!h.engine.status().registered);
    h.advance(Duration::from_secs(1000));
    assert!(h.take_requests(Method::Register).is_empty(), "no refresh after the shutdown");
    assert!(h.take_events().is_empty());
}

#[test]
fn our_binding_is_found_among_the_other_devices_of_the_aor() {
    let mut h = registering();
    let reg = h.request(Method::Register);
    let ours = reg.headers.contact().unwrap().uri;
    let ok = plain(&reg, 200)
        .with_header("Contact", "<sip:door@192.0.2.9:5060>;expires=3600")
        .with_header("Contact", format!("<{ours};transport=udp>;expires=90"))
        .with_header("Expires", "7200");
    h.reply(ok);
    assert_eq!(h.take_events(), vec![Event::Registered { aor: "sip:door@home".into(), expires: 90 }]);
}
