//! The reader against a real OSDP control panel: the PyPI `libosdp`
//! ControlPanel (tests/cp.py) over a pseudo-terminal pair.
//!
//! The script installs libosdp with pip if it is missing; if python3 or the
//! install fails, these tests fail (they never skip).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use ds_hw::wiegand::{Bits, Credential, WiegandFormat, decode, encode};
use ds_osdp::{
    CardFormat, KeyFile, LibOsdpReader, PanelCommand, ReaderConfig, ReaderIdentity, ReaderThread, SecureChannel,
    format_key,
};

const KEY: [u8; 16] = *b"door-station-key";
const NEW_KEY: [u8; 16] =
    [0x94, 0x4b, 0x8e, 0xdd, 0xcb, 0xaa, 0x2b, 0x5f, 0xe2, 0xb0, 0x14, 0x8d, 0x1b, 0x2f, 0x95, 0xc9];

/// The panel process and its result lines.
struct Panel {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Panel {
    /// Starts `cp.py scenario key` and returns it with the pty to open.
    fn start(scenario: &str, key: &[u8; 16]) -> (Panel, PathBuf) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cp.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([scenario, &format_key(key)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 must be installed to run the panel");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("panel: {line}");
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take().unwrap();
        let mut panel = Panel { child, stdin, lines };
        let pty = panel.expect("PTY ");
        (panel, PathBuf::from(pty.trim_start_matches("PTY ")))
    }

    /// Tells the panel the reader is listening.
    fn go(&mut self) {
        writeln!(self.stdin, "go").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next line starting with `prefix` (other lines are skipped).
    fn expect(&mut self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("the panel never said {prefix:?}"));
            if line.starts_with(prefix) || line == "NO_SC" || line == "NO_CARD" {
                assert!(line.starts_with(prefix), "expected {prefix:?}, panel said {line:?}");
                return line;
            }
        }
    }

    fn finish(mut self) {
        self.expect("DONE");
        assert!(self.child.wait().unwrap().success());
    }
}

fn config(pty: &Path, key_file: &Path, initial_key: Option<[u8; 16]>, install_mode: bool) -> ReaderConfig {
    ReaderConfig {
        port: pty.to_path_buf(),
        baud: 115200,
        address: 101,
        identity: ReaderIdentity::default(),
        secure: SecureChannel::On { key_file: KeyFile::new(key_file), initial_key, install_mode, enforce: true },
    }
}

fn reader(config: &ReaderConfig) -> ReaderThread {
    ReaderThread::spawn(Box::new(LibOsdpReader::open(config, None).unwrap())).unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ds-osdp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `CARD format=1 bits=26 data=bd88eb80 sc=1` → (format, bits, sc).
fn parse_card(line: &str) -> (u32, Bits, bool) {
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name).and_then(|w| w.strip_prefix('=')))
            .unwrap_or_else(|| panic!("no {name} in {line}"))
            .to_string()
    };
    let count: usize = field("bits").parse().unwrap();
    let data = field("data");
    let bits: Vec<bool> = (0..count)
        .map(|i| {
            let byte = u8::from_str_radix(&data[i / 8 * 2..i / 8 * 2 + 2], 16).unwrap();
            byte & (0x80 >> (i % 8)) != 0
        })
        .collect();
    (field("format").parse().unwrap(), Bits::from_bools(bits), field("sc") == "1")
}

#[test]
fn the_panel_reads_the_configured_credential_over_secure_channel() {
    let dir = temp_dir("card");
    let (mut panel, pty) = Panel::start("card", &KEY);
    let reader = reader(&config(&pty, &dir.join("scbk"), Some(KEY), false));
    panel.go();
    panel.expect("SECURE");
    assert!(reader.status().secure);
    let bits = encode(WiegandFormat::H10301, 123, 4567).unwrap();
    reader.report_card(CardFormat::Wiegand, bits);
    let (format, got, secure) = parse_card(&panel.expect("CARD "));
    assert_eq!(format, 1, "osdp_RAW format 1 = Wiegand");
    assert!(secure, "the card read came inside the secure session");
    assert_eq!(decode(WiegandFormat::H10301, &got), Ok(Credential { facility: 123, card: 4567 }));
    reader.set_tamper(true);
    let status = panel.expect("STATUS ");
    assert!(status.ends_with("report=0000") || status.ends_with("report=0100"), "{status}");
    panel.expect("COMMANDS_SENT");
    let latency = panel.expect("LATENCY ");
    eprintln!("OSDP reply latency (pty, this machine): {latency}");
    panel.finish();
    let commands: Vec<PanelCommand> = reader.commands().try_iter().collect();
    assert!(commands.contains(&PanelCommand::Output { output: 0, control: 5, timer_100ms: 30 }), "{commands:?}");
    assert!(commands.contains(&PanelCommand::Buzzer { tone: 2, on_100ms: 2, off_100ms: 1, count: 3 }), "{commands:?}");
    assert!(commands.iter().any(|c| matches!(c, PanelCommand::Led { led: 0, permanent_color: 2, .. })), "{commands:?}");
    assert!(commands.contains(&PanelCommand::ComSet { address: 101, baud: 115200 }), "{commands:?}");
    assert!(reader.errors().try_recv().is_err());
}

#[test]
fn install_mode_stores_the_keyset_and_the_next_start_joins_with_it() {
    let dir = temp_dir("install");
    let key_file = dir.join("scbk");
    let (mut panel, pty) = Panel::start("install", &NEW_KEY);
    let reader1 = reader(&config(&pty, &key_file, None, true));
    panel.go();
    panel.expect("SECURE_FIRST");
    panel.expect("SECURE_NEW_KEY");
    panel.finish();
    assert_eq!(reader1.commands().try_iter().collect::<Vec<_>>(), [PanelCommand::KeyStored]);
    drop(reader1);
    assert_eq!(KeyFile::new(&key_file).load().unwrap(), Some(NEW_KEY));

    // A restart: the stored key, enforced; install mode no longer applies.
    let (mut panel, pty) = Panel::start("join", &NEW_KEY);
    let _reader2 = reader(&config(&pty, &key_file, None, true));
    panel.go();
    panel.expect("SECURE");
    panel.finish();

    // The old default key no longer gets in.
    let (mut panel, pty) = Panel::start("join", b"0123456789:;<=>?");
    let _reader3 = reader(&config(&pty, &key_file, None, true));
    panel.go();
    panel.expect("NO_SC");
    panel.finish();
}

/// Not a timed assertion: prints the reply latency the panel measured at the
/// byte (run with `--nocapture`); asserts only that replies were measured.
#[test]
fn poll_reply_latency_is_measured() {
    let dir = temp_dir("latency");
    let (mut panel, pty) = Panel::start("latency", &KEY);
    let _reader = reader(&config(&pty, &dir.join("scbk"), Some(KEY), false));
    panel.go();
    panel.expect("SECURE");
    let line = panel.expect("LATENCY ");
    println!("OSDP reply latency over a pty on this machine: {line}");
    assert!(!line.starts_with("LATENCY n=0"), "{line}");
    panel.finish();
}

/// With `enforce`, nothing but ID, CAP, COMSET and CHLNG is answered in clear
/// text, so a panel without Secure Channel never gets the card; with Secure
/// Channel off, the same panel does.
#[test]
fn an_enforcing_reader_gives_no_card_to_a_clear_text_panel() {
    let dir = temp_dir("plain");
    let bits = encode(WiegandFormat::H10301, 12, 345).unwrap();
    for (secure, expect) in [(true, "NO_CARD"), (false, "CARD ")] {
        let (mut panel, pty) = Panel::start("plain", &KEY);
        let mut cfg = config(&pty, &dir.join("scbk"), Some(KEY), false);
        if !secure {
            cfg.secure = SecureChannel::Off;
        }
        let reader = reader(&cfg);
        panel.go();
        panel.expect("READY");
        reader.report_card(CardFormat::Wiegand, bits.clone());
        let line = panel.expect(expect);
        if !secure {
            assert_eq!(line, format!("CARD bits=26 data={}", hex(&bits.to_bytes())));
            assert!(!reader.status().secure);
        }
        panel.finish();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
