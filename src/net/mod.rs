//! Networks as operators (MATH 1-2): a network answers batched right products `W_i H`
//! (forward) and left products `W_i^T G` (backward), so attacks and measurements never touch
//! the weights. The dense network stores its matrices; the lazy one (MATH 8) reveals them on
//! demand behind the same trait, and [`Net`] holds either.

pub mod dense;
pub mod jacobian;
pub mod lazy;
pub mod trace;

use faer::{MatMut, MatRef, Par};

use crate::arch::Arch;
use crate::choice::Choice;
use crate::scalar::Real;

pub use dense::DenseNet;
pub use lazy::LazyNet;
pub use trace::{
    Grad, Scaled, Trace, backward, backward_into, forward, forward_into, forward_keep,
};

/// Products with the weight matrices `W_1, ..., W_{l+1}` of one network.
///
/// Layer indices run from 1 (`W_1`, `d_1 x d_0`) to `l + 1` (the output row, `1 x d_l`).
pub trait Layers<T: Real> {
    /// The architecture.
    fn arch(&self) -> &Arch;

    /// `dst = W_i src`, `src` of shape `d_{i-1} x B`, `dst` of shape `d_i x B`.
    ///
    /// # Panics
    /// On a shape mismatch or `i` outside `1..=l+1`.
    fn right(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par);

    /// `dst = W_i^T src`, `src` of shape `d_i x B`, `dst` of shape `d_{i-1} x B`.
    ///
    /// # Panics
    /// On a shape mismatch or `i` outside `1..=l+1`.
    fn left(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par);

    /// The bias `b_i` of layer `i` in `1..=l+1`, if the network has biases (MATH 9). Added to
    /// `W_i h` by the forward pass only: [`Layers::right`] stays linear, for the Jacobian
    /// products of MATH 5.
    fn bias(&mut self, _i: usize) -> Option<&[T]> {
        None
    }

    /// The label whose margin the forward pass reports when `K >= 2` (MATH 9): an attack on
    /// `x` fixes `y = argmax F(x)` ([`Labelled`]); `None` takes the argmax at each point.
    fn label(&self) -> Option<usize> {
        None
    }

    /// Points a line scan should evaluate per forward pass (refinement takes at least 3).
    /// Stored weights answer a wide batch with one GEMM; a lazy network pays a reveal per new
    /// point, so it asks for few.
    fn line_batch(&self) -> usize {
        DENSE_LINE_BATCH
    }
}

/// A network whose margin is taken against a fixed label `y` (MATH 9, `K >= 2`): the attacks
/// of MATH 3 run unchanged on `m(x) = F_y(x) - max_{j != y} F_j(x)`, and a sign change of `m`
/// is a change of the argmax away from `y` (a tie, `m = 0`, counts, as a landing on `f = 0`
/// does for `K = 1`).
pub struct Labelled<'a, N: ?Sized> {
    /// The network.
    pub net: &'a mut N,
    /// The label `y`.
    pub label: usize,
}

impl<T: Real, N: Layers<T> + ?Sized> Layers<T> for Labelled<'_, N> {
    fn arch(&self) -> &Arch {
        self.net.arch()
    }
    fn right(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        self.net.right(i, src, dst, par)
    }
    fn left(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        self.net.left(i, src, dst, par)
    }
    fn bias(&mut self, i: usize) -> Option<&[T]> {
        self.net.bias(i)
    }
    fn label(&self) -> Option<usize> {
        Some(self.label)
    }
    fn line_batch(&self) -> usize {
        self.net.line_batch()
    }
}

/// Points per forward pass in line searches on stored weights.
pub const DENSE_LINE_BATCH: usize = 16;

/// Which sampler a network comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// Every `W_i` sampled and stored ([`DenseNet`]).
    Dense,
    /// Weights revealed by Gaussian conditioning (MATH 8, [`LazyNet`]).
    Lazy,
}

/// `--sampler`: a sampler, or `auto` to let the cost model choose ([`SamplerChoice::resolve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplerChoice {
    /// Sample and store every weight matrix.
    Dense,
    /// Reveal the weights by Gaussian conditioning (MATH 8).
    Lazy,
    /// Lazy when each network answers so few queries that revealing is cheaper than sampling;
    /// dense otherwise. The choice depends on the architecture and the attack alone, never on
    /// the machine, so a seed gives the same numbers everywhere.
    Auto,
}

impl Choice for SamplerChoice {
    const FLAG: &'static str = "--sampler";
    const ALL: &'static [(&'static str, Self)] = &[
        ("dense", SamplerChoice::Dense),
        ("lazy", SamplerChoice::Lazy),
        ("auto", SamplerChoice::Auto),
    ];
}

impl SamplerChoice {
    /// The sampler to run. `auto` takes the lazy one when its cost model says revealing is
    /// cheaper (it never looks at the machine's memory: a run that does not fit is refused with
    /// the alternative, so the same arguments give the same numbers everywhere): a dense
    /// network costs `sum_i d_i d_{i-1}` Gaussian draws, a lazy one about
    /// `sum_i (d_i + d_{i-1}) k^2` streamed multiply-adds for `k` queries per layer (the `j`-th
    /// reveal is orthogonalised against the `j - 1` before it, and every answer reads all of
    /// them), and a multiply-add from cache costs about [`LAZY_COST_RATIO`]`^-1` of a draw.
    pub fn resolve(self, arch: &Arch, queries: usize) -> Sampler {
        match self {
            SamplerChoice::Dense => Sampler::Dense,
            SamplerChoice::Lazy => Sampler::Lazy,
            SamplerChoice::Auto => {
                let k = queries as u128;
                let (mut dense, mut lazy) = (0u128, 0u128);
                for i in 1..=arch.depth() + 1 {
                    let (m, n) = arch.shape(i);
                    dense = dense.saturating_add((m as u128).saturating_mul(n as u128));
                    lazy = lazy.saturating_add((m as u128 + n as u128).saturating_mul(k * k));
                }
                if lazy < LAZY_COST_RATIO.saturating_mul(dense) {
                    Sampler::Lazy
                } else {
                    Sampler::Dense
                }
            }
        }
    }
}

/// Gaussian draws per lazy multiply-add in the cost model of `auto`. Measured with the one-step
/// attack on fresh `d,d,d` networks: lazy was 3.5 times faster at `d = 100` and 54 times at
/// `d = 1000`, which puts the ratio between 17 and 26; 16 leans towards the dense sampler.
pub const LAZY_COST_RATIO: u128 = 16;

/// Where an experiment's networks come from: sampled per trial from the architecture and the
/// seed, as everywhere in the paper, or one given network (a user's own weights), the same at
/// every trial while each trial still draws its own input `x` from the seed.
#[derive(Clone, Debug, Default)]
pub enum Source {
    /// Trial `t` gets the network of `(seed, t)` from the run's sampler.
    #[default]
    Sampled,
    /// Every trial measures this network (kept in `f64`, which holds `f32` weights exactly).
    Given(std::sync::Arc<DenseNet<f64>>),
}

impl Source {
    /// The network of trial `(seed, trial)`: sampled from `sampler`, or the given one in `T`,
    /// shared (not copied) when `T` is `f64`, so that every worker of a run measures the one
    /// stored copy; in `f32` each worker rounds its own.
    pub fn net<T: Real>(&self, sampler: Sampler, arch: &Arch, seed: u64, trial: u64) -> Net<T> {
        match self {
            Source::Sampled => Net::sample(sampler, arch, seed, trial),
            Source::Given(n) => {
                let any: std::sync::Arc<dyn std::any::Any + Send + Sync> = n.clone();
                match any.downcast::<DenseNet<T>>() {
                    Ok(same) => Net::Given(same),
                    Err(_) => Net::Dense(n.convert()),
                }
            }
        }
    }

    /// Makes `net` the network of trial `(seed, trial)`, reusing its storage.
    pub fn renew<T: Real>(&self, net: &mut Net<T>, seed: u64, trial: u64) {
        if let Source::Sampled = self {
            net.resample(seed, trial);
        }
    }

    /// Whether it is one given network.
    pub fn is_given(&self) -> bool {
        matches!(self, Source::Given(_))
    }
}

/// A network from either sampler, behind one [`Layers`] interface.
#[derive(Clone, Debug)]
pub enum Net<T> {
    /// Stored weights.
    Dense(DenseNet<T>),
    /// Revealed weights.
    Lazy(LazyNet<T>),
    /// Stored weights shared with the run's other workers (a given network, [`Source::Given`]).
    Given(std::sync::Arc<DenseNet<T>>),
}

impl<T: Real> Net<T> {
    /// The network of `(seed, trial)` from `sampler`.
    pub fn sample(sampler: Sampler, arch: &Arch, seed: u64, trial: u64) -> Self {
        match sampler {
            Sampler::Dense => Net::Dense(DenseNet::sample(arch, seed, trial)),
            Sampler::Lazy => Net::Lazy(LazyNet::sample(arch, seed, trial)),
        }
    }

    /// Becomes the network of `(seed, trial)`, reusing storage where it can.
    pub fn resample(&mut self, seed: u64, trial: u64) {
        match self {
            Net::Dense(n) => n.resample(seed, trial),
            Net::Lazy(n) => n.resample(seed, trial),
            // Copies the shared weights first (a given network is never resampled in a run).
            Net::Given(n) => std::sync::Arc::make_mut(n).resample(seed, trial),
        }
    }
}

impl<T: Real> Layers<T> for Net<T> {
    fn arch(&self) -> &Arch {
        match self {
            Net::Dense(n) => n.arch(),
            Net::Lazy(n) => n.arch(),
            Net::Given(n) => n.arch(),
        }
    }

    fn right(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        match self {
            Net::Dense(n) => n.right(i, src, dst, par),
            Net::Lazy(n) => n.right(i, src, dst, par),
            Net::Given(n) => n.times(i, src, dst, par),
        }
    }

    fn left(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        match self {
            Net::Dense(n) => n.left(i, src, dst, par),
            Net::Lazy(n) => n.left(i, src, dst, par),
            Net::Given(n) => n.times_transpose(i, src, dst, par),
        }
    }

    fn bias(&mut self, i: usize) -> Option<&[T]> {
        match self {
            Net::Dense(n) => n.bias(i),
            Net::Lazy(n) => n.bias(i),
            Net::Given(n) => n.bias_data(i),
        }
    }

    fn line_batch(&self) -> usize {
        match self {
            Net::Dense(n) => n.line_batch(),
            Net::Lazy(n) => n.line_batch(),
            Net::Given(n) => n.line_batch(),
        }
    }
}
