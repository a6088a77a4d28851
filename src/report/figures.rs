//! The figures of each experiment, built from its report and rendered by [`super::svg`].

use super::svg::{Plot, PlotError, Series, Style, render};
use crate::experiment::linearity::LinearityReport;
use crate::experiment::minpert::MinPertReport;

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

/// MATH 7, a replica of the paper's Figure 1: measured mean `||delta*|| / ||x||` against `k`
/// (log x), the curve `sqrt(k/d)` and the exact Beta expectation.
pub fn minpert(r: &MinPertReport) -> Result<String, PlotError> {
    let pts = |f: fn(&crate::experiment::minpert::MinPertRow) -> f64| {
        r.rows
            .iter()
            .map(|row| (row.k as f64, f(row)))
            .collect::<Vec<_>>()
    };
    // The two curves on a fine log grid of k, the measurements at the k that were run.
    let (lo, hi) = r.rows.iter().fold((f64::INFINITY, 0.0f64), |(a, b), row| {
        (a.min(row.k as f64), b.max(row.k as f64))
    });
    let grid: Vec<usize> = (0..=80)
        .map(|i| (lo * (hi / lo).powf(i as f64 / 80.0)).round().max(1.0) as usize)
        .collect();
    let d = r.d;
    let curve =
        |f: &dyn Fn(usize) -> f64| grid.iter().map(|&k| (k as f64, f(k))).collect::<Vec<_>>();
    render(&Plot {
        title: format!("Min-Pert, d = {} (paper Figure 1, MATH 7)", r.d),
        x_label: "hidden width k".into(),
        y_label: "||delta*|| / ||x||".into(),
        log_x: true,
        log_y: false,
        series: vec![
            Series::new(
                "sqrt(k/d)",
                curve(&|k| (k as f64 / d as f64).sqrt()),
                Style::Dashed,
            ),
            Series::new(
                "exact E (Beta law)",
                curve(&|k| crate::measure::minpert::beta_expectation(k, d)),
                Style::Line,
            ),
            Series::new(
                format!(
                    "measured (mean of {} runs)",
                    r.rows.first().map_or(0, |x| x.runs)
                ),
                pts(|row| row.mean),
                Style::Points,
            ),
        ],
    })
}
