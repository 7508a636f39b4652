use super::*;

const FRAME: u32 = 160;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn buffer() -> JitterBuffer {
    JitterBuffer::new(JitterConfig::audio(SampleRate::Hz8000)).unwrap()
}

fn packet(ssrc: u32, seq: u16, ts: u32) -> Arrival {
    Arrival { ssrc, seq, timestamp: ts, payload_type: 0, payload: Bytes::from(seq.to_be_bytes().to_vec()) }
}

/// Packet `i` of a stream with base sequence `seq0` and timestamp `ts0`.
fn nth(ssrc: u32, seq0: u16, ts0: u32, i: u32) -> Arrival {
    packet(ssrc, seq0.wrapping_add(i as u16), ts0.wrapping_add(i * FRAME))
}

/// Pops at `t0 + at` and returns the sequence number played, or what happened instead.
fn seq_of(p: Playout) -> Result<u16, Playout> {
    match p {
        Playout::Frame(f) => Ok(f.seq),
        other => Err(other),
    }
}

#[test]
fn a_steady_stream_plays_in_order_after_the_target_delay() {
    let t0 = Instant::now();
    let mut jb = buffer();
    assert_eq!(jb.pop(t0), Playout::Empty);
    assert_eq!(jb.push(t0, nth(1, 100, 8000, 0)), PushOutcome::Buffered);
    assert_eq!(jb.pop(t0 + ms(20)), Playout::Empty, "still within the 40 ms minimum delay");
    jb.push(t0 + ms(20), nth(1, 100, 8000, 1));
    jb.push(t0 + ms(40), nth(1, 100, 8000, 2));
    let mut played = vec![];
    for i in 2..12u32 {
        played.push(seq_of(jb.pop(t0 + ms(20 * u64::from(i)))).unwrap());
        jb.push(t0 + ms(20 * u64::from(i + 1)), nth(1, 100, 8000, i + 1));
    }
    assert_eq!(played, (100..110).collect::<Vec<u16>>());
    assert_eq!(jb.stats().lost + jb.stats().underruns, 0);
    assert_eq!(jb.jitter(), Duration::ZERO);
}

#[test]
fn reordered_packets_play_in_order_and_duplicates_once() {
    let t0 = Instant::now();
    let mut jb = buffer();
    for (i, n) in [0u32, 2, 1, 1, 3].into_iter().enumerate() {
        let outcome = jb.push(t0 + ms(5 * i as u64), nth(7, 0, 0, n));
        let expected = if i == 3 { PushOutcome::Duplicate } else { PushOutcome::Buffered };
        assert_eq!(outcome, expected);
    }
    let played: Vec<_> = (0..4).map(|i| seq_of(jb.pop(t0 + ms(40 + 20 * i))).unwrap()).collect();
    assert_eq!(played, [0, 1, 2, 3]);
    assert_eq!(jb.stats().duplicates, 1);
}

#[test]
fn a_lost_frame_is_concealed_in_its_slot_and_a_late_one_dropped() {
    let t0 = Instant::now();
    let mut jb = buffer();
    for n in [0u32, 1, 3, 4] {
        jb.push(t0, nth(7, 0, 0, n));
    }
    let at = |i: u64| t0 + ms(40 + 20 * i);
    assert_eq!(seq_of(jb.pop(at(0))), Ok(0));
    assert_eq!(seq_of(jb.pop(at(1))), Ok(1));
    assert_eq!(jb.pop(at(2)), Playout::Conceal(Conceal::Lost));
    // Frame 2 turns up after its slot was concealed.
    assert_eq!(jb.push(at(2) + ms(1), nth(7, 0, 0, 2)), PushOutcome::Late);
    assert_eq!(seq_of(jb.pop(at(3))), Ok(3));
    assert_eq!(seq_of(jb.pop(at(4))), Ok(4));
    let stats = jb.stats();
    assert_eq!((stats.lost, stats.late, stats.played), (1, 1, 4));
}

#[test]
fn an_underrun_waits_so_the_delayed_frame_still_plays_then_the_stream_stops() {
    let t0 = Instant::now();
    let mut jb = buffer();
    jb.push(t0, nth(7, 0, 0, 0));
    assert_eq!(seq_of(jb.pop(t0 + ms(40))), Ok(0));
    assert_eq!(jb.pop(t0 + ms(60)), Playout::Conceal(Conceal::Underrun));
    jb.push(t0 + ms(70), nth(7, 0, 0, 1));
    assert_eq!(seq_of(jb.pop(t0 + ms(80))), Ok(1), "the late-ish frame is not lost");
    let tail: Vec<_> = (0..11).map(|i| jb.pop(t0 + ms(100 + 20 * i))).collect();
    assert!(tail[..10].iter().all(|p| *p == Playout::Conceal(Conceal::Underrun)));
    assert_eq!(tail[10], Playout::Empty, "after max_conceal frames the stream counts as stopped");
    // A new talk spurt buffers again before playing.
    jb.push(t0 + ms(400), nth(7, 0, 0, 20));
    assert_eq!(jb.pop(t0 + ms(420)), Playout::Empty);
    assert_eq!(seq_of(jb.pop(t0 + ms(440))), Ok(20));
}

#[test]
fn an_ssrc_and_base_change_mid_stream_continues_without_a_gap() {
    let t0 = Instant::now();
    let mut jb = buffer();
    let mut played = vec![];
    let mut resync_flags = vec![];
    for i in 0..20u32 {
        let now = t0 + ms(20 * u64::from(i));
        let p = if i < 10 {
            nth(0x1111, 65_530, 4_294_966_000, i) // wraps both sequence and timestamp
        } else {
            nth(0x2222, 7, 123_456, i - 10)
        };
        let outcome = jb.push(now, p);
        assert_eq!(outcome == PushOutcome::Resynced, i == 10, "packet {i}");
        if let Playout::Frame(f) = jb.pop(now) {
            played.push((f.ssrc, f.seq));
            resync_flags.push(f.resync);
        }
    }
    for i in 20..22u64 {
        if let Playout::Frame(f) = jb.pop(t0 + ms(20 * i)) {
            played.push((f.ssrc, f.seq));
            resync_flags.push(f.resync);
        }
    }
    let expected: Vec<(u32, u16)> =
        (0..10u16).map(|i| (0x1111, 65_530u16.wrapping_add(i))).chain((0..10).map(|i| (0x2222, 7 + i))).collect();
    assert_eq!(played[..], expected[..played.len()]);
    assert_eq!(played.len(), 20);
    assert_eq!(resync_flags.iter().filter(|&&r| r).count(), 1);
    assert_eq!(jb.stats().lost + jb.stats().underruns, 0);
    assert_eq!(jb.stats().resyncs, 1);
}

#[test]
fn a_sequence_and_timestamp_jump_on_the_same_ssrc_is_a_resync() {
    let t0 = Instant::now();
    let mut jb = buffer();
    for i in 0..3 {
        jb.push(t0 + ms(20 * u64::from(i)), nth(5, 1000, 0, i));
    }
    assert_eq!(jb.push(t0 + ms(60), nth(5, 40_000, 9_000_000, 0)), PushOutcome::Resynced);
    assert_eq!(jb.push(t0 + ms(80), nth(5, 40_000, 9_000_000, 1)), PushOutcome::Buffered);
    let played: Vec<_> = (0..5).map(|i| seq_of(jb.pop(t0 + ms(60 + 20 * i))).unwrap()).collect();
    assert_eq!(played, [1000, 1001, 1002, 40_000, 40_001]);
    // A silence gap (timestamps jump 2 s, sequence continues) is not a resync.
    let gap = packet(5, 40_002, 9_000_000 + 16_000);
    assert_eq!(jb.push(t0 + ms(2_000), gap), PushOutcome::Buffered);
}

/// Feeds 200 frames whose arrival is late by `late_ms(i)`, popping every 20 ms; returns the
/// buffer.
fn run_with_jitter(late_ms: impl Fn(u32) -> u64) -> JitterBuffer {
    let t0 = Instant::now();
    let mut jb = buffer();
    let mut arrivals: Vec<(Instant, u32)> = (0..200).map(|i| (t0 + ms(20 * u64::from(i) + late_ms(i)), i)).collect();
    arrivals.sort();
    let mut pending = arrivals.into_iter().peekable();
    for tick in 0..220u64 {
        let now = t0 + ms(20 * tick);
        while let Some(&(at, i)) = pending.peek()
            && at <= now
        {
            jb.push(at, nth(9, 0, 0, i));
            pending.next();
        }
        jb.pop(now);
    }
    jb
}

#[test]
fn the_target_delay_follows_the_measured_jitter() {
    let calm = run_with_jitter(|_| 0);
    let rough = run_with_jitter(|i| if i % 2 == 0 { 0 } else { 30 });
    assert_eq!(calm.jitter(), Duration::ZERO);
    assert_eq!(calm.target_delay(), ms(40));
    // Every other packet is 30 ms late, so most |D| are 30 ms: the RFC 3550 recursion over
    // these arrivals (reordered pairwise) gives 28.12 ms, and the target 20 + 3 × 28.12 ms.
    let j = rough.jitter().as_secs_f64() * 1000.0;
    assert!((28.0..=28.3).contains(&j), "jitter {j} ms");
    assert!((ms(103)..=ms(106)).contains(&rough.target_delay()));
    assert_eq!(calm.stats().lost + calm.stats().late, 0);
    assert!(rough.stats().late <= 2, "late {:?}", rough.stats());
}

#[test]
fn a_burst_above_the_target_is_shrunk_back() {
    let t0 = Instant::now();
    let mut jb = buffer();
    // Twenty frames arrive at once (a network stall let go), then the stream runs steadily.
    for i in 0..20 {
        jb.push(t0, nth(3, 0, 0, i));
    }
    for tick in 0..300u32 {
        let now = t0 + ms(40 + 20 * u64::from(tick));
        jb.push(now, nth(3, 0, 0, 20 + tick));
        jb.pop(now);
    }
    assert!(jb.stats().shrunk >= 10, "{:?}", jb.stats());
    assert_eq!(jb.stats().lost + jb.stats().underruns, 0);
    assert!(jb.len() <= jb.target_frames() as usize + 3, "still {} frames", jb.len());
}

#[test]
fn capacity_drops_the_oldest_and_config_is_checked() {
    let t0 = Instant::now();
    let config = JitterConfig { capacity: 4, ..JitterConfig::audio(SampleRate::Hz48000) };
    let mut jb = JitterBuffer::new(config).unwrap();
    for i in 0..6u16 {
        jb.push(t0, packet(1, i, u32::from(i) * 960));
    }
    assert_eq!((jb.len(), jb.stats().overflow), (4, 2));
    assert_eq!(seq_of(jb.pop(t0 + ms(40))), Ok(2));
    let bad = JitterConfig { frame_units: 0, ..config };
    assert!(matches!(JitterBuffer::new(bad), Err(JitterError::Config { field: "frame_units", .. })));
}

#[test]
fn a_payload_type_change_passes_through_without_a_resync() {
    let t0 = Instant::now();
    let mut jb = buffer();
    for i in 0..4u32 {
        let mut p = nth(4, 10, 0, i);
        p.payload_type = if i < 2 { 0 } else { 8 };
        assert_eq!(jb.push(t0 + ms(20 * u64::from(i)), p), PushOutcome::Buffered);
    }
    let types: Vec<_> = (0..4)
        .filter_map(|i| match jb.pop(t0 + ms(60 + 20 * i)) {
            Playout::Frame(f) => Some((f.payload_type, f.resync)),
            _ => None,
        })
        .collect();
    assert_eq!(types, [(0, false), (0, false), (8, false), (8, false)]);
}

#[test]
fn late_packets_of_the_old_stream_after_a_switch_go_to_their_place() {
    let t0 = Instant::now();
    let mut jb = buffer();
    for i in 0..8u32 {
        jb.push(t0 + ms(20 * u64::from(i)), nth(1, 100, 5000, i));
    }
    // Packet 9 of the old stream is overtaken by the first packet of the new one.
    assert_eq!(jb.push(t0 + ms(180), nth(2, 7, 90_000, 0)), PushOutcome::Resynced);
    assert_eq!(jb.push(t0 + ms(185), nth(1, 100, 5000, 8)), PushOutcome::Buffered);
    assert_eq!(jb.push(t0 + ms(200), nth(2, 7, 90_000, 1)), PushOutcome::Buffered);
    let played: Vec<_> = (0..11)
        .filter_map(|i| match jb.pop(t0 + ms(40 + 20 * i)) {
            Playout::Frame(f) => Some((f.ssrc, f.seq)),
            _ => None,
        })
        .collect();
    let mut expected: Vec<(u32, u16)> = (100..109).map(|s| (1, s)).collect();
    expected.extend([(2, 7), (2, 8)]);
    assert_eq!(played, expected);
    // A straggler whose time has passed is late, and does not switch back either.
    assert_eq!(jb.push(t0 + ms(300), nth(1, 100, 5000, 5)), PushOutcome::Late);
    assert_eq!(jb.stats().resyncs, 1);
}

#[test]
fn random_arrivals_never_panic_and_keep_the_buffer_bounded() {
    let t0 = Instant::now();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut jb = buffer();
    let mut now = t0;
    for _ in 0..20_000 {
        now += Duration::from_micros(next() % 40_000);
        let r = next();
        let packet = packet((r % 3) as u32, (r >> 8) as u16, (r >> 24) as u32);
        let _ = jb.push(now, packet);
        let _ = jb.pop(now);
        assert!(jb.len() <= 50);
        assert!(jb.target_delay() <= ms(200));
    }
    assert!(jb.stats().resyncs > 100, "{:?}", jb.stats());
}

#[test]
fn after_a_loss_the_following_frame_can_be_peeked() {
    let t0 = Instant::now();
    let mut jb = buffer();
    for n in [0u32, 2, 4] {
        jb.push(t0, nth(7, 0, 0, n));
    }
    assert_eq!(jb.peek_next(), None, "not playing yet");
    assert_eq!(seq_of(jb.pop(t0 + ms(40))), Ok(0));
    assert_eq!(jb.pop(t0 + ms(60)), Playout::Conceal(Conceal::Lost));
    assert_eq!(jb.peek_next().map(|f| f.seq), Some(2));
    assert_eq!(seq_of(jb.pop(t0 + ms(80))), Ok(2));
    assert_eq!(jb.peek_next(), None, "frame 3 is missing, 4 is not next");
}
