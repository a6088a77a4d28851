//! `radex attack`: the summary rows (also its CSV without `--per-trial`) beside their predictions, and `--compare-init` side by side (MATH 3, 9, 10).

use serde::Serialize;

use super::*;
use crate::attack::Attack;
use crate::attack::Norm;
use crate::experiment::attack::AttackReport;
use crate::rng::InputLaw;

/// A row of the attack summary: quantity, measured, predicted, source.
#[derive(Clone, Debug, Serialize)]
pub struct SummaryRow {
    /// What is measured.
    pub quantity: String,
    /// Measured value.
    pub measured: f64,
    /// Prediction (NaN where there is none).
    pub predicted: f64,
    /// MATH.md section and paper result.
    pub source: &'static str,
}

/// The attack summary as rows (also the CSV form without `--per-trial`).
pub fn attack_rows(r: &AttackReport) -> Vec<SummaryRow> {
    let p = &r.prediction;
    let row = |q: &str, m: f64, pr: f64, s: &'static str| SummaryRow {
        quantity: q.to_string(),
        measured: m,
        predicted: pr,
        source: s,
    };
    let name = match r.attack.reported() {
        Attack::Onestep => "one-step",
        a => a.as_str(),
    };
    let mut rows = vec![
        row(
            &format!("{name} success rate"),
            r.success_rate,
            p.success_rate,
            "MATH 3, Thm 1.1",
        ),
        row(
            "success rate CI low (95% Wilson)",
            r.success_ci[0],
            f64::NAN,
            "MATH 3",
        ),
        row(
            "success rate CI high (95% Wilson)",
            r.success_ci[1],
            f64::NAN,
            "MATH 3",
        ),
        row(
            "rho*sqrt(d) median",
            r.rho_sqrt_d.median,
            p.rho_sqrt_d_median,
            "MATH 3",
        ),
        row(
            "rho*sqrt(d) mean",
            r.rho_sqrt_d.mean,
            p.rho_sqrt_d_mean,
            "MATH 3",
        ),
        row(
            "rho*sqrt(d) p10",
            r.rho_sqrt_d.p10,
            p.rho_sqrt_d_p10,
            "MATH 3",
        ),
        row(
            "rho*sqrt(d) p90",
            r.rho_sqrt_d.p90,
            p.rho_sqrt_d_p90,
            "MATH 3",
        ),
    ];
    // Distances of the ray, DeepFool, PGD and minnorm are in the run's norm (MATH 3, "other
    // norms"); the one-step attack's are L2.
    let (sub, q) = match r.norm {
        Norm::L2 => ("", ""),
        Norm::Linf => ("_inf", "_1"),
    };
    if let Some(ray) = &r.ray {
        for (name, v) in [
            ("median", ray.t_ratio.median),
            ("p10", ray.t_ratio.p10),
            ("p90", ray.t_ratio.p90),
        ] {
            rows.push(row(
                &format!("ray t*|grad|{q}/|f| {name}"),
                v,
                p.ray_t_ratio,
                "MATH 3",
            ));
        }
    }
    if r.attacks.len() > 1 {
        // Minimal flips have half the one-step size (MATH 3; |Z| r for one output), over
        // ||g||_1 / ||g||_2 in Linf.
        let minimal = p.minimal_flip_sqrt_d_median;
        for b in &r.attacks {
            let (pred, sub) = match b.name {
                Attack::Onestep => (2.0 * minimal * r.norm.gaussian_dual_ratio(r.net.d), ""),
                Attack::Pgd => (f64::NAN, sub),
                _ => (minimal, sub),
            };
            rows.push(row(
                &format!("{} success rate", b.name),
                b.success_rate,
                1.0,
                "MATH 3",
            ));
            rows.push(row(
                &format!("{} ||x'-x||{sub}/||x||*sqrt(d) median (successes)", b.name),
                b.rel_pert_sqrt_d.median,
                pred,
                "MATH 3",
            ));
            if let Some(over) = &b.over_linear {
                // A minimal flip of a near-linear f is at its linear prediction.
                let pred = if b.name == Attack::Pgd { f64::NAN } else { 1.0 };
                rows.push(row(
                    &format!("{} flip / linear prediction median", b.name),
                    over.median,
                    pred,
                    "MATH 3",
                ));
            }
        }
    }
    if let Some(curve) = &r.pgd_curve {
        for pt in curve {
            rows.push(row(
                &format!("pgd success at eps*sqrt(d) = {}", num(pt.eps_sqrt_d)),
                pt.success_rate,
                pt.prediction,
                "MATH 3 (linear model)",
            ));
        }
    }
    if let Some(best) = &r.best {
        rows.push(row(
            &format!("best flip ||x'-x||{sub}/||x||*sqrt(d) median"),
            best.rel_pert_sqrt_d.median,
            p.minimal_flip_sqrt_d_median,
            "MATH 3 (linear: |Z| r)",
        ));
        for (a, n) in &best.wins {
            rows.push(row(
                &format!("best flip found by {a} (pairs)"),
                *n as f64,
                f64::NAN,
                "MATH 3",
            ));
        }
    }
    if let Some(c) = &r.clipped {
        rows.extend([
            row(
                "box: clipping moved the one-step point (fraction)",
                c.clip_active,
                f64::NAN,
                "MATH 9 (box)",
            ),
            row(
                "box: clipped one-step success rate",
                c.success_rate,
                f64::NAN,
                "MATH 9 (box)",
            ),
            row(
                "box: clipped one-step rho*sqrt(d) median",
                c.rho_sqrt_d.median,
                f64::NAN,
                "MATH 9 (box)",
            ),
        ]);
    }
    let c = &r.clause;
    rows.extend([
        row(
            "|f(x')|/|f(x)| median",
            c.abs_f_ratio.median,
            p.abs_f_ratio,
            "MATH 3 (-> 1 from below)",
        ),
        row(
            "|f(x')|/|f(x)| p10",
            c.abs_f_ratio.p10,
            p.abs_f_ratio,
            "MATH 3",
        ),
        row(
            "|f(x')|/|f(x)| p90",
            c.abs_f_ratio.p90,
            p.abs_f_ratio,
            "MATH 3",
        ),
        row(
            "clause |f(x')|>=|f(x)| alone at c=2",
            c.clause_alone_at_one_step,
            f64::NAN,
            "MATH 3, Thm 1.1",
        ),
        row(
            "both clauses (flip, |f(x')|>=|f(x)|) at c=2",
            c.both_clauses_at_one_step,
            f64::NAN,
            "MATH 3, Thm 1.1",
        ),
        row(
            "ties |f(x')|=|f(x)| (to 1e-12) at c=2",
            c.ties_at_one_step,
            f64::NAN,
            "MATH 3",
        ),
        row(
            "smallest c with |f(x')|>=|f(x)| median",
            c.c_min.median,
            p.c_min,
            "MATH 3 (-> 2)",
        ),
        row("smallest c p90", c.c_min.p90, p.c_min, "MATH 3"),
        row(
            "f(x) rms / s",
            r.lemma_2_2.f_rms_over_scale,
            p.f_rms_over_scale,
            "MATH 3, Lemma 2.2",
        ),
        row(
            "f(x) / s p10",
            r.lemma_2_2.f_over_scale_p10,
            p.f_over_scale_p10,
            "MATH 3, Lemma 2.2",
        ),
        row(
            "f(x) / s p90",
            r.lemma_2_2.f_over_scale_p90,
            p.f_over_scale_p90,
            "MATH 3, Lemma 2.2",
        ),
        row(
            "median ||grad f(x)|| / s",
            r.lemma_2_2.grad_norm_median_over_scale,
            p.grad_norm_median_over_scale,
            "MATH 3, Lemma 2.2",
        ),
        row("dead networks", r.dead as f64, f64::NAN, "MATH 2"),
        row(
            "one step landed on f(x') = 0 (flips)",
            r.landed_on_zero as f64,
            f64::NAN,
            "MATH 3",
        ),
    ]);
    rows
}

/// What the general family (MATH 9) changes in how the attack table reads, one line each.
fn family_notes(r: &AttackReport) -> String {
    let mut notes = String::new();
    if r.net.family.outputs >= 2 {
        notes.push_str(&format!(
            "K = {} outputs: f is the margin F_y - max_(j != y) F_j of the label y = argmax F(x); a flip is a change of the argmax, verified by evaluation (MATH 9)\n",
            r.net.family.outputs
        ));
    }
    match r.input {
        InputLaw::Sphere => {}
        InputLaw::Gauss => notes.push_str("inputs N(0, I_d) (MATH 9)\n"),
        InputLaw::Box => notes.push_str(
            "inputs uniform in [0,1]^d: ray, DeepFool and PGD points are clipped to the box; the one-step row is the unconstrained step, predicted, and its clipped version follows (MATH 9)\n",
        ),
    }
    notes
}

/// The attack summary as a table.
pub fn attack_table(r: &AttackReport) -> String {
    let paper = r.net.family.act == crate::act::Act::Relu
        && r.net.family.sigma_b == 0.0
        && r.input == InputLaw::Sphere;
    let scale = match r.net.init.filter(|_| paper) {
        _ if r.network.is_some() => {
            "s = 1: a given network has no predicted scale (MATH 10)".into()
        }
        Some(crate::arch::Init::Nn) => {
            format!("s = 2^(-l/2) = 2^{}", r.lemma_2_2.log2_scale)
        }
        Some(crate::arch::Init::He) => format!("s = sqrt(2) = {}", num(r.lemma_2_2.scale)),
        None => format!(
            "s = sqrt(E f^2) = {} (kernel recursion, MATH 9); r = {}",
            num(r.lemma_2_2.scale),
            num(r.prediction.r)
        ),
    };
    let mut out = format!(
        "radex attack ({})\narch {}  {}  precision {}  sampler {}{}  seed {}  trials {}  live {}  dead {}{}\n{}\n{}\n",
        r.run.math,
        r.net.arch,
        r.net.family.describe_for(r.network.is_some()),
        precision_name(r.precision),
        sampler_name(r.sampler),
        match r.norm {
            Norm::L2 => String::new(),
            norm => format!("  norm {norm} (one-step: L2)"),
        },
        r.seed,
        r.trials,
        r.live,
        r.dead,
        if r.overflow > 0 {
            format!(
                "  overflowed {} (MATH 9: not printed as numbers)",
                r.overflow
            )
        } else {
            String::new()
        },
        scale,
        family_notes(r),
    );
    let mut cells = vec![vec![
        "quantity".to_string(),
        "measured".into(),
        "predicted".into(),
        "source".into(),
    ]];
    for row in attack_rows(r) {
        let integral = row.quantity == "dead networks"
            || row.quantity.ends_with("(pairs)")
            || row.quantity.ends_with("(flips)");
        cells.push(vec![
            row.quantity,
            if integral {
                format!("{}", row.measured)
            } else {
                num(row.measured)
            },
            if row.predicted.is_nan() {
                "-".into()
            } else {
                num(row.predicted)
            },
            row.source.to_string(),
        ]);
    }
    out.push_str(&align(&cells));
    out
}

/// `radex attack --compare-init` (MATH 10): the rows of both reports side by side, the
/// prediction column being the initialisation's (a given network has none).
pub fn attack_comparison_table(c: &crate::experiment::compare::AttackComparison) -> String {
    use crate::choice::Choice;
    let (g, i) = (&c.given, &c.init);
    let inputs = match &g.inputs {
        Some(f) => format!("inputs {f} (row t at trial t)"),
        None => format!("inputs sampled ({}) per trial", i.input.name()),
    };
    let mut out = format!(
        "radex attack --compare-init ({})\ngiven: {} ({})  arch {}  {}  live {}  dead {}  overflowed {}\nat initialisation: {}  sampler {}  live {}  dead {}  overflowed {}\nseed {}  trials {}  precision {}  {inputs}\n{}\n",
        c.run.math,
        g.model.as_deref().unwrap_or("network"),
        g.model_format.as_deref().unwrap_or("given"),
        g.net.arch,
        g.net.family.act,
        g.live,
        g.dead,
        g.overflow,
        i.net.family.describe(),
        sampler_name(i.sampler),
        i.live,
        i.dead,
        i.overflow,
        g.seed,
        g.trials,
        precision_name(g.precision),
        family_notes(g),
    );
    let mut cells = vec![vec![
        "quantity".to_string(),
        "given network".into(),
        "at initialisation".into(),
        "predicted (init)".into(),
        "source".into(),
    ]];
    let init_rows = attack_rows(i);
    for row in attack_rows(g) {
        let Some(at_init) = init_rows.iter().find(|r| r.quantity == row.quantity) else {
            continue;
        };
        let integral = row.quantity == "dead networks"
            || row.quantity.ends_with("(pairs)")
            || row.quantity.ends_with("(flips)");
        let cell = |v: f64| if integral { format!("{v}") } else { num(v) };
        cells.push(vec![
            row.quantity.clone(),
            cell(row.measured),
            cell(at_init.measured),
            if at_init.predicted.is_nan() {
                "-".into()
            } else {
                num(at_init.predicted)
            },
            row.source.to_string(),
        ]);
    }
    out.push_str(&align(&cells));
    out
}
