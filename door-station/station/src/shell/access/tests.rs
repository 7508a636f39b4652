use super::*;
use crate::config::parse;
use ds_hw::wiegand::{Credential, WiegandFormat, decode};

fn config(extra: &str) -> StationConfig {
    parse(&format!("[sip]\nuser = \"door\"\ndomain = \"home\"\n{extra}"), "station.toml").unwrap()
}

/// The next news that is not a link change, within a generous bound.
async fn next(rx: &mut mpsc::UnboundedReceiver<AccessNews>) -> AccessNews {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(AccessNews::Link(_))) => continue,
            Ok(Some(news)) => return news,
            other => panic!("no access news: {other:?}"),
        }
    }
}

async fn door_event_of(rx: &mut mpsc::UnboundedReceiver<AccessNews>) -> Event {
    match next(rx).await {
        AccessNews::Door(DoorOutput::Event(e)) => door_event(e),
        other => panic!("expected a door event, got {other:?}"),
    }
}

#[tokio::test]
async fn a_door_opened_without_a_grant_is_forced_then_held_open() {
    let c = config("[door]\nbackend = \"sim\"\nheld_open_s = 1\ndebounce_ms = 10\n");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let access = Access::open(&c, tx).unwrap();
    access.simulate(DoorInput::Contact, true).unwrap();
    assert_eq!(door_event_of(&mut rx).await, Event::Door(DoorState::Opened { authorized: false }));
    assert_eq!(door_event_of(&mut rx).await, Event::Door(DoorState::Forced));
    assert_eq!(door_event_of(&mut rx).await, Event::Door(DoorState::HeldOpen { open_s: 1 }));
    access.simulate(DoorInput::Contact, false).unwrap();
    assert!(matches!(door_event_of(&mut rx).await, Event::Door(DoorState::Closed { open_ms }) if open_ms >= 1000));
    access.shutdown();
}

#[tokio::test]
async fn a_granted_opening_is_authorized_and_exit_asks_to_open() {
    let c = config("[door]\nbackend = \"sim\"\ndebounce_ms = 10\nexit_unlock_ms = 4000\n");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let access = Access::open(&c, tx).unwrap();
    access.granted(Instant::now(), Duration::from_secs(5));
    access.simulate(DoorInput::Contact, true).unwrap();
    assert_eq!(door_event_of(&mut rx).await, Event::Door(DoorState::Opened { authorized: true }));
    access.simulate(DoorInput::Exit, true).unwrap();
    assert_eq!(door_event_of(&mut rx).await, Event::ExitRequested);
    assert!(matches!(next(&mut rx).await, AccessNews::Door(DoorOutput::Unlock(d)) if d == Duration::from_secs(4)));
    access.simulate(DoorInput::Tamper, true).unwrap();
    assert_eq!(door_event_of(&mut rx).await, Event::Tamper { active: true });
    access.shutdown();
}

#[tokio::test]
async fn door_commands_are_refused_without_the_simulated_back_end() {
    let (tx, _rx) = mpsc::unbounded_channel();
    let access = Access::open(&config(""), tx).unwrap();
    let e = access.simulate(DoorInput::Contact, true).unwrap_err();
    assert!(e.contains("[door] backend = \"sim\""), "{e}");
    access.shutdown();
}

#[tokio::test]
async fn the_credential_goes_out_on_the_simulated_wiegand_lines() {
    let c = config("[wiegand]\nbackend = \"sim\"\nformat = \"H10306\"\nfacility = 4321\ncard = 8765\n");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let access = Access::open(&c, tx).unwrap();
    access.present_credential();
    let AccessNews::Frame(report) = next(&mut rx).await else { panic!("expected a frame report") };
    assert_eq!(decode(WiegandFormat::H10306, &report.bits), Ok(Credential { facility: 4321, card: 8765 }));
    access.shutdown();
}

#[test]
fn panel_output_zero_opens_for_its_timer_and_permanent_on_is_refused() {
    let out = |control, timer_100ms| PanelCommand::Output { output: 0, control, timer_100ms };
    let (event, action) = panel_command(&out(5, 30));
    assert_eq!(action, PanelAction::Open(Duration::from_secs(3)));
    assert_eq!(event, Some(Event::Panel(PanelEvent::Output { output: 0, control: 5, ms: 3000, accepted: true })));
    assert_eq!(panel_command(&out(1, 0)).1, PanelAction::Release);
    let (event, action) = panel_command(&out(2, 0));
    assert_eq!(action, PanelAction::None);
    assert_eq!(event, Some(Event::Panel(PanelEvent::Output { output: 0, control: 2, ms: 0, accepted: false })));
    let other = PanelCommand::Output { output: 1, control: 5, timer_100ms: 10 };
    assert_eq!(panel_command(&other).1, PanelAction::None);
    let led = PanelCommand::Led { led: 0, permanent_color: 1, temporary_color: Some(2), temporary_100ms: 5 };
    assert_eq!(panel_command(&led).0, Some(Event::Panel(PanelEvent::Led { led: 0, color: 2 })));
}
