//! End-to-end latency of the bell call, measured against the built daemon.
//!
//! The bench plays the house proxy and one ringing phone on loopback with a
//! plain UDP socket. For each round it presses the button through the control
//! socket, takes the INVITE, answers `183 Session Progress` with an SDP that
//! receives video, and waits for the first RTP packet of an IDR access unit
//! (SPS, PPS or an IDR slice, alone or as the start of an FU-A). Then it
//! declines the call (603) and starts over. It prints:
//!
//! - press → INVITE on the wire (control socket, engine, UDP);
//! - 183 received → first IDR packet sent (measured at the receiving socket);
//! - the daemon's resident set size, idle and during early media.
//!
//! Run with `cargo bench -p door-station --bench call_latency`.

use std::io::{BufRead, BufReader, Write};
use std::net::UdpSocket;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ds_sip::message::intake::{parse_datagram, Intake};
use ds_sip::{Message, Request, Response};

const ROUNDS: usize = 20;

struct Daemon {
    child: Child,
    control: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (e.g. `cargo test --benches`) runs one round.
    let rounds = if std::env::args().any(|a| a == "--bench") { ROUNDS } else { 1 };
    let dir = std::env::temp_dir().join(format!("ds-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let proxy = UdpSocket::bind("127.0.0.1:0").expect("proxy socket");
    proxy.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let video = UdpSocket::bind("127.0.0.1:0").expect("video socket");
    video.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let daemon = start_daemon(&dir, proxy.local_addr().unwrap().port());
    let idle_rss = rss_kib(daemon.child.id());

    let (mut invite_lat, mut idr_lat, mut early_rss) = (Vec::new(), Vec::new(), 0);
    for round in 0..rounds {
        let pressed = Instant::now();
        control(&daemon.control, "press");
        let (invite, from) = recv_request(&proxy, "INVITE");
        invite_lat.push(pressed.elapsed());
        let tag = format!("bench{round}");
        let sdp = answer_sdp(video.local_addr().unwrap().port());
        let p183 = Response::for_request(&invite, 183, "Session Progress");
        let p183 = with_to_tag(p183, &tag).with_body("application/sdp", sdp);
        let sent = Instant::now();
        proxy.send_to(&p183.to_bytes(), from).unwrap();
        wait_for_idr(&video);
        idr_lat.push(sent.elapsed());
        early_rss = early_rss.max(rss_kib(daemon.child.id()));
        let decline = with_to_tag(Response::for_request(&invite, 603, "Decline"), &tag);
        proxy.send_to(&decline.to_bytes(), from).unwrap();
        let _ack = recv_request(&proxy, "ACK");
        drain(&video);
        std::thread::sleep(Duration::from_millis(200));
    }
    report("press -> INVITE on the wire", &mut invite_lat);
    report("183 received -> first IDR packet", &mut idr_lat);
    println!("RSS idle {idle_rss} KiB, during early media {early_rss} KiB");
    let _ = std::fs::remove_dir_all(&dir);
}

fn start_daemon(dir: &Path, proxy_port: u16) -> Daemon {
    let sip_port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let control = dir.join("control.sock");
    let config = format!(
        "[sip]\nuser = \"door\"\ndomain = \"home\"\nregistrar = \"\"\n\
         outbound_proxy = \"127.0.0.1:{proxy_port}\"\nlisten = \"127.0.0.1:{sip_port}\"\n\
         [[button]]\ntarget = \"sip:everyone@home\"\n\
         [relay]\nbackend = \"sim\"\n[buttons]\nbackend = \"sim\"\n\
         [control]\nsocket = \"{}\"\n",
        control.display()
    );
    let path = dir.join("station.toml");
    std::fs::write(&path, config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_door-station"))
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start door-station");
    let deadline = Instant::now() + Duration::from_secs(10);
    while UnixStream::connect(&control).is_err() {
        assert!(Instant::now() < deadline, "door-station did not open {}", control.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    Daemon { child, control }
}

fn control(path: &Path, command: &str) {
    let mut stream = UnixStream::connect(path).expect("control socket");
    writeln!(stream, "{command}").unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    assert!(line.starts_with("ok"), "{command}: {line}");
}

fn recv_request(sock: &UdpSocket, method: &str) -> (Request, std::net::SocketAddr) {
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, from) = sock.recv_from(&mut buf).expect("no SIP request from the station");
        if let Intake::Message(Message::Request(req)) = parse_datagram(&buf[..n]) {
            if req.method.as_str() == method {
                return (req, from);
            }
        }
    }
}

fn with_to_tag(mut resp: Response, tag: &str) -> Response {
    let to = resp.headers.get("To").unwrap_or_default().to_string();
    resp.headers.set("To", format!("{to};tag={tag}"));
    resp.headers.push("Contact", "<sip:phone@127.0.0.1>");
    resp
}

fn answer_sdp(video_port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\n\
         m=video {video_port} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
         a=fmtp:96 profile-level-id=42e01f;packetization-mode=1\r\na=recvonly\r\n"
    )
}

/// True for a packet that starts an IDR access unit: SPS (7), PPS (8), an IDR
/// slice (5), or an FU-A (28) / STAP-A (24) carrying one of them first.
fn starts_idr(rtp: &[u8]) -> bool {
    if rtp.len() < 14 {
        return false;
    }
    let csrc = usize::from(rtp[0] & 0x0f) * 4;
    let Some(payload) = rtp.get(12 + csrc..) else { return false };
    let nal = |b: u8| b & 0x1f;
    match payload.first().map(|b| nal(*b)) {
        Some(5 | 7 | 8) => true,
        Some(28) => payload.get(1).is_some_and(|h| h & 0x80 != 0 && matches!(nal(*h), 5 | 7 | 8)),
        Some(24) => payload.get(3).is_some_and(|h| matches!(nal(*h), 5 | 7 | 8)),
        _ => false,
    }
}

fn wait_for_idr(sock: &UdpSocket) {
    let mut buf = vec![0u8; 2048];
    loop {
        let (n, _) = sock.recv_from(&mut buf).expect("no video RTP after the 183");
        if starts_idr(&buf[..n]) {
            return;
        }
    }
}

fn drain(sock: &UdpSocket) {
    sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut buf = vec![0u8; 2048];
    while sock.recv_from(&mut buf).is_ok() {}
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: n={} min {:.2?} median {:.2?} p95 {:.2?} max {:.2?}",
        samples.len(),
        samples[0],
        pick(0.5),
        pick(0.95),
        samples[samples.len() - 1]
    );
}
