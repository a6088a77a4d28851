//! Min-Pert (MATH 7, paper Appendix D, Figure 1): the smallest perturbation that brings every
//! pre-activation of one hidden layer to zero,
//!
//! ```text
//! min ||delta||  s.t.  W_1 (x - delta) = 0,   ||delta*|| = ||W_1^+ W_1 x||,
//! ```
//!
//! the norm of the projection of `x` onto the row space of `W_1` (`k x d`). Two exact methods:
//! `qr`, the literal thin QR of `W_1^T` with `Q^T x` applied as Householder reflectors, and
//! `gram`, a Cholesky factor `L` of `W_1 W_1^T`, of which only the lower triangle is formed
//! (`||P x|| = ||L^{-1} W_1 x||`, about half the flops). For `k >= d` the row space is all of
//! `R^d` exactly when `W_1` has full column rank; `gram` then factors `W_1^T W_1` to check that
//! rank (failing loudly if it is singular) and returns `||x|| / ||x||`: `P = I` there, and
//! solving with the Gram matrix would only add its condition number (`~d^2` for square `W_1`)
//! times the rounding error. `qr` computes `||Q^T x||` with an orthogonal `Q`, 1 to rounding.
//!
//! Every factorisation runs sequentially, so the bits of a result never depend on the thread
//! count (faer's parallel algorithms split their work, and so their sums, by the number of
//! threads they are told); `radex minpert` runs its runs in parallel instead. A fixed 8-way
//! split inside each run, nested in the parallel runs, was measured 48% slower on 2 cores
//! (Figure 1 at `d = 10^4`: 185 s against 124 s).

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::BlockStructure;
use faer::{Accum, Conj, Mat, MatMut, MatRef, Par};

use crate::choice::Choice;

/// How Min-Pert is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Thin QR of `W_1^T` (Householder), then `||Q^T x||`.
    Qr,
    /// Cholesky of the Gram matrix, then one triangular solve.
    Gram,
}

impl Choice for Method {
    const FLAG: &'static str = "--method";
    const ALL: &'static [(&'static str, Self)] = &[("qr", Method::Qr), ("gram", Method::Gram)];
}

/// `||W^+ W x|| / ||x||` for `w` of shape `k x d`, bitwise the same on any thread count. `None`
/// if the Gram matrix is not positive definite (rank-deficient `W`, probability 0 for Gaussian
/// weights).
pub fn min_pert(w: MatRef<'_, f64>, x: &[f64], method: Method) -> Option<f64> {
    let par = Par::Seq;
    let (k, d) = (w.nrows(), w.ncols());
    assert_eq!(x.len(), d, "x has {} entries, expected d = {d}", x.len());
    let nx = crate::vector::norm(x);
    let xm = MatRef::from_column_major_slice(x, d, 1);
    let proj = match method {
        Method::Qr => {
            let mut a = w.transpose().to_owned();
            let m = k.min(d);
            let bs = faer::linalg::qr::no_pivoting::factor::recommended_block_size::<f64>(d, k);
            let mut coeff = Mat::<f64>::zeros(bs, m);
            let mut y = xm.to_owned();
            let req = faer::linalg::qr::no_pivoting::factor::qr_in_place_scratch::<f64>(
                d,
                k,
                bs,
                par,
                Default::default(),
            )
            .or(faer::linalg::householder::apply_block_householder_sequence_transpose_on_the_left_in_place_scratch::<f64>(d, bs, 1));
            let mut mem = MemBuffer::new(req);
            let stack = MemStack::new(&mut mem);
            faer::linalg::qr::no_pivoting::factor::qr_in_place(
                a.as_mut(),
                coeff.as_mut(),
                par,
                stack,
                Default::default(),
            );
            faer::linalg::householder::apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj(
                a.as_ref().subcols(0, m),
                coeff.as_ref(),
                Conj::No,
                y.as_mut(),
                par,
                stack,
            );
            (0..m).map(|i| y[(i, 0)] * y[(i, 0)]).sum::<f64>().sqrt()
        }
        Method::Gram => {
            let (n, lhs, rhs) = if k < d {
                (k, w, w.transpose())
            } else {
                (d, w.transpose(), w)
            };
            // Only the lower triangle: Cholesky reads nothing else, and it halves the flops.
            let mut g = Mat::<f64>::zeros(n, n);
            faer::linalg::matmul::triangular::matmul(
                g.as_mut(),
                BlockStructure::TriangularLower,
                Accum::Replace,
                lhs,
                BlockStructure::Rectangular,
                rhs,
                BlockStructure::Rectangular,
                1.0,
                par,
            );
            let req = faer::linalg::cholesky::llt::factor::cholesky_in_place_scratch::<f64>(
                n,
                par,
                Default::default(),
            );
            let mut mem = MemBuffer::new(req);
            faer::linalg::cholesky::llt::factor::cholesky_in_place(
                g.as_mut(),
                Default::default(),
                par,
                MemStack::new(&mut mem),
                Default::default(),
            )
            .ok()?;
            if k < d {
                // y = W x, ||L^{-1} y||.
                let mut y = Mat::<f64>::zeros(k, 1);
                matmul(y.as_mut(), Accum::Replace, w, xm, 1.0, par);
                solve_lower(g.as_ref(), y.as_mut(), par);
                (0..k).map(|i| y[(i, 0)] * y[(i, 0)]).sum::<f64>().sqrt()
            } else {
                // Full column rank (the factorisation succeeded): the row space is R^d.
                nx
            }
        }
    };
    Some(proj / nx)
}

fn solve_lower(l: MatRef<'_, f64>, rhs: MatMut<'_, f64>, par: Par) {
    faer::linalg::triangular_solve::solve_lower_triangular_in_place(l, rhs, par);
}

/// `ln Gamma(x)` for `x > 0` (Lanczos approximation, g = 7, 9 terms; relative error ~1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let mut a = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Exact `E ||delta*|| / ||x||` (MATH 7): for `k < d`, `(||delta*|| / ||x||)^2 ~
/// Beta(k/2, (d-k)/2)`, so `E sqrt(B) = B(k/2 + 1/2, (d-k)/2) / B(k/2, (d-k)/2)`; 1 for `k >= d`.
pub fn beta_expectation(k: usize, d: usize) -> f64 {
    if k >= d {
        return 1.0;
    }
    let (a, b) = (k as f64 / 2.0, (d - k) as f64 / 2.0);
    (ln_gamma(a + 0.5) + ln_gamma(a + b) - ln_gamma(a) - ln_gamma(a + b + 0.5)).exp()
}

/// Its variance `k/d - E^2` (for `k < d`; 0 otherwise), for standard errors.
pub fn beta_variance(k: usize, d: usize) -> f64 {
    if k >= d {
        return 0.0;
    }
    let m = beta_expectation(k, d);
    k as f64 / d as f64 - m * m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_and_beta() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        // k = 1, d = 2: B ~ Beta(1/2, 1/2) (arcsine), E sqrt(B) = 2 / pi.
        assert!((beta_expectation(1, 2) - 2.0 / std::f64::consts::PI).abs() < 1e-13);
        // k = 2, d = 4: Beta(1, 1) uniform, E sqrt(U) = 2/3.
        assert!((beta_expectation(2, 4) - 2.0 / 3.0).abs() < 1e-13);
        assert_eq!(beta_expectation(10, 10), 1.0);
    }
}
