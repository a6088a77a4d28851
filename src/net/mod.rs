//! Networks as operators (MATH 1-2): a network answers batched right products `W_i H`
//! (forward) and left products `W_i^T G` (backward), so attacks and measurements never touch
//! the weights. The dense network stores its matrices; the lazy one (MATH 8) will reveal them
//! on demand behind the same trait.

pub mod dense;
pub mod jacobian;
pub mod trace;

use faer::{MatMut, MatRef, Par};

use crate::arch::Arch;
use crate::scalar::Real;

pub use dense::DenseNet;
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
}
