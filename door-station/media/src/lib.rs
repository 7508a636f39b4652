//! ds-media
