//! Products with the Jacobians of the layers at a fixed activation pattern (MATH 2, 4, 5).
//!
//! With the masks `D_k` of an input frozen, `h_i` is linear near it:
//! `J_i = D_i W_i ... D_1 W_1`. These products give the exact local expansion of every layer
//! (MATH 5, power iteration on `J_i^T J_i`) and the telescoped gradient difference GD-DECOMP
//! (MATH 4), where each column of a batch may carry the masks of a different input.

use faer::{MatMut, MatRef, Par};

use super::{Layers, Trace};
use crate::scalar::Real;

/// Zeroes, in each column `b` of `buf` (`d_i` rows), the units that are off at layer `i` for
/// the trace column `col(b)`.
pub fn apply_masks<T: Real>(
    buf: &mut [T],
    trace: &Trace<T>,
    i: usize,
    col: impl Fn(usize) -> usize,
) {
    let d = trace.dims[i];
    for (b, column) in buf.chunks_exact_mut(d).enumerate() {
        let c = col(b);
        for (j, v) in column.iter_mut().enumerate() {
            if !trace.on(i, c, j) {
                *v = T::ZERO;
            }
        }
    }
}

/// `J_i V` for every layer `i = 1..=l`, with the masks of trace column `col`; `v` is `d_0 x B`
/// column-major. Returns `out[i - 1]`, `d_i x B`.
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
        apply_masks(&mut dst, trace, i, |_| col);
        out.push(dst);
    }
    out
}

/// `sum_i J_i^T U_i` column by column, with the masks of trace column `col`: `inject[i - 1]`
/// is `U_i` (`d_i x B`) or empty for none. Returns `d_0 x B`.
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
        apply_masks(&mut g, trace, i, |_| col);
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

/// Top singular value of `J_i` for every layer `i` at trace column `col`, by power iteration on
/// `J_i^T J_i` (one masked forward and one masked backward product per step for all layers at
/// once), started from the columns of `start` (`d_0 x l`, one per layer). Stops when every
/// estimate changes by less than `rel_tol` relative, or after `max_iter` steps.
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
    let mut v: Vec<f64> = start;
    normalise_columns(&mut v, d);
    let mut sigma = vec![0.0f64; l];
    for _ in 0..max_iter {
        let vt: Vec<T> = v.iter().map(|&a| T::from_f64(a)).collect();
        let ys = jvp_all(net, trace, col, &vt, par);
        // Keep J_i v_i for column i - 1 only.
        let inject: Vec<Vec<T>> = (1..=l)
            .map(|i| {
                let mut u = vec![T::ZERO; dims[i] * l];
                let c = i - 1;
                u[c * dims[i]..(c + 1) * dims[i]]
                    .copy_from_slice(&ys[i - 1][c * dims[i]..(c + 1) * dims[i]]);
                u
            })
            .collect();
        let w = vjp_inject(net, trace, col, &inject, l, par);
        let mut w: Vec<f64> = w.iter().map(|a| a.to_f64()).collect();
        // ||J_i^T J_i v|| -> sigma^2 for unit v.
        let norms = normalise_columns(&mut w, d);
        let new: Vec<f64> = norms.iter().map(|n| n.sqrt()).collect();
        let done = new
            .iter()
            .zip(&sigma)
            .all(|(a, b)| (a - b).abs() <= rel_tol * a.abs());
        sigma = new;
        v = w;
        if done {
            break;
        }
    }
    sigma
}

/// Scales each column of `v` (`rows` rows) to unit norm; returns the norms (a zero column is
/// left as is).
fn normalise_columns(v: &mut [f64], rows: usize) -> Vec<f64> {
    v.chunks_exact_mut(rows)
        .map(|c| {
            let n = c.iter().map(|a| a * a).sum::<f64>().sqrt();
            if n > 0.0 {
                c.iter_mut().for_each(|a| *a /= n);
            }
            n
        })
        .collect()
}
