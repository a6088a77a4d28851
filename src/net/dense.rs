//! The dense network: every `W_i` sampled and stored (MATH 1, NN-DEF or He).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::Layers;
use crate::arch::{Arch, Family, OutputLaw};
use crate::error::{Result, invalid};
use crate::rng;
use crate::scalar::Real;

/// A network whose weights are stored column-major, `W_i` as a `d_i x d_{i-1}` matrix, with
/// its biases `b_i` when it has any (MATH 9).
#[derive(Clone, Debug)]
pub struct DenseNet<T> {
    arch: Arch,
    weights: Vec<Vec<T>>,
    /// `b_1, .., b_{l+1}`, or empty for a network without biases.
    biases: Vec<Vec<T>>,
}

impl<T: Real> DenseNet<T> {
    /// Samples the network of `(seed, trial)`. Layer `i`'s entries come from the streams
    /// `(seed, trial, Weights, i, block)` and its biases from `(seed, trial, Bias, i, block)`,
    /// so the result is the same on any thread count and `sigma_b = 0` gives the weights of
    /// the network without biases.
    pub fn sample(arch: &Arch, seed: u64, trial: u64) -> Self {
        let mut net = DenseNet {
            arch: arch.clone(),
            weights: (1..=arch.depth() + 1)
                .map(|i| {
                    let (m, n) = arch.shape(i);
                    crate::mem::zeroed(m * n)
                })
                .collect(),
            biases: if arch.has_bias() {
                (1..=arch.depth() + 1)
                    .map(|i| vec![T::ZERO; arch.width(i)])
                    .collect()
            } else {
                Vec::new()
            },
        };
        net.resample(seed, trial);
        net
    }

    /// A network with the given weights and biases (a user's, or another program's):
    /// `weights[i - 1]` holds `W_i` column-major, `d_i x d_{i-1}` with `dims = d_0, .., d_l`,
    /// the last one the `K x d_l` output layer; `biases`, if given, holds `b_1, .., b_{l+1}`.
    /// `family` gives the activation (its `sigma_w2`, `sigma_b` only matter for
    /// [`DenseNet::resample`]; `sigma_b` is set positive when there are biases, so that
    /// [`Arch::has_bias`] says so, and `outputs` is taken from the shapes).
    ///
    /// # Errors
    /// Shapes that do not chain (a length that is not `d_i d_{i-1}`), no hidden layer, a zero
    /// width, or a weight or bias that is not finite; the messages name `weights`.
    pub fn from_weights(
        dims: &[usize],
        mut family: Family,
        weights: Vec<Vec<T>>,
        biases: Option<Vec<Vec<T>>>,
    ) -> Result<Self> {
        let bad = |value: String, reason: String| invalid("weights", value, reason);
        let last = dims.last().copied().unwrap_or(0);
        let outputs = match weights.last() {
            Some(w) if last > 0 && w.len() % last == 0 && w.len() >= last => w.len() / last,
            _ => 1,
        };
        family.outputs = outputs;
        if biases.is_some() && family.sigma_b == 0.0 {
            family.sigma_b = 1.0;
        }
        if biases.is_none() {
            family.sigma_b = 0.0;
        }
        let arch = Arch::with_family(
            dims.first().copied().unwrap_or(0),
            dims.get(1..).unwrap_or(&[]).to_vec(),
            family,
        )
        .map_err(|e| bad(format!("{dims:?}"), e.to_string()))?;
        let l = arch.depth();
        if weights.len() != l + 1 {
            return Err(bad(
                format!("{} matrices", weights.len()),
                format!(
                    "expected {} matrices W_1..W_{} for widths {dims:?} (the last is the output layer)",
                    l + 1,
                    l + 1
                ),
            ));
        }
        for (i, w) in weights.iter().enumerate() {
            let (m, n) = arch.shape(i + 1);
            if w.len() != m * n {
                return Err(bad(
                    format!("W_{} with {} entries", i + 1, w.len()),
                    format!("expected shape ({m}, {n}): the shapes must chain"),
                ));
            }
            finite(w, &format!("W_{}", i + 1))?;
        }
        let biases = biases.unwrap_or_default();
        if !biases.is_empty() {
            if biases.len() != l + 1 {
                return Err(bad(
                    format!("{} bias vectors", biases.len()),
                    format!("expected {} bias vectors b_1..b_{}", l + 1, l + 1),
                ));
            }
            for (i, b) in biases.iter().enumerate() {
                if b.len() != arch.width(i + 1) {
                    return Err(bad(
                        format!("b_{} with {} entries", i + 1, b.len()),
                        format!(
                            "expected {} entries, the rows of W_{}",
                            arch.width(i + 1),
                            i + 1
                        ),
                    ));
                }
                finite(b, &format!("b_{}", i + 1))?;
            }
        }
        Ok(DenseNet {
            arch,
            weights,
            biases,
        })
    }

    /// The same network in element type `U` (exact from `f32` to `f64`, rounded the other way).
    pub fn convert<U: Real>(&self) -> DenseNet<U> {
        DenseNet {
            arch: self.arch.clone(),
            weights: self.weights.iter().map(|w| convert(w)).collect(),
            biases: self.biases.iter().map(|b| convert(b)).collect(),
        }
    }

    /// Redraws every weight as the network of `(seed, trial)`, reusing the storage (same
    /// architecture), so a worker running many trials allocates once.
    pub fn resample(&mut self, seed: u64, trial: u64) {
        let out = self.weights.len();
        for (i, w) in self.weights.iter_mut().enumerate() {
            let layer = i + 1;
            let std = self.arch.weight_std(layer);
            if layer == out && self.arch.family.output_law == OutputLaw::Rademacher {
                rng::fill_rademacher(w, std, seed, trial, layer as u64);
            } else {
                rng::fill_gaussian(w, std, seed, trial, layer as u64);
            }
        }
        let sigma_b = self.arch.family.sigma_b;
        for (i, b) in self.biases.iter_mut().enumerate() {
            rng::fill_bias(b, sigma_b, seed, trial, (i + 1) as u64);
        }
    }

    /// The biases `b_i`, `i` in `1..=l+1`, if the network has any.
    pub fn bias_data(&self, i: usize) -> Option<&[T]> {
        self.biases.get(i - 1).map(Vec::as_slice)
    }

    /// The stored `W_i`, `i` in `1..=l+1`.
    pub fn weight(&self, i: usize) -> MatRef<'_, T> {
        let (m, n) = self.arch.shape(i);
        MatRef::from_column_major_slice(&self.weights[i - 1], m, n)
    }

    /// The column-major storage of `W_i`, `i` in `1..=l+1`: `d_i * d_{i-1}` entries, entry
    /// `(r, c)` at index `r + c * d_i` (for writing the weights out, e.g. as `.npy`).
    pub fn weight_data(&self, i: usize) -> &[T] {
        &self.weights[i - 1]
    }

    /// `dst = W_i src` ([`Layers::right`] through a shared reference).
    pub fn times(&self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        product(dst, self.weight(i), src, par);
    }

    /// `dst = W_i^T src` ([`Layers::left`] through a shared reference).
    pub fn times_transpose(&self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        product(dst, self.weight(i).transpose(), src, par);
    }

    /// Mutable access to `W_i`, for tests that build special networks.
    pub fn weight_mut(&mut self, i: usize) -> MatMut<'_, T> {
        let (m, n) = self.arch.shape(i);
        MatMut::from_column_major_slice_mut(&mut self.weights[i - 1], m, n)
    }
}

/// `v` in another element type.
fn convert<T: Real, U: Real>(v: &[T]) -> Vec<U> {
    v.iter().map(|x| U::from_f64(x.to_f64())).collect()
}

/// Refuses a NaN or infinite entry of the array `name`.
fn finite<T: Real>(v: &[T], name: &str) -> Result<()> {
    match v.iter().position(|x| !x.to_f64().is_finite()) {
        Some(j) => Err(invalid(
            "weights",
            format!("{name} entry {j}"),
            "expected finite values, got NaN or infinity",
        )),
        None => Ok(()),
    }
}

/// Rows of the output per task in [`product`].
const ROW_BLOCK: usize = 256;

/// Columns of `lhs` (rows of `rhs`) per sequential GEMM in [`product`].
const INNER_BLOCK: usize = 256;

/// `dst = lhs * rhs` for the layer products of MATH 1 and 2, the same bits on any thread count.
///
/// faer's own parallel GEMM reaches about 48% of this machine's peak at the shapes of
/// `bench/run`. Cutting the output into fixed blocks of [`ROW_BLOCK`] rows, each run on one
/// thread as sequential faer GEMMs over [`INNER_BLOCK`] slices of the inner dimension,
/// reaches 63-68%: each thread packs and streams only its own rows of the weights, and the
/// slices keep faer's packed panels in L2 when the batch is narrow (bench/RESULTS.md,
/// workload 5). The cut depends on the shape alone and each entry is summed in the same
/// order within it, so the result does not depend on the thread count.
///
/// An output too short for two blocks goes to faer whole: its GEMM splits only the output,
/// but its matrix-vector product splits the inner dimension, so a single row or column runs
/// sequentially.
pub fn product<T: Real>(dst: MatMut<'_, T>, lhs: MatRef<'_, T>, rhs: MatRef<'_, T>, par: Par) {
    let one = T::from_f64(1.0);
    let (rows, cols) = (dst.nrows(), dst.ncols());
    // An empty inner dimension gives no slice to write `dst`; faer writes the zeros.
    if rows < 2 * ROW_BLOCK || lhs.ncols() == 0 {
        let par = if rows < 2 || cols < 2 { Par::Seq } else { par };
        matmul(dst, Accum::Replace, lhs, rhs, one, par);
        return;
    }
    let mut blocks = Vec::with_capacity(rows.div_ceil(ROW_BLOCK));
    let mut rest = dst;
    for start in (0..rows).step_by(ROW_BLOCK) {
        let (block, tail) = rest.split_at_row_mut(ROW_BLOCK.min(rows - start));
        blocks.push((start, block));
        rest = tail;
    }
    let inner = lhs.ncols();
    let run = |(start, mut block): (usize, MatMut<'_, T>)| {
        let lhs = lhs.subrows(start, block.nrows());
        for p in (0..inner).step_by(INNER_BLOCK) {
            let q = INNER_BLOCK.min(inner - p);
            let accum = if p == 0 { Accum::Replace } else { Accum::Add };
            let (l, r) = (lhs.subcols(p, q), rhs.subrows(p, q));
            matmul(block.as_mut(), accum, l, r, one, Par::Seq);
        }
    };
    match par {
        Par::Seq => blocks.into_iter().for_each(run),
        _ => blocks.into_par_iter().for_each(run),
    }
}

impl<T: Real> Layers<T> for DenseNet<T> {
    fn arch(&self) -> &Arch {
        &self.arch
    }

    fn right(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        self.times(i, src, dst, par);
    }

    fn left(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        self.times_transpose(i, src, dst, par);
    }

    fn bias(&mut self, i: usize) -> Option<&[T]> {
        self.bias_data(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapes that cut into several row blocks with a ragged last one, inner slices with a
    /// ragged last one, one column (the matrix-vector product), an output too short to cut and
    /// an empty inner dimension (the output, NaN beforehand, must come back zero).
    const SHAPES: [(usize, usize, usize); 5] = [
        (777, 600, 5),
        (1024, 513, 1),
        (600, 300, 40),
        (300, 700, 3),
        (1024, 0, 2),
    ];

    fn data(len: usize, salt: usize) -> Vec<f64> {
        (0..len)
            .map(|i| (((i * 7919 + salt) % 1013) as f64 - 506.0) / 97.0)
            .collect()
    }

    /// `lhs` as `rows x inner`, column-major or the transposed view of an `inner x rows` store.
    fn lhs(store: &[f64], rows: usize, inner: usize, transposed: bool) -> MatRef<'_, f64> {
        if transposed {
            MatRef::from_column_major_slice(store, inner, rows).transpose()
        } else {
            MatRef::from_column_major_slice(store, rows, inner)
        }
    }

    fn run(
        rows: usize,
        inner: usize,
        cols: usize,
        transposed: bool,
        threads: Option<usize>,
    ) -> Vec<f64> {
        let (a, b) = (data(rows * inner, 1), data(inner * cols, 2));
        let a = lhs(&a, rows, inner, transposed);
        let b = MatRef::from_column_major_slice(&b, inner, cols);
        let mut c = vec![f64::NAN; rows * cols];
        let dst = MatMut::from_column_major_slice_mut(&mut c, rows, cols);
        match threads {
            None => product(dst, a, b, Par::Seq),
            Some(t) => rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
                .install(|| product(dst, a, b, Par::rayon(t))),
        }
        c
    }

    #[test]
    fn product_is_bitwise_the_same_on_any_thread_count() {
        for (rows, inner, cols) in SHAPES {
            for transposed in [false, true] {
                let seq = run(rows, inner, cols, transposed, None);
                for t in [1, 2, 3] {
                    let par = run(rows, inner, cols, transposed, Some(t));
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&seq),
                        bits(&par),
                        "{rows}x{inner}x{cols} t={transposed} on {t}"
                    );
                }
            }
        }
    }

    /// Against a plain triple loop: any summation order of `k` products is within
    /// `gamma_k * sum |a||b|` of the exact value (Higham, Theorem 3.5), so the two differ by
    /// at most twice that; a misplaced block or slice would be off by O(1).
    #[test]
    fn product_matches_the_triple_loop_to_rounding() {
        for (rows, inner, cols) in SHAPES {
            for transposed in [false, true] {
                let got = run(rows, inner, cols, transposed, Some(2));
                let (a, b) = (data(rows * inner, 1), data(inner * cols, 2));
                let a = lhs(&a, rows, inner, transposed);
                let b = MatRef::from_column_major_slice(&b, inner, cols);
                let gamma = inner as f64 * f64::EPSILON / (1.0 - inner as f64 * f64::EPSILON);
                for j in 0..cols {
                    for i in 0..rows {
                        let (mut sum, mut abs) = (0.0, 0.0);
                        for p in 0..inner {
                            sum += a[(i, p)] * b[(p, j)];
                            abs += (a[(i, p)] * b[(p, j)]).abs();
                        }
                        let err = (got[i + j * rows] - sum).abs();
                        assert!(
                            err <= 2.0 * gamma * abs,
                            "({i}, {j}): {err} > {}",
                            2.0 * gamma * abs
                        );
                    }
                }
            }
        }
    }
}
