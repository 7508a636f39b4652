//! The tokio shell around the engine.

pub mod hardware;
pub mod shutdown;
pub mod transport;
