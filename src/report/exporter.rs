//! One exporter per output format behind one trait (hyperfine's `src/export/mod.rs`): every
//! report says how it reads as a table and as CSV rows; JSON is its serde serialisation.

use serde::Serialize;

use super::{rows, table, to_csv, to_json};
use crate::experiment::attack::AttackReport;
use crate::experiment::bottleneck::BottleneckReport;
use crate::experiment::depth::DepthReport;
use crate::experiment::linearity::LinearityReport;
use crate::experiment::minpert::MinPertReport;
use crate::experiment::scaling::ScalingReport;

/// What every report offers the output formats.
pub trait Report: Serialize {
    /// The readable table.
    fn table(&self) -> String;
    /// The CSV text, a header and one row per item (missing values empty).
    fn csv(&self) -> String;
}

/// One output format.
pub trait Exporter {
    /// The report rendered in this format.
    fn export<R: Report>(&self, report: &R) -> String;
}

/// `--format table`.
pub struct TableExporter;
/// `--format json`: one pretty JSON object.
pub struct JsonExporter;
/// `--format csv`.
pub struct CsvExporter;

impl Exporter for TableExporter {
    fn export<R: Report>(&self, report: &R) -> String {
        report.table()
    }
}

impl Exporter for JsonExporter {
    fn export<R: Report>(&self, report: &R) -> String {
        to_json(report)
    }
}

impl Exporter for CsvExporter {
    fn export<R: Report>(&self, report: &R) -> String {
        report.csv()
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
