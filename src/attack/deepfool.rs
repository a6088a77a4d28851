//! DeepFool in L2 for one output (MATH 3; Moosavi-Dezfooli, Fawzi, Frossard, CVPR 2016,
//! arXiv:1511.04599), a minimal-norm attack by iterated linearisation:
//!
//! ```text
//! x_{k+1} = x_k - (1 + overshoot) f(x_k) grad f(x_k) / ||grad f(x_k)||^2
//! ```
//!
//! until the sign of `f` differs from the sign of `f(x)`, each iterate clipped to the box for
//! box inputs (MATH 9). The returned point is the evaluated
//! iterate at which the sign first flipped.

use faer::Par;

use super::Domain;
use super::onestep::{Linearisation, linearise};
use crate::net::{Layers, Scaled};
use crate::scalar::Real;
use crate::vector::norm;

/// Result of DeepFool on one pair.
#[derive(Clone, Debug)]
pub struct DeepFool {
    /// The first iterate with a flipped sign (evaluated), if any.
    pub x_adv: Option<Vec<f64>>,
    /// `f(x_adv)`.
    pub f_adv: Option<Scaled>,
    /// `||x_adv - x|| / ||x||`.
    pub rho: Option<f64>,
    /// Steps taken.
    pub iterations: usize,
}

/// Runs L2 DeepFool from `x`, whose linearisation is `lin`.
pub fn l2_deepfool<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    lin: &Linearisation<T>,
    overshoot: f64,
    max_iter: usize,
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
    let (mut u, mut t) = (lin.direction.clone(), lin.t_lin);
    for k in 1..=max_iter {
        let step = (1.0 + overshoot) * t;
        xk.iter_mut().zip(&u).for_each(|(a, b)| *a += step * b);
        domain.project(&mut xk);
        let next = linearise::<T, N>(net, &xk, par);
        if next.f.flipped_from(lin.f) {
            let diff: Vec<f64> = xk.iter().zip(x).map(|(a, b)| a - b).collect();
            return DeepFool {
                rho: Some(norm(&diff) / norm(x)),
                x_adv: Some(xk),
                f_adv: Some(next.f),
                iterations: k,
            };
        }
        if next.dead {
            return fail(k);
        }
        u = next.direction;
        t = next.t_lin;
    }
    fail(max_iter)
}
