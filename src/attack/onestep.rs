//! The one-step attack of Theorem 1.1 (MATH 3):
//!
//! x' = x - 2 f(x) grad f(x) / ||grad f(x)||^2,   rho = ||x' - x|| / ||x||,
//!
//! the step that maps a linear function to its mirror image. Also the smallest step factor
//! `c >= 2` (step `c |f| / ||grad||` along `-sign(f) grad`) at which `|f(x')| >= |f(x)|`, the
//! paper's second clause (prediction: `c -> 2`).

use faer::{MatRef, Par};

use super::{Domain, Target, f_along, geometric, refine, scan};
use crate::net::{Grad, Layers, Scaled, Trace, backward, forward};
use crate::scalar::Real;
use crate::vector::norm;

/// Result of the one-step attack on one `(network, x)` pair.
#[derive(Clone, Debug)]
pub struct OneStep {
    /// `f(x)`.
    pub f: Scaled,
    /// `||grad f(x)||`.
    pub grad_norm: Scaled,
    /// True if the network is dead at `x` (MATH 2), or its unscaled pass overflowed there
    /// (MATH 9; see `overflow`); nothing below is meaningful then.
    pub dead: bool,
    /// The unscaled forward pass overflowed at `x` (MATH 9): `f` is not a number.
    pub overflow: bool,
    /// `||x' - x|| / ||x||`.
    pub rho: f64,
    /// `f(x')`, evaluated.
    pub f_adv: Scaled,
    /// `sign f(x') != sign f(x)`, checked on the evaluated value; a landing on `f(x') = 0`
    /// counts (MATH 3).
    pub success: bool,
    /// Smallest `c >= 2` with `sign f != sign f(x)` and `|f| >= |f(x)|` at step `c |f|/||grad||`
    /// (bracketing and bisection to relative tolerance 1e-6); `None` if not found up to 2048.
    pub c_min: Option<f64>,
    /// Unit attack direction `-sign(f) grad / ||grad||` (empty when dead).
    pub direction: Vec<f64>,
    /// The linear-model distance to the decision boundary, `|f(x)| / ||grad f(x)||`.
    pub t_lin: f64,
}

/// Relative tolerance of line searches.
pub const REL_TOL: f64 = 1e-6;

/// The forward pass, gradient and attack direction at a single input.
pub struct Linearisation<T> {
    /// Forward trace at `x`.
    pub trace: Trace<T>,
    /// Gradient at `x`.
    pub grad: Grad<T>,
    /// `f(x)`.
    pub f: Scaled,
    /// `||grad f(x)||`.
    pub grad_norm: Scaled,
    /// `-sign(f) grad / ||grad||` in `f64` (empty when dead).
    pub direction: Vec<f64>,
    /// `|f| / ||grad||` (0 when dead).
    pub t_lin: f64,
    /// Dead at `x`, or overflowed.
    pub dead: bool,
    /// The unscaled forward pass overflowed at `x` (MATH 9).
    pub overflow: bool,
}

impl<T> Linearisation<T> {
    /// The steepest unit direction of `norm` (flipping towards the boundary) and the linear
    /// step `|f| / ||grad f||_q` to the boundary along it (MATH 3, "other norms").
    pub fn steepest(&self, norm: super::Norm) -> (Vec<f64>, f64) {
        norm.steepest(&self.direction, self.t_lin)
    }
}

/// Forward and backward at `x`, and the attack direction.
pub fn linearise<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    par: Par,
) -> Linearisation<T> {
    let xt: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
    let trace = forward(net, MatRef::from_column_major_slice(&xt, x.len(), 1), par);
    let grad = backward(net, &trace, par);
    let f = trace.f(0);
    let grad_norm = grad.norm(0);
    let overflow = trace.overflow[0] || f.is_overflow() || grad_norm.is_overflow();
    let dead = overflow || trace.dead[0] || f.is_zero() || grad_norm.is_zero();
    let (direction, t_lin) = if dead {
        (Vec::new(), 0.0)
    } else {
        let s = -f.sign() / grad_norm.mant;
        let u = grad.col(0).iter().map(|g| g.to_f64() * s).collect();
        (u, f.ratio(grad_norm).abs())
    };
    Linearisation {
        trace,
        grad,
        f,
        grad_norm,
        direction,
        t_lin,
        dead,
        overflow,
    }
}

/// Runs the one-step attack at `x`; with `with_c`, also searches the smallest factor `c`.
pub fn one_step<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    with_c: bool,
    par: Par,
) -> OneStep {
    let lin = linearise::<T, N>(net, x, par);
    one_step_from(net, x, lin, with_c, par)
}

/// The one-step attack given the linearisation at `x`.
pub fn one_step_from<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    lin: Linearisation<T>,
    with_c: bool,
    par: Par,
) -> OneStep {
    let Linearisation {
        f,
        grad_norm,
        direction: u,
        t_lin,
        dead,
        overflow,
        ..
    } = lin;
    if dead {
        return OneStep {
            f,
            grad_norm,
            dead,
            overflow,
            rho: f64::NAN,
            f_adv: Scaled { mant: 0.0, log2: 0 },
            success: false,
            c_min: None,
            direction: u,
            t_lin,
        };
    }
    let step = 2.0 * t_lin;
    let x_adv: Vec<f64> = x.iter().zip(&u).map(|(a, b)| a + step * b).collect();
    let diff: Vec<f64> = x_adv.iter().zip(x).map(|(a, b)| a - b).collect();
    let rho = norm(&diff) / norm(x);
    let flips = |g: Scaled| g.flipped_from(f);
    // phi = -f(x')/f(x) - 1 >= 0: the sign flipped and |f(x')| >= |f(x)|.
    let target = Target {
        phi: |g: Scaled| -g.ratio(f) - 1.0,
        holds: |g: Scaled| flips(g) && g.ratio(f) <= -1.0,
    };
    let (f_adv, c_min) = if with_c {
        // Steps in units of t_lin: c = 2 * 2^(k/4), k = 0..=40 (up to 2048); the first is the
        // one-step point itself, evaluated in the same batch.
        let grid: Vec<f64> = geometric(2.0, 2f64.powf(0.25), 41)
            .into_iter()
            .map(|c| c * t_lin)
            .collect();
        let (f_adv, found) = scan(net, x, &u, &grid, (0.0, -1.0), &target, Domain::Free, par);
        let c_min = found.map(|(lo, hi)| {
            if hi.t == grid[0] {
                2.0
            } else {
                refine(net, x, &u, lo, hi, &target, REL_TOL, Domain::Free, par).t / t_lin
            }
        });
        (f_adv, c_min)
    } else {
        (f_along(net, x, &u, &[step], Domain::Free, par)[0], None)
    };
    let success = flips(f_adv);
    OneStep {
        f,
        grad_norm,
        dead,
        overflow,
        rho,
        f_adv,
        success,
        c_min,
        direction: u,
        t_lin,
    }
}
