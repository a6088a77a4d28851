//! The figures of each experiment, built from its report and rendered by [`super::svg`].

use super::svg::{Plot, PlotError, SIZE, Series, Style, render};
use crate::experiment::attack::AttackReport;
use crate::experiment::depth::DepthReport;
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
/// (log x), the curve `sqrt(min(k,d)/d)` and the exact Beta expectation.
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
                "sqrt(min(k,d)/d)",
                curve(&|k| (k.min(d) as f64 / d as f64).sqrt()),
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

/// MATH 6 against depth (log-log), two panels one above the other. Top: the median smallest
/// verified flip relative to `||x||`, the median spread of `f` with its infinite-width law, and
/// the median cosine of the pair beside the `kappa` iteration at every depth. Bottom: the
/// smallest flip over its linear prediction `|f| / (||grad f|| ||x||)` (MATH 3), median and
/// 10th and 90th percentiles over the networks with a flip, with the line `y = 1` of a network
/// linear around `x`.
pub fn depth(r: &DepthReport) -> Result<String, PlotError> {
    Ok(stack(&[depth_values(r)?, depth_linear(r)?]))
}

/// Panels of [`SIZE`] one above the other in one SVG document (each rendered document nested
/// at its offset, which SVG allows).
pub fn stack(panels: &[String]) -> String {
    let (w, h) = SIZE;
    let total = h * panels.len() as u32;
    let mut out = format!(
        "<svg width=\"{w}\" height=\"{total}\" viewBox=\"0 0 {w} {total}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n"
    );
    for (i, p) in panels.iter().enumerate() {
        let y = h * i as u32;
        out.push_str(&p.replacen("<svg ", &format!("<svg x=\"0\" y=\"{y}\" "), 1));
        out.push('\n');
    }
    out.push_str("</svg>\n");
    out
}

/// The bottom panel of [`depth`].
fn depth_linear(r: &DepthReport) -> Result<String, PlotError> {
    let median = r
        .rows
        .iter()
        .map(|row| (row.depth as f64, row.flip_over_linear.median))
        .collect();
    let spread = r
        .rows
        .iter()
        .flat_map(|row| {
            let l = row.depth as f64;
            [(l, row.flip_over_linear.p10), (l, row.flip_over_linear.p90)]
        })
        .collect();
    let (lo, hi) = r.rows.iter().fold((f64::INFINITY, 0.0f64), |(a, b), row| {
        (a.min(row.depth as f64), b.max(row.depth as f64))
    });
    render(&Plot {
        title: "Smallest flip over its linear prediction |f|/(||grad f|| ||x||) (MATH 3)".into(),
        x_label: "depth l".into(),
        y_label: "smallest flip / linear prediction (log scale)".into(),
        log_x: true,
        log_y: true,
        series: vec![
            Series::new(
                "median over the networks with a flip",
                median,
                Style::LineAndPoints,
            ),
            Series::new("10th and 90th percentiles", spread, Style::Points),
            Series::new(
                "1: f linear between x and the boundary",
                vec![(lo, 1.0), (hi, 1.0)],
                Style::Dashed,
            ),
        ],
    })
}

/// The top panel of [`depth`].
fn depth_values(r: &DepthReport) -> Result<String, PlotError> {
    let pts = |f: &dyn Fn(&crate::experiment::depth::DepthRow) -> f64| {
        r.rows
            .iter()
            .map(|row| (row.depth as f64, f(row)))
            .collect::<Vec<_>>()
    };
    // The predicted cosine at every layer: kappa iterated (MATH 6), or the kernel's (MATH 9).
    let kappa: Vec<(f64, f64)> = r.layers.iter().map(|l| (l.layer as f64, l.kappa)).collect();
    render(&Plot {
        title: format!(
            "Depth at width {} ({}, MATH 6, 9): sensitivity and predicted cosine",
            r.width,
            r.family.describe()
        ),
        x_label: "depth l".into(),
        y_label: "value (log scale)".into(),
        log_x: true,
        log_y: true,
        series: vec![
            Series::new(
                "smallest flip ||x'-x||/||x|| (median, best attack)",
                pts(&|row| row.min_flip_median_all.unwrap_or(f64::NAN)),
                Style::LineAndPoints,
            ),
            Series::new(
                "max|f(x)-f(y)| / mean|f| (median)",
                pts(&|row| row.spread.median),
                Style::LineAndPoints,
            ),
            Series::new(
                "same, infinite width (GP)",
                pts(&|row| row.spread_prediction.median),
                Style::Dashed,
            ),
            Series::new(
                format!("cos(h_l(x), h_l(y)), theta = {} deg", r.theta_degrees),
                pts(&|row| row.cosine.median),
                Style::Points,
            ),
            Series::new(
                "predicted cosine (kappa, Lemma 3.2; kernel, MATH 9)",
                kappa,
                Style::Line,
            ),
        ],
    })
}

/// Lemma 3.2 layer by layer (log-log): `1 - cos(h_i(x), h_i(y))` pooled over networks beside
/// `1 - kappa^i(cos theta)`, which falls off roughly like `1 / i^2`.
pub fn depth_cosine(r: &DepthReport) -> Result<String, PlotError> {
    render(&Plot {
        title: format!(
            "Cosine of two inputs layer by layer, width {} (Lemma 3.2)",
            r.width
        ),
        x_label: "layer i".into(),
        y_label: "1 - cos(h_i(x), h_i(y))".into(),
        log_x: true,
        log_y: true,
        series: vec![
            Series::new(
                "1 - predicted cosine (kappa^i or kernel; infinite width)",
                r.layers
                    .iter()
                    .map(|l| (l.layer as f64, 1.0 - l.kappa))
                    .collect(),
                Style::Line,
            ),
            Series::new(
                "measured (mean over networks)",
                r.layers
                    .iter()
                    .map(|l| (l.layer as f64, 1.0 - l.mean))
                    .collect(),
                Style::Points,
            ),
        ],
    })
}

/// A sweep of `radex attack` (MATH 3): the median relative perturbation of the
/// reported attack against `d`, log-log, one series per group of points (`(label, report)`,
/// the label naming what else varies), with its least-squares slope in the legend (Theorem
/// 1.1: -1/2), and each group's prediction dashed.
pub fn sweep_attack(points: &[(String, &AttackReport)]) -> Result<String, PlotError> {
    // (label, measured, predicted) per group.
    type Group<'a> = (&'a str, Vec<(f64, f64)>, Vec<(f64, f64)>);
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (label, r) in points {
        let d = r.net.d as f64;
        let sqrt_d = d.sqrt();
        let at = match groups.iter().position(|g| g.0 == label.as_str()) {
            Some(i) => i,
            None => {
                groups.push((label, Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        groups[at].1.push((d, r.rho_sqrt_d.median / sqrt_d));
        groups[at]
            .2
            .push((d, r.prediction.rho_sqrt_d_median / sqrt_d));
    }
    let mut series = Vec::new();
    for (label, mut measured, mut predicted) in groups {
        measured.sort_by(|a, b| a.0.total_cmp(&b.0));
        predicted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let slope = log_slope(&measured)
            .map(|s| format!(" (slope {s:.3})"))
            .unwrap_or_default();
        let name = if label.is_empty() { "measured" } else { label };
        series.push(Series::new(
            format!("{name}{slope}"),
            measured,
            Style::LineAndPoints,
        ));
        series.push(Series::new(
            format!("{name}: prediction"),
            predicted,
            Style::Dashed,
        ));
    }
    render(&Plot {
        title: "Median relative perturbation against d (MATH 3, Theorem 1.1: slope -1/2)".into(),
        x_label: "input dimension d (log scale)".into(),
        y_label: "median ||x' - x|| / ||x|| (log scale)".into(),
        log_x: true,
        log_y: true,
        series,
    })
}

/// Least-squares slope of `log y` against `log x` over the positive finite points (`None`
/// with fewer than two distinct `x`).
fn log_slope(points: &[(f64, f64)]) -> Option<f64> {
    let p: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite() && *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    let n = p.len() as f64;
    let mx = p.iter().map(|q| q.0).sum::<f64>() / n;
    let my = p.iter().map(|q| q.1).sum::<f64>() / n;
    let sxx: f64 = p.iter().map(|q| (q.0 - mx).powi(2)).sum();
    let sxy: f64 = p.iter().map(|q| (q.0 - mx) * (q.1 - my)).sum();
    (p.len() >= 2 && sxx > 0.0).then(|| sxy / sxx)
}

/// A sweep of `radex depth` (MATH 6): the median smallest flip over the networks
/// with a flip against depth (log-log) above the one-step success rate against depth, one series per point (`(label,
/// report)`, the label naming what varies, e.g. the seed).
pub fn sweep_depth(points: &[(String, &DepthReport)]) -> Result<String, PlotError> {
    let name = |label: &str| {
        if label.is_empty() {
            "measured".to_string()
        } else {
            label.to_string()
        }
    };
    let flips = points
        .iter()
        .map(|(label, r)| {
            let pts = r
                .rows
                .iter()
                .map(|row| (row.depth as f64, row.min_flip.median))
                .collect();
            Series::new(name(label), pts, Style::LineAndPoints)
        })
        .collect();
    let success = points
        .iter()
        .map(|(label, r)| {
            let pts = r
                .rows
                .iter()
                .map(|row| (row.depth as f64, row.onestep_success_rate))
                .collect();
            Series::new(name(label), pts, Style::LineAndPoints)
        })
        .collect();
    Ok(stack(&[
        render(&Plot {
            title: "Smallest verified flip against depth (MATH 6, open question 1)".into(),
            x_label: "depth l (log scale)".into(),
            y_label: "median smallest ||x' - x|| / ||x||, networks flipped (log)".into(),
            log_x: true,
            log_y: true,
            series: flips,
        })?,
        render(&Plot {
            title: "One-step success against depth (MATH 3, 6)".into(),
            x_label: "depth l (log scale)".into(),
            y_label: "one-step success rate".into(),
            log_x: true,
            log_y: false,
            series: success,
        })?,
    ]))
}
