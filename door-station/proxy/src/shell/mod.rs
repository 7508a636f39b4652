//! The tokio shell around the sans-IO core: sockets, the clock, signals and
//! the bindings file. One task owns the core; socket tasks feed it through
//! one channel.
//!
//! ```text
//! loop {
//!     select { inbound message | deadline from core.next_timeout() | SIGHUP | SIGTERM | store flush }
//!     feed the core, then drain core.poll_output() to the sockets
//!     bindings changed? flush the store within STORE_DELAY
//!     WATCHDOG=1 to systemd when due (READY=1 before the loop, STOPPING=1 after it)
//! }
//! ```

mod relay;
mod systemd;
mod tcp;
mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ds_sip::message::intake::Intake;
use ds_sip::transaction::{Peer, Transport};
use intercom_proxy::auth::Authenticator;
use intercom_proxy::config::ProxyConfig;
use intercom_proxy::config_check::UpstreamUri;
use intercom_proxy::core::{Proxy, ProxyParts, Transmit};
use intercom_proxy::registrar::{Registrar, store};
use intercom_proxy::setup;
use tokio::net::UdpSocket;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// Bindings changes are written at most this long after they happen: a
/// REGISTER burst costs one fsync, a crash loses at most this much.
const STORE_DELAY: Duration = Duration::from_millis(500);

/// What the socket tasks tell the core's task.
pub enum Inbound {
    /// A datagram or a framed stream message.
    Intake(Peer, Intake),
    /// A TCP connection is up; messages for `addr` go to the sender.
    Connected(SocketAddr, mpsc::UnboundedSender<Vec<u8>>),
    /// A TCP connection is gone.
    Closed(SocketAddr),
}

/// Runs the proxy until SIGTERM or SIGINT.
pub async fn run(config_path: PathBuf, cfg: ProxyConfig) -> Result<(), String> {
    let mut core = build_core(&config_path, &cfg).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let udp = bind_udp(&cfg, &tx).await?;
    let tls = tls::Tls::load(&cfg)?;
    tcp::listen(&cfg.listen.tcp, Transport::Tcp, None, &tx).await?;
    if !cfg.listen.tls.is_empty() {
        tcp::listen(&cfg.listen.tls, Transport::Tls, tls.clone(), &tx).await?;
    }
    let streams = Streams {
        tls,
        upstream_name: UpstreamUri::parse(&cfg.routing.upstream).map(|u| u.host),
        upstream: core.upstream(),
    };
    let mut conns: HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>> = HashMap::new();
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut flush_at: Option<Instant> = None;
    let (relay, mut idle) = match setup::relay_settings(&cfg) {
        Some(r) => {
            let (tx, idle) = relay::spawn(r.ip, Duration::from_secs(cfg.relay.idle_timeout_s.max(1)));
            (Some(tx), Some(idle))
        }
        None => (None, None),
    };
    tracing::info!(
        "intercom-proxy up: udp {:?} tcp {:?}, {} bindings",
        cfg.listen.udp,
        cfg.listen.tcp,
        core.registrar().len()
    );
    systemd::ready();
    let mut watchdog = systemd::Watchdog::from_env(Instant::now());
    loop {
        watchdog.tick(Instant::now());
        let wake = [core.next_timeout(), flush_at, watchdog.due()].into_iter().flatten().min();
        let sleep = tokio::time::sleep_until(wake.map_or_else(far_future, tokio::time::Instant::from_std));
        tokio::select! {
            Some(msg) = rx.recv() => on_inbound(&mut core, &mut conns, msg),
            () = sleep => core.handle_timeout(Instant::now()),
            Some(call) = recv_idle(&mut idle) => core.relay_idle(&call),
            _ = hup.recv() => reload(&mut core, &cfg),
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
        while let Some(t) = core.poll_output() {
            send(&udp, &streams, &mut conns, &tx, t);
        }
        if let Some(relay) = &relay {
            for change in core.take_relay_changes() {
                let _ = relay.send(change);
            }
        }
        if core.take_bindings_changed() {
            flush_at.get_or_insert(Instant::now() + STORE_DELAY);
        }
        if flush_at.is_some_and(|t| t <= Instant::now()) {
            flush_at = None;
            save(&cfg, &core);
        }
    }
    systemd::stopping();
    save(&cfg, &core);
    tracing::info!("intercom-proxy stopped");
    Ok(())
}

async fn recv_idle(idle: &mut Option<mpsc::UnboundedReceiver<String>>) -> Option<String> {
    match idle {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(3600)
}

fn epoch_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

async fn build_core(config_path: &std::path::Path, cfg: &ProxyConfig) -> Result<Proxy, String> {
    let (passwd, warnings) = setup::load_passwd(cfg).map_err(|e| e.to_string())?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let routes = setup::load_routes(cfg).map_err(|e| e.to_string())?;
    let (bindings, bad) =
        store::load(&cfg.registrar.store).map_err(|e| format!("{}: {e}", cfg.registrar.store.display()))?;
    for w in bad {
        tracing::warn!("{}: {w}", cfg.registrar.store.display());
    }
    let registrar = Registrar::restore(setup::expiry_limits(cfg), bindings, epoch_s());
    let upstream = resolve_upstream(cfg).await?;
    let secret: [u8; 32] = rand::random();
    let auth = Authenticator::new(setup::auth_settings(cfg), secret.to_vec(), passwd);
    let parts = ProxyParts { registrar, auth, routes };
    tracing::debug!("config {} loaded", config_path.display());
    Ok(Proxy::new(setup::proxy_settings(cfg, upstream), parts, Instant::now(), epoch_s(), rand::random::<u32>().into()))
}

async fn resolve_upstream(cfg: &ProxyConfig) -> Result<Option<Peer>, String> {
    let Some(uri) = UpstreamUri::parse(&cfg.routing.upstream) else { return Ok(None) };
    let mut addrs = tokio::net::lookup_host((uri.host.as_str(), uri.port))
        .await
        .map_err(|e| format!("routing.upstream: cannot resolve {}: {e}", uri.host))?;
    let addr = addrs.next().ok_or_else(|| format!("routing.upstream: {} has no address", uri.host))?;
    Ok(Some(Peer { addr, transport: uri.transport }))
}

async fn bind_udp(cfg: &ProxyConfig, tx: &mpsc::UnboundedSender<Inbound>) -> Result<Vec<Arc<UdpSocket>>, String> {
    let mut out = Vec::new();
    for addr in &cfg.listen.udp {
        let sock = Arc::new(UdpSocket::bind(addr).await.map_err(|e| format!("listen.udp {addr}: {e}"))?);
        let (reader, tx) = (sock.clone(), tx.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok((n, from)) = reader.recv_from(&mut buf).await {
                let intake = ds_sip::message::intake::parse_datagram(&buf[..n]);
                if tx.send(Inbound::Intake(Peer::udp(from), intake)).is_err() {
                    break;
                }
            }
        });
        out.push(sock);
    }
    Ok(out)
}

fn on_inbound(core: &mut Proxy, conns: &mut HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>, msg: Inbound) {
    match msg {
        Inbound::Intake(from, intake) => core.handle_intake(Instant::now(), from, intake),
        Inbound::Connected(addr, writer) => {
            conns.insert(addr, writer);
        }
        Inbound::Closed(addr) => {
            conns.remove(&addr);
        }
    }
}

/// What stream connections need: TLS, and the upstream's name for its certificate.
struct Streams {
    tls: Option<tls::Tls>,
    upstream_name: Option<String>,
    upstream: Option<Peer>,
}

fn send(
    udp: &[Arc<UdpSocket>],
    streams: &Streams,
    conns: &mut HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>,
    tx: &mpsc::UnboundedSender<Inbound>,
    t: Transmit,
) {
    match t.dest.transport {
        Transport::Udp => {
            let sock =
                udp.iter().find(|s| s.local_addr().is_ok_and(|a| a.is_ipv4() == t.dest.addr.is_ipv4())).or(udp.first());
            if let Some(Err(e)) = sock.map(|s| s.try_send_to(&t.bytes, t.dest.addr)) {
                tracing::debug!("udp to {}: {e}", t.dest.addr);
            }
        }
        Transport::Tcp | Transport::Tls => {
            if t.dest.transport == Transport::Tls
                && !conns.contains_key(&t.dest.addr)
                && !streams.tls.as_ref().is_some_and(tls::Tls::can_connect)
            {
                return tracing::warn!("TLS to {}: no tls.ca configured; dropped", t.dest.addr);
            }
            let tls = (t.dest.transport == Transport::Tls).then(|| {
                let name = match (&streams.upstream_name, streams.upstream) {
                    (Some(n), Some(up)) if up == t.dest => n.clone(),
                    _ => t.dest.addr.ip().to_string(),
                };
                streams.tls.clone().map(|tls| (tls, name))
            });
            let writer = conns.entry(t.dest.addr).or_insert_with(|| tcp::connect(t.dest, tls.flatten(), tx.clone()));
            if writer.send(t.bytes).is_err() {
                conns.remove(&t.dest.addr);
            }
        }
    }
}

fn reload(core: &mut Proxy, cfg: &ProxyConfig) {
    match (setup::load_passwd(cfg), setup::load_routes(cfg)) {
        (Ok((passwd, warnings)), Ok(routes)) => {
            for w in warnings {
                tracing::warn!("{w}");
            }
            tracing::info!("SIGHUP: {} users, {} routes reloaded", passwd.len(), routes.len());
            core.reload(passwd, routes);
        }
        (Err(e), _) | (_, Err(e)) => tracing::error!("SIGHUP: kept the old users and routes: {e}"),
    }
}

fn save(cfg: &ProxyConfig, core: &Proxy) {
    if let Err(e) = store::save(&cfg.registrar.store, &core.bindings()) {
        tracing::error!("{}: bindings not saved: {e}", cfg.registrar.store.display());
    }
}
