//! Measurements gathered over trials.

pub mod stats;
