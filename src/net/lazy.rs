//! The lazy network (MATH 8): every `W_i` is revealed by Gaussian conditioning, one query
//! direction at a time, instead of being sampled and stored. It answers the same right and left
//! products as [`DenseNet`](super::DenseNet) with exactly the same joint law, so the one-step
//! attack of Theorem 1.1 (paper: Bartlett, Bubeck, Cherapanamjeri 2021) can be measured at
//! widths where a dense layer could never be stored (`d = 10^7`: `10^14` entries).
//!
//! After right queries spanning the orthonormal `Q` (`n x p`) and left queries spanning the
//! orthonormal `P` (`m x q`), with revealed blocks `A = W Q` and `B = P^T W`,
//!
//! ```text
//! W = P B + (I - P P^T) A Q^T + (I - P P^T) G (I - Q Q^T),   G iid N(0, s^2), fresh,
//! ```
//!
//! also when each query depends on earlier answers (Bolthausen's conditioning). A right query
//! `u` with a component `r = u - Q Q^T u` outside `Q` reveals `W e = P (B e) + (I - P P^T) g`
//! for `e = r / ||r||`, `g ~ N(0, s^2 I_m)`, and is then answered from the blocks:
//! `W u = P (B u) + (I - P P^T) A (Q^T u)`. Left queries are the mirror image (swap `Q, A` with
//! `P, B`). Memory and time are `O((m + n)(p + q))` per layer against `O(m n)`.
//!
//! Numerics. The state is kept in `f64` for either element type, as the dense sampler draws in
//! `f64` and rounds: orthogonality of `Q` and `P` to `f64` rounding keeps the conditioning exact
//! for `f32` networks too, and a query is converted to `f64` exactly. `Q` and `P` are built by
//! classical Gram-Schmidt with one re-orthogonalisation (CGS2, "twice is enough"). A residual
//! with `||r|| <= 8 (sqrt(n) u_64 + u_T) ||u||` (`u_T` the unit roundoff of the element type)
//! is treated as zero. That is 8 times the rounding residue of a query already in the span:
//! CGS2 in `f64` leaves about `sqrt(n) u_64 ||u||` (the random-walk error of length-`n` sums),
//! and a point of the span rounded to `T` (a line-search point `x + t v` in `f32`) is off by at
//! most `u_T ||u||`. So such queries never reveal a spurious direction, and dropping a residual
//! moves the answer by no more than 8 times what rounding the query to `T` already does; any
//! larger residual is revealed, which is always exact in law and only costs memory.
//!
//! Every reduction runs over fixed chunks summed in order, and the `k`-th Gaussian vector of
//! layer `i` comes from the streams `(seed, trial, Lazy, i, k, block)`, so the answers are
//! bitwise the same on any thread count.

use std::marker::PhantomData;
use std::ops::Range;

use faer::{MatMut, MatRef, Par};
use rayon::prelude::*;

use super::Layers;
use crate::arch::{Arch, OutputLaw};
use crate::rng;
use crate::scalar::Real;

/// Entries per chunk of the vector kernels: partial sums are formed per chunk and added in
/// chunk order, so a reduction's rounding does not depend on the thread count.
const CHUNK: usize = 1 << 13;

/// Points per forward pass in line scans on a lazy network: each new point reveals a direction
/// in every layer past the first, so small batches keep the reveals few (the one-step point and
/// the next grid point bracket `c_min` at large `d`; [`refine`](crate::attack::refine) takes
/// at least 3, to bisect besides interpolating).
pub const LAZY_LINE_BATCH: usize = 2;

/// `dst = W src` (or `W^T src` when `left`) for a stored `m x n` column-major `W` in `f64`,
/// summed in a fixed order.
fn stored_product<T: Real>(
    w: &[f64],
    m: usize,
    src: MatRef<'_, T>,
    mut dst: MatMut<'_, T>,
    left: bool,
) {
    let n = w.len() / m;
    for b in 0..src.ncols() {
        if left {
            for j in 0..n {
                let s: f64 = (0..m).map(|k| w[k + j * m] * src[(k, b)].to_f64()).sum();
                dst[(j, b)] = T::from_f64(s);
            }
        } else {
            for k in 0..m {
                let s: f64 = (0..n).map(|j| w[k + j * m] * src[(j, b)].to_f64()).sum();
                dst[(k, b)] = T::from_f64(s);
            }
        }
    }
}

/// One side of a layer's revealed state: orthonormal query directions and their images.
#[derive(Clone, Debug, Default)]
struct Half {
    /// Orthonormal directions in the space the product reads (`Q` in `R^n`, or `P` in `R^m`).
    basis: Vec<Vec<f64>>,
    /// Their images (`A = W Q`, columns in `R^m`, or the rows of `B = P^T W`, in `R^n`).
    image: Vec<Vec<f64>>,
}

/// The revealed state of one `m x n` matrix.
#[derive(Clone, Debug)]
struct LazyLayer {
    /// Rows.
    m: usize,
    /// Columns.
    n: usize,
    /// Entry standard deviation `s`.
    std: f64,
    /// Right queries: `Q` and `A = W Q`.
    right: Half,
    /// Left queries: `P` and `B = P^T W` (rows stored as vectors).
    left: Half,
    /// Gaussian vectors drawn so far (the reveal index of the next stream).
    reveals: u64,
    /// With biases (MATH 9), the matrix is `[W_i | b_i / beta]` (`n` counts the extra column,
    /// whose entries share `W_i`'s variance) and `b_i = beta W~ e_n`: `Some(beta)`.
    bias_scale: Option<f64>,
}

/// A network whose weights are revealed on demand (MATH 8), behind the [`Layers`] interface.
#[derive(Clone, Debug)]
pub struct LazyNet<T> {
    arch: Arch,
    seed: u64,
    trial: u64,
    layers: Vec<LazyLayer>,
    /// Biases revealed so far (`b_i = beta W~ e_n`), in `T`.
    biases: Vec<Option<Vec<T>>>,
    /// A rademacher output layer (MATH 9) is not Gaussian, so it cannot be revealed by
    /// conditioning: it is sampled and stored (`K x d_l`, column-major, with its bias), as the
    /// dense sampler does.
    out: Option<(Vec<f64>, Option<Vec<f64>>)>,
    /// Work vectors reused across queries (query, answer, residual).
    scratch: [Vec<f64>; 3],
    _elem: PhantomData<fn() -> T>,
}

impl<T: Real> LazyNet<T> {
    /// The network of `(seed, trial)`, nothing revealed yet. Its law is that of
    /// [`DenseNet::sample`](super::DenseNet::sample) (not its numbers: the streams differ).
    ///
    /// ```
    /// use faer::Par;
    /// use radex::arch::{Arch, Init};
    /// use radex::attack::one_step;
    /// use radex::net::LazyNet;
    ///
    /// // A dense first layer would hold 10^10 weights; the lazy one reveals a few directions.
    /// let arch = Arch::new(100_000, vec![100_000, 1_000], Init::Nn)?;
    /// let mut net = LazyNet::<f64>::sample(&arch, 1, 0);
    /// let x = radex::rng::input(1, 0, arch.d);
    /// let r = one_step::<f64, _>(&mut net, &x, false, Par::Seq);
    /// assert!(r.success);
    /// assert!(net.revealed(1).0 <= 2); // x and the gradient direction
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sample(arch: &Arch, seed: u64, trial: u64) -> Self {
        let l = arch.depth();
        let layers = (1..=l + 1)
            .map(|i| {
                let (m, n) = arch.shape(i);
                let std = arch.weight_std(i);
                let bias_scale = arch.has_bias().then(|| arch.family.sigma_b / std);
                LazyLayer {
                    m,
                    n: n + bias_scale.is_some() as usize,
                    std,
                    right: Half::default(),
                    left: Half::default(),
                    reveals: 0,
                    bias_scale,
                }
            })
            .collect();
        let out = (arch.family.output_law == OutputLaw::Rademacher).then(|| {
            let (k, n) = arch.shape(l + 1);
            let mut w = vec![0.0; k * n];
            rng::fill_rademacher(&mut w, arch.weight_std(l + 1), seed, trial, (l + 1) as u64);
            let b = arch.has_bias().then(|| {
                let mut b = vec![0.0; k];
                rng::fill_bias(&mut b, arch.family.sigma_b, seed, trial, (l + 1) as u64);
                b
            });
            (w, b)
        });
        LazyNet {
            arch: arch.clone(),
            seed,
            trial,
            layers,
            biases: vec![None; l + 1],
            out,
            scratch: Default::default(),
            _elem: PhantomData,
        }
    }

    /// Forgets everything revealed and becomes the network of `(seed, trial)`.
    pub fn resample(&mut self, seed: u64, trial: u64) {
        let scratch = std::mem::take(&mut self.scratch);
        *self = LazyNet::sample(&self.arch, seed, trial);
        self.scratch = scratch;
    }

    /// Directions revealed so far in layer `i`: `(p, q)`, right and left.
    pub fn revealed(&self, i: usize) -> (usize, usize) {
        let l = &self.layers[i - 1];
        (l.right.basis.len(), l.left.basis.len())
    }

    /// Bytes held by the revealed state: `8 (m + n) (p + q)` per layer.
    pub fn stored_bytes(&self) -> u128 {
        self.layers
            .iter()
            .map(|l| 8 * (l.m + l.n) as u128 * (l.right.basis.len() + l.left.basis.len()) as u128)
            .sum()
    }

    /// The threshold below which a residual counts as zero (see the module notes).
    fn tol(n: usize) -> f64 {
        8.0 * ((n as f64).sqrt() * f64::EPSILON / 2.0 + T::UNIT_ROUNDOFF)
    }
}

/// What [`prepare`] learns about one query: `c = Q^T u` (with the accuracy of CGS2) and `B u`.
struct Prepared {
    c: Vec<f64>,
    bu: Vec<f64>,
}

/// Prepares one query `u` on side `this` (whose basis lives in `u`'s space), revealing a new
/// direction first if `u` leaves the span; [`answer`] then forms `W u`. `other` is the opposite
/// side; `draw` fills a fresh `N(0, s^2)` vector of the output's length; `scratch` is reused for
/// the residual. `None` for `u = 0`.
///
/// Written as fused sweeps over chunks, since at `n = 10^7` every pass over the stored vectors
/// is a pass through memory: (1) `c1 = Q^T u`, `B u`, `||u||`; (2) `r = u - Q c1`,
/// `c2 = Q^T r`; (3) `r -= Q c2`, `||r||`, `B r`. Then `c = c1 + c2`, and `<e, u> = ||r||` for a
/// new direction `e`.
#[allow(clippy::too_many_arguments)]
fn prepare(
    this: &mut Half,
    other: &Half,
    u: &[f64],
    out_dim: usize,
    scratch: &mut Vec<f64>,
    tol: f64,
    parallel: bool,
    draw: impl FnOnce(&mut [f64]),
) -> Option<Prepared> {
    let in_dim = u.len();
    let (p, q) = (this.basis.len(), other.basis.len());
    let s1 = reduce(in_dim, p + q + 1, parallel, |r| {
        let uc = &u[r.clone()];
        let mut v = Vec::with_capacity(p + q + 1);
        v.extend(this.basis.iter().map(|b| dot(&b[r.clone()], uc)));
        v.extend(other.image.iter().map(|b| dot(&b[r.clone()], uc)));
        v.push(dot(uc, uc));
        v
    });
    let (mut c, bu, u_norm) = (s1[..p].to_vec(), s1[p..p + q].to_vec(), s1[p + q].sqrt());
    if u_norm == 0.0 {
        return None;
    }
    // Nothing to reveal if this side's basis already spans the input space, or the other side's
    // basis spans the output space (then `W = P B` is known exactly).
    if p < in_dim && q < out_dim {
        let mut r = std::mem::take(scratch);
        r.resize(in_dim, 0.0);
        let c2 = reduce_mut(&mut r, 1, p, parallel, |start, rc| {
            let range = start..start + rc.len();
            rc.copy_from_slice(&u[range.clone()]);
            axpys(rc, &this.basis, &c, -1.0, range.clone());
            this.basis
                .iter()
                .map(|b| dot(&b[range.clone()], rc))
                .collect()
        });
        let s3 = reduce_mut(&mut r, 1, q + 1, parallel, |start, rc| {
            let range = start..start + rc.len();
            axpys(rc, &this.basis, &c2, -1.0, range.clone());
            let mut v = Vec::with_capacity(q + 1);
            v.extend(other.image.iter().map(|b| dot(&b[range.clone()], rc)));
            v.push(dot(rc, rc));
            v
        });
        c.iter_mut().zip(&c2).for_each(|(a, b)| *a += b);
        let r_norm = s3[q].sqrt();
        if r_norm > tol * u_norm {
            // e = r / ||r||; W e = P (B e) + (I - P P^T) g.
            let inv = 1.0 / r_norm;
            for_chunks(&mut r, parallel, |_, rc| {
                rc.iter_mut().for_each(|v| *v *= inv)
            });
            let mut g = vec![0.0; out_dim];
            draw(&mut g);
            let pg = reduce(out_dim, q, parallel, |r| {
                other
                    .basis
                    .iter()
                    .map(|b| dot(&b[r.clone()], &g[r.clone()]))
                    .collect()
            });
            let coef: Vec<f64> = s3[..q]
                .iter()
                .zip(&pg)
                .map(|(be, pg)| be * inv - pg)
                .collect();
            for_chunks(&mut g, parallel, |start, gc| {
                axpys(gc, &other.basis, &coef, 1.0, start..start + gc.len());
            });
            this.basis.push(r);
            this.image.push(g);
            c.push(r_norm);
        } else {
            *scratch = r;
        }
    }
    Some(Prepared { c, bu })
}

/// `W u_b = A c_b + P (B u_b - P^T A c_b)` for every prepared column, in one pair of sweeps
/// that read `A` and `P` once for the whole batch. `out` is chunk-major: the rows of chunk `k`
/// of every column form one block of `len_k * B` entries, column by column. Each column uses
/// only the directions revealed up to its own query, so the answers are those of asking the
/// columns one by one.
fn answer(this: &Half, other: &Half, cols: &[Option<Prepared>], out: &mut [f64], parallel: bool) {
    let batch = cols.len();
    let q = other.basis.len();
    let pw = reduce_mut(out, batch, batch * q, parallel, |start, block| {
        let len = block.len() / batch;
        let range = start..start + len;
        let mut v = Vec::with_capacity(batch * q);
        for (col, seg) in cols.iter().zip(block.chunks_exact_mut(len)) {
            seg.fill(0.0);
            if let Some(pr) = col {
                axpys(seg, &this.image, &pr.c, 1.0, range.clone());
            }
            v.extend(other.basis.iter().map(|b| dot(&b[range.clone()], seg)));
        }
        v
    });
    if q == 0 {
        return;
    }
    let coefs: Vec<Vec<f64>> = cols
        .iter()
        .enumerate()
        .map(|(b, col)| match col {
            Some(pr) => (0..q).map(|k| pr.bu[k] - pw[b * q + k]).collect(),
            None => vec![0.0; q],
        })
        .collect();
    for_blocks(out, batch, parallel, |start, block| {
        let len = block.len() / batch;
        for (coef, seg) in coefs.iter().zip(block.chunks_exact_mut(len)) {
            axpys(seg, &other.basis, coef, 1.0, start..start + len);
        }
    });
}

fn chunk_range(k: usize, n: usize) -> Range<usize> {
    k * CHUNK..((k + 1) * CHUNK).min(n)
}

/// Sums the per-chunk partial vectors (`k` entries each) of `part` over `0..n`, in chunk order,
/// so the rounding does not depend on the thread count.
fn reduce(
    n: usize,
    k: usize,
    parallel: bool,
    part: impl Fn(Range<usize>) -> Vec<f64> + Sync + Send,
) -> Vec<f64> {
    let chunks = n.div_ceil(CHUNK);
    if chunks == 1 {
        return single(part(0..n));
    }
    let parts: Vec<Vec<f64>> = if parallel {
        (0..chunks)
            .into_par_iter()
            .map(|c| part(chunk_range(c, n)))
            .collect()
    } else {
        (0..chunks).map(|c| part(chunk_range(c, n))).collect()
    };
    sum_parts(k, parts)
}

/// [`reduce`] over the blocks of `out` (`CHUNK * cols` entries: a chunk of rows of `cols`
/// columns), which `part(first row, block)` may write.
fn reduce_mut(
    out: &mut [f64],
    cols: usize,
    k: usize,
    parallel: bool,
    part: impl Fn(usize, &mut [f64]) -> Vec<f64> + Sync + Send,
) -> Vec<f64> {
    if !out.is_empty() && out.len() <= CHUNK * cols {
        return single(part(0, out));
    }
    let parts: Vec<Vec<f64>> = if parallel {
        out.par_chunks_mut(CHUNK * cols)
            .enumerate()
            .map(|(c, o)| part(c * CHUNK, o))
            .collect()
    } else {
        out.chunks_mut(CHUNK * cols)
            .enumerate()
            .map(|(c, o)| part(c * CHUNK, o))
            .collect()
    };
    sum_parts(k, parts)
}

/// The sum of one chunk's partial vector, as [`sum_parts`] would form it (`0 + v`, so a `-0`
/// becomes `+0` as there) without the two allocations: narrow layers make one per query.
fn single(mut part: Vec<f64>) -> Vec<f64> {
    part.iter_mut().for_each(|v| *v += 0.0);
    part
}

fn sum_parts(k: usize, parts: Vec<Vec<f64>>) -> Vec<f64> {
    let mut sum = vec![0.0; k];
    for p in parts {
        sum.iter_mut().zip(&p).for_each(|(s, v)| *s += v);
    }
    sum
}

/// A dot product with eight fixed accumulators (vectorisable, order fixed).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let mut s = acc.iter().sum::<f64>();
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

/// `out += sign * sum_k coef_k v_k[range]`, the terms added in order `k` for every entry.
fn axpys(out: &mut [f64], vs: &[Vec<f64>], coef: &[f64], sign: f64, range: Range<usize>) {
    for (v, &c) in vs.iter().zip(coef) {
        let c = sign * c;
        out.iter_mut()
            .zip(&v[range.clone()])
            .for_each(|(a, b)| *a += c * b);
    }
}

/// Runs `f(start, chunk)` over the chunks of `out`.
fn for_chunks(out: &mut [f64], parallel: bool, f: impl Fn(usize, &mut [f64]) + Sync + Send) {
    for_blocks(out, 1, parallel, f);
}

/// Runs `f(first row, block)` over the blocks of `out` (as in [`reduce_mut`]).
fn for_blocks(
    out: &mut [f64],
    cols: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [f64]) + Sync + Send,
) {
    if parallel {
        out.par_chunks_mut(CHUNK * cols)
            .enumerate()
            .for_each(|(k, c)| f(k * CHUNK, c));
    } else {
        out.chunks_mut(CHUNK * cols)
            .enumerate()
            .for_each(|(k, c)| f(k * CHUNK, c));
    }
}

impl<T: Real> LazyNet<T> {
    /// Answers the columns of `src` in order (each may reveal), right (`W_i src`) or left.
    /// With biases the matrix has an extra column (see [`LazyLayer::bias_scale`]): a right
    /// query is extended by 0 and a left answer drops that column, unless `raw` (the query
    /// then has the full width, as the bias reveal asks `e_n`).
    fn apply(
        &mut self,
        i: usize,
        src: MatRef<'_, T>,
        mut dst: MatMut<'_, T>,
        par: Par,
        left: bool,
        raw: bool,
    ) {
        if i == self.layers.len()
            && let Some((w, _)) = &self.out
        {
            return stored_product(w, self.layers[i - 1].m, src, dst, left);
        }
        let (seed, trial) = (self.seed, self.trial);
        let layer = &mut self.layers[i - 1];
        let (in_dim, out_dim) = if left {
            (layer.m, layer.n)
        } else {
            (layer.n, layer.m)
        };
        let extra = (layer.bias_scale.is_some() && !raw) as usize;
        let (src_rows, dst_rows) = if left {
            (in_dim, out_dim - extra)
        } else {
            (in_dim - extra, out_dim)
        };
        assert_eq!(
            src.nrows(),
            src_rows,
            "layer {i}: query has the wrong length"
        );
        assert_eq!(
            dst.nrows(),
            dst_rows,
            "layer {i}: answer has the wrong length"
        );
        assert_eq!(src.ncols(), dst.ncols(), "layer {i}: batch sizes differ");
        let parallel = !matches!(par, Par::Seq);
        let tol = Self::tol(in_dim);
        let std = layer.std;
        // Scratch kept across calls: fresh pages of 80 MB vectors cost page faults at d = 10^7.
        let [mut u, mut out, mut scratch] = std::mem::take(&mut self.scratch);
        u.resize(in_dim, 0.0);
        let batch = src.ncols();
        let mut cols = Vec::with_capacity(batch);
        for b in 0..batch {
            u.iter_mut()
                .zip(src.col(b).iter())
                .for_each(|(a, v)| *a = v.to_f64());
            u[src_rows..].fill(0.0);
            let reveal = layer.reveals;
            let mut drawn = false;
            let draw = |g: &mut [f64]| {
                drawn = true;
                rng::fill_gaussian_blocks(g, std, parallel, |block| {
                    rng::lazy_stream(seed, trial, i as u64, reveal, block)
                });
            };
            let (this, other) = if left {
                (&mut layer.left, &layer.right)
            } else {
                (&mut layer.right, &layer.left)
            };
            cols.push(prepare(
                this,
                other,
                &u,
                out_dim,
                &mut scratch,
                tol,
                parallel,
                draw,
            ));
            if drawn {
                layer.reveals += 1;
            }
        }
        let (this, other) = if left {
            (&layer.left, &layer.right)
        } else {
            (&layer.right, &layer.left)
        };
        out.resize(out_dim * batch, 0.0);
        answer(this, other, &cols, &mut out, parallel);
        // Back from the chunk-major layout of `answer`.
        for (k, block) in out.chunks(CHUNK * batch).enumerate() {
            let len = block.len() / batch;
            // The answer's extra (bias) column is not the caller's.
            let keep = len.min(dst_rows.saturating_sub(k * CHUNK));
            for (b, seg) in block.chunks_exact(len).enumerate() {
                dst.as_mut()
                    .col_mut(b)
                    .subrows_mut(k * CHUNK, keep)
                    .iter_mut()
                    .zip(seg)
                    .for_each(|(d, &v)| *d = T::from_f64(v));
            }
        }
        self.scratch = [u, out, scratch];
    }
}

impl<T: Real> Layers<T> for LazyNet<T> {
    fn arch(&self) -> &Arch {
        &self.arch
    }

    fn right(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        self.apply(i, src, dst, par, false, false);
    }

    fn left(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        self.apply(i, src, dst, par, true, false);
    }

    fn bias(&mut self, i: usize) -> Option<&[T]> {
        if i == self.layers.len()
            && let Some((_, b)) = &self.out
        {
            if self.biases[i - 1].is_none() {
                self.biases[i - 1] = b
                    .as_ref()
                    .map(|b| b.iter().map(|&v| T::from_f64(v)).collect());
            }
            return self.biases[i - 1].as_deref();
        }
        let layer = &self.layers[i - 1];
        let beta = layer.bias_scale?;
        if self.biases[i - 1].is_none() {
            // b_i = beta W~ e_n: one right query of the extended matrix, revealed like any other.
            let (m, n) = (layer.m, layer.n);
            let mut e = vec![T::ZERO; n];
            e[n - 1] = T::from_f64(1.0);
            let mut col = vec![T::ZERO; m];
            self.apply(
                i,
                MatRef::from_column_major_slice(&e, n, 1),
                MatMut::from_column_major_slice_mut(&mut col, m, 1),
                Par::Seq,
                false,
                true,
            );
            col.iter_mut()
                .for_each(|v| *v = T::from_f64(v.to_f64() * beta));
            self.biases[i - 1] = Some(col);
        }
        self.biases[i - 1].as_deref()
    }

    fn line_batch(&self) -> usize {
        LAZY_LINE_BATCH
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Init;

    fn col(net: &mut LazyNet<f64>, i: usize, u: &[f64], left: bool) -> Vec<f64> {
        let (m, n) = net.arch.shape(i);
        let out_len = if left { n } else { m };
        let mut out = vec![0.0; out_len];
        let src = MatRef::from_column_major_slice(u, u.len(), 1);
        let dst = MatMut::from_column_major_slice_mut(&mut out, out_len, 1);
        if left {
            net.left(i, src, dst, Par::Seq);
        } else {
            net.right(i, src, dst, Par::Seq);
        }
        out
    }

    #[test]
    fn bases_stay_orthonormal_and_reveals_stop_at_full_rank() {
        let arch = Arch::new(6, vec![4], Init::Nn).unwrap();
        let mut net = LazyNet::<f64>::sample(&arch, 3, 0);
        for k in 0..9u64 {
            let mut r = rng::stream(1, k, rng::Purpose::Direction, 0, 0);
            let u = rng::sphere(&mut r, 6, 1.0);
            let v = rng::sphere(&mut r, 4, 1.0);
            col(&mut net, 1, &u, false);
            col(&mut net, 1, &v, true);
        }
        let (p, q) = net.revealed(1);
        // Once P spans R^4 the matrix is known (W = P B): no right reveal is needed.
        assert!(p <= 6 && q <= 4, "p {p} q {q}");
        let l = &net.layers[0];
        for h in [&l.right, &l.left] {
            for (a, x) in h.basis.iter().enumerate() {
                for (b, y) in h.basis.iter().enumerate() {
                    let d = dot(x, y);
                    let want = if a == b { 1.0 } else { 0.0 };
                    assert!((d - want).abs() < 1e-14, "<{a},{b}> = {d}");
                }
            }
        }
        // Consistency of the two blocks: p_j^T (W q_k) = (p_j^T W) q_k.
        for (k, qk) in l.right.basis.iter().enumerate() {
            for (j, pj) in l.left.basis.iter().enumerate() {
                let a = dot(pj, &l.right.image[k]);
                let b = dot(&l.left.image[j], qk);
                assert!((a - b).abs() < 1e-13, "({j},{k}): {a} vs {b}");
            }
        }
    }

    #[test]
    fn chunked_kernels_agree_sequential_and_parallel() {
        let n = 3 * CHUNK + 5;
        let mut r = rng::stream(2, 0, rng::Purpose::Direction, 0, 0);
        let vs: Vec<Vec<f64>> = (0..3).map(|_| rng::sphere(&mut r, n, 1.0)).collect();
        let u = rng::sphere(&mut r, n, 2.0);
        let dots = |par| {
            reduce(n, 3, par, |r| {
                vs.iter()
                    .map(|v| dot(&v[r.clone()], &u[r.clone()]))
                    .collect()
            })
        };
        assert_eq!(dots(true), dots(false));
        let combine = |par| {
            let mut a = u.clone();
            let c = reduce_mut(&mut a, 1, 1, par, |start, ac| {
                axpys(ac, &vs, &[1.0, -2.0, 0.5], 1.0, start..start + ac.len());
                vec![dot(ac, ac)]
            });
            (a, c)
        };
        assert_eq!(combine(true), combine(false));
    }
}
