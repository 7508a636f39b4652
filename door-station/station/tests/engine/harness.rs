//! A fake clock and a fake network around one engine: every output is
//! collected, every SIP message parsed back with the intake, and time only
//! moves when a test says so (stepping each deadline on the way).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use door_station::engine::{Engine, EngineConfig, Event, Input, MediaCommand, Output, RelayCommand};
use door_station::unlock::{AllowList, UnlockConfig};
use ds_sip::message::intake::{Intake, parse_datagram};
use ds_sip::transaction::Peer;
use ds_sip::{Message, Method, Request, Response};

/// The proxy / registrar address in every test.
pub const PROXY: &str = "127.0.0.1:5070";

pub fn proxy() -> Peer {
    Peer::udp(PROXY.parse().unwrap())
}

/// A callee's (or caller's) SDP: PCMU + telephone-event, H.264 receive-only.
pub fn phone_sdp(audio_port: u16) -> String {
    format!(
        "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {audio_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\na=sendrecv\r\n\
         m=video {} RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\n\
         a=fmtp:102 profile-level-id=42e01f;packetization-mode=1\r\na=recvonly\r\n",
        audio_port + 200
    )
}

/// The defaults, with a proxy, `sip:alice@home` allowed to call and to
/// open, and `sip:bob@home` allowed to call only.
pub fn config() -> EngineConfig {
    let mut cfg = EngineConfig {
        local_addr: "127.0.0.1:15080".parse().unwrap(),
        outbound_proxy: Some(PROXY.parse().unwrap()),
        ..EngineConfig::default()
    };
    cfg.account.password = "secret".into();
    cfg.calls.allow_callers = AllowList::parse(&["sip:alice@home", "sip:bob@home"]).unwrap();
    cfg.unlock = UnlockConfig::new("#", &["sip:alice@home"]).unwrap();
    cfg
}

pub struct Harness {
    pub engine: Engine,
    pub t0: Instant,
    pub now: Instant,
    pub wire: Vec<(Peer, Message)>,
    pub media: Vec<MediaCommand>,
    pub relay: Vec<RelayCommand>,
    pub events: Vec<Event>,
}

impl Harness {
    pub fn new(cfg: EngineConfig) -> Harness {
        let t0 = Instant::now();
        let engine = Engine::new(cfg, t0, 7);
        let mut h =
            Harness { engine, t0, now: t0, wire: Vec::new(), media: Vec::new(), relay: Vec::new(), events: Vec::new() };
        h.drain();
        h
    }

    /// Collects every output of the engine.
    pub fn drain(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Transmit { dest, bytes } => match parse_datagram(&bytes) {
                    Intake::Message(msg) => self.wire.push((dest, msg)),
                    _ => panic!("the engine sent an unparsable message:\n{}", String::from_utf8_lossy(&bytes)),
                },
                Output::Media(cmd) => self.media.push(cmd),
                Output::Relay(cmd) => self.relay.push(cmd),
                Output::Event(ev) => self.events.push(ev),
            }
        }
    }

    pub fn input(&mut self, input: Input) {
        self.engine.handle_input(self.now, input);
        self.drain();
    }

    /// A message from the proxy.
    pub fn sip(&mut self, msg: Message) {
        self.input(Input::Sip { from: proxy(), msg });
    }

    /// A response from the proxy.
    pub fn reply(&mut self, resp: Response) {
        self.sip(Message::Response(resp));
    }

    /// Moves the clock forward by `d`, firing every deadline on the way.
    pub fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        while let Some(t) = self.engine.next_timeout().filter(|t| *t <= until) {
            self.now = self.now.max(t);
            self.engine.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    /// Seconds since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Every request of this method sent since the last take, in order.
    pub fn take_requests(&mut self, method: Method) -> Vec<(Peer, Request)> {
        let (taken, kept) = std::mem::take(&mut self.wire).into_iter().partition(|(_, m)| match m {
            Message::Request(r) => r.method == method,
            Message::Response(_) => false,
        });
        self.wire = kept;
        taken
            .into_iter()
            .filter_map(|(p, m)| match m {
                Message::Request(r) => Some((p, r)),
                Message::Response(_) => None,
            })
            .collect()
    }

    /// The one request of this method sent since the last take (retransmissions collapsed).
    pub fn request(&mut self, method: Method) -> Request {
        let mut all = self.take_requests(method.clone());
        assert!(!all.is_empty(), "no {method} sent; wire: {:?}", self.wire);
        all.pop().unwrap().1
    }

    /// Every response sent since the last take.
    pub fn take_responses(&mut self) -> Vec<Response> {
        let (taken, kept) =
            std::mem::take(&mut self.wire).into_iter().partition(|(_, m)| matches!(m, Message::Response(_)));
        self.wire = kept;
        taken
            .into_iter()
            .filter_map(|(_, m)| match m {
                Message::Response(r) => Some(r),
                Message::Request(_) => None,
            })
            .collect()
    }

    /// The last response sent.
    pub fn response(&mut self) -> Response {
        self.take_responses().pop().expect("no response sent")
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn take_media(&mut self) -> Vec<MediaCommand> {
        std::mem::take(&mut self.media)
    }
}

/// A response from a phone: To tag, Contact at `contact`, optional SDP.
pub fn answer(req: &Request, status: u16, tag: &str, contact: SocketAddr, sdp: Option<&str>) -> Response {
    let mut resp = Response::for_request(req, status, "Phone");
    let mut to = req.headers.to().unwrap();
    if to.tag().is_none() {
        to.set_param("tag", Some(tag.to_string()));
    }
    resp.headers.set("To", to.to_string());
    resp.headers.push("Contact", format!("<sip:phone-{tag}@{contact}>"));
    match sdp {
        Some(sdp) => resp.with_body("application/sdp", sdp),
        None => resp,
    }
}

/// A bare response (no tag added, no Contact).
pub fn plain(req: &Request, status: u16) -> Response {
    Response::for_request(req, status, "Reason")
}
