//! `radex phase`: one line per cell and the critical curve (MATH 9).

use super::*;
use crate::experiment::phase::PhaseReport;
use crate::infinite_width::{NoFixedPoint, Phase};

/// `radex phase` (MATH 9): one line per cell, `sigma_b` outer, then the critical curve.
pub fn phase_table(r: &PhaseReport) -> String {
    let mut out = format!(
        "radex phase ({})\nact {}  depth {}  width {}  d {}  networks per cell {}  precision {}  \
         seed {}  pair at 90 deg  inputs for the spread {}\n\n",
        r.run.math,
        r.act,
        r.depth,
        r.width,
        r.d,
        r.trials,
        precision_name(r.precision),
        r.seed,
        2 * r.pairs,
    );
    let sqrt_d = (r.d as f64).sqrt();
    let mut cells = vec![vec![
        "sigma_b".to_string(),
        "sigma_w2".into(),
        "phase".into(),
        "chi_1".into(),
        "live".into(),
        "one-step success".into(),
        "95% CI".into(),
        "min flip sqrt(d) median".into(),
        "cos h_l median".into(),
        "kernel cos".into(),
        "spread median".into(),
    ]];
    for c in &r.cells {
        let row = &c.row;
        let mut live = row.live.to_string();
        if row.overflow > 0 {
            live.push_str(&format!(" ({} overflowed)", row.overflow));
        }
        cells.push(vec![
            num(c.sigma_b),
            num(c.sigma_w2),
            crate::experiment::phase::phase_name(c.phase.as_ref()).into(),
            c.chi_1.map_or_else(|| "-".into(), num),
            live,
            num(row.onestep_success_rate),
            format!(
                "[{}, {}]",
                num(row.onestep_success_ci[0]),
                num(row.onestep_success_ci[1])
            ),
            row.min_flip_median_all
                .map_or_else(|| "none found".into(), |m| num(m * sqrt_d)),
            num(row.cosine.median),
            num(row.kappa),
            num(row.spread.median),
        ]);
    }
    out.push_str(&align(&cells));
    out.push_str(
        "\nordered (chi_1 < 1): correlations tend to 1, deep networks become nearly constant (the \
         paper's converse); chaotic (chi_1 > 1): they tend to c* < 1 and the networks stay \
         sensitive.\nmin flip = smallest verified flip over one-step, ray, DeepFool and PGD, \
         relative to ||x||; its median counts networks without a flip as infinite.\n\n",
    );
    let mut cells = vec![vec![
        "sigma_b".to_string(),
        "critical sigma_w2 (chi_1 = 1)".into(),
    ]];
    for p in &r.critical {
        cells.push(vec![
            num(p.sigma_b),
            p.sigma_w2.map_or_else(|| "n/a".into(), num),
        ]);
    }
    out.push_str(&align(&cells));
    out
}

/// The one-line meaning of the deep limit's phase (MATH 9, last item).
pub fn phase_verdict(p: Option<&Phase>) -> String {
    match p {
        Some(Phase::Ordered { chi_1, .. }) => format!(
            "ordered (chi_1 = {}): correlations tend to 1, deep networks become nearly constant (the paper's converse, MATH 6)",
            num(*chi_1)
        ),
        Some(Phase::Chaotic { chi_1, c_star, .. }) => format!(
            "chaotic (chi_1 = {}): correlations tend to c* = {}, deep networks stay sensitive",
            num(*chi_1),
            num(*c_star)
        ),
        Some(Phase::Critical { chi_1, .. }) => format!(
            "critical (chi_1 = {}): correlations tend to 1 more slowly than any exponential",
            num(*chi_1)
        ),
        Some(Phase::NoFixedPoint {
            reason: NoFixedPoint::Homogeneous,
        }) => "relu-like without biases: no fixed point q*, correlations tend to 1 polynomially (the paper's case, MATH 6)".into(),
        Some(Phase::NoFixedPoint {
            reason: NoFixedPoint::Diverges,
        }) => "no fixed point: q grows without bound with depth, so chi_1 means nothing".into(),
        Some(Phase::NoFixedPoint {
            reason: NoFixedPoint::Vanishes,
        }) => "no fixed point: q tends to 0, the network tends to a linear map and correlations freeze".into(),
        None => "no prediction".into(),
    }
}
