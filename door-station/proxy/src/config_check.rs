//! The checks `proxy.toml` must pass beyond its types.

use crate::config::{ProxyConfig, TrustedNet};
use ds_sip::transaction::Transport;

/// The outbound proxy, as written in `routing.upstream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUri {
    /// Host (name or IP), without brackets.
    pub host: String,
    /// Port, 5060 when absent (RFC 3261 §19.1.2).
    pub port: u16,
    /// From `;transport=`, UDP when absent.
    pub transport: Transport,
}

impl UpstreamUri {
    /// Parses `sip:host[:port][;transport=udp|tcp|tls]`.
    pub fn parse(s: &str) -> Option<UpstreamUri> {
        let rest = s.trim().strip_prefix("sip:")?;
        let mut parts = rest.split(';');
        let host_port = parts.next()?;
        let host_port = host_port.rsplit('@').next()?;
        let (host, port) = match host_port.strip_prefix('[') {
            Some(v6) => {
                let (h, after) = v6.split_once(']')?;
                (h.to_string(), after.strip_prefix(':').map(str::parse).transpose().ok()?)
            }
            None => match host_port.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.parse().ok()?)),
                None => (host_port.to_string(), None),
            },
        };
        let mut transport = Transport::Udp;
        for p in parts {
            if let Some(t) = p.strip_prefix("transport=") {
                transport = Transport::from_via_token(t)?;
            }
        }
        (!host.is_empty()).then_some(UpstreamUri { host, port: port.unwrap_or(5060), transport })
    }
}

type MakeError<'a> = dyn Fn(&str, String, &str) -> crate::config::ConfigError + 'a;

/// Every problem in `cfg`; `err(key, problem, fix)` builds one error.
pub fn validate(cfg: &ProxyConfig, err: &MakeError<'_>) -> Vec<crate::config::ConfigError> {
    let mut out = Vec::new();
    check_domains(cfg, err, &mut out);
    check_expires(cfg, err, &mut out);
    check_auth(cfg, err, &mut out);
    check_routing(cfg, err, &mut out);
    check_relay(cfg, err, &mut out);
    check_tls(cfg, err, &mut out);
    out
}

fn check_tls(cfg: &ProxyConfig, err: &MakeError<'_>, out: &mut Vec<crate::config::ConfigError>) {
    let t = &cfg.tls;
    if !cfg.listen.tls.is_empty() && (t.cert.as_os_str().is_empty() || t.key.as_os_str().is_empty()) {
        out.push(err(
            "tls.cert",
            "listen.tls is set but tls.cert or tls.key is empty".into(),
            "give the PEM certificate chain and key",
        ));
    }
    let tls_upstream = UpstreamUri::parse(&cfg.routing.upstream).is_some_and(|u| u.transport == Transport::Tls);
    if tls_upstream && t.ca.as_os_str().is_empty() {
        out.push(err(
            "tls.ca",
            "the upstream uses TLS but tls.ca is empty".into(),
            "give the PEM CA the upstream's certificate chains to",
        ));
    }
}

fn check_domains(cfg: &ProxyConfig, err: &MakeError<'_>, out: &mut Vec<crate::config::ConfigError>) {
    if cfg.domains.is_empty() {
        out.push(err("domains", "no domain".into(), "list at least one, e.g. domains = [\"home\"]"));
    }
    for d in &cfg.domains {
        if d.is_empty() || d.contains(['@', ':', ' ', '<', '>']) {
            out.push(err("domains", format!("{d:?} is not a host name"), "write the bare domain, e.g. \"home\""));
        }
    }
    if cfg.listen.udp.is_empty() && cfg.listen.tcp.is_empty() {
        out.push(err("listen.udp", "no listen address".into(), "add e.g. udp = [\"0.0.0.0:5060\"]"));
    }
}

fn check_expires(cfg: &ProxyConfig, err: &MakeError<'_>, out: &mut Vec<crate::config::ConfigError>) {
    let r = &cfg.registrar;
    if r.min_expires_s == 0 {
        out.push(err("registrar.min_expires_s", "is 0".into(), "use at least 1 (60 is usual)"));
    }
    if r.min_expires_s > r.max_expires_s {
        let p = format!("min {} is above max {}", r.min_expires_s, r.max_expires_s);
        out.push(err("registrar.min_expires_s", p, "make min_expires_s <= max_expires_s"));
    }
    if !(r.min_expires_s..=r.max_expires_s).contains(&r.default_expires_s) {
        let p = format!("{} is outside {}..={}", r.default_expires_s, r.min_expires_s, r.max_expires_s);
        out.push(err("registrar.default_expires_s", p, "pick a value between min_expires_s and max_expires_s"));
    }
}

fn check_auth(cfg: &ProxyConfig, err: &MakeError<'_>, out: &mut Vec<crate::config::ConfigError>) {
    for t in &cfg.auth.trusted_hosts {
        if TrustedNet::parse(t).is_none() {
            out.push(err("auth.trusted_hosts", format!("{t:?} is not an IP or CIDR"), "write e.g. \"192.168.1.0/24\""));
        }
    }
    let algs = &cfg.auth.algorithms;
    if algs.is_empty() || algs.iter().any(|a| ds_sip::digest::Algorithm::parse(a).is_err()) {
        out.push(err(
            "auth.algorithms",
            format!("{algs:?} is not a list of \"SHA-256\" and \"MD5\""),
            "write e.g. [\"SHA-256\", \"MD5\"]",
        ));
    }
    if cfg.auth.nonce_lifetime_s == 0 {
        out.push(err("auth.nonce_lifetime_s", "is 0".into(), "use e.g. 300"));
    }
    if cfg.auth.enabled && cfg.auth.passwd.as_os_str().is_empty() {
        out.push(err(
            "auth.passwd",
            "empty while auth is enabled".into(),
            "give the passwd path or set enabled = false",
        ));
    }
}

fn check_routing(cfg: &ProxyConfig, err: &MakeError<'_>, out: &mut Vec<crate::config::ConfigError>) {
    let r = &cfg.routing;
    if r.fork_timeout_s == 0 {
        out.push(err("routing.fork_timeout_s", "is 0".into(), "use e.g. 30"));
    }
    if r.max_forks == 0 {
        out.push(err("routing.max_forks", "is 0".into(), "use e.g. 16"));
    }
    if !r.upstream.is_empty() && UpstreamUri::parse(&r.upstream).is_none() {
        let p = format!("{:?} is not sip:host[:port][;transport=udp|tcp]", r.upstream);
        out.push(err("routing.upstream", p, "write e.g. \"sip:cloud.example:5060;transport=tcp\" or leave it empty"));
    }
    for a in &r.register_upstream {
        if crate::routes::Aor::of_uri(&a.aor).is_none_or(|aor| aor.user().is_empty()) {
            out.push(err(
                "routing.register_upstream",
                format!("aor {:?} is not sip:user@domain", a.aor),
                "write e.g. aor = \"sip:door@cloud.example\"",
            ));
        }
        if r.upstream.is_empty() {
            out.push(err(
                "routing.upstream",
                "empty, but register_upstream needs it".into(),
                "set upstream = \"sip:cloud.example\"",
            ));
        }
        if a.expires_s < 60 {
            out.push(err(
                "routing.register_upstream",
                format!("expires_s {} is below 60", a.expires_s),
                "use e.g. 600",
            ));
        }
    }
}

fn check_relay(cfg: &ProxyConfig, err: &MakeError<'_>, out: &mut Vec<crate::config::ConfigError>) {
    let r = &cfg.relay;
    if r.port_min >= r.port_max || !r.port_min.is_multiple_of(2) || r.port_min < 1024 {
        let p = format!("{}..{} is not an even-started range above 1023", r.port_min, r.port_max);
        out.push(err("relay.port_min", p, "use e.g. port_min = 40000, port_max = 40999"));
    }
    let addr_ok = if r.address.is_empty() {
        cfg.listen.udp.first().is_some_and(|a| !a.ip().is_unspecified())
    } else {
        r.address.parse::<std::net::IpAddr>().is_ok_and(|ip| !ip.is_unspecified())
    };
    if r.enabled && !addr_ok {
        out.push(err(
            "relay.address",
            format!("{:?} gives no address to put into SDP", r.address),
            "set the proxy's LAN IP, e.g. address = \"192.168.1.2\"",
        ));
    }
    if r.max_early_legs == 0 {
        out.push(err("relay.max_early_legs", "is 0".into(), "use e.g. 4"));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, TrustedNet, parse};

    use super::*;

    #[test]
    fn the_sample_file_is_valid() {
        let text = include_str!("../../../assets/proxy.toml");
        let cfg = parse("proxy.toml", text).expect("the sample must load");
        assert_eq!(cfg.domains, vec!["home".to_string()]);
        assert!(cfg.auth.enabled);
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(parse("p.toml", "").unwrap(), ProxyConfig::default());
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let text = "domains = [\"home\"]\n[registrar]\nmin_expire_s = 10\n";
        let errs = parse("p.toml", text).unwrap_err();
        match &errs[0] {
            ConfigError::Syntax { line, key, message, .. } => {
                assert_eq!((*line, key.as_str()), (3, "min_expire_s"));
                assert!(message.contains("unknown field"), "{message}");
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn invalid_values_name_their_line_and_fix() {
        let text = "[registrar]\nmin_expires_s = 600\nmax_expires_s = 60\n[routing]\nupstream = \"http://x\"\n";
        let errs = parse("p.toml", text).unwrap_err();
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(
            shown.iter().any(|e| e.starts_with("p.toml:2: registrar.min_expires_s: min 600 is above max 60")),
            "{shown:?}"
        );
        assert!(shown.iter().any(|e| e.starts_with("p.toml:5: routing.upstream:") && e.contains("fix:")), "{shown:?}");
    }

    #[test]
    fn upstream_accounts_need_an_upstream_and_an_aor() {
        let text = "[[routing.register_upstream]]\naor = \"sip:door@cloud\"\npassword = \"pw\"\n";
        let errs = parse("p.toml", text).unwrap_err();
        assert!(errs.iter().any(|e| e.to_string().contains("register_upstream needs it")), "{errs:?}");
        let ok = format!("[routing]\nupstream = \"sip:127.0.0.1:5070\"\n{}", text);
        let cfg = parse("p.toml", &ok).unwrap();
        assert_eq!(cfg.routing.register_upstream[0].expires_s, 600);
        let bad = "[routing]\nupstream = \"sip:x\"\n[[routing.register_upstream]]\naor = \"cloud\"\n";
        assert!(parse("p.toml", bad).is_err());
    }

    #[test]
    fn upstream_uri_forms() {
        let u = UpstreamUri::parse("sip:127.0.0.1:5070;transport=tcp").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.transport), ("127.0.0.1", 5070, Transport::Tcp));
        assert_eq!(UpstreamUri::parse("sip:cloud.example").unwrap().port, 5060);
        assert!(UpstreamUri::parse("sip:x;transport=carrier-pigeon").is_none());
    }

    #[test]
    fn trusted_nets_match_by_prefix() {
        let net = TrustedNet::parse("192.168.1.0/24").unwrap();
        assert!(net.contains("192.168.1.77".parse().unwrap()));
        assert!(!net.contains("192.168.2.1".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        assert!(TrustedNet::parse("::1").unwrap().contains("::1".parse().unwrap()));
        assert!(TrustedNet::parse("10.0.0.0/33").is_none());
    }
}
