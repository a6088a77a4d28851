//! Depth (MATH 6): the empirical layer-wise cosine follows the kappa iteration at large width,
//! and `radex depth` reports what it documents.

use crate::cli::{radex, rejects};
use faer::{MatRef, Par};
use radex::act::Act;
use radex::arch::{Arch, Family, Init, OutputLaw};
use radex::experiment::args::{DepthArgs, RunArgs};
use radex::experiment::attack::trial;
use radex::experiment::depth::{
    self, DepthParams, DepthReport, output_correlations, predicted_cosines,
};
use radex::infinite_width::Kernel;
use radex::measure::depth::{at_angle, kappa_iterates, layer_cosines, pair_stream};
use radex::measure::stats::Band;
use radex::net::{DenseNet, forward};
use radex::progress::Quiet;
use radex::{rng, vector};

/// Mean and standard error of the cosine at each layer over `n` He networks of width `k`.
fn cosines(k: usize, depth: usize, theta: f64, n: u64, seed: u64) -> Vec<(f64, f64)> {
    let arch = Arch::new(k, vec![k; depth], Init::He).unwrap();
    cosines_of(&arch, theta, n, seed)
}

/// As [`cosines`], for any architecture (input dimension = `arch.d`).
fn cosines_of(arch: &Arch, theta: f64, n: u64, seed: u64) -> Vec<(f64, f64)> {
    let (k, depth) = (arch.d, arch.depth());
    let mut per_layer = vec![Vec::new(); depth];
    for t in 0..n {
        let mut net = DenseNet::<f64>::sample(arch, seed, t);
        let x = rng::input(seed, t, k);
        let y = at_angle(&x, theta, &mut pair_stream(seed, t));
        let b: Vec<f64> = x.iter().chain(&y).copied().collect();
        let tr = forward(
            &mut net,
            MatRef::from_column_major_slice(&b, k, 2),
            Par::Seq,
        );
        for (i, c) in layer_cosines(&tr, 0, 1).into_iter().enumerate() {
            per_layer[i].push(c);
        }
    }
    per_layer
        .iter()
        .map(|v| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|c| (c - m) * (c - m)).sum::<f64>() / (v.len() - 1) as f64;
            (m, (var / v.len() as f64).sqrt())
        })
        .collect()
}

#[test]
fn kappa_iteration_matches_the_empirical_cosine_at_large_width() {
    // Tolerance: 4 standard errors of the mean over networks (the sampling error), plus 1 / k
    // for the finite-width bias: each layer's cosine is a ratio of sums over k units, biased by
    // O((1 - rho_i) / k) (two equal inputs have cosine exactly 1 at any width), and 1 - rho_i
    // falls like 1 / i^2, so the biases sum to O(1 / k). (Measured with 1000-2000 networks at
    // k = 200 and 500, the difference stayed within 2 standard errors, below 1.4 / k; at
    // k = 256 it stayed within 1.5 standard errors up to layer 1024.)
    let (k, depth) = (1000, 6);
    for (deg, seed) in [(90.0f64, 11), (45.0, 12)] {
        let theta = deg.to_radians();
        let kap = kappa_iterates(theta.cos(), depth);
        let got = cosines(k, depth, theta, 24, seed);
        for (i, ((m, se), kp)) in got.iter().zip(&kap).enumerate() {
            let tol = 4.0 * se + 1.0 / k as f64;
            assert!(
                (m - kp).abs() < tol,
                "theta {deg} layer {}: mean {m} vs kappa {kp} (SE {se}, tol {tol})",
                i + 1
            );
            // The check is sharp enough to tell the layers apart.
            assert!(tol < 0.03, "tolerance {tol} too loose");
        }
    }
}

#[test]
fn a_wrong_kappa_would_be_caught() {
    // The same data against the cosine of the previous layer (one kappa step missing) must fail
    // the test's tolerance somewhere: the check has power.
    let (k, depth) = (1000, 6);
    let theta = 90f64.to_radians();
    let kap = kappa_iterates(theta.cos(), depth);
    let got = cosines(k, depth, theta, 24, 11);
    let off = (1..depth).any(|i| {
        let (m, se) = got[i];
        (m - kap[i - 1]).abs() >= 4.0 * se + 1.0 / k as f64
    });
    assert!(off);
}

#[test]
fn depth_cli_json_csv_plot_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("depth.svg");
    let args = [
        "depth", "--width", "48", "--depths", "1,3,12", "--trials", "6", "--pairs", "4", "--theta",
        "60", "--format", "json",
    ];
    let out = radex()
        .args(args)
        .args(["-j", "1", "--plot", plot.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["command"], "depth");
    assert_eq!(v["init"], "he");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let kap = kappa_iterates(60f64.to_radians().cos(), 12);
    for (row, l) in rows.iter().zip([1usize, 3, 12]) {
        assert_eq!(row["depth"].as_u64().unwrap() as usize, l);
        assert!((row["kappa"].as_f64().unwrap() - kap[l - 1]).abs() < 1e-15);
        let c = row["cosine"]["median"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&c));
        for key in ["spread", "spread_prediction", "min_flip"] {
            assert!(row[key]["median"].is_number() || row[key]["median"].is_null());
        }
        assert!(row["onestep_success_rate"].is_number());
    }
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 12);
    // Layer 1 pools all 18 networks, layer 12 only the 6 of depth 12.
    assert_eq!(layers[0]["n"], 18);
    assert_eq!(layers[11]["n"], 6);
    let svg = std::fs::read_to_string(&plot).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert!(doc.descendants().any(|n| n.has_tag_name("circle")));

    // Same bytes on two threads.
    let two = radex().args(args).args(["-j", "2"]).output().unwrap();
    assert_eq!(two.stdout, out.stdout);

    let csv = radex()
        .args(["depth", "--width", "16", "--depths", "2,4", "--trials", "2"])
        .args(["--pairs", "2", "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.starts_with("depth,width,d,seed,live,cosine_median"));
}

#[test]
fn depth_flags_are_validated() {
    rejects(&["depth", "--init", "nn"], "--init", "he initialisation");
    rejects(&["depth", "--theta", "200"], "--theta", "between 0 and 180");
    rejects(
        &["depth", "--depths", "4,0"],
        "--depths",
        "positive integers",
    );
    rejects(&["depth", "--pairs", "0"], "--pairs", "at least 1");
    rejects(&["depth", "--width", "0"], "--width", "at least 1");
    rejects(
        &["depth", "--width", "100000", "--depths", "1000"],
        "--depths",
        "memory",
    );
}

fn tanh(sigma_w2: f64, sigma_b: f64) -> Family {
    Family {
        act: Act::Tanh,
        sigma_w2,
        sigma_b,
        outputs: 1,
        output_law: OutputLaw::Gauss,
    }
}

/// MATH 9: for relu without biases the kernel recursion is the `kappa` iteration of Lemma
/// 3.2, for any `sigma_w^2`; radex keeps the `kappa` path there (the paper's numbers, bit for
/// bit) and the two agree to rounding.
#[test]
fn kernel_and_kappa_agree_for_relu_without_biases() {
    for sigma_w2 in [1.0, 2.0, 3.7] {
        let k = Kernel {
            act: Act::Relu,
            sigma_w2,
            sigma_b: 0.0,
        };
        for cos in [0.0, 0.5, -0.3] {
            let kern = k.correlations(1025, 1.0, cos).unwrap();
            let kap = kappa_iterates(cos, 1025);
            // Both iterate a map of slope <= 1 near 1 in different order of operations, so
            // their roundings add up: at most about u = 1.1e-16 per layer (measured: 1.0e-13
            // at layer 562); 1e-15 per layer leaves a factor 5.
            for (i, (a, b)) in kern.iter().zip(&kap).enumerate() {
                let tol = 1e-15 * (i + 1) as f64;
                assert!((a.cosine - b).abs() < tol, "layer {}: {a:?} vs {b}", i + 1);
                // The next layer's pre-activation correlation is this cosine (no biases).
                if i + 1 < kern.len() {
                    assert!((kern[i + 1].c - b).abs() < tol + 1e-15);
                }
                if i < 16 {
                    assert!((a.cosine - b).abs() < 1e-14);
                }
            }
        }
        let fam = Family {
            sigma_w2,
            ..Family::paper(Init::He)
        };
        assert_eq!(predicted_cosines(&fam, 0.5, 64), kappa_iterates(0.5, 64));
        assert_eq!(output_correlations(&fam, 64), kappa_iterates(0.0, 64));
    }
    // Off the paper's case the kernel's values are used: the output correlation of
    // independent inputs is the recursion's `c` one layer past the last hidden one.
    let f = tanh(2.5, 0.3);
    let k = Kernel {
        act: Act::Tanh,
        sigma_w2: 2.5,
        sigma_b: 0.3,
    };
    let c = k.correlations(9, 1.0, 0.0).unwrap();
    let out = output_correlations(&f, 8);
    for l in 1..=8 {
        assert_eq!(out[l - 1], c[l].c);
    }
    let cos = predicted_cosines(&f, 0.0, 8);
    assert_eq!(cos[7], c[7].cosine);
}

/// MATH 9: the layer-wise cosine of a pair at 90 degrees in tanh networks with biases follows
/// the kernel recursion, in the chaotic phase (towards `c* < 1`) and the ordered one (towards
/// 1). Tolerance: 4 standard errors of the mean over networks plus a finite-width allowance of
/// 2 / k (each cosine is a ratio of sums over k units, biased by O(1/k)). Measured at k = 512
/// with 64 networks: the largest |mean - kernel| was 0.015 (1.4 SE, layer 4 of the chaotic
/// case), every difference within 2 SE: sampling error dominates at this width.
#[test]
fn kernel_cosines_match_the_measured_cosine_for_tanh_with_biases() {
    let (k, depth, n) = (512, 8, 64);
    for (sigma_w2, sigma_b, seed) in [(2.5, 0.3, 21), (1.2, 0.3, 22)] {
        let fam = tanh(sigma_w2, sigma_b);
        let arch = Arch::with_family(k, vec![k; depth], fam).unwrap();
        let got = cosines_of(&arch, std::f64::consts::FRAC_PI_2, n, seed);
        let pred = predicted_cosines(&fam, 0.0, depth);
        for (i, ((m, se), p)) in got.iter().zip(&pred).enumerate() {
            let tol = 4.0 * se + 2.0 / k as f64;
            assert!(
                (m - p).abs() < tol,
                "sigma_w2 {sigma_w2} layer {}: mean {m} vs kernel {p} (SE {se}, tol {tol})",
                i + 1
            );
            assert!(tol < 0.05, "tolerance {tol} too loose");
        }
    }
}

#[test]
fn depth_takes_the_family_and_keeps_its_keys() {
    let out = radex()
        .args(["depth", "--width", "32", "--depths", "2,6", "--trials", "3"])
        .args([
            "--pairs",
            "2",
            "--act",
            "tanh",
            "--sigma-b",
            "0.3",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["act"], "tanh");
    assert_eq!(v["sigma_w2"], 2.0);
    assert_eq!(v["sigma_b"], 0.3);
    assert_eq!(v["init"], "he");
    assert_eq!(v["phase"]["phase"], "chaotic");
    assert!(v["math"].as_str().unwrap().contains("MATH 9"));
    let pred = predicted_cosines(&tanh(2.0, 0.3), 90f64.to_radians().cos(), 6);
    for (row, l) in v["rows"].as_array().unwrap().iter().zip([2usize, 6]) {
        assert_eq!(row["kappa"].as_f64().unwrap(), pred[l - 1]);
        assert_eq!(row["overflow"], 0);
    }
    // A sigma_w2 that names no initialisation: init is null, the family says it.
    let out = radex()
        .args([
            "depth", "--width", "16", "--depths", "2", "--trials", "2", "--pairs", "2",
        ])
        .args(["--act", "erf", "--sigma-w2", "0.7", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["init"].is_null());
    assert_eq!(v["sigma_w2"], 0.7);
    // Below erf's critical pi/4 without biases, q tends to 0: no fixed point q*.
    assert_eq!(v["phase"]["phase"], "no_fixed_point");
    assert_eq!(v["phase"]["reason"], "vanishes");
    // The paper's case keeps its header and says which case it is.
    let out = radex()
        .args([
            "depth", "--width", "16", "--depths", "2", "--trials", "2", "--pairs", "2",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("init he") && text.contains("the paper's case"),
        "{text}"
    );
}

#[test]
fn depth_refuses_what_it_does_not_measure() {
    rejects(&["depth", "--outputs", "3"], "--outputs", "one output");
    rejects(
        &["depth", "--output-law", "rademacher"],
        "--output-law",
        "Gaussian output weights",
    );
    rejects(&["depth", "--input", "gauss"], "--input", "sphere inputs");
    rejects(
        &["depth", "--act", "relu", "--init", "nn"],
        "--init",
        "he initialisation",
    );
    // `--init nn` is the critical point of tanh without biases: allowed there.
    radex()
        .args([
            "depth", "--act", "tanh", "--init", "nn", "--width", "8", "--depths", "2",
        ])
        .args(["--trials", "1", "--pairs", "1"])
        .assert()
        .success();
}

/// A depth run of the library on one thread.
fn depth_run(width: usize, depths: &str, trials: usize) -> (DepthParams, DepthReport) {
    let (p, e) = DepthArgs {
        width,
        depths: Some(depths.into()),
        trials,
        pairs: 2,
        run: RunArgs {
            threads: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .params()
    .unwrap();
    let r = depth::run(&p, &e, &Quiet).unwrap();
    (p, r)
}

/// Issue 14: the smallest flip over its linear prediction, recomputed from the attack's own
/// per-trial records at each depth's parameters: per network `best_rho / (rho / 2)`, with
/// `rho = 2 |f| / (||grad f|| ||x||)` the one-step size (MATH 3). Also what must hold of any
/// such ratio: it is positive (a verified flip is never `x` itself, and a live `f(x) != 0`),
/// at most 2 where the one step flipped (the one step is one of the candidates, of size
/// exactly twice the prediction), and the median counting missing flips as infinite is at
/// least the median over the flips. No lower bound of 1: a bent boundary can be nearer than
/// the linearisation's.
#[test]
fn flip_over_linear_is_the_best_flip_over_half_the_one_step_rho() {
    let (p, r) = depth_run(48, "1,3,12", 12);
    for row in &r.rows {
        let a = p.attack(row.depth).unwrap();
        let mut ratios = Vec::new();
        let mut live = 0;
        for t in 0..a.trials as u64 {
            let rec = trial::<f64>(&a, t, Par::Seq);
            if rec.dead || rec.overflow {
                continue;
            }
            live += 1;
            // The trial's linear prediction is |f| / (||grad f|| ||x||), from the carried
            // logarithms (rounding of a few ulps), and half the one-step rho, to the rounding
            // of `||x' - x||` (about 1e-16 relative per coordinate, over rho ~ 0.1).
            let lin = rec.linear_rho;
            let norm_x = vector::norm(&rng::input(a.seed, t, a.arch.d));
            let by_logs = (rec.log2_abs_f - rec.log2_grad_norm).exp2() / norm_x;
            assert!(
                (lin - by_logs).abs() <= 1e-12 * lin,
                "{lin} against {by_logs}"
            );
            assert!(
                (lin - rec.rho / 2.0).abs() <= 1e-12 * lin,
                "depth {} trial {t}: {lin} against rho / 2 = {}",
                row.depth,
                rec.rho / 2.0
            );
            if let Some(best) = rec.best_rho {
                let ratio = best / (rec.rho / 2.0);
                assert!(ratio > 0.0 && ratio.is_finite());
                if rec.success {
                    assert!(ratio <= 2.0 * (1.0 + 1e-12), "one step flipped: {ratio}");
                }
                ratios.push(ratio);
            }
        }
        assert_eq!(live, row.live);
        assert_eq!(ratios.len(), row.flip_found);
        let want = Band::of(&ratios);
        let got = row.flip_over_linear;
        for (g, w) in [
            (got.median, want.median),
            (got.p10, want.p10),
            (got.p90, want.p90),
        ] {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs() || (g.is_nan() && w.is_nan()),
                "depth {}: {got:?} against {want:?}",
                row.depth
            );
        }
        if !ratios.is_empty() {
            assert!(got.p10 <= got.median && got.median <= got.p90);
        }
        if let Some(all) = row.flip_over_linear_median_all {
            assert!(
                all >= got.median,
                "depth {}: {all} < {}",
                row.depth,
                got.median
            );
        }
        // Half the networks or more without a flip leave the censored median undefined.
        assert_eq!(
            row.flip_over_linear_median_all.is_some(),
            row.min_flip_median_all.is_some()
        );
    }
}

/// Issue 14: one hidden layer of width 256 is near-linear around `x` at the scale of its
/// smallest flip, so that flip is its linear prediction up to a small relative error.
/// Heuristic size of the error: moving `x` by `t` (relative `t / sqrt(d)`) switches about
/// `k t / sqrt(d)` units, each changing `f` by about `sqrt(2/k) sqrt(2/d) t` with a random
/// sign, so `f` leaves its linearisation by about `t^(3/2) d^(-3/4)` against `|f| ~ t`: the
/// ratio is `1 + O(d^(-3/4))` (0.016 at `d = 256`). Tolerance: 4 standard errors of the
/// median, from the 10-90% spread over the networks (a normal's spread is 2.563 standard
/// deviations; a median's standard error is 1.2533 sd / sqrt(n)), plus `d^(-3/4)` for that
/// finite-size offset. Measured over 2000 networks: median 1.0030, 10-90% [0.9911, 1.0299].
#[test]
fn at_depth_one_the_smallest_flip_is_near_its_linear_prediction() {
    let (p, r) = depth_run(256, "1", 64);
    let row = &r.rows[0];
    assert_eq!(row.flip_found, row.live);
    let b = row.flip_over_linear;
    let se = 1.2533 * (b.p90 - b.p10) / 2.5631 / (row.flip_found as f64).sqrt();
    let tol = 4.0 * se + (p.d as f64).powf(-0.75);
    assert!(
        (b.median - 1.0).abs() <= tol,
        "median {} against 1 (band {b:?}, tolerance {tol})",
        b.median
    );
    // Sharp enough to catch the one-step size (ratio 1/2) or a flip twice too far.
    assert!(tol < 0.05, "tolerance {tol} too loose");
    assert_eq!(row.flip_over_linear_median_all, Some(b.median));
}
