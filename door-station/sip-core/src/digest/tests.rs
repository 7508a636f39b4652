//! Known-answer vectors from the RFCs and client/server round trips.

use super::*;
use crate::Method;
use std::time::Duration;

fn param(header: &str, name: &str) -> Option<String> {
    Params::parse_digest(header).ok()?.get(name).map(str::to_string)
}

/// RFC 2617 §3.5: the Mufasa example.
#[test]
fn rfc2617_example_response() {
    let ch = Challenge::parse(
        r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
    )
    .unwrap();
    assert!(ch.qop_auth);
    assert_eq!(ch.algorithm, Algorithm::Md5);
    let mut client = DigestClient::new("Mufasa", "Circle Of Life");
    let get = Method::Extension("GET".into());
    let value = client.authorization(&ch, &get, "/dir/index.html", "0a4f113b");
    assert_eq!(param(&value, "response"), Some("6629fae49393a05397450978507c4ef1".into()));
    assert_eq!(param(&value, "nc"), Some("00000001".into()));
    assert_eq!(param(&value, "opaque"), Some("5ccc069c403ebaf9f0171e9517f40e41".into()));
}

const RFC7616_COMMON: &str = r#"realm="http-auth@example.org", qop="auth, auth-int", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

fn rfc7616_response(algorithm: &str) -> String {
    let header = format!("Digest {RFC7616_COMMON}, algorithm={algorithm}");
    let ch = Challenge::parse(&header).unwrap();
    let mut client = DigestClient::new("Mufasa", "Circle of Life");
    let get = Method::Extension("GET".into());
    let value = client.authorization(&ch, &get, "/dir/index.html", RFC7616_CNONCE);
    Credentials::parse(&value).unwrap().response
}

/// RFC 7616 §3.9.1, the MD5 half.
#[test]
fn rfc7616_md5_example_response() {
    assert_eq!(rfc7616_response("MD5"), "8ca523f5e9506fed4657c9700eebdbec");
}

/// RFC 7616 §3.9.1, the SHA-256 half.
#[test]
fn rfc7616_sha256_example_response() {
    assert_eq!(rfc7616_response("SHA-256"), "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

#[test]
fn challenge_params_in_any_order_and_case() {
    let ch = Challenge::parse(r#"DIGEST Stale=TRUE,algorithm=sha-256,NONCE=abc,Realm="home""#).unwrap();
    assert_eq!(ch.realm, "home");
    assert_eq!(ch.nonce, "abc");
    assert_eq!(ch.algorithm, Algorithm::Sha256);
    assert!(ch.stale);
    assert!(!ch.qop_auth);
    assert_eq!(ch.opaque, None);
}

#[test]
fn unsupported_challenges_are_errors() {
    let sess = Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=MD5-sess"#);
    assert_eq!(sess, Err(DigestError::UnsupportedAlgorithm { token: "MD5-sess".into() }));
    let int = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#);
    assert!(matches!(int, Err(DigestError::UnsupportedQop { .. })));
    assert_eq!(Challenge::parse(r#"Digest realm="r""#), Err(DigestError::Missing { name: "nonce" }));
    assert!(Challenge::parse("").is_err());
}

#[test]
fn best_challenge_prefers_sha256() {
    let md5 = r#"Digest realm="r", nonce="n1", algorithm=MD5, qop="auth""#;
    let sha = r#"Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth""#;
    let sess = r#"Digest realm="r", nonce="n3", algorithm=SHA-256-sess"#;
    let best = best_challenge([md5, sess, sha].into_iter()).unwrap();
    assert_eq!((best.algorithm, best.nonce.as_str()), (Algorithm::Sha256, "n2"));
    let only_md5 = best_challenge(["Basic realm=\"x\"", md5].into_iter()).unwrap();
    assert_eq!(only_md5.algorithm, Algorithm::Md5);
    assert_eq!(best_challenge([sess].into_iter()), None);
}

#[test]
fn rfc2069_form_without_qop() {
    let ch = Challenge::parse(r#"Digest realm="r", nonce="n""#).unwrap();
    let mut client = DigestClient::new("u", "p");
    let value = client.authorization(&ch, &Method::Register, "sip:r", "ignored");
    let creds = Credentials::parse(&value).unwrap();
    assert!(!creds.qop_auth);
    assert_eq!((creds.cnonce, creds.nc), (None, None));
    let expected = Algorithm::Md5.hash_hex(
        format!("{}:n:{}", ha1(Algorithm::Md5, "u", "r", "p"), Algorithm::Md5.hash_hex(b"REGISTER:sip:r")).as_bytes(),
    );
    assert_eq!(creds.response, expected);
}

#[test]
fn nc_counts_per_nonce_and_restarts_on_a_new_one() {
    let mut client = DigestClient::new("u", "p");
    let first = Challenge::parse(r#"Digest realm="r", nonce="a", qop=auth"#).unwrap();
    let nc = |v: String| Credentials::parse(&v).unwrap().nc;
    assert_eq!(nc(client.authorization(&first, &Method::Register, "sip:r", "c1")), Some(1));
    assert_eq!(nc(client.authorization(&first, &Method::Register, "sip:r", "c2")), Some(2));
    let second = Challenge { nonce: "b".into(), ..first };
    assert_eq!(nc(client.authorization(&second, &Method::Register, "sip:r", "c3")), Some(1));
}

#[test]
fn header_values_escape_quotes() {
    let ch = Challenge::parse(r#"Digest realm="a \"q\" realm", nonce="n""#).unwrap();
    assert_eq!(ch.realm, r#"a "q" realm"#);
    let mut client = DigestClient::new(r#"odd"user"#, "p");
    let creds = Credentials::parse(&client.authorization(&ch, &Method::Invite, "sip:x", "c")).unwrap();
    assert_eq!(creds.username, r#"odd"user"#);
    assert_eq!(creds.realm, ch.realm);
    assert_eq!(Challenge::parse(&ch.to_string()).unwrap(), ch);
}

#[test]
fn credentials_need_cnonce_and_hex_nc_with_qop() {
    let base = r#"Digest username="u", realm="r", nonce="n", uri="sip:r", response="00", qop=auth"#;
    assert_eq!(Credentials::parse(base), Err(DigestError::Missing { name: "cnonce" }));
    let bad_nc = format!(r#"{base}, cnonce="c", nc=1"#);
    assert!(matches!(Credentials::parse(&bad_nc), Err(DigestError::BadValue { name: "nc", .. })));
    let good = format!(r#"{base}, cnonce="c", nc=0000000A"#);
    assert_eq!(Credentials::parse(&good).unwrap().nc, Some(10));
}

// ---- client and server together ----------------------------------------

const T0: u64 = 1_700_000_000;

struct Pair {
    server: DigestServer,
    client: DigestClient,
}

impl Pair {
    fn new(password: &str) -> Pair {
        Pair {
            server: DigestServer::new("home", b"server secret".to_vec(), Duration::from_secs(300)),
            client: DigestClient::new("door", password),
        }
    }

    /// Sends credentials for `ch` and returns the server's verdict.
    fn answer(&mut self, ch: &Challenge, now_s: u64, cnonce: &str) -> Verification {
        let value = self.client.authorization(ch, &Method::Register, "sip:home", cnonce);
        self.submit(&value, now_s)
    }

    fn submit(&mut self, value: &str, now_s: u64) -> Verification {
        let creds = Credentials::parse(value).unwrap();
        self.server.verify(now_s, &Method::Register, &creds, |user, alg| {
            (user == "door").then(|| ha1(alg, "door", "home", "secret"))
        })
    }
}

fn accepted() -> Verification {
    Verification::Accepted { username: "door".into() }
}

#[test]
fn round_trip_with_both_algorithms() {
    let mut pair = Pair::new("secret");
    let offered: Vec<String> = pair.server.challenges(T0, false).iter().map(|c| c.to_string()).collect();
    assert!(offered[0].contains("algorithm=SHA-256"));
    let ch = best_challenge(offered.iter().map(String::as_str)).unwrap();
    assert_eq!(ch.algorithm, Algorithm::Sha256);
    assert_eq!(pair.answer(&ch, T0 + 1, "c1"), accepted());
    let md5 = best_challenge(offered[1..].iter().map(String::as_str)).unwrap();
    assert_eq!(pair.answer(&md5, T0 + 2, "c2"), accepted());
}

#[test]
fn replayed_nonce_count_is_rejected() {
    let mut pair = Pair::new("secret");
    let ch = pair.server.challenge(Algorithm::Md5, T0, false);
    let value = pair.client.authorization(&ch, &Method::Register, "sip:home", "c1");
    assert_eq!(pair.submit(&value, T0 + 1), accepted());
    assert_eq!(pair.submit(&value, T0 + 2), Verification::Rejected(Rejection::Replay));
    // The next count on the same nonce is fine.
    assert_eq!(pair.answer(&ch, T0 + 3, "c2"), accepted());
}

#[test]
fn expired_nonce_is_stale_and_the_client_retries_without_failing() {
    let mut pair = Pair::new("secret");
    let ch = pair.server.challenge(Algorithm::Sha256, T0, false);
    assert_eq!(pair.client.on_challenge(&ch), ChallengeOutcome::Fresh);
    assert_eq!(pair.answer(&ch, T0 + 301, "c1"), Verification::Stale);
    let again = pair.server.challenge(Algorithm::Sha256, T0 + 301, true);
    assert!(Challenge::parse(&again.to_string()).unwrap().stale);
    assert_eq!(pair.client.on_challenge(&again), ChallengeOutcome::Stale);
    assert!(pair.client.is_stale(&again));
    assert_eq!(pair.answer(&again, T0 + 302, "c2"), accepted());
}

#[test]
fn wrong_password_is_rejected_and_not_stale() {
    let mut pair = Pair::new("guess");
    let ch = pair.server.challenge(Algorithm::Md5, T0, false);
    assert_eq!(pair.answer(&ch, T0 + 1, "c1"), Verification::Rejected(Rejection::WrongResponse));
    // Even an expired nonce with a wrong digest is not "stale".
    assert_eq!(pair.answer(&ch, T0 + 999, "c2"), Verification::Rejected(Rejection::WrongResponse));
    let again = pair.server.challenge(Algorithm::Md5, T0 + 1, false);
    assert_eq!(pair.client.on_challenge(&again), ChallengeOutcome::Rejected);
    assert!(!pair.client.is_stale(&again));
}

#[test]
fn success_makes_the_next_challenge_fresh() {
    let mut pair = Pair::new("secret");
    let ch = pair.server.challenge(Algorithm::Md5, T0, false);
    assert_eq!(pair.answer(&ch, T0, "c1"), accepted());
    pair.client.on_success();
    let refresh = pair.server.challenge(Algorithm::Md5, T0 + 3600, false);
    assert_eq!(pair.client.on_challenge(&refresh), ChallengeOutcome::Fresh);
}

#[test]
fn foreign_realm_user_and_nonce_are_rejected() {
    let mut pair = Pair::new("secret");
    let ch = pair.server.challenge(Algorithm::Md5, T0, false);
    let other_realm = Challenge { realm: "elsewhere".into(), ..ch.clone() };
    assert_eq!(pair.answer(&other_realm, T0, "c"), Verification::Rejected(Rejection::WrongRealm));
    let made_up = Challenge { nonce: "5f5e100.1.00ff".into(), ..ch.clone() };
    assert_eq!(pair.answer(&made_up, T0, "c"), Verification::Rejected(Rejection::BadNonce));
    let mut stranger = DigestClient::new("mallory", "secret");
    let value = stranger.authorization(&ch, &Method::Register, "sip:home", "c");
    assert_eq!(pair.submit(&value, T0), Verification::Rejected(Rejection::UnknownUser));
}

#[test]
fn nonce_without_qop_is_good_once() {
    let mut pair = Pair::new("secret");
    let ch = Challenge { qop_auth: false, ..pair.server.challenge(Algorithm::Md5, T0, false) };
    let value = pair.client.authorization(&ch, &Method::Register, "sip:home", "c");
    assert_eq!(pair.submit(&value, T0), accepted());
    assert_eq!(pair.submit(&value, T0), Verification::Rejected(Rejection::Replay));
}

#[test]
fn nonces_issued_in_the_same_second_differ() {
    let mut server = DigestServer::new("home", b"k".to_vec(), Duration::from_secs(60));
    let a = server.challenge(Algorithm::Md5, T0, false).nonce;
    let b = server.challenge(Algorithm::Md5, T0, false).nonce;
    assert_ne!(a, b);
}

#[test]
fn truncated_headers_are_errors_not_panics() {
    let challenge = format!("Digest {RFC7616_COMMON}, algorithm=SHA-256, stale=TRUE");
    let mut client = DigestClient::new("Mufasa", "Circle of Life");
    let ch = Challenge::parse(&challenge).unwrap();
    let credentials = client.authorization(&ch, &Method::Register, "sip:é@x", RFC7616_CNONCE);
    for text in [challenge.as_str(), credentials.as_str()] {
        for cut in (0..text.len()).filter(|c| text.is_char_boundary(*c)) {
            let _ = Challenge::parse(&text[..cut]);
            let _ = Credentials::parse(&text[..cut]);
        }
    }
    // Cut inside the last quoted value: an error, not a shorter value.
    let cut = credentials.len() - 3;
    assert!(matches!(Credentials::parse(&credentials[..cut]), Err(DigestError::Syntax { .. })));
}

#[test]
fn counts_of_expired_nonces_are_forgotten_oldest_first() {
    let mut pair = Pair::new("secret");
    // One nonce per second for 600 s, each used once; lifetime is 300 s.
    let mut kept = Vec::new();
    for i in 0..600 {
        let ch = pair.server.challenge(Algorithm::Md5, T0 + i, false);
        assert_eq!(pair.answer(&ch, T0 + i, &format!("c{i}")), accepted());
        kept.push(ch);
    }
    // Each verify first forgets the nonces issued more than 300 s ago.
    assert_eq!(pair.server.remembered(), 301);
    // A nonce still alive keeps its count: a replay of nc=1 is refused.
    let recent = &kept[599];
    let replay = DigestClient::new("door", "secret").authorization(recent, &Method::Register, "sip:home", "c599");
    assert_eq!(pair.submit(&replay, T0 + 599), Verification::Rejected(Rejection::Replay));
    // Much later every count is gone but the one just used.
    let late = pair.server.challenge(Algorithm::Md5, T0 + 2000, false);
    assert_eq!(pair.answer(&late, T0 + 2000, "late"), accepted());
    assert_eq!(pair.server.remembered(), 1);
}
