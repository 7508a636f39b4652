//! The RTCP reports we send (RFC 3550 §6.4) and the sender reports we read,
//! sans-IO: the shell passes `now`, the wall clock in NTP format and a seed.
//!
//! Every [`ReportTimer`] interval (5 s, times a factor drawn from 0.5..1.5,
//! RFC 3550 §6.3.5) each destination gets one compound packet: an SR when
//! we send it media (an RR when we only receive), a reception report block
//! for the remote SSRC once its RTP arrived, and an SDES CNAME chunk
//! (§6.1). The reception block's LSR/DLSR come from the last SR the peer
//! sent ([`Reception::on_rtcp`]); jitter is reported as 0.

use rtcp::receiver_report::ReceiverReport;
use rtcp::reception_report::ReceptionReport;
use rtcp::sender_report::SenderReport;
use rtcp::source_description::{SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem};
use std::time::{Duration, Instant};
use webrtc_util::Marshal;

/// The nominal report interval (RFC 3550 §6.2, the 5 s minimum).
pub const REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// When the next report is due: `interval` times a seeded factor in 0.5..1.5.
#[derive(Debug, Clone)]
pub struct ReportTimer {
    interval: Duration,
    next: Instant,
    state: u64,
}

impl ReportTimer {
    /// The first report is due half a randomised interval after `now`
    /// (RFC 3550 §6.3.2: the initial interval is halved).
    pub fn new(now: Instant, interval: Duration, seed: u64) -> ReportTimer {
        let mut timer = ReportTimer { interval, next: now, state: seed };
        timer.next = now + timer.randomised() / 2;
        timer
    }

    /// When [`ReportTimer::handle_timeout`] is due.
    pub fn next_timeout(&self) -> Instant {
        self.next
    }

    /// True when a report is due at `now`; the next one is then scheduled.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next = now + self.randomised();
        true
    }

    fn randomised(&mut self) -> Duration {
        // splitmix64, then a factor in [0.5, 1.5).
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        self.interval.mul_f64(0.5 + unit)
    }
}

/// What we sent to one destination (the SR sender info, RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// Wall clock, NTP format.
    pub ntp: u64,
    /// The RTP timestamp that corresponds to `ntp`.
    pub rtp_time: u32,
    /// Packets sent.
    pub packets: u32,
    /// Payload octets sent.
    pub octets: u32,
}

/// What we received from one remote source, for its report block.
#[derive(Debug, Clone, Default)]
pub struct Reception {
    ssrc: Option<u32>,
    base_seq: u32,
    highest: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    last_sr: Option<(u32, Instant)>,
}

impl Reception {
    /// One RTP packet from the peer (a new SSRC restarts the counts).
    pub fn on_rtp(&mut self, ssrc: u32, seq: u16) {
        if self.ssrc != Some(ssrc) {
            *self = Reception { ssrc: Some(ssrc), base_seq: seq.into(), highest: seq.into(), ..Reception::default() };
        }
        let cycles = self.highest & 0xffff_0000;
        let low = self.highest as u16;
        let ext = if seq < low && low.wrapping_sub(seq) > 0x8000 {
            cycles.wrapping_add(0x1_0000) | u32::from(seq)
        } else {
            cycles | u32::from(seq)
        };
        self.highest = self.highest.max(ext);
        self.received = self.received.wrapping_add(1);
    }

    /// An RTCP datagram from the peer (already SRTCP-unprotected): an SR
    /// among its packets is remembered for LSR/DLSR. Garbage is ignored.
    pub fn on_rtcp(&mut self, now: Instant, datagram: &[u8]) {
        let mut buf = datagram;
        let Ok(packets) = rtcp::packet::unmarshal(&mut buf) else { return };
        for p in &packets {
            if let Some(sr) = p.as_any().downcast_ref::<SenderReport>() {
                self.last_sr = Some(((sr.ntp_time >> 16) as u32, now));
            }
        }
    }

    /// The middle 32 bits of the last SR's NTP time, if one came.
    pub fn last_sr(&self) -> Option<u32> {
        self.last_sr.map(|(m, _)| m)
    }

    /// The report block about the remote source; `None` before its RTP came.
    pub fn report_block(&mut self, now: Instant) -> Option<ReceptionReport> {
        let ssrc = self.ssrc?;
        let expected = self.highest.wrapping_sub(self.base_seq).wrapping_add(1);
        let lost = i64::from(expected) - i64::from(self.received);
        let (exp_int, rec_int) =
            (expected.wrapping_sub(self.expected_prior), self.received.wrapping_sub(self.received_prior));
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_int = i64::from(exp_int) - i64::from(rec_int);
        let fraction_lost =
            if exp_int == 0 || lost_int <= 0 { 0 } else { ((lost_int << 8) / i64::from(exp_int)).min(255) as u8 };
        let (last_sender_report, delay) = match self.last_sr {
            Some((middle, at)) => (middle, (now.saturating_duration_since(at).as_secs_f64() * 65536.0) as u32),
            None => (0, 0),
        };
        Some(ReceptionReport {
            ssrc,
            fraction_lost,
            total_lost: lost.clamp(0, 0x7f_ffff) as u32,
            last_sequence_number: self.highest,
            jitter: 0,
            last_sender_report,
            delay,
        })
    }
}

/// One compound packet (RFC 3550 §6.1): SR (with `sender`) or RR first,
/// the report `block` if any, then SDES with our CNAME.
pub fn compound(ssrc: u32, sender: Option<SenderInfo>, block: Option<ReceptionReport>, cname: &str) -> Vec<u8> {
    let reports: Vec<ReceptionReport> = block.into_iter().collect();
    let first = match sender {
        Some(s) => SenderReport {
            ssrc,
            ntp_time: s.ntp,
            rtp_time: s.rtp_time,
            packet_count: s.packets,
            octet_count: s.octets,
            reports,
            profile_extensions: Default::default(),
        }
        .marshal(),
        None => ReceiverReport { ssrc, reports, profile_extensions: Default::default() }.marshal(),
    };
    let text = bytes::Bytes::copy_from_slice(&cname.as_bytes()[..cname.len().min(255)]);
    let sdes = SourceDescription {
        chunks: vec![SourceDescriptionChunk {
            source: ssrc,
            items: vec![SourceDescriptionItem { sdes_type: SdesType::SdesCname, text }],
        }],
    }
    .marshal();
    match (first, sdes) {
        (Ok(a), Ok(b)) => [a.as_ref(), b.as_ref()].concat(),
        _ => Vec::new(),
    }
}

/// A `SystemTime` in NTP format (seconds since 1900 << 32 | fraction).
pub fn ntp(time: std::time::SystemTime) -> u64 {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let since = time.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs().wrapping_add(UNIX_TO_NTP);
    let frac = (u64::from(since.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

#[cfg(test)]
mod tests;
