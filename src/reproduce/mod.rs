//! `radex reproduce` (MATH 3-7, 9): every claim of the paper (and, beyond it, the one-step law
//! and the phase diagram of MATH 9) measured beside its prediction, each
//! with a verdict whose tolerance comes from the sampling error of the measurement (or, for an
//! exact identity, from rounding), written as a report directory.
//!
//! - [`plan`]: the experiments of each mode, as the exact `radex` command lines that reproduce
//!   them;
//! - [`claims`]: one [`Section`] per claim, built from the experiments' reports;
//! - [`write`]: `report.md`, the SVGs and `results.json`, written atomically, and the summary;
//! - [`run`]: the whole run, for every front end.

pub mod claims;
pub mod plan;
pub mod run;
pub mod write;

use serde::Serialize;

/// How a measurement is compared with its prediction.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// `|measured - predicted| <= tolerance`.
    Within,
    /// `measured >= predicted - tolerance`.
    AtLeast,
    /// `measured <= predicted + tolerance`.
    AtMost,
    /// `predicted / tolerance <= measured <= predicted * tolerance` (a constant factor).
    Factor,
}

/// One measured quantity beside its prediction, with the verdict.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Verdict {
    /// What is measured.
    pub quantity: String,
    /// The measurement.
    pub measured: f64,
    /// The prediction.
    pub predicted: f64,
    /// How they are compared.
    pub check: Check,
    /// The tolerance of the comparison (see [`Check`]).
    pub tolerance: f64,
    /// Where the tolerance comes from.
    pub why: String,
    /// Whether the measurement agrees with the prediction.
    pub agrees: bool,
}

impl Verdict {
    /// A verdict; `agrees` is computed from the check (false when anything is NaN).
    pub fn new(
        quantity: impl Into<String>,
        measured: f64,
        predicted: f64,
        check: Check,
        tolerance: f64,
        why: impl Into<String>,
    ) -> Verdict {
        let agrees = match check {
            Check::Within => (measured - predicted).abs() <= tolerance,
            Check::AtLeast => measured >= predicted - tolerance,
            Check::AtMost => measured <= predicted + tolerance,
            Check::Factor => measured >= predicted / tolerance && measured <= predicted * tolerance,
        };
        Verdict {
            quantity: quantity.into(),
            measured,
            predicted,
            check,
            tolerance,
            why: why.into(),
            agrees,
        }
    }

    /// The rule in words, e.g. `|m - p| <= 0.12`.
    pub fn rule(&self) -> String {
        let t = crate::report::table::num(self.tolerance);
        match self.check {
            Check::Within => format!("|measured - predicted| <= {t}"),
            Check::AtLeast => format!("measured >= predicted - {t}"),
            Check::AtMost => format!("measured <= predicted + {t}"),
            Check::Factor => format!("within a factor {t} of predicted"),
        }
    }
}

/// A figure of a section: file name in the report directory and SVG text.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Figure {
    /// File name, e.g. `theorem-1-1.svg`.
    pub file: String,
    /// What it shows.
    pub caption: String,
    /// The SVG document.
    #[serde(skip)]
    pub svg: String,
}

/// One claim of the paper with its measurement.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Section {
    /// Short identifier, e.g. `theorem-1.1`.
    pub id: String,
    /// Title.
    pub title: String,
    /// The claim in one sentence.
    pub claim: String,
    /// Paper result and MATH.md section.
    pub reference: String,
    /// The exact command(s) that reproduce the measurement.
    pub commands: Vec<String>,
    /// Measured against predicted.
    pub verdicts: Vec<Verdict>,
    /// Plots.
    pub figures: Vec<Figure>,
    /// Whether every verdict agrees.
    pub agrees: bool,
    /// Remarks on reading the result (finite size, what is not a prediction).
    pub notes: Vec<String>,
}

impl Section {
    /// Sets `agrees` from the verdicts.
    pub fn finish(mut self) -> Section {
        self.agrees = self.verdicts.iter().all(|v| v.agrees);
        self
    }
}
