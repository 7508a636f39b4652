use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn drain(p: &mut RelayPulse) -> Vec<RelayAction> {
    std::iter::from_fn(|| p.poll_output()).collect()
}

fn pulse() -> RelayPulse {
    RelayPulse::new(PulseConfig { cooldown: ms(1000), max_on: ms(10_000) })
}

#[test]
fn one_pulse_goes_idle_pulsing_cooldown_idle() {
    let t0 = Instant::now();
    let mut p = pulse();
    assert_eq!(p.next_timeout(), None);
    assert_eq!(p.trigger(t0, ms(3000)), Ok(t0 + ms(3000)));
    assert_eq!(drain(&mut p), [RelayAction::Energize]);
    assert!(p.is_energized());
    assert_eq!(p.next_timeout(), Some(t0 + ms(3000)));

    p.handle_timeout(t0 + ms(2999));
    assert!(drain(&mut p).is_empty(), "not yet");
    p.handle_timeout(t0 + ms(3000));
    assert_eq!(drain(&mut p), [RelayAction::Release]);
    assert_eq!(p.state(), PulseState::Cooldown(Cooldown { until: t0 + ms(4000) }));
    assert_eq!(p.next_timeout(), Some(t0 + ms(4000)));

    p.handle_timeout(t0 + ms(4000));
    assert_eq!(p.state(), PulseState::Idle(Idle));
    assert_eq!(p.next_timeout(), None);
    assert!(drain(&mut p).is_empty());
}

#[test]
fn trigger_during_pulse_extends_without_a_second_energize() {
    let t0 = Instant::now();
    let mut p = pulse();
    p.trigger(t0, ms(3000)).unwrap();
    assert_eq!(p.trigger(t0 + ms(2000), ms(3000)), Ok(t0 + ms(5000)));
    assert_eq!(p.trigger(t0 + ms(2500), ms(100)), Ok(t0 + ms(5000)), "never shortens");
    assert_eq!(drain(&mut p), [RelayAction::Energize]);
    p.handle_timeout(t0 + ms(3000));
    assert!(p.is_energized());
    p.handle_timeout(t0 + ms(5000));
    assert_eq!(drain(&mut p), [RelayAction::Release]);
}

#[test]
fn extensions_are_capped_at_max_on_from_the_start() {
    let t0 = Instant::now();
    let mut p = pulse();
    p.trigger(t0, ms(3000)).unwrap();
    assert_eq!(p.trigger(t0 + ms(2500), ms(3000)), Ok(t0 + ms(5500)));
    assert_eq!(p.trigger(t0 + ms(5000), ms(3000)), Ok(t0 + ms(8000)));
    assert_eq!(p.trigger(t0 + ms(7500), ms(3000)), Ok(t0 + ms(10_000)));
    p.handle_timeout(t0 + ms(10_000));
    assert_eq!(drain(&mut p), [RelayAction::Energize, RelayAction::Release]);
    assert_eq!(pulse().trigger(t0, ms(60_000)), Ok(t0 + ms(10_000)), "one long pulse is capped too");
}

#[test]
fn trigger_during_cooldown_is_busy_then_accepted() {
    let t0 = Instant::now();
    let mut p = pulse();
    p.trigger(t0, ms(3000)).unwrap();
    assert_eq!(p.trigger(t0 + ms(3500), ms(3000)), Err(PulseError::Busy { until: t0 + ms(4000) }));
    assert_eq!(drain(&mut p), [RelayAction::Energize, RelayAction::Release]);
    assert_eq!(p.trigger(t0 + ms(4000), ms(3000)), Ok(t0 + ms(7000)));
    assert_eq!(drain(&mut p), [RelayAction::Energize]);
}

#[test]
fn a_late_wake_up_passes_through_every_state() {
    let t0 = Instant::now();
    let mut p = pulse();
    p.trigger(t0, ms(3000)).unwrap();
    p.handle_timeout(t0 + ms(60_000));
    assert_eq!(drain(&mut p), [RelayAction::Energize, RelayAction::Release]);
    assert_eq!(p.state(), PulseState::Idle(Idle));
}

#[test]
fn release_now_ends_the_pulse_and_starts_the_cooldown() {
    let t0 = Instant::now();
    let mut p = pulse();
    p.trigger(t0, ms(3000)).unwrap();
    p.release_now(t0 + ms(500));
    assert_eq!(drain(&mut p), [RelayAction::Energize, RelayAction::Release]);
    assert_eq!(p.state(), PulseState::Cooldown(Cooldown { until: t0 + ms(1500) }));
    p.release_now(t0 + ms(600));
    assert!(drain(&mut p).is_empty(), "releasing a released relay does nothing");
}

#[test]
fn zero_length_pulse_is_refused() {
    let t0 = Instant::now();
    let mut p = pulse();
    assert_eq!(p.trigger(t0, Duration::ZERO), Err(PulseError::ZeroDuration));
    assert_eq!(p.poll_output(), None);
}
