//! door-station

pub mod unlock;
pub mod engine;
