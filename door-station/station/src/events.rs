//! The event bus: engine events out to every `events` client, as JSON lines.
//!
//! The engine's events serialise (serde) to the objects of README "The
//! control socket". [`EventBus::publish`] adds `"ts_ms"` (milliseconds since
//! the station started), renders the line once and hands it to every
//! subscriber through a tokio broadcast channel. A subscriber that falls more
//! than [`EventBus::CAPACITY`] lines behind loses the oldest ones and is told
//! how many (see [`Subscription::next`]); the station never waits for a slow
//! client.
//!
//! [`StatusBoard`] folds the same objects into the answer of `status`, so the
//! status a client reads always agrees with the events it saw.

use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::broadcast;

/// Fan-out of event lines.
#[derive(Clone, Debug)]
pub struct EventBus {
    started: Instant,
    tx: broadcast::Sender<Arc<str>>,
}

/// One client's view of the bus.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Arc<str>>,
}

/// What a subscriber receives next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// One JSON line (without the newline).
    Line(Arc<str>),
    /// The subscriber was too slow; this many lines were dropped.
    Lagged(u64),
    /// The bus is gone: the station is shutting down.
    Closed,
}

impl EventBus {
    /// Lines kept for a slow subscriber.
    pub const CAPACITY: usize = 1024;

    /// A bus whose `ts_ms` counts from `started`.
    pub fn new(started: Instant) -> EventBus {
        let (tx, _) = broadcast::channel(Self::CAPACITY);
        EventBus { started, tx }
    }

    /// Render `event` with `ts_ms` and send it to every subscriber; returns
    /// the object that was sent. An event that does not serialise to a JSON
    /// object is a programming error in its `Serialize` impl and is reported
    /// as such.
    pub fn publish<E: Serialize>(&self, now: Instant, event: &E) -> Result<Value, serde_json::Error> {
        let mut value = serde_json::to_value(event)?;
        let Value::Object(map) = &mut value else {
            return Err(serde::ser::Error::custom("an event must serialise to a JSON object"));
        };
        let ts_ms = now.saturating_duration_since(self.started).as_millis() as u64;
        map.entry("ts_ms").or_insert(Value::from(ts_ms));
        let line: Arc<str> = value.to_string().into();
        // No subscriber is fine: nobody is listening.
        let _ = self.tx.send(line);
        Ok(value)
    }

    /// How many subscriptions are open.
    pub fn subscriber_count(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Start receiving lines published from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription { rx: self.tx.subscribe() }
    }
}

impl Subscription {
    /// The next line, a lag report, or the end of the bus.
    pub async fn next(&mut self) -> Delivery {
        match self.rx.recv().await {
            Ok(line) => Delivery::Line(line),
            Err(broadcast::error::RecvError::Lagged(n)) => Delivery::Lagged(n),
            Err(broadcast::error::RecvError::Closed) => Delivery::Closed,
        }
    }
}

/// The state `status` reports, folded from the event objects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatusBoard {
    registered: bool,
    call: Option<Map<String, Value>>,
    relay_on: bool,
    locked_out: bool,
}

impl StatusBoard {
    /// Fold one event object (as published).
    pub fn apply(&mut self, event: &Value) {
        let field = |k: &str| event.get(k).cloned().unwrap_or(Value::Null);
        match event.get("event").and_then(Value::as_str) {
            Some("registered") => self.registered = true,
            Some("registration_failed") => self.registered = false,
            Some("ringing") => self.start_call(&field("call_id"), "ringing", "target", field("target")),
            Some("incoming") if field("accepted") == Value::Bool(true) => {
                self.start_call(&field("call_id"), "answered", "from", field("from"))
            }
            Some("answered") => self.update_call(&field("call_id"), "answered", "by", field("by")),
            Some("early_media") => self.count_early_dialog(&field("call_id")),
            Some("ended") if self.is_current(&field("call_id")) => self.call = None,
            Some("relay") => self.relay_on = field("state") == Value::from("on"),
            Some("unlock") => self.locked_out = field("result") == Value::from("locked_out"),
            _ => {}
        }
    }

    /// The `status` answer: `{"registered":..,"call":..,"relay":..,"locked_out":..}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "registered": self.registered,
            "call": self.call.clone().map_or(Value::Null, Value::Object),
            "relay": if self.relay_on { "on" } else { "off" },
            "locked_out": self.locked_out,
        })
    }

    fn is_current(&self, call_id: &Value) -> bool {
        self.call.as_ref().is_some_and(|c| c.get("call_id") == Some(call_id))
    }

    fn start_call(&mut self, call_id: &Value, state: &str, key: &str, value: Value) {
        let mut call = Map::new();
        call.insert("call_id".into(), call_id.clone());
        call.insert("state".into(), state.into());
        call.insert(key.into(), value);
        self.call = Some(call);
    }

    fn update_call(&mut self, call_id: &Value, state: &str, key: &str, value: Value) {
        if let Some(call) = self.call.as_mut().filter(|c| c.get("call_id") == Some(call_id)) {
            call.insert("state".into(), state.into());
            call.insert(key.into(), value);
        }
    }

    fn count_early_dialog(&mut self, call_id: &Value) {
        if let Some(call) = self.call.as_mut().filter(|c| c.get("call_id") == Some(call_id)) {
            let n = call.get("early_dialogs").and_then(Value::as_u64).unwrap_or(0);
            call.insert("early_dialogs".into(), (n + 1).into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[tokio::test]
    async fn publish_adds_ts_ms_and_reaches_every_subscriber() {
        let t0 = Instant::now();
        let bus = EventBus::new(t0);
        let (mut a, mut b) = (bus.subscribe(), bus.subscribe());
        let sent = bus.publish(t0 + Duration::from_millis(1500), &json!({"event": "relay", "state": "on"})).unwrap();
        assert_eq!(sent["ts_ms"], 1500);
        let expected = Delivery::Line(r#"{"event":"relay","state":"on","ts_ms":1500}"#.into());
        assert_eq!(a.next().await, expected);
        assert_eq!(b.next().await, expected);
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_how_much_it_lost() {
        let t0 = Instant::now();
        let bus = EventBus::new(t0);
        let mut slow = bus.subscribe();
        for _ in 0..EventBus::CAPACITY + 3 {
            bus.publish(t0, &json!({"event": "relay", "state": "off"})).unwrap();
        }
        assert_eq!(slow.next().await, Delivery::Lagged(3));
        assert!(matches!(slow.next().await, Delivery::Line(_)));
    }

    #[tokio::test]
    async fn bus_closes_when_dropped() {
        let bus = EventBus::new(Instant::now());
        let mut sub = bus.subscribe();
        drop(bus);
        assert_eq!(sub.next().await, Delivery::Closed);
    }

    #[test]
    fn non_object_event_is_an_error() {
        let t0 = Instant::now();
        assert!(EventBus::new(t0).publish(t0, &"relay").is_err());
    }

    #[test]
    fn status_follows_a_call_from_ringing_to_ended() {
        let mut s = StatusBoard::default();
        let initial = json!({"registered": false, "call": null, "relay": "off", "locked_out": false});
        assert_eq!(s.to_json(), initial);
        s.apply(&json!({"event": "registered", "aor": "sip:door@home", "expires": 600}));
        s.apply(&json!({"event": "ringing", "call_id": "c1", "target": "sip:everyone@home"}));
        s.apply(&json!({"event": "early_media", "call_id": "c1", "dialog": "t1", "remote": "127.0.0.1:16000"}));
        s.apply(&json!({"event": "answered", "call_id": "c1", "by": "sip:alice@home"}));
        let call = json!({"call_id": "c1", "state": "answered", "target": "sip:everyone@home",
                          "by": "sip:alice@home", "early_dialogs": 1});
        assert_eq!(s.to_json()["call"], call);
        assert_eq!(s.to_json()["registered"], true);
        s.apply(&json!({"event": "ended", "call_id": "other", "reason": "rejected"}));
        assert_eq!(s.to_json()["call"], call, "another call's end leaves this one");
        s.apply(&json!({"event": "ended", "call_id": "c1", "reason": "remote_bye"}));
        assert_eq!(s.to_json()["call"], Value::Null);
    }

    #[test]
    fn status_tracks_relay_lockout_and_refused_callers() {
        let mut s = StatusBoard::default();
        s.apply(&json!({"event": "relay", "state": "on"}));
        s.apply(&json!({"event": "unlock", "by": "sip:eve@home", "result": "locked_out"}));
        s.apply(&json!({"event": "incoming", "call_id": "c2", "from": "sip:eve@home", "accepted": false}));
        let v = s.to_json();
        assert_eq!((v["relay"].clone(), v["locked_out"].clone(), v["call"].clone()), (json!("on"), json!(true), Value::Null));
        s.apply(&json!({"event": "relay", "state": "off"}));
        s.apply(&json!({"event": "unlock", "by": "sip:alice@home", "result": "opened"}));
        assert_eq!((s.to_json()["relay"].clone(), s.to_json()["locked_out"].clone()), (json!("off"), json!(false)));
    }
}
