//! How long the engine takes on the two latency paths of the bell call
//! (`cargo bench -p door-station --bench engine`): button press → INVITE
//! bytes ready, and 183 with SDP → `StartEarly` for the media threads. The
//! socket write and the encoder come on top; this is the core's share.

use std::hint::black_box;
use std::time::{Duration, Instant};

use door_station::engine::{Engine, EngineConfig, Input, MediaCommand, Output};
use ds_sip::message::intake::{Intake, parse_datagram};
use ds_sip::transaction::Peer;
use ds_sip::{Message, Request, Response};

const RUNS: usize = 2000;
const SDP: &str = "v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
    m=audio 16000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n\
    m=video 16002 RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\n\
    a=fmtp:102 profile-level-id=42e01f;packetization-mode=1\r\na=recvonly\r\n";

fn engine(t0: Instant, seed: u64) -> Engine {
    let cfg = EngineConfig { outbound_proxy: Some("127.0.0.1:5070".parse().unwrap()), ..EngineConfig::default() };
    Engine::new(cfg, t0, seed)
}

/// Press, and drain until the INVITE's bytes come out.
fn press(e: &mut Engine, now: Instant) -> Vec<u8> {
    e.handle_input(now, Input::ButtonPressed(0));
    loop {
        if let Some(Output::Transmit { bytes, .. }) = e.poll_output() {
            return bytes;
        }
    }
}

fn early_answer(invite: &[u8]) -> Message {
    let Intake::Message(Message::Request(invite)) = parse_datagram(invite) else { panic!("INVITE") };
    let invite: Request = invite;
    let mut resp = Response::for_request(&invite, 183, "Session Progress");
    let mut to = invite.headers.to().unwrap();
    to.set_param("tag", Some("a".into()));
    resp.headers.set("To", to.to_string());
    resp.headers.push("Contact", "<sip:a@127.0.0.1:16000>");
    Message::Response(resp.with_body("application/sdp", SDP))
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!("{name}: median {:?}, p99 {:?}, max {:?} ({} runs)", at(0.5), at(0.99), at(1.0), samples.len());
}

fn main() {
    let t0 = Instant::now();
    let proxy = Peer::udp("127.0.0.1:5070".parse().unwrap());
    let (mut to_invite, mut to_early) = (Vec::new(), Vec::new());
    for seed in 0..RUNS as u64 {
        let mut e = engine(t0, seed);
        let start = Instant::now();
        let invite = black_box(press(&mut e, t0));
        to_invite.push(start.elapsed());

        let progress = early_answer(&invite);
        let start = Instant::now();
        e.handle_input(t0, Input::Sip { from: proxy, msg: progress });
        while let Some(out) = e.poll_output() {
            if matches!(out, Output::Media(MediaCommand::StartEarly { .. })) {
                to_early.push(start.elapsed());
                break;
            }
        }
    }
    report("button press -> INVITE bytes", to_invite);
    report("183 with SDP -> StartEarly", to_early);
}
