//! From files to a ready [`Proxy`](crate::core::Proxy): everything the shell
//! does before the loop, kept free of tokio so `--check-config` and the
//! tests use the same code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ds_sip::transaction::{Peer, Timers, Transport};

use crate::auth::AuthSettings;
use crate::config::{ProxyConfig, TrustedNet};
use crate::core::{Locality, ProxySettings};
use crate::passwd::Passwd;
use crate::registrar::ExpiryLimits;
use crate::routes::Routes;

/// A problem with one of the files the proxy reads, already worded for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// `proxy.toml` problems (all of them).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Config(Vec<crate::config::ConfigError>),
    /// The passwd or routes file.
    #[error("{file}: {reason}")]
    File {
        /// The file.
        file: String,
        /// What is wrong, with the line and the fix.
        reason: String,
    },
}

/// The passwd file, with its warnings. A missing file with auth disabled is empty.
pub fn load_passwd(cfg: &ProxyConfig) -> Result<(Passwd, Vec<String>), SetupError> {
    let path = &cfg.auth.passwd;
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(_) if !cfg.auth.enabled => return Ok((Passwd::default(), Vec::new())),
        Err(e) => {
            return Err(SetupError::File {
                file,
                reason: format!("cannot read: {e}; fix: create it with `intercom-proxy adduser user@domain`"),
            });
        }
    };
    let (p, w) = Passwd::parse(&text).map_err(|e| SetupError::File { file: file.clone(), reason: e.to_string() })?;
    Ok((p, w.0.into_iter().map(|w| format!("{file}: {w}")).collect()))
}

/// The routes file; an empty path means no routes.
pub fn load_routes(cfg: &ProxyConfig) -> Result<Routes, SetupError> {
    let path = &cfg.routing.routes;
    if path.as_os_str().is_empty() {
        return Ok(Routes::default());
    }
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SetupError::File {
        file: file.clone(),
        reason: format!("cannot read: {e}; fix: create it or set routing.routes = \"\""),
    })?;
    Routes::parse(&text).map_err(|e| SetupError::File { file, reason: e.to_string() })
}

/// Reads and checks the config and every file it names.
pub fn check_all(config: &Path) -> Result<(ProxyConfig, Vec<String>), SetupError> {
    let cfg = crate::config::load(config).map_err(SetupError::Config)?;
    let (_, warnings) = load_passwd(&cfg)?;
    load_routes(&cfg)?;
    Ok((cfg, warnings))
}

/// The registrar's limits.
pub fn expiry_limits(cfg: &ProxyConfig) -> ExpiryLimits {
    let r = &cfg.registrar;
    ExpiryLimits { min_s: r.min_expires_s, max_s: r.max_expires_s, default_s: r.default_expires_s }
}

/// The authenticator's settings.
pub fn auth_settings(cfg: &ProxyConfig) -> AuthSettings {
    AuthSettings {
        enabled: cfg.auth.enabled,
        trusted: cfg.auth.trusted_hosts.iter().filter_map(|t| TrustedNet::parse(t)).collect(),
        nonce_lifetime: Duration::from_secs(cfg.auth.nonce_lifetime_s),
        max_failures: cfg.auth.max_failures,
        lockout_s: cfg.auth.lockout_s,
        algorithms: cfg.auth.algorithms.iter().filter_map(|a| ds_sip::digest::Algorithm::parse(a).ok()).collect(),
    }
}

/// The core's settings; `upstream` is the resolved outbound proxy.
pub fn proxy_settings(cfg: &ProxyConfig, upstream: Option<Peer>) -> ProxySettings {
    let udp = cfg.listen.udp.iter().map(|a| Peer { addr: *a, transport: Transport::Udp });
    let tcp = cfg.listen.tcp.iter().map(|a| Peer { addr: *a, transport: Transport::Tcp });
    let tls = cfg.listen.tls.iter().map(|a| Peer { addr: *a, transport: Transport::Tls });
    ProxySettings {
        locality: Locality {
            domains: cfg.domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
            local: udp.chain(tcp).chain(tls).collect(),
            upstream,
        },
        fork_timeout: Duration::from_secs(cfg.routing.fork_timeout_s),
        max_forks: cfg.routing.max_forks,
        timers: Timers::default(),
        relay: relay_settings(cfg),
        upstream_accounts: cfg.routing.register_upstream.iter().map(upstream_account).collect(),
    }
}

fn upstream_account(a: &crate::config::RegisterUpstream) -> crate::core::UpstreamAccount {
    let aor_user = crate::routes::user_host(&a.aor).map(|(u, _)| u.to_string()).unwrap_or_default();
    crate::core::UpstreamAccount {
        aor: a.aor.clone(),
        user: if a.user.is_empty() { aor_user.clone() } else { a.user.clone() },
        password: a.password.clone(),
        local: if a.local.is_empty() { aor_user } else { a.local.clone() },
        expires_s: a.expires_s,
    }
}

/// The relay's settings when `[relay] enabled`: SDP names `relay.address`,
/// else the first UDP listen IP.
pub fn relay_settings(cfg: &ProxyConfig) -> Option<crate::relay::RelaySettings> {
    let r = &cfg.relay;
    let ip = r.address.parse().ok().or_else(|| cfg.listen.udp.first().map(|a| a.ip()))?;
    r.enabled.then_some(crate::relay::RelaySettings {
        ip,
        port_min: r.port_min,
        port_max: r.port_max,
        max_early_legs: r.max_early_legs,
    })
}

/// `adduser`: sets the password of `identity` (`user@domain`) in `passwd`,
/// writing only hashes, atomically. A missing file is created.
pub fn add_user(passwd: &Path, identity: &str, password: &str) -> Result<(), SetupError> {
    let file = passwd.display().to_string();
    let fail = |reason: String| SetupError::File { file: file.clone(), reason };
    let (user, domain) = identity
        .split_once('@')
        .filter(|(u, d)| !u.is_empty() && !d.is_empty())
        .ok_or_else(|| fail(format!("{identity:?} is not user@domain; fix: write e.g. alice@home")))?;
    if password.is_empty() {
        return Err(fail("empty password; fix: type a password on standard input".into()));
    }
    let mut users = match std::fs::read_to_string(passwd) {
        Ok(text) => Passwd::parse(&text).map_err(|e| fail(e.to_string()))?.0,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Passwd::default(),
        Err(e) => return Err(fail(format!("cannot read: {e}"))),
    };
    users.set_password(user, domain, password);
    write_atomically(passwd, users.to_text().as_bytes()).map_err(|e| fail(format!("cannot write: {e}")))
}

/// Temporary file, fsync, rename, fsync of the directory: a crash leaves
/// the old or the new content, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp: PathBuf = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ds_sip::digest::{Algorithm, ha1};

    #[test]
    fn add_user_writes_hashes_and_keeps_others() {
        let dir = std::env::temp_dir().join(format!("intercom-proxy-adduser-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("passwd");
        std::fs::write(&path, "version:1\nbob@home clrtxt:pw ;\n").unwrap();
        add_user(&path, "alice@home", "secret").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("secret"));
        let (p, _) = Passwd::parse(&text).unwrap();
        assert!(p.contains("bob", "home"));
        let alice = p.get("alice", "home").unwrap();
        assert_eq!(alice.md5.as_deref(), Some(ha1(Algorithm::Md5, "alice", "home", "secret").as_str()));
        assert!(add_user(&path, "nodomain", "x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sample_files_pass_the_full_check() {
        let mut cfg = ProxyConfig::default();
        let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets");
        cfg.auth.passwd = assets.join("passwd");
        cfg.routing.routes = assets.join("routes");
        let (passwd, warnings) = load_passwd(&cfg).unwrap();
        assert!(warnings.is_empty(), "the sample stores only hashes");
        assert!(passwd.contains("alice", "home"));
        assert_eq!(load_routes(&cfg).unwrap().len(), 1);
    }
}
