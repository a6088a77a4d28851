//! What every record shares, below the experiments that fill records and the reports that
//! render them: the run header each report begins with, a record's JSON text, and the serde
//! rule that reads a JSON `null` back as `NaN`, so a record written as JSON round-trips
//! (STYLE 9).

use crate::arch::{Arch, Family, Init};

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

/// The network every report of one architecture describes (flattened into its JSON as
/// `arch`, `d`, `widths`, `depth`, `init` and the family's fields).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArchHeader {
    /// Architecture `d,d_1,...,d_l` (as `--arch` accepts it).
    pub arch: String,
    /// Input dimension `d`.
    pub d: usize,
    /// Hidden widths `d_1..d_l`.
    pub widths: Vec<usize>,
    /// Number of hidden layers `l`.
    pub depth: usize,
    /// Initialisation (`nn` or `he`; none for a law the flags gave otherwise).
    pub init: Option<Init>,
    /// The law of the weights (MATH 9).
    #[serde(flatten)]
    pub family: Family,
}

impl ArchHeader {
    /// The header of `arch`.
    pub fn of(arch: &Arch) -> ArchHeader {
        ArchHeader {
            arch: arch.spec(),
            d: arch.d,
            widths: arch.widths.clone(),
            depth: arch.depth(),
            init: arch.init(),
            family: arch.family,
        }
    }
}

/// Serialises to pretty JSON with a trailing newline.
pub fn to_json<S: serde::Serialize>(value: &S) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("records serialise");
    s.push('\n');
    s
}

/// Reading back what JSON writes for a number that is not one: a missing value (`NaN`) is
/// written `null`, and these read `null` as `NaN`, so every record round-trips.
pub mod nan {
    use serde::{Deserialize, Deserializer};

    /// A number, `null` as `NaN`.
    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    /// `NaN`: the value of a number missing from a record written before it existed.
    pub fn missing() -> f64 {
        f64::NAN
    }

    /// A pair of numbers (an interval), `null` as `NaN`.
    pub fn pair<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
        let [a, b] = <[Option<f64>; 2]>::deserialize(d)?;
        Ok([a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN)])
    }

    /// A list of numbers, `null` as `NaN`.
    pub fn vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<Option<f64>>::deserialize(d)?
            .into_iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    }
}
