//! `radex linearity`: the gradient change against the radius, one table per architecture (MATH 4).

use super::*;
use crate::experiment::linearity::LinearityReport;

/// The linearity summary as tables, one per architecture.
pub fn linearity_table(r: &LinearityReport) -> String {
    let k = r.family.outputs;
    let mut out = format!(
        "radex linearity ({})\n{}  seed {}  networks per arch {}  directions {}  threshold {}  precision {}\n{}",
        r.run.math,
        r.family.describe_for(r.network.is_some()),
        r.seed,
        r.trials,
        r.directions,
        num(r.threshold),
        precision_name(r.precision),
        neighbourhood_notes(k, r.input),
    );
    out.push_str(
        "change = ||grad f(x) - grad f(y)|| / ||grad f(x)||, y = x + r ||x|| u; medians over networks [p10, p90]\n",
    );
    if r.family.act != crate::act::Act::Relu {
        out.push_str(
            "D_i = diag(phi'(z_i)); units flipped = units whose pre-activation z_i changed sign (MATH 4, 9)\n",
        );
    }
    for a in &r.archs {
        out.push_str(&format!(
            "\narch {}  (live networks {}, sampler {})\n",
            a.arch,
            a.live,
            sampler_name(a.sampler)
        ));
        let mut cells = vec![vec![
            "r".to_string(),
            "mean change (uniform u)".into(),
            "max change".into(),
            "change (attack dir)".into(),
            if k >= 2 {
                "||A_j||/||grad|| (attack dir), j=1..l, l+1 (runner-up)".into()
            } else {
                "||A_j||/||grad|| (attack dir), j=1..l".into()
            },
            "units flipped per layer (uniform u)".into(),
            "decomp residual".into(),
        ]];
        if k >= 2 {
            cells[0].push("runner-up changed (uniform u / attack)".into());
        }
        for row in &a.rows {
            let runner = match (row.runner_changed, row.runner_changed_attack) {
                (Some(u), Some(v)) => vec![format!("{} / {}", num(u), num(v))],
                _ => Vec::new(),
            };
            cells.push(vec![
                num(row.r),
                format!(
                    "{} [{}, {}]",
                    num(row.mean_change.median),
                    num(row.mean_change.p10),
                    num(row.mean_change.p90)
                ),
                num(row.max_change.median),
                num(row.attack_change.median),
                per_layer(&row.attack_terms),
                per_layer(&row.flipped),
                num(row.decomp_residual),
            ]);
            cells.last_mut().unwrap().extend(runner);
        }
        out.push_str(&align(&cells));
        out.push_str(&format!(
            "linearity radius (median change < {}): {} [{}, {}] x ||x||{}  (MATH 4)\n",
            num(r.threshold),
            num(a.linearity_radius.median),
            num(a.linearity_radius.p10),
            num(a.linearity_radius.p90),
            if a.radius_censored > 0 {
                format!(
                    "; {} networks stayed below up to 4 ||x||",
                    a.radius_censored
                )
            } else {
                String::new()
            }
        ));
    }
    out
}
