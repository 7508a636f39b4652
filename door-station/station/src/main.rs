//! `door-station [--config PATH] [--check-config | --release-relay]`: the door station daemon.
//!
//! Reads `station.toml` (default `/etc/door-station/station.toml`), checks
//! it, and runs the station until SIGINT or SIGTERM. With `--check-config`
//! it only checks the file: exit 0 if it is valid, 1 with the reason if not.
//! With `--release-relay` it drives the `[relay]` line to its released level
//! and exits (systemd's `ExecStopPost=`, after any end of the daemon).
//! Under systemd (`Type=notify`) it sends `READY=1`, `WATCHDOG=1` and
//! `STOPPING=1` to `NOTIFY_SOCKET`.
//! Logs go to stderr through `tracing`; every event of the control socket's
//! stream is also logged, under the target `door_station::event`.
//!
//! Environment:
//! - `RUST_LOG`: the log filter (default `info`; e.g. `info,door_station=debug`
//!   also logs every SIP message sent and every media command).
//! - `DOOR_STATION_RELAY_LOG=<file>`: with `[relay] backend = "sim"`, also
//!   append each relay edge to that file as a line `<unix_ms> on|off`.
#![forbid(unsafe_code)]

use door_station::{config, shell};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: door-station [--config PATH] [--check-config | --release-relay]

  --config PATH    the configuration (default /etc/door-station/station.toml)
  --check-config   check it and exit: 0 if valid, 1 with the reason if not
  --release-relay  drive the relay line to its released level and exit

environment: RUST_LOG (log filter, default info),
             DOOR_STATION_RELAY_LOG (file the simulated relay appends its edges to),
             DOOR_STATION_WIEGAND_LOG (file the simulated Wiegand lines append their frames to),
             NOTIFY_SOCKET, WATCHDOG_USEC (set by systemd)";

/// The command line.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    config: PathBuf,
    check_only: bool,
    release_relay: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Run(Args),
    Help,
    Version,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut parsed = Args { config: PathBuf::from(config::DEFAULT_PATH), check_only: false, release_relay: false };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check-config" => parsed.check_only = true,
            "--release-relay" => parsed.release_relay = true,
            "--config" => parsed.config = args.next().ok_or("--config needs a path")?.into(),
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            other => match other.strip_prefix("--config=") {
                Some(path) => parsed.config = path.into(),
                None => return Err(format!("unknown argument {other:?}")),
            },
        }
    }
    if parsed.check_only && parsed.release_relay {
        return Err("--check-config and --release-relay exclude each other".into());
    }
    Ok(Parsed::Run(parsed))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!("door-station {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("door-station: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match config::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if args.check_only {
        println!("{}: ok", args.config.display());
        return ExitCode::SUCCESS;
    }
    if args.release_relay {
        return match shell::hardware::release_relay(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("door-station: relay not released: {e}");
                ExitCode::FAILURE
            }
        };
    }
    init_logging();
    match shell::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Parsed, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_to_the_etc_file() {
        let expected =
            Args { config: PathBuf::from("/etc/door-station/station.toml"), check_only: false, release_relay: false };
        assert_eq!(parse(&[]), Ok(Parsed::Run(expected)));
    }

    #[test]
    fn config_path_in_both_spellings_and_check_flag() {
        let expected = Parsed::Run(Args { config: PathBuf::from("a.toml"), check_only: true, release_relay: false });
        assert_eq!(parse(&["--check-config", "--config", "a.toml"]), Ok(expected));
        let expected = Parsed::Run(Args { config: PathBuf::from("b.toml"), check_only: false, release_relay: false });
        assert_eq!(parse(&["--config=b.toml"]), Ok(expected));
        let expected = Parsed::Run(Args { config: PathBuf::from("c.toml"), check_only: false, release_relay: true });
        assert_eq!(parse(&["--config", "c.toml", "--release-relay"]), Ok(expected));
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert_eq!(parse(&["--config"]), Err("--config needs a path".into()));
        assert_eq!(parse(&["--verbose"]), Err("unknown argument \"--verbose\"".into()));
        assert_eq!(parse(&["--help", "--bogus"]), Ok(Parsed::Help));
        assert!(parse(&["--check-config", "--release-relay"]).is_err());
    }
}
