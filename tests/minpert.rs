//! Min-Pert (MATH 7): the two exact methods agree, and the mean follows the Beta law.

use faer::{MatRef, Par};
use radex::experiment::minpert::{MinPertParams, run};
use radex::experiment::runner::Exec;
use radex::measure::minpert::{Method, beta_expectation, beta_variance, min_pert};
use radex::report::progress::Progress;
use radex::rng;

#[test]
fn gram_and_qr_agree() {
    for (k, d) in [(5, 300), (60, 200), (150, 160), (400, 120), (1, 50)] {
        for trial in 0..3 {
            let mut w = vec![0.0f64; k * d];
            rng::fill_gaussian(&mut w, 1.0, 40 + k as u64, trial, 1);
            let x = rng::input(40, trial, d);
            let wm = MatRef::from_column_major_slice(&w, k, d);
            let q = min_pert(wm, &x, Method::Qr, Par::Seq).unwrap();
            let g = min_pert(wm, &x, Method::Gram, Par::Seq).unwrap();
            assert!((q - g).abs() <= 1e-8 * q, "k {k} d {d}: qr {q} gram {g}");
            if k >= d {
                // The row space is all of R^d: verified, not assumed.
                assert!((q - 1.0).abs() < 1e-12, "k {k} >= d {d}: {q}");
            }
        }
    }
}

#[test]
fn mean_matches_the_beta_expectation() {
    // 200 runs per k: the mean's standard error is sqrt(Var / 200) with Var = k/d - E^2 exact;
    // four of them bound a false alarm at 6e-5 per k.
    let p = MinPertParams {
        d: 400,
        ks: vec![4, 40, 200, 360],
        runs: 200,
        seed: 8,
        method: Method::Gram,
    };
    let r = run(&p, &Exec::new(0, None), &Progress::hidden());
    for row in &r.rows {
        let e = beta_expectation(row.k, p.d);
        let se = (beta_variance(row.k, p.d) / row.runs as f64).sqrt();
        assert!(se > 0.0);
        assert!(
            (row.mean - e).abs() < 4.0 * se,
            "k {}: mean {} vs E {e} (SE {se})",
            row.k,
            row.mean
        );
        assert!((row.sqrt_k_over_d - (row.k as f64 / 400.0).sqrt()).abs() < 1e-15);
    }
}
