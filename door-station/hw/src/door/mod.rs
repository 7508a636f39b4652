//! The door's inputs: door contact (opened, forced, held open), request-to-exit
//! button (opens locally) and tamper switch.
//!
//! - [`DoorMonitor`]: the sans-IO core; raw levels in (each input debounced
//!   by its own [`Debouncer`](crate::Debouncer)), [`DoorOutput`]s out.
//! - [`run_door_monitor`]: the thread loop around it, fed [`DoorFeed`]s.
//! - Back-ends that produce the feed: [`SimDoorInputs`] (set from code) and
//!   `RpiDoorInputs` (GPIO interrupts, feature `rpi`).

mod feed;
mod monitor;
#[cfg(feature = "rpi")]
mod rpi;

#[cfg(test)]
mod tests;

pub use feed::{DoorFeed, SimDoorInputs, run_door_monitor};
pub use monitor::{DoorConfig, DoorEvent, DoorInput, DoorMonitor, DoorOutput};
#[cfg(feature = "rpi")]
pub use rpi::{DoorPin, DoorPins, RpiDoorInputs};
