//! Graceful shutdown, as in mini-redis: one broadcast tells every task to
//! stop, and a drop guard held by each task tells the main task when all of
//! them are done.

use tokio::sync::{broadcast, mpsc};

/// Owned by the main task: fires the shutdown and waits for the tasks.
#[derive(Debug)]
pub struct ShutdownTrigger {
    notify: broadcast::Sender<()>,
    done_tx: mpsc::Sender<()>,
    done_rx: mpsc::Receiver<()>,
}

/// Held by each task: tells it when to stop; dropping it says "done".
#[derive(Debug)]
pub struct Shutdown {
    is_shutdown: bool,
    notify: broadcast::Receiver<()>,
    _done: mpsc::Sender<()>,
}

impl Default for ShutdownTrigger {
    fn default() -> Self {
        Self::new()
    }
}

impl ShutdownTrigger {
    /// A trigger with no listeners yet.
    pub fn new() -> ShutdownTrigger {
        let (notify, _) = broadcast::channel(1);
        let (done_tx, done_rx) = mpsc::channel(1);
        ShutdownTrigger { notify, done_tx, done_rx }
    }

    /// A listener for one task.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown { is_shutdown: false, notify: self.notify.subscribe(), _done: self.done_tx.clone() }
    }

    /// Tell every task to stop, then wait until each dropped its listener.
    pub async fn shutdown(self) {
        let ShutdownTrigger { notify, done_tx, mut done_rx } = self;
        drop(notify);
        drop(done_tx);
        let _ = done_rx.recv().await;
    }
}

impl Shutdown {
    /// Whether the shutdown was seen.
    pub fn is_shutdown(&self) -> bool {
        self.is_shutdown
    }

    /// A listener for a task this task starts (a connection of a listener).
    pub fn fork(&self) -> Shutdown {
        Shutdown { is_shutdown: self.is_shutdown, notify: self.notify.resubscribe(), _done: self._done.clone() }
    }

    /// Wait for the shutdown (returns at once once it was seen).
    pub async fn recv(&mut self) {
        if self.is_shutdown {
            return;
        }
        // The sender is dropped to fire: every outcome means "stop".
        let _ = self.notify.recv().await;
        self.is_shutdown = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_waits_for_every_listener() {
        let trigger = ShutdownTrigger::new();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        for i in 0..3 {
            let mut s = trigger.subscribe();
            let done_tx = done_tx.clone();
            tokio::spawn(async move {
                s.recv().await;
                assert!(s.is_shutdown());
                done_tx.send(i).unwrap();
            });
        }
        drop(done_tx);
        trigger.shutdown().await;
        let mut seen = Vec::new();
        while let Some(i) = done_rx.recv().await {
            seen.push(i);
        }
        seen.sort();
        assert_eq!(seen, vec![0, 1, 2], "shutdown returned only after every task ended");
    }
}
