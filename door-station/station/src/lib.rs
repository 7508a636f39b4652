//! door-station

pub mod unlock;
