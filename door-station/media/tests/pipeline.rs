//! The threads and the fan-out together, as the station's shell wires them: a destination that
//! joins a running camera asks for a key frame through the trigger and decodes from its first
//! packet.

use ds_media::fanout::{DestinationId, VideoFanout};
use ds_media::h264::VideoConfig;
use ds_media::packetize::{H264Depacketizer, H264Packetizer, PacketizationMode};
use ds_media::rtp_session::{RtpSender, SenderConfig, parse};
use ds_media::sources::Camera;
use openh264::decoder::Decoder;
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn joining_a_running_camera_gives_a_decodable_stream() {
    let config = VideoConfig { width: 160, height: 120, fps: 30, keyframe_interval_s: 0, ..VideoConfig::default() };
    let (tx, rx) = mpsc::channel();
    let camera = Camera::spawn(config, tx).unwrap();
    let trigger = camera.keyframe_trigger();
    let mut fanout = VideoFanout::new(H264Packetizer::default());
    let wait = Duration::from_secs(30); // liveness only
    let sender =
        |ssrc| RtpSender::new(SenderConfig { ssrc, payload_type: 96, initial_seq: 1, initial_timestamp: 2 }).unwrap();

    for _ in 0..5 {
        assert!(fanout.send(&rx.recv_timeout(wait).unwrap()).unwrap().is_empty());
    }
    if fanout.add_destination(DestinationId(7), sender(7), PacketizationMode::NonInterleaved) {
        trigger.request();
    }
    let mut depack = H264Depacketizer::new();
    let mut decoder = Decoder::new().unwrap();
    let (mut waited, mut pictures) = (0, 0);
    while pictures < 5 {
        let unit = rx.recv_timeout(wait).unwrap();
        let out = fanout.send(&unit).unwrap();
        waited += usize::from(out.is_empty());
        assert!(waited < 10, "the key frame never came");
        for (_, bytes) in out {
            depack.push(&parse(&bytes).unwrap()).unwrap();
        }
        while let Some(au) = depack.pop_unit() {
            pictures += usize::from(decoder.decode(&au.to_annex_b()).unwrap().is_some());
        }
    }
    camera.stop().unwrap();
}
