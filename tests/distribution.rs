//! Distributional checks against MATH 3's predictions at a fixed seed, with tolerances derived
//! from sampling error.

use radex::arch::{Arch, Init, Term};
use radex::attack::{Attack, Attacks};
use radex::experiment::attack::{AttackParams, run_trials, summarise};
use radex::experiment::runner::Exec;
use radex::experiment::scaling::{self, ScalingParams};
use radex::measure::stats::{normal_quantile, quantile};
use radex::net::SamplerChoice;
use radex::progress::Quiet;
use radex::scalar::Precision;

/// Density of `2|Z|` at `y`: `phi(y / 2)`.
fn density_2absz(y: f64) -> f64 {
    (-(y / 2.0).powi(2) / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

#[test]
fn one_step_attack_at_d_2000_matches_theorem_1_1() {
    let n = 300;
    let p = AttackParams::new(
        Arch::new(2000, vec![2000, 2000], Init::Nn).unwrap(),
        2021,
        n,
        Attacks::only(Attack::Onestep),
        Precision::F64,
    );
    let recs = run_trials(&p, &Exec::new(0, None), &Quiet);
    let r = summarise(&p, recs.clone(), false);
    assert_eq!(r.dead, 0);
    // Theorem 1.1: success with high probability (measured 1.0 at this size).
    assert!(r.success_rate > 0.9, "success rate {}", r.success_rate);

    // rho sqrt(d) ~ 2|Z| (MATH 3). The sample median of n draws from a density g is
    // asymptotically normal with standard error 1 / (2 g(m) sqrt(n)); at m = 1.349,
    // g = phi(0.6745) = 0.3178, so SE = 0.091 for n = 300. Four standard errors bound a false
    // alarm at 6e-5 when the prediction is right; finite-width effects at d = 2000 are of
    // relative size O(1/sqrt(d)) ~ 2%, well inside.
    let m = 2.0 * normal_quantile(0.75);
    let se_median = 1.0 / (2.0 * density_2absz(m) * (n as f64).sqrt());
    let live: Vec<f64> = recs
        .iter()
        .filter(|t| !t.dead)
        .map(|t| t.rho_sqrt_d)
        .collect();
    let median = quantile(&live, 0.5);
    assert!(
        (median - m).abs() < 4.0 * se_median,
        "median {median} vs {m} (SE {se_median})"
    );

    // Mean of 2|Z| is 2 sqrt(2/pi) with SD 2 sqrt(1 - 2/pi); SE = 0.070 at n = 300.
    let mean = live.iter().sum::<f64>() / live.len() as f64;
    let mu = 2.0 * (2.0 / std::f64::consts::PI).sqrt();
    let se_mean = 2.0 * (1.0 - 2.0 / std::f64::consts::PI).sqrt() / (n as f64).sqrt();
    assert!((mean - mu).abs() < 4.0 * se_mean, "mean {mean} vs {mu}");

    // Lemma 2.2 scale: E f^2 = 2^{-l} exactly under NN-DEF, so f / s has unit mean square; the
    // mean of n squared standard normals has SE sqrt(2/n) = 0.082, and its square root half
    // that.
    let rms = r.lemma_2_2.f_rms_over_scale;
    assert!(
        (rms - 1.0).abs() < 4.0 * 0.5 * (2.0 / n as f64).sqrt(),
        "f rms / s = {rms}"
    );

    // |f(x')| / |f(x)| tends to 1 from below: at this size the median is within (0.8, 1].
    let ratio = r.clause.abs_f_ratio.median;
    assert!(
        ratio > 0.8 && ratio <= 1.0,
        "median |f(x')|/|f(x)| = {ratio}"
    );
    // c_min >= 2 by definition, and close to 2 in the near-linear regime.
    let c = r.clause.c_min.median;
    assert!((2.0..2.5).contains(&c), "median c = {c}");
}

#[test]
fn slope_of_median_rho_is_minus_one_half() {
    let p = ScalingParams {
        ds: vec![128, 256, 512, 1024],
        widths: vec![
            Term::parse("--arch", "d").unwrap(),
            Term::parse("--arch", "d").unwrap(),
        ],
        family: radex::arch::Family::paper(Init::Nn),
        trials: 200,
        seed: 7,
        bootstrap: 400,
        precision: Precision::F64,
        sampler: SamplerChoice::Dense,
    };
    let r = scaling::run(&p, &Exec::new(0, None), &Quiet).unwrap();
    // The bootstrap spread of the slope is its standard error (the 95% interval spans about
    // 3.92 of them); the prediction must lie within four.
    let se = (r.slope_ci[1] - r.slope_ci[0]) / (2.0 * 1.96);
    assert!(se > 0.0 && se < 0.2, "bootstrap SE {se}");
    assert!(
        (r.slope + 0.5).abs() < 4.0 * se,
        "slope {} (SE {se})",
        r.slope
    );
    assert!(r.slope_ci[0] < r.slope && r.slope < r.slope_ci[1]);
    for row in &r.rows {
        assert!(
            row.success_rate > 0.8,
            "d = {}: {}",
            row.d,
            row.success_rate
        );
    }
}
