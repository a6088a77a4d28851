//! Minimal flip along the gradient ray (MATH 3): the smallest `t > 0` with
//! `sign f(x - t sign(f(x)) grad f(x) / ||grad f(x)||) != sign f(x)`, by bracketing and
//! bisection to relative tolerance 1e-6. Linear prediction: `t = |f(x)| / ||grad f(x)||`. In
//! Linf the ray follows `-sign(f(x)) sign(grad f(x))` and the prediction is
//! `|f(x)| / ||grad f(x)||_1` (MATH 3, "other norms"). For box inputs (MATH 9) the points of
//! the ray are clipped to the box.

use faer::Par;

use super::onestep::{Linearisation, REL_TOL};
use super::{Domain, Norm, Target, geometric, refine, scan};
use crate::net::{Layers, Scaled};
use crate::scalar::Real;

/// Result of the ray attack.
#[derive(Clone, Copy, Debug)]
pub struct RayFlip {
    /// The flipping step `t` (absolute, along the unit direction of the norm), `None` if no
    /// flip up to `2^20` times the linear one.
    pub t: Option<f64>,
    /// `t ||grad f(x)||_q / |f(x)|` (prediction 1).
    pub t_ratio: Option<f64>,
    /// `f` at the reported point, evaluated: its sign differs from `f(x)`'s.
    pub f_adv: Option<Scaled>,
}

/// Runs the ray search in `norm` from the linearisation at `x`.
pub fn ray_flip<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    lin: &Linearisation<T>,
    norm: Norm,
    domain: Domain,
    par: Par,
) -> RayFlip {
    if lin.dead {
        return RayFlip {
            t: None,
            t_ratio: None,
            f_adv: None,
        };
    }
    let f = lin.f;
    let (u, t_lin) = lin.steepest(norm);
    // Grid in units of the linear prediction: 2^(k/2) / 8, k = 0..=46, i.e. 1/8 .. 2^20.
    let grid: Vec<f64> = geometric(0.125, 2f64.sqrt(), 47)
        .into_iter()
        .map(|c| c * t_lin)
        .collect();
    // phi = -sign(f(x)) f / |f(x)|: -1 at x, positive once the sign has flipped.
    let target = Target {
        phi: |g: Scaled| -g.ratio(f),
        holds: |g: Scaled| g.flipped_from(f),
    };
    let u = &u;
    let found = scan(net, x, u, &grid, (0.0, -1.0), &target, domain, par)
        .1
        .map(|(lo, hi)| refine(net, x, u, lo, hi, &target, REL_TOL, domain, par));
    match found {
        Some(c) => RayFlip {
            t: Some(c.t),
            t_ratio: Some(c.t / t_lin),
            f_adv: Some(c.f),
        },
        None => RayFlip {
            t: None,
            t_ratio: None,
            f_adv: None,
        },
    }
}
