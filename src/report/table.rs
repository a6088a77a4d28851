//! Readable tables for stdout: every measured figure beside its prediction and source.

use serde::Serialize;

use crate::attack::Attack;
use crate::attack::Norm;
use crate::experiment::attack::AttackReport;
use crate::experiment::bottleneck::BottleneckReport;
use crate::experiment::depth::DepthReport;
use crate::experiment::linearity::LinearityReport;
use crate::experiment::minpert::MinPertReport;
use crate::experiment::phase::PhaseReport;
use crate::experiment::scaling::ScalingReport;
use crate::export::{MANIFEST, Manifest};
use crate::infinite_width::{NoFixedPoint, Phase};
use crate::net::Sampler;
use crate::rng::InputLaw;

/// Formats a number compactly: 4 significant digits, scientific when very small or large.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "n/a".into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.3e}")
    } else {
        let digits = if a >= 100.0 {
            1
        } else if a >= 1.0 {
            3
        } else {
            4
        };
        format!("{v:.digits$}")
    }
}

/// Aligns rows of cells into columns separated by two spaces.
pub fn align(rows: &[Vec<String>]) -> String {
    let ncol = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncol)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| format!("{s:<w$}", w = widths[c]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

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
                Attack::Onestep => (2.0 * minimal * r.norm.gaussian_dual_ratio(r.d), ""),
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
    if r.family.outputs >= 2 {
        notes.push_str(&format!(
            "K = {} outputs: f is the margin F_y - max_(j != y) F_j of the label y = argmax F(x); a flip is a change of the argmax, verified by evaluation (MATH 9)\n",
            r.family.outputs
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
    let paper = r.family.act == crate::act::Act::Relu
        && r.family.sigma_b == 0.0
        && r.input == InputLaw::Sphere;
    let scale = match r.init.filter(|_| paper) {
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
        r.arch,
        r.family.describe_for(r.network.is_some()),
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

fn precision_name(p: crate::scalar::Precision) -> &'static str {
    match p {
        crate::scalar::Precision::F64 => "f64",
        crate::scalar::Precision::F32 => "f32",
    }
}

fn sampler_name(s: Sampler) -> &'static str {
    match s {
        Sampler::Dense => "dense",
        Sampler::Lazy => "lazy",
    }
}

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

/// Joins numbers as `a / b / c` (per-layer values).
fn per_layer(v: &[f64]) -> String {
    v.iter().map(|x| num(*x)).collect::<Vec<_>>().join(" / ")
}

/// What the general family (MATH 9) changes in how the linearity and bottleneck tables read.
fn neighbourhood_notes(outputs: usize, input: InputLaw) -> String {
    let mut notes = String::new();
    if outputs >= 2 {
        notes.push_str(&format!(
            "K = {outputs} outputs: f is the margin F_y - max_(j != y) F_j against the label y = argmax F(x), at x and at every y (MATH 9)\n"
        ));
    }
    match input {
        InputLaw::Sphere => {}
        InputLaw::Gauss => notes.push_str("inputs N(0, I_d) (MATH 9)\n"),
        InputLaw::Box => notes.push_str(
            "inputs uniform in [0,1]^d; the sampled y are not clipped to the box (the network around x, on R^d) (MATH 9)\n",
        ),
    }
    notes
}

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

/// The bottleneck summary as a table.
pub fn bottleneck_table(r: &BottleneckReport) -> String {
    let mut out = format!(
        "radex bottleneck ({})\narch {}  {}  seed {}  networks {} (live {})  radius {} x ||x||  samples {}  a {}\n{}bottleneck indices (prefix-minimum records): {:?}\nmedians over networks\n\n",
        r.run.math,
        r.arch,
        r.family.describe_for(r.network.is_some()),
        r.seed,
        r.trials,
        r.live,
        num(r.radius),
        r.samples,
        num(r.a),
        neighbourhood_notes(r.family.outputs, r.input),
        r.segments
    );
    let mut cells = vec![vec![
        "layer".to_string(),
        "d_i".into(),
        "b(i)".into(),
        "d_b(i)".into(),
        "||h_i(x)||".into(),
        "pred".into(),
        "top sing. J_i".into(),
        "sqrt(d_i/d_b(i))".into(),
        "sampled max".into(),
        "random dir".into(),
        "pred".into(),
        "top/random".into(),
        "small |z| frac".into(),
        "2Phi(a)-1".into(),
    ]];
    for l in &r.layers {
        cells.push(vec![
            l.layer.to_string(),
            l.width.to_string(),
            l.bottleneck.to_string(),
            l.bottleneck_width.to_string(),
            num(l.h_norm.median),
            num(l.h_norm_prediction),
            num(l.top_singular.median),
            num(l.expansion_bound),
            num(l.sampled_max.median),
            num(l.random_expansion.median),
            num(l.random_expansion_prediction),
            num(l.bottleneck_effect),
            num(l.small_fraction.median),
            num(l.small_fraction_prediction),
        ]);
    }
    out.push_str(&align(&cells));
    out.push_str(
        "\ntop sing. J_i: exact local expansion (Lanczos on J_i^T J_i from forward and backward products); it follows\nsqrt(d_i/d_b(i)) up to a constant (MATH 5: 0.6 to 1.7), while a random direction is expanded by\nsqrt(d_i/(d_0 2^i)). The bottleneck effect is the jump of top/random after a narrow layer.\n",
    );
    let paper = r.family.act == crate::act::Act::Relu
        && r.family.sigma_b == 0.0
        && r.family.init().is_some()
        && r.input != InputLaw::Box;
    if !paper {
        out.push_str(
            "General family (MATH 9): J_i = D_i W_i ... D_1 W_1 with D_k = diag(phi'(z_k)); predictions from the kernel recursion,\n||h_i|| ~ sqrt(d_i E phi(u_i)^2), random dir ~ sqrt((d_i/d_0) prod_k sigma_w2 E phi'(u_k)^2), bound sqrt(d_i/d_b(i)) times\nsqrt(prod_k 2 sigma_w2 E phi'(u_k)^2); small |z| means |z_ij| <= a sqrt(sigma_w2 ||h_(i-1)||^2/d_(i-1) + sigma_b^2).\n",
        );
    }
    out
}

/// What `radex export` prints: the directory, its files with their shapes, and radex's `f(x)`
/// and `||grad f(x)||` in full precision (to compare with a recomputation).
pub fn export_summary(m: &Manifest, dir: &std::path::Path) -> String {
    let mut out = format!(
        "radex export ({})\narch {}  {}  precision {}  seed {}  trial {}\n\nwrote {}\n",
        m.run.math,
        m.arch,
        m.family.describe(),
        precision_name(m.precision),
        m.seed,
        m.trial,
        dir.display()
    );
    let shape = |v: &[usize]| match v {
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = v.iter().map(|n| n.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    };
    let n = m.files.len();
    for (k, f) in m.files.iter().enumerate() {
        // Deep networks: the first and last files only.
        if n > 8 && (3..n - 3).contains(&k) {
            if k == 3 {
                out.push_str(&format!("  ... {} more\n", n - 6));
            }
            continue;
        }
        out.push_str(&format!("  {:<14} {}\n", f.name, shape(&f.shape)));
    }
    out.push_str(&format!("  {MANIFEST}\n\n"));
    if m.dead {
        out.push_str("dead network at x (some h_i(x) = 0): f(x) = 0, grad f(x) = 0 (MATH 2)\n");
    } else {
        out.push_str(&format!(
            "f(x)          = {}  (log2 |f(x)| = {:.4})\n||grad f(x)|| = {}  (log2 = {:.4})\n",
            m.f, m.log2_abs_f, m.grad_norm, m.log2_grad_norm
        ));
    }
    out
}

/// The Min-Pert summary as a table.
pub fn minpert_table(r: &MinPertReport) -> String {
    let mut out = format!(
        "radex minpert ({})\nd {}  seed {}  method {:?}\n\n",
        r.run.math, r.d, r.seed, r.method
    );
    let mut cells = vec![vec![
        "k".to_string(),
        "runs".into(),
        "mean ||delta*||/||x||".into(),
        "sd".into(),
        "sqrt(min(k,d)/d)".into(),
        "exact E (Beta)".into(),
        "(mean - E) / SE".into(),
    ]];
    for row in &r.rows {
        let z = if row.beta_standard_error > 0.0 {
            num((row.mean - row.beta_expectation) / row.beta_standard_error)
        } else {
            "-".into()
        };
        cells.push(vec![
            row.k.to_string(),
            row.runs.to_string(),
            num(row.mean),
            num(row.sd),
            num(row.sqrt_k_over_d),
            num(row.beta_expectation),
            z,
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
        g.arch,
        g.family.act,
        g.live,
        g.dead,
        g.overflow,
        i.family.describe(),
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
