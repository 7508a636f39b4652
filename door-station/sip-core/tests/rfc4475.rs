//! RFC 4475 torture messages: every message of `tests/rfc4475/INDEX.tsv` is
//! handled as listed, by intake and by the role checks; the valid ones keep
//! the fields the RFC singles out; rsip's own verdicts are recorded.

mod common;

use ds_sip::message::intake::{DropReason, Intake, Role, StreamFramer, check_semantics, parse_datagram};
use ds_sip::{Message, Method, Request, Response};

/// What intake must make of a datagram.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Parse,
    Reject(u16),
    Drop,
}

use Outcome::{Drop, Parse, Reject};
use Role::{Endpoint, Proxy, Registrar};

/// Role checks and the code each must give.
type RoleChecks = &'static [(Role, Option<u16>)];

/// (file, intake outcome, role checks).
const CASES: &[(&str, Outcome, RoleChecks)] = &[
    ("wsinv.dat", Parse, &[(Endpoint, None)]),
    ("intmeth.dat", Parse, &[(Endpoint, Some(501)), (Proxy, None)]),
    ("esc01.dat", Parse, &[(Endpoint, None)]),
    ("escnull.dat", Parse, &[(Endpoint, None), (Registrar, None)]),
    ("esc02.dat", Parse, &[(Endpoint, Some(501)), (Registrar, Some(501)), (Proxy, None)]),
    ("lwsdisp.dat", Parse, &[(Endpoint, None)]),
    ("longreq.dat", Parse, &[(Endpoint, None)]),
    ("dblreq.dat", Parse, &[(Registrar, None)]),
    ("semiuri.dat", Parse, &[(Endpoint, None)]),
    ("transports.dat", Parse, &[(Endpoint, None)]),
    ("mpart01.dat", Parse, &[(Endpoint, None)]),
    ("unreason.dat", Parse, &[(Endpoint, None)]),
    ("noreason.dat", Parse, &[(Endpoint, None)]),
    ("badinv01.dat", Reject(400), &[]),
    ("clerr.dat", Reject(400), &[]),
    ("ncl.dat", Reject(400), &[]),
    ("scalar02.dat", Reject(400), &[]),
    ("scalarlg.dat", Drop, &[]),
    ("quotbal.dat", Reject(400), &[]),
    ("ltgtruri.dat", Reject(400), &[]),
    ("lwsruri.dat", Reject(400), &[]),
    ("lwsstart.dat", Reject(400), &[]),
    ("trws.dat", Reject(400), &[]),
    ("escruri.dat", Reject(400), &[]),
    ("baddate.dat", Reject(400), &[]),
    ("regbadct.dat", Reject(400), &[]),
    ("badaspec.dat", Reject(400), &[]),
    ("baddn.dat", Reject(400), &[]),
    ("badvers.dat", Reject(505), &[]),
    ("mismatch01.dat", Reject(400), &[]),
    ("mismatch02.dat", Reject(400), &[]),
    ("bigcode.dat", Drop, &[]),
    ("badbranch.dat", Parse, &[(Endpoint, None)]),
    ("insuf.dat", Reject(400), &[]),
    // RFC 4475 §3.3.2 / §3.3.3: both parse; an element that never accepts
    // the scheme answers 416, and the station knows only sip, sips and tel.
    ("unkscm.dat", Parse, &[(Endpoint, Some(416)), (Proxy, Some(416))]),
    ("novelsc.dat", Parse, &[(Endpoint, Some(416))]),
    ("unksm2.dat", Parse, &[(Endpoint, None), (Proxy, None), (Registrar, Some(400))]),
    ("bext01.dat", Parse, &[(Endpoint, Some(420)), (Proxy, Some(420))]),
    ("invut.dat", Parse, &[(Endpoint, Some(415)), (Proxy, None)]),
    ("regaut01.dat", Parse, &[(Registrar, Some(401)), (Endpoint, None)]),
    ("multi01.dat", Reject(400), &[]),
    ("mcl01.dat", Reject(400), &[]),
    ("bcast.dat", Drop, &[]),
    ("zeromf.dat", Parse, &[(Proxy, Some(483)), (Endpoint, None)]),
    ("cparam01.dat", Parse, &[(Registrar, None)]),
    ("cparam02.dat", Parse, &[(Registrar, None)]),
    ("regescrt.dat", Parse, &[(Registrar, None)]),
    ("sdp01.dat", Parse, &[(Endpoint, Some(406)), (Proxy, None)]),
    ("inv2543.dat", Parse, &[(Endpoint, None)]),
];

fn outcome(intake: &Intake) -> Outcome {
    match intake {
        Intake::Message(_) => Parse,
        Intake::Reject(r) => Reject(r.status),
        Intake::Drop(_) => Drop,
    }
}

fn parsed(file: &str) -> Message {
    match parse_datagram(&common::load(file)) {
        Intake::Message(m) => m,
        other => panic!("{file}: {other:?}"),
    }
}

fn request(file: &str) -> Request {
    match parsed(file) {
        Message::Request(r) => r,
        other => panic!("{file}: not a request: {other:?}"),
    }
}

fn response(file: &str) -> Response {
    match parsed(file) {
        Message::Response(r) => r,
        other => panic!("{file}: not a response: {other:?}"),
    }
}

#[test]
fn cases_cover_the_index() {
    let index: Vec<String> = common::index().into_iter().map(|e| e.file).collect();
    let cases: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    assert_eq!(index, cases);
    for entry in common::index() {
        let (_, expected, _) = CASES.iter().find(|c| c.0 == entry.file).unwrap();
        if entry.class == "valid" {
            assert_eq!(*expected, Parse, "{} is valid", entry.file);
        }
    }
}

#[test]
fn every_message_is_handled_as_listed() {
    for (file, expected, roles) in CASES {
        let intake = parse_datagram(&common::load(file));
        assert_eq!(outcome(&intake), *expected, "{file}: {intake:?}");
        if let Intake::Message(msg) = &intake {
            for (role, code) in *roles {
                let answer = check_semantics(msg, *role, &[]).map(|r| r.status);
                assert_eq!(answer, *code, "{file} as {role:?}");
            }
        }
    }
}

#[test]
fn rejections_are_ready_to_send() {
    for (file, expected, _) in CASES {
        let Reject(code) = expected else { continue };
        let Intake::Reject(resp) = parse_datagram(&common::load(file)) else { unreachable!() };
        let req = request_head(file);
        assert_eq!(resp.status, *code);
        assert_eq!(resp.headers.get_all("Via").collect::<Vec<_>>(), req.get_all("Via").collect::<Vec<_>>(), "{file}");
        assert_eq!(resp.headers.get("Call-ID"), req.get("Call-ID"), "{file}");
        assert!(resp.headers.get("Warning").is_some_and(|w| w.starts_with("399 - \"")), "{file}");
        let bytes = resp.to_bytes();
        assert!(matches!(parse_datagram(&bytes), Intake::Message(Message::Response(_)) | Intake::Drop(_)), "{file}");
    }
}

/// The header fields of a message as a lenient reader sees them.
fn request_head(file: &str) -> ds_sip::Headers {
    let bytes = common::load(file);
    let text = String::from_utf8_lossy(&bytes);
    let head = text.split("\r\n\r\n").next().unwrap();
    let mut headers = ds_sip::Headers::default();
    for line in head.lines().skip(1).filter(|l| !l.starts_with([' ', '\t'])) {
        if let Some((n, v)) = line.split_once(':') {
            headers.push(n.trim(), v.trim());
        }
    }
    headers
}

#[test]
fn rejected_answers_carry_a_derived_to_tag() {
    let Intake::Reject(a) = parse_datagram(&common::load("lwsstart.dat")) else { panic!() };
    let Intake::Reject(b) = parse_datagram(&common::load("lwsstart.dat")) else { panic!() };
    let tag = a.headers.to().and_then(|t| t.tag().map(str::to_string));
    assert!(tag.as_ref().is_some_and(|t| t.len() == 16), "{:?}", a.headers.get("To"));
    assert_eq!(tag.as_deref(), b.headers.to().unwrap().tag());
    // quotbal's To is broken: it is echoed as it came, without a tag.
    let Intake::Reject(q) = parse_datagram(&common::load("quotbal.dat")) else { panic!() };
    assert_eq!(q.headers.get("To"), Some("\"Mr. J. User <sip:j.user@example.com>"));
}

#[test]
fn drops_say_why() {
    let reason = |file| match parse_datagram(&common::load(file)) {
        Intake::Drop(r) => r,
        other => panic!("{file}: {other:?}"),
    };
    assert_eq!(reason("bcast.dat"), DropReason::BroadcastVia { host: "255.255.255.255".into() });
    assert!(matches!(reason("bigcode.dat"), DropReason::BadResponse(_)));
    assert!(matches!(reason("scalarlg.dat"), DropReason::BadResponse(_)));
    assert_eq!(parse_datagram(b"\r\n\r\n"), Intake::Drop(DropReason::KeepAlive));
}

#[test]
fn wsinv_whitespace_folding_and_compact_forms() {
    let req = request("wsinv.dat");
    assert_eq!(
        (req.method.clone(), req.uri.as_str()),
        (Method::Invite, "sip:vivekg@chair-dnrc.example.com;unknownparam")
    );
    let h = &req.headers;
    assert_eq!(h.max_forwards(), Some(68));
    assert_eq!(h.cseq(), Some((9, Method::Invite)));
    assert_eq!(h.to().unwrap().tag(), Some("1918181833n"));
    assert_eq!(h.from().unwrap().display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(h.from().unwrap().tag(), Some("98asjd8"));
    let vias = h.vias();
    let hosts: Vec<(&str, &str)> = vias.iter().map(|v| (v.transport.as_str(), v.host.as_str())).collect();
    assert_eq!(hosts, [("UDP", "192.0.2.2"), ("TCP", "spindle.example.com"), ("UDP", "192.168.255.111")]);
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(h.get("Subject"), Some(""));
    assert_eq!(h.get("NewFangledHeader"), Some("newfangled value continued newfangled value"));
    let contact = h.contact().unwrap();
    assert_eq!((contact.display.as_deref(), contact.param("q")), (Some("Quoted string \"\""), Some("0.33")));
    assert_eq!(req.body.len(), 150);
}

#[test]
fn unusual_methods_stay_extensions() {
    let req = request("intmeth.dat");
    assert_eq!(req.method, Method::Extension("!interesting-Method0123456789_*+`.%indeed'~".into()));
    assert!(req.uri.starts_with("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1"));
    assert_eq!(req.headers.call_id(), Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"));
    assert_eq!(req.headers.get("extensionHeader-!.%*+_`'~"), Some("\u{feff}大停電"));
    let allow = check_semantics(&Message::Request(req), Endpoint, &[]).unwrap();
    assert_eq!(allow.headers.get("Allow"), Some("INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE"));
    let esc02 = request("esc02.dat");
    assert_eq!(esc02.method, Method::Extension("RE%47IST%45R".into()));
    assert_eq!(esc02.headers.contacts().len(), 2, "C%6Fntact is another header");
    assert_eq!(esc02.headers.get("C%6Fntact"), Some("<sip:alias2@host2.example.com>"));
}

#[test]
fn escapes_are_preserved_byte_for_byte() {
    let req = request("esc01.dat");
    assert_eq!(req.uri, "sip:sips%3Auser%40example.com@example.net");
    assert_eq!(req.headers.to().unwrap().uri, "sip:%75se%72@example.com");
    assert_eq!(req.headers.from().unwrap().uri, "sip:I%20have%20spaces@example.net");
    assert_eq!(req.headers.contact().unwrap().uri, "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
    let null = request("escnull.dat");
    assert_eq!(null.headers.to().unwrap().uri, "sip:null-%00-null@example.com");
    let contacts: Vec<String> = null.headers.contacts().into_iter().map(|c| c.uri).collect();
    assert_eq!(contacts, ["sip:%00@host5.example.com", "sip:%00%00@host5.example.com"]);
    assert_eq!(request("semiuri.dat").uri, "sip:user;par=u%40example.net@example.com");
}

#[test]
fn long_and_many_headers() {
    let req = request("longreq.dat");
    let vias = req.headers.vias();
    assert_eq!(vias.len(), 34);
    assert_eq!(vias[0].host, "sip33.example.com");
    assert!(vias[33].branch().unwrap().ends_with("longbranchvalue"));
    assert!(req.headers.to().unwrap().display.unwrap().contains("extremeextreme"));
    assert_eq!(req.body.len(), 150);
    assert_eq!(request("lwsdisp.dat").headers.from().unwrap().display.as_deref(), Some("caller"));
}

#[test]
fn dblreq_second_request_is_ignored() {
    let req = request("dblreq.dat");
    assert_eq!(req.method, Method::Register);
    assert!(req.body.is_empty());
    assert_eq!(req.headers.call_id(), Some("dblreq.0ha0isndaksdj99sdfafnl3lk233412"));
}

#[test]
fn transports_and_branches() {
    let transports: Vec<String> = request("transports.dat").headers.vias().into_iter().map(|v| v.transport).collect();
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    assert_eq!(request("badbranch.dat").headers.top_via().unwrap().branch(), Some("z9hG4bK"));
}

#[test]
fn multipart_body_is_intact() {
    let raw = common::load("mpart01.dat");
    let req = request("mpart01.dat");
    assert_eq!(req.method, Method::Message);
    assert_eq!(req.body.len(), 553);
    assert!(raw.ends_with(&req.body));
    assert!(req.body.starts_with(b"--7a9cbec02ceef655\r\nContent-Type: text/plain"));
    assert_eq!(req.headers.content_type().as_deref(), Some("multipart/mixed"));
}

#[test]
fn reason_phrases() {
    let ok = response("unreason.dat");
    assert_eq!(ok.status, 200);
    assert_eq!(ok.reason, "= 2**3 * 5**2 но сто девяносто девять - простое");
    let trying = response("noreason.dat");
    assert_eq!((trying.status, trying.reason.as_str()), (100, ""));
}

#[test]
fn rfc2543_invite_is_served() {
    let req = request("inv2543.dat");
    assert_eq!(req.headers.max_forwards(), None);
    assert_eq!(req.headers.top_via().unwrap().branch(), None);
    assert_eq!(req.body.len(), 105, "no Content-Length over UDP: the body runs to the end");
    assert_eq!(req.headers.to().unwrap().param("user"), Some("phone"));
}

#[test]
fn semantic_answers_carry_their_headers() {
    let answer = |file, role| check_semantics(&parsed(file), role, &[]).unwrap();
    let ue = answer("bext01.dat", Endpoint);
    assert_eq!(ue.headers.get("Unsupported"), Some("nothingSupportsThis, nothingSupportsThisEither"));
    let proxy = answer("bext01.dat", Proxy);
    assert_eq!(proxy.headers.get("Unsupported"), Some("noProxiesSupportThis, norDoAnyProxiesSupportThis"));
    assert!(
        check_semantics(&parsed("bext01.dat"), Endpoint, &["nothingSupportsThis", "nothingSupportsThisEither"])
            .is_none()
    );
    let media = answer("invut.dat", Endpoint);
    assert!(media.headers.get("Accept").unwrap().contains("application/sdp"));
    for (file, role) in
        [("unkscm.dat", Endpoint), ("zeromf.dat", Proxy), ("sdp01.dat", Endpoint), ("regaut01.dat", Registrar)]
    {
        let r = answer(file, role);
        assert!(r.headers.to().unwrap().tag().is_some(), "{file}: To tag");
        assert_eq!(r.headers.cseq(), parsed(file).headers().cseq(), "{file}");
    }
}

#[test]
fn contact_parameters() {
    let c1 = request("cparam01.dat").headers.contact().unwrap();
    assert_eq!((c1.uri.as_str(), c1.params.len()), ("sip:+19725552222@gw1.example.net", 1));
    let c2 = request("cparam02.dat").headers.contact().unwrap();
    assert_eq!((c2.uri.as_str(), c2.params.len()), ("sip:+19725552222@gw1.example.net;unknownparam", 0));
    let c3 = request("regescrt.dat").headers.contact().unwrap();
    assert_eq!(c3.uri, "sip:user@example.com?Route=%3Csip:sip.example.com%3E");
}

#[test]
fn valid_messages_round_trip() {
    for (file, expected, _) in CASES {
        if *expected != Parse {
            continue;
        }
        let msg = parsed(file);
        assert_eq!(parse_datagram(&msg.to_bytes()), Intake::Message(msg.clone()), "{file}");
    }
}

#[test]
fn streams_agree_with_datagrams() {
    for (file, _, _) in CASES {
        let bytes = common::load(file);
        let mut framer = StreamFramer::new(64 * 1024);
        framer.push(&bytes);
        let first = framer.next();
        let Some(Ok(from_stream)) = first else {
            continue;
        };
        let from_datagram = parse_datagram(&bytes);
        if *file == "dblreq.dat" {
            let second = framer.next();
            assert!(matches!(second, Some(Ok(Intake::Message(Message::Request(ref r)))) if r.method == Method::Invite));
        }
        assert_eq!(from_stream, from_datagram, "{file}");
    }
    let needs_length = |file| {
        let mut f = StreamFramer::new(64 * 1024);
        f.push(&common::load(file));
        f.next()
    };
    assert!(needs_length("clerr.dat").is_none(), "9999 bytes announced: wait for them");
    assert!(matches!(needs_length("inv2543.dat"), Some(Err(_))), "no Content-Length on a stream");
    assert!(matches!(needs_length("ncl.dat"), Some(Err(_))));
    assert!(matches!(needs_length("mcl01.dat"), Some(Err(_))));
}

/// What rsip 0.4 alone makes of each message (`rsip::SipMessage::try_from`):
/// `true` = accepted. It rejects 6 of the 13 valid messages and accepts 11 of
/// the 19 invalid ones; this is why intake owns the message grammar.
const RSIP_ACCEPTS: &[(&str, bool)] = &[
    ("wsinv.dat", false),
    ("intmeth.dat", false),
    ("esc01.dat", false),
    ("escnull.dat", true),
    ("esc02.dat", false),
    ("lwsdisp.dat", true),
    ("longreq.dat", false),
    ("dblreq.dat", true),
    ("semiuri.dat", false),
    ("transports.dat", true),
    ("mpart01.dat", true),
    ("unreason.dat", true),
    ("noreason.dat", true),
    ("badinv01.dat", true),
    ("clerr.dat", true),
    ("ncl.dat", true),
    ("scalar02.dat", false),
    ("scalarlg.dat", true),
    ("quotbal.dat", true),
    ("ltgtruri.dat", true),
    ("lwsruri.dat", false),
    ("lwsstart.dat", false),
    ("trws.dat", false),
    ("escruri.dat", false),
    ("baddate.dat", true),
    ("regbadct.dat", true),
    ("badaspec.dat", true),
    ("baddn.dat", true),
    ("badvers.dat", false),
    ("mismatch01.dat", true),
    ("mismatch02.dat", false),
    ("bigcode.dat", false),
    ("badbranch.dat", true),
    ("insuf.dat", true),
    ("unkscm.dat", false),
    ("novelsc.dat", true),
    ("unksm2.dat", true),
    ("bext01.dat", true),
    ("invut.dat", true),
    ("regaut01.dat", true),
    ("multi01.dat", true),
    ("mcl01.dat", true),
    ("bcast.dat", true),
    ("zeromf.dat", true),
    ("cparam01.dat", true),
    ("cparam02.dat", true),
    ("regescrt.dat", true),
    ("sdp01.dat", true),
    ("inv2543.dat", true),
];

#[test]
fn rsip_alone_gets_these_wrong() {
    let mut wrong = Vec::new();
    for (file, accepts) in RSIP_ACCEPTS {
        let bytes = common::load(file);
        assert_eq!(rsip::SipMessage::try_from(bytes.as_slice()).is_ok(), *accepts, "{file}: rsip changed");
        let class = common::index().into_iter().find(|e| e.file == *file).unwrap().class;
        if (class == "valid") != *accepts && class != "semantic" {
            wrong.push(*file);
        }
    }
    assert_eq!(wrong.len(), 6 + 11, "{wrong:?}");
}

/// rsip's URI parser: it drops the host after a user part with `;` or a
/// password, cannot read IPv6 references and accepts spaces, so intake checks
/// URIs itself and `NameAddr::rsip_uri` is only for typed access.
#[test]
fn rsip_uri_findings() {
    let round_trip = |u: &str| rsip::Uri::try_from(u).map(|x| x.to_string()).ok();
    assert_eq!(round_trip("sip:%75se%72@example.com").as_deref(), Some("sip:%75se%72@example.com"));
    assert_eq!(round_trip("sip:user;par=u%40example.net@example.com").as_deref(), Some("sip:user;par=u%40example.net"));
    let odd =
        "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
    assert_eq!(round_trip(odd).as_deref(), Some("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"));
    assert_eq!(round_trip("sip:[2001:db8::1]:5060"), None);
    assert_eq!(round_trip("sip:a b@c").as_deref(), Some("sip:a b@c"), "rsip accepts a space");
}

/// Each invalid message is refused for its own defect, not another one.
const WHY: &[(&str, &str)] = &[
    ("badinv01.dat", "Via: expected a non-empty list element"),
    ("clerr.dat", "Content-Length 9999 but 154 bytes follow"),
    ("ncl.dat", "Content-Length: expected 1*DIGIT"),
    ("scalar02.dat", "CSeq: expected a sequence number below 2^31"),
    ("quotbal.dat", "To: expected closing quote"),
    ("ltgtruri.dat", "expected no <> around the Request-URI"),
    ("lwsruri.dat", "expected a Request-URI without LWS"),
    ("lwsstart.dat", "expected single SP between request-line elements"),
    ("trws.dat", "expected no SP at the end of the request line"),
    ("escruri.dat", "expected no escaped headers in a SIP Request-URI"),
    ("baddate.dat", "Date: expected rfc1123-date in GMT"),
    ("regbadct.dat", "Contact: expected <> around a URI with headers"),
    ("badaspec.dat", "To: expected no spaces inside <>"),
    ("baddn.dat", "From: expected a single value"),
    ("badvers.dat", "SIP version SIP/7.0 not supported"),
    ("mismatch01.dat", "CSeq method INVITE does not match request method OPTIONS"),
    ("mismatch02.dat", "CSeq method INVITE does not match request method NEWMETHOD"),
    ("insuf.dat", "missing To"),
    ("multi01.dat", "To appears more than once"),
    ("mcl01.dat", "Content-Length appears more than once"),
];

#[test]
fn each_rejection_names_its_defect() {
    for (file, why) in WHY {
        let Intake::Reject(r) = parse_datagram(&common::load(file)) else { panic!("{file}") };
        let warning = r.headers.get("Warning").unwrap_or_default();
        assert!(warning.contains(why), "{file}: {warning}");
    }
}

/// scalar02 has four overlarge values; each alone is enough.
#[test]
fn every_overlarge_scalar_is_refused() {
    let good = String::from_utf8(common::load("scalar02.dat")).unwrap();
    let good = good
        .replace("36893488147419103232", "1")
        .replace("Max-Forwards: 300", "Max-Forwards: 70")
        .replace(&format!("1{}", "0".repeat(100)), "3600")
        .replace("expires=280297596632815", "expires=60");
    assert!(matches!(parse_datagram(good.as_bytes()), Intake::Message(_)), "{good}");
    for (from, to) in [
        ("CSeq: 1 ", "CSeq: 2147483648 "),
        ("Max-Forwards: 70", "Max-Forwards: 256"),
        ("Expires: 3600", "Expires: 4294967296"),
        ("expires=60", "expires=4294967296"),
    ] {
        let bad = good.replace(from, to);
        assert!(matches!(parse_datagram(bad.as_bytes()), Intake::Reject(ref r) if r.status == 400), "{to}");
    }
}
