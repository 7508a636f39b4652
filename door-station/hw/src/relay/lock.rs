//! Fail-secure and fail-safe locks behind the same [`Relay`] meaning: `true` = door open.

use super::Relay;
use crate::HwError;

/// What the lock does without power (`relay.lock`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LockKind {
    /// Locked without power (most electric strikes): the relay is energized to
    /// open. A crash, a kill or a power cut leaves the door locked.
    #[default]
    FailSecure,
    /// Open without power (magnetic locks, fire-escape strikes): the relay is
    /// energized to keep the door locked and released to open it. A power cut
    /// opens the door, as fire codes require for such doors; the daemon's own
    /// exits (drop, panic hook) still leave it locked, because "released" in
    /// [`RelayGuard`](super::RelayGuard)'s sense means "door locked" here.
    FailSafe,
}

/// A relay driving a lock of either kind, so that `set(true)` always opens the door.
pub struct LockRelay {
    coil: Box<dyn Relay>,
    kind: LockKind,
    open: bool,
}

impl std::fmt::Debug for LockRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockRelay").field("kind", &self.kind).field("open", &self.open).finish()
    }
}

impl LockRelay {
    /// Wraps `coil` and drives it to the locked state now (for a fail-safe
    /// lock that energizes the coil).
    pub fn new(mut coil: Box<dyn Relay>, kind: LockKind) -> Result<Self, HwError> {
        coil.set(Self::coil_for(kind, false))?;
        Ok(LockRelay { coil, kind, open: false })
    }

    fn coil_for(kind: LockKind, open: bool) -> bool {
        match kind {
            LockKind::FailSecure => open,
            LockKind::FailSafe => !open,
        }
    }
}

impl Relay for LockRelay {
    /// `true` opens the door, `false` locks it.
    fn set(&mut self, open: bool) -> Result<(), HwError> {
        self.coil.set(Self::coil_for(self.kind, open))?;
        self.open = open;
        Ok(())
    }

    /// Whether the door was last driven open.
    fn is_energized(&self) -> bool {
        self.open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RelayGuard, SimRelay};

    fn coil_states(kind: LockKind) -> Vec<bool> {
        let coil = SimRelay::new();
        let log = coil.log();
        let guard = RelayGuard::new(Box::new(LockRelay::new(Box::new(coil), kind).unwrap()));
        guard.set(true).unwrap();
        assert!(guard.is_energized(), "the door reads open");
        drop(guard);
        log.edges().iter().map(|e| e.energized).collect()
    }

    #[test]
    fn a_fail_secure_strike_is_energized_only_while_open() {
        assert_eq!(coil_states(LockKind::FailSecure), [true, false]);
    }

    #[test]
    fn a_fail_safe_lock_is_powered_except_while_open_and_stays_locked_on_drop() {
        // Locked at start (coil on), open (off), locked again by the guard's drop (on).
        assert_eq!(coil_states(LockKind::FailSafe), [true, false, true]);
    }
}
