use std::time::Duration;

use door_station::engine::{CallId, Command, DtmfVia, Event, Input, RelayCommand, UnlockResult};
use door_station::unlock::UnlockConfig;
use ds_sip::{Message, Method, Request};

use crate::harness::{Harness, config};
use crate::incoming::{call_in, in_dialog};

fn info(invite: &Request, to: &str, cseq: u32, content_type: &str, body: &str) -> Message {
    Message::Request(in_dialog(invite, to, Method::Info, cseq).with_body(content_type, body))
}

fn unlocks(h: &mut Harness) -> Vec<UnlockResult> {
    h.take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Unlock { result, .. } => Some(result),
            _ => None,
        })
        .collect()
}

#[test]
fn info_hash_from_an_allowed_caller_pulses_the_relay() {
    let mut h = Harness::new(config());
    let (invite, to) = call_in(&mut h, "alice");
    h.take_events();
    h.sip(info(&invite, &to, 2, "application/dtmf-relay", "Signal=#\r\nDuration=160\r\n"));
    assert_eq!(h.response().status, 200);
    assert_eq!(h.relay, vec![RelayCommand::Pulse(Duration::from_millis(3000))]);
    let events = h.take_events();
    assert!(events.contains(&Event::Dtmf { call_id: "look-alice-1".into(), digit: '#', via: DtmfVia::Info }));
    assert!(events.contains(&Event::Unlock { by: "sip:alice@home".into(), result: UnlockResult::Opened }));
    assert!(events.contains(&Event::Relay { state: door_station::engine::RelayState::On }));
    h.advance(Duration::from_secs(3));
    assert_eq!(h.take_events(), vec![Event::Relay { state: door_station::engine::RelayState::Off }]);
}

#[test]
fn a_caller_not_on_the_unlock_list_never_opens() {
    let mut h = Harness::new(config());
    let (invite, to) = call_in(&mut h, "bob");
    h.take_events();
    h.sip(info(&invite, &to, 2, "application/dtmf", "#"));
    assert_eq!(h.response().status, 200);
    assert!(h.relay.is_empty());
    assert_eq!(unlocks(&mut h), vec![UnlockResult::NotAllowed]);
}

#[test]
fn three_wrong_pins_lock_the_door_out() {
    let mut cfg = config();
    cfg.unlock = UnlockConfig::new("1234#", &["sip:alice@home"]).unwrap();
    cfg.calls.rtp_timeout = Duration::from_secs(600);
    let mut h = Harness::new(cfg);
    let (invite, to) = call_in(&mut h, "alice");
    let call = CallId("look-alice-1".into());
    let mut cseq = 2;
    let mut type_code = |h: &mut Harness, code: &str| {
        for digit in code.chars() {
            h.sip(info(&invite, &to, cseq, "application/dtmf-relay", &format!("Signal={digit}\r\nDuration=100\r\n")));
            cseq += 1;
        }
    };
    for _ in 0..3 {
        type_code(&mut h, "9999#");
    }
    assert_eq!(unlocks(&mut h), vec![UnlockResult::WrongCode; 3]);
    assert!(h.engine.status().locked_out);
    type_code(&mut h, "1234#");
    assert_eq!(unlocks(&mut h), vec![UnlockResult::LockedOut]);
    assert!(h.relay.is_empty(), "no relay edge while locked out");
    // Keys by another path in the same call are not heard at all.
    for digit in "1234#".chars() {
        h.input(Input::Dtmf { call: call.clone(), digit, via: DtmfVia::Rfc4733 });
    }
    assert_eq!(unlocks(&mut h), vec![]);

    h.advance(Duration::from_secs(60));
    type_code(&mut h, "1234#");
    assert_eq!(unlocks(&mut h), vec![UnlockResult::Opened]);
    assert_eq!(h.relay.len(), 1);
}

#[test]
fn message_with_the_unlock_word_counts_as_the_code() {
    let mut h = Harness::new(config());
    let (invite, to) = call_in(&mut h, "alice");
    h.take_events();
    h.sip(Message::Request(in_dialog(&invite, &to, Method::Message, 2).with_body("text/plain", " unlock\r\n")));
    assert_eq!(h.response().status, 200);
    assert_eq!(h.relay.len(), 1);
    let events = h.take_events();
    assert!(events.contains(&Event::Dtmf { call_id: "look-alice-1".into(), digit: '#', via: DtmfVia::Message }));
    h.sip(Message::Request(in_dialog(&invite, &to, Method::Message, 3).with_body("text/plain", "hello")));
    assert_eq!(h.relay.len(), 1, "other text does nothing");
}

#[test]
fn local_unlock_pulses_without_a_call() {
    let mut h = Harness::new(config());
    h.input(Input::Command(Command::Unlock));
    assert_eq!(h.relay.len(), 1);
    assert_eq!(unlocks(&mut h), vec![UnlockResult::Opened]);
}

#[test]
fn digits_for_an_unknown_call_are_ignored() {
    let mut h = Harness::new(config());
    h.input(Input::Dtmf { call: CallId("nope".into()), digit: '#', via: DtmfVia::Rfc4733 });
    assert!(h.take_events().is_empty());
    assert!(h.relay.is_empty());
}

/// A bell call answered by fork "a"; `pai` is the identity the proxy asserts.
fn bell_answered(h: &mut Harness, pai: Option<&str>) -> CallId {
    h.input(Input::ButtonPressed(0));
    let invite = h.request(Method::Invite);
    let contact = "127.0.0.1:15066".parse().unwrap();
    let mut ok = crate::harness::answer(&invite, 200, "a", contact, Some(&crate::harness::phone_sdp(16000)));
    if let Some(pai) = pai {
        ok.headers.push("P-Asserted-Identity", format!("<{pai}>"));
    }
    h.reply(ok);
    h.take_events();
    CallId(invite.headers.call_id().unwrap().to_string())
}

#[test]
fn rfc4733_from_the_bell_answerer_opens_when_the_proxy_asserts_an_allowed_identity() {
    let mut h = Harness::new(config());
    let call = bell_answered(&mut h, Some("sip:alice@home"));
    h.input(Input::Dtmf { call: call.clone(), digit: '#', via: DtmfVia::Rfc4733 });
    assert_eq!(h.relay.len(), 1);
    let events = h.take_events();
    assert!(events.contains(&Event::Dtmf { call_id: call.0.clone(), digit: '#', via: DtmfVia::Rfc4733 }));
    assert!(events.contains(&Event::Unlock { by: "sip:alice@home".into(), result: UnlockResult::Opened }));
}

#[test]
fn the_bell_answerer_without_an_allowed_identity_does_not_open() {
    let mut h = Harness::new(config());
    let call = bell_answered(&mut h, None);
    h.input(Input::Dtmf { call, digit: '#', via: DtmfVia::Rfc4733 });
    assert!(h.relay.is_empty());
    assert_eq!(unlocks(&mut h), vec![UnlockResult::NotAllowed]);
}

#[test]
fn keys_sent_both_as_rfc4733_and_info_count_once() {
    let mut cfg = config();
    cfg.unlock = UnlockConfig::new("12#", &["sip:alice@home"]).unwrap();
    let mut h = Harness::new(cfg);
    let (invite, to) = call_in(&mut h, "alice");
    let call = CallId("look-alice-1".into());
    for (i, digit) in "12#".chars().enumerate() {
        h.input(Input::Dtmf { call: call.clone(), digit, via: DtmfVia::Rfc4733 });
        let body = format!("Signal={digit}\r\nDuration=160\r\n");
        h.sip(info(&invite, &to, 2 + i as u32, "application/dtmf-relay", &body));
        assert_eq!(h.response().status, 200, "the INFO is still answered");
    }
    assert_eq!(unlocks(&mut h), vec![UnlockResult::Opened]);
    assert_eq!(h.relay.len(), 1);
}

#[test]
fn exit_and_panel_open_without_the_credential_and_extend_a_running_pulse() {
    use door_station::engine::RelayState;
    let mut h = Harness::new(config());
    h.take_events();
    h.input(Input::ExitRequest { hold: Duration::from_secs(5) });
    assert_eq!(h.relay, vec![RelayCommand::PulseWithoutCredential(Duration::from_secs(5))]);
    assert_eq!(
        h.take_events(),
        vec![Event::Relay { state: RelayState::On }, Event::Unlock { by: "exit".into(), result: UnlockResult::Opened }]
    );
    h.advance(Duration::from_secs(1));
    h.input(Input::PanelOpen { hold: Duration::from_secs(2) });
    assert_eq!(h.relay[1], RelayCommand::PulseWithoutCredential(Duration::from_secs(2)));
    assert_eq!(h.take_events(), vec![Event::Unlock { by: "panel".into(), result: UnlockResult::Opened }]);
    // The exit's 5 s still hold: the shorter panel pulse does not end it early.
    h.advance(Duration::from_secs(3));
    assert!(h.take_events().is_empty());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.take_events(), vec![Event::Relay { state: RelayState::Off }]);
    h.input(Input::Command(Command::Unlock));
    assert_eq!(h.relay[2], RelayCommand::Pulse(Duration::from_millis(3000)), "a local unlock presents the credential");
}
