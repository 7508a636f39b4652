use super::*;
use rtcp::source_description::SourceDescription;

#[test]
fn reports_come_every_half_to_one_and_a_half_intervals_on_a_fake_clock() {
    let t0 = Instant::now();
    let mut timer = ReportTimer::new(t0, REPORT_INTERVAL, 7);
    let first = timer.next_timeout() - t0;
    assert!(first >= REPORT_INTERVAL / 4 && first < REPORT_INTERVAL * 3 / 4, "{first:?}");
    assert!(!timer.handle_timeout(t0));
    let mut now = timer.next_timeout();
    let mut gaps = Vec::new();
    for _ in 0..50 {
        assert!(timer.handle_timeout(now));
        let gap = timer.next_timeout() - now;
        assert!(gap >= REPORT_INTERVAL / 2 && gap < REPORT_INTERVAL * 3 / 2, "{gap:?}");
        gaps.push(gap);
        now = timer.next_timeout();
    }
    gaps.dedup();
    assert!(gaps.len() > 40, "the interval is randomised");
    let again: Vec<_> = {
        let mut t = ReportTimer::new(t0, REPORT_INTERVAL, 7);
        (0..3)
            .map(|_| {
                let n = t.next_timeout();
                t.handle_timeout(n);
                n
            })
            .collect()
    };
    let mut t = ReportTimer::new(t0, REPORT_INTERVAL, 7);
    let same: Vec<_> = (0..3)
        .map(|_| {
            let n = t.next_timeout();
            t.handle_timeout(n);
            n
        })
        .collect();
    assert_eq!(again, same, "the same seed gives the same schedule");
}

fn parse(bytes: &[u8]) -> Vec<Box<dyn rtcp::packet::Packet + Send + Sync>> {
    let mut buf = bytes;
    rtcp::packet::unmarshal(&mut buf).expect("well-formed compound RTCP")
}

#[test]
fn a_sender_report_carries_the_block_and_the_cname() {
    let t0 = Instant::now();
    let mut rx = Reception::default();
    for seq in [65534u16, 65535, 1, 2] {
        rx.on_rtp(0xabcd, seq); // seq 0 lost, across the wrap
    }
    let peer_sr = SenderReport { ssrc: 0xabcd, ntp_time: 0x1122_3344_5566_7788, ..Default::default() };
    rx.on_rtcp(t0, &peer_sr.marshal().unwrap());
    assert_eq!(rx.last_sr(), Some(0x3344_5566));
    let block = rx.report_block(t0 + Duration::from_millis(500));
    let info = SenderInfo { ntp: 42 << 32, rtp_time: 9000, packets: 10, octets: 1200 };
    let packets = parse(&compound(0x1234, Some(info), block, "door@station"));
    assert_eq!(packets.len(), 2);
    let sr = packets[0].as_any().downcast_ref::<SenderReport>().expect("SR first");
    assert_eq!(
        (sr.ssrc, sr.ntp_time, sr.rtp_time, sr.packet_count, sr.octet_count),
        (0x1234, 42 << 32, 9000, 10, 1200)
    );
    let b = &sr.reports[0];
    assert_eq!(
        (b.ssrc, b.total_lost, b.last_sequence_number, b.last_sender_report),
        (0xabcd, 1, 0x1_0002, 0x3344_5566)
    );
    assert_eq!(b.delay, 32768, "DLSR is in 1/65536 s");
    assert_eq!(b.fraction_lost, 51, "1 of 5 lost");
    let sdes = packets[1].as_any().downcast_ref::<SourceDescription>().expect("SDES second");
    assert_eq!(sdes.chunks[0].source, 0x1234);
    assert_eq!(sdes.chunks[0].items[0].sdes_type, SdesType::SdesCname);
    assert_eq!(&sdes.chunks[0].items[0].text[..], b"door@station");
}

#[test]
fn only_receiving_gives_a_receiver_report_and_nothing_received_no_block() {
    let mut rx = Reception::default();
    assert!(rx.report_block(Instant::now()).is_none());
    rx.on_rtcp(Instant::now(), b"\x80garbage");
    assert_eq!(rx.last_sr(), None);
    let packets = parse(&compound(5, None, None, "c"));
    let rr = packets[0].as_any().downcast_ref::<ReceiverReport>().expect("RR first");
    assert_eq!((rr.ssrc, rr.reports.len()), (5, 0));
}

#[test]
fn ntp_counts_from_1900() {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(1500);
    assert_eq!(ntp(t), (2_208_988_801u64 << 32) | (1u64 << 31));
}
