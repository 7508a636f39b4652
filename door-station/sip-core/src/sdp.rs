//! SDP and offer/answer. See the crate docs.
