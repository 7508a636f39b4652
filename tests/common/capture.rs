//! tshark on `lo`: a bounded capture, then SIP and RTP packet lists read back from the file.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::harness::{Harness, ProcId, bounded, require};

/// A running (or finished) capture.
pub struct Capture {
    proc: ProcId,
    /// The pcapng file.
    pub file: PathBuf,
    /// UDP ports decoded as SIP.
    pub sip_ports: Vec<u16>,
}

/// One SIP message seen on the wire.
#[derive(Clone, Debug)]
pub struct SipPacket {
    /// Epoch seconds.
    pub time: f64,
    /// UDP source port.
    pub src: u16,
    /// UDP destination port.
    pub dst: u16,
    /// Request method, empty for a response.
    pub method: String,
    /// Response status, 0 for a request.
    pub status: u16,
    /// The CSeq method.
    pub cseq_method: String,
    /// The CSeq number.
    pub cseq: u32,
    /// Call-ID.
    pub call_id: String,
}

impl SipPacket {
    /// Whether this is a response `status` to `cseq_method`.
    pub fn is_response(&self, status: u16, cseq_method: &str) -> bool {
        self.status == status && self.cseq_method == cseq_method
    }
}

/// One RTP packet seen on the wire.
#[derive(Clone, Debug)]
pub struct RtpPacket {
    /// Epoch seconds.
    pub time: f64,
    /// UDP source port.
    pub src: u16,
    /// UDP destination port.
    pub dst: u16,
    /// Payload type.
    pub pt: u8,
    /// The first two payload bytes (fewer for a shorter payload).
    pub head: Vec<u8>,
}

impl RtpPacket {
    /// The H.264 NAL unit type of the payload (RFC 6184): the type of a single NAL unit, the
    /// fragmented type of an FU-A (28), or 24 for a STAP-A.
    pub fn h264_nal_type(&self) -> Option<u8> {
        let first = *self.head.first()? & 0x1f;
        match first {
            28 => self.head.get(1).map(|b| b & 0x1f),
            t => Some(t),
        }
    }

    /// Whether the payload starts a key frame sequence: SPS (7) or a STAP-A (24, which the
    /// packetizer uses for SPS+PPS).
    pub fn starts_with_sps(&self) -> bool {
        matches!(self.h264_nal_type(), Some(7 | 24))
    }
}

fn hex_head(hex: &str) -> Vec<u8> {
    let hex: String = hex.chars().filter(|c| c.is_ascii_hexdigit()).take(4).collect();
    (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect()
}

/// One RFC 4733 telephone-event packet.
#[derive(Clone, Debug)]
pub struct RtpEvent {
    /// Epoch seconds.
    pub time: f64,
    /// UDP destination port.
    pub dst: u16,
    /// Event code (0-9, 10 = `*`, 11 = `#`).
    pub event: u8,
    /// End bit.
    pub end: bool,
}

/// Starts tshark on `lo` with the capture filter `bpf` for at most `secs` seconds.
pub fn start_capture(h: &mut Harness, bpf: &str, secs: u64, sip_ports: &[u16]) -> Capture {
    let tshark = require("tshark", "tshark");
    let file = h.log_file("capture.pcapng");
    let mut cmd = bounded(&tshark, Duration::from_secs(secs + 10));
    cmd.args(["-i", "lo", "-f", bpf, "-a", &format!("duration:{secs}"), "-q", "-w"]).arg(&file);
    let proc = h.spawn("tshark", cmd, false);
    h.wait_log(
        proc,
        "Capturing on",
        Duration::from_secs(15),
        "tshark capture on lo (needs root or the wireshark group)",
    );
    // dumpcap reports before its first read; give the socket a moment.
    std::thread::sleep(Duration::from_millis(300));
    h.capture = Some((file.clone(), sip_ports.to_vec()));
    Capture { proc, file, sip_ports: sip_ports.to_vec() }
}

/// Summarises a capture left behind by a failing test (see [`Harness`]'s drop).
pub fn summarize_after_failure(file: &std::path::Path, sip_ports: &[u16], out: &std::path::Path) {
    if file.exists() && !out.exists() {
        Capture { proc: ProcId::NONE, file: file.to_path_buf(), sip_ports: sip_ports.to_vec() }.write_summary(out);
    }
}

impl Capture {
    /// Stops the capture (SIGINT, so the file is complete) and writes `<logs>/capture.txt`
    /// with the SIP flow and the RTP packet counts per destination and payload type.
    pub fn finish(&self, h: &mut Harness) {
        std::thread::sleep(Duration::from_millis(300));
        h.signal(self.proc, "INT");
        if h.wait(self.proc, Duration::from_secs(10)).is_none() {
            h.stop(self.proc);
        }
        self.write_summary(&h.log_file("capture.txt"));
    }

    /// Writes the SIP flow and the RTP packet counts per (source, destination, payload type).
    pub fn write_summary(&self, out: &std::path::Path) {
        let mut text = String::from("== SIP flow (time src -> dst  method/status  cseq  call-id)\n");
        let t0 = self.sip().first().map(|p| p.time).unwrap_or(0.0);
        for p in self.sip() {
            let what = if p.status == 0 { p.method.clone() } else { p.status.to_string() };
            text +=
                &format!("{:8.3} {} -> {}  {:8} {:8} {}\n", p.time - t0, p.src, p.dst, what, p.cseq_method, p.call_id);
        }
        text += "== RTP packets per (src, dst, pt)\n";
        let mut counts = std::collections::BTreeMap::new();
        for p in self.rtp() {
            *counts.entry((p.src, p.dst, p.pt)).or_insert(0u32) += 1;
        }
        for ((src, dst, pt), n) in counts {
            text += &format!("{n:6}  {src} -> {dst}  pt {pt}\n");
        }
        let _ = std::fs::write(out, text);
    }

    fn fields(&self, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
        let mut cmd = Command::new("tshark");
        cmd.arg("-r").arg(&self.file).args(["-o", "rtp.heuristic_rtp:TRUE"]);
        for port in &self.sip_ports {
            cmd.args(["-d", &format!("udp.port=={port},sip")]);
        }
        cmd.args(["-Y", filter, "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]);
        for f in fields {
            cmd.args(["-e", f]);
        }
        let out = cmd.output().expect("run tshark -r");
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split('|').map(str::to_string).collect()).collect()
    }

    /// Every SIP message, in capture order.
    pub fn sip(&self) -> Vec<SipPacket> {
        let rows = self.fields(
            "sip",
            &[
                "frame.time_epoch",
                "udp.srcport",
                "udp.dstport",
                "sip.Method",
                "sip.Status-Code",
                "sip.CSeq.method",
                "sip.Call-ID",
                "sip.CSeq.seq",
            ],
        );
        rows.into_iter()
            .filter(|r| r.len() >= 8)
            .map(|r| SipPacket {
                time: r[0].parse().unwrap_or(0.0),
                src: r[1].parse().unwrap_or(0),
                dst: r[2].parse().unwrap_or(0),
                method: r[3].clone(),
                status: r[4].parse().unwrap_or(0),
                cseq_method: r[5].clone(),
                call_id: r[6].clone(),
                cseq: r[7].parse().unwrap_or(0),
            })
            .collect()
    }

    /// Every RTP packet (not RTCP), found by tshark's SDP tracking and its RTP heuristic.
    pub fn rtp(&self) -> Vec<RtpPacket> {
        let rows = self
            .fields("rtp && !rtcp", &["frame.time_epoch", "udp.srcport", "udp.dstport", "rtp.p_type", "rtp.payload"]);
        rows.into_iter()
            .filter(|r| r.len() >= 4)
            .filter_map(|r| {
                Some(RtpPacket {
                    time: r[0].parse().ok()?,
                    src: r[1].parse().ok()?,
                    dst: r[2].parse().ok()?,
                    pt: r[3].parse().ok()?,
                    head: r.get(4).map(|h| hex_head(h)).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The capture times (epoch seconds) of every UDP datagram to `port`.
    pub fn udp_to(&self, port: u16) -> Vec<f64> {
        let rows = self.fields(&format!("udp.dstport == {port}"), &["frame.time_epoch"]);
        rows.iter().filter_map(|r| r.first()?.parse().ok()).collect()
    }

    /// The whole RTP packets from a port in `src` to a port in `dst` with a payload type in
    /// `pts`, in capture order, for depacketizing and decoding what a peer received.
    pub fn rtp_packets(
        &self,
        src: std::ops::RangeInclusive<u16>,
        dst: std::ops::RangeInclusive<u16>,
        pts: &BTreeSet<u8>,
    ) -> Vec<rtp::packet::Packet> {
        let fields = ["udp.srcport", "udp.dstport", "rtp.p_type", "rtp.seq", "rtp.timestamp", "rtp.marker", "rtp.ssrc"];
        let rows = self.fields("rtp && !rtcp", &[&fields[..], &["rtp.payload"]].concat());
        let port = |v: &String| v.parse::<u16>().ok();
        rows.into_iter()
            .filter(|r| r.len() >= 8)
            .filter(|r| port(&r[0]).is_some_and(|p| src.contains(&p)) && port(&r[1]).is_some_and(|p| dst.contains(&p)))
            .filter_map(|r| {
                let pt: u8 = r[2].parse().ok().filter(|pt| pts.contains(pt))?;
                let ssrc = u32::from_str_radix(r[6].trim_start_matches("0x"), 16).ok()?;
                let header = rtp::header::Header {
                    version: 2,
                    payload_type: pt,
                    sequence_number: r[3].parse().ok()?,
                    timestamp: r[4].parse().ok()?,
                    marker: r[5] == "1" || r[5] == "True",
                    ssrc,
                    ..Default::default()
                };
                let hex: String = r[7].chars().filter(|c| c.is_ascii_hexdigit()).collect();
                let payload: Vec<u8> =
                    (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
                Some(rtp::packet::Packet { header, payload: payload.into() })
            })
            .collect()
    }

    /// Every RFC 4733 event packet.
    pub fn rtp_events(&self) -> Vec<RtpEvent> {
        let rows =
            self.fields("rtpevent", &["frame.time_epoch", "udp.dstport", "rtpevent.event_id", "rtpevent.end_of_event"]);
        rows.into_iter()
            .filter(|r| r.len() >= 4)
            .filter_map(|r| {
                Some(RtpEvent {
                    time: r[0].parse().ok()?,
                    dst: r[1].parse().ok()?,
                    event: r[2].parse().ok()?,
                    end: r[3] == "1" || r[3] == "True",
                })
            })
            .collect()
    }

    /// The payload types that any SDP in the capture maps to H264.
    pub fn h264_pts(&self) -> BTreeSet<u8> {
        let mut cmd = Command::new("tshark");
        cmd.arg("-r").arg(&self.file);
        for port in &self.sip_ports {
            cmd.args(["-d", &format!("udp.port=={port},sip")]);
        }
        cmd.args(["-Y", "sdp", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-e", "sdp.media_attr"]);
        let out = cmd.output().expect("run tshark -r");
        String::from_utf8_lossy(&out.stdout)
            .split(['|', '\n'])
            .filter_map(|attr| {
                let rest = attr.trim().strip_prefix("rtpmap:")?;
                let (pt, codec) = rest.split_once(' ')?;
                codec.to_ascii_uppercase().starts_with("H264/").then(|| pt.parse().ok()).flatten()
            })
            .collect()
    }
}
