//! ds-hw
