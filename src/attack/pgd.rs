//! Projected gradient descent with a fixed budget (MATH 3; Madry et al., ICLR 2018,
//! arXiv:1706.06083): ascend `-sign(f(x)) f` with steps of size `2.5 eps / steps` along the
//! steepest direction of the norm (L2: the normalised gradient; Linf: its sign, MATH 3 "other
//! norms"), projecting exactly onto the ball `||x' - x|| <= eps` after each step (L2: a radial
//! rescaling; Linf: clipping each coordinate), from `x` or from a uniform point of the ball.
//! All budgets run together as the columns of one batch. A run succeeds at the first evaluated
//! iterate whose sign differs from `f(x)`'s.

use faer::{MatRef, Par};
use rand::RngExt;

use super::{Domain, Norm};
use crate::net::{Layers, Scaled, backward, forward};
use crate::rng::{self, Purpose};
use crate::scalar::Real;
use crate::vector::norm;

/// Settings of the attack.
#[derive(Clone, Debug)]
pub struct PgdSettings {
    /// Budgets relative to `||x||` (the L2 norm of `x`, in either norm).
    pub eps: Vec<f64>,
    /// The norm of the ball (MATH 3, "other norms").
    pub norm: Norm,
    /// Gradient steps per budget.
    pub steps: usize,
    /// Start from a uniform point of the ball instead of `x`.
    pub random_start: bool,
    /// Where the iterates may lie: after the projection onto the ball, box inputs clip to the
    /// box (MATH 9), which keeps them in the ball.
    pub domain: Domain,
}

/// Result for one budget.
#[derive(Clone, Debug)]
pub struct PgdRun {
    /// Budget relative to `||x||`.
    pub eps: f64,
    /// The first flipping iterate (evaluated), if any.
    pub x_adv: Option<Vec<f64>>,
    /// `f(x_adv)`.
    pub f_adv: Option<Scaled>,
    /// `||x_adv - x|| / ||x||` in the attack's norm (at most `eps`).
    pub rho: Option<f64>,
}

/// Projects `v` onto the ball of radius `r` around `c`, in place (exact: a radial rescaling of
/// `v - c` when it lies outside).
pub fn project_l2(v: &mut [f64], c: &[f64], r: f64) {
    let n = v
        .iter()
        .zip(c)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    if n > r {
        let s = r / n;
        v.iter_mut().zip(c).for_each(|(a, b)| *a = b + (*a - b) * s);
    }
}

/// Projects `v` onto the Linf ball of radius `r` around `c`, in place (coordinate-wise
/// clipping, exact).
pub fn project_linf(v: &mut [f64], c: &[f64], r: f64) {
    v.iter_mut()
        .zip(c)
        .for_each(|(a, b)| *a = a.clamp(b - r, b + r));
}

/// Runs PGD in `settings.norm` from `x` for every budget; `f0` is `f(x)`. Random starts use
/// the streams
/// `(seed, trial, Direction, 3, budget index)`.
#[allow(clippy::too_many_arguments)]
pub fn pgd<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    f0: Scaled,
    settings: &PgdSettings,
    seed: u64,
    trial: u64,
    par: Par,
) -> Vec<PgdRun> {
    let d = x.len();
    let nx = norm(x);
    let s0 = f0.sign();
    let m = settings.eps.len();
    let radius: Vec<f64> = settings.eps.iter().map(|e| e * nx).collect();
    let mut pts: Vec<Vec<f64>> = (0..m)
        .map(|e| {
            if settings.random_start {
                let mut r = rng::stream(seed, trial, Purpose::Direction, 3, e as u64);
                match settings.norm {
                    Norm::L2 => {
                        let u = rng::sphere(&mut r, d, 1.0);
                        // Uniform in the ball: radius R U^(1/d).
                        let rad = radius[e] * r.random::<f64>().powf(1.0 / d as f64);
                        settings.domain.point(x, &u, rad)
                    }
                    Norm::Linf => {
                        // Uniform in the cube: each coordinate uniform in [-R, R].
                        let u: Vec<f64> = (0..d).map(|_| r.random_range(-1.0..=1.0)).collect();
                        settings.domain.point(x, &u, radius[e])
                    }
                }
            } else {
                x.to_vec()
            }
        })
        .collect();
    let mut runs: Vec<PgdRun> = settings
        .eps
        .iter()
        .map(|&eps| PgdRun {
            eps,
            x_adv: None,
            f_adv: None,
            rho: None,
        })
        .collect();
    if s0 == 0.0 {
        return runs;
    }
    for step in 0..=settings.steps {
        let active: Vec<usize> = (0..m).filter(|&e| runs[e].x_adv.is_none()).collect();
        if active.is_empty() {
            break;
        }
        let mut buf = Vec::with_capacity(d * active.len());
        for &e in &active {
            buf.extend(pts[e].iter().map(|&a| T::from_f64(a)));
        }
        let trace = forward(
            net,
            MatRef::from_column_major_slice(&buf, d, active.len()),
            par,
        );
        for (c, &e) in active.iter().enumerate() {
            let f = trace.f(c);
            if f.flipped_from(f0) {
                let diff: Vec<f64> = pts[e].iter().zip(x).map(|(a, b)| a - b).collect();
                runs[e].rho = Some(settings.norm.of(&diff) / nx);
                runs[e].f_adv = Some(f);
                runs[e].x_adv = Some(pts[e].clone());
            }
        }
        if step == settings.steps {
            break;
        }
        let grad = backward(net, &trace, par);
        for (c, &e) in active.iter().enumerate() {
            if runs[e].x_adv.is_some() || trace.dead[c] {
                continue;
            }
            let g = grad.col(c);
            let gn = crate::vector::norm(g);
            if gn == 0.0 {
                continue;
            }
            let alpha = 2.5 * radius[e] / settings.steps as f64;
            let p = &mut pts[e];
            match settings.norm {
                Norm::L2 => {
                    let s = -s0 * alpha / gn;
                    p.iter_mut().zip(g).for_each(|(a, v)| *a += s * v.to_f64());
                    project_l2(p, x, radius[e]);
                }
                Norm::Linf => {
                    // The steepest unit step of Linf: the sign of the gradient.
                    let s = -s0 * alpha;
                    for (a, v) in p.iter_mut().zip(g) {
                        let v = v.to_f64();
                        if v != 0.0 {
                            *a += s * v.signum();
                        }
                    }
                    project_linf(p, x, radius[e]);
                }
            }
            settings.domain.project(&mut pts[e]);
        }
    }
    runs
}
