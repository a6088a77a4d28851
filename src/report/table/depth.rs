//! `radex depth`: one row per depth, then the cosine layer by layer (MATH 6, 9).

use super::*;
use crate::experiment::depth::DepthReport;

/// `radex depth`: one row per depth, then the cosine layer by layer at the depths run.
pub fn depth_table(r: &DepthReport) -> String {
    let paper = crate::experiment::depth::kappa_case(&r.family);
    let pred = if paper { "kappa^l" } else { "kernel cos" };
    let mut out = format!(
        "radex depth ({})\nwidth {}  d {}  {}  precision {}  seed {}  networks per depth {}  \
         theta {} deg  inputs for the spread {}\nphase: {}\n\n",
        r.run.math,
        r.width,
        r.d,
        r.family.describe(),
        precision_name(r.precision),
        r.seed,
        r.trials,
        num(r.theta_degrees),
        2 * r.pairs,
        phase_verdict(r.phase.as_ref()),
    );
    let overflow = r.rows.iter().any(|row| row.overflow > 0);
    let mut head = vec![
        "depth".to_string(),
        "live".into(),
        "cos(h_l(x),h_l(y)) median".into(),
        pred.into(),
        "spread median".into(),
        "spread pred (GP)".into(),
        "one-step success".into(),
        "flips found".into(),
        "min flip/||x|| median".into(),
        "[p10, p90]".into(),
        "flip/linear median".into(),
        "[p10, p90]".into(),
    ];
    if overflow {
        head.push("overflowed".into());
    }
    let mut cells = vec![head];
    for row in &r.rows {
        let mut line = vec![
            row.depth.to_string(),
            row.live.to_string(),
            num(row.cosine.median),
            num(row.kappa),
            num(row.spread.median),
            num(row.spread_prediction.median),
            num(row.onestep_success_rate),
            format!("{}/{}", row.flip_found, row.live),
            row.min_flip_median_all
                .map_or_else(|| "none found".into(), num),
            format!("[{}, {}]", num(row.min_flip.p10), num(row.min_flip.p90)),
            row.flip_over_linear_median_all
                .map_or_else(|| "none found".into(), num),
            format!(
                "[{}, {}]",
                num(row.flip_over_linear.p10),
                num(row.flip_over_linear.p90)
            ),
        ];
        if overflow {
            line.push(row.overflow.to_string());
        }
        cells.push(line);
    }
    out.push_str(&align(&cells));
    out.push_str(if paper {
        "\nspread = max|f(x_a) - f(x_b)| / mean|f(x_a)| over the sampled inputs (Theorem 3.1: \
         small for very deep networks).\nGP = its law at infinite width, inputs correlated \
         kappa^l(0). min flip = smallest verified flip over one-step, ray, DeepFool, PGD and\n\
         minimum-norm; its median counts networks without a flip as infinite. flip/linear = \
         that flip over its\nlinear prediction |f|/(||grad f|| ||x||) (MATH 3, half the \
         one-step rho): 1 where f is near-linear around x.\n\n"
    } else {
        "\nspread = max|f(x_a) - f(x_b)| / mean|f(x_a)| over the sampled inputs.\nkernel cos = \
         the infinite-width cosine of MATH 9; GP = the spread's law at infinite width, with the \
         kernel's output correlation of independent inputs.\nmin flip = smallest verified flip \
         over one-step, ray, DeepFool, PGD and minimum-norm; its median counts networks \
         without a flip as infinite.\nflip/linear = that flip over its linear prediction \
         |f|/(||grad f|| ||x||) (MATH 3, half the one-step rho): 1 where f is near-linear \
         around x.\nNetworks whose output overflowed are counted apart, never as numbers.\n\n"
    });
    let mut cells = vec![vec![
        "layer".to_string(),
        "networks".into(),
        "cosine mean".into(),
        "SE".into(),
        if paper {
            "kappa^i(cos theta)".into()
        } else {
            "kernel cos".into()
        },
        if paper {
            "(mean - kappa) / SE".into()
        } else {
            "(mean - kernel) / SE".into()
        },
    ]];
    let shown: Vec<usize> = r.rows.iter().map(|row| row.depth).collect();
    for l in r.layers.iter().filter(|l| shown.contains(&l.layer)) {
        cells.push(vec![
            l.layer.to_string(),
            l.n.to_string(),
            num(l.mean),
            num(l.se),
            num(l.kappa),
            num((l.mean - l.kappa) / l.se),
        ]);
    }
    out.push_str(&align(&cells));
    out
}
