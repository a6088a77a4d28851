//! DeepFool for one output (MATH 3; Moosavi-Dezfooli, Fawzi, Frossard, CVPR 2016,
//! arXiv:1511.04599), a minimal-norm attack by iterated linearisation, in L2
//!
//! ```text
//! x_{k+1} = x_k - (1 + overshoot) f(x_k) grad f(x_k) / ||grad f(x_k)||^2
//! ```
//!
//! and in Linf `x_{k+1} = x_k - (1 + overshoot) f(x_k) sign(grad f(x_k)) / ||grad f(x_k)||_1`
//! (the step to the linearisation's boundary in each norm, MATH 3 "other norms"), until the
//! sign of `f` differs from the sign of `f(x)`, each iterate clipped to the box for box inputs
//! (MATH 9). The returned point is the evaluated
//! iterate at which the sign first flipped.

use faer::Par;

use super::onestep::{Linearisation, linearise};
use super::{Domain, Norm};
use crate::net::{Layers, Scaled};
use crate::scalar::Real;

/// Result of DeepFool on one pair.
#[derive(Clone, Debug)]
pub struct DeepFool {
    /// The first iterate with a flipped sign (evaluated), if any.
    pub x_adv: Option<Vec<f64>>,
    /// `f(x_adv)`.
    pub f_adv: Option<Scaled>,
    /// `||x_adv - x|| / ||x||` (the distance in the attack's norm, over the L2 norm of `x`).
    pub rho: Option<f64>,
    /// Steps taken.
    pub iterations: usize,
}

/// Runs DeepFool in `norm` from `x`, whose linearisation is `lin`.
#[allow(clippy::too_many_arguments)]
pub fn deepfool<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    lin: &Linearisation<T>,
    overshoot: f64,
    max_iter: usize,
    norm: Norm,
    domain: Domain,
    par: Par,
) -> DeepFool {
    let fail = |iterations| DeepFool {
        x_adv: None,
        f_adv: None,
        rho: None,
        iterations,
    };
    if lin.dead {
        return fail(0);
    }
    let mut xk = x.to_vec();
    let (mut u, mut t) = lin.steepest(norm);
    for k in 1..=max_iter {
        let step = (1.0 + overshoot) * t;
        xk.iter_mut().zip(&u).for_each(|(a, b)| *a += step * b);
        domain.project(&mut xk);
        let next = linearise::<T, N>(net, &xk, par);
        if next.f.flipped_from(lin.f) {
            let diff: Vec<f64> = xk.iter().zip(x).map(|(a, b)| a - b).collect();
            return DeepFool {
                rho: Some(norm.of(&diff) / crate::vector::norm(x)),
                x_adv: Some(xk),
                f_adv: Some(next.f),
                iterations: k,
            };
        }
        if next.dead {
            return fail(k);
        }
        (u, t) = next.steepest(norm);
    }
    fail(max_iter)
}
