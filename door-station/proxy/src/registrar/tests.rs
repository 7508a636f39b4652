use super::*;
use ds_sip::Method;

const LIMITS: ExpiryLimits = ExpiryLimits { min_s: 60, max_s: 7200, default_s: 3600 };
const T0: u64 = 1_700_000_000;

fn src() -> Peer {
    Peer::udp("127.0.0.1:15066".parse().unwrap())
}

fn aor() -> Aor {
    Aor("alice@home".into())
}

fn register(call_id: &str, cseq: u32, contacts: &[&str], expires: Option<u32>) -> Request {
    let mut r = Request::new(Method::Register, "sip:home")
        .with_header("Via", "SIP/2.0/UDP 127.0.0.1:15066;branch=z9hG4bK1")
        .with_header("From", "<sip:alice@home>;tag=f")
        .with_header("To", "<sip:alice@home>")
        .with_header("Call-ID", call_id)
        .with_header("CSeq", format!("{cseq} REGISTER"));
    for c in contacts {
        r.headers.push("Contact", *c);
    }
    if let Some(e) = expires {
        r.headers.push("Expires", e.to_string());
    }
    r
}

fn contacts_of(resp: &Response) -> Vec<String> {
    resp.headers.contacts().iter().map(ToString::to_string).collect()
}

#[test]
fn bindings_are_listed_by_q_with_remaining_expiry() {
    let mut r = Registrar::new(LIMITS);
    let req = register("c1", 1, &["<sip:a@10.0.0.1>;q=0.5", "<sip:a@10.0.0.2>;q=1;expires=120"], None);
    let resp = r.register(T0, &req, &aor(), src());
    assert_eq!(resp.status, 200);
    assert!(resp.headers.to().unwrap().tag().is_some());
    let uris: Vec<&str> = r.lookup(T0, &aor()).iter().map(|b| b.contact.uri.as_str()).collect();
    assert_eq!(uris, ["sip:a@10.0.0.2", "sip:a@10.0.0.1"]);
    let later = r.register(T0 + 20, &register("c1", 2, &[], None), &aor(), src());
    assert_eq!(contacts_of(&later), ["<sip:a@10.0.0.2>;expires=100", "<sip:a@10.0.0.1>;expires=3580;q=0.5"]);
}

#[test]
fn too_brief_is_423_with_min_expires_and_long_is_clamped() {
    let mut r = Registrar::new(LIMITS);
    let resp = r.register(T0, &register("c1", 1, &["<sip:a@10.0.0.1>"], Some(30)), &aor(), src());
    assert_eq!(resp.status, 423);
    assert_eq!(resp.headers.get("Min-Expires"), Some("60"));
    assert!(r.is_empty());
    r.register(T0, &register("c1", 2, &["<sip:a@10.0.0.1>"], Some(999_999)), &aor(), src());
    assert_eq!(r.lookup(T0, &aor())[0].expires_at_s, T0 + 7200);
}

#[test]
fn wildcard_removes_all_and_needs_expires_zero_alone() {
    let mut r = Registrar::new(LIMITS);
    r.register(T0, &register("c1", 1, &["<sip:a@10.0.0.1>", "<sip:a@10.0.0.2>"], None), &aor(), src());
    assert_eq!(r.register(T0, &register("c2", 1, &["*"], Some(60)), &aor(), src()).status, 400);
    assert_eq!(r.register(T0, &register("c2", 1, &["*", "<sip:x@h>"], Some(0)), &aor(), src()).status, 400);
    assert_eq!(r.len(), 2);
    let resp = r.register(T0, &register("c2", 1, &["*"], Some(0)), &aor(), src());
    assert_eq!((resp.status, r.len()), (200, 0));
    assert!(resp.headers.get("Contact").is_none());
}

#[test]
fn same_call_id_needs_a_higher_cseq() {
    let mut r = Registrar::new(LIMITS);
    r.register(T0, &register("c1", 5, &["<sip:a@10.0.0.1>"], None), &aor(), src());
    let stale = r.register(T0 + 1, &register("c1", 5, &["<sip:a@10.0.0.1>"], Some(0)), &aor(), src());
    assert_eq!(stale.status, 500);
    assert_eq!(r.len(), 1, "an out-of-order request changes nothing");
    let other_call = r.register(T0 + 1, &register("c9", 1, &["<sip:a@10.0.0.1>"], Some(0)), &aor(), src());
    assert_eq!((other_call.status, r.len()), (200, 0));
}

#[test]
fn refresh_replaces_and_expiry_drops() {
    let mut r = Registrar::new(LIMITS);
    r.register(T0, &register("c1", 1, &["<sip:a@10.0.0.1>"], Some(100)), &aor(), src());
    r.register(T0 + 50, &register("c1", 2, &["<sip:A@10.0.0.1>"], Some(100)), &aor(), src());
    assert_eq!(r.len(), 1);
    assert_eq!(r.next_expiry_s(), Some(T0 + 150));
    assert!(r.take_dirty());
    assert!(!r.take_dirty());
    r.expire(T0 + 150);
    assert!(r.is_empty());
    assert!(r.take_dirty());
}

#[test]
fn bad_contacts_are_400() {
    let mut r = Registrar::new(LIMITS);
    for bad in ["<sip:a@h>;q=2", "<sip:a@h>;q=0.1234", "<sip:a@h>;expires=soon", "<mailto:a@h>"] {
        assert_eq!(r.register(T0, &register("c", 1, &[bad], None), &aor(), src()).status, 400, "{bad}");
    }
}

#[test]
fn store_round_trips_and_skips_damaged_lines() {
    let mut r = Registrar::new(LIMITS);
    let req = register("c1", 3, &["\"Al\" <sip:a@10.0.0.1;transport=tcp>;+sip.instance=\"<urn:x>\";q=0.7"], None);
    r.register(
        T0,
        &req,
        &aor(),
        Peer { addr: "10.0.0.1:5060".parse().unwrap(), transport: ds_sip::transaction::Transport::Tcp },
    );
    let text = format!("{}{{broken\n", store::to_text(&r.snapshot()));
    let (bindings, warnings) = store::from_text(&text);
    assert_eq!(warnings.len(), 1);
    assert_eq!(bindings, r.snapshot());
    let restored = Registrar::restore(LIMITS, bindings.clone(), T0 + 10);
    assert_eq!(restored.snapshot(), r.snapshot());
    assert!(Registrar::restore(LIMITS, bindings, T0 + 3600).is_empty());
}

#[test]
fn store_file_is_replaced_atomically() {
    let dir = std::env::temp_dir().join(format!("intercom-proxy-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bindings.jsonl");
    assert!(store::load(&path).unwrap().0.is_empty());
    let mut r = Registrar::new(LIMITS);
    r.register(T0, &register("c1", 1, &["<sip:a@10.0.0.1>"], None), &aor(), src());
    store::save(&path, &r.snapshot()).unwrap();
    assert!(!path.with_extension("tmp").exists());
    assert_eq!(store::load(&path).unwrap().0, r.snapshot());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_aor_keeps_at_most_sixteen_contacts() {
    let mut r = Registrar::new(LIMITS);
    for i in 0..20u32 {
        let contact = format!("<sip:a@10.0.0.{i}>");
        r.register(T0 + u64::from(i), &register(&format!("c{i}"), 1, &[contact.as_str()], None), &aor(), src());
    }
    let live = r.lookup(T0 + 20, &aor());
    assert_eq!(live.len(), MAX_BINDINGS_PER_AOR);
    assert!(live.iter().all(|b| b.contact.uri != "sip:a@10.0.0.0"), "the oldest went first");
}

/// The expiry index agrees with the bindings through refreshes, removals,
/// wildcards, per-AOR truncation and expiry, against a brute-force scan.
#[test]
fn the_expiry_index_follows_every_change() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut r = Registrar::new(LIMITS);
    let mut now = T0;
    let mut cseq = 0;
    for _ in 0..4000 {
        now += rng.gen_range(0..40);
        cseq += 1;
        let who = Aor(format!("u{}@home", rng.gen_range(0..6)));
        let contact = format!("<sip:x@10.0.0.{}>", rng.gen_range(0..20));
        let req = match rng.gen_range(0..10) {
            0 => register("c", cseq, &["*"], Some(0)),
            1 => register("c", cseq, &[&contact], Some(0)),
            _ => register("c", cseq, &[&contact], Some(rng.gen_range(60..400))),
        };
        r.register(now, &req, &who, src());
        if rng.gen_bool(0.3) {
            r.expire(now);
        }
        let brute = r.bindings.values().flatten().map(|b| b.expires_at_s).min();
        assert_eq!(r.next_expiry_s(), brute);
        let indexed: BTreeSet<(u64, Aor)> =
            r.bindings.iter().flat_map(|(a, l)| l.iter().map(|b| (b.expires_at_s, a.clone()))).collect();
        assert_eq!(r.expiries, indexed);
    }
    r.expire(now + 10_000);
    assert!(r.is_empty() && r.expiries.is_empty());
}
