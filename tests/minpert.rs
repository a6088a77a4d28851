//! Min-Pert (MATH 7): the two exact methods agree, and the mean follows the Beta law.

use faer::MatRef;
use radex::experiment::minpert::{MinPertParams, run};
use radex::experiment::runner::Exec;
use radex::measure::minpert::{Method, beta_expectation, beta_variance, min_pert};
use radex::progress::Quiet;
use radex::rng;

#[test]
fn gram_and_qr_agree() {
    for (k, d) in [(5, 300), (60, 200), (150, 160), (400, 120), (1, 50)] {
        for trial in 0..3 {
            let mut w = vec![0.0f64; k * d];
            rng::fill_gaussian(&mut w, 1.0, 40 + k as u64, trial, 1);
            let x = rng::input(40, trial, d);
            let wm = MatRef::from_column_major_slice(&w, k, d);
            let q = min_pert(wm, &x, Method::Qr).unwrap();
            let g = min_pert(wm, &x, Method::Gram).unwrap();
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
    let r = run(&p, &Exec::new(0, None), &Quiet);
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
        assert!((row.sqrt_k_over_d - (row.k.min(400) as f64 / 400.0).sqrt()).abs() < 1e-15);
    }
}

/// Issue 11, defect 4: at `k >= d` gram was up to 2.1e-7 from 1 (the Gram solve multiplies the
/// rounding error by the condition number); now both methods give 1 to rounding, and the
/// `sqrt(k/d)` column never exceeds 1.
#[test]
fn minpert_gram_at_k_equal_d_is_one_to_rounding() {
    for (k, d) in [(300, 300), (299, 300), (450, 300)] {
        for method in [Method::Gram, Method::Qr] {
            let p = MinPertParams {
                d,
                ks: vec![k],
                runs: 20,
                seed: 4,
                method,
            };
            let r = run(&p, &Exec::new(0, None), &Quiet);
            let row = &r.rows[0];
            assert!(row.sqrt_k_over_d <= 1.0);
            if k >= d {
                for v in &row.values {
                    // An orthogonal Q of order d keeps norms to about sqrt(d) u.
                    assert!((v - 1.0).abs() <= 1e-13, "{method:?} k {k} d {d}: {v}");
                }
            }
        }
    }
}

/// Issue 11, defect 3: the factorisations split their work the same way on any number of
/// threads, so the bits do not change with the pool.
#[test]
fn minpert_is_bitwise_the_same_on_any_thread_count() {
    let (k, d) = (700, 500);
    let mut w = vec![0.0f64; k * d];
    rng::fill_gaussian(&mut w, 1.0, 9, 0, 1);
    let x = rng::input(9, 0, d);
    let wm = MatRef::from_column_major_slice(&w, k, d);
    for kk in [k, 499, 200] {
        let sub = wm.subrows(0, kk);
        for method in [Method::Gram, Method::Qr] {
            let on = |threads: usize| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| min_pert(sub, &x, method).unwrap())
            };
            let one = on(1);
            for t in [2, 3] {
                assert_eq!(
                    one.to_bits(),
                    on(t).to_bits(),
                    "{method:?} k {kk} threads {t}"
                );
            }
        }
    }
}
