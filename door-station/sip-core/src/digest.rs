//! Digest authentication. See the crate docs.
