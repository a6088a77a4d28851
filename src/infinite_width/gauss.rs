//! The Gaussian integrals of the kernel recursion (MATH 9): `E phi(u)^2`, `E phi(u) phi(v)` and
//! the same for `phi'`, in closed form where one exists, else by composite Gauss-Legendre
//! quadrature refined around the activation's bend; and Brent's root finder.

use std::f64::consts::{FRAC_2_PI, PI};
use std::sync::OnceLock;

use crate::act::{Act, normal_pdf};

// ---------------------------------------------------------------------------------------------
// Gaussian expectations
// ---------------------------------------------------------------------------------------------

/// Which function of the activation an expectation integrates: the forward recursion needs
/// `phi`, the gradient recursion `phi'`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// `phi`.
    Phi,
    /// `phi'` (the backward pass's `D_i`, MATH 9).
    Dphi,
}

impl Func {
    /// `f(t)` for `act`.
    pub(super) fn eval(self, act: Act, t: f64) -> f64 {
        match self {
            Func::Phi => act.phi(t),
            Func::Dphi => act.dphi(t),
        }
    }
}

/// `E[f(u)]` for `u ~ N(0, q)`, `q > 0`.
///
/// Closed form for relu, leaky, abs, erf and square, quadrature otherwise (module docs).
pub fn mean(act: Act, f: Func, q: f64) -> f64 {
    closed_mean(act, f, q).unwrap_or_else(|| quad_mean(|u| f.eval(act, u), q, bend(act)))
}

/// `E[f(u)^2]` for `u ~ N(0, q)`, `q > 0`: the one-layer step of the `q` and gradient
/// recursions.
pub fn second_moment(act: Act, f: Func, q: f64) -> f64 {
    closed_cross(act, f, q, q, 1.0).unwrap_or_else(|| {
        quad_mean(
            |u| {
                let v = f.eval(act, u);
                v * v
            },
            q,
            bend(act),
        )
    })
}

/// `E[f(u) f(v)]` for a centred Gaussian pair with variances `q1, q2 > 0` and correlation `c`
/// (clamped to `[-1, 1]`, since a correlation computed by the recursion can overshoot 1 by a
/// rounding error).
///
/// Only equal functions on both sides: the correlation map needs `E[phi(u) phi(v)]`, and
/// `sqrt(q1 q2) E[phi'(u) phi'(v)]` is its derivative in `c` (Price's theorem), the slope of
/// the correlation map (`chi_1` at `c = 1`, Schoenholz et al.).
pub fn cross_moment(act: Act, f: Func, q1: f64, q2: f64, c: f64) -> f64 {
    let c = c.clamp(-1.0, 1.0);
    closed_cross(act, f, q1, q2, c)
        .unwrap_or_else(|| quad_cross(|u| f.eval(act, u), q1, q2, c, bend(act)))
}

/// `(alpha, beta)` with `phi(t) = alpha t + beta |t|`, for the piecewise-linear activations:
/// relu `(1/2, 1/2)`, leaky:A `((1+A)/2, (1-A)/2)`, abs `(0, 1)` (leaky with slope -1). One
/// formula then gives all their kernels.
pub(super) fn piecewise_linear(act: Act) -> Option<(f64, f64)> {
    match act {
        Act::Relu => Some((0.5, 0.5)),
        Act::Leaky(a) => Some((0.5 * (1.0 + a), 0.5 * (1.0 - a))),
        Act::Abs => Some((0.0, 1.0)),
        _ => None,
    }
}

/// `E[f(u)]` in closed form, where there is one. For `phi = alpha t + beta |t|`:
/// `E phi(u) = beta E|u| = beta sqrt(2q/pi)`, `E phi'(u) = alpha + beta E sign(u) = alpha`.
pub(super) fn closed_mean(act: Act, f: Func, q: f64) -> Option<f64> {
    if let Some((a, b)) = piecewise_linear(act) {
        return Some(match f {
            Func::Phi => b * (FRAC_2_PI * q).sqrt(),
            Func::Dphi => a,
        });
    }
    match (act, f) {
        (Act::Erf, Func::Phi) | (Act::Square, Func::Dphi) => Some(0.0),
        // erf' = (2/sqrt pi) e^{-t^2} and E e^{-u^2} = 1/sqrt(1 + 2q).
        (Act::Erf, Func::Dphi) => Some(2.0 / (PI * (1.0 + 2.0 * q)).sqrt()),
        (Act::Square, Func::Phi) => Some(q),
        _ => None,
    }
}

/// `E[f(u) f(v)]` in closed form, where there is one.
///
/// - `phi = alpha t + beta |t|` (Cho and Saul's arc-cosine kernels of degree 1 and 0, written
///   through `E|x||y| = (2/pi)(sqrt(1-c^2) + c asin c)` and `E sign(x) sign(y) = (2/pi) asin c`;
///   the cross terms `E[x |y|]` vanish by symmetry).
/// - erf: Williams' arcsin kernel `(2/pi) asin(2 c12 / sqrt((1+2q1)(1+2q2)))`, `c12` the
///   covariance; `E[erf'(u) erf'(v)] = (4/pi) det(I + 2 Sigma)^{-1/2}`, the determinant written
///   `1 + 2q1 + 2q2 + 4 q1 q2 (1-c)(1+c)` to avoid cancellation at `c = 1`.
/// - square: `E[u^2 v^2] = q1 q2 (1 + 2c^2)`, `E[2u 2v] = 4 c12`.
pub(super) fn closed_cross(act: Act, f: Func, q1: f64, q2: f64, c: f64) -> Option<f64> {
    let s12 = (q1 * q2).sqrt();
    if let Some((a, b)) = piecewise_linear(act) {
        let asin = c.asin();
        return Some(match f {
            Func::Phi => {
                let abs_abs = FRAC_2_PI * (((1.0 - c) * (1.0 + c)).sqrt() + c * asin);
                s12 * (a * a * c + b * b * abs_abs)
            }
            Func::Dphi => a * a + b * b * FRAC_2_PI * asin,
        });
    }
    match (act, f) {
        (Act::Erf, Func::Phi) => {
            let z = 2.0 * c * s12 / ((1.0 + 2.0 * q1) * (1.0 + 2.0 * q2)).sqrt();
            Some(FRAC_2_PI * z.clamp(-1.0, 1.0).asin())
        }
        (Act::Erf, Func::Dphi) => {
            let det = 1.0 + 2.0 * q1 + 2.0 * q2 + 4.0 * q1 * q2 * (1.0 - c) * (1.0 + c);
            Some(2.0 * FRAC_2_PI / det.sqrt())
        }
        (Act::Square, Func::Phi) => Some(q1 * q2 * (1.0 + 2.0 * c * c)),
        (Act::Square, Func::Dphi) => Some(4.0 * c * s12),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Quadrature
// ---------------------------------------------------------------------------------------------

/// Gauss-Legendre nodes per panel. A panel next to a pole at distance comparable to its
/// width (tanh: poles at `+-i pi/2`) converges like `5^{-2n}`: 1e-14 at `n = 10`.
pub(super) const ORDER: usize = 10;
/// Integrals against the standard normal density stop at `+-TAIL`: the mass beyond is
/// `2 Phi(-9) = 2e-19`, and the integrands grow at most like `t^4` there.
pub(super) const TAIL: f64 = 9.0;
/// The widest panel: a 10-node rule integrates `e^{-t^2/2}` over any interval of width 2 to
/// rounding.
pub(super) const WIDEST: f64 = 2.0;
/// The narrowest first panel (a bend at `q = 1e18`); also keeps the panel walk finite for a
/// zero or NaN width.
pub(super) const NARROWEST: f64 = 1e-9;
/// Where `phi` bends, in units of `u`: around 0, on a scale of 1 for the smooth activations
/// (the nearest complex singularities of tanh and softplus are at distance `pi/2` and `pi`),
/// at a point for the kinked ones (whose integrals have closed forms; the quadrature of them
/// only checks those).
pub(super) fn bend(act: Act) -> f64 {
    if piecewise_linear(act).is_some() {
        0.0
    } else {
        1.0
    }
}

/// Gauss-Legendre nodes and weights on `[-1, 1]` (Newton's iteration on the three-term
/// recurrence, computed once).
pub(super) fn legendre() -> &'static [(f64, f64); ORDER] {
    static RULE: OnceLock<[(f64, f64); ORDER]> = OnceLock::new();
    RULE.get_or_init(|| {
        let n = ORDER as f64;
        std::array::from_fn(|i| {
            let mut x = (PI * (i as f64 + 0.75) / (n + 0.5)).cos();
            let mut dp = 1.0;
            for _ in 0..100 {
                let (mut p0, mut p1) = (1.0, x);
                for k in 2..=ORDER {
                    let k = k as f64;
                    (p0, p1) = (p1, ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k);
                }
                dp = n * (x * p1 - p0) / (x * x - 1.0);
                let dx = p1 / dp;
                x -= dx;
                if dx.abs() <= 1e-16 {
                    break;
                }
            }
            (x, 2.0 / ((1.0 - x * x) * dp * dp))
        })
    })
}

/// `int_a^b h(t) dt` by one Gauss-Legendre panel.
pub(super) fn panel(h: &impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
    half * legendre()
        .iter()
        .map(|&(x, w)| w * h(mid + half * x))
        .sum::<f64>()
}

/// `int_lo^hi h(t) dt` for an `h` that bends at `t0` on the scale `w`: panels of width `w`,
/// `2w`, `4w`, ... walk outwards from `t0` to both ends, no wider than `widest`. Each panel
/// then sees the bend at a distance comparable to its own width, where Gauss-Legendre
/// converges geometrically. A bend outside `[lo, hi]` is as far from the nearest end as it is
/// outside, and the walk starts there with panels that wide.
pub(super) fn integrate(
    h: impl Fn(f64) -> f64,
    t0: f64,
    w: f64,
    widest: f64,
    lo: f64,
    hi: f64,
) -> f64 {
    let t0 = if t0.is_finite() { t0 } else { 0.0 };
    let outside = (lo - t0).max(t0 - hi).max(0.0);
    let w = w.max(outside);
    let w = if w > NARROWEST {
        w.min(widest)
    } else {
        NARROWEST
    };
    let t0 = t0.clamp(lo, hi);
    let mut sum = 0.0;
    for (end, dir) in [(hi, 1.0), (lo, -1.0)] {
        let (mut a, mut width) = (t0, w);
        while (end - a) * dir > 0.0 {
            let b = if (end - a) * dir > width {
                a + dir * width
            } else {
                end
            };
            sum += panel(&h, a.min(b), a.max(b));
            a = b;
            width = (2.0 * width).min(widest);
        }
    }
    sum
}

/// `E[h(x)]`, `x ~ N(0, 1)`, for an `h` that bends at `t0` on the scale `w`.
pub(super) fn gauss(h: impl Fn(f64) -> f64, t0: f64, w: f64) -> f64 {
    integrate(|t| h(t) * normal_pdf(t), t0, w, WIDEST, -TAIL, TAIL)
}

/// `E[g(u)]`, `u ~ N(0, q)`, by quadrature, for a `g` that bends at 0 on the scale `bend`
/// ([`bend`]).
pub(super) fn quad_mean(g: impl Fn(f64) -> f64, q: f64, bend: f64) -> f64 {
    let sd = q.sqrt();
    gauss(|x| g(sd * x), 0.0, bend / sd)
}

/// `E[g(u) g(v)]` by quadrature: `u = sqrt(q1) x`, `v = sqrt(q2) (c x + s y)` with `x, y` iid
/// standard normal and `s = sqrt(1 - c^2)`. The inner integral over `y` bends where
/// `c x + s y = 0`, on the scale `bend / (sqrt(q2) s)`; the outer one where `u = 0` and where
/// the inner, `g` smoothed by a Gaussian of standard deviation `sqrt(q2) s` and evaluated at
/// `sqrt(q2) c x`, bends (on the scale `sqrt(bend^2 + q2 s^2)` in `v`). At `c = +-1` the
/// inner integral is `g(sqrt(q2) c x)` itself.
pub(super) fn quad_cross(g: impl Fn(f64) -> f64, q1: f64, q2: f64, c: f64, bend: f64) -> f64 {
    let (sd1, sd2) = (q1.sqrt(), q2.sqrt());
    let s = ((1.0 - c) * (1.0 + c)).sqrt();
    let inner = |x: f64| {
        let m = c * x;
        if s == 0.0 {
            g(sd2 * m)
        } else {
            gauss(|y| g(sd2 * (m + s * y)), -m / s, bend / (sd2 * s))
        }
    };
    let smoothed = (bend * bend + q2 * s * s).sqrt() / (sd2 * c.abs());
    let w = (bend / sd1).min(smoothed);
    gauss(
        |x| {
            let a = g(sd1 * x);
            if a == 0.0 { 0.0 } else { a * inner(x) }
        },
        0.0,
        w,
    )
}

// ---------------------------------------------------------------------------------------------
// Root finding
// ---------------------------------------------------------------------------------------------

/// A root of `f` in `[a, b]`, given a sign change, to `tol` (Brent's method: inverse
/// quadratic interpolation safeguarded by bisection, so it never does worse than bisection).
/// `None` without a sign change or on a NaN.
pub(super) fn brent(mut f: impl FnMut(f64) -> f64, a: f64, b: f64, tol: f64) -> Option<f64> {
    let (mut a, mut b) = (a, b);
    let (mut fa, mut fb) = (f(a), f(b));
    if fa == 0.0 {
        return Some(a);
    }
    if fb == 0.0 {
        return Some(b);
    }
    if fa.is_nan() || fb.is_nan() || (fa > 0.0) == (fb > 0.0) {
        return None;
    }
    let (mut c, mut fc) = (a, fa);
    let (mut d, mut e) = (b - a, b - a);
    for _ in 0..200 {
        if (fb > 0.0) == (fc > 0.0) {
            (c, fc) = (a, fa);
            (d, e) = (b - a, b - a);
        }
        if fc.abs() < fb.abs() {
            (a, b, c) = (b, c, b);
            (fa, fb, fc) = (fb, fc, fb);
        }
        let tol1 = 2.0 * f64::EPSILON * b.abs() + 0.5 * tol;
        let xm = 0.5 * (c - b);
        if xm.abs() <= tol1 || fb == 0.0 {
            return Some(b);
        }
        if e.abs() >= tol1 && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q) = if a == c {
                (2.0 * xm * s, 1.0 - s)
            } else {
                let (qa, r) = (fa / fc, fb / fc);
                (
                    s * (2.0 * xm * qa * (qa - r) - (b - a) * (r - 1.0)),
                    (qa - 1.0) * (r - 1.0) * (s - 1.0),
                )
            };
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * xm * q - (tol1 * q).abs()).min((e * q).abs()) {
                (e, d) = (d, p / q);
            } else {
                (d, e) = (xm, xm);
            }
        } else {
            (d, e) = (xm, xm);
        }
        (a, fa) = (b, fb);
        b += if d.abs() > tol1 { d } else { tol1.copysign(xm) };
        fb = f(b);
        if fb.is_nan() {
            return None;
        }
    }
    Some(b)
}

/// `ln(e^a + e^b)` without overflow; `b = -inf` (no bias) gives `a`.
pub(super) fn ln_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        hi
    } else {
        hi + (lo - hi).exp().ln_1p()
    }
}
