//! Ownership of the relay that releases it on drop and from the panic hook.

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use super::Relay;
use crate::HwError;

type Shared = Arc<Mutex<Box<dyn Relay>>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Box<dyn Relay>> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Owns the relay; releases it when dropped.
///
/// The relay sits behind a mutex so that a [`RelayReleaser`] (for the panic hook
/// or a signal handler) can reach it from another thread.
pub struct RelayGuard {
    shared: Shared,
}

impl std::fmt::Debug for RelayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayGuard").field("energized", &self.is_energized()).finish()
    }
}

impl RelayGuard {
    /// Takes ownership of `relay` (which its back-end opened released).
    pub fn new(relay: Box<dyn Relay>) -> Self {
        RelayGuard { shared: Arc::new(Mutex::new(relay)) }
    }

    /// Energizes (`true`) or releases (`false`) the relay.
    pub fn set(&self, energized: bool) -> Result<(), HwError> {
        lock(&self.shared).set(energized)
    }

    /// Releases the relay.
    pub fn release(&self) -> Result<(), HwError> {
        self.set(false)
    }

    /// The state last driven.
    pub fn is_energized(&self) -> bool {
        lock(&self.shared).is_energized()
    }

    /// A cloneable handle that can only release the relay, for hooks.
    pub fn releaser(&self) -> RelayReleaser {
        RelayReleaser { shared: Arc::clone(&self.shared) }
    }
}

impl Drop for RelayGuard {
    fn drop(&mut self) {
        // Nothing useful can be done with an error here: the wiring must fail secure.
        let _ = lock(&self.shared).set(false);
    }
}

/// Releases the relay from anywhere (panic hook, signal handler). Cloneable.
#[derive(Clone)]
pub struct RelayReleaser {
    shared: Shared,
}

impl std::fmt::Debug for RelayReleaser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelayReleaser")
    }
}

impl RelayReleaser {
    /// Releases the relay without ever blocking for long: if another thread
    /// holds it for more than ~50 ms, or the panicking thread itself holds it,
    /// gives up and returns `false`. A poisoned lock is taken over.
    pub fn release(&self) -> bool {
        for _ in 0..50 {
            let mut relay = match self.shared.try_lock() {
                Ok(relay) => relay,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
            };
            return relay.set(false).is_ok();
        }
        false
    }
}

/// Installs a panic hook that releases the relay, then runs the hook that was
/// installed before (by default the one that prints the panic message).
///
/// The hook runs for a panic on any thread, before unwinding, so it also covers
/// `panic = "abort"`. Call it once, after opening the relay. If the relay cannot
/// be released (its lock is held by the panicking thread), a line says so on
/// standard error.
pub fn install_panic_release(releaser: RelayReleaser) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !releaser.release() {
            eprintln!("door relay could NOT be released from the panic hook");
        }
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimRelay;

    #[test]
    fn drop_releases() {
        let relay = SimRelay::new();
        let log = relay.log();
        let guard = RelayGuard::new(Box::new(relay));
        guard.set(true).unwrap();
        assert!(guard.is_energized());
        drop(guard);
        let states: Vec<bool> = log.edges().iter().map(|e| e.energized).collect();
        assert_eq!(states, [true, false]);
    }

    #[test]
    fn unwinding_through_the_owner_releases() {
        let relay = SimRelay::new();
        let log = relay.log();
        let guard = RelayGuard::new(Box::new(relay));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            guard.set(true).unwrap();
            panic!("engine bug while the door is open");
        }));
        assert!(result.is_err());
        assert!(!log.is_energized());
        assert_eq!(log.len(), 2);
    }

    #[test]
    fn panic_hook_releases_while_the_guard_lives_elsewhere() {
        let relay = SimRelay::new();
        let log = relay.log();
        let guard = RelayGuard::new(Box::new(relay));
        install_panic_release(guard.releaser());
        guard.set(true).unwrap();
        let worker = std::thread::spawn(|| {
            let _ = std::panic::catch_unwind(|| panic!("a media thread dies"));
        });
        worker.join().unwrap();
        assert!(!log.is_energized(), "the hook released it; the guard is still alive");
        assert!(!guard.is_energized());
    }

    #[test]
    fn releaser_takes_over_a_poisoned_lock() {
        let relay = SimRelay::new();
        let log = relay.log();
        let guard = RelayGuard::new(Box::new(relay));
        guard.set(true).unwrap();
        let shared = Arc::clone(&guard.shared);
        let _ = std::thread::spawn(move || {
            let _held = shared.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(guard.releaser().release());
        assert!(!log.is_energized());
    }
}
