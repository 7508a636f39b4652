use super::*;
use ds_sip::digest::{Algorithm, Challenge, DigestClient, best_challenge};

const T0: u64 = 1_700_000_000;

fn settings() -> AuthSettings {
    AuthSettings {
        enabled: true,
        trusted: vec![TrustedNet::parse("10.9.0.0/16").unwrap()],
        nonce_lifetime: Duration::from_secs(300),
        max_failures: 3,
        lockout_s: 60,
        algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
    }
}

fn authenticator() -> Authenticator {
    let mut p = Passwd::default();
    p.set_password("alice", "home", "secret");
    Authenticator::new(settings(), b"k".to_vec(), p)
}

fn request(method: Method) -> Request {
    Request::new(method.clone(), "sip:home")
        .with_header("Via", "SIP/2.0/UDP 127.0.0.1:15066;branch=z9hG4bK1")
        .with_header("From", "<sip:alice@home>;tag=f")
        .with_header("To", "<sip:alice@home>")
        .with_header("Call-ID", "c1")
        .with_header("CSeq", format!("1 {method}"))
}

fn challenge_of(resp: &Response, header: &str) -> Challenge {
    best_challenge(resp.headers.get_all(header)).expect("a challenge")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Challenge, answer with `password`, and return the outcome.
fn attempt(a: &mut Authenticator, client: &mut DigestClient, method: Method, source: &str) -> AuthOutcome {
    let req = request(method.clone());
    let AuthOutcome::Challenge(resp) = a.check(T0, &req, "home", ip(source)) else { panic!("expected a challenge") };
    let (hdr, auth) = if method == Method::Register {
        ("WWW-Authenticate", "Authorization")
    } else {
        ("Proxy-Authenticate", "Proxy-Authorization")
    };
    let ch = challenge_of(&resp, hdr);
    let value = client.authorization(&ch, &method, "sip:home", "cn");
    a.check(T0 + 1, &req.with_header(auth, value), "home", ip(source))
}

#[test]
fn register_gets_401_sha256_first_and_then_passes() {
    let mut a = authenticator();
    let AuthOutcome::Challenge(resp) = a.check(T0, &request(Method::Register), "home", ip("127.0.0.1")) else {
        panic!()
    };
    assert_eq!(resp.status, 401);
    let offered: Vec<&str> = resp.headers.get_all("WWW-Authenticate").collect();
    assert!(offered[0].contains("SHA-256") && offered[1].contains("MD5"), "{offered:?}");
    let mut client = DigestClient::new("alice", "secret");
    let outcome = attempt(&mut a, &mut client, Method::Register, "127.0.0.1");
    assert_eq!(outcome, AuthOutcome::Authorized { user: Some("alice".into()) });
}

#[test]
fn invite_and_message_get_407() {
    let mut a = authenticator();
    for m in [Method::Invite, Method::Message] {
        let AuthOutcome::Challenge(resp) = a.check(T0, &request(m.clone()), "home", ip("127.0.0.1")) else { panic!() };
        assert_eq!(resp.status, 407);
        assert!(resp.headers.get("Proxy-Authenticate").is_some());
        let mut client = DigestClient::new("alice", "secret");
        assert!(matches!(attempt(&mut a, &mut client, m, "127.0.0.1"), AuthOutcome::Authorized { .. }));
    }
}

#[test]
fn md5_only_clients_pass_too() {
    let mut a = authenticator();
    let AuthOutcome::Challenge(resp) = a.check(T0, &request(Method::Register), "home", ip("127.0.0.1")) else {
        panic!()
    };
    let md5 = resp.headers.get_all("WWW-Authenticate").find(|v| v.contains("MD5")).unwrap();
    let ch = Challenge::parse(md5).unwrap();
    let value = DigestClient::new("alice", "secret").authorization(&ch, &Method::Register, "sip:home", "x");
    let outcome = a.check(T0, &request(Method::Register).with_header("Authorization", value), "home", ip("127.0.0.1"));
    assert!(matches!(outcome, AuthOutcome::Authorized { .. }));
}

#[test]
fn wrong_password_is_403_and_locks_out_the_source() {
    let mut a = authenticator();
    let mut bad = DigestClient::new("alice", "guess");
    for _ in 0..3 {
        let AuthOutcome::Refused(resp) = attempt(&mut a, &mut bad, Method::Register, "127.0.0.2") else { panic!() };
        assert_eq!(resp.status, 403);
    }
    let locked = a.check(T0 + 2, &request(Method::Register), "home", ip("127.0.0.2"));
    assert!(matches!(locked, AuthOutcome::Refused(_)), "locked out: not even challenged");
    let mut good = DigestClient::new("alice", "secret");
    assert!(
        matches!(attempt(&mut a, &mut good, Method::Register, "127.0.0.3"), AuthOutcome::Authorized { .. }),
        "other sources unaffected"
    );
    let after = a.check(T0 + 61, &request(Method::Register), "home", ip("127.0.0.2"));
    assert!(matches!(after, AuthOutcome::Challenge(_)), "the lockout ends");
}

/// A REGISTER answering a challenge issued at T0 with the right password.
fn signed_register(a: &mut Authenticator) -> Request {
    let req = request(Method::Register);
    let AuthOutcome::Challenge(resp) = a.check(T0, &req, "home", ip("127.0.0.1")) else {
        panic!("expected a challenge")
    };
    let ch = challenge_of(&resp, "WWW-Authenticate");
    let value = DigestClient::new("alice", "secret").authorization(&ch, &Method::Register, "sip:home", "cn");
    req.with_header("Authorization", value)
}

#[test]
fn replayed_nonce_count_is_refused() {
    let mut a = authenticator();
    let signed = signed_register(&mut a);
    assert!(matches!(a.check(T0, &signed, "home", ip("127.0.0.1")), AuthOutcome::Authorized { .. }));
    assert!(matches!(a.check(T0, &signed, "home", ip("127.0.0.1")), AuthOutcome::Refused(_)));
}

#[test]
fn expired_nonce_is_challenged_stale() {
    let mut a = authenticator();
    let signed = signed_register(&mut a);
    let AuthOutcome::Challenge(again) = a.check(T0 + 301, &signed, "home", ip("127.0.0.1")) else { panic!() };
    assert!(challenge_of(&again, "WWW-Authenticate").stale);
}

#[test]
fn trusted_hosts_and_disabled_auth_pass_unchallenged() {
    let mut a = authenticator();
    assert_eq!(a.check(T0, &request(Method::Invite), "home", ip("10.9.3.4")), AuthOutcome::Authorized { user: None });
    let mut off = Authenticator::new(AuthSettings { enabled: false, ..settings() }, b"k".to_vec(), Passwd::default());
    assert_eq!(
        off.check(T0, &request(Method::Register), "home", ip("127.0.0.1")),
        AuthOutcome::Authorized { user: None }
    );
}

#[test]
fn challenges_follow_the_configured_order() {
    let mut a = Authenticator::new(
        AuthSettings { algorithms: vec![Algorithm::Md5], ..settings() },
        b"k".to_vec(),
        Passwd::default(),
    );
    let AuthOutcome::Challenge(resp) = a.check(T0, &request(Method::Register), "home", ip("127.0.0.1")) else {
        panic!()
    };
    let offered: Vec<&str> = resp.headers.get_all("WWW-Authenticate").collect();
    assert_eq!(offered.len(), 1);
    assert!(offered[0].contains("algorithm=MD5"));
}
