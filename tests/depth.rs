//! Depth (MATH 6): the empirical layer-wise cosine follows the kappa iteration at large width,
//! and `radex depth` reports what it documents.

use crate::cli::{radex, rejects};
use faer::{MatRef, Par};
use radex::arch::{Arch, Init};
use radex::measure::depth::{at_angle, kappa_iterates, layer_cosines, pair_stream};
use radex::net::{DenseNet, forward};
use radex::rng;

/// Mean and standard error of the cosine at each layer over `n` He networks of width `k`.
fn cosines(k: usize, depth: usize, theta: f64, n: u64, seed: u64) -> Vec<(f64, f64)> {
    let arch = Arch::new(k, vec![k; depth], Init::He).unwrap();
    let mut per_layer = vec![Vec::new(); depth];
    for t in 0..n {
        let mut net = DenseNet::<f64>::sample(&arch, seed, t);
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
