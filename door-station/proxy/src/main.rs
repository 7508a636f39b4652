//! `intercom-proxy`: the house SIP proxy daemon.
//!
//! ```text
//! intercom-proxy [--config /etc/door-station/proxy.toml]        run
//! intercom-proxy [--config FILE] --check-config                 check proxy.toml, passwd and routes, then exit
//! intercom-proxy [--config FILE] adduser user@domain            set a password (read from stdin), hashes only
//! ```
//! SIGHUP reloads passwd and routes; SIGTERM saves the bindings and stops.
#![forbid(unsafe_code)]

mod shell;

use std::path::PathBuf;
use std::process::ExitCode;

use intercom_proxy::setup;

const DEFAULT_CONFIG: &str = "/etc/door-station/proxy.toml";

enum Command {
    Run,
    Check,
    AddUser(String),
}

fn parse_args() -> Result<(PathBuf, Command), String> {
    let mut config = PathBuf::from(DEFAULT_CONFIG);
    let mut command = Command::Run;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => config = args.next().ok_or("--config needs a path")?.into(),
            "--check-config" => command = Command::Check,
            "adduser" => command = Command::AddUser(args.next().ok_or("adduser needs user@domain")?),
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((config, command))
}

fn usage() -> &'static str {
    "usage: intercom-proxy [--config FILE] [--check-config | adduser user@domain]"
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let (config, command) = match parse_args() {
        Ok(v) => v,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Check => check(&config),
        Command::AddUser(identity) => add_user(&config, &identity),
        Command::Run => run(config),
    }
}

fn check(config: &std::path::Path) -> ExitCode {
    match setup::check_all(config) {
        Ok((_, warnings)) => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
            println!("{}: ok", config.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn add_user(config: &std::path::Path, identity: &str) -> ExitCode {
    let passwd = match intercom_proxy::config::load(config) {
        Ok(cfg) => cfg.auth.passwd,
        Err(errors) => {
            errors.iter().for_each(|e| eprintln!("{e}"));
            return ExitCode::from(1);
        }
    };
    eprintln!("password for {identity} (one line on standard input):");
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        eprintln!("cannot read the password");
        return ExitCode::from(1);
    }
    match setup::add_user(&passwd, identity, line.trim_end_matches(['\r', '\n'])) {
        Ok(()) => {
            eprintln!("{identity} written to {} (hashes only); send SIGHUP to a running proxy", passwd.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn run(config: PathBuf) -> ExitCode {
    let cfg = match setup::check_all(&config) {
        Ok((cfg, _)) => cfg,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(shell::run(config, cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
