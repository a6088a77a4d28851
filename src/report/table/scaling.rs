//! `radex scaling`: the median perturbation per `d` and the fitted slope beside -1/2 (MATH 3).

use super::*;
use crate::experiment::scaling::ScalingReport;

/// The scaling summary as a table.
pub fn scaling_table(r: &ScalingReport) -> String {
    let mut out = format!(
        "radex scaling ({})\nwidths {}  {}  precision {}  seed {}  trials per d {}\n\n",
        r.run.math,
        r.widths,
        r.family.describe(),
        precision_name(r.precision),
        r.seed,
        r.trials
    );
    let mut cells = vec![vec![
        "d".to_string(),
        "arch".into(),
        "median rho".into(),
        "median rho*sqrt(d)".into(),
        "success rate [95% CI]".into(),
        "dead".into(),
        "sampler".into(),
    ]];
    for row in &r.rows {
        cells.push(vec![
            row.d.to_string(),
            row.arch.clone(),
            num(row.median_rho),
            num(row.median_rho_sqrt_d),
            format!(
                "{} [{}, {}]",
                num(row.success_rate),
                num(row.success_ci[0]),
                num(row.success_ci[1])
            ),
            row.dead.to_string(),
            sampler_name(row.sampler).into(),
        ]);
    }
    out.push_str(&align(&cells));
    out.push_str(&format!(
        "\nslope of log median rho vs log d: {} [95% bootstrap CI {}, {}; {} resamples]  predicted {}  (MATH 3)\n",
        num(r.slope),
        num(r.slope_ci[0]),
        num(r.slope_ci[1]),
        r.bootstrap,
        num(r.prediction)
    ));
    out
}
