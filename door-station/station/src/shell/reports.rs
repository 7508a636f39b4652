//! Sending RTCP reports for the media task: per dialog and stream, where
//! the peer takes RTCP, its SRTCP context and, when we send that stream,
//! the RTP sender whose counters go into the SR (else an RR goes out).
//! [`crate::shell::rtcp_report`] builds the packets; this file owns the
//! sockets' side.

use crate::shell::rtcp_report::{self, Reception, SenderInfo};
use ds_media::fanout::{AudioFanout, DestinationId, VideoFanout};
use ds_media::rtp_session::RtpSender;
use ds_media::srtp::{Protection, SrtpSession};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use tokio::net::UdpSocket;

/// What we received on the audio and video sockets, shared by the RTP and
/// RTCP receivers (which update it) and the media task (which reports it).
#[derive(Debug, Default)]
pub struct Receptions {
    /// The audio socket's remote source.
    pub audio: Reception,
    /// The video socket's remote source.
    pub video: Reception,
}

/// [`Receptions`], shared.
pub type SharedReceptions = Arc<Mutex<Receptions>>;

/// Which stream of a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Audio.
    Audio,
    /// Video.
    Video,
}

/// Where one stream's reports go.
pub struct Reporter {
    addr: SocketAddr,
    srtcp: Option<SrtpSession>,
    /// The SSRC of an RR when we do not send this stream.
    ssrc: u32,
    since: Instant,
    clock: u32,
}

impl Reporter {
    /// `None` (logged) when the keys make no SRTCP context.
    pub fn new(addr: SocketAddr, protection: &Protection, ssrc: u32, since: Instant, clock: u32) -> Option<Reporter> {
        let srtcp = match protection {
            Protection::Plain => None,
            Protection::Sdes { local, remote } => Some(
                SrtpSession::new(local, remote)
                    .map_err(|e| tracing::error!(error = %e, "no SRTCP context; no reports"))
                    .ok()?,
            ),
        };
        Some(Reporter { addr, srtcp, ssrc, since, clock })
    }

    /// The compound report at `now`: an SR about `sender` if we send, else an RR.
    fn packet(
        &self,
        now: Instant,
        wall: SystemTime,
        sender: Option<&RtpSender>,
        reception: &mut Reception,
        cname: &str,
    ) -> Vec<u8> {
        let block = reception.report_block(now);
        let ticks = (now.saturating_duration_since(self.since).as_secs_f64() * f64::from(self.clock)) as u64 as u32;
        match sender {
            Some(s) => {
                let (packets, octets) = s.counters();
                let initial = rtp_time_of(s, 0);
                let info =
                    SenderInfo { ntp: rtcp_report::ntp(wall), rtp_time: initial.wrapping_add(ticks), packets, octets };
                rtcp_report::compound(s.ssrc(), Some(info), block, cname)
            }
            None => rtcp_report::compound(self.ssrc, None, block, cname),
        }
    }
}

/// The RTP timestamp an SR from `s` would carry for `media_time`.
fn rtp_time_of(s: &RtpSender, media_time: u32) -> u32 {
    let sr = s.sender_report(0, media_time);
    sr.get(16..20).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Send one report per stream of every destination.
pub fn send_reports(
    (audio_sock, video_sock): (&UdpSocket, &UdpSocket),
    reporters: &mut HashMap<(DestinationId, Stream), Reporter>,
    (video, audio): (&VideoFanout, &AudioFanout),
    receptions: &SharedReceptions,
    (now, wall): (Instant, SystemTime),
    cname: &str,
) {
    let Ok(mut rx) = receptions.lock() else { return };
    for (&(id, stream), r) in reporters.iter_mut() {
        let (sock, reception) = match stream {
            Stream::Audio => (audio_sock, &mut rx.audio),
            Stream::Video => (video_sock, &mut rx.video),
        };
        let sender = match stream {
            Stream::Audio => audio.sender_of(id),
            Stream::Video => video.sender_of(id),
        };
        let packet = r.packet(now, wall, sender, reception, cname);
        let bytes = match r.srtcp.as_mut().map(|s| s.protect_rtcp(&packet)) {
            None => packet,
            Some(Ok(p)) => p.to_vec(),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "SRTCP protect failed");
                continue;
            }
        };
        if let Err(e) = sock.try_send_to(&bytes, r.addr) {
            tracing::debug!(addr = %r.addr, error = %e, "RTCP send failed");
        }
    }
}
