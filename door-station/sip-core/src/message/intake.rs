//! Intake: bytes to [`Message`](super::Message), or the reason why not.
//!
//! Placeholder until the strict parser lands: see the crate docs.
