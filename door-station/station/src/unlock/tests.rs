use super::*;
use UnlockOutcome::{LockedOut, NotAllowed, Opened, WrongCode};

const ALICE: &str = "sip:alice@home";
const MALLORY: &str = "sip:mallory@elsewhere";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sequencer(code: &str) -> UnlockSequencer {
    UnlockSequencer::new(UnlockConfig::new(code, &[ALICE, "*@cloud.example"]).unwrap())
}

/// Types `keys` in `call` one every 100 ms from `start`; returns every outcome.
fn type_keys(s: &mut UnlockSequencer, start: Instant, call: &str, caller: &str, keys: &str) -> Vec<UnlockOutcome> {
    let mut at = start;
    let mut outcomes = Vec::new();
    for key in keys.chars() {
        outcomes.extend(s.handle_digit(at, call, caller, key));
        at += ms(100);
    }
    outcomes
}

#[test]
fn codes_parse_and_bad_codes_say_why() {
    assert_eq!(UnlockCode::parse("#"), Ok(UnlockCode::Digit('#')));
    assert_eq!(UnlockCode::parse(" 5 "), Ok(UnlockCode::Digit('5')));
    assert_eq!(UnlockCode::parse("12ab#"), Ok(UnlockCode::Pin("12AB".into())));
    assert_eq!(UnlockCode::parse(""), Err(UnlockError::EmptyCode));
    assert_eq!(UnlockCode::parse("1234"), Err(UnlockError::PinWithoutHash { code: "1234".into() }));
    assert_eq!(UnlockCode::parse("1#2#"), Err(UnlockError::BadKey { code: "1#2#".into(), found: '#' }));
    assert_eq!(UnlockCode::parse("x"), Err(UnlockError::BadKey { code: "x".into(), found: 'X' }));
    let too_long = format!("{}#", "1".repeat(MAX_PIN_DIGITS + 1));
    assert_eq!(UnlockCode::parse(&too_long), Err(UnlockError::PinTooLong { len: 33 }));
    assert!(UnlockCode::parse("1234").unwrap_err().to_string().contains("1234#"));
}

#[test]
fn debug_output_never_shows_the_pin() {
    let code = UnlockCode::parse("9137#").unwrap();
    assert!(!format!("{code:?}").contains("9137"));
    assert!(!format!("{:?}", sequencer("9137#")).contains("9137"));
}

#[test]
fn allow_list_matches_user_and_host_ignoring_port_and_params() {
    let list = AllowList::parse(&[ALICE, "*@Cloud.Example"]).unwrap();
    for yes in [
        "sip:alice@home",
        "sips:alice@HOME",
        "sip:alice@home:5060",
        "sip:alice@home;transport=tcp?subject=x",
        "\"Alice\" <sip:alice@home:5062;transport=udp>;tag=abc",
        "sip:%61lice@home",
        "sip:alice:secret@home",
        "sip:anyone@cloud.example",
        "<sip:bob@cloud.example:5061>",
    ] {
        assert!(list.allows(yes), "{yes}");
    }
    for no in [
        "sip:Alice@home",
        "sip:alice@home.evil",
        "sip:alice@homex",
        "sip:mallory@home",
        "sip:bob@sub.cloud.example",
        "tel:+4912345",
        "sip:home",
        "alice@home",
        "",
        "sip:%6@home",
        "<sip:alice@home",
    ] {
        assert!(!list.allows(no), "{no}");
    }
}

#[test]
fn allow_list_ipv6_hosts_drop_the_port() {
    let list = AllowList::parse(&["sip:door@[::1]"]).unwrap();
    assert!(list.allows("sip:door@[::1]:5080;transport=udp"));
    assert!(!list.allows("sip:door@[::2]"));
}

#[test]
fn bad_allow_entries_are_refused_with_the_entry() {
    for bad in ["alice@home", "sip:@home", "sip:alice", "*@", "*@home:5060", "<sip:alice@home>", "*@a;b"] {
        let err = AllowEntry::parse(bad).unwrap_err();
        assert!(matches!(err, UnlockError::BadAllowEntry { .. }), "{bad}: {err:?}");
        assert!(err.to_string().contains(bad), "{err}");
    }
    assert_eq!(
        AllowEntry::parse("sip:alice@Home:5060;transport=tcp"),
        Ok(AllowEntry::User { user: "alice".into(), host: "home".into() })
    );
}

#[test]
fn single_digit_code_opens_on_that_digit() {
    let t0 = Instant::now();
    let mut s = sequencer("#");
    assert_eq!(s.handle_digit(t0, "c1", ALICE, '#'), Some(Opened));
    assert_eq!(s.handle_digit(t0, "c1", ALICE, '5'), Some(WrongCode));
    assert_eq!(s.handle_digit(t0, "c1", ALICE, 'x'), None, "not a DTMF key: not an entry");
    assert_eq!(s.next_timeout(), None, "single digits leave nothing pending");
}

#[test]
fn pin_collects_until_hash() {
    let t0 = Instant::now();
    let mut s = sequencer("1234#");
    assert_eq!(type_keys(&mut s, t0, "c1", ALICE, "1234"), []);
    assert_eq!(s.next_timeout(), Some(t0 + ms(300) + ms(3000)));
    assert_eq!(s.handle_digit(t0 + ms(400), "c1", ALICE, '#'), Some(Opened));
    assert_eq!(s.next_timeout(), None);
    assert_eq!(type_keys(&mut s, t0 + ms(1000), "c1", ALICE, "1235#"), [WrongCode]);
    assert_eq!(type_keys(&mut s, t0 + ms(2000), "c1", ALICE, "12345#"), [WrongCode]);
    assert_eq!(type_keys(&mut s, t0 + ms(3000), "c1", ALICE, "123#"), [WrongCode]);
}

#[test]
fn lone_hash_is_not_an_entry_for_a_pin() {
    let t0 = Instant::now();
    let mut s = sequencer("1234#");
    assert_eq!(type_keys(&mut s, t0, "c1", ALICE, "###"), []);
    assert_eq!(type_keys(&mut s, t0 + ms(500), "c1", ALICE, "1234#"), [Opened]);
}

#[test]
fn two_calls_do_not_mix_digits() {
    let t0 = Instant::now();
    let mut s = sequencer("1234#");
    for (i, (a, b)) in "1234".chars().zip("9999".chars()).enumerate() {
        let at = t0 + ms(100 * i as u64);
        assert_eq!(s.handle_digit(at, "call-a", ALICE, a), None);
        assert_eq!(s.handle_digit(at, "call-b", "sip:bob@cloud.example", b), None);
    }
    assert_eq!(s.handle_digit(t0 + ms(500), "call-b", "sip:bob@cloud.example", '#'), Some(WrongCode));
    assert_eq!(s.handle_digit(t0 + ms(600), "call-a", ALICE, '#'), Some(Opened));
}

#[test]
fn inter_digit_timeout_clears_a_partial_pin_without_a_failure() {
    let t0 = Instant::now();
    let mut s = sequencer("1234#");
    let mut start = t0;
    for _ in 0..5 {
        type_keys(&mut s, start, "c1", ALICE, "12");
        let deadline = start + ms(100) + ms(3000);
        assert_eq!(s.next_timeout(), Some(deadline));
        s.handle_timeout(deadline);
        assert_eq!(s.next_timeout(), None);
        start = deadline + ms(10);
    }
    assert!(!s.is_locked_out(start), "abandoned entries are not failures");
    assert_eq!(type_keys(&mut s, start, "c1", ALICE, "34#"), [WrongCode], "\"12\" was cleared");
    assert_eq!(type_keys(&mut s, start + ms(500), "c1", ALICE, "1234#"), [Opened]);
}

#[test]
fn a_late_timeout_call_still_clears_before_the_next_digit() {
    let t0 = Instant::now();
    let mut s = sequencer("1234#");
    type_keys(&mut s, t0, "c1", ALICE, "12");
    // No handle_timeout call: the next key, 5 s later, starts a fresh entry.
    assert_eq!(type_keys(&mut s, t0 + ms(5000), "c1", ALICE, "1234#"), [Opened]);
}

#[test]
fn wrong_pin_three_times_locks_out_even_the_right_pin_until_it_ends() {
    let t0 = Instant::now();
    let mut s = sequencer("1234#");
    for i in 0..3 {
        assert_eq!(type_keys(&mut s, t0 + ms(1000 * i), "c1", ALICE, "0000#"), [WrongCode]);
    }
    let locked_at = t0 + ms(2400);
    assert!(s.is_locked_out(locked_at));
    assert_eq!(s.locked_until(), Some(locked_at + ms(60_000)));
    assert_eq!(s.next_timeout(), Some(locked_at + ms(60_000)));
    assert_eq!(type_keys(&mut s, t0 + ms(5000), "c1", ALICE, "1234#"), [LockedOut]);
    assert_eq!(type_keys(&mut s, t0 + ms(6000), "c2", "sip:bob@cloud.example", "1234#"), [LockedOut]);
    let just_before = locked_at + ms(59_000);
    assert_eq!(type_keys(&mut s, just_before, "c1", ALICE, "1234#"), [LockedOut]);
    let after = locked_at + ms(60_000);
    s.handle_timeout(after);
    assert!(!s.is_locked_out(after));
    assert_eq!(s.next_timeout(), None);
    assert_eq!(type_keys(&mut s, after, "c1", ALICE, "1234#"), [Opened]);
}

#[test]
fn failures_outside_the_window_are_forgotten() {
    let t0 = Instant::now();
    let mut s = sequencer("1234#");
    type_keys(&mut s, t0, "c1", ALICE, "0#");
    type_keys(&mut s, t0 + ms(30_000), "c1", ALICE, "0#");
    type_keys(&mut s, t0 + ms(60_100), "c1", ALICE, "0#");
    assert!(!s.is_locked_out(t0 + ms(60_300)), "the first failure left the window");
    type_keys(&mut s, t0 + ms(61_000), "c1", ALICE, "0#");
    assert!(s.is_locked_out(t0 + ms(61_200)));
}

#[test]
fn success_clears_the_failure_count() {
    let t0 = Instant::now();
    let mut s = sequencer("#");
    let keys = [('1', WrongCode), ('2', WrongCode), ('#', Opened), ('3', WrongCode), ('4', WrongCode)];
    for (i, (key, outcome)) in keys.into_iter().enumerate() {
        assert_eq!(s.handle_digit(t0 + ms(i as u64), "c1", ALICE, key), Some(outcome));
    }
    assert!(!s.is_locked_out(t0 + ms(10)));
    assert_eq!(s.handle_digit(t0 + ms(10), "c1", ALICE, '5'), Some(WrongCode));
    assert_eq!(s.handle_digit(t0 + ms(11), "c1", ALICE, '#'), Some(LockedOut));
}

#[test]
fn caller_not_on_the_list_never_opens_and_does_not_lock_others_out() {
    let t0 = Instant::now();
    let mut s = sequencer("1234#");
    for i in 0..10 {
        let at = t0 + ms(1000 * i);
        assert_eq!(type_keys(&mut s, at, "evil", MALLORY, "1234#"), [NotAllowed]);
        assert_eq!(type_keys(&mut s, at, "evil", MALLORY, "0000#"), [NotAllowed]);
    }
    assert!(!s.is_locked_out(t0 + ms(20_000)));
    assert_eq!(type_keys(&mut s, t0 + ms(20_000), "c1", ALICE, "1234#"), [Opened]);

    let mut single = sequencer("#");
    assert_eq!(single.handle_digit(t0, "evil", MALLORY, '#'), Some(NotAllowed));
    assert_eq!(single.handle_digit(t0, "evil", "garbage", '#'), Some(NotAllowed));
}

#[test]
fn not_allowed_wins_over_locked_out() {
    let t0 = Instant::now();
    let mut s = sequencer("#");
    for key in "123".chars() {
        s.handle_digit(t0, "c1", ALICE, key);
    }
    assert!(s.is_locked_out(t0));
    assert_eq!(s.handle_digit(t0, "evil", MALLORY, '#'), Some(NotAllowed));
}

#[test]
fn lockout_drops_partial_entries_of_every_call() {
    let t0 = Instant::now();
    let mut config = UnlockConfig::new("1234#", &[ALICE]).unwrap();
    config.inter_digit_timeout = Duration::from_secs(120);
    let mut s = UnlockSequencer::new(config);
    type_keys(&mut s, t0, "other", ALICE, "12");
    for i in 0..3 {
        type_keys(&mut s, t0 + ms(100 * i), "c1", ALICE, "9#");
    }
    let after = t0 + ms(61_000);
    // With a 120 s inter-digit timeout "12" would still be there and "34#" would open.
    assert_eq!(type_keys(&mut s, after, "other", ALICE, "34#"), [WrongCode]);
}

#[test]
fn zero_max_failures_never_locks_out() {
    let t0 = Instant::now();
    let mut config = UnlockConfig::new("#", &[ALICE]).unwrap();
    config.max_failures = 0;
    let mut s = UnlockSequencer::new(config);
    for i in 0..20 {
        assert_eq!(s.handle_digit(t0 + ms(i), "c1", ALICE, '1'), Some(WrongCode));
    }
    assert_eq!(s.handle_digit(t0 + ms(20), "c1", ALICE, '#'), Some(Opened));
}

#[test]
fn overlong_entry_is_wrong_even_if_it_starts_with_the_pin() {
    let t0 = Instant::now();
    let pin = "1".repeat(MAX_PIN_DIGITS);
    let mut s = sequencer(&(pin.clone() + "#"));
    let mut at = t0;
    for key in pin.chars().chain("999".chars()) {
        assert_eq!(s.handle_digit(at, "c1", ALICE, key), None);
        at += ms(10);
    }
    assert_eq!(s.handle_digit(at, "c1", ALICE, '#'), Some(WrongCode));
    assert_eq!(type_keys(&mut s, at + ms(10), "c1", ALICE, &(pin + "#")), [Opened]);
}

#[test]
fn end_call_forgets_its_digits() {
    let t0 = Instant::now();
    let mut s = sequencer("1234#");
    type_keys(&mut s, t0, "c1", ALICE, "12");
    s.end_call("c1");
    assert_eq!(s.next_timeout(), None);
    assert_eq!(s.handle_digit(t0 + ms(300), "c1", ALICE, '#'), None);
}

#[test]
fn message_body_counts_as_the_code() {
    let t0 = Instant::now();
    let mut s = sequencer("1234#");
    assert_eq!(s.handle_message(t0, ALICE, "  unlock\r\n"), Some(Opened));
    assert_eq!(s.handle_message(t0, ALICE, "hello"), None, "a chat message is not an entry");
    assert_eq!(s.handle_message(t0, MALLORY, "unlock"), Some(NotAllowed));
    for i in 0..3 {
        type_keys(&mut s, t0 + ms(100 * i), "c1", ALICE, "0#");
    }
    assert_eq!(s.handle_message(t0 + ms(500), ALICE, "unlock"), Some(LockedOut));

    let mut config = UnlockConfig::new("#", &[ALICE]).unwrap();
    config.message_body = None;
    let mut off = UnlockSequencer::new(config.clone());
    assert_eq!(off.handle_message(t0, ALICE, "unlock"), None);
    config.message_body = Some(" ".into());
    let mut off = UnlockSequencer::new(config);
    assert_eq!(off.handle_message(t0, ALICE, ""), None, "an empty body never matches");
}

#[test]
fn outcome_names_match_the_control_socket() {
    let names: Vec<&str> = [Opened, WrongCode, NotAllowed, LockedOut].iter().map(|o| o.as_str()).collect();
    assert_eq!(names, ["opened", "wrong_code", "not_allowed", "locked_out"]);
    assert_eq!(serde_json::to_string(&NotAllowed).unwrap(), "\"not_allowed\"");
}

#[test]
fn constant_time_eq_compares_length_and_content() {
    assert!(constant_time_eq(b"1234", b"1234"));
    assert!(!constant_time_eq(b"1234", b"1235"));
    assert!(!constant_time_eq(b"1234", b"123"));
    assert!(!constant_time_eq(b"", b"1"));
    assert!(constant_time_eq(b"", b""));
}
