//! The exact forward and backward passes (MATH 1-2, and MATH 9 for the general family) with
//! per-layer rescaling where it is exact.
//!
//! Forward: `z_i = W_i h_{i-1} + b_i`, `h_i = phi(z_i)`, `F = W_{l+1} h_l + b_{l+1}` (`K`
//! outputs), one GEMM per layer for a batch of inputs (the columns). Backward:
//! `grad F_k(x)^T = W_{l+1,k} D_l W_l ... D_1 W_1` with `D_i = diag(phi'(z_i))`, one GEMM per
//! layer; for relu the masks `1[z_i > 0]` are read from the stored activations, for any other
//! activation `phi'` is evaluated at the stored pre-activations. For `K >= 2` the scalar is the
//! margin `F_y - F_{j*}` against a label `y` (the argmax, or [`Layers::label`]) and the runner-up
//! `j*`, and its gradient seeds the backward pass with `e_y - e_{j*}`.
//!
//! Rescaling: after each layer every column is multiplied by a power of two that brings its
//! largest entry into `[1, 2)`, and the exponent is carried. Powers of two are exact in binary
//! floating point, so the mantissas are the very numbers an unscaled pass would give (where that
//! one does not underflow), while a depth-10,000 network stays finite (MATH 1: NN-DEF shrinks
//! `||h_i||` like `2^{-i/2}`). The forward pass is rescaled only for a positively homogeneous
//! activation without biases (MATH 9; for `square` the carried exponent doubles per layer);
//! otherwise it runs unscaled and a column that overflows is flagged as such. The backward pass
//! is linear in the gradient, so it is always rescaled. A column that becomes exactly zero is a
//! dead network, or one that underflowed (MATH 2): it is flagged and never divided by.

use faer::{MatMut, MatRef, Par};
use rayon::prelude::*;

use super::Layers;
use crate::act::Act;
use crate::scalar::Real;
use crate::vector::norm;

/// A real number carried as `mant * 2^log2`, so that it neither underflows nor overflows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaled {
    /// Mantissa (any finite value; zero for a dead network).
    pub mant: f64,
    /// Binary exponent.
    pub log2: i64,
}

/// `m * 2^e` without overflowing the intermediate power.
pub fn ldexp(m: f64, e: i64) -> f64 {
    let mut m = m;
    let mut e = e;
    while e > 1000 {
        m *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        m *= 2f64.powi(-1000);
        e += 1000;
    }
    m * 2f64.powi(e as i32)
}

impl Scaled {
    /// The plain value (underflows to 0 or overflows to inf at extreme depth).
    pub fn value(self) -> f64 {
        ldexp(self.mant, self.log2)
    }
    /// `log2 |value|` (finite unless zero).
    pub fn log2_abs(self) -> f64 {
        self.mant.abs().log2() + self.log2 as f64
    }
    /// True for an exact zero.
    pub fn is_zero(self) -> bool {
        self.mant == 0.0
    }
    /// True for a value that overflowed (MATH 9: reported as such, never as a number).
    pub fn is_overflow(self) -> bool {
        !self.mant.is_finite()
    }
    /// Sign: -1, 0 or 1.
    pub fn sign(self) -> f64 {
        if self.mant > 0.0 {
            1.0
        } else if self.mant < 0.0 {
            -1.0
        } else {
            0.0
        }
    }
    /// Whether the sign differs from that of `f0` (nonzero): a sign flip, counting a landing
    /// on exactly 0 (a dead network, or the boundary itself), since `sign 0 != sign f0`
    /// (MATH 3).
    pub fn flipped_from(self, f0: Scaled) -> bool {
        !self.is_overflow() && self.sign() != f0.sign()
    }
    /// `self / other` as a plain number (both carried scales cancel).
    pub fn ratio(self, other: Scaled) -> f64 {
        ldexp(self.mant / other.mant, self.log2 - other.log2)
    }
}

/// Everything the forward pass of a batch keeps: rescaled activations of every layer (their
/// signs are the masks `D_i`), the carried exponents and the outputs.
#[derive(Clone, Debug)]
pub struct Trace<T> {
    /// Number of inputs (columns).
    pub batch: usize,
    /// `d_0, ..., d_l`.
    pub dims: Vec<usize>,
    /// `acts[i]`: `h_i` rescaled, `d_i x B` column-major; `acts[0]` is the input.
    pub acts: Vec<Vec<T>>,
    /// `h_i[:, b] = acts[i][:, b] * 2^log2[i][b]`.
    pub log2: Vec<Vec<i64>>,
    /// Number of outputs `K`.
    pub outputs: usize,
    /// Output mantissas, `K x B`: `F_k(x_b) = out[k + b K] * 2^log2[l][b]`.
    pub out: Vec<T>,
    /// For `K >= 2`: the label `y` of each column, whose margin [`Trace::f`] reports.
    pub label: Vec<usize>,
    /// For `K >= 2`: the runner-up `j* = argmax_{j != y} F_j` of each column.
    pub runner: Vec<usize>,
    /// `dead[b]`: some `h_i(x_b)` is exactly zero (a dead network, or an underflow of the
    /// unscaled pass), so `f = 0` and `grad f = 0` near `x_b`.
    pub dead: Vec<bool>,
    /// `overflow[b]`: the unscaled pass overflowed (MATH 9); `f` is not a number then.
    pub overflow: Vec<bool>,
    /// The activation (its derivative is the backward pass's `D_i`).
    pub act: Act,
    /// Whether the forward pass carried per-layer exponents (MATH 9: exact only for a
    /// homogeneous activation without biases).
    pub rescaled: bool,
    /// Pre-activations, when asked for ([`forward_keep`]) and always for an activation other
    /// than relu (its derivative needs them): `pre[i - 1]` holds `z_i`, `d_i x B`, in the scale
    /// of `h_{i-1}`: `z_i[:, b] = pre[i - 1][:, b] * 2^log2[i - 1][b]`.
    pub pre: Vec<Vec<T>>,
}

impl<T: Real> Trace<T> {
    /// Number of hidden layers `l`.
    pub fn depth(&self) -> usize {
        self.dims.len() - 1
    }
    /// `f(x_b)` for `K = 1`; the margin `F_y(x_b) - F_{j*}(x_b)` for `K >= 2` (MATH 9). Not a
    /// number where the pass overflowed.
    pub fn f(&self, b: usize) -> Scaled {
        let log2 = self.log2[self.depth()][b];
        let k = self.outputs;
        let mant = if self.overflow[b] {
            f64::NAN
        } else if k == 1 {
            self.out[b].to_f64()
        } else {
            let col = &self.out[b * k..(b + 1) * k];
            col[self.label[b]].to_f64() - col[self.runner[b]].to_f64()
        };
        Scaled { mant, log2 }
    }

    /// `F_k(x_b)` for every output `k`, carried by the column's exponent.
    pub fn outputs_of(&self, b: usize) -> (&[T], i64) {
        let k = self.outputs;
        (&self.out[b * k..(b + 1) * k], self.log2[self.depth()][b])
    }
    /// The rescaled activations `h_i` of the batch, `d_i x B`.
    pub fn act(&self, i: usize) -> MatRef<'_, T> {
        MatRef::from_column_major_slice(&self.acts[i], self.dims[i], self.batch)
    }
    /// Whether unit `j` of layer `i` is on for input `b` (`D_i(x_b)[j]`).
    #[inline]
    pub fn on(&self, i: usize, b: usize, j: usize) -> bool {
        positive(self.acts[i][b * self.dims[i] + j])
    }
    /// `||h_i(x_b)||`, carried.
    pub fn act_norm(&self, i: usize, b: usize) -> Scaled {
        let d = self.dims[i];
        let col = &self.acts[i][b * d..(b + 1) * d];
        Scaled {
            mant: norm(col),
            log2: self.log2[i][b],
        }
    }
}

/// The input gradients of a batch: `grad f(x_b) = g[:, b] * 2^log2[b]`.
#[derive(Clone, Debug)]
pub struct Grad<T> {
    /// `d x B`, column-major, rescaled.
    pub g: Vec<T>,
    /// Carried exponents.
    pub log2: Vec<i64>,
    /// Input dimension.
    pub d: usize,
}

impl<T: Real> Grad<T> {
    /// The rescaled gradient of input `b`.
    pub fn col(&self, b: usize) -> &[T] {
        &self.g[b * self.d..(b + 1) * self.d]
    }
    /// `||grad f(x_b)||`, carried.
    pub fn norm(&self, b: usize) -> Scaled {
        Scaled {
            mant: norm(self.col(b)),
            log2: self.log2[b],
        }
    }
}

/// `v > 0`, false for NaN: the unit is on.
#[inline(always)]
fn positive<T: Real>(v: T) -> bool {
    v > T::ZERO
}

/// What [`finish_columns`] does to an entry before rescaling.
#[derive(Clone, Copy)]
enum Prep<'a, T> {
    /// Nothing.
    None,
    /// `relu`: keep positive entries (forward).
    Relu,
    /// Keep the entries whose unit is on in these activations (backward, `D_i g` for relu).
    Mask(&'a [T]),
    /// Multiply by `phi'` of these pre-activations (backward, `D_i g` for any other `phi`).
    Deriv(Act, &'a [T]),
    /// Multiply by `1 - h^2` of these activations: `tanh' = 1 - tanh^2`, from the stored `h`
    /// in `T` rather than a second `tanh` per entry (which made the f32 pass slower than
    /// numpy's, bench/RESULTS.md).
    Tanh(&'a [T]),
}

/// `tanh'(z)` from `h = tanh(z)`, in `T`: the one formula the backward pass and the Jacobian
/// products of MATH 5 share.
#[inline(always)]
pub fn tanh_slope<T: Real>(h: T) -> T {
    T::from_f64(1.0) - h * h
}

/// One column of [`finish_columns`]: applies `prep`, then rescales so that the largest entry
/// lies in `[1, 2)`. Returns `Some(zero)` if the column is zero or not finite (left as is),
/// else `None` after adding the exponent to `log2`.
#[inline]
fn finish_column<T: Real>(col: &mut [T], prep: Prep<'_, T>, log2: &mut i64) -> Option<bool> {
    // The largest magnitude, taken in T (exact, and the maximum does not depend on the order);
    // NaN entries are skipped as `f64::max` skips them. Eight running maxima, one per lane,
    // and selects rather than branches (the signs are random, so branches mispredict). The
    // compiler still emits scalar code for it (baseline x86-64 target); it costs about 2% of a
    // forward+backward pass.
    let mut lanes = [T::ZERO; 8];
    #[inline(always)]
    fn sel<T: Copy>(c: bool, a: T, b: T) -> T {
        if c { a } else { b }
    }
    #[inline(always)]
    fn step<T: Real>(prep: &Prep<'_, T>, x: &mut T, h: T, m: &mut T) {
        let v = match prep {
            Prep::None => *x,
            Prep::Relu => sel(positive(*x), *x, T::ZERO),
            Prep::Mask(_) => sel(positive(h), *x, T::ZERO),
            Prep::Deriv(act, _) => *x * T::from_f64(act.dphi(h.to_f64())),
            Prep::Tanh(_) => *x * tanh_slope(h),
        };
        *x = v;
        let a = sel(v < T::ZERO, -v, v);
        *m = sel(a > *m, a, *m);
    }
    let n = col.len();
    let (body, tail) = col.split_at_mut(n - n % 8);
    match prep {
        Prep::None => {
            for chunk in body.chunks_exact_mut(8) {
                for j in 0..8 {
                    step(&Prep::None, &mut chunk[j], T::ZERO, &mut lanes[j]);
                }
            }
            for (j, x) in tail.iter_mut().enumerate() {
                step(&Prep::None, x, T::ZERO, &mut lanes[j]);
            }
        }
        Prep::Relu => {
            for chunk in body.chunks_exact_mut(8) {
                for j in 0..8 {
                    step(&Prep::Relu, &mut chunk[j], T::ZERO, &mut lanes[j]);
                }
            }
            for (j, x) in tail.iter_mut().enumerate() {
                step(&Prep::Relu, x, T::ZERO, &mut lanes[j]);
            }
        }
        Prep::Deriv(_, z) | Prep::Tanh(z) => {
            let (z_body, z_tail) = z.split_at(n - n % 8);
            for (chunk, zs) in body.chunks_exact_mut(8).zip(z_body.chunks_exact(8)) {
                for j in 0..8 {
                    step(&prep, &mut chunk[j], zs[j], &mut lanes[j]);
                }
            }
            for (j, (x, h)) in tail.iter_mut().zip(z_tail).enumerate() {
                step(&prep, x, *h, &mut lanes[j]);
            }
        }
        Prep::Mask(on) => {
            let (on_body, on_tail) = on.split_at(n - n % 8);
            for (chunk, hs) in body.chunks_exact_mut(8).zip(on_body.chunks_exact(8)) {
                for j in 0..8 {
                    step(&Prep::Mask(&[]), &mut chunk[j], hs[j], &mut lanes[j]);
                }
            }
            for (j, (x, h)) in tail.iter_mut().zip(on_tail).enumerate() {
                step(&prep, x, *h, &mut lanes[j]);
            }
        }
    }
    let mut max = T::ZERO;
    for m in lanes {
        max = sel(m > max, m, max);
    }
    let max = max.to_f64();
    if max == 0.0 || !max.is_finite() {
        return Some(max == 0.0);
    }
    let e = max.log2().floor() as i64;
    if e != 0 {
        let s = ldexp(1.0, -e);
        let st = T::from_f64(s);
        if st.to_f64() == s && st.to_f64().is_normal() {
            // A normal power of two of T: the product is exact in T as it is in f64.
            for x in col.iter_mut() {
                *x *= st;
            }
        } else {
            for x in col.iter_mut() {
                *x = T::from_f64(x.to_f64() * s);
            }
        }
        *log2 += e;
    }
    None
}

/// Applies `prep` to each column of `buf` (`rows x cols`), then rescales it so its largest
/// entry lies in `[1, 2)`, adding the exponent to `log2`. A column that is entirely zero sets
/// its `zero` flag (one that is not finite clears it and is left unscaled). Columns are
/// independent, so they run in parallel unless `par` is sequential, with the same result.
fn finish_columns<T: Real>(
    buf: &mut [T],
    rows: usize,
    prep: Prep<'_, T>,
    log2: &mut [i64],
    zero: &mut [bool],
    par: Par,
) {
    let one = |(b, (col, (e, z))): (usize, (&mut [T], (&mut i64, &mut bool)))| {
        let prep = match prep {
            Prep::Mask(on) => Prep::Mask(&on[b * rows..(b + 1) * rows]),
            Prep::Deriv(act, z) => Prep::Deriv(act, &z[b * rows..(b + 1) * rows]),
            Prep::Tanh(h) => Prep::Tanh(&h[b * rows..(b + 1) * rows]),
            p => p,
        };
        if let Some(is_zero) = finish_column(col, prep, e) {
            *z = is_zero;
        }
    };
    match par {
        Par::Seq => buf
            .chunks_exact_mut(rows)
            .zip(log2.iter_mut().zip(zero.iter_mut()))
            .enumerate()
            .for_each(one),
        _ => buf
            .par_chunks_exact_mut(rows)
            .zip(log2.par_iter_mut().zip(zero.par_iter_mut()))
            .enumerate()
            .for_each(one),
    }
}

/// Exact batched forward pass of the columns of `x` (`d x B`).
///
/// # Panics
/// If `x` does not have `d` rows.
pub fn forward<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: MatRef<'_, T>,
    par: Par,
) -> Trace<T> {
    forward_keep(net, x, par, false)
}

/// [`forward`], also keeping the pre-activations `z_i` when `keep_pre` (Lemma 2.5 needs them).
pub fn forward_keep<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: MatRef<'_, T>,
    par: Par,
    keep_pre: bool,
) -> Trace<T> {
    let mut trace = Trace::empty();
    forward_into(net, x, par, keep_pre, &mut trace);
    trace
}

/// `v` resized to `n` entries, reusing its storage when large enough (stale values are left
/// for the caller to overwrite); new storage comes from [`crate::mem::zeroed`].
fn fit<T: Real>(v: &mut Vec<T>, n: usize) {
    if v.capacity() < n {
        *v = crate::mem::zeroed(n);
    } else {
        v.truncate(n);
        v.resize(n, T::ZERO);
    }
}

impl<T: Real> Trace<T> {
    /// A trace with no storage, to be filled by [`forward_into`].
    pub fn empty() -> Self {
        Trace {
            batch: 0,
            dims: Vec::new(),
            acts: Vec::new(),
            log2: Vec::new(),
            outputs: 1,
            out: Vec::new(),
            label: Vec::new(),
            runner: Vec::new(),
            dead: Vec::new(),
            overflow: Vec::new(),
            act: Act::Relu,
            rescaled: true,
            pre: Vec::new(),
        }
    }
}

impl<T: Real> Grad<T> {
    /// A gradient with no storage, to be filled by [`backward_into`].
    pub fn empty() -> Self {
        Grad {
            g: Vec::new(),
            log2: Vec::new(),
            d: 0,
        }
    }
}

/// Applies `phi` to every entry of `buf` (columns in parallel unless `par` is sequential).
fn activate<T: Real>(buf: &mut [T], rows: usize, act: Act, par: Par) {
    let one = |col: &mut [T]| match act {
        Act::Tanh => col.iter_mut().for_each(|v| *v = v.tanh_t()),
        _ => col
            .iter_mut()
            .for_each(|v| *v = T::from_f64(act.phi(v.to_f64()))),
    };
    match par {
        Par::Seq => buf.chunks_exact_mut(rows).for_each(one),
        _ => buf.par_chunks_exact_mut(rows).for_each(one),
    }
}

/// Flags the columns of an unscaled pass that are exactly zero (`zero`) or not finite
/// (`overflow`).
fn check_columns<T: Real>(buf: &[T], rows: usize, zero: &mut [bool], overflow: &mut [bool]) {
    for (b, col) in buf.chunks_exact(rows).enumerate() {
        zero[b] |= col.iter().all(|v| *v == T::ZERO);
        overflow[b] |= col.iter().any(|v| !v.to_f64().is_finite());
    }
}

/// Adds the vector `bias` to every column of `buf`.
fn add_bias<T: Real>(buf: &mut [T], bias: &[T]) {
    for col in buf.chunks_exact_mut(bias.len()) {
        col.iter_mut().zip(bias).for_each(|(v, b)| *v += *b);
    }
}

/// The index of the largest entry of `col` other than `skip` (the first on ties; NaN never
/// wins).
fn argmax_except<T: Real>(col: &[T], skip: Option<usize>) -> usize {
    let mut best: Option<usize> = None;
    for (k, v) in col.iter().enumerate() {
        if Some(k) == skip {
            continue;
        }
        if best.is_none_or(|j| *v > col[j]) {
            best = Some(k);
        }
    }
    best.unwrap_or(0)
}

/// [`forward_keep`] into `trace`, reusing its storage: repeated passes of one shape allocate
/// nothing (and touch no fresh pages). The result is the same as [`forward_keep`]'s.
///
/// # Panics
/// If `x` does not have `d` rows.
pub fn forward_into<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: MatRef<'_, T>,
    par: Par,
    keep_pre: bool,
    trace: &mut Trace<T>,
) {
    let arch = net.arch();
    let dims = arch.dims();
    let family = arch.family;
    let k = family.outputs;
    let (act, rescaled) = (family.act, family.rescalable());
    let keep_pre = keep_pre || act != Act::Relu;
    let l = dims.len() - 1;
    let batch = x.ncols();
    assert_eq!(
        x.nrows(),
        dims[0],
        "input has {} rows, expected d = {}",
        x.nrows(),
        dims[0]
    );
    trace.batch = batch;
    trace.act = act;
    trace.rescaled = rescaled;
    trace.outputs = k;
    trace.acts.resize_with(l + 1, Vec::new);
    trace.log2.resize_with(l + 1, Vec::new);
    let acts = &mut trace.acts;
    let log2 = &mut trace.log2;
    fit(&mut acts[0], dims[0] * batch);
    MatMut::from_column_major_slice_mut(&mut acts[0], dims[0], batch).copy_from(x);
    log2[0].clear();
    log2[0].resize(batch, 0);
    let dead = &mut trace.dead;
    dead.clear();
    dead.resize(batch, false);
    let overflow = &mut trace.overflow;
    overflow.clear();
    overflow.resize(batch, false);
    let mut z = vec![false; batch];
    if keep_pre {
        trace.pre.resize_with(l, Vec::new);
    } else {
        trace.pre.clear();
    }
    for i in 1..=l {
        let (done, rest) = acts.split_at_mut(i);
        let h = &mut rest[0];
        fit(h, dims[i] * batch);
        net.right(
            i,
            MatRef::from_column_major_slice(&done[i - 1], dims[i - 1], batch),
            MatMut::from_column_major_slice_mut(h, dims[i], batch),
            par,
        );
        if !rescaled && let Some(b) = net.bias(i) {
            add_bias(h, b);
        }
        if keep_pre {
            trace.pre[i - 1].clone_from(h);
        }
        let (lo, hi) = log2.split_at_mut(i);
        hi[0].clone_from(&lo[i - 1]);
        z.fill(false);
        if act == Act::Relu && rescaled {
            finish_columns(h, dims[i], Prep::Relu, &mut hi[0], &mut z, par);
        } else {
            activate(h, dims[i], act, par);
            if rescaled {
                // phi(2^e t) = 2^(k e) phi(t) for a homogeneous phi of degree k.
                if act.degree() == Some(2) {
                    hi[0].iter_mut().for_each(|e| *e *= 2);
                }
                finish_columns(h, dims[i], Prep::None, &mut hi[0], &mut z, par);
            } else {
                check_columns(h, dims[i], &mut z, overflow);
            }
        }
        for b in 0..batch {
            dead[b] |= z[b];
        }
    }
    let out = &mut trace.out;
    out.clear();
    out.resize(k * batch, T::ZERO);
    net.right(
        l + 1,
        MatRef::from_column_major_slice(&acts[l], dims[l], batch),
        MatMut::from_column_major_slice_mut(out, k, batch),
        par,
    );
    if !rescaled && let Some(b) = net.bias(l + 1) {
        add_bias(out, b);
    }
    if !rescaled {
        // An output of zeros is not a dead network: only the overflow flags are kept.
        z.fill(false);
        check_columns(out, k, &mut z, overflow);
    }
    // A dead column of the rescaled pass (no biases) has zero outputs (an underflow may leave
    // dust); with biases, or unscaled, the outputs computed from a layer of zeros are exact
    // (the biases downstream), and `dead` only says the gradient vanishes.
    for b in 0..batch {
        if dead[b] && rescaled {
            out[b * k..(b + 1) * k].fill(T::ZERO);
        }
    }
    trace.label.clear();
    trace.runner.clear();
    if k >= 2 {
        let fixed = net.label();
        for col in out.chunks_exact(k) {
            let y = fixed.unwrap_or_else(|| argmax_except(col, None));
            trace.label.push(y);
            trace.runner.push(argmax_except(col, Some(y)));
        }
    }
    trace.dims = dims;
}

/// Exact batched input gradients for the inputs of `trace`: one left product per layer.
pub fn backward<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    trace: &Trace<T>,
    par: Par,
) -> Grad<T> {
    let mut grad = Grad::empty();
    backward_into(net, trace, par, &mut grad, &mut Vec::new());
    grad
}

/// `D_i`: the relu mask read from the activations (`relu(z) > 0` exactly when `z > 0`), or
/// `phi'` of the pre-activations.
fn derivative<T: Real>(trace: &Trace<T>, i: usize) -> Prep<'_, T> {
    if trace.act == Act::Relu {
        Prep::Mask(&trace.acts[i])
    } else {
        match trace.act {
            Act::Tanh => Prep::Tanh(&trace.acts[i]),
            act => Prep::Deriv(act, &trace.pre[i - 1]),
        }
    }
}

/// Applies `D_i` to the gradient columns in `buf` and rescales them. For `square` in a
/// rescaled pass, `phi'(z) = 2 z` is linear in `z`, which is stored in the scale of
/// `h_{i-1}`: that exponent joins the gradient's.
fn apply_derivative<T: Real>(
    trace: &Trace<T>,
    i: usize,
    buf: &mut [T],
    log2: &mut [i64],
    zero: &mut [bool],
    par: Par,
) {
    finish_columns(buf, trace.dims[i], derivative(trace, i), log2, zero, par);
    if trace.rescaled && trace.act.degree() == Some(2) {
        log2.iter_mut()
            .zip(&trace.log2[i - 1])
            .for_each(|(g, z)| *g += z);
    }
}

/// [`backward`] into `grad`, with `scratch` as the second buffer of the layer-by-layer
/// ping-pong; both keep their storage between calls. The result is the same as [`backward`]'s.
pub fn backward_into<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    trace: &Trace<T>,
    par: Par,
    grad: &mut Grad<T>,
    scratch: &mut Vec<T>,
) {
    let dims = &trace.dims;
    let l = dims.len() - 1;
    let batch = trace.batch;
    let k = trace.outputs;
    let max = *dims.iter().max().unwrap();
    let mut cur = std::mem::take(&mut grad.g);
    let mut next = std::mem::take(scratch);
    fit(&mut cur, max * batch);
    fit(&mut next, max * batch);
    let log2 = &mut grad.log2;
    log2.clear();
    log2.resize(batch, 0);
    let mut zero_col = vec![false; batch];
    // The seed: 1 for one output, e_y - e_{j*} for the margin of K >= 2.
    let mut seed = vec![T::ZERO; k * batch];
    if k == 1 {
        seed.fill(T::from_f64(1.0));
    } else {
        for (b, col) in seed.chunks_exact_mut(k).enumerate() {
            col[trace.label[b]] = T::from_f64(1.0);
            col[trace.runner[b]] = T::from_f64(-1.0);
        }
    }
    // g_l = D_l W_{l+1}^T seed.
    net.left(
        l + 1,
        MatRef::from_column_major_slice(&seed, k, batch),
        MatMut::from_column_major_slice_mut(&mut cur[..dims[l] * batch], dims[l], batch),
        par,
    );
    apply_derivative(
        trace,
        l,
        &mut cur[..dims[l] * batch],
        log2,
        &mut zero_col,
        par,
    );
    // g_{i-1} = D_{i-1} W_i^T g_i.
    for i in (1..=l).rev() {
        let (m, n) = (dims[i], dims[i - 1]);
        net.left(
            i,
            MatRef::from_column_major_slice(&cur[..m * batch], m, batch),
            MatMut::from_column_major_slice_mut(&mut next[..n * batch], n, batch),
            par,
        );
        let buf = &mut next[..n * batch];
        if i > 1 {
            apply_derivative(trace, i - 1, buf, log2, &mut zero_col, par);
        } else {
            finish_columns(buf, n, Prep::None, log2, &mut zero_col, par);
        }
        std::mem::swap(&mut cur, &mut next);
    }
    cur.truncate(dims[0] * batch);
    for b in 0..batch {
        if trace.dead[b] || trace.overflow[b] {
            cur[b * dims[0]..(b + 1) * dims[0]].fill(T::ZERO);
        }
    }
    grad.g = cur;
    grad.d = dims[0];
    *scratch = next;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unfused passes `finish_columns` replaced: mask or relu, then a rescale computed in
    /// `f64`. The fused, parallel version must give the same bits.
    fn reference<T: Real>(buf: &mut [T], rows: usize, prep: Prep<'_, T>, log2: &mut [i64]) {
        match prep {
            Prep::None => {}
            Prep::Relu => buf.iter_mut().for_each(|v| {
                if !positive(*v) {
                    *v = T::ZERO
                }
            }),
            Prep::Mask(on) => buf.iter_mut().zip(on).for_each(|(v, h)| {
                if !positive(*h) {
                    *v = T::ZERO
                }
            }),
            Prep::Deriv(act, z) => buf
                .iter_mut()
                .zip(z)
                .for_each(|(v, h)| *v *= T::from_f64(act.dphi(h.to_f64()))),
            Prep::Tanh(hs) => buf
                .iter_mut()
                .zip(hs)
                .for_each(|(v, h)| *v *= T::from_f64(1.0) - *h * *h),
        }
        for (b, col) in buf.chunks_exact_mut(rows).enumerate() {
            let max = col.iter().fold(0.0f64, |m, x| m.max(x.to_f64().abs()));
            if max == 0.0 || !max.is_finite() {
                continue;
            }
            let e = max.log2().floor() as i64;
            let s = ldexp(1.0, -e);
            col.iter_mut()
                .for_each(|x| *x = T::from_f64(x.to_f64() * s));
            log2[b] += e;
        }
    }

    fn check<T: Real>() {
        let rows = 37;
        let cols = 9;
        let mut rng = crate::rng::stream(5, 0, crate::rng::Purpose::Direction, 0, 0);
        // Column c has entries of size about 2^(40 c - 175): zero, subnormal, normal and infinite
        // in f32.
        let data: Vec<T> = (0..rows * cols)
            .map(|i| {
                let z: f64 = rand::RngExt::sample(&mut rng, rand_distr::StandardNormal);
                T::from_f64(z * ldexp(1.0, 40 * (i / rows) as i64 - 175))
            })
            .collect();
        let mut on = data.clone();
        on.reverse();
        for prep in [
            Prep::None,
            Prep::Relu,
            Prep::Mask(&on),
            Prep::Deriv(Act::Tanh, &on),
            Prep::Deriv(Act::Square, &on),
            Prep::Tanh(&on),
        ] {
            for par in [Par::Seq, Par::rayon(2)] {
                let mut a = data.clone();
                let mut b = data.clone();
                let mut la = vec![3i64; cols];
                let mut lb = la.clone();
                let mut z = vec![false; cols];
                finish_columns(&mut a, rows, prep, &mut la, &mut z, par);
                reference(&mut b, rows, prep, &mut lb);
                let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&b));
                assert_eq!(la, lb);
            }
        }
    }

    #[test]
    fn passes_into_reused_storage_match_fresh_ones() {
        let arch = crate::arch::Arch::new(40, vec![30, 50], crate::arch::Init::Nn).unwrap();
        let mut net = crate::net::DenseNet::<f64>::sample(&arch, 2, 0);
        let (mut trace, mut grad, mut scratch) = (Trace::empty(), Grad::empty(), Vec::new());
        // Shrinking and growing batches: stale storage must never leak into a result.
        for (t, batch) in [7usize, 3, 9].into_iter().enumerate() {
            let x: Vec<f64> = (0..batch)
                .flat_map(|b| crate::rng::input(t as u64, b as u64, 40))
                .collect();
            let xm = MatRef::from_column_major_slice(&x, 40, batch);
            let fresh = forward_keep(&mut net, xm, Par::Seq, t == 1);
            let g = backward(&mut net, &fresh, Par::Seq);
            forward_into(&mut net, xm, Par::rayon(2), t == 1, &mut trace);
            backward_into(&mut net, &trace, Par::rayon(2), &mut grad, &mut scratch);
            assert_eq!(trace.acts, fresh.acts);
            assert_eq!(trace.log2, fresh.log2);
            assert_eq!(trace.out, fresh.out);
            assert_eq!(trace.dead, fresh.dead);
            assert_eq!(trace.pre, fresh.pre);
            assert_eq!((&grad.g, &grad.log2, grad.d), (&g.g, &g.log2, g.d));
        }
    }

    #[test]
    fn fused_column_passes_match_the_unfused_ones_bitwise() {
        check::<f64>();
        check::<f32>();
    }
}
