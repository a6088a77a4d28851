//! Near-linearity around `x` (MATH 4: GD-DECOMP, Lemmas 2.6 and 2.8).
//!
//! For `y` near `x` the gradient difference telescopes exactly over layers,
//!
//! ```text
//! grad f(x) - grad f(y) = sum_j A_j,
//! A_j = W_{l+1} [D_l(x) W_l ... D_{j+1}(x) W_{j+1}] (D_j(x) - D_j(y)) W_j [D_{j-1}(y) W_{j-1} ... D_1(y) W_1],
//! ```
//!
//! `A_j` being the part of the change caused by the units of layer `j` that changed sign.
//! [`compare`] evaluates the relative change, every `||A_j||` and the residual of the sum (which
//! must be at rounding level), and the fraction of units per layer whose sign differs.

use faer::{MatMut, MatRef, Par};

use crate::net::jacobian::apply_masks;
use crate::net::{Layers, backward, forward};
use crate::scalar::Real;

/// How the gradient at `y` differs from the gradient at `x`, all relative to `||grad f(x)||`.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// `||grad f(x) - grad f(y)|| / ||grad f(x)||`.
    pub rel_change: f64,
    /// `||A_j|| / ||grad f(x)||` for `j = 1..=l` (empty without the decomposition).
    pub terms: Vec<f64>,
    /// `||sum_j A_j - (grad f(x) - grad f(y))|| / ||grad f(x)||` (NaN without it).
    pub residual: f64,
    /// Fraction of the units of layer `j = 1..=l` whose sign differs between `x` and `y`.
    pub flipped: Vec<f64>,
}

/// Rescales `v` so its largest entry lies in `[1, 2)`; returns the exponent (0 for zero).
fn rescale<T: Real>(v: &mut [T]) -> i64 {
    let max = v.iter().fold(0.0f64, |m, a| m.max(a.to_f64().abs()));
    if max == 0.0 || !max.is_finite() {
        return 0;
    }
    let e = max.log2().floor() as i64;
    let s = crate::net::trace::ldexp(1.0, -e);
    v.iter_mut().for_each(|a| *a = T::from_f64(a.to_f64() * s));
    e
}

/// Compares the gradient at `x` with the gradients at each of `ys` (one batched forward and
/// backward pass), and with `decomp` also evaluates GD-DECOMP. Returns `None` if the network is
/// dead at `x`.
pub fn compare<T: Real, N: Layers<T> + ?Sized>(
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
    if trace.dead[0] {
        return None;
    }
    let grad = backward(net, &trace, par);
    let dims = trace.dims.clone();
    let l = dims.len() - 1;
    let gx_norm = grad.norm(0);
    let ex = grad.log2[0];
    // Everything below is in units of ||grad f(x)||.
    let unit = |e: i64| crate::net::trace::ldexp(1.0, e - ex) / gx_norm.mant;
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

    let mut terms = vec![Vec::with_capacity(l); k];
    let mut sums = vec![vec![0.0f64; d]; k];
    if decomp {
        // Backward vectors of x before the mask of layer j:
        // b_l = W_{l+1}^T, b_{j-1} = W_j^T D_j(x) b_j, each rescaled with exponent e_j.
        let mut bvec: Vec<(Vec<T>, i64)> = vec![(Vec::new(), 0); l + 1];
        let mut v = vec![T::ZERO; dims[l]];
        net.left(
            l + 1,
            MatRef::from_column_major_slice(&[T::from_f64(1.0)], 1, 1),
            MatMut::from_column_major_slice_mut(&mut v, dims[l], 1),
            par,
        );
        let mut e = rescale(&mut v);
        bvec[l] = (v, e);
        for j in (2..=l).rev() {
            let mut m = bvec[j].0.clone();
            apply_masks(&mut m, &trace, j, |_| 0);
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
            // Column b: b_j * (D_j(x) - D_j(y_b)).
            let dj = dims[j];
            let mut s = vec![T::ZERO; dj * k];
            for b in 0..k {
                for u in 0..dj {
                    let (on_x, on_y) = (trace.on(j, 0, u), trace.on(j, b + 1, u));
                    if on_x != on_y {
                        s[b * dj + u] = if on_x { bj[u] } else { -bj[u] };
                    }
                }
            }
            // Then W_j^T, and below layer j the masks of y.
            for i in (1..=j).rev() {
                let mut next = vec![T::ZERO; dims[i - 1] * k];
                net.left(
                    i,
                    MatRef::from_column_major_slice(&s, dims[i], k),
                    MatMut::from_column_major_slice_mut(&mut next, dims[i - 1], k),
                    par,
                );
                if i > 1 {
                    apply_masks(&mut next, &trace, i - 1, |b| b + 1);
                }
                s = next;
            }
            let sc = unit(*ej);
            for b in 0..k {
                let col = &s[b * d..(b + 1) * d];
                let mut n2 = 0.0;
                for (acc, a) in sums[b].iter_mut().zip(col) {
                    let v = a.to_f64() * sc;
                    *acc += v;
                    n2 += v * v;
                }
                terms[b].push(n2.sqrt());
            }
        }
    }
    Some(
        (0..k)
            .map(|b| {
                let rel_change = crate::vector::norm(&diffs[b]);
                let residual = if decomp {
                    diffs[b]
                        .iter()
                        .zip(&sums[b])
                        .map(|(a, s)| (a - s) * (a - s))
                        .sum::<f64>()
                        .sqrt()
                } else {
                    f64::NAN
                };
                let flipped = (1..=l)
                    .map(|i| {
                        let n = (0..dims[i])
                            .filter(|&u| trace.on(i, 0, u) != trace.on(i, b + 1, u))
                            .count();
                        n as f64 / dims[i] as f64
                    })
                    .collect();
                Comparison {
                    rel_change,
                    terms: std::mem::take(&mut terms[b]),
                    residual,
                    flipped,
                }
            })
            .collect(),
    )
}
