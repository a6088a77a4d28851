//! Products with the Jacobians of the layers at a fixed activation pattern (MATH 2, 4, 5, and
//! MATH 9-10 for any activation).
//!
//! With the derivatives `D_k = diag(phi'(z_k))` of an input frozen, `h_i` is linear near it:
//! `J_i = D_i W_i ... D_1 W_1` (biases shift `z_k` but do not enter the products). These
//! products give the exact local expansion of every layer (MATH 5, power iteration on
//! `J_i^T J_i`) and the telescoped gradient difference GD-DECOMP (MATH 4), where each column of
//! a batch may carry the derivatives of a different input.
//!
//! Scales: for relu the `D_k` are the 0/1 masks read from the activations (bitwise the
//! products of the paper-only radex); for any other activation they are `phi'` of the stored
//! pre-activations. These are exact numbers except for `square` in a rescaled pass, whose
//! `phi'(z) = 2 z` is stored in the scale of `h_{k-1}`: its mantissas carry the exponent
//! [`derivative_log2`], which callers add (as the backward pass of [`super::trace`] does).

use faer::{MatMut, MatRef, Par};

use super::trace::tanh_slope;
use super::{Layers, Trace};
use crate::act::Act;
use crate::scalar::Real;
use crate::vector::dot;

/// The exponent that the mantissas of `D_i(x_b)` applied by [`apply_derivative`] carry:
/// `trace.log2[i - 1][b]` for `square` in a rescaled pass (`phi'(z) = 2 z`, `z_i` stored in the
/// scale of `h_{i-1}`), 0 otherwise (`phi'` of a degree-1 activation is scale-free, and an
/// unscaled pass stores true values).
pub fn derivative_log2<T: Real>(trace: &Trace<T>, i: usize, b: usize) -> i64 {
    if trace.rescaled && trace.act.degree() == Some(2) {
        trace.log2[i - 1][b]
    } else {
        0
    }
}

/// Whether the pre-activation `z_i[j]` of input `b` is positive. For relu this is its mask
/// (read from the activations, as the backward pass reads it); for any other activation the
/// sign of the stored pre-activation (`phi(z) > 0` is no test for abs, square or softplus).
#[inline]
pub fn pre_positive<T: Real>(trace: &Trace<T>, i: usize, b: usize, j: usize) -> bool {
    if trace.act == Act::Relu {
        trace.on(i, b, j)
    } else {
        trace.pre[i - 1][b * trace.dims[i] + j] > T::ZERO
    }
}

/// `phi'(z_i[j])` of input `b` as a mantissa (times `2^derivative_log2(trace, i, b)`): relu's
/// 0/1 mask, else `phi'` of the stored pre-activation.
#[inline]
pub fn dphi_at<T: Real>(trace: &Trace<T>, i: usize, b: usize, j: usize) -> f64 {
    if trace.act == Act::Relu {
        if trace.on(i, b, j) { 1.0 } else { 0.0 }
    } else if trace.act == Act::Tanh {
        tanh_slope(trace.acts[i][b * trace.dims[i] + j]).to_f64()
    } else {
        trace
            .act
            .dphi(trace.pre[i - 1][b * trace.dims[i] + j].to_f64())
    }
}

/// Multiplies each column `b` of `buf` (`d_i` rows) by `D_i` of the trace column `col(b)`, as
/// mantissas ([`derivative_log2`] gives their exponent). For relu it zeroes the units that are
/// off; otherwise it multiplies by `phi'` exactly as the backward pass does.
pub fn apply_derivative<T: Real>(
    buf: &mut [T],
    trace: &Trace<T>,
    i: usize,
    col: impl Fn(usize) -> usize,
) {
    let d = trace.dims[i];
    for (b, column) in buf.chunks_exact_mut(d).enumerate() {
        let c = col(b);
        if trace.act == Act::Relu {
            for (j, v) in column.iter_mut().enumerate() {
                if !trace.on(i, c, j) {
                    *v = T::ZERO;
                }
            }
        } else if trace.act == Act::Tanh {
            let h = &trace.acts[i][c * d..(c + 1) * d];
            for (v, hj) in column.iter_mut().zip(h) {
                *v *= tanh_slope(*hj);
            }
        } else {
            let z = &trace.pre[i - 1][c * d..(c + 1) * d];
            for (v, zj) in column.iter_mut().zip(z) {
                *v *= T::from_f64(trace.act.dphi(zj.to_f64()));
            }
        }
    }
}

/// `J_i V` for every layer `i = 1..=l`, with the derivatives of trace column `col`; `v` is
/// `d_0 x B` column-major. Returns `out[i - 1]`, `d_i x B`, as mantissas of exponent
/// `sum_{k <= i} derivative_log2(trace, k, col)` (0 except for square in a rescaled pass).
pub fn jvp_all<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    trace: &Trace<T>,
    col: usize,
    v: &[T],
    par: Par,
) -> Vec<Vec<T>> {
    let dims = &trace.dims;
    let b = v.len() / dims[0];
    let mut out: Vec<Vec<T>> = Vec::with_capacity(dims.len() - 1);
    for i in 1..dims.len() {
        let src = if i == 1 { v } else { &out[i - 2][..] };
        let mut dst = vec![T::ZERO; dims[i] * b];
        net.right(
            i,
            MatRef::from_column_major_slice(src, dims[i - 1], b),
            MatMut::from_column_major_slice_mut(&mut dst, dims[i], b),
            par,
        );
        apply_derivative(&mut dst, trace, i, |_| col);
        out.push(dst);
    }
    out
}

/// `sum_i J_i^T U_i` column by column, with the derivatives of trace column `col`:
/// `inject[i - 1]` is `U_i` (`d_i x B`) or empty for none. Returns `d_0 x B` (mantissas, as in
/// [`jvp_all`]: mixing layers in one column is exact only where their exponents agree).
pub fn vjp_inject<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    trace: &Trace<T>,
    col: usize,
    inject: &[Vec<T>],
    batch: usize,
    par: Par,
) -> Vec<T> {
    let dims = &trace.dims;
    let l = dims.len() - 1;
    let mut g = vec![T::ZERO; dims[l] * batch];
    for i in (1..=l).rev() {
        if !inject[i - 1].is_empty() {
            for (a, &u) in g.iter_mut().zip(&inject[i - 1]) {
                *a += u;
            }
        }
        apply_derivative(&mut g, trace, i, |_| col);
        let mut next = vec![T::ZERO; dims[i - 1] * batch];
        net.left(
            i,
            MatRef::from_column_major_slice(&g, dims[i], batch),
            MatMut::from_column_major_slice_mut(&mut next, dims[i - 1], batch),
            par,
        );
        g = next;
    }
    g
}

/// Top singular value of `J_i` for every layer `i` at trace column `col`: the square root of
/// the top eigenvalue of `J_i^T J_i`, found from its products alone (one forward and one
/// backward product with the frozen `D_k` per step, for all layers at once). The iteration is power
/// iteration's Krylov space searched by Lanczos with full reorthogonalisation: the same
/// products, but the top of a random matrix's spectrum is crowded (relative gap about
/// `n^{-2/3}`), where plain power iteration needs thousands of steps and Lanczos tens. Started
/// from the columns of `start` (`d_0 x l`); stops for a layer once its estimate changes by less
/// than `rel_tol` relative on two successive steps, or the Krylov space is exhausted, or after
/// `max_iter` steps.
pub fn top_singular_values<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    trace: &Trace<T>,
    col: usize,
    start: Vec<f64>,
    rel_tol: f64,
    max_iter: usize,
    par: Par,
) -> Vec<f64> {
    let dims = trace.dims.clone();
    let (d, l) = (dims[0], dims.len() - 1);
    let mut v = start;
    normalise_columns(&mut v, d);
    let mut basis: Vec<Vec<Vec<f64>>> = vec![Vec::new(); l];
    let mut alpha: Vec<Vec<f64>> = vec![Vec::new(); l];
    let mut beta: Vec<Vec<f64>> = vec![Vec::new(); l];
    let mut theta = vec![0.0f64; l];
    let mut calm = vec![0usize; l];
    let mut done = vec![false; l];
    for _ in 0..max_iter.min(d) {
        for i in 0..l {
            if !done[i] {
                basis[i].push(v[i * d..(i + 1) * d].to_vec());
            }
        }
        // w_i = J_i^T J_i v_i for every layer at once.
        let vt: Vec<T> = v.iter().map(|&a| T::from_f64(a)).collect();
        let ys = jvp_all(net, trace, col, &vt, par);
        let inject: Vec<Vec<T>> = (1..=l)
            .map(|i| {
                let mut u = vec![T::ZERO; dims[i] * l];
                let c = i - 1;
                u[c * dims[i]..(c + 1) * dims[i]]
                    .copy_from_slice(&ys[i - 1][c * dims[i]..(c + 1) * dims[i]]);
                u
            })
            .collect();
        let w: Vec<f64> = vjp_inject(net, trace, col, &inject, l, par)
            .iter()
            .map(|a| a.to_f64())
            .collect();
        for i in 0..l {
            if done[i] {
                continue;
            }
            let mut wi = w[i * d..(i + 1) * d].to_vec();
            let vi = basis[i].last().unwrap();
            let a = dot(&wi, vi);
            alpha[i].push(a);
            // Full reorthogonalisation, twice (classical Gram-Schmidt, as in MATH 8).
            for _ in 0..2 {
                for q in &basis[i] {
                    let c = dot(&wi, q);
                    wi.iter_mut().zip(q).for_each(|(x, y)| *x -= c * y);
                }
            }
            let b = dot(&wi, &wi).sqrt();
            let new = top_eigenvalue_tridiagonal(&alpha[i], &beta[i]);
            calm[i] = if (new - theta[i]).abs() <= rel_tol * new {
                calm[i] + 1
            } else {
                0
            };
            theta[i] = new;
            if calm[i] >= 2 || b <= 1e-13 * new.abs().max(f64::MIN_POSITIVE) {
                done[i] = true;
                continue;
            }
            beta[i].push(b);
            wi.iter_mut().for_each(|x| *x /= b);
            v[i * d..(i + 1) * d].copy_from_slice(&wi);
        }
        if done.iter().all(|&x| x) {
            break;
        }
    }
    // Each column of the products stays within one layer, so the mantissas are J_i's up to
    // the exponent its D_k carry.
    let mut e = 0i64;
    theta
        .iter()
        .enumerate()
        .map(|(i, t)| {
            e += derivative_log2(trace, i + 1, col);
            crate::net::trace::ldexp(t.max(0.0).sqrt(), e)
        })
        .collect()
}

/// Largest eigenvalue of the symmetric tridiagonal matrix with diagonal `a` and off-diagonal
/// `b` (`b.len() >= a.len() - 1`; extra entries are ignored), by bisection on the Sturm
/// sequence count, to full precision.
pub fn top_eigenvalue_tridiagonal(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len();
    let off = |k: usize| if k < n - 1 { b[k].abs() } else { 0.0 };
    // Gershgorin bounds.
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (k, &ak) in a.iter().enumerate() {
        let r = off(k) + if k > 0 { off(k - 1) } else { 0.0 };
        lo = lo.min(ak - r);
        hi = hi.max(ak + r);
    }
    // Number of eigenvalues below x.
    let below = |x: f64| {
        let mut count = 0;
        let mut q = 1.0f64;
        for (k, &ak) in a.iter().enumerate() {
            let prev = if k > 0 { off(k - 1).powi(2) / q } else { 0.0 };
            q = ak - x - prev;
            if q == 0.0 {
                q = -f64::EPSILON * (x.abs() + 1.0);
            }
            if q < 0.0 {
                count += 1;
            }
        }
        count
    };
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if below(mid) == n {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// Scales each column of `v` (`rows` rows) to unit norm; returns the norms (a zero column is
/// left as is).
fn normalise_columns(v: &mut [f64], rows: usize) -> Vec<f64> {
    v.chunks_exact_mut(rows)
        .map(|c| {
            let n = crate::vector::norm(c);
            if n > 0.0 {
                c.iter_mut().for_each(|a| *a /= n);
            }
            n
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::top_eigenvalue_tridiagonal;

    #[test]
    fn tridiagonal_top_eigenvalue() {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3.
        assert!((top_eigenvalue_tridiagonal(&[2.0, 2.0], &[1.0]) - 3.0).abs() < 1e-13);
        // The path graph's Laplacian-like [2 -1; -1 2 -1; ...], n = 5: 2 + 2 cos(pi / 6).
        let a = [2.0; 5];
        let b = [-1.0; 4];
        let exact = 2.0 + 2.0 * (std::f64::consts::PI / 6.0).cos();
        assert!((top_eigenvalue_tridiagonal(&a, &b) - exact).abs() < 1e-13);
        assert_eq!(top_eigenvalue_tridiagonal(&[4.5], &[]), 4.5);
    }
}
