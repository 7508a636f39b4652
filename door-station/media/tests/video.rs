//! The H.264 path end to end: test pattern → OpenH264 encoder → fan-out (RFC 6184 packets, RTP
//! bytes) → RTP parse → depacketizer → OpenH264 decoder.

use bytes::Bytes;
use ds_media::fanout::{DestinationId, VideoFanout};
use ds_media::h264::{AccessUnit, H264Encoder, MAX_NAL_BYTES, NalKind, VideoConfig};
use ds_media::packetize::PacketizationMode::{NonInterleaved, SingleNal};
use ds_media::packetize::{H264Depacketizer, H264Packetizer};
use ds_media::rtp_session::{RtpSender, SenderConfig, parse};
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
use rtp::codecs::h264::H264Packet;
use rtp::packetizer::Depacketizer;

const A: DestinationId = DestinationId(1);
const B: DestinationId = DestinationId(2);

fn config() -> VideoConfig {
    VideoConfig {
        width: 320,
        height: 240,
        fps: 15,
        bitrate_bps: 384_000,
        keyframe_interval_s: 0,
        ..VideoConfig::default()
    }
}

fn sender(ssrc: u32) -> RtpSender {
    RtpSender::new(SenderConfig {
        ssrc,
        payload_type: 96,
        initial_seq: ssrc as u16 * 1000,
        initial_timestamp: ssrc * 77,
    })
    .unwrap()
}

/// One destination's receiving end: parse, depacketize, decode.
struct Receiver {
    depack: H264Depacketizer,
    decoder: Decoder,
    packets: Vec<rtp::packet::Packet>,
    pictures: usize,
    size: (usize, usize),
}

impl Receiver {
    fn new(size: (usize, usize)) -> Self {
        let decoder = Decoder::new().unwrap();
        Receiver { depack: H264Depacketizer::new(), decoder, packets: Vec::new(), pictures: 0, size }
    }

    fn receive(&mut self, datagram: &Bytes) {
        let packet = parse(datagram).unwrap();
        self.depack.push(&packet).unwrap();
        self.packets.push(packet);
        while let Some(unit) = self.depack.pop_unit() {
            assert!(unit.complete);
            let picture = self.decoder.decode(&unit.to_annex_b()).expect("decodes without error");
            if let Some(picture) = picture {
                let (w, h) = self.size;
                assert_eq!(picture.dimensions(), self.size);
                // Bottom-left bar is white, bottom-right bar black (studio range, after coding).
                let row = &picture.y()[(h - 10) * picture.strides().0..];
                assert!(row[10] > 200, "white bar: {}", row[10]);
                assert!(row[w - 10] < 50, "black bar: {}", row[w - 10]);
                self.pictures += 1;
            }
        }
    }
}

fn deliver(out: Vec<(DestinationId, Bytes)>, a: &mut Receiver, b: &mut Receiver) {
    for (dest, bytes) in out {
        match dest {
            A => a.receive(&bytes),
            B => b.receive(&bytes),
            other => panic!("packet for unknown destination {other:?}"),
        }
    }
}

#[test]
fn every_frame_decodes_and_a_late_joiner_starts_at_a_fresh_idr() {
    let mut encoder = H264Encoder::new(config()).unwrap();
    let mut fanout = VideoFanout::new(H264Packetizer::new(1200).unwrap());
    let (mut a, mut b) = (Receiver::new((320, 240)), Receiver::new((320, 240)));
    assert!(fanout.add_destination(A, sender(1), NonInterleaved));
    let mut units = Vec::new();
    for frame in 0..30 {
        if frame == 12 && fanout.add_destination(B, sender(2), NonInterleaved) {
            encoder.force_keyframe();
        }
        let unit = encoder.encode_next().unwrap().expect("no frame is skipped");
        if frame == 12 {
            assert!(unit.is_idr() && unit.starts_with_parameter_sets(), "forced key frame at once");
        } else if frame > 0 {
            assert!(!unit.is_idr(), "no key frame at {frame} without a request");
        }
        deliver(fanout.send(&unit).unwrap(), &mut a, &mut b);
        assert_eq!(fanout.is_sending(B), frame >= 12);
        units.push(unit);
    }
    assert_eq!(a.pictures, 30);
    assert_eq!(b.pictures, 18);
    // B's very first packet is the SPS of the forced IDR.
    assert_eq!(NalKind::of(&b.packets[0].payload), Some(NalKind::Sps));
    assert_eq!(b.packets[0].header.timestamp, 2 * 77 + units[12].timestamp_90k);
    assert_eq!(b.packets[0].header.sequence_number, 2000);
    assert!(!fanout.awaiting_keyframe());
}

#[test]
fn marker_bits_timestamps_and_sizes_follow_rfc_6184() {
    let mut encoder = H264Encoder::new(VideoConfig {
        width: 640,
        height: 480,
        bitrate_bps: 1_500_000,
        max_nal_bytes: None,
        ..config()
    })
    .unwrap();
    let mut fanout = VideoFanout::new(H264Packetizer::new(1200).unwrap());
    let _ = fanout.add_destination(A, sender(1), NonInterleaved);
    let mut receiver = Receiver::new((640, 480));
    let mut fragmented = false;
    for _ in 0..5 {
        let unit = encoder.encode_next().unwrap().unwrap();
        let out = fanout.send(&unit).unwrap();
        let packets: Vec<_> = out.iter().map(|(_, b)| parse(b).unwrap()).collect();
        assert!(packets.iter().all(|p| p.payload.len() <= 1200));
        assert!(packets.iter().all(|p| p.header.timestamp == 77 + unit.timestamp_90k));
        let markers: Vec<bool> = packets.iter().map(|p| p.header.marker).collect();
        assert_eq!(markers.iter().filter(|&&m| m).count(), 1);
        assert!(markers.last().unwrap());
        fragmented |= packets.iter().any(|p| p.payload[0] & 0x1F == 28);
        assert_same_as_webrtc_depacketizer(&unit, &packets);
        for (_, bytes) in &out {
            receiver.receive(bytes);
        }
    }
    assert!(fragmented, "a 640x480 IDR needs FU-A");
    assert_eq!(encoder.encode_next().unwrap().unwrap().timestamp_90k, 5 * 6000);
}

#[test]
fn with_the_slice_budget_every_nal_of_a_640x480_stream_fits_one_packet_and_mode_0_decodes() {
    let big = VideoConfig { width: 640, height: 480, bitrate_bps: 1_500_000, keyframe_interval_s: 1, ..config() };
    assert_eq!(big.max_nal_bytes, Some(MAX_NAL_BYTES), "the station's encoders cut slices by default");
    let mut encoder = H264Encoder::new(big).unwrap();
    let mut fanout = VideoFanout::new(H264Packetizer::new(MAX_NAL_BYTES as usize).unwrap());
    let _ = fanout.add_destination(A, sender(1), SingleNal);
    let _ = fanout.add_destination(B, sender(2), NonInterleaved);
    let (mut a, mut b) = (Receiver::new((640, 480)), Receiver::new((640, 480)));
    let (mut largest, mut idr_slices) = (0, 0);
    for _ in 0..30 {
        let unit = encoder.encode_next().unwrap().expect("no frame is skipped");
        largest = largest.max(unit.nals.iter().map(|n| n.len()).max().unwrap_or(0));
        if unit.is_idr() {
            idr_slices = idr_slices.max(unit.nals.iter().filter(|n| NalKind::of(n) == Some(NalKind::Idr)).count());
        }
        let out = fanout.send(&unit).unwrap();
        assert!(out.iter().all(|(_, bytes)| parse(bytes).unwrap().payload[0] & 0x1F != 28), "no FU-A at all");
        deliver(out, &mut a, &mut b);
    }
    assert!(largest <= MAX_NAL_BYTES as usize, "a NAL unit of {largest} bytes");
    assert!(idr_slices > 1, "a 640x480 IDR at 1.5 Mbit/s is cut into slices ({idr_slices})");
    assert_eq!((fanout.take_oversized(), fanout.oversized_for(A)), (0, 0));
    assert_eq!((a.pictures, b.pictures), (30, 30), "the mode-0 and the mode-1 receiver see every picture");
    assert_eq!(a.packets.len(), b.packets.len(), "both get the same single NAL unit packets");
}

/// The `rtp` crate's own H.264 depacketizer, written by others, reads our packets the same way.
fn assert_same_as_webrtc_depacketizer(unit: &AccessUnit, packets: &[rtp::packet::Packet]) {
    let mut theirs = H264Packet::default();
    let mut stream = Vec::new();
    for p in packets {
        stream.extend_from_slice(&theirs.depacketize(&p.payload).unwrap());
    }
    assert_eq!(stream, unit.to_annex_b());
}

#[test]
fn stream_is_constrained_baseline_with_sprop_parameter_sets() {
    let mut encoder = H264Encoder::new(config()).unwrap();
    assert_eq!(encoder.sprop_parameter_sets(), None);
    let first = encoder.encode_next().unwrap().unwrap();
    assert!(first.starts_with_parameter_sets());
    let sps = first.find(NalKind::Sps).unwrap();
    assert_eq!(sps[1], 66, "profile_idc baseline");
    assert_ne!(sps[2] & 0x40, 0, "constraint_set1_flag: constrained baseline");
    let plid = encoder.profile_level_id().unwrap();
    assert!(plid.starts_with("42"), "{plid}");
    let sprop = encoder.sprop_parameter_sets().unwrap();
    let (s, p) = sprop.split_once(',').unwrap();
    assert!(s.starts_with("Z0") && p.starts_with("aM"), "{sprop}");
}

#[test]
fn sdp_parameters_for_the_offer_match_the_running_stream() {
    let offered = ds_media::h264::sdp_parameters(config()).unwrap();
    let mut encoder = H264Encoder::new(config()).unwrap();
    for _ in 0..20 {
        encoder.encode_next().unwrap();
    }
    encoder.force_keyframe();
    let idr = encoder.encode_next().unwrap().unwrap();
    assert_eq!(encoder.sdp_parameters().unwrap(), offered);
    let sps = idr.find(NalKind::Sps).unwrap();
    let pps = idr.find(NalKind::Pps).unwrap();
    assert_eq!(offered.sprop_parameter_sets, ds_media::h264::sprop_parameter_sets(sps, pps));
    assert_eq!(offered.profile_level_id, "42c00c", "constrained baseline, level 1.2 for 320x240@15");
}

#[test]
fn periodic_key_frames_come_with_parameter_sets() {
    let mut encoder = H264Encoder::new(VideoConfig { fps: 10, keyframe_interval_s: 1, ..config() }).unwrap();
    let idrs: Vec<u64> = (0..25)
        .filter_map(|_| encoder.encode_next().unwrap())
        .filter(|u| u.is_idr())
        .inspect(|u| assert!(u.starts_with_parameter_sets(), "IDR {} without SPS/PPS", u.frame_index))
        .map(|u| u.frame_index)
        .collect();
    assert_eq!(idrs, [0, 10, 20]);
}

#[test]
fn bad_configurations_are_refused() {
    for bad in [
        VideoConfig { width: 321, ..config() },
        VideoConfig { height: 8, ..config() },
        VideoConfig { fps: 0, ..config() },
        VideoConfig { bitrate_bps: 5, ..config() },
        VideoConfig { max_nal_bytes: Some(100), ..config() },
    ] {
        assert!(matches!(H264Encoder::new(bad), Err(ds_media::h264::H264Error::Config { .. })), "{bad:?}");
    }
}

#[test]
fn huge_frame_skips_wrap_the_timestamp_without_panicking() {
    let mut encoder = H264Encoder::new(config()).unwrap();
    encoder.encode_next().unwrap();
    encoder.skip_frames(u64::MAX);
    assert_eq!(encoder.next_frame_index(), u64::MAX);
    if let Some(unit) = encoder.encode_next().unwrap() {
        assert_eq!(unit.frame_index, u64::MAX);
    }
    assert_eq!(encoder.next_frame_index(), u64::MAX);
}
