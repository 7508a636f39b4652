//! ds-media
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod g711;
pub mod h264;
pub mod opus;
pub mod packetize;
pub mod rtp_session;
pub mod tone;
