//! Wiegand output: the station presents an unlock to an access-control panel
//! as a badge read on the panel's reader port.
//!
//! - [`format`](mod@format): pure [`encode`]/[`decode`] of H10301 (26), H10306 (34),
//!   Corporate 1000 (35), H10304 (37) and raw N-bit frames, with parity.
//! - [`FrameScheduler`]: the sans-IO core; frames in, [`LineEdge`]s on
//!   absolute deadlines out, gap between frames, resend after an overrun.
//! - [`WiegandLines`]: the two outputs; [`SimWiegandLines`] records
//!   timestamped edges, `RpiWiegandLines` (feature `rpi`) drives GPIO.
//! - [`WiegandSender`]: the dedicated thread that runs the scheduler on the
//!   real clock (`SCHED_FIFO` when permitted), busy-waits each edge and checks
//!   every pulse width it produced; an out-of-range pulse aborts the frame,
//!   which is sent again after the gap.
//!
//! # Wiring (the Pi is not 5 V tolerant)
//!
//! The panel pulls D0 and D1 up, usually to 5 V, and a sender signals by pulling
//! a line low. The Pi's GPIO is 3.3 V and must never see the panel's 5 V, so
//! each line goes through an open-collector (or open-drain) stage:
//!
//! ```text
//!   Pi GPIO (D0 out) ──[1 kΩ]──┬── B   NPN (2N3904/BC547)   C ───── panel D0 (pulled up by the panel)
//!                              └[10 kΩ]─ GND                E ──┐
//!   Pi GND ─────────────────────────────────────────────────────┴── panel GND (common ground)
//! ```
//!
//! Same for D1. A high GPIO turns the transistor on and pulls the line low, so the
//! stage inverts (`inverted = true`, the default); the 10 kΩ keeps it off while
//! the Pi boots. For galvanic isolation use an optocoupler (PC817 or a fast
//! 6N137: LED from the GPIO through ~330 Ω, the transistor's collector on the
//! Wiegand line, its emitter on the panel's ground); a slow PC817 stretches
//! 50 µs pulses, so check them on a scope. Never drive a Wiegand line high from
//! the Pi and never connect a line to a GPIO directly.
//!
//! # Timing
//!
//! Defaults: 50 µs pulses every 2 ms and ≥ 50 ms between frames
//! ([`WiegandTiming::default`]); readers accept 20–100 µs and 0.2–20 ms.

pub mod format;
mod lines;
#[cfg(feature = "rpi")]
mod rpi;
mod rt;
mod schedule;
mod sender;

#[cfg(test)]
mod format_tests;
#[cfg(test)]
mod schedule_tests;

pub use format::{Bits, Credential, WiegandError, WiegandFormat, decode, encode};
pub use lines::{Pulse, RecordedEdge, SimWiegandLines, WiegandLines, WiegandLog};
#[cfg(feature = "rpi")]
pub use rpi::{RpiWiegandLines, WiegandPins};
pub use rt::Realtime;
pub use schedule::{FrameScheduler, LineEdge, TimingError, WiegandLine, WiegandOutput, WiegandTiming, frame_edges};
pub use sender::{FrameReport, WiegandSender};
