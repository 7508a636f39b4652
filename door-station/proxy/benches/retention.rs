//! Heap the proxy core keeps per answered call while RFC 6026 holds its
//! INVITE transactions (timers L and M, 64·T1 = 32 s), and what is left
//! once they end.
//!
//! Each call is forked to three registered phones: all ring, one answers,
//! the other two are cancelled (487), the caller ACKs the 200 through the
//! Record-Route. Messages are fed to the sans-IO core directly, so the
//! heap a counting allocator sees growing is the core's alone.
//!
//! `cargo bench -p intercom-proxy --bench retention` (CALLS=n to change the count)

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use ds_sip::transaction::Peer;
use ds_sip::{Message, Method, Request, Response};
use intercom_proxy::core::Proxy;
use intercom_proxy::registrar::Registrar;
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only the byte count is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

const SDP: &str = "v=0\r\no=door 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n\
m=video 20002 RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\n\
a=fmtp:102 profile-level-id=42e01f;packetization-mode=1\r\na=sendonly\r\n";

fn invite(n: usize) -> Request {
    Request::new(Method::Invite, "sip:everyone@home")
        .with_header("Via", format!("SIP/2.0/UDP {CALLER};branch=z9hG4bKcall{n};rport"))
        .with_header("Max-Forwards", "70")
        .with_header("From", format!("<sip:door@home>;tag=door{n}"))
        .with_header("To", "<sip:everyone@home>")
        .with_header("Call-ID", format!("{n}-bell@door.home"))
        .with_header("CSeq", "1 INVITE")
        .with_header("Contact", format!("<sip:door@{CALLER}>"))
        .with_header("Allow", "INVITE, ACK, CANCEL, BYE, INFO, MESSAGE, OPTIONS")
        .with_header("User-Agent", "door-station")
        .with_body("application/sdp", SDP)
}

/// The requests the core sent to `to`, by method.
fn requests_to(out: &[(Peer, Message)], to: SocketAddr, method: Method) -> Vec<Request> {
    out.iter()
        .filter(|(p, _)| p.addr == to)
        .filter_map(|(_, m)| match m {
            Message::Request(r) if r.method == method => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn feed(core: &mut Proxy, now: Instant, from: SocketAddr, msg: &Message) -> Vec<(Peer, Message)> {
    core.handle_datagram(now, Peer::udp(from), &msg.to_bytes());
    drain(core)
}

fn reply(req: &Request, status: u16, reason: &str, tag: &str) -> Response {
    let mut resp = Response::for_request(req, status, reason);
    if let Some(to) = resp.headers.get("To").map(str::to_string) {
        resp.headers.set("To", format!("{to};tag={tag}"));
    }
    for rr in req.headers.get_all("Record-Route") {
        resp.headers.push("Record-Route", rr);
    }
    resp
}

/// One call; returns the 200 the caller got.
fn call(core: &mut Proxy, now: Instant, n: usize) -> Response {
    let out = feed(core, now, CALLER, &Message::Request(invite(n)));
    let forwarded: Vec<(SocketAddr, Request)> =
        (0..3).map(|i| (callee_addr(i), requests_to(&out, callee_addr(i), Method::Invite).remove(0))).collect();
    for (i, (addr, inv)) in forwarded.iter().enumerate() {
        feed(core, now, *addr, &Message::Response(reply(inv, 180, "Ringing", &format!("p{i}"))));
    }
    let (addr, inv) = &forwarded[0];
    let ok = reply(inv, 200, "OK", "p0")
        .with_header("Contact", format!("<sip:callee@{addr}>"))
        .with_body("application/sdp", SDP);
    let out = feed(core, now, *addr, &Message::Response(ok));
    let ok = response(&out).filter(|r| r.status == 200).expect("the 200 reaches the caller").clone();
    for (i, (addr, inv)) in forwarded.iter().enumerate().skip(1) {
        let cancel = requests_to(&out, *addr, Method::Cancel).remove(0);
        feed(core, now, *addr, &Message::Response(Response::for_request(&cancel, 200, "OK")));
        feed(core, now, *addr, &Message::Response(reply(inv, 487, "Request Terminated", &format!("p{i}"))));
    }
    let to = ok.headers.get("To").unwrap_or_default().to_string();
    let route = ok.headers.get("Record-Route").unwrap_or_default().to_string();
    let ack = Request::new(Method::Ack, format!("sip:callee@{}", callee_addr(0)))
        .with_header("Via", format!("SIP/2.0/UDP {CALLER};branch=z9hG4bKack{n};rport"))
        .with_header("Max-Forwards", "70")
        .with_header("Route", route)
        .with_header("From", format!("<sip:door@home>;tag=door{n}"))
        .with_header("To", to)
        .with_header("Call-ID", format!("{n}-bell@door.home"))
        .with_header("CSeq", "1 ACK");
    let out = feed(core, now, CALLER, &Message::Request(ack));
    assert_eq!(requests_to(&out, callee_addr(0), Method::Ack).len(), 1, "the ACK goes on to the answerer");
    ok
}

fn main() {
    let calls: usize = std::env::var("CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let t0 = Instant::now();
    let mut core = proxy_with(t0, Duration::from_secs(30), Registrar::new(LIMITS));
    for i in 0..3 {
        let contact = format!("<sip:callee@{}>", callee_addr(i));
        let out = exchange(&mut core, t0, callee_addr(i), &register(&format!("a{i}"), callee_addr(i), &contact, 1));
        assert_eq!(final_status(&out), Some(200));
    }
    // One call first, so that the tables' first growth is not counted per call.
    call(&mut core, t0, usize::MAX);
    let before = live();
    for n in 0..calls {
        let ok = call(&mut core, t0, n);
        drop(ok);
    }
    let during = live();
    let late = t0 + Duration::from_secs(40);
    while let Some(at) = core.next_timeout().filter(|at| *at <= late) {
        core.handle_timeout(at);
        drain(&mut core);
    }
    core.handle_timeout(late);
    drain(&mut core);
    let after = live();
    let per_call = (during - before) as f64 / calls as f64;
    println!("proxy core heap, {calls} answered calls forked to 3 phones (one answers, two cancelled):");
    println!(
        "  retained while RFC 6026 timers run: {:.0} bytes/call ({:.1} MB)",
        per_call,
        (during - before) as f64 / 1e6
    );
    println!("  left after 40 s (timers L, M, K ended): {} bytes in all", after - before);
    println!("  forks still open: {}, transactions: {}", core.active_forks(), core.active_transactions());
}
