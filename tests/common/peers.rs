//! The real SIP peers, started from the recipes in tests/peers/: SIPp, kamailio, baresip,
//! linphone-daemon, and a client for baresip's ctrl_tcp.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::harness::{Harness, ProcId, bounded, peers_dir, require};

fn sipp_scenario(file: &str) -> PathBuf {
    peers_dir().join("sipp").join(file)
}

/// SIPp's common options: loopback only, message/action logs in the test's log directory.
fn sipp_command(
    h: &Harness,
    tag: &str,
    scenario: &Path,
    port: u16,
    media_port: u16,
    limit: Duration,
) -> std::process::Command {
    let sipp = require("sipp", "sip-tester");
    let mut cmd = bounded(sipp, limit + Duration::from_secs(5));
    cmd.arg("-sf").arg(scenario);
    cmd.args(["-i", "127.0.0.1", "-p", &port.to_string(), "-bind_local", "-mi", "127.0.0.1"]);
    cmd.args(["-mp", &media_port.to_string(), "-nostdin", "-timeout", &format!("{}s", limit.as_secs())]);
    cmd.args(["-ringbuffer_files", "1", "-ringbuffer_size", "20000000"]);
    cmd.arg("-trace_msg").arg("-message_file").arg(h.log_file(&format!("{tag}.msg.log")));
    cmd.arg("-trace_logs").arg("-log_file").arg(h.log_file(&format!("{tag}.actions.log")));
    cmd
}

/// SIPp as a registrar on 127.0.0.1:`port` that challenges with 401 (MD5, qop=auth) and checks
/// the Authorization with `verifyauth` for `user`/`password`. Its action log (`<tag>.actions.log`)
/// says "REGISTER digest verified" or "rejected".
pub fn sipp_registrar(h: &mut Harness, tag: &str, port: u16, user: &str, password: &str, limit: Duration) -> ProcId {
    let mut cmd = sipp_command(h, tag, &sipp_scenario("registrar.xml"), port, port + 1000, limit);
    cmd.args(["-m", "1", "-set", "user", user, "-set", "password", password, "-set", "realm", "sip.test"]);
    cmd.args(["-set", "expires", "300"]);
    h.spawn(tag, cmd, false)
}

/// SIPp running `scenario` (a file under peers/sipp) for one call on 127.0.0.1:`port` with the
/// globals `vars` (`-set`), as `-s service`; `remote` is the UAC's target (`None` for a UAS).
pub fn sipp_with_vars(
    h: &mut Harness,
    tag: &str,
    (scenario, port, remote): (&str, u16, Option<&str>),
    service: &str,
    vars: &[(&str, String)],
    limit: Duration,
) -> ProcId {
    let media_port = super::harness::free_udp_port();
    let mut cmd = sipp_command(h, tag, &sipp_scenario(scenario), port, media_port, limit);
    cmd.args(remote).args(["-s", service, "-m", "1"]);
    for (name, value) in vars {
        cmd.args(["-set", name, value]);
    }
    h.spawn(tag, cmd, false)
}

/// What a SIPp UAS (`uas_183_info.xml`) does.
pub struct Uas<'a> {
    /// SIP port on 127.0.0.1.
    pub port: u16,
    /// RTP ports: `media_port` (audio) and `media_port + 2` (video).
    pub media_port: u16,
    /// Contact user (and AOR user when registering).
    pub user: &'a str,
    /// Digits sent as INFO after the ACK ("" for none).
    pub dtmf: &'a str,
    /// 183 → 200 delay; `None`: never answer (a CANCEL gets 200 + 487).
    pub answer_after_ms: Option<u32>,
}

/// SIPp as the UAS of `uas_183_info.xml`: 183 + recvonly SDP, 200 after `answer_after_ms`
/// (or never), 1 s later one INFO `Signal=<d>` per digit of `dtmf`, then BYE 6 s later unless
/// the other side hangs up first.
pub fn sipp_uas(h: &mut Harness, tag: &str, uas: &Uas, limit: Duration) -> ProcId {
    let template = std::fs::read_to_string(sipp_scenario("uas_183_info.xml")).expect("read uas_183_info.xml");
    sipp_uas_rendered(h, tag, uas, &template, 1, limit)
}

/// [`sipp_uas`] from a scenario text (a variant of `uas_183_info.xml`), for `calls` calls.
pub fn sipp_uas_rendered(h: &mut Harness, tag: &str, uas: &Uas, template: &str, calls: u32, limit: Duration) -> ProcId {
    let ring = r#" timeout="3000" ontimeout="answer""#;
    let answer = match uas.answer_after_ms {
        Some(ms) => format!(r#" timeout="{}" ontimeout="answer""#, ms.max(1)),
        None => String::new(),
    };
    let scenario = h.log_file(&format!("{tag}.scenario.xml"));
    std::fs::write(&scenario, template.replace(ring, &answer)).expect("write the rendered UAS scenario");
    let mut cmd = sipp_command(h, tag, &scenario, uas.port, uas.media_port, limit);
    cmd.args(["-m", &calls.to_string(), "-s", uas.user, "-set", "dtmf", uas.dtmf]);
    h.spawn(tag, cmd, false)
}

/// [`sipp_uas`] without registration, answering 3 s after its 183.
pub fn sipp_uas_info(h: &mut Harness, tag: &str, port: u16, media_port: u16, dtmf: &str, limit: Duration) -> ProcId {
    let uas = Uas { port, media_port, user: "everyone", dtmf, answer_after_ms: Some(3000) };
    sipp_uas(h, tag, &uas, limit)
}

/// SIPp as `uas_fork_race.xml` on 127.0.0.1:`port`: one UAS playing a forking proxy whose two
/// branches (To tags `…ForkA…`, `…ForkB…`) send 183s, then 200 A and, right after its ACK,
/// 200 B; it expects the ACK for B, a BYE for B within 2 s and, later, the BYE for A. Its
/// action log names each.
pub fn sipp_fork_race(h: &mut Harness, tag: &str, port: u16, media_port: u16, limit: Duration) -> ProcId {
    let scenario = sipp_scenario("uas_fork_race.xml");
    let mut cmd = sipp_command(h, tag, &scenario, port, media_port, limit);
    cmd.args(["-m", "1", "-s", "everyone"]);
    h.spawn(tag, cmd, false)
}

/// What a SIPp UAC call (`uac_invite_dtmf.xml`) does.
pub struct UacCall<'a> {
    /// `ip:port` the INVITE goes to.
    pub target: &'a str,
    /// Request-URI user.
    pub callee: &'a str,
    /// From user; the From URI is `sip:<caller>@<from_domain>`.
    pub caller: &'a str,
    /// From host.
    pub from_domain: &'a str,
    /// Digits sent after the ACK, one INFO each.
    pub dtmf: &'a str,
    /// `info`, `rtp`, `both` or `none`.
    pub dtmf_mode: &'a str,
    /// Time between the last digit and the BYE.
    pub talk: Duration,
}

/// Starts a SIPp UAC call on 127.0.0.1:`port` (RTP on `media_port`).
pub fn sipp_uac(h: &mut Harness, tag: &str, port: u16, media_port: u16, call: &UacCall, limit: Duration) -> ProcId {
    let mut cmd = sipp_command(h, tag, &sipp_scenario("uac_invite_dtmf.xml"), port, media_port, limit);
    cmd.arg(call.target).args(["-s", call.callee, "-m", "1", "-l", "1", "-aa"]);
    cmd.args(["-d", &call.talk.as_millis().to_string()]);
    cmd.args(["-set", "caller", call.caller, "-set", "from_domain", call.from_domain]);
    cmd.args(["-set", "dtmf", call.dtmf, "-set", "dtmf_mode", call.dtmf_mode]);
    h.spawn(tag, cmd, false)
}

/// kamailio on udp:127.0.0.1:5070 from `kamailio/kamailio.cfg`: registrar, record-routing
/// forking proxy; `everyone` forks to the registered members of `members` (comma separated).
/// With `auth`, REGISTER is challenged (password `secret` for every user).
pub fn kamailio(h: &mut Harness, members: &str, auth: bool, limit: Duration) -> ProcId {
    require("kamailio", "kamailio");
    let rundir = h.tmp.join("kamailio");
    std::fs::create_dir_all(&rundir).expect("kamailio run dir");
    let mut cmd = std::process::Command::new("sh");
    cmd.arg(peers_dir().join("kamailio").join("run.sh")).args(["-A", "WITH_DEBUG"]);
    cmd.env("RUNDIR", &rundir).env("EVERYONE", members).env("TIMEOUT", limit.as_secs().to_string());
    cmd.env("AUTH", if auth { "1" } else { "0" });
    let id = h.spawn("kamailio", cmd, false);
    h.wait_log(id, "Listening on", Duration::from_secs(10), "kamailio start");
    id
}

/// Registers `sip:<user>@127.0.0.1:5070` at kamailio (without auth) with the Contact
/// `sip:<user>@127.0.0.1:<contact_port>`: a third-party registration for a SIPp UAS in server
/// mode, which cannot register by itself.
pub fn register_contact(user: &str, contact_port: u16) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
    let local = socket.local_addr().expect("local address").port();
    let register = format!(
        "REGISTER sip:127.0.0.1:5070 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-e2e-{user}-{contact_port};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@127.0.0.1:5070>;tag=e2e{contact_port}\r\n\
         To: <sip:{user}@127.0.0.1:5070>\r\n\
         Call-ID: e2e-reg-{user}-{contact_port}@127.0.0.1\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:{user}@127.0.0.1:{contact_port}>\r\n\
         Expires: 300\r\n\
         Content-Length: 0\r\n\r\n"
    );
    socket.set_read_timeout(Some(Duration::from_secs(3))).expect("set read timeout");
    socket.send_to(register.as_bytes(), "127.0.0.1:5070").expect("send REGISTER to kamailio");
    let mut buf = [0u8; 2048];
    let n = socket.recv(&mut buf).unwrap_or_else(|e| panic!("kamailio did not answer the REGISTER for {user}: {e}"));
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("SIP/2.0 200"), "kamailio refused to register {user}: {answer}");
}

/// Waits until kamailio logged a REGISTER saved for `user` (its config logs every binding).
pub fn wait_kamailio_registered(h: &mut Harness, kamailio: ProcId, user: &str, limit: Duration) {
    h.wait_log(kamailio, &format!("REGISTER sip:{user}@"), limit, &format!("{user} registering with kamailio"));
}

/// A baresip instance (`baresip/run.sh`).
pub struct Baresip<'a> {
    /// Account user.
    pub user: &'a str,
    /// SIP port (baresip also binds TLS on `port + 1`).
    pub port: u16,
    /// ctrl_tcp port.
    pub ctrl_port: u16,
    /// Account domain (`host[:port]`): the registrar, or the From host when not registering.
    pub domain: &'a str,
    /// Register (`true`) or not.
    pub register: bool,
    /// `auto`, `early` or `manual`.
    pub answermode: &'a str,
    /// RTP port range `lo-hi`.
    pub rtp_ports: &'a str,
}

/// Starts baresip headless with video (fakevideo + avcodec H264) and connects to ctrl_tcp.
pub fn baresip(h: &mut Harness, tag: &str, b: &Baresip, limit: Duration) -> (ProcId, BaresipCtrl) {
    baresip_env(h, tag, b, limit, &[])
}

/// [`baresip`] with more variables for `run.sh` (`AUDIO_SRC`, `MEDIAENC`, ...).
pub fn baresip_env(
    h: &mut Harness,
    tag: &str,
    b: &Baresip,
    limit: Duration,
    env: &[(&str, &str)],
) -> (ProcId, BaresipCtrl) {
    require("baresip", "baresip");
    let avcodec = std::path::Path::new("/usr/lib/baresip/modules/avcodec.so");
    assert!(
        avcodec.is_file(),
        "{} is missing: install the Debian package `baresip-ffmpeg` (H264 for baresip)",
        avcodec.display()
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.arg(peers_dir().join("baresip").join("run.sh"));
    cmd.env("SIP_USER", b.user).env("PORT", b.port.to_string()).env("CTRL_PORT", b.ctrl_port.to_string());
    cmd.env("DOMAIN", b.domain).env("AUTH_PASS", "secret").env("ANSWERMODE", b.answermode);
    cmd.env("REGINT", if b.register { "300" } else { "0" }).env("RTP_PORTS", b.rtp_ports);
    cmd.env("VIDEO", "1").env("TIMEOUT", limit.as_secs().to_string()).env("SIPTRACE", "1");
    cmd.env("RUNDIR", h.log_file(tag));
    cmd.envs(env.iter().copied());
    let id = h.spawn(tag, cmd, false);
    let ctrl = BaresipCtrl::connect(h, id, b.ctrl_port, tag);
    (id, ctrl)
}

/// A linphone-daemon instance (`linphone/run_daemon.sh`), commands on its stdin.
pub struct Linphone<'a> {
    /// Account user.
    pub user: &'a str,
    /// SIP port.
    pub port: u16,
    /// Registrar `host:port`; `None`: no registration.
    pub registrar: Option<&'a str>,
    /// Answer incoming calls with 183 + SDP and early media.
    pub early_media: bool,
    /// Answer automatically.
    pub auto_answer: bool,
    /// Audio and video RTP port ranges (`lo-hi`).
    pub ports: (&'a str, &'a str),
}

/// Starts linphone-daemon with video (static picture + openh264) and waits for its registration.
pub fn linphone(h: &mut Harness, tag: &str, l: &Linphone, limit: Duration) -> ProcId {
    require("linphone-daemon", "linphone-cli");
    require_openh264_plugin();
    let rundir = h.log_file(tag);
    let mut cmd = std::process::Command::new("sh");
    cmd.arg(peers_dir().join("linphone").join("run_daemon.sh"));
    cmd.env("SIP_USER", l.user).env("PORT", l.port.to_string()).env("AUTH_PASS", "secret");
    cmd.env("DOMAIN", l.registrar.unwrap_or("127.0.0.1:5070"))
        .env("REGISTER", if l.registrar.is_some() { "1" } else { "0" });
    cmd.env("EARLY_MEDIA", if l.early_media { "1" } else { "0" })
        .env("AUTO_ANSWER", if l.auto_answer { "1" } else { "0" });
    // Video on answered calls and, for a call linphone makes, in its offer too.
    cmd.env("AUDIO_PORTS", l.ports.0).env("VIDEO_PORTS", l.ports.1).env("VIDEO", "1").env("VIDEO_INIT", "1");
    cmd.env("TIMEOUT", limit.as_secs().to_string()).env("RUNDIR", &rundir).env("STDIN", "/dev/stdin");
    let id = h.spawn(tag, cmd, true);
    if l.registrar.is_some() {
        wait_file(
            &rundir.join("linphone.log"),
            "LinphoneRegistrationOk",
            Duration::from_secs(20),
            &format!("{tag} registration"),
        );
    }
    id
}

/// Without mediastreamer2's OpenH264 plugin linphone has no H.264 and refuses video.
fn require_openh264_plugin() {
    let found = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"]
        .iter()
        .any(|lib| std::path::Path::new(lib).join("mediastreamer/plugins/libmsopenh264.so").is_file());
    assert!(found, "linphone has no H.264: install the Debian package `mediastreamer2-plugin-openh264`");
}

/// Waits until `pattern` appears in `path`, or fails the test.
pub fn wait_file(path: &std::path::Path, pattern: &str, limit: Duration, what: &str) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if super::harness::read_lossy(path).contains(pattern) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: `{pattern}` did not appear in {} within {limit:?}", path.display());
}

/// A client of baresip's ctrl_tcp module: netstring-framed JSON commands, responses and events.
pub struct BaresipCtrl {
    stream: TcpStream,
    buf: Vec<u8>,
    token: u32,
    /// Every event received so far.
    pub events: Vec<Value>,
}

impl BaresipCtrl {
    fn connect(h: &mut Harness, id: ProcId, port: u16, tag: &str) -> BaresipCtrl {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                return BaresipCtrl { stream, buf: Vec::new(), token: 0, events: Vec::new() };
            }
            assert!(h.is_running(id), "{tag} (baresip) exited before opening ctrl_tcp on {port}");
            assert!(Instant::now() < deadline, "{tag} (baresip) did not open ctrl_tcp on 127.0.0.1:{port} within 15 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn next_message(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            if let Some(colon) = self.buf.iter().position(|&b| b == b':') {
                let len: usize = std::str::from_utf8(&self.buf[..colon]).ok()?.parse().ok()?;
                if self.buf.len() > colon + len {
                    let body = self.buf[colon + 1..colon + 1 + len].to_vec();
                    self.buf.drain(..(colon + 2 + len).min(self.buf.len()));
                    return Some(serde_json::from_slice(&body).unwrap_or(Value::Null));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).ok()?;
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends `command` (with `params`) and returns its response; fails the test on no answer.
    pub fn command(&mut self, command: &str, params: &str) -> Value {
        self.token += 1;
        let token = format!("t{}", self.token);
        let body = json!({ "command": command, "params": params, "token": token }).to_string();
        let frame = format!("{}:{body},", body.len());
        self.stream.write_all(frame.as_bytes()).unwrap_or_else(|e| panic!("baresip ctrl {command}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Some(msg) = self.next_message(deadline) {
            if msg["response"] == true && msg["token"] == token.as_str() {
                return msg;
            }
            self.events.push(msg);
        }
        panic!("baresip did not answer ctrl command {command:?} {params:?} within 5 s");
    }

    /// Sends a command that must answer `ok: true`.
    pub fn command_ok(&mut self, command: &str, params: &str) -> Value {
        let answer = self.command(command, params);
        assert!(answer["ok"] == true, "baresip ctrl {command:?} {params:?} failed: {answer}");
        answer
    }

    /// Collects events for `wait`.
    pub fn listen(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        while let Some(msg) = self.next_message(deadline) {
            self.events.push(msg);
        }
    }
}
