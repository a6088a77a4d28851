//! Measurements gathered over trials.

pub mod bottleneck;
pub mod depth;
pub mod linearity;
pub mod minpert;
pub mod stats;
