//! Experiments: validated parameters in, records out. One file per subcommand.

pub mod args;
pub mod attack;
pub mod bottleneck;
pub mod compare;
pub mod depth;
pub mod linearity;
pub mod minpert;
pub mod phase;
pub mod predict;
pub mod runner;
pub mod scaling;

/// The header every report begins with: what ran, under which version of radex, measuring
/// which sections of MATH.md (flattened into each report's JSON as `command`, `version`,
/// `math`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunHeader {
    /// The subcommand, e.g. `"attack"`.
    pub command: String,
    /// radex's version.
    pub version: String,
    /// The MATH.md sections and paper results it measures.
    pub math: String,
}

impl RunHeader {
    /// The header of `command` (this radex's version).
    pub fn new(command: &str, math: &str) -> RunHeader {
        RunHeader {
            command: command.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            math: math.into(),
        }
    }
}
