use super::*;
use crate::engine::{Event, RelayState};
use crate::shell::shutdown::ShutdownTrigger;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ds-control-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn parses_every_command() {
    let cmd = |l: &str| parse_line(l).unwrap().unwrap();
    assert_eq!(cmd("press"), ControlLine::Command(ControlCommand::Press(1)));
    assert_eq!(cmd("  press 3 \r"), ControlLine::Command(ControlCommand::Press(3)));
    assert_eq!(cmd("call sip:alice@home"), ControlLine::Command(ControlCommand::Call("sip:alice@home".into())));
    assert_eq!(cmd("hangup"), ControlLine::Command(ControlCommand::Hangup));
    assert_eq!(cmd("unlock"), ControlLine::Command(ControlCommand::Unlock));
    assert_eq!(cmd("status"), ControlLine::Command(ControlCommand::Status));
    assert_eq!(cmd("events"), ControlLine::Events);
    assert_eq!(parse_line("   "), Ok(None));
}

#[test]
fn refuses_bad_lines_with_a_reason() {
    assert_eq!(parse_line("press 0"), Err("press takes a button number from 1, not \"0\"".into()));
    assert!(parse_line("press two").unwrap_err().contains("button number"));
    assert!(parse_line("call").unwrap_err().contains("needs a URI"));
    assert_eq!(parse_line("status now"), Err("status takes no argument".into()));
    let e = parse_line("open").unwrap_err();
    assert!(e.starts_with("unknown command \"open\"") && e.contains("press [N]"), "{e}");
}

#[test]
fn reply_lines() {
    assert_eq!(Reply::Ok.to_line(), "ok");
    assert_eq!(Reply::OkJson(json!({"a": 1})).to_line(), "ok {\"a\":1}");
    assert_eq!(Reply::Err("no\ncall".into()).to_line(), "err no call");
}

#[tokio::test]
async fn bind_creates_the_directory_and_replaces_a_stale_socket() {
    let dir = TempDir::new();
    let path = dir.0.join("run/control.sock");
    drop(bind(&path).unwrap());
    assert!(path.exists(), "a dropped listener leaves its file, like a crashed station");
    let _listener = bind(&path).expect("the stale socket is replaced");
    let e = bind(&path).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
}

#[tokio::test]
async fn bind_leaves_a_regular_file_alone() {
    let dir = TempDir::new();
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("control.sock");
    std::fs::write(&path, "keep me").unwrap();
    assert_eq!(bind(&path).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

/// A served socket and the loop's side of it.
struct Served {
    _dir: TempDir,
    path: PathBuf,
    requests: mpsc::Receiver<ControlRequest>,
    bus: EventBus,
    trigger: Option<ShutdownTrigger>,
}

async fn served() -> Served {
    let dir = TempDir::new();
    let path = dir.0.join("control.sock");
    let listener = bind(&path).unwrap();
    let (tx, requests) = mpsc::channel(8);
    let bus = EventBus::new(Instant::now());
    let trigger = ShutdownTrigger::new();
    tokio::spawn(serve(listener, tx, bus.clone(), trigger.subscribe()));
    Served { _dir: dir, path, requests, bus, trigger: Some(trigger) }
}

type ClientLines = Lines<BufReader<tokio::net::unix::OwnedReadHalf>>;

async fn connect(path: &Path) -> (ClientLines, tokio::net::unix::OwnedWriteHalf) {
    let (r, w) = UnixStream::connect(path).await.unwrap().into_split();
    (BufReader::new(r).lines(), w)
}

async fn send(w: &mut tokio::net::unix::OwnedWriteHalf, line: &str) {
    w.write_all(format!("{line}\n").as_bytes()).await.unwrap();
}

async fn answer(requests: &mut mpsc::Receiver<ControlRequest>, reply: Reply) -> ControlCommand {
    let req = requests.recv().await.expect("a request reaches the loop");
    req.reply.send(reply).unwrap();
    req.command
}

#[tokio::test]
async fn commands_reach_the_loop_and_its_answers_come_back() {
    let mut s = served().await;
    let (mut lines, mut w) = connect(&s.path).await;
    send(&mut w, "press 2").await;
    assert_eq!(answer(&mut s.requests, Reply::Ok).await, ControlCommand::Press(2));
    assert_eq!(lines.next_line().await.unwrap().unwrap(), "ok");
    send(&mut w, "status").await;
    let status = json!({"registered": true, "call": null, "relay": "off", "locked_out": false});
    assert_eq!(answer(&mut s.requests, Reply::OkJson(status)).await, ControlCommand::Status);
    assert_eq!(
        lines.next_line().await.unwrap().unwrap(),
        r#"ok {"call":null,"locked_out":false,"registered":true,"relay":"off"}"#
    );
    send(&mut w, "hangup").await;
    answer(&mut s.requests, Reply::Err("no call".into())).await;
    assert_eq!(lines.next_line().await.unwrap().unwrap(), "err no call");
}

#[tokio::test]
async fn a_bad_line_is_answered_without_bothering_the_loop() {
    let mut s = served().await;
    let (mut lines, mut w) = connect(&s.path).await;
    send(&mut w, "").await;
    send(&mut w, "jump").await;
    assert!(lines.next_line().await.unwrap().unwrap().starts_with("err unknown command \"jump\""));
    send(&mut w, "unlock").await;
    assert_eq!(
        answer(&mut s.requests, Reply::Ok).await,
        ControlCommand::Unlock,
        "the blank and bad lines sent nothing"
    );
}

#[tokio::test]
async fn events_stream_to_every_client_until_it_closes() {
    let s = served().await;
    let (mut a, mut aw) = connect(&s.path).await;
    let (mut b, mut bw) = connect(&s.path).await;
    send(&mut aw, "events").await;
    send(&mut bw, "events").await;
    assert_eq!(a.next_line().await.unwrap().unwrap(), "ok");
    assert_eq!(b.next_line().await.unwrap().unwrap(), "ok");
    let ringing = Event::Ringing { call_id: "c1".into(), target: "sip:everyone@home".into() };
    s.bus.publish(Instant::now(), &ringing);
    for lines in [&mut a, &mut b] {
        let v: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
        assert_eq!((v["event"].as_str(), v["call_id"].as_str()), (Some("ringing"), Some("c1")));
        assert!(v["ts_ms"].is_u64());
    }
    drop((a, aw));
    s.bus.publish(Instant::now(), &Event::Relay { state: RelayState::Off });
    wait_for(|| s.bus.subscriber_count() == 1).await;
    let v: Value = serde_json::from_str(&b.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(v["state"], "off");
    s.bus.publish(Instant::now(), &Event::Relay { state: RelayState::On });
    let v: Value = serde_json::from_str(&b.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(v["state"], "on", "the other client still streams");
}

#[tokio::test]
async fn a_half_closed_events_client_keeps_streaming() {
    let s = served().await;
    let (mut a, mut aw) = connect(&s.path).await;
    send(&mut aw, "events").await;
    aw.shutdown().await.unwrap();
    assert_eq!(a.next_line().await.unwrap().unwrap(), "ok");
    s.bus.publish(Instant::now(), &Event::Relay { state: RelayState::On });
    let v: Value = serde_json::from_str(&a.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(v["state"], "on", "like `socat ... <<< events`, which closes its sending side");
}

#[tokio::test]
async fn shutdown_ends_streams_and_connections() {
    let mut s = served().await;
    let (mut a, mut aw) = connect(&s.path).await;
    let (mut b, _bw) = connect(&s.path).await;
    send(&mut aw, "events").await;
    assert_eq!(a.next_line().await.unwrap().unwrap(), "ok");
    s.trigger.take().unwrap().shutdown().await;
    assert_eq!(a.next_line().await.unwrap(), None, "the stream is closed");
    assert_eq!(b.next_line().await.unwrap(), None, "the idle client is closed");
}

/// Yield until `cond` holds; a hang (not a slow machine) fails after 10 s.
async fn wait_for(mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("condition never held");
}
