//! Experiments: validated parameters in, records out. One file per subcommand.

pub mod args;
pub mod attack;
pub mod bottleneck;
pub mod compare;
pub mod depth;
pub mod given;
pub mod linearity;
pub mod minpert;
pub mod phase;
pub mod predict;
pub mod runner;
pub mod scaling;
