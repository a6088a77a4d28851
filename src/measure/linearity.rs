//! Near-linearity around `x` (MATH 4: GD-DECOMP, Lemmas 2.6 and 2.8; MATH 9-10 for any network
//! of the general family).
//!
//! For `y` near `x` the gradient difference telescopes exactly over layers,
//!
//! ```text
//! grad m(x) - grad m(y) = sum_j A_j,
//! A_j = s(x)^T W_{l+1} [D_l(x) W_l ... D_{j+1}(x) W_{j+1}] (D_j(x) - D_j(y)) W_j [D_{j-1}(y) W_{j-1} ... D_1(y) W_1],
//! ```
//!
//! with `D_i = diag(phi'(z_i))` (relu: the 0/1 masks of the paper), `A_j` being the part of the
//! change caused by the derivatives of layer `j`. The scalar `m` is `f` for one output and, for
//! `K >= 2`, the margin `F_y - F_{j*}` against the label `y` of `x` at every point (MATH 9), whose
//! seed `s = e_y - e_{j*}` changes where the runner-up `j*` does: then the output term
//! `A_{l+1} = (s(x) - s(y))^T W_{l+1} D_l(y) W_l ... D_1(y) W_1` keeps the sum exact.
//! [`compare`] evaluates the relative change, every `||A_j||` and the residual of the sum (which
//! must be at rounding level), and the fraction of units per layer whose pre-activation `z_i`
//! changed sign (for relu, leaky and abs the units whose `phi'` changed; for a smooth activation
//! every `phi'` moves a little, and the sign of `z` marks the units that crossed its bend).

use faer::{MatMut, MatRef, Par};

use crate::act::Act;
use crate::net::jacobian::{apply_derivative, derivative_log2, dphi_at, pre_positive};
use crate::net::trace::ldexp;
use crate::net::{Labelled, Layers, Trace, backward, forward};
use crate::scalar::Real;

/// How the gradient at `y` differs from the gradient at `x`, all relative to `||grad m(x)||`.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// `||grad m(x) - grad m(y)|| / ||grad m(x)||` (NaN where the unscaled pass overflowed at
    /// `y`, MATH 9).
    pub rel_change: f64,
    /// `||A_j|| / ||grad m(x)||` for `j = 1..=l`, and for `K >= 2` the output term `j = l + 1`
    /// (0 unless the runner-up changed); empty without the decomposition.
    pub terms: Vec<f64>,
    /// `||sum_j A_j - (grad m(x) - grad m(y))|| / ||grad m(x)||` (NaN without it).
    pub residual: f64,
    /// Fraction of the units of layer `j = 1..=l` whose pre-activation has a different sign at
    /// `x` and `y`.
    pub flipped: Vec<f64>,
    /// `K >= 2`: the runner-up `j*` at `y` differs from the one at `x` (false for `K = 1`).
    pub runner_changed: bool,
}

/// Rescales `v` so its largest entry lies in `[1, 2)`; returns the exponent (0 for zero).
fn rescale<T: Real>(v: &mut [T]) -> i64 {
    let max = v.iter().fold(0.0f64, |m, a| m.max(a.to_f64().abs()));
    if max == 0.0 || !max.is_finite() {
        return 0;
    }
    let e = max.log2().floor() as i64;
    let s = ldexp(1.0, -e);
    v.iter_mut().for_each(|a| *a = T::from_f64(a.to_f64() * s));
    e
}

/// `s^T W_top D_{top-1}(y_b) W_{top-1} ... D_1(y_b) W_1` for each column `b` of `s`
/// (`rows(top) x k`), with the derivatives of trace column `b + 1`; every column is rescaled
/// after each layer, its exponent added to `exps[b]`. Returns `d_0 x k` mantissas.
fn down_at_y<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    trace: &Trace<T>,
    mut s: Vec<T>,
    top: usize,
    exps: &mut [i64],
    par: Par,
) -> Vec<T> {
    let dims = &trace.dims;
    let k = exps.len();
    let rows = |i: usize| {
        if i < dims.len() {
            dims[i]
        } else {
            trace.outputs
        }
    };
    for i in (1..=top).rev() {
        let mut next = vec![T::ZERO; dims[i - 1] * k];
        net.left(
            i,
            MatRef::from_column_major_slice(&s, rows(i), k),
            MatMut::from_column_major_slice_mut(&mut next, dims[i - 1], k),
            par,
        );
        if i > 1 {
            apply_derivative(&mut next, trace, i - 1, |b| b + 1);
            for (b, (col, e)) in next
                .chunks_exact_mut(dims[i - 1])
                .zip(exps.iter_mut())
                .enumerate()
            {
                *e += derivative_log2(trace, i - 1, b + 1) + rescale(col);
            }
        }
        s = next;
    }
    s
}

/// Compares the gradient at `x` with the gradients at each of `ys` (one batched forward and
/// backward pass), and with `decomp` also evaluates GD-DECOMP. For `K >= 2` the scalar at every
/// point is the margin against the label of `x` (or the network's own [`Layers::label`]).
/// Returns `None` if the network is dead at `x` or its unscaled pass overflowed there.
pub fn compare<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    ys: &[Vec<f64>],
    decomp: bool,
    par: Par,
) -> Option<Vec<Comparison>> {
    if net.arch().outputs() >= 2 && net.label().is_none() {
        let xt: Vec<T> = x.iter().map(|&a| T::from_f64(a)).collect();
        let tr = forward(net, MatRef::from_column_major_slice(&xt, x.len(), 1), par);
        if tr.dead[0] || tr.overflow[0] {
            return None;
        }
        let label = tr.label[0];
        return compare_labelled(&mut Labelled { net, label }, x, ys, decomp, par);
    }
    compare_labelled(net, x, ys, decomp, par)
}

/// [`compare`] once the label (if any) is fixed.
fn compare_labelled<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    ys: &[Vec<f64>],
    decomp: bool,
    par: Par,
) -> Option<Vec<Comparison>> {
    let d = x.len();
    let k = ys.len();
    let batch = k + 1;
    let mut pts = Vec::with_capacity(d * batch);
    pts.extend(x.iter().map(|&a| T::from_f64(a)));
    for y in ys {
        pts.extend(y.iter().map(|&a| T::from_f64(a)));
    }
    let trace = forward(net, MatRef::from_column_major_slice(&pts, d, batch), par);
    if trace.dead[0] || trace.overflow[0] {
        return None;
    }
    let grad = backward(net, &trace, par);
    let dims = trace.dims.clone();
    let l = dims.len() - 1;
    let outputs = trace.outputs;
    let gx_norm = grad.norm(0);
    let ex = grad.log2[0];
    // Everything below is in units of ||grad m(x)||.
    let unit = |e: i64| ldexp(1.0, e - ex) / gx_norm.mant;
    let gx: Vec<f64> = grad.col(0).iter().map(|a| a.to_f64() * unit(ex)).collect();
    let diffs: Vec<Vec<f64>> = (1..=k)
        .map(|b| {
            let s = unit(grad.log2[b]);
            gx.iter()
                .zip(grad.col(b))
                .map(|(a, g)| a - g.to_f64() * s)
                .collect()
        })
        .collect();
    let runner_changed: Vec<bool> = (1..=k)
        .map(|b| outputs >= 2 && trace.runner[b] != trace.runner[0])
        .collect();

    let mut terms = vec![Vec::with_capacity(l + 1); k];
    let mut sums = vec![vec![0.0f64; d]; k];
    // Adds the columns of `s` (mantissas of exponents `exps`) to the sums and their norms to
    // the terms.
    let mut gather = |s: &[T], exps: &[i64]| {
        for b in 0..k {
            let sc = unit(exps[b]);
            let col = &s[b * d..(b + 1) * d];
            let mut n2 = 0.0;
            for (acc, a) in sums[b].iter_mut().zip(col) {
                let v = a.to_f64() * sc;
                *acc += v;
                n2 += v * v;
            }
            terms[b].push(n2.sqrt());
        }
    };
    if decomp {
        // Backward vectors of x before the derivative of layer j:
        // b_l = W_{l+1}^T s(x), b_{j-1} = W_j^T D_j(x) b_j, each rescaled with exponent e_j.
        let mut seed = vec![T::ZERO; outputs];
        if outputs == 1 {
            seed[0] = T::from_f64(1.0);
        } else {
            seed[trace.label[0]] = T::from_f64(1.0);
            seed[trace.runner[0]] = T::from_f64(-1.0);
        }
        let mut bvec: Vec<(Vec<T>, i64)> = vec![(Vec::new(), 0); l + 1];
        let mut v = vec![T::ZERO; dims[l]];
        net.left(
            l + 1,
            MatRef::from_column_major_slice(&seed, outputs, 1),
            MatMut::from_column_major_slice_mut(&mut v, dims[l], 1),
            par,
        );
        let mut e = rescale(&mut v);
        bvec[l] = (v, e);
        for j in (2..=l).rev() {
            let mut m = bvec[j].0.clone();
            apply_derivative(&mut m, &trace, j, |_| 0);
            e += derivative_log2(&trace, j, 0);
            let mut next = vec![T::ZERO; dims[j - 1]];
            net.left(
                j,
                MatRef::from_column_major_slice(&m, dims[j], 1),
                MatMut::from_column_major_slice_mut(&mut next, dims[j - 1], 1),
                par,
            );
            e += rescale(&mut next);
            bvec[j - 1] = (next, e);
        }
        for j in 1..=l {
            let (bj, ej) = &bvec[j];
            // Column b: b_j * (D_j(x) - D_j(y_b)), in a scale common to both derivatives.
            let dj = dims[j];
            let mut s = vec![T::ZERO; dj * k];
            let mut exps = vec![*ej; k];
            for (b, col) in s.chunks_exact_mut(dj).enumerate() {
                if trace.act == Act::Relu {
                    for (u, c) in col.iter_mut().enumerate() {
                        let (on_x, on_y) = (trace.on(j, 0, u), trace.on(j, b + 1, u));
                        if on_x != on_y {
                            *c = if on_x { bj[u] } else { -bj[u] };
                        }
                    }
                } else {
                    let (lx, ly) = (
                        derivative_log2(&trace, j, 0),
                        derivative_log2(&trace, j, b + 1),
                    );
                    let top = lx.max(ly);
                    let (sx, sy) = (ldexp(1.0, lx - top), ldexp(1.0, ly - top));
                    for (u, c) in col.iter_mut().enumerate() {
                        let dd = dphi_at(&trace, j, 0, u) * sx - dphi_at(&trace, j, b + 1, u) * sy;
                        *c = T::from_f64(bj[u].to_f64() * dd);
                    }
                    exps[b] += top;
                }
            }
            // Then W_j^T, and below layer j the derivatives of y.
            let s = down_at_y(net, &trace, s, j, &mut exps, par);
            gather(&s, &exps);
        }
        if outputs >= 2 {
            // The output term: (s(x) - s(y))^T = (e_{j*(y)} - e_{j*(x)})^T, then the
            // derivatives of y all the way down.
            let mut s = vec![T::ZERO; outputs * k];
            for (b, col) in s.chunks_exact_mut(outputs).enumerate() {
                if runner_changed[b] {
                    col[trace.runner[b + 1]] = T::from_f64(1.0);
                    col[trace.runner[0]] = T::from_f64(-1.0);
                }
            }
            let mut exps = vec![0i64; k];
            let s = down_at_y(net, &trace, s, l + 1, &mut exps, par);
            gather(&s, &exps);
        }
    }
    Some(
        (0..k)
            .map(|b| {
                let over = trace.overflow[b + 1];
                let nan_if = |v: f64| if over { f64::NAN } else { v };
                let rel_change = nan_if(crate::vector::norm(&diffs[b]));
                let residual = if decomp {
                    nan_if(
                        diffs[b]
                            .iter()
                            .zip(&sums[b])
                            .map(|(a, s)| (a - s) * (a - s))
                            .sum::<f64>()
                            .sqrt(),
                    )
                } else {
                    f64::NAN
                };
                let flipped = (1..=l)
                    .map(|i| {
                        let n = (0..dims[i])
                            .filter(|&u| {
                                pre_positive(&trace, i, 0, u) != pre_positive(&trace, i, b + 1, u)
                            })
                            .count();
                        n as f64 / dims[i] as f64
                    })
                    .collect();
                Comparison {
                    rel_change,
                    terms: std::mem::take(&mut terms[b])
                        .into_iter()
                        .map(nan_if)
                        .collect(),
                    residual,
                    flipped,
                    runner_changed: runner_changed[b],
                }
            })
            .collect(),
    )
}
