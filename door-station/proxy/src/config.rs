//! `proxy.toml`: the one config struct of the daemon, checked at load.
//!
//! Every section is `#[serde(default, deny_unknown_fields)]`, so a missing key
//! takes the default written beside it and a misspelt key is an error. Errors
//! name the file, the line, the key and the fix (see [`ConfigError`]);
//! `intercom-proxy --check-config` prints all of them at once.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyConfig {
    /// The SIP domains this proxy is responsible for (registrar and routes).
    /// The first is the realm for requests addressed to a listen address.
    pub domains: Vec<String>,
    /// Where to listen.
    pub listen: Listen,
    /// Digest authentication.
    pub auth: Auth,
    /// The registrar.
    pub registrar: Registrar,
    /// Static routes, forking and the upstream proxy.
    pub routing: Routing,
    /// The early-media relay.
    pub relay: Relay,
    /// Certificates for SIP over TLS.
    pub tls: Tls,
}

/// TLS files (PEM). Used by `listen.tls` and by every TLS next hop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tls {
    /// Our certificate chain, needed for `listen.tls`.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// CA certificates that TLS next hops (the upstream proxy) must chain to;
    /// empty: no TLS next hops.
    pub ca: PathBuf,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            domains: vec!["home".into()],
            listen: Listen::default(),
            auth: Auth::default(),
            registrar: Registrar::default(),
            routing: Routing::default(),
            relay: Relay::default(),
            tls: Tls::default(),
        }
    }
}

/// Listen addresses; the first of each transport goes into Via and Record-Route.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Listen {
    /// UDP sockets.
    pub udp: Vec<SocketAddr>,
    /// TCP sockets.
    pub tcp: Vec<SocketAddr>,
    /// TLS sockets (SIP over TLS, RFC 3261 §26.2; 5061 is the usual port).
    pub tls: Vec<SocketAddr>,
}

impl Default for Listen {
    fn default() -> Self {
        // 5060: the default SIP port (RFC 3261 §19.1.2). Loopback until configured.
        let addr: SocketAddr = ([127, 0, 0, 1], 5060).into();
        Listen { udp: vec![addr], tcp: vec![addr], tls: Vec::new() }
    }
}

/// Digest authentication settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    /// Challenge REGISTER, INVITE and MESSAGE from untrusted sources.
    pub enabled: bool,
    /// The Flexisip-compatible user file.
    pub passwd: PathBuf,
    /// Sources never challenged: IP addresses or CIDR blocks (`10.0.0.0/8`).
    pub trusted_hosts: Vec<String>,
    /// Nonces older than this are answered `stale=TRUE` (RFC 7616 §3.3).
    /// 300 s, as Flexisip's `nonce-expires`.
    pub nonce_lifetime_s: u64,
    /// Failed attempts from one source before it is locked out.
    pub max_failures: u32,
    /// How long a locked-out source is refused with 403.
    pub lockout_s: u64,
    /// Digest algorithms offered, one challenge each, in this order:
    /// `"SHA-256"`, `"MD5"`. Default `["MD5"]`, as Flexisip's
    /// `available-algorithms`: baresip 1.0 refuses a 401 that offers SHA-256
    /// at all, and SIPp 3.6 answers only the first challenge. liblinphone 5
    /// answers SHA-256.
    pub algorithms: Vec<String>,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            enabled: true,
            passwd: "/etc/door-station/passwd".into(),
            trusted_hosts: Vec::new(),
            nonce_lifetime_s: 300,
            max_failures: 5,
            lockout_s: 300,
            algorithms: vec!["MD5".into()],
        }
    }
}

/// Registrar settings (RFC 3261 §10.3).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Registrar {
    /// Shorter registrations get 423 Interval Too Brief with this Min-Expires.
    pub min_expires_s: u32,
    /// Longer registrations are shortened to this.
    pub max_expires_s: u32,
    /// Used when the REGISTER names no expiry (3600 s, RFC 3261 §10.2.1.1).
    pub default_expires_s: u32,
    /// The bindings file (JSON lines, rewritten atomically on change).
    pub store: PathBuf,
}

impl Default for Registrar {
    fn default() -> Self {
        Registrar {
            min_expires_s: 60,
            max_expires_s: 86_400,
            default_expires_s: 3600,
            store: "/var/lib/door-station/bindings.jsonl".into(),
        }
    }
}

/// Routing settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Routing {
    /// The Flexisip-compatible static records file; empty: none.
    pub routes: PathBuf,
    /// Forked INVITEs still ringing after this are cancelled (Timer C is
    /// "greater than 3 minutes", RFC 3261 §16.6; a door bell rings less).
    pub fork_timeout_s: u64,
    /// At most this many branches per request.
    pub max_forks: usize,
    /// The outbound proxy for foreign domains, e.g. `sip:127.0.0.1:5070`
    /// (`;transport=tcp` allowed); empty: forward to the Request-URI host.
    pub upstream: String,
    /// House users registered at the upstream proxy, so the cloud's calls come here.
    pub register_upstream: Vec<RegisterUpstream>,
}

/// One `[[routing.register_upstream]]` account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterUpstream {
    /// The address at the cloud, `sip:door@cloud.example`.
    pub aor: String,
    /// Digest username; empty: the user part of `aor`.
    pub user: String,
    /// Digest password for the cloud.
    pub password: String,
    /// The house user the cloud's calls go to (e.g. `everyone`); empty: the user part of `aor`.
    pub local: String,
    /// Expiry asked for (the cloud may shorten it).
    pub expires_s: u32,
}

impl Default for RegisterUpstream {
    fn default() -> Self {
        RegisterUpstream {
            aor: String::new(),
            user: String::new(),
            password: String::new(),
            local: String::new(),
            expires_s: 600,
        }
    }
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            routes: "/etc/door-station/routes".into(),
            fork_timeout_s: 30,
            max_forks: 16,
            upstream: String::new(),
            register_upstream: Vec::new(),
        }
    }
}

/// The early-media relay's port range.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Relay {
    /// Rewrite SDP so media flows through the proxy.
    pub enabled: bool,
    /// First relay port (even: RTP; the odd one above is RTCP).
    pub port_min: u16,
    /// Last relay port.
    pub port_max: u16,
    /// At most this many early-media legs per call.
    pub max_early_legs: usize,
    /// A relayed call whose media stopped this long is torn down (a lost BYE).
    pub idle_timeout_s: u64,
    /// The IP written into rewritten SDP and bound for relay ports; empty:
    /// the first UDP listen address (set it when listening on 0.0.0.0).
    pub address: String,
}

impl Default for Relay {
    fn default() -> Self {
        Relay {
            enabled: false,
            port_min: 40_000,
            port_max: 40_999,
            max_early_legs: 4,
            idle_timeout_s: 60,
            address: String::new(),
        }
    }
}

/// A problem in a config file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {reason}; fix: create it or pass another path")]
    Read {
        /// The file.
        file: String,
        /// The OS error.
        reason: String,
    },
    /// TOML syntax, an unknown key or a value of the wrong type.
    #[error("{file}:{line}: {key}: {message}; fix: {fix}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The key on that line (or the section).
        key: String,
        /// What the TOML reader said.
        message: String,
        /// What to do.
        fix: String,
    },
    /// A value that reads but cannot work.
    #[error("{}{key}: {problem}; fix: {fix}", located(file, *line))]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line of the key, 0 when the key is absent (its default is wrong).
        line: usize,
        /// The dotted key (`registrar.min_expires_s`).
        key: String,
        /// What is wrong.
        problem: String,
        /// What to do.
        fix: String,
    },
}

/// `file:line: `, or `file: (default of) ` for a key not in the file.
fn located(file: &str, line: usize) -> String {
    if line == 0 { format!("{file}: (default of) ") } else { format!("{file}:{line}: ") }
}

/// Reads and checks `path`.
pub fn load(path: &Path) -> Result<ProxyConfig, Vec<ConfigError>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![ConfigError::Read { file: file.clone(), reason: e.to_string() }])?;
    parse(&file, &text)
}

/// Parses and checks the text of a config file named `file`.
pub fn parse(file: &str, text: &str) -> Result<ProxyConfig, Vec<ConfigError>> {
    let cfg: ProxyConfig = toml::from_str(text).map_err(|e| vec![syntax_error(file, text, &e)])?;
    let errors = crate::config_check::validate(&cfg, &|key, problem, fix| ConfigError::Invalid {
        file: file.to_string(),
        line: line_of_key(text, key),
        key: key.to_string(),
        problem,
        fix: fix.to_string(),
    });
    if errors.is_empty() { Ok(cfg) } else { Err(errors) }
}

fn syntax_error(file: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let offset = e.span().map_or(0, |s| s.start);
    let line = text[..offset.min(text.len())].matches('\n').count() + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let key = line_text.split('=').next().unwrap_or("").trim().to_string();
    let message = e.message().trim().to_string();
    let fix = if message.contains("unknown field") {
        "remove the key or correct its spelling (see assets/proxy.toml for every key)"
    } else if message.contains("invalid type") || message.contains("invalid value") {
        "give the value the type shown in assets/proxy.toml"
    } else {
        "correct the TOML syntax on that line"
    };
    ConfigError::Syntax { file: file.to_string(), line, key, message, fix: fix.to_string() }
}

/// The 1-based line where dotted `key` (`section.name` or `name`) is set, 0 if absent.
pub fn line_of_key(text: &str, key: &str) -> usize {
    let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = s.trim().to_string();
        } else if current == section && line.split('=').next().is_some_and(|k| k.trim() == name) {
            return i + 1;
        }
    }
    0
}

/// A trusted-host entry: an address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedNet {
    addr: IpAddr,
    prefix: u8,
}

impl TrustedNet {
    /// Parses `192.168.1.5`, `192.168.1.0/24`, `::1`, `fd00::/8`.
    pub fn parse(s: &str) -> Option<TrustedNet> {
        let (ip, prefix) = match s.trim().split_once('/') {
            Some((ip, p)) => (ip.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let ip: IpAddr = s.trim().parse().ok()?;
                (ip, if ip.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(TrustedNet { addr: ip, prefix })
    }

    /// True when `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (a, b, bits) = match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u128::from(u32::from(a)) << 96, u128::from(u32::from(b)) << 96, self.prefix)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), self.prefix),
            _ => return false,
        };
        let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
        a & mask == b & mask
    }
}
