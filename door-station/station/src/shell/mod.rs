//! The tokio shell around the engine: everything that does I/O.
//!
//! [`run`] opens, in this order: the relay (released at once) and the
//! buttons, the access back-ends (Wiegand, OSDP reader, door inputs), the
//! SIP sockets, the RTP sockets, the control socket; it builds
//! the engine's configuration from what was bound, starts the tasks and
//! runs the loop of [`station`] on a current-thread runtime until SIGINT or
//! SIGTERM. Then it releases the relay, stops the access back-ends (a queued
//! Wiegand frame still goes out), stops every task (mini-redis style,
//! see [`shutdown`]) and removes the control socket.
//!
//! - [`transport`]: SIP over UDP and TCP, intake, connection reuse.
//! - [`rtp`]: the RTP port pair, RFC 4733 decoding, media activity.
//! - [`media`]: the camera and microphone fanned out per dialog, the
//!   answered call's audio to the speaker.
//! - [`sources`], [`speaker`]: the device threads (`[media]` back-ends).
//! - [`rtcp`]: PLI/FIR on the odd ports ask the camera for a key frame.
//! - [`hardware`]: relay and buttons (ds-hw), `DOOR_STATION_RELAY_LOG`.
//! - [`access`]: Wiegand, OSDP and the door inputs, `DOOR_STATION_WIEGAND_LOG`.
//! - [`station`]: the run loop.
//! - [`systemd`]: `READY=1`, `WATCHDOG=1`, `STOPPING=1` (`Type=notify`).
//!
//! # What it does not do
//! - RTCP is only read for PLI/FIR; no sender or receiver reports are sent.
//! - No SIP over TLS (a TLS destination is logged and dropped) and no DNS:
//!   registrar and proxy are IP:port (`[sip]`), as the engine needs.
//! - Received video is only watched for activity, never shown.

pub mod access;
pub mod hardware;
pub mod media;
pub mod reports;
pub mod rtcp;
pub mod rtcp_report;
pub mod rtp;
pub mod shutdown;
pub mod sources;
pub mod speaker;
pub mod station;
pub mod systemd;
pub mod transport;

use crate::config::{RuntimeAddrs, StationConfig};
use crate::events::EventBus;
use crate::{control, engine::Engine};
use anyhow::Context;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;
use tokio::sync::{mpsc, watch};

/// Run the station until SIGINT or SIGTERM.
pub fn run(config: StationConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (stop_tx, stop) = watch::channel(0);
        tokio::spawn(stop_on_signals(stop_tx)?);
        run_station(config, stop).await
    })
}

/// A task that counts SIGINT and SIGTERM into `stop`: the first starts the
/// graceful shutdown, a second cuts it short.
pub fn stop_on_signals(stop: watch::Sender<u32>) -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut int, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    Ok(async move {
        loop {
            tokio::select! {
                _ = int.recv() => tracing::info!("SIGINT"),
                _ = term.recv() => tracing::info!("SIGTERM"),
            }
            if stop.is_closed() {
                return;
            }
            stop.send_modify(|n| *n += 1);
        }
    })
}

/// Run the station until `stop` counts a request, then shut down gracefully.
pub async fn run_station(config: StationConfig, stop: watch::Receiver<u32>) -> anyhow::Result<()> {
    let trigger = shutdown::ShutdownTrigger::new();
    let (press_tx, presses) = mpsc::unbounded_channel();
    let hw = hardware::Hardware::open(&config, press_tx).context("relay and buttons")?;
    let (access_tx, access_news) = mpsc::unbounded_channel();
    let access = access::Access::open(&config, access_tx).context("access control")?;
    let sockets = transport::SipSockets::bind(config.sip.listen)
        .await
        .with_context(|| format!("SIP socket on [sip] listen = \"{}\"", config.sip.listen))?;
    let sip_local = sockets.local_addr()?;
    let own_ip = advertised_ip(sip_local.ip(), &config)?;
    let rtp = rtp::RtpSockets::bind(sip_local.ip(), config.media.rtp_port_min, config.media.rtp_port_max).await?;
    let addrs = RuntimeAddrs { sip: SocketAddr::new(own_ip, sip_local.port()), media: own_ip, rtp_ports: rtp.ports()? };
    let (active_tx, active_rx) = watch::channel(None);
    let mut handles =
        media::spawn(media::MediaSettings::from_config(&config), rtp.clone(), active_tx, trigger.subscribe())?;
    let video = handles.video_parameters.take().or_else(|| camera_parameters(&config));
    let mut engine_config = config.engine_config(&addrs, video.as_ref())?;
    engine_config.media.srtp_secret = rand::random();
    let listener = control::bind(&config.control.socket)
        .with_context(|| format!("control socket {}", config.control.socket.display()))?;

    let started = Instant::now();
    let bus = EventBus::new(started);
    let (sip_tx, sip) = mpsc::channel(256);
    let sip_sender = sockets.start(sip_tx, trigger.subscribe());
    let (media_tx, media) = mpsc::channel(256);
    rtcp::spawn(
        (rtp.video_rtcp.clone(), reports::Stream::Video),
        handles.camera.clone(),
        (active_rx.clone(), rtp.receptions.clone()),
        trigger.subscribe(),
    );
    rtcp::spawn(
        (rtp.audio_rtcp.clone(), reports::Stream::Audio),
        None,
        (active_rx.clone(), rtp.receptions.clone()),
        trigger.subscribe(),
    );
    rtp::spawn_receivers(&rtp, active_rx, media_tx, handles.speaker.clone(), &trigger.subscribe());
    let media_commands = handles.commands;
    let (control_tx, control) = mpsc::channel(16);
    tokio::spawn(control::serve(listener, control_tx, bus.clone(), trigger.subscribe()));
    tracing::info!(sip = %addrs.sip, rtp = ?addrs.rtp_ports, control = %config.control.socket.display(), "door station running");

    let engine = Engine::new(engine_config, started, rand::random());
    let notifier = systemd::Notifier::from_env(started);
    notifier.ready();
    let station = station::Station { engine, hw, access, sip: sip_sender, media: media_commands, bus, notifier };
    let feeds = station::Feeds { sip, media, presses, control, access: access_news, stop };
    let (mut hw, access) = station.run(feeds).await;
    hw.release(Instant::now());
    access.shutdown();
    trigger.shutdown().await;
    let _ = std::fs::remove_file(&config.control.socket);
    tracing::info!("stopped");
    Ok(())
}

/// The address peers reach us at, for Via, Contact and SDP. For a wildcard
/// `listen`, the interface the kernel would use towards the registrar or
/// proxy (a connected UDP socket sends nothing).
fn advertised_ip(bound: IpAddr, config: &StationConfig) -> anyhow::Result<IpAddr> {
    if !bound.is_unspecified() {
        return Ok(bound);
    }
    let towards = config.sip.outbound_proxy.or(config.sip.registrar).context(
        "[sip] listen is a wildcard address and there is no registrar or outbound proxy to find the \
         interface by; set listen to this station's address, e.g. listen = \"192.168.1.20:5060\"",
    )?;
    let probe = std::net::UdpSocket::bind(SocketAddr::new(bound, 0))?;
    probe.connect(towards)?;
    Ok(probe.local_addr()?.ip())
}

/// SPS/PPS for the SDP when the camera gave no IDR at start (see
/// [`sources::camera`]), from a throw-away encoder: only when the camera's
/// frames are encoded by OpenH264 with the same settings, which writes the
/// same SPS/PPS. A GStreamer encoder (x264, the Pi's hardware) writes its
/// own, which the stream carries in-band before every IDR; the SDP then
/// leaves `sprop-parameter-sets` out (optional, RFC 6184 §8.1).
fn camera_parameters(config: &StationConfig) -> Option<ds_media::h264::SdpParameters> {
    use crate::config::{CameraKind, VideoEncoder};
    let m = &config.media;
    let openh264 = match m.camera {
        CameraKind::Pattern | CameraKind::V4l => true,
        CameraKind::Gstreamer => m.video_encoder == VideoEncoder::Openh264,
    };
    if !m.video || !openh264 {
        return None;
    }
    ds_media::h264::sdp_parameters(config.video_config())
        .map_err(|e| tracing::warn!(error = %e, "no H.264 parameters for the SDP offer"))
        .ok()
}

#[cfg(test)]
mod tests;
