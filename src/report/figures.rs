//! The figures of each experiment, built from its report and rendered by [`super::svg`].

use super::svg::{Plot, PlotError, Series, Style, render};
use crate::experiment::linearity::LinearityReport;

/// MATH 4: relative gradient change against the radius (log-log), one line per architecture
/// (median over networks of the mean over uniform directions) and a dashed line along the
/// attack direction.
pub fn linearity(r: &LinearityReport) -> Result<String, PlotError> {
    let mut series = Vec::new();
    for a in &r.archs {
        series.push(Series::new(
            format!("{} (uniform directions)", a.arch),
            a.rows
                .iter()
                .map(|row| (row.r, row.mean_change.median))
                .collect(),
            Style::LineAndPoints,
        ));
        series.push(Series::new(
            format!("{} (attack direction)", a.arch),
            a.rows
                .iter()
                .map(|row| (row.r, row.attack_change.median))
                .collect(),
            Style::Dashed,
        ));
    }
    render(&Plot {
        title: "Gradient change around x (MATH 4)".into(),
        x_label: "radius r / ||x||".into(),
        y_label: "||grad f(x) - grad f(y)|| / ||grad f(x)||".into(),
        log_x: true,
        log_y: true,
        series,
    })
}
