//! The tokio shell around the engine.

pub mod shutdown;
