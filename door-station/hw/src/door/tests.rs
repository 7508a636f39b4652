//! The door monitor on a fake clock.

use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use super::*;
use crate::ManualClock;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn events(m: &mut DoorMonitor) -> Vec<DoorOutput> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

/// Feeds a clean level and steps past its debounce.
fn settle(m: &mut DoorMonitor, at: Instant, input: DoorInput, level: bool) -> Vec<DoorOutput> {
    m.handle_level(at, input, level);
    m.handle_timeout(at + DoorConfig::default().debounce);
    events(m)
}

#[test]
fn an_opening_without_a_grant_is_forced() {
    let t0 = Instant::now();
    let mut m = DoorMonitor::new(DoorConfig::default(), t0, false, false);
    let got = settle(&mut m, t0 + ms(1000), DoorInput::Contact, true);
    assert_eq!(
        got,
        [
            DoorOutput::Event(DoorEvent::Opened { at: t0 + ms(1000), authorized: false }),
            DoorOutput::Event(DoorEvent::Forced { at: t0 + ms(1000) }),
        ]
    );
    assert!(m.is_open());
}

#[test]
fn an_opening_during_an_unlock_or_its_grace_is_authorized() {
    let t0 = Instant::now();
    let config = DoorConfig::default();
    let mut m = DoorMonitor::new(config, t0, false, false);
    m.granted(t0 + ms(3000));
    let at = t0 + ms(3000) + config.grant_grace;
    let got = settle(&mut m, at, DoorInput::Contact, true);
    assert_eq!(got, [DoorOutput::Event(DoorEvent::Opened { at, authorized: true })]);
    let closed = settle(&mut m, at + ms(4000), DoorInput::Contact, false);
    assert_eq!(closed, [DoorOutput::Event(DoorEvent::Closed { at: at + ms(4000), open_for: ms(4000) })]);
    // The grant has run out: the next opening is forced.
    let again = settle(&mut m, at + ms(4001), DoorInput::Contact, true);
    assert!(again.contains(&DoorOutput::Event(DoorEvent::Forced { at: at + ms(4001) })));
}

#[test]
fn a_door_open_past_the_limit_is_held_open_once() {
    let t0 = Instant::now();
    let config = DoorConfig { held_open_after: Duration::from_secs(30), ..DoorConfig::default() };
    let mut m = DoorMonitor::new(config, t0, false, false);
    m.granted(t0 + ms(3000));
    settle(&mut m, t0 + ms(100), DoorInput::Contact, true);
    let limit = t0 + ms(100) + config.held_open_after;
    assert_eq!(m.next_timeout(), Some(limit));
    m.handle_timeout(limit - ms(1));
    assert!(events(&mut m).is_empty());
    m.handle_timeout(limit);
    assert_eq!(events(&mut m), [DoorOutput::Event(DoorEvent::HeldOpen { at: limit, since: t0 + ms(100) })]);
    assert_eq!(m.next_timeout(), None, "reported once");
    m.handle_timeout(limit + ms(60_000));
    assert!(events(&mut m).is_empty());
}

#[test]
fn contact_bounce_is_one_opening() {
    let t0 = Instant::now();
    let mut m = DoorMonitor::new(DoorConfig::default(), t0, false, false);
    m.granted(t0 + ms(5000));
    for (at, level) in [(0, true), (3, false), (5, true), (9, false), (12, true)] {
        m.handle_level(t0 + ms(at), DoorInput::Contact, level);
    }
    m.handle_timeout(t0 + ms(12) + DoorConfig::default().debounce);
    let got = events(&mut m);
    assert_eq!(got, [DoorOutput::Event(DoorEvent::Opened { at: t0 + ms(12), authorized: true })]);
}

#[test]
fn the_exit_button_opens_locally_and_authorizes_the_opening() {
    let t0 = Instant::now();
    let config = DoorConfig::default();
    let mut m = DoorMonitor::new(config, t0, false, false);
    let got = settle(&mut m, t0, DoorInput::Exit, true);
    assert_eq!(got, [DoorOutput::Event(DoorEvent::ExitRequested { at: t0 }), DoorOutput::Unlock(config.exit_unlock),]);
    settle(&mut m, t0 + ms(300), DoorInput::Exit, false);
    let opened = settle(&mut m, t0 + ms(2000), DoorInput::Contact, true);
    assert_eq!(opened, [DoorOutput::Event(DoorEvent::Opened { at: t0 + ms(2000), authorized: true })]);
}

#[test]
fn tamper_changes_are_reported_both_ways() {
    let t0 = Instant::now();
    let mut m = DoorMonitor::new(DoorConfig::default(), t0, false, false);
    assert_eq!(
        settle(&mut m, t0, DoorInput::Tamper, true),
        [DoorOutput::Event(DoorEvent::Tamper { at: t0, active: true })]
    );
    assert_eq!(
        settle(&mut m, t0 + ms(500), DoorInput::Tamper, false),
        [DoorOutput::Event(DoorEvent::Tamper { at: t0 + ms(500), active: false })]
    );
}

#[test]
fn a_door_found_open_at_start_is_not_forced_but_can_be_held() {
    let t0 = Instant::now();
    let config = DoorConfig::default();
    let mut m = DoorMonitor::new(config, t0, true, false);
    assert!(m.is_open());
    m.handle_timeout(t0 + config.held_open_after);
    assert_eq!(events(&mut m), [DoorOutput::Event(DoorEvent::HeldOpen { at: t0 + config.held_open_after, since: t0 })]);
}

#[test]
fn the_thread_loop_runs_the_monitor_on_simulated_inputs() {
    let t0 = Instant::now();
    let clock = ManualClock::new(t0);
    let (tx, rx) = mpsc::channel();
    let inputs = SimDoorInputs::new(tx.clone()).with_clock(Arc::new(clock.clone()));
    tx.send(DoorFeed::Granted { until: t0 + ms(3000) }).unwrap();
    inputs.set(DoorInput::Contact, true).unwrap();
    clock.advance(ms(100));
    inputs.set(DoorInput::Contact, true).unwrap(); // a later sample settles it
    clock.advance(ms(900));
    inputs.set(DoorInput::Contact, false).unwrap();
    clock.advance(ms(100));
    inputs.set(DoorInput::Contact, false).unwrap();
    drop((tx, inputs));
    let mut got = Vec::new();
    run_door_monitor(rx, DoorMonitor::new(DoorConfig::default(), t0, false, false), &clock, |o| {
        got.push(o);
        true
    });
    assert_eq!(
        got,
        [
            DoorOutput::Event(DoorEvent::Opened { at: t0, authorized: true }),
            DoorOutput::Event(DoorEvent::Closed { at: t0 + ms(1000), open_for: ms(1000) }),
        ]
    );
}
