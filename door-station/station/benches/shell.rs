//! The whole station on loopback, for the figures the issue asks for:
//! - control `press` → INVITE on the wire (the simulated button's path:
//!   control socket, SimButton, engine, UDP);
//! - 183 received → first video RTP packet (SPS, then PPS and IDR) sent;
//! - 183 received → first picture decoded at the receiver (the bench's
//!   UAS depacketizes and decodes with OpenH264, as a phone would);
//! - the process's resident set size after the calls.
//!
//! `cargo bench -p door-station --bench shell` (release profile). A scripted
//! UAS answers each INVITE with 183 + SDP, measures, then the station is told
//! to hang up (CANCEL, 487, ACK) before the next round.

use door_station::config;
use door_station::shell::run_station;
use ds_sip::message::intake::{Intake, parse_datagram};
use ds_sip::{Message, Method, Request, Response};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UdpSocket, UnixStream};
use tokio::sync::watch;

/// Calls per run (`DS_BENCH_ROUNDS` to change).
fn rounds() -> usize {
    std::env::var("DS_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(30)
}

fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(bench());
}

async fn bench() {
    let dir = std::env::temp_dir().join(format!("ds-bench-{}", std::process::id()));
    let sip = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let video = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let text = format!(
        "[sip]\nuser = \"door\"\ndomain = \"home\"\nlisten = \"127.0.0.1:5060\"\noutbound_proxy = \"{}\"\n\
         [[button]]\ntarget = \"sip:everyone@home\"\n[media]\nrtp_port_min = 44000\nrtp_port_max = 44999\n\
         [control]\nsocket = \"{}\"\n",
        sip.local_addr().unwrap(),
        dir.join("control.sock").display()
    );
    let mut config = config::parse(&text, "station.toml").expect("bench config");
    config.sip.listen.set_port(0);
    let socket = config.control.socket.clone();
    let (stop_tx, stop) = watch::channel(0);
    let station = tokio::spawn(run_station(config, stop));

    let (mut to_invite, mut to_video, mut to_picture) = (Vec::new(), Vec::new(), Vec::new());
    let rounds = rounds();
    for _ in 0..rounds {
        let pressed = Instant::now();
        command(&socket, "press").await;
        let (invite, from) = recv_request(&sip, Method::Invite).await;
        to_invite.push(pressed.elapsed());
        let sent = Instant::now();
        sip.send_to(&answer(&invite, 183, &video).to_bytes(), from).await.unwrap();
        let mut buf = [0u8; 2048];
        let n = video.recv(&mut buf).await.unwrap();
        to_video.push(sent.elapsed());
        first_picture(&video, &buf[..n]).await;
        to_picture.push(sent.elapsed());
        hang_up(&socket, &sip, &invite, &video).await;
        if [1, 10, 30, 60, 90].contains(&to_video.len()) {
            println!("resident set size after {} calls: {}", to_video.len(), rss());
        }
    }
    report("control press -> INVITE on the wire", &mut to_invite);
    report("183 received -> first video RTP packet", &mut to_video);
    report("183 received -> first picture decoded", &mut to_picture);
    stop_tx.send_modify(|n| *n += 1);
    let _ = station.await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Receives from `first` on until OpenH264 gives a picture.
async fn first_picture(video: &UdpSocket, first: &[u8]) {
    let mut depack = ds_media::packetize::H264Depacketizer::new();
    let mut decoder = openh264::decoder::Decoder::new().expect("OpenH264 decoder");
    let mut datagram = first.to_vec();
    let mut buf = [0u8; 2048];
    loop {
        if let Ok(packet) = ds_media::rtp_session::parse(&datagram) {
            let _ = depack.push(&packet);
        }
        while let Some(unit) = depack.pop_unit() {
            if matches!(decoder.decode(&unit.to_annex_b()), Ok(Some(_))) {
                return;
            }
        }
        let n = video.recv(&mut buf).await.unwrap();
        datagram = buf[..n].to_vec();
    }
}

async fn hang_up(socket: &Path, sip: &UdpSocket, invite: &Request, video: &UdpSocket) {
    command(socket, "hangup").await;
    let (cancel, from) = recv_request(sip, Method::Cancel).await;
    sip.send_to(&Response::for_request(&cancel, 200, "OK").to_bytes(), from).await.unwrap();
    let mut terminated = Response::for_request(invite, 487, "Request Terminated");
    terminated.headers.set("To", format!("{};tag=b1", invite.headers.get("To").unwrap_or("")));
    sip.send_to(&terminated.to_bytes(), from).await.unwrap();
    recv_request(sip, Method::Ack).await;
    // Drain the video that was in flight.
    let mut buf = [0u8; 2048];
    while tokio::time::timeout(Duration::from_millis(100), video.recv(&mut buf)).await.is_ok() {}
}

fn answer(invite: &Request, status: u16, video: &UdpSocket) -> Response {
    let port = video.local_addr().unwrap().port();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio 0 RTP/AVP 0\r\nm=video {port} RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\n\
         a=fmtp:102 profile-level-id=42e01f;packetization-mode=1\r\na=recvonly\r\n"
    );
    let mut resp = Response::for_request(invite, status, "Session Progress");
    resp.headers.set("To", format!("{};tag=b1", invite.headers.get("To").unwrap_or("")));
    resp.with_header("Contact", "<sip:bench@127.0.0.1>").with_body("application/sdp", sdp)
}

async fn recv_request(sip: &UdpSocket, method: Method) -> (Request, SocketAddr) {
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, from) = sip.recv_from(&mut buf).await.unwrap();
        if let Intake::Message(Message::Request(r)) = parse_datagram(&buf[..n])
            && r.method == method
        {
            return (r, from);
        }
    }
}

async fn command(socket: &Path, line: &str) {
    let stream = loop {
        match UnixStream::connect(socket).await {
            Ok(s) => break s,
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    let (r, mut w) = stream.into_split();
    w.write_all(format!("{line}\n").as_bytes()).await.unwrap();
    let answer = BufReader::new(r).lines().next_line().await.unwrap().unwrap_or_default();
    assert_eq!(answer, "ok", "{line}");
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!("{what}: median {:?}, p90 {:?}, max {:?} ({} rounds)", at(0.5), at(0.9), at(1.0), samples.len());
}

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with("VmRSS:")).map_or("unknown".into(), |l| l[6..].trim().to_string())
}
