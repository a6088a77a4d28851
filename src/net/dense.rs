//! The dense network: every `W_i` sampled and stored (MATH 1, NN-DEF or He).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use super::Layers;
use crate::arch::Arch;
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

/// faer splits the inner dimension of a column-major matrix-vector product across threads,
/// which changes the summation order with the thread count. Products with a single row or
/// column therefore run sequentially; GEMMs split only the output, which keeps every entry's
/// summation order fixed.
fn deterministic(par: Par, dst_rows: usize, dst_cols: usize) -> Par {
    if dst_rows < 2 || dst_cols < 2 {
        Par::Seq
    } else {
        par
    }
}

impl<T: Real> Layers<T> for DenseNet<T> {
    fn arch(&self) -> &Arch {
        &self.arch
    }

    fn right(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        let par = deterministic(par, dst.nrows(), dst.ncols());
        matmul(
            dst,
            Accum::Replace,
            self.weight(i),
            src,
            T::from_f64(1.0),
            par,
        );
    }

    fn left(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        let par = deterministic(par, dst.nrows(), dst.ncols());
        matmul(
            dst,
            Accum::Replace,
            self.weight(i).transpose(),
            src,
            T::from_f64(1.0),
            par,
        );
    }
}
