//! The dense network: every `W_i` sampled and stored (MATH 1, NN-DEF or He).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::Layers;
use crate::arch::{Arch, Init};
use crate::error::{Result, invalid};
use crate::rng;
use crate::scalar::Real;

/// A network whose weights are stored column-major, `W_i` as a `d_i x d_{i-1}` matrix.
#[derive(Clone, Debug)]
pub struct DenseNet<T> {
    arch: Arch,
    weights: Vec<Vec<T>>,
}

impl<T: Real> DenseNet<T> {
    /// Samples the network of `(seed, trial)`. Layer `i`'s entries come from the streams
    /// `(seed, trial, Weights, i, block)`, so the result is the same on any thread count.
    pub fn sample(arch: &Arch, seed: u64, trial: u64) -> Self {
        let weights = (1..=arch.depth() + 1)
            .map(|i| {
                let (m, n) = arch.shape(i);
                let mut w = crate::mem::zeroed(m * n);
                rng::fill_gaussian(&mut w, arch.weight_std(i), seed, trial, i as u64);
                w
            })
            .collect();
        DenseNet {
            arch: arch.clone(),
            weights,
        }
    }

    /// A network with the given weights (a user's, or another program's): `weights[i - 1]`
    /// holds `W_i` column-major, `d_i x d_{i-1}` with `dims = d_0, .., d_l` and a one-row
    /// output `W_{l+1}`. The architecture's `init` is recorded as given; it only matters for
    /// [`DenseNet::resample`].
    ///
    /// # Errors
    /// Shapes that do not chain (a length that is not `d_i d_{i-1}`), no hidden layer, a zero
    /// width, or a weight that is not finite; the messages name `weights`.
    pub fn from_weights(dims: &[usize], init: Init, weights: Vec<Vec<T>>) -> Result<Self> {
        let arch = Arch::new(
            dims.first().copied().unwrap_or(0),
            dims.get(1..).unwrap_or(&[]).to_vec(),
            init,
        )
        .map_err(|e| invalid("weights", format!("{dims:?}"), e.to_string()))?;
        if weights.len() != arch.depth() + 1 {
            return Err(invalid(
                "weights",
                format!("{} matrices", weights.len()),
                format!(
                    "expected {} matrices W_1..W_{} for widths {dims:?} (the last is the output row)",
                    arch.depth() + 1,
                    arch.depth() + 1
                ),
            ));
        }
        for (i, w) in weights.iter().enumerate() {
            let (m, n) = arch.shape(i + 1);
            if w.len() != m * n {
                return Err(invalid(
                    "weights",
                    format!("W_{} with {} entries", i + 1, w.len()),
                    format!(
                        "expected shape ({m}, {n}): the shapes must chain, ending in one output"
                    ),
                ));
            }
            if let Some(j) = w.iter().position(|v| !v.to_f64().is_finite()) {
                return Err(invalid(
                    "weights",
                    format!("W_{} entry {}", i + 1, j),
                    "expected finite weights, got NaN or infinity",
                ));
            }
        }
        Ok(DenseNet { arch, weights })
    }

    /// The same network in element type `U` (exact from `f32` to `f64`, rounded the other way).
    pub fn convert<U: Real>(&self) -> DenseNet<U> {
        DenseNet {
            arch: self.arch.clone(),
            weights: self
                .weights
                .iter()
                .map(|w| w.iter().map(|v| U::from_f64(v.to_f64())).collect())
                .collect(),
        }
    }

    /// Redraws every weight as the network of `(seed, trial)`, reusing the storage (same
    /// architecture), so a worker running many trials allocates once.
    pub fn resample(&mut self, seed: u64, trial: u64) {
        for (i, w) in self.weights.iter_mut().enumerate() {
            let layer = i + 1;
            rng::fill_gaussian(w, self.arch.weight_std(layer), seed, trial, layer as u64);
        }
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

    /// Mutable access to `W_i`, for tests that build special networks.
    pub fn weight_mut(&mut self, i: usize) -> MatMut<'_, T> {
        let (m, n) = self.arch.shape(i);
        MatMut::from_column_major_slice_mut(&mut self.weights[i - 1], m, n)
    }
}

/// Rows of the output per task in [`product`].
const ROW_BLOCK: usize = 256;

/// Columns of `lhs` (rows of `rhs`) per sequential GEMM in [`product`].
const INNER_BLOCK: usize = 256;

/// `dst = lhs * rhs` for the layer products of MATH 1 and 2, the same bits on any thread count.
///
/// faer's own parallel GEMM reaches about 48% of this machine's peak at the shapes of
/// issue 6. Cutting the output into fixed blocks of [`ROW_BLOCK`] rows, each run on one
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
        product(dst, self.weight(i), src, par);
    }

    fn left(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        product(dst, self.weight(i).transpose(), src, par);
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
