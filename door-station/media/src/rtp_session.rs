//! RTP (RFC 3550) sending and receiving state, built on the `rtp` crate's packet type.
//!
//! [`RtpSender`] owns one outgoing stream: SSRC, payload type, sequence number and timestamp
//! offset, all chosen by the caller (random starts, RFC 3550 §5.1, come from the caller's seed).
//! [`RtpReceiver`] parses incoming packets and keeps the statistics the call logic needs: when the
//! last packet came (media inactivity), SSRC changes and sequence gaps. Neither reads a clock.

use bytes::{BufMut, Bytes, BytesMut};
use rtp::header::Header;
use rtp::packet::Packet;
use std::time::{Duration, Instant};
use webrtc_util::marshal::{Marshal, Unmarshal};

/// What went wrong with an RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// The payload type does not fit in 7 bits.
    #[error("RTP payload type {pt} is above 127")]
    PayloadType {
        /// The value given.
        pt: u8,
    },
    /// The `rtp` crate could not write the packet.
    #[error("cannot marshal RTP packet: {reason}")]
    Marshal {
        /// The `rtp` crate's message.
        reason: String,
    },
    /// The bytes are not an RTP packet.
    #[error("not an RTP packet ({len} bytes): {reason}")]
    Parse {
        /// Length of the datagram.
        len: usize,
        /// The `rtp` crate's message.
        reason: String,
    },
    /// The RTP version is not 2.
    #[error("RTP version {version}, expected 2")]
    Version {
        /// The version field.
        version: u8,
    },
}

/// The identity and starting points of an outgoing stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderConfig {
    /// Synchronisation source identifier.
    pub ssrc: u32,
    /// RTP payload type (0–127).
    pub payload_type: u8,
    /// Sequence number of the first packet.
    pub initial_seq: u16,
    /// RTP timestamp that media time 0 maps to.
    pub initial_timestamp: u32,
}

/// One outgoing RTP stream.
#[derive(Clone, Debug)]
pub struct RtpSender {
    config: SenderConfig,
    next_seq: u16,
    packets: u32,
    octets: u32,
    last_timestamp: u32,
}

impl RtpSender {
    /// A sender for `config`.
    pub fn new(config: SenderConfig) -> Result<Self, RtpError> {
        if config.payload_type > 127 {
            return Err(RtpError::PayloadType { pt: config.payload_type });
        }
        Ok(RtpSender {
            config,
            next_seq: config.initial_seq,
            packets: 0,
            octets: 0,
            last_timestamp: config.initial_timestamp,
        })
    }

    /// The stream's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.config.ssrc
    }

    /// The stream's payload type.
    pub fn payload_type(&self) -> u8 {
        self.config.payload_type
    }

    /// Sequence number the next packet gets.
    pub fn next_seq(&self) -> u16 {
        self.next_seq
    }

    /// Builds the next packet: `media_time` is on the stream's RTP clock, counted from 0; the
    /// sender adds its timestamp offset. Advances the sequence number.
    pub fn packet(&mut self, media_time: u32, marker: bool, payload: Bytes) -> Packet {
        self.packet_with_type(self.config.payload_type, media_time, marker, payload)
    }

    /// Like [`Self::packet`] with another payload type on the same SSRC and sequence space (RFC
    /// 4733 telephone events share the audio stream's SSRC).
    pub fn packet_with_type(&mut self, pt: u8, media_time: u32, marker: bool, payload: Bytes) -> Packet {
        let timestamp = self.config.initial_timestamp.wrapping_add(media_time);
        let header = Header {
            version: 2,
            marker,
            payload_type: pt & 0x7F,
            sequence_number: self.next_seq,
            timestamp,
            ssrc: self.config.ssrc,
            ..Header::default()
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload.len() as u32);
        self.last_timestamp = timestamp;
        Packet { header, payload }
    }

    /// Builds the next packet and marshals it to bytes for the socket.
    pub fn send(&mut self, media_time: u32, marker: bool, payload: Bytes) -> Result<Bytes, RtpError> {
        marshal(&self.packet(media_time, marker, payload))
    }

    /// Packets and payload octets sent so far (the RTCP SR counters, RFC 3550 §6.4.1).
    pub fn counters(&self) -> (u32, u32) {
        (self.packets, self.octets)
    }

    /// An RTCP sender report (RFC 3550 §6.4.1) without report blocks. `ntp` is the wall clock in
    /// NTP format (seconds since 1900 << 32 | fraction), `media_time` the RTP clock at that moment
    /// counted from 0, both from the caller.
    pub fn sender_report(&self, ntp: u64, media_time: u32) -> Bytes {
        let mut sr = BytesMut::with_capacity(28);
        sr.put_u8(0x80); // V=2, P=0, RC=0
        sr.put_u8(200); // PT=SR
        sr.put_u16(6); // length in 32-bit words minus one
        sr.put_u32(self.config.ssrc);
        sr.put_u64(ntp);
        sr.put_u32(self.config.initial_timestamp.wrapping_add(media_time));
        sr.put_u32(self.packets);
        sr.put_u32(self.octets);
        sr.freeze()
    }
}

/// Marshals a packet with the `rtp` crate.
pub fn marshal(packet: &Packet) -> Result<Bytes, RtpError> {
    packet.marshal().map_err(|e| RtpError::Marshal { reason: e.to_string() })
}

/// Parses a datagram as an RTP packet (version 2 only).
pub fn parse(datagram: &[u8]) -> Result<Packet, RtpError> {
    let mut buf = datagram;
    let packet =
        Packet::unmarshal(&mut buf).map_err(|e| RtpError::Parse { len: datagram.len(), reason: e.to_string() })?;
    if packet.header.version != 2 {
        return Err(RtpError::Version { version: packet.header.version });
    }
    Ok(packet)
}

/// What a receiver has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Packets accepted.
    pub packets: u64,
    /// Packets missing in forward sequence jumps.
    pub lost: u64,
    /// Packets that came with an old or repeated sequence number.
    pub late_or_duplicate: u64,
    /// Times the SSRC changed.
    pub ssrc_changes: u32,
    /// The current SSRC.
    pub ssrc: Option<u32>,
}

/// Receive-side statistics of one RTP stream.
#[derive(Clone, Debug, Default)]
pub struct RtpReceiver {
    stats: ReceiverStats,
    highest_seq: Option<u16>,
    last_packet_at: Option<Instant>,
}

/// Largest forward sequence jump still counted as loss rather than a restart (RFC 3550 A.1
/// uses MAX_DROPOUT = 3000).
const MAX_DROPOUT: u16 = 3000;

impl RtpReceiver {
    /// A receiver that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `datagram`, records it as received at `now`, and returns the packet.
    pub fn receive(&mut self, now: Instant, datagram: &[u8]) -> Result<Packet, RtpError> {
        let packet = parse(datagram)?;
        self.observe(now, &packet.header);
        Ok(packet)
    }

    /// Records a parsed packet header received at `now`.
    pub fn observe(&mut self, now: Instant, header: &Header) {
        self.last_packet_at = Some(now);
        self.stats.packets += 1;
        if self.stats.ssrc.is_some_and(|s| s != header.ssrc) {
            self.stats.ssrc_changes += 1;
            self.highest_seq = None;
        }
        self.stats.ssrc = Some(header.ssrc);
        self.track_seq(header.sequence_number);
    }

    fn track_seq(&mut self, seq: u16) {
        let Some(highest) = self.highest_seq else {
            self.highest_seq = Some(seq);
            return;
        };
        let ahead = seq.wrapping_sub(highest);
        if ahead == 0 || ahead > u16::MAX / 2 {
            self.stats.late_or_duplicate += 1;
        } else {
            if ahead <= MAX_DROPOUT {
                self.stats.lost += u64::from(ahead - 1);
            }
            self.highest_seq = Some(seq);
        }
    }

    /// The statistics so far.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// When the last packet came.
    pub fn last_packet_at(&self) -> Option<Instant> {
        self.last_packet_at
    }

    /// How long no packet has come, at `now`; `None` before the first packet.
    pub fn idle_for(&self, now: Instant) -> Option<Duration> {
        self.last_packet_at.map(|t| now.saturating_duration_since(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> RtpSender {
        RtpSender::new(SenderConfig {
            ssrc: 0x1234_5678,
            payload_type: 96,
            initial_seq: 65_534,
            initial_timestamp: u32::MAX - 10,
        })
        .unwrap()
    }

    #[test]
    fn sender_numbers_packets_and_offsets_timestamps() {
        let mut tx = sender();
        let a = parse(&tx.send(0, false, Bytes::from_static(b"ab")).unwrap()).unwrap();
        let b = parse(&tx.send(3000, true, Bytes::from_static(b"c")).unwrap()).unwrap();
        let c = tx.packet(6000, false, Bytes::new());
        assert_eq!((a.header.sequence_number, b.header.sequence_number, c.header.sequence_number), (65_534, 65_535, 0));
        assert_eq!(a.header.timestamp, u32::MAX - 10);
        assert_eq!(b.header.timestamp, 2989); // wrapped
        assert!(!a.header.marker && b.header.marker);
        assert_eq!((b.header.ssrc, b.header.payload_type), (0x1234_5678, 96));
        assert_eq!(b.payload.as_ref(), b"c");
        assert_eq!(tx.counters(), (3, 3));
    }

    #[test]
    fn wire_format_is_rfc_3550() {
        let mut tx =
            RtpSender::new(SenderConfig { ssrc: 1, payload_type: 8, initial_seq: 7, initial_timestamp: 160 }).unwrap();
        let bytes = tx.send(0, true, Bytes::from_static(&[0xD5])).unwrap();
        assert_eq!(bytes.as_ref(), &[0x80, 0x88, 0, 7, 0, 0, 0, 160, 0, 0, 0, 1, 0xD5]);
        assert_eq!(
            RtpSender::new(SenderConfig { payload_type: 128, ..tx.config }).unwrap_err(),
            RtpError::PayloadType { pt: 128 }
        );
    }

    #[test]
    fn sender_report_carries_counters() {
        let mut tx = sender();
        tx.send(0, false, Bytes::from_static(b"abcd")).unwrap();
        let sr = tx.sender_report(0x0102_0304_0506_0708, 11);
        assert_eq!(sr.len(), 28);
        assert_eq!(sr[..4], [0x80, 200, 0, 6]);
        assert_eq!(sr[8..16], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(sr[16..20], 0u32.to_be_bytes()); // u32::MAX - 10 + 11 wraps to 0
        assert_eq!(sr[20..28], [0, 0, 0, 1, 0, 0, 0, 4]);
    }

    #[test]
    fn receiver_counts_gaps_duplicates_and_ssrc_changes() {
        let t0 = Instant::now();
        let mut tx = sender();
        let mut rx = RtpReceiver::new();
        let packets: Vec<Bytes> = (0..6).map(|i| tx.send(i * 160, false, Bytes::new()).unwrap()).collect();
        for (i, p) in [&packets[0], &packets[1], &packets[4], &packets[4], &packets[2], &packets[5]].iter().enumerate()
        {
            rx.receive(t0 + Duration::from_millis(20 * i as u64), p).unwrap();
        }
        let stats = rx.stats();
        assert_eq!((stats.packets, stats.lost, stats.late_or_duplicate), (6, 2, 2));
        let mut other = RtpSender::new(SenderConfig { ssrc: 9, ..tx.config }).unwrap();
        rx.receive(t0 + Duration::from_millis(200), &other.send(0, false, Bytes::new()).unwrap()).unwrap();
        assert_eq!((rx.stats().ssrc_changes, rx.stats().ssrc), (1, Some(9)));
        assert_eq!(rx.idle_for(t0 + Duration::from_millis(1200)), Some(Duration::from_secs(1)));
    }

    #[test]
    fn garbage_is_refused() {
        let mut rx = RtpReceiver::new();
        let t0 = Instant::now();
        assert!(matches!(rx.receive(t0, &[0x80, 0]), Err(RtpError::Parse { len: 2, .. })));
        assert_eq!(rx.receive(t0, &[0x40; 12]).unwrap_err(), RtpError::Version { version: 1 });
        assert_eq!(rx.idle_for(t0), None);
    }
}
