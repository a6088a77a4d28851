//! Rendering records: each report as a table, JSON or CSV ([`Format`]), and SVG plots
//! (writing them is [`crate::files`]). The layer above the experiments: it reads their
//! records, and nothing below it imports it.

pub mod csv;
pub mod figures;
pub mod heatmap;
pub mod rows;
pub mod svg;
pub mod table;

pub use csv::to_csv;

use serde::Serialize;

use crate::choice::Choice;
use crate::experiment::attack::AttackReport;
use crate::experiment::bottleneck::BottleneckReport;
use crate::experiment::compare::{AttackOutput, Comparison};
use crate::experiment::depth::DepthReport;
use crate::experiment::linearity::LinearityReport;
use crate::experiment::minpert::MinPertReport;
use crate::experiment::phase::PhaseReport;
use crate::experiment::scaling::ScalingReport;
use crate::record::to_json;

/// What every report offers the output formats; JSON is its serde serialisation.
pub trait Report: Serialize {
    /// The readable table.
    fn table(&self) -> String;
    /// The CSV text, a header and one row per item (missing values empty).
    fn csv(&self) -> String;
}

/// An output format (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A readable table.
    Table,
    /// One pretty JSON object.
    Json,
    /// Comma-separated values.
    Csv,
}

impl Choice for Format {
    const FLAG: &'static str = "--format";
    const ALL: &'static [(&'static str, Self)] = &[
        ("table", Format::Table),
        ("json", Format::Json),
        ("csv", Format::Csv),
    ];
}

impl Format {
    /// `report` rendered in this format.
    pub fn render<R: Report>(self, report: &R) -> String {
        match self {
            Format::Table => report.table(),
            Format::Json => to_json(report),
            Format::Csv => report.csv(),
        }
    }
}

impl Report for AttackReport {
    fn table(&self) -> String {
        table::attack_table(self)
    }
    /// One row per trial with `--per-trial`, else the summary rows.
    fn csv(&self) -> String {
        match &self.per_trial {
            Some(trials) => to_csv(trials),
            None => to_csv(&table::attack_rows(self)),
        }
    }
}

impl Report for AttackOutput {
    fn table(&self) -> String {
        match self {
            AttackOutput::One(r) => r.table(),
            AttackOutput::Compared(c) => table::attack_comparison_table(c),
        }
    }
    /// A comparison: each half's CSV (summary rows, or per-trial records) with a first column
    /// `network`, `given` or `init`.
    fn csv(&self) -> String {
        match self {
            AttackOutput::One(r) => r.csv(),
            AttackOutput::Compared(c) => csv::tagged_csv(&c.given.csv(), &c.init.csv()),
        }
    }
}

/// The comparisons whose halves are printed one after the other.
macro_rules! stacked {
    ($($r:ty),*) => {$(
        impl Report for Comparison<$r> {
            fn table(&self) -> String {
                format!(
                    "radex {} --compare-init ({})\n\n== given network ==\n{}\n== at initialisation ==\n{}",
                    self.run.command,
                    self.run.math,
                    self.given.table(),
                    self.init.table()
                )
            }
            fn csv(&self) -> String {
                csv::tagged_csv(&self.given.csv(), &self.init.csv())
            }
        }
    )*};
}
stacked!(LinearityReport, BottleneckReport);

impl Report for ScalingReport {
    fn table(&self) -> String {
        table::scaling_table(self)
    }
    fn csv(&self) -> String {
        to_csv(&rows::scaling(self))
    }
}

impl Report for LinearityReport {
    fn table(&self) -> String {
        table::linearity_table(self)
    }
    fn csv(&self) -> String {
        to_csv(&rows::linearity(self))
    }
}

impl Report for BottleneckReport {
    fn table(&self) -> String {
        table::bottleneck_table(self)
    }
    fn csv(&self) -> String {
        to_csv(&rows::bottleneck(self))
    }
}

impl Report for MinPertReport {
    fn table(&self) -> String {
        table::minpert_table(self)
    }
    fn csv(&self) -> String {
        to_csv(&rows::minpert(self))
    }
}

impl Report for DepthReport {
    fn table(&self) -> String {
        table::depth_table(self)
    }
    fn csv(&self) -> String {
        to_csv(&rows::depth(self))
    }
}

impl Report for PhaseReport {
    fn table(&self) -> String {
        table::phase_table(self)
    }
    fn csv(&self) -> String {
        to_csv(&rows::phase(self))
    }
}
