//! Experiments: validated parameters in, records out. One file per subcommand.

pub mod attack;
pub mod export;
pub mod runner;
pub mod scaling;
