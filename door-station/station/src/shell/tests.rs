//! The whole shell on loopback: a scripted UAS over real UDP answers the
//! bell call; the test drives the station through its control socket and
//! checks what comes out of its sockets. Timeouts here only guard against a
//! hang; nothing asserts on how long something took.

use super::*;
use crate::config;
use ds_media::dtmf::{Digit, DtmfEncoder};
use ds_media::h264::{AccessUnit, NalKind};
use ds_media::rtp_session::{RtpSender, SenderConfig};
use ds_sip::message::intake::{Intake, parse_datagram};
use ds_sip::{Message, Method, Request, Response};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::{UdpSocket, UnixStream};

const HANG: Duration = Duration::from_secs(20);

async fn guard<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG, f).await.unwrap_or_else(|_| panic!("hung waiting for {what}"))
}

fn station_config(dir: &Path, uas: SocketAddr) -> StationConfig {
    station_config_on(dir, uas, 0)
}

fn station_config_on(dir: &Path, uas: SocketAddr, port: u16) -> StationConfig {
    let text = format!(
        "[sip]\nuser = \"door\"\ndomain = \"home\"\nlisten = \"127.0.0.1:5060\"\noutbound_proxy = \"{uas}\"\n\
         [[button]]\ntarget = \"sip:everyone@home\"\n\
         [calls]\nallow_callers = [\"sip:alice@home\"]\n\
         [media]\nrtp_port_min = 43000\nrtp_port_max = 43999\n\
         [unlock]\ncode = \"#\"\nallow = [\"*@home\"]\n\
         [relay]\npulse_ms = 500\n\
         [control]\nsocket = \"{}\"\n",
        dir.join("control.sock").display()
    );
    let mut c = config::parse(&text, "station.toml").expect("test config is valid");
    c.sip.listen.set_port(port);
    c
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The UAS: a SIP socket and the two media sockets its SDP names.
struct Uas {
    sip: UdpSocket,
    audio: UdpSocket,
    video: UdpSocket,
}

impl Uas {
    async fn bind() -> Uas {
        let bind = || UdpSocket::bind("127.0.0.1:0");
        Uas { sip: bind().await.unwrap(), audio: bind().await.unwrap(), video: bind().await.unwrap() }
    }

    async fn recv_request(&self, method: Method) -> (Request, SocketAddr) {
        let mut buf = vec![0u8; 65535];
        guard("a request", async {
            loop {
                let (n, from) = self.sip.recv_from(&mut buf).await.unwrap();
                if let Intake::Message(Message::Request(r)) = parse_datagram(&buf[..n])
                    && r.method == method
                {
                    return (r, from);
                }
            }
        })
        .await
    }

    fn sdp(&self) -> String {
        let (a, v) = (self.audio.local_addr().unwrap().port(), self.video.local_addr().unwrap().port());
        format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {a} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
             a=fmtp:101 0-16\r\na=sendrecv\r\n\
             m=video {v} RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\n\
             a=fmtp:102 profile-level-id=42e01f;packetization-mode=1\r\na=recvonly\r\n"
        )
    }

    async fn answer(&self, invite: &Request, to: SocketAddr, status: u16, reason: &str) {
        self.answer_with(invite, to, (status, reason), self.sdp()).await;
    }

    async fn answer_with(&self, invite: &Request, to: SocketAddr, (status, reason): (u16, &str), sdp: String) {
        let mut resp = Response::for_request(invite, status, reason);
        let to_value = format!("{};tag=uas1", invite.headers.get("To").unwrap());
        resp.headers.set("To", to_value);
        let contact = format!("<sip:alice@{}>", self.sip.local_addr().unwrap());
        let resp = resp.with_header("Contact", contact).with_body("application/sdp", sdp);
        self.sip.send_to(&resp.to_bytes(), to).await.unwrap();
    }

    async fn first_video_nal_type(&self) -> u8 {
        let mut buf = vec![0u8; 2048];
        let n = guard("video RTP", self.video.recv(&mut buf)).await.unwrap();
        assert!(n > 12, "an RTP packet with a payload");
        buf[12] & 0x1f
    }
}

/// An INVITE from `user`@home to the station, offering what the UAS's SDP says.
fn invite_from(uas: &Uas, user: &str, station: SocketAddr) -> Vec<u8> {
    let me = uas.sip.local_addr().unwrap();
    let req = Request::new(Method::Invite, format!("sip:door@{station}"))
        .with_header("Via", format!("SIP/2.0/UDP {me};branch=z9hG4bK{user}1;rport"))
        .with_header("Max-Forwards", "70")
        .with_header("From", format!("<sip:{user}@home>;tag={user}-tag"))
        .with_header("To", "<sip:door@home>")
        .with_header("Call-ID", format!("{user}-call@test"))
        .with_header("CSeq", "1 INVITE")
        .with_header("Contact", format!("<sip:{user}@{me}>"))
        .with_body("application/sdp", uas.sdp());
    req.to_bytes()
}

impl Uas {
    async fn recv_response(&self) -> Response {
        let mut buf = vec![0u8; 65535];
        guard("a final response", async {
            loop {
                let n = self.sip.recv(&mut buf).await.unwrap();
                if let Intake::Message(Message::Response(r)) = parse_datagram(&buf[..n])
                    && r.status >= 200
                {
                    return r;
                }
            }
        })
        .await
    }

    async fn ack(&self, invite: &[u8], resp: &Response, station: SocketAddr) {
        let Intake::Message(Message::Request(invite)) = parse_datagram(invite) else { panic!("our INVITE parses") };
        let mut ack = Request::new(Method::Ack, invite.uri.clone());
        for name in ["Via", "Max-Forwards", "From", "Call-ID"] {
            ack.headers.push(name, invite.headers.get(name).unwrap());
        }
        ack.headers.push("To", resp.headers.get("To").unwrap());
        ack.headers.push("CSeq", "1 ACK");
        self.sip.send_to(&ack.to_bytes(), station).await.unwrap();
    }
}

/// The station's audio RTP port, from the INVITE's offer.
fn offered_audio_port(invite: &Request) -> u16 {
    let sdp = String::from_utf8_lossy(&invite.body);
    let line = sdp.lines().find(|l| l.starts_with("m=audio ")).expect("the offer has audio");
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

async fn send_dtmf(uas: &Uas, station: SocketAddr, key: char) {
    let config = SenderConfig { ssrc: 9, payload_type: 0, initial_seq: 100, initial_timestamp: 0 };
    let mut tx = RtpSender::new(config).unwrap();
    for p in DtmfEncoder::new(8000).key_press(Digit::from_char(key).unwrap(), Duration::from_millis(100)) {
        let packet = tx.packet_with_type(101, 8000, p.marker, p.payload);
        let bytes = ds_media::rtp_session::marshal(&packet).unwrap();
        uas.audio.send_to(&bytes, station).await.unwrap();
    }
}

type EventLines = Lines<BufReader<tokio::net::unix::OwnedReadHalf>>;

async fn connect(path: &Path) -> (EventLines, tokio::net::unix::OwnedWriteHalf) {
    let stream = guard("the control socket", async {
        loop {
            match UnixStream::connect(path).await {
                Ok(s) => return s,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await;
    let (r, w) = stream.into_split();
    (BufReader::new(r).lines(), w)
}

/// One command, one answer.
async fn control(path: &Path, command: &str) -> String {
    let (mut lines, mut w) = connect(path).await;
    w.write_all(format!("{command}\n").as_bytes()).await.unwrap();
    guard("an answer", lines.next_line()).await.unwrap().unwrap()
}

/// An `events` client.
struct Events {
    lines: EventLines,
    _open: tokio::net::unix::OwnedWriteHalf,
}

impl Events {
    async fn subscribe(path: &Path) -> Events {
        let (mut lines, mut w) = connect(path).await;
        w.write_all(b"events\n").await.unwrap();
        assert_eq!(guard("ok", lines.next_line()).await.unwrap().unwrap(), "ok");
        Events { lines, _open: w }
    }

    /// The next event called `name` (others are skipped).
    async fn next(&mut self, name: &str) -> Value {
        guard(name, async {
            loop {
                let line = self.lines.next_line().await.unwrap().expect("the stream stays open");
                let v: Value = serde_json::from_str(&line).unwrap();
                if v["event"] == name {
                    return v;
                }
            }
        })
        .await
    }
}

#[tokio::test]
async fn bell_call_with_early_media_then_dtmf_opens_and_stop_hangs_up() {
    let dir = TempDir(std::env::temp_dir().join(format!("ds-shell-{}", std::process::id())));
    let uas = Uas::bind().await;
    let config = station_config(&dir.0, uas.sip.local_addr().unwrap());
    let socket = config.control.socket.clone();
    let (stop_tx, stop) = watch::channel(0);
    let station = tokio::spawn(run_station(config, stop));

    let mut events = Events::subscribe(&socket).await;
    assert_eq!(control(&socket, "press").await, "ok");
    let (invite, station_sip) = uas.recv_request(Method::Invite).await;
    assert_eq!(invite.uri, "sip:everyone@home");
    assert_eq!(events.next("ringing").await["target"], "sip:everyone@home");

    uas.answer(&invite, station_sip, 183, "Session Progress").await;
    assert_eq!(uas.first_video_nal_type().await, 7, "the early dialog's video starts with SPS");
    assert_eq!(events.next("early_media").await["dialog"], "uas1");

    uas.answer(&invite, station_sip, 200, "OK").await;
    uas.recv_request(Method::Ack).await;
    assert_eq!(events.next("answered").await["call_id"], invite.headers.call_id().unwrap());

    send_dtmf(&uas, SocketAddr::new(station_sip.ip(), offered_audio_port(&invite)), '#').await;
    assert_eq!(events.next("dtmf").await["via"], "rfc4733");
    assert_eq!(events.next("relay").await["state"], "on");
    assert_eq!(events.next("unlock").await["result"], "opened");
    let status: Value = serde_json::from_str(control(&socket, "status").await.strip_prefix("ok ").unwrap()).unwrap();
    assert_eq!(status["call"]["state"], "answered");

    stop_tx.send_modify(|n| *n += 1);
    let (bye, from) = uas.recv_request(Method::Bye).await;
    let ok = Response::for_request(&bye, 200, "OK");
    uas.sip.send_to(&ok.to_bytes(), from).await.unwrap();
    guard("the station to stop", station).await.unwrap().expect("clean stop");
    assert!(!socket.exists(), "the control socket is removed at exit");
}

#[tokio::test]
async fn look_at_the_door_auto_answers_allowed_callers_with_video_and_refuses_others() {
    let dir = TempDir(std::env::temp_dir().join(format!("ds-shell-in-{}", std::process::id())));
    let uas = Uas::bind().await;
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = station_config_on(&dir.0, uas.sip.local_addr().unwrap(), port);
    let station_sip: SocketAddr = ([127, 0, 0, 1], port).into();
    let socket = config.control.socket.clone();
    let (stop_tx, stop) = watch::channel(0);
    let station = tokio::spawn(run_station(config, stop));
    let mut events = Events::subscribe(&socket).await;

    let eve = invite_from(&uas, "eve", station_sip);
    uas.sip.send_to(&eve, station_sip).await.unwrap();
    let refused = uas.recv_response().await;
    assert_eq!(refused.status, 403);
    uas.ack(&eve, &refused, station_sip).await;
    let incoming = events.next("incoming").await;
    assert_eq!((incoming["from"].as_str(), incoming["accepted"].as_bool()), (Some("sip:eve@home"), Some(false)));

    let alice = invite_from(&uas, "alice", station_sip);
    uas.sip.send_to(&alice, station_sip).await.unwrap();
    let answered = uas.recv_response().await;
    assert_eq!(answered.status, 200);
    assert!(String::from_utf8_lossy(&answered.body).contains("m=video"), "the answer has video");
    uas.ack(&alice, &answered, station_sip).await;
    assert_eq!(events.next("incoming").await["accepted"], true);
    assert_eq!(uas.first_video_nal_type().await, 7, "the caller's video starts with SPS");

    stop_tx.send_modify(|n| *n += 1);
    let (bye, from) = uas.recv_request(Method::Bye).await;
    uas.sip.send_to(&Response::for_request(&bye, 200, "OK").to_bytes(), from).await.unwrap();
    guard("the station to stop", station).await.unwrap().expect("clean stop");
}

/// The next message on a SIP/TCP stream.
async fn read_tcp_message(
    stream: &mut tokio::net::TcpStream,
    framer: &mut ds_sip::message::intake::StreamFramer,
) -> Message {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 4096];
    guard("a message over TCP", async {
        loop {
            if let Some(next) = framer.next() {
                match next.expect("the station frames its stream") {
                    Intake::Message(m) => return m,
                    other => panic!("unexpected {other:?}"),
                }
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the station closed the connection");
            framer.push(&buf[..n]);
        }
    })
    .await
}

#[tokio::test]
async fn over_tcp_the_call_and_its_ack_share_one_connection() {
    let dir = TempDir(std::env::temp_dir().join(format!("ds-shell-tcp-{}", std::process::id())));
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = station_config(&dir.0, proxy.local_addr().unwrap());
    config.sip.transport = config::SipTransport::Tcp;
    let socket = config.control.socket.clone();
    let (stop_tx, stop) = watch::channel(0);
    let station = tokio::spawn(run_station(config, stop));
    let mut events = Events::subscribe(&socket).await;

    assert_eq!(control(&socket, "press").await, "ok");
    let (mut conn, _) = guard("the station's connection", proxy.accept()).await.unwrap();
    let mut framer = ds_sip::message::intake::StreamFramer::new(65_535);
    let Message::Request(invite) = read_tcp_message(&mut conn, &mut framer).await else { panic!("a request") };
    assert_eq!(invite.method, Method::Invite);
    assert_eq!(invite.headers.top_via().unwrap().transport, "TCP", "Via names TCP");
    let mut busy = Response::for_request(&invite, 486, "Busy Here");
    busy.headers.set("To", format!("{};tag=busy1", invite.headers.get("To").unwrap()));
    conn.write_all(&busy.to_bytes()).await.unwrap();
    let Message::Request(ack) = read_tcp_message(&mut conn, &mut framer).await else { panic!("a request") };
    assert_eq!(ack.method, Method::Ack, "the ACK comes back on the same connection");
    assert_eq!(events.next("ended").await["reason"], "rejected");

    stop_tx.send_modify(|n| *n += 1);
    guard("the station to stop", station).await.unwrap().expect("clean stop");
}

#[tokio::test]
async fn the_peer_s_rtcp_port_gets_sender_reports_with_sdes_about_our_video() {
    use ::rtcp::sender_report::SenderReport;
    use ::rtcp::source_description::{SdesType, SourceDescription};
    let dir = TempDir(std::env::temp_dir().join(format!("ds-shell-rtcp-{}", std::process::id())));
    let uas = Uas::bind().await;
    let video_rtcp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let config = station_config(&dir.0, uas.sip.local_addr().unwrap());
    let socket = config.control.socket.clone();
    let (stop_tx, stop) = watch::channel(0);
    let station = tokio::spawn(run_station(config, stop));

    assert_eq!(control(&socket, "press").await, "ok");
    let (invite, station_sip) = uas.recv_request(Method::Invite).await;
    let sdp = format!("{}a=rtcp:{}\r\n", uas.sdp(), video_rtcp.local_addr().unwrap().port());
    uas.answer_with(&invite, station_sip, (200, "OK"), sdp).await;
    uas.recv_request(Method::Ack).await;
    let mut buf = vec![0u8; 2048];
    let n = guard("video RTP", uas.video.recv(&mut buf)).await.unwrap();
    let video_ssrc = ds_media::rtp_session::parse(&buf[..n]).unwrap().header.ssrc;

    let (sr, sdes) = guard("an SR with packets", async {
        loop {
            let n = video_rtcp.recv(&mut buf).await.unwrap();
            let mut bytes = &buf[..n];
            let packets = ::rtcp::packet::unmarshal(&mut bytes).expect("well-formed compound RTCP");
            let sr = packets[0].as_any().downcast_ref::<SenderReport>().expect("an SR first").clone();
            let sdes =
                packets.get(1).and_then(|p| p.as_any().downcast_ref::<SourceDescription>()).expect("then SDES").clone();
            if sr.packet_count > 0 {
                return (sr, sdes);
            }
        }
    })
    .await;
    assert_eq!(sr.ssrc, video_ssrc, "the report is about the stream we send");
    assert!(sr.octet_count > sr.packet_count && sr.octet_count < sr.packet_count * 1500, "{sr:?}");
    assert!(sr.ntp_time >> 32 > 3_900_000_000, "the NTP time is after 2023: {:x}", sr.ntp_time);
    assert_eq!(sdes.chunks[0].source, video_ssrc);
    assert_eq!(sdes.chunks[0].items[0].sdes_type, SdesType::SdesCname);
    assert!(sdes.chunks[0].items[0].text.starts_with(b"door-station@"));

    stop_tx.send_modify(|n| *n += 1);
    let (bye, from) = uas.recv_request(Method::Bye).await;
    uas.sip.send_to(&Response::for_request(&bye, 200, "OK").to_bytes(), from).await.unwrap();
    guard("the station to stop", station).await.unwrap().expect("clean stop");
}

/// Starts the station; returns its control socket, its stop and its task.
fn start(config: StationConfig) -> (PathBuf, watch::Sender<u32>, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let socket = config.control.socket.clone();
    let (stop_tx, stop) = watch::channel(0);
    (socket, stop_tx, tokio::spawn(run_station(config, stop)))
}

impl Uas {
    /// The access units on the video socket, reassembled, until `enough` says stop.
    async fn video_units(
        &self,
        mut enough: impl FnMut(&[ds_media::packetize::ReceivedUnit]) -> bool,
    ) -> Vec<ds_media::packetize::ReceivedUnit> {
        let mut depacketizer = ds_media::packetize::H264Depacketizer::new();
        let mut units = Vec::new();
        let mut buf = vec![0u8; 2048];
        guard("video units", async {
            while !enough(&units) {
                let n = self.video.recv(&mut buf).await.unwrap();
                let packet = ds_media::rtp_session::parse(&buf[..n]).expect("an RTP packet");
                let _ = depacketizer.push(&packet);
                units.extend(std::iter::from_fn(|| depacketizer.pop_unit()));
            }
        })
        .await;
        units
    }
}

/// The `sprop-parameter-sets` of an SDP body's H.264 fmtp.
fn sprop_of(sdp: &[u8]) -> Option<String> {
    let sdp = String::from_utf8_lossy(sdp);
    let fmtp = sdp.lines().find(|l| l.starts_with("a=fmtp:") && l.contains("profile-level-id"))?;
    let value = fmtp.split(';').find_map(|p| p.trim().strip_prefix("sprop-parameter-sets="))?;
    Some(value.trim().to_string())
}

#[cfg(feature = "gst")]
#[tokio::test]
async fn with_an_x264_camera_the_offer_carries_the_sps_and_pps_the_stream_sends() {
    if !ds_media::gst::has_element("x264enc").unwrap() {
        panic!("x264enc is missing: install gstreamer1.0-plugins-ugly");
    }
    let dir = TempDir(std::env::temp_dir().join(format!("ds-shell-x264-{}", std::process::id())));
    let uas = Uas::bind().await;
    let mut config = station_config(&dir.0, uas.sip.local_addr().unwrap());
    config.media.camera = config::CameraKind::Gstreamer;
    config.media.camera_device = config::TEST_SOURCE.into();
    config.media.video_encoder = config::VideoEncoder::X264;
    let (socket, stop_tx, station) = start(config);

    assert_eq!(control(&socket, "press").await, "ok");
    let (invite, station_sip) = uas.recv_request(Method::Invite).await;
    let offered = sprop_of(&invite.body).expect("the offer names sprop-parameter-sets");
    uas.answer(&invite, station_sip, 200, "OK").await;
    uas.recv_request(Method::Ack).await;
    let units =
        uas.video_units(|u| u.iter().any(|u| u.nals.iter().any(|n| NalKind::of(n) == Some(NalKind::Idr)))).await;
    let idr = units.iter().find(|u| u.nals.iter().any(|n| NalKind::of(n) == Some(NalKind::Idr))).unwrap();
    let sent = AccessUnit { nals: idr.nals.clone(), timestamp_90k: 0, frame_index: 0 };
    let sent = ds_media::device::sdp_parameters_of(&sent).expect("the IDR carries SPS and PPS");
    assert_eq!(offered, sent.sprop_parameter_sets, "the offer's sprop is the stream's SPS,PPS");
    let offer = String::from_utf8_lossy(&invite.body).to_string();
    assert!(offer.contains(&format!("profile-level-id={}", sent.profile_level_id)), "{offer}");

    stop_tx.send_modify(|n| *n += 1);
    let (bye, from) = uas.recv_request(Method::Bye).await;
    uas.sip.send_to(&Response::for_request(&bye, 200, "OK").to_bytes(), from).await.unwrap();
    guard("the station to stop", station).await.unwrap().expect("clean stop");
}

impl Uas {
    /// The sizes of the first `n` pictures decoded from the video socket, skipping
    /// packets of `skip` (an earlier call's SSRC); returns the stream's SSRC too.
    async fn decoded_sizes(&self, n: usize, skip: Option<u32>) -> (u32, Vec<(usize, usize)>) {
        use openh264::formats::YUVSource;
        let mut depacketizer = ds_media::packetize::H264Depacketizer::new();
        let mut decoder = openh264::decoder::Decoder::new().unwrap();
        let (mut ssrc, mut sizes) = (0, Vec::new());
        let mut buf = vec![0u8; 2048];
        guard("decoded video", async {
            while sizes.len() < n {
                let len = self.video.recv(&mut buf).await.unwrap();
                let packet = ds_media::rtp_session::parse(&buf[..len]).expect("an RTP packet");
                if Some(packet.header.ssrc) == skip {
                    continue;
                }
                ssrc = packet.header.ssrc;
                let _ = depacketizer.push(&packet);
                while let Some(unit) = depacketizer.pop_unit() {
                    let picture = decoder.decode(&unit.to_annex_b()).expect("the stream decodes");
                    sizes.extend(picture.map(|p| p.dimensions()));
                }
            }
        })
        .await;
        (ssrc, sizes)
    }
}

/// A 640x480 camera (the `camera` settings of `[media]`, from `set`), a call
/// answered at level 1.2 whose pictures must fit it, then a call at our level.
async fn level_1_2_then_ours(name: &str, set: impl FnOnce(&mut config::MediaConfig)) {
    let dir = TempDir(std::env::temp_dir().join(format!("ds-shell-{name}-{}", std::process::id())));
    let uas = Uas::bind().await;
    let mut config = station_config(&dir.0, uas.sip.local_addr().unwrap());
    (config.media.video_width, config.media.video_height, config.media.video_fps) = (640, 480, 15);
    set(&mut config.media);
    let (socket, stop_tx, station) = start(config);
    let mut events = Events::subscribe(&socket).await;

    assert_eq!(control(&socket, "press").await, "ok");
    let (invite, station_sip) = uas.recv_request(Method::Invite).await;
    let level_1_2 = uas.sdp().replace("profile-level-id=42e01f", "profile-level-id=42e00c");
    uas.answer_with(&invite, station_sip, (200, "OK"), level_1_2).await;
    uas.recv_request(Method::Ack).await;
    let (first_ssrc, sizes) = uas.decoded_sizes(10, None).await;
    eprintln!("{name}: level 1.2 peer gets {:?}", sizes[0]);
    for (w, h) in &sizes {
        assert!(ds_media::h264::frame_mbs(*w as u32, *h as u32) <= 396, "{w}x{h} is above level 1.2");
    }
    assert_eq!(control(&socket, "hangup").await, "ok");
    let (bye, from) = uas.recv_request(Method::Bye).await;
    uas.sip.send_to(&Response::for_request(&bye, 200, "OK").to_bytes(), from).await.unwrap();
    events.next("ended").await;

    assert_eq!(control(&socket, "press").await, "ok");
    let (invite, station_sip) = uas.recv_request(Method::Invite).await;
    uas.answer(&invite, station_sip, 200, "OK").await;
    uas.recv_request(Method::Ack).await;
    let (_, sizes) = uas.decoded_sizes(10, Some(first_ssrc)).await;
    assert!(sizes.iter().all(|s| *s == (640, 480)), "a peer at our level gets the configured stream: {sizes:?}");

    stop_tx.send_modify(|n| *n += 1);
    let (bye, from) = uas.recv_request(Method::Bye).await;
    uas.sip.send_to(&Response::for_request(&bye, 200, "OK").to_bytes(), from).await.unwrap();
    guard("the station to stop", station).await.unwrap().expect("clean stop");
}

#[tokio::test]
async fn a_peer_at_level_1_2_gets_at_most_396_macroblocks_and_the_next_call_vga_again() {
    level_1_2_then_ours("level", |_| {}).await;
}

#[cfg(feature = "gst")]
#[tokio::test]
async fn an_x264_camera_is_rebuilt_for_a_peer_at_level_1_2_and_back() {
    level_1_2_then_ours("level-x264", |m| {
        m.camera = config::CameraKind::Gstreamer;
        m.camera_device = config::TEST_SOURCE.into();
        m.video_encoder = config::VideoEncoder::X264;
    })
    .await;
}
