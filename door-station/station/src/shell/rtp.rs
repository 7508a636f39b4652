//! The RTP sockets and what arrives on them.
//!
//! The engine puts one audio and one video port in every SDP it writes
//! ([`crate::engine::MediaConfig`]), and it has at most one call at a time,
//! so the shell binds that pair once, at start, from `[media] rtp_port_min`
//! ..`rtp_port_max` (the first free even pair, RFC 3550 §11), and every
//! call uses it.
//!
//! Any valid RTP that arrives while a call's media runs is reported as
//! [`Input::MediaActivity`] (at most once per [`ACTIVITY_EVERY`]); RFC 4733
//! telephone-events on the audio socket go through ds-media's
//! [`DtmfDecoder`] (end bit, redundancy, duplicates) and become
//! [`Input::Dtmf`]. [`Receiver`] is the sans-IO part; [`spawn_receivers`]
//! runs it on both sockets.

use crate::engine::{CallId, DtmfVia, Input, StreamProtection};
use crate::shell::reports::SharedReceptions;
use crate::shell::shutdown::Shutdown;
use crate::shell::speaker::SpeakerInput;
use ds_media::dtmf::{DEFAULT_EVENT_TIMEOUT, DtmfDecoder};
use ds_media::jitter::Arrival;
use ds_media::srtp::{Protection, SrtpSession};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

/// How often media activity is reported per call ("once a second is
/// plenty" for the engine's RTP timeout).
pub const ACTIVITY_EVERY: Duration = Duration::from_secs(1);

/// The bound audio and video sockets, RTP and RTCP.
#[derive(Debug, Clone)]
pub struct RtpSockets {
    /// Audio RTP.
    pub audio: Arc<UdpSocket>,
    /// Video RTP.
    pub video: Arc<UdpSocket>,
    /// Audio RTCP (audio port + 1).
    pub audio_rtcp: Arc<UdpSocket>,
    /// Video RTCP (video port + 1).
    pub video_rtcp: Arc<UdpSocket>,
    /// What arrives from the peer, for our RTCP reports.
    pub receptions: SharedReceptions,
}

impl RtpSockets {
    /// The first free even pair `(p, p + 2)` in `min..=max`, on `ip`, with
    /// their RTCP ports `p + 1` and `p + 3`.
    pub async fn bind(ip: IpAddr, min: u16, max: u16) -> io::Result<RtpSockets> {
        let mut port = min.saturating_add(min % 2);
        while u32::from(port) + 3 <= u32::from(max) {
            let bind = |p: u16| UdpSocket::bind(SocketAddr::new(ip, p));
            if let Ok(audio) = bind(port).await
                && let Ok(audio_rtcp) = bind(port + 1).await
                && let Ok(video) = bind(port + 2).await
                && let Ok(video_rtcp) = bind(port + 3).await
            {
                let [audio, video, audio_rtcp, video_rtcp] = [audio, video, audio_rtcp, video_rtcp].map(Arc::new);
                return Ok(RtpSockets {
                    audio,
                    video,
                    audio_rtcp,
                    video_rtcp,
                    receptions: SharedReceptions::default(),
                });
            }
            port += 2;
        }
        let msg = format!("no free RTP port pair in {min}..={max} on {ip}; widen [media] rtp_port_min/max");
        Err(io::Error::new(io::ErrorKind::AddrInUse, msg))
    }

    /// The bound ports: audio, video.
    pub fn ports(&self) -> io::Result<(u16, u16)> {
        Ok((self.audio.local_addr()?.port(), self.video.local_addr()?.port()))
    }
}

/// The call whose media runs, as the receivers need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveCall {
    /// The call.
    pub call: CallId,
    /// The telephone-event payload type negotiated for its audio.
    pub telephone_event: Option<u8>,
    /// SRTP keys of its streams.
    pub srtp: StreamProtection,
}

/// What one socket's receiver remembers.
#[derive(Debug, Default)]
pub struct Receiver {
    decoder: Option<(ActiveCall, DtmfDecoder)>,
    last_report: Option<(CallId, Instant)>,
}

impl Receiver {
    /// One datagram arrived; `dtmf` is true on the audio socket.
    pub fn on_datagram(
        &mut self,
        now: Instant,
        datagram: &[u8],
        active: Option<&ActiveCall>,
        dtmf: bool,
    ) -> Vec<Input> {
        let Some(active) = active else { return Vec::new() };
        let Ok(packet) = ds_media::rtp_session::parse(datagram) else { return Vec::new() };
        let mut inputs = self.activity(now, &active.call);
        if dtmf && let Some(digit) = self.decoder_for(active).and_then(|d| d.feed(now, &packet)) {
            inputs.push(dtmf_input(&active.call, digit.as_char()));
        }
        inputs
    }

    /// The decoder's deadline passed: an event without an end packet ends.
    pub fn on_timeout(&mut self, now: Instant) -> Vec<Input> {
        let Some((active, decoder)) = self.decoder.as_mut() else { return Vec::new() };
        std::iter::from_fn(|| decoder.poll_timeout(now)).map(|d| dtmf_input(&active.call, d.as_char())).collect()
    }

    /// When [`Receiver::on_timeout`] is due.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.decoder.as_ref().and_then(|(_, d)| d.next_timeout())
    }

    fn activity(&mut self, now: Instant, call: &CallId) -> Vec<Input> {
        match &self.last_report {
            Some((c, at)) if c == call && now < *at + ACTIVITY_EVERY => Vec::new(),
            _ => {
                self.last_report = Some((call.clone(), now));
                vec![Input::MediaActivity { call: call.clone() }]
            }
        }
    }

    /// The decoder of this call (a new one when the call or its payload type changed).
    fn decoder_for(&mut self, active: &ActiveCall) -> Option<&mut DtmfDecoder> {
        let pt = active.telephone_event?;
        if self.decoder.as_ref().is_none_or(|(a, _)| a != active) {
            self.decoder = Some((active.clone(), DtmfDecoder::new(pt, DEFAULT_EVENT_TIMEOUT)));
        }
        self.decoder.as_mut().map(|(_, d)| d)
    }
}

fn dtmf_input(call: &CallId, digit: char) -> Input {
    Input::Dtmf { call: call.clone(), digit, via: DtmfVia::Rfc4733 }
}

/// Receive on both sockets until shutdown; inputs go to the run loop, the
/// audio of the active call to `speaker`.
pub fn spawn_receivers(
    sockets: &RtpSockets,
    active: watch::Receiver<Option<ActiveCall>>,
    inputs: mpsc::Sender<Input>,
    speaker: Option<std::sync::mpsc::Sender<SpeakerInput>>,
    shutdown: &Shutdown,
) {
    let rx = sockets.receptions.clone();
    let audio =
        receive(sockets.audio.clone(), active.clone(), inputs.clone(), (true, speaker, rx.clone()), shutdown.fork());
    tokio::spawn(audio);
    tokio::spawn(receive(sockets.video.clone(), active, inputs, (false, None, rx), shutdown.fork()));
}

/// The active call's audio (not its telephone-events) to the speaker.
fn to_speaker(speaker: &std::sync::mpsc::Sender<SpeakerInput>, now: Instant, datagram: &[u8], active: &ActiveCall) {
    if let Ok(packet) = ds_media::rtp_session::parse(datagram)
        && Some(packet.header.payload_type) != active.telephone_event
    {
        let _ = speaker.send(SpeakerInput::Packet(now, Arrival::from(&packet)));
    }
}

/// The active call's RTP counts for our reception reports.
fn note_reception(receptions: &SharedReceptions, datagram: &[u8], audio: bool, active: bool) {
    if let (true, Ok(p), Ok(mut rx)) = (active, ds_media::rtp_session::parse(datagram), receptions.lock()) {
        let r = if audio { &mut rx.audio } else { &mut rx.video };
        r.on_rtp(p.header.ssrc, p.header.sequence_number);
    }
}

/// The receiving SRTP context of one socket, remade when the keys change.
#[derive(Default)]
pub struct Unprotect {
    context: Option<(Protection, SrtpSession)>,
}

impl Unprotect {
    /// The RTP in `datagram` under `protection`; `None` when it does not
    /// authenticate (or no context could be made).
    pub fn datagram(&mut self, datagram: &[u8], protection: Option<&Protection>) -> Option<Vec<u8>> {
        self.open(datagram, protection, SrtpSession::unprotect_rtp)
    }

    /// The same for RTCP (SRTCP, RFC 3711 §3.4).
    pub fn control(&mut self, datagram: &[u8], protection: Option<&Protection>) -> Option<Vec<u8>> {
        self.open(datagram, protection, SrtpSession::unprotect_rtcp)
    }

    fn open(
        &mut self,
        datagram: &[u8],
        protection: Option<&Protection>,
        unprotect: fn(&mut SrtpSession, &[u8]) -> Result<bytes::Bytes, ds_media::srtp::SrtpError>,
    ) -> Option<Vec<u8>> {
        let Some(p @ Protection::Sdes { local, remote }) = protection else { return Some(datagram.to_vec()) };
        if self.context.as_ref().is_none_or(|(had, _)| had != p) {
            let session =
                SrtpSession::new(local, remote).map_err(|e| tracing::warn!(error = %e, "no SRTP context")).ok()?;
            self.context = Some((p.clone(), session));
        }
        let (_, session) = self.context.as_mut()?;
        unprotect(session, datagram)
            .map(|b| b.to_vec())
            .map_err(|e| tracing::debug!(error = %e, "SRTP packet dropped"))
            .ok()
    }
}

async fn receive(
    sock: Arc<UdpSocket>,
    active: watch::Receiver<Option<ActiveCall>>,
    inputs: mpsc::Sender<Input>,
    (dtmf, speaker, receptions): (bool, Option<std::sync::mpsc::Sender<SpeakerInput>>, SharedReceptions),
    mut shutdown: Shutdown,
) {
    let mut srtp = Unprotect::default();
    let mut state = Receiver::default();
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = state.next_timeout();
        let wake = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let produced = tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok((n, _)) => {
                    let (now, active) = (Instant::now(), active.borrow().clone());
                    match srtp.datagram(&buf[..n], active.as_ref().map(|a| if dtmf { &a.srtp.audio } else { &a.srtp.video })) {
                        Some(rtp) => {
                            note_reception(&receptions, &rtp, dtmf, active.is_some());
                            if let (Some(sp), Some(a)) = (&speaker, &active) {
                                to_speaker(sp, now, &rtp, a);
                            }
                            state.on_datagram(now, &rtp, active.as_ref(), dtmf)
                        }
                        None => Vec::new(),
                    }
                }
                Err(e) => { tracing::debug!(error = %e, "RTP receive error"); Vec::new() }
            },
            _ = wake => state.on_timeout(Instant::now()),
            _ = shutdown.recv() => return,
        };
        for input in produced {
            if inputs.send(input).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
