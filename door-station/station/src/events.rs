//! The event bus: engine events out to every `events` client, as JSON lines.
//!
//! [`EventBus::publish`] stamps an [`Event`] with `ts_ms` (milliseconds since
//! the station started), renders its line once ([`Event::json_line`]) and
//! hands it to every subscriber through a tokio broadcast channel. A
//! subscriber that falls more than [`EventBus::CAPACITY`] lines behind loses
//! the oldest ones and is told how many (see [`Subscription::next`]); the
//! station never waits for a slow client.

use crate::engine::Event;
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

    /// Stamp `event`, send its line to every subscriber and return the line.
    pub fn publish(&self, now: Instant, event: &Event) -> Arc<str> {
        let ts_ms = now.saturating_duration_since(self.started).as_millis() as u64;
        let line: Arc<str> = event.json_line(ts_ms).into();
        // No subscriber is fine: nobody is listening.
        let _ = self.tx.send(line.clone());
        line
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RelayState;
    use std::time::Duration;

    #[tokio::test]
    async fn publish_stamps_ts_ms_and_reaches_every_subscriber() {
        let t0 = Instant::now();
        let bus = EventBus::new(t0);
        let (mut a, mut b) = (bus.subscribe(), bus.subscribe());
        let line = bus.publish(t0 + Duration::from_millis(1500), &Event::Relay { state: RelayState::On });
        assert_eq!(&*line, r#"{"event":"relay","state":"on","ts_ms":1500}"#);
        assert_eq!(a.next().await, Delivery::Line(line.clone()));
        assert_eq!(b.next().await, Delivery::Line(line));
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_how_much_it_lost() {
        let t0 = Instant::now();
        let bus = EventBus::new(t0);
        let mut slow = bus.subscribe();
        for _ in 0..EventBus::CAPACITY + 3 {
            bus.publish(t0, &Event::Relay { state: RelayState::Off });
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
}
