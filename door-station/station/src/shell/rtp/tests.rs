use super::*;
use bytes::Bytes;
use ds_media::dtmf::{Digit, DtmfEncoder};
use ds_media::rtp_session::{RtpSender, SenderConfig, marshal};

const TE: u8 = 101;

fn sender() -> RtpSender {
    RtpSender::new(SenderConfig { ssrc: 7, payload_type: 0, initial_seq: 1, initial_timestamp: 1000 }).unwrap()
}

fn call(id: &str) -> ActiveCall {
    ActiveCall { call: CallId(id.into()), telephone_event: Some(TE), srtp: Default::default() }
}

/// The datagrams of one key press: every update once, the end three times.
fn key_press(tx: &mut RtpSender, key: char, start: u32) -> Vec<Vec<u8>> {
    let packets = DtmfEncoder::new(8000).key_press(Digit::from_char(key).unwrap(), Duration::from_millis(120));
    packets
        .into_iter()
        .map(|p| marshal(&tx.packet_with_type(TE, start, p.marker, p.payload)).unwrap().to_vec())
        .collect()
}

fn digits(inputs: &[Input]) -> Vec<char> {
    inputs
        .iter()
        .filter_map(|i| match i {
            Input::Dtmf { digit, .. } => Some(*digit),
            _ => None,
        })
        .collect()
}

#[test]
fn a_key_press_is_one_digit_despite_repeated_end_packets() {
    let t0 = Instant::now();
    let (mut rx, mut tx, active) = (Receiver::default(), sender(), call("c1"));
    let mut inputs = Vec::new();
    for (i, d) in key_press(&mut tx, '#', 0).iter().enumerate() {
        inputs.extend(rx.on_datagram(t0 + Duration::from_millis(i as u64 * 20), d, Some(&active), true));
    }
    assert_eq!(digits(&inputs), vec!['#']);
    match inputs.iter().find(|i| matches!(i, Input::Dtmf { .. })) {
        Some(Input::Dtmf { call, via, .. }) => assert_eq!((call, *via), (&CallId("c1".into()), DtmfVia::Rfc4733)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_event_whose_end_is_lost_ends_at_the_decoder_timeout() {
    let t0 = Instant::now();
    let (mut rx, mut tx, active) = (Receiver::default(), sender(), call("c1"));
    let first = &key_press(&mut tx, '5', 0)[0];
    assert!(digits(&rx.on_datagram(t0, first, Some(&active), true)).is_empty());
    let due = rx.next_timeout().expect("the decoder waits for the end");
    assert_eq!(digits(&rx.on_timeout(due)), vec!['5']);
    assert_eq!(rx.next_timeout(), None);
}

#[test]
fn video_socket_and_calls_without_telephone_event_decode_no_digits() {
    let t0 = Instant::now();
    let mut tx = sender();
    let presses = key_press(&mut tx, '1', 0);
    let mut video = Receiver::default();
    let no_te = ActiveCall { call: CallId("c2".into()), telephone_event: None, srtp: Default::default() };
    let mut audio = Receiver::default();
    for d in &presses {
        assert!(digits(&video.on_datagram(t0, d, Some(&call("c1")), false)).is_empty());
        assert!(digits(&audio.on_datagram(t0, d, Some(&no_te), true)).is_empty());
    }
}

#[test]
fn activity_is_reported_once_a_second_per_call_and_not_without_a_call() {
    let t0 = Instant::now();
    let (mut rx, mut tx) = (Receiver::default(), sender());
    let mut pcmu = || marshal(&tx.packet(0, false, Bytes::from_static(&[0xff; 160]))).unwrap().to_vec();
    let activity = |inputs: Vec<Input>| inputs.iter().filter(|i| matches!(i, Input::MediaActivity { .. })).count();
    assert_eq!(activity(rx.on_datagram(t0, &pcmu(), None, true)), 0, "no call: nothing to report");
    assert_eq!(activity(rx.on_datagram(t0, &pcmu(), Some(&call("c1")), true)), 1);
    assert_eq!(activity(rx.on_datagram(t0 + Duration::from_millis(999), &pcmu(), Some(&call("c1")), true)), 0);
    assert_eq!(activity(rx.on_datagram(t0 + Duration::from_millis(1000), &pcmu(), Some(&call("c1")), true)), 1);
    assert_eq!(
        activity(rx.on_datagram(t0 + Duration::from_millis(1001), &pcmu(), Some(&call("c2")), true)),
        1,
        "a new call at once"
    );
    assert_eq!(activity(rx.on_datagram(t0, b"not rtp", Some(&call("c3")), true)), 0);
}

#[tokio::test]
async fn binds_the_first_free_even_pair() {
    let ip: IpAddr = [127, 0, 0, 1].into();
    let taken = RtpSockets::bind(ip, 41000, 41010).await.unwrap();
    assert_eq!(taken.ports().unwrap(), (41000, 41002));
    let next = RtpSockets::bind(ip, 41001, 41010).await.unwrap();
    assert_eq!(next.ports().unwrap(), (41004, 41006), "41002 is taken, so 41004/41006");
    let e = RtpSockets::bind(ip, 41000, 41003).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
}
