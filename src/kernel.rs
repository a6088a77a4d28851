//! Infinite-width (kernel) predictions for the general random networks of MATH 9.
//!
//! At infinite width the pre-activations of a layer are centred Gaussians, so every prediction
//! radex prints beside a measurement is a one- or two-dimensional Gaussian integral of `phi` or
//! `phi'` (MATH 9, "the kernel recursion"):
//!
//! ```text
//! q_1 = sigma_w^2 ||x||^2/d + sigma_b^2,    q_{i+1} = sigma_w^2 E[phi(u)^2] + sigma_b^2,  u ~ N(0, q_i)
//! E F_k^2 = q_{l+1},                         E||grad F_k||^2 = sigma_w^2 prod_{i<=l} sigma_w^2 E[phi'(u_i)^2]
//! c_{i+1} = (sigma_w^2 E[phi(u) phi(v)] + sigma_b^2) / q_{i+1}     (u, v): variances q_i, correlation c_i
//! ```
//!
//! and from them `r = sqrt(E F^2 / E||grad F||^2) sqrt(d)/||x||` (the one-step attack's
//! `rho sqrt(d) ~ 2|Z| r`, MATH 3 generalised), the post-activation cosine of MATH 6, and the
//! order/chaos phase of the deep limit (Schoenholz et al. 2017).
//!
//! The integrals use closed forms where they exist: Cho and Saul's arc-cosine kernels for relu,
//! leaky and abs, Williams' arcsin kernel for erf, Gaussian moments for square. For tanh, gelu
//! and softplus they use composite Gauss-Legendre quadrature whose panels are refined
//! geometrically around the point where the activation bends, so the rule resolves a bend of
//! width `1/sqrt(q)` at any `q` with a node count that grows like `log q` (a fixed Gauss-Hermite
//! rule spaces its nodes `~ 1/sqrt(n)` apart and errs by 2e-2 at `q = 6` with 64 nodes). The
//! tests check the rule against adaptive Simpson integration, the closed forms and Monte Carlo.
//!
//! ```
//! use radex::act::Act;
//! use radex::kernel::{Kernel, Phase};
//!
//! // The paper's network: relu, NN-DEF weights, no biases, sphere inputs.
//! let relu = Kernel { act: Act::Relu, sigma_w2: 1.0, sigma_b: 0.0 };
//! let m = relu.moments(3, 1.0)?;
//! assert!((m.f_sq.value.unwrap() - 0.125).abs() < 1e-15); // 2^-l (Lemma 2.2)
//! assert!((m.r - 1.0).abs() < 1e-13); // rho sqrt(d) ~ 2|Z|
//!
//! // tanh with large weights is chaotic: correlations tend to c* < 1.
//! let tanh = Kernel { act: Act::Tanh, sigma_w2: 4.0, sigma_b: 0.3 };
//! assert!(matches!(tanh.phase(1.0)?, Phase::Chaotic { c_star, .. } if c_star < 1.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::f64::consts::{FRAC_2_PI, PI, SQRT_2};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::act::{Act, normal_cdf, normal_pdf};

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
    fn eval(self, act: Act, t: f64) -> f64 {
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
fn piecewise_linear(act: Act) -> Option<(f64, f64)> {
    match act {
        Act::Relu => Some((0.5, 0.5)),
        Act::Leaky(a) => Some((0.5 * (1.0 + a), 0.5 * (1.0 - a))),
        Act::Abs => Some((0.0, 1.0)),
        _ => None,
    }
}

/// `E[f(u)]` in closed form, where there is one. For `phi = alpha t + beta |t|`:
/// `E phi(u) = beta E|u| = beta sqrt(2q/pi)`, `E phi'(u) = alpha + beta E sign(u) = alpha`.
fn closed_mean(act: Act, f: Func, q: f64) -> Option<f64> {
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
fn closed_cross(act: Act, f: Func, q1: f64, q2: f64, c: f64) -> Option<f64> {
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
const ORDER: usize = 10;
/// Integrals against the standard normal density stop at `+-TAIL`: the mass beyond is
/// `2 Phi(-9) = 2e-19`, and the integrands grow at most like `t^4` there.
const TAIL: f64 = 9.0;
/// The widest panel: a 10-node rule integrates `e^{-t^2/2}` over any interval of width 2 to
/// rounding.
const WIDEST: f64 = 2.0;
/// The narrowest first panel (a bend at `q = 1e18`); also keeps the panel walk finite for a
/// zero or NaN width.
const NARROWEST: f64 = 1e-9;
/// Where `phi` bends, in units of `u`: around 0, on a scale of 1 for the smooth activations
/// (the nearest complex singularities of tanh and softplus are at distance `pi/2` and `pi`),
/// at a point for the kinked ones (whose integrals have closed forms; the quadrature of them
/// only checks those).
fn bend(act: Act) -> f64 {
    if piecewise_linear(act).is_some() {
        0.0
    } else {
        1.0
    }
}

/// Gauss-Legendre nodes and weights on `[-1, 1]` (Newton's iteration on the three-term
/// recurrence, computed once).
fn legendre() -> &'static [(f64, f64); ORDER] {
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
fn panel(h: &impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
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
fn integrate(h: impl Fn(f64) -> f64, t0: f64, w: f64, widest: f64, lo: f64, hi: f64) -> f64 {
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
fn gauss(h: impl Fn(f64) -> f64, t0: f64, w: f64) -> f64 {
    integrate(|t| h(t) * normal_pdf(t), t0, w, WIDEST, -TAIL, TAIL)
}

/// `E[g(u)]`, `u ~ N(0, q)`, by quadrature, for a `g` that bends at 0 on the scale `bend`
/// ([`bend`]).
fn quad_mean(g: impl Fn(f64) -> f64, q: f64, bend: f64) -> f64 {
    let sd = q.sqrt();
    gauss(|x| g(sd * x), 0.0, bend / sd)
}

/// `E[g(u) g(v)]` by quadrature: `u = sqrt(q1) x`, `v = sqrt(q2) (c x + s y)` with `x, y` iid
/// standard normal and `s = sqrt(1 - c^2)`. The inner integral over `y` bends where
/// `c x + s y = 0`, on the scale `bend / (sqrt(q2) s)`; the outer one where `u = 0` and where
/// the inner, `g` smoothed by a Gaussian of standard deviation `sqrt(q2) s` and evaluated at
/// `sqrt(q2) c x`, bends (on the scale `sqrt(bend^2 + q2 s^2)` in `v`). At `c = +-1` the
/// inner integral is `g(sqrt(q2) c x)` itself.
fn quad_cross(g: impl Fn(f64) -> f64, q1: f64, q2: f64, c: f64, bend: f64) -> f64 {
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
fn brent(mut f: impl FnMut(f64) -> f64, a: f64, b: f64, tol: f64) -> Option<f64> {
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
fn ln_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        hi
    } else {
        hi + (lo - hi).exp().ln_1p()
    }
}

// ---------------------------------------------------------------------------------------------
// The recursion
// ---------------------------------------------------------------------------------------------

/// The per-layer law of a random network (MATH 9): activation, weight variance `sigma_w^2`
/// (times `1/fan_in`) and bias standard deviation `sigma_b`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kernel {
    /// `phi`.
    pub act: Act,
    /// `sigma_w^2 > 0`: 1 for NN-DEF, 2 for He.
    pub sigma_w2: f64,
    /// `sigma_b >= 0` (0: no biases, the paper's case).
    pub sigma_b: f64,
}

/// Why a prediction has no value.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KernelError {
    /// A parameter out of its domain (validated upstream; this guards the library against NaN).
    #[error(
        "expected sigma_w^2 > 0, sigma_b >= 0 and ||x||^2/d > 0, all finite, got sigma_w^2 = {sigma_w2}, sigma_b = {sigma_b}, ||x||^2/d = {x_sq}"
    )]
    Invalid {
        /// `sigma_w^2`.
        sigma_w2: f64,
        /// `sigma_b`.
        sigma_b: f64,
        /// `||x||^2 / d`.
        x_sq: f64,
    },
    /// The recursion leaves what `f64` can carry at `layer` (`l + 1`: the output): even its
    /// logarithm overflows (square, whose `q` squares per layer), or a non-homogeneous
    /// activation's `q` leaves `f64`'s normal range, where its integrals cannot be evaluated.
    #[error(
        "the infinite-width recursion leaves the range of f64 at layer {layer}; no prediction at this depth"
    )]
    OutOfRange {
        /// The first layer (1-based) without a representable value.
        layer: usize,
    },
}

/// A positive quantity carried by its natural logarithm. With NN-DEF weights `E F^2` halves
/// per relu layer and underflows `f64` near depth 1075 while radex, which rescales per layer,
/// still measures it; and JSON has no infinity (`serde_json` would write `null` silently).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Magnitude {
    /// Natural logarithm: finite whenever the prediction exists.
    pub ln: f64,
    /// `e^ln` when it is a normal `f64`, else `None` (underflow or overflow).
    pub value: Option<f64>,
}

impl Magnitude {
    /// The quantity `e^ln`.
    pub fn from_ln(ln: f64) -> Magnitude {
        let v = ln.exp();
        Magnitude {
            ln,
            value: v.is_normal().then_some(v),
        }
    }
}

/// The infinite-width moments of one output `F_k(x)` (MATH 9, Lemma 2.2 and Theorem 1.1
/// generalised).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// `q_1, ..., q_l`: the variance of a pre-activation of each hidden layer.
    pub q: Vec<Magnitude>,
    /// `E F_k(x)^2 = sigma_w^2 E[phi(u)^2] + sigma_b^2` at `q_l`.
    pub f_sq: Magnitude,
    /// `E ||grad F_k(x)||^2 = sigma_w^2 prod_i sigma_w^2 E[phi'(u_i)^2]`.
    pub grad_sq: Magnitude,
    /// `sqrt(E F_k^2)`, printed beside the measured `F(x)` rms.
    pub f_rms: Magnitude,
    /// `sqrt(E ||grad F_k||^2)`, printed beside the measured median `||grad F(x)||`.
    pub grad_rms: Magnitude,
    /// `r = sqrt(E F^2 / E||grad F||^2) sqrt(d) / ||x||`: the one-step `rho sqrt(d)` is about
    /// `2 |Z| r` for one output (1 for relu, leaky, abs without biases).
    pub r: f64,
}

/// The infinite-width correlation of two inputs of equal norm at one hidden layer (MATH 9).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerCorrelation {
    /// `c_i`: the correlation of the pre-activations `z_i(x), z_i(y)`.
    pub c: f64,
    /// `E[phi(u) phi(v)] / E[phi(u)^2]`: the cosine of the post-activations `h_i(x), h_i(y)`,
    /// the quantity MATH 6 measures (`kappa` iterated, for relu without biases).
    pub cosine: f64,
}

/// One hidden layer of the recursion, in logarithms.
#[derive(Clone, Copy, Debug)]
struct Layer {
    /// `ln q_i`.
    ln_q: f64,
    /// `ln E[phi(u)^2]`, `u ~ N(0, q_i)`.
    ln_m: f64,
}

/// `ln E[f(u)^2]`, `u ~ N(0, e^ln_q)`, at any depth for the homogeneous activations
/// (`E[f(u)^2] = q^k E[f(x)^2]`, `k` the degree of `f`), and where `q` is a normal `f64` for
/// the others (`None` elsewhere).
pub fn ln_second_moment(act: Act, f: Func, ln_q: f64) -> Option<f64> {
    let ln = match act.degree() {
        Some(k) => {
            let k = match f {
                Func::Phi => k,
                Func::Dphi => k - 1,
            };
            f64::from(k) * ln_q + second_moment(act, f, 1.0).ln()
        }
        None => {
            let q = ln_q.exp();
            if !q.is_normal() {
                return None;
            }
            second_moment(act, f, q).ln()
        }
    };
    ln.is_finite().then_some(ln)
}

/// `E[phi(u) phi(v)] / E[phi(u)^2]` at variance `e^ln_q` and correlation `c`; scale-free for
/// the homogeneous activations, so any depth works.
fn cosine(act: Act, ln_q: f64, c: f64) -> Option<f64> {
    let q = if act.degree().is_some() {
        1.0
    } else {
        ln_q.exp()
    };
    if !q.is_normal() {
        return None;
    }
    let v = cross_moment(act, Func::Phi, q, q, c) / second_moment(act, Func::Phi, q);
    v.is_finite().then_some(v)
}

/// The depth scale `1/|ln chi_1|` of Schoenholz et al. exceeds 10^6 layers when `chi_1` is
/// within this of 1: critical at any depth radex can run.
const CRITICAL: f64 = 1e-6;
/// A fixed point `q*` is sought in `[Q_MIN, Q_MAX]`; beyond, `q` vanishes or diverges.
const Q_MIN: f64 = 1e-30;
/// See [`Q_MIN`].
const Q_MAX: f64 = 1e30;

impl Kernel {
    /// Checks the parameters and an input's `||x||^2 / d`.
    fn check(&self, x_sq: f64) -> Result<(), KernelError> {
        let ok = self.sigma_w2 > 0.0
            && self.sigma_w2.is_finite()
            && self.sigma_b >= 0.0
            && self.sigma_b.is_finite()
            && x_sq > 0.0
            && x_sq.is_finite();
        if ok {
            Ok(())
        } else {
            Err(KernelError::Invalid {
                sigma_w2: self.sigma_w2,
                sigma_b: self.sigma_b,
                x_sq,
            })
        }
    }

    /// `ln(sigma_w^2 e^ln_m + sigma_b^2)`: the next layer's `ln q` from `ln E[phi^2]`.
    fn next_ln_q(&self, ln_m: f64) -> f64 {
        ln_add_exp(self.sigma_w2.ln() + ln_m, 2.0 * self.sigma_b.ln())
    }

    /// `ln q_{i+1}` from `ln q_i` (the `q` map), `None` out of range.
    fn q_map_ln(&self, ln_q: f64) -> Option<f64> {
        ln_second_moment(self.act, Func::Phi, ln_q).map(|m| self.next_ln_q(m))
    }

    /// Hidden layers `1..=depth` in logarithms, and `ln q_{depth+1} = ln E F^2`.
    fn layers(&self, depth: usize, x_sq: f64) -> Result<(Vec<Layer>, f64), KernelError> {
        self.check(x_sq)?;
        let out = |layer| KernelError::OutOfRange { layer };
        let mut ln_q = ln_add_exp((self.sigma_w2 * x_sq).ln(), 2.0 * self.sigma_b.ln());
        let mut layers = Vec::with_capacity(depth);
        for i in 1..=depth {
            let ln_m = ln_second_moment(self.act, Func::Phi, ln_q).ok_or(out(i))?;
            layers.push(Layer { ln_q, ln_m });
            ln_q = self.next_ln_q(ln_m);
            if !ln_q.is_finite() {
                return Err(out(i + 1));
            }
        }
        Ok((layers, ln_q))
    }

    /// The moments of one output at depth `l = depth` for inputs with `||x||^2 / d = x_sq` (1 on
    /// the sphere of radius `sqrt(d)`, 1/3 for box inputs, MATH 9).
    ///
    /// Computed in logarithms, so that values beyond `f64` are [`Magnitude`]s without a value
    /// rather than 0 or infinity. `Err` where even the logarithms fail (square near depth
    /// 1000) or a non-homogeneous activation's `q` leaves `f64` (gelu's `q` shrinks by 4 per
    /// layer with `sigma_w^2 = 1` and no biases).
    ///
    /// # Errors
    ///
    /// [`KernelError::Invalid`] for parameters out of their domain,
    /// [`KernelError::OutOfRange`] as above.
    pub fn moments(&self, depth: usize, x_sq: f64) -> Result<Moments, KernelError> {
        let (layers, ln_f_sq) = self.layers(depth, x_sq)?;
        let ln_w = self.sigma_w2.ln();
        let mut ln_grad_sq = ln_w;
        for (i, layer) in layers.iter().enumerate() {
            let ln_d = ln_second_moment(self.act, Func::Dphi, layer.ln_q)
                .ok_or(KernelError::OutOfRange { layer: i + 1 })?;
            ln_grad_sq += ln_w + ln_d;
        }
        let r = (0.5 * (ln_f_sq - ln_grad_sq)).exp() / x_sq.sqrt();
        if !ln_grad_sq.is_finite() || !r.is_normal() {
            return Err(KernelError::OutOfRange { layer: depth + 1 });
        }
        Ok(Moments {
            q: layers.iter().map(|l| Magnitude::from_ln(l.ln_q)).collect(),
            f_sq: Magnitude::from_ln(ln_f_sq),
            grad_sq: Magnitude::from_ln(ln_grad_sq),
            f_rms: Magnitude::from_ln(0.5 * ln_f_sq),
            grad_rms: Magnitude::from_ln(0.5 * ln_grad_sq),
            r,
        })
    }

    /// The correlation map for two inputs of equal norm (`||x||^2/d = x_sq`) at cosine
    /// `c0 = <x,y>/(||x|| ||y||)`: element `i - 1` holds layer `i`'s `c_i` and predicted
    /// post-activation cosine, `i = 1..=depth`.
    ///
    /// `c_{i+1} = (cos_i + t_i) / (1 + t_i)` with `t_i = sigma_b^2 / (sigma_w^2 E[phi(u)^2])`,
    /// which is MATH 9's `(sigma_w^2 E[phi(u) phi(v)] + sigma_b^2) / q_{i+1}` divided through by
    /// `sigma_w^2 E[phi(u)^2]`: scale-free, so relu's correlations exist at any depth.
    ///
    /// # Errors
    ///
    /// As [`Kernel::moments`].
    pub fn correlations(
        &self,
        depth: usize,
        x_sq: f64,
        c0: f64,
    ) -> Result<Vec<LayerCorrelation>, KernelError> {
        let (layers, _) = self.layers(depth, x_sq)?;
        let (w, b2) = (self.sigma_w2 * x_sq, self.sigma_b * self.sigma_b);
        let mut c = (w * c0 + b2) / (w + b2);
        let mut out = Vec::with_capacity(depth);
        for (i, layer) in layers.iter().enumerate() {
            let cos =
                cosine(self.act, layer.ln_q, c).ok_or(KernelError::OutOfRange { layer: i + 1 })?;
            out.push(LayerCorrelation { c, cosine: cos });
            let t = (2.0 * self.sigma_b.ln() - self.sigma_w2.ln() - layer.ln_m).exp();
            c = (cos + t) / (1.0 + t);
        }
        Ok(out)
    }

    /// `chi_1 = sigma_w^2 E[phi'(u)^2]`, `u ~ N(0, q)`; at `q = 0` its limit
    /// `sigma_w^2 phi'(0)^2`.
    fn chi_1(&self, q: f64) -> f64 {
        let d = if q > 0.0 {
            second_moment(self.act, Func::Dphi, q)
        } else {
            let d0 = self.act.dphi(0.0);
            d0 * d0
        };
        self.sigma_w2 * d
    }

    /// Where the `q` map's iteration from `q_1` ends. `F` (the map) is increasing (`E[phi(u)^2]`
    /// grows with `q` for every activation here: by symmetry for the even `phi^2`, checked
    /// numerically for gelu and softplus), so the
    /// iterates move monotonically towards the first fixed point in the direction of
    /// `F(q_1) - q_1`: it is bracketed by steps of a factor 4 in that direction, then solved
    /// for `ln F(q) = ln q` to 1e-13 (relative 1e-13 in `q`). Plain iteration would not do:
    /// at `chi_1 = 1` it converges algebraically (tanh with `sigma_w^2 = 1`: `q_i ~ 1/(2i)`).
    fn q_limit(&self, x_sq: f64) -> QLimit {
        let g = |t: f64| self.q_map_ln(t).map_or(f64::NAN, |next| next - t);
        let t1 = ln_add_exp((self.sigma_w2 * x_sq).ln(), 2.0 * self.sigma_b.ln());
        let g1 = g(t1);
        if g1.is_nan() {
            // q_1 itself is beyond f64's normal range (a subnormal ||x||^2/d, say).
            return if t1 > 0.0 {
                QLimit::Diverges
            } else {
                QLimit::Vanishes
            };
        }
        if g1 == 0.0 {
            return QLimit::Finite(t1.exp());
        }
        let (step, end, beyond) = if g1 > 0.0 {
            (4f64.ln(), Q_MAX.ln(), QLimit::Diverges)
        } else {
            (-4f64.ln(), Q_MIN.ln(), QLimit::Vanishes)
        };
        let mut t = t1;
        loop {
            let next = t + step;
            if (end - next) * step < 0.0 {
                return beyond;
            }
            let gn = g(next);
            if gn.is_nan() {
                return beyond;
            }
            if (gn > 0.0) != (g1 > 0.0) {
                return brent(g, t.min(next), t.max(next), 1e-13)
                    .map_or(beyond, |root| QLimit::Finite(root.exp()));
            }
            t = next;
        }
    }

    /// The phase of the deep limit for inputs with `||x||^2/d = x_sq` (MATH 9, Schoenholz et
    /// al. 2017): where the `q` map reaches a finite fixed point `q*`, `chi_1` there decides
    /// order (`< 1`, correlations tend to 1) or chaos (`> 1`, they tend to `c* < 1`). The input
    /// matters only where the `q` map has several basins (square).
    ///
    /// # Errors
    ///
    /// [`KernelError::Invalid`] for parameters out of their domain.
    pub fn phase(&self, x_sq: f64) -> Result<Phase, KernelError> {
        self.check(x_sq)?;
        if self.act.degree() == Some(1) && self.sigma_b == 0.0 {
            return Ok(Phase::NoFixedPoint {
                reason: NoFixedPoint::Homogeneous,
            });
        }
        let q_star = match self.q_limit(x_sq) {
            QLimit::Finite(q) => q,
            QLimit::Diverges => {
                return Ok(Phase::NoFixedPoint {
                    reason: NoFixedPoint::Diverges,
                });
            }
            QLimit::Vanishes => {
                // q -> 0 is a fixed point only without biases and with phi(0) = 0.
                let chi_1 = self.chi_1(0.0);
                if (chi_1 - 1.0).abs() <= CRITICAL {
                    return Ok(Phase::Critical { q_star: 0.0, chi_1 });
                }
                return Ok(Phase::NoFixedPoint {
                    reason: NoFixedPoint::Vanishes,
                });
            }
        };
        let chi_1 = self.chi_1(q_star);
        Ok(if (chi_1 - 1.0).abs() <= CRITICAL {
            Phase::Critical { q_star, chi_1 }
        } else if chi_1 < 1.0 {
            Phase::Ordered { q_star, chi_1 }
        } else {
            match self.c_star(q_star) {
                Some(c_star) => Phase::Chaotic {
                    q_star,
                    chi_1,
                    c_star,
                },
                None => Phase::Critical { q_star, chi_1 },
            }
        })
    }

    /// The stable fixed point `c* < 1` of the correlation map at `q*`, in the chaotic phase.
    /// The map `K` is increasing and convex on `[0, 1]` (its Mehler expansion has nonnegative
    /// coefficients), `K(0) >= 0`, `K(1) = 1` and `K'(1) = chi_1 > 1`, so `K(c) - c` has one
    /// root in `[0, 1)`; it is below 0 just under 1, at a distance `~ (chi_1 - 1)/K''(1)` that
    /// is found by steps of a factor 10. `None` if that distance is below 1e-10 (not resolvable).
    fn c_star(&self, q_star: f64) -> Option<f64> {
        let ln_q = q_star.ln();
        let ln_m = ln_second_moment(self.act, Func::Phi, ln_q)?;
        let t = (2.0 * self.sigma_b.ln() - self.sigma_w2.ln() - ln_m).exp();
        let g =
            |c: f64| cosine(self.act, ln_q, c).map_or(f64::NAN, |cos| (cos + t) / (1.0 + t) - c);
        // K(0) >= 0 exactly (0 for an odd phi without biases, where c* = 0); a negative value
        // is that 0 after quadrature rounding, and bracketing from it would fail.
        if g(0.0) <= 0.0 {
            return Some(0.0);
        }
        let mut eps = 1e-2;
        while eps >= 1e-10 {
            if g(1.0 - eps) < 0.0 {
                return brent(g, 0.0, 1.0 - eps, 1e-13);
            }
            eps *= 0.1;
        }
        None
    }
}

/// Where the `q` map's iterates go.
enum QLimit {
    Finite(f64),
    Diverges,
    Vanishes,
}

/// The phase of the deep limit (MATH 9, last item; Schoenholz et al. 2017).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// `chi_1 < 1`: correlations tend to 1, deep networks become nearly constant (the paper's
    /// converse, MATH 6).
    Ordered {
        /// The fixed point of the `q` map.
        q_star: f64,
        /// `sigma_w^2 E[phi'(u)^2]`, `u ~ N(0, q*)`.
        chi_1: f64,
    },
    /// `chi_1 > 1`: correlations tend to `c* < 1`, deep networks stay sensitive.
    Chaotic {
        /// The fixed point of the `q` map.
        q_star: f64,
        /// `sigma_w^2 E[phi'(u)^2]`, `u ~ N(0, q*)`.
        chi_1: f64,
        /// The stable fixed point of the correlation map.
        c_star: f64,
    },
    /// `|chi_1 - 1| <= 1e-6`: the depth scale `1/|ln chi_1|` exceeds 10^6 layers (also a
    /// chaotic `chi_1` whose `c*` is within 1e-10 of 1, too close to resolve).
    Critical {
        /// The fixed point of the `q` map (0 for tanh and erf without biases at the boundary).
        q_star: f64,
        /// `sigma_w^2 E[phi'(u)^2]`, `u ~ N(0, q*)`.
        chi_1: f64,
    },
    /// No finite, nonzero fixed point `q*`: `chi_1` would mean nothing.
    NoFixedPoint {
        /// Which case applies.
        reason: NoFixedPoint,
    },
}

/// Why the `q` map has no finite, nonzero fixed point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoFixedPoint {
    /// relu, leaky, abs without biases: `q` scales by a constant per layer, and the normalised
    /// correlation map, independent of `sigma_w`, has slope exactly 1 at `c = 1`, so
    /// correlations tend to 1 polynomially (the paper's case, MATH 6).
    Homogeneous,
    /// `q` grows without bound: square from a large enough `q_1`; relu, leaky, abs with biases
    /// and `sigma_w^2 E[phi(x)^2] >= 1` (`sigma_w^2 >= 2` for relu); gelu and softplus, which
    /// grow like relu, from about `sigma_w^2 = 2`.
    Diverges,
    /// `q` tends to 0 (no biases, `phi(0) = 0`, `sigma_w^2 phi'(0)^2 < 1`): the network tends to
    /// a linear map, and correlations freeze at an input-dependent limit instead of tending to 1.
    Vanishes,
}

/// The `sigma_w^2` at which `chi_1 = 1` for biases of standard deviation `sigma_b`: the
/// order-chaos boundary of the phase diagram, drawn for tanh or erf (MATH 9).
///
/// Without biases it is `1 / phi'(0)^2` (1 for tanh, `pi/4` for erf), where `q* = 0`. With
/// biases, eliminating `sigma_w^2 = 1 / E[phi'(u)^2]` from the fixed-point equation leaves one
/// equation in `q*`, `E[phi(u)^2] / E[phi'(u)^2] + sigma_b^2 = q*`, solved by bracketing and
/// Brent's method in `ln q*`. `None` for the other activations, whose `q*` need not exist for
/// every `sigma_w^2` (relu-like growth), and for an invalid `sigma_b`.
pub fn critical_sigma_w2(act: Act, sigma_b: f64) -> Option<f64> {
    let bounded = matches!(act, Act::Tanh | Act::Erf);
    if !(bounded && sigma_b >= 0.0 && sigma_b.is_finite()) {
        return None;
    }
    let d = |q: f64| second_moment(act, Func::Dphi, q);
    if sigma_b == 0.0 {
        let d0 = act.dphi(0.0);
        return Some(1.0 / (d0 * d0));
    }
    let b2 = sigma_b * sigma_b;
    let h = |t: f64| {
        let q = t.exp();
        (second_moment(act, Func::Phi, q) / d(q) + b2).ln() - t
    };
    // h > 0 at q = sigma_b^2; it falls like -ln(q)/2 for large q (E[phi'^2] ~ 1/sqrt(q)).
    let lo = b2.ln();
    let mut hi = lo;
    while h(hi) > 0.0 {
        hi += 4f64.ln();
        if hi > Q_MAX.ln() {
            return None;
        }
    }
    let t = brent(h, lo, hi, 1e-13)?;
    Some(1.0 / d(t.exp()))
}

// ---------------------------------------------------------------------------------------------
// The one-step law
// ---------------------------------------------------------------------------------------------

/// Median and mean of the predicted `rho sqrt(d)` of the one-step attack (MATH 9, Theorem 1.1
/// generalised).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneStepLaw {
    /// Median.
    pub median: f64,
    /// Mean.
    pub mean: f64,
}

/// `P(W > t)` for `W = rho sqrt(d) / r`: `2|Z|` for `K = 1` output; for `K >= 2`,
/// `sqrt(2) (Z_(1) - Z_(2))`, the gap between the two largest of `K` iid standard normals.
///
/// The gap exceeds `g` exactly when one normal exceeds all others by `g`; these `K` events are
/// disjoint, so `P(Z_(1) - Z_(2) > g) = K int phi(z) Phi(z - g)^{K-1} dz` (for `K = 2` this is
/// `2 Phi(-g/sqrt 2)`, the law of `sqrt(2)|Z|`). `K = 0` gives NaN.
pub fn one_step_survival(k: usize, t: f64) -> f64 {
    match k {
        0 => f64::NAN,
        1 => libm::erfc(t / (2.0 * SQRT_2)),
        _ => {
            let g = t / SQRT_2;
            let kf = k as f64;
            let h = |z: f64| ((kf - 1.0) * ln_normal_cdf(z - g)).exp();
            kf * integrate(
                |z| h(z) * normal_pdf(z),
                0.0,
                GAP_PANEL,
                GAP_PANEL,
                -TAIL,
                TAIL + g,
            )
        }
    }
}

/// Panel width for the order-statistic integrals: `Phi(z)^{K-1}` rises over a width about
/// `1/sqrt(2 ln K)`, 0.3 at `K = 10^3` (measured: the mean and survival function move by
/// 1e-15 when the width is cut to 0.05, up to `K = 10^5`).
const GAP_PANEL: f64 = 0.25;

/// `ln Phi(z)`, accurate in both tails.
fn ln_normal_cdf(z: f64) -> f64 {
    if z < 0.0 {
        normal_cdf(z).ln()
    } else {
        (-normal_cdf(-z)).ln_1p()
    }
}

/// The predicted median and mean of `rho sqrt(d)` for `k` outputs and ratio `r`
/// ([`Moments::r`]): `2|Z| r` for `k = 1` (median `2 * 0.67449 r`, mean `2 sqrt(2/pi) r`),
/// `sqrt(2) r (Z_(1) - Z_(2))` for `k >= 2` (MATH 9). The median solves
/// [`one_step_survival`]` = 1/2`; the mean is `sqrt(2) E[Z_(1) - Z_(2)]` with
/// `E[Z_(1) - Z_(2)] = int (F_2 - F_1) = K int Phi^{K-1} (1 - Phi) dz` (`F_j` the CDF of the
/// `j`-th largest). Both to about 1e-12. `None` for `k = 0` or a non-finite `r`.
pub fn one_step_law(k: usize, r: f64) -> Option<OneStepLaw> {
    if k == 0 || !r.is_finite() {
        return None;
    }
    let median = brent(|t| one_step_survival(k, t) - 0.5, 0.0, 2.0 * TAIL, 1e-14)?;
    let mean = if k == 1 {
        2.0 * (FRAC_2_PI).sqrt()
    } else {
        let kf = k as f64;
        let h = |z: f64| ((kf - 1.0) * ln_normal_cdf(z)).exp() * normal_cdf(-z);
        SQRT_2 * kf * integrate(h, 0.0, GAP_PANEL, GAP_PANEL, -TAIL, TAIL)
    };
    Some(OneStepLaw {
        median: r * median,
        mean: r * mean,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_distr::StandardNormal;
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Adaptive Simpson with Richardson's correction on `[a, b]`, independent of the rule
    /// under test; `tol` is an absolute target for the piece.
    fn simpson(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64) -> f64 {
        #[allow(clippy::too_many_arguments)]
        fn step(
            f: &dyn Fn(f64) -> f64,
            (a, fa): (f64, f64),
            (m, fm): (f64, f64),
            (b, fb): (f64, f64),
            whole: f64,
            tol: f64,
            depth: u32,
        ) -> f64 {
            let (lm, rm) = (0.5 * (a + m), 0.5 * (m + b));
            let (flm, frm) = (f(lm), f(rm));
            let left = (m - a) / 6.0 * (fa + 4.0 * flm + fm);
            let right = (b - m) / 6.0 * (fm + 4.0 * frm + fb);
            let delta = left + right - whole;
            if depth == 0 || delta.abs() <= 15.0 * tol {
                left + right + delta / 15.0
            } else {
                step(f, (a, fa), (lm, flm), (m, fm), left, 0.5 * tol, depth - 1)
                    + step(f, (m, fm), (rm, frm), (b, fb), right, 0.5 * tol, depth - 1)
            }
        }
        let m = 0.5 * (a + b);
        let (fa, fm, fb) = (f(a), f(m), f(b));
        let whole = (b - a) / 6.0 * (fa + 4.0 * fm + fb);
        step(f, (a, fa), (m, fm), (b, fb), whole, tol, 40)
    }

    /// `int h(t) phi(t) dt` over `[-12, 12]` (the mass beyond is 4e-33) by adaptive Simpson
    /// on pieces of width at most 1/2, split at the `breaks` (where `h` bends), so that no
    /// piece can pass the error test by accident on its first, coarse estimate.
    fn reference(h: &dyn Fn(f64) -> f64, breaks: &[f64], tol: f64) -> f64 {
        let mut pts: Vec<f64> = (-10..=10).map(f64::from).collect();
        pts.extend(breaks.iter().filter(|b| b.abs() < 10.0));
        pts.sort_by(f64::total_cmp);
        pts.dedup();
        let f = |t: f64| h(t) * normal_pdf(t);
        let n = pts.len() as f64;
        pts.windows(2)
            .map(|w| simpson(&f, w[0], w[1], tol / n))
            .sum()
    }

    /// Reference `E[g(u)]`, `u ~ N(0, q)`.
    fn reference_mean(g: &dyn Fn(f64) -> f64, q: f64) -> f64 {
        reference(&|x| g(q.sqrt() * x), &[0.0], 1e-14)
    }

    /// Reference `E[g(u) g(v)]` by nested adaptive Simpson (`u = sqrt(q1) x`,
    /// `v = sqrt(q2)(c x + s y)`).
    fn reference_cross(g: &dyn Fn(f64) -> f64, q1: f64, q2: f64, c: f64) -> f64 {
        let s = ((1.0 - c) * (1.0 + c)).sqrt();
        let inner = |x: f64| {
            if s == 0.0 {
                g(q2.sqrt() * c * x)
            } else {
                reference(
                    &|y| g(q2.sqrt() * (c * x + s * y)),
                    &[0.0, -c * x / s],
                    1e-13,
                )
            }
        };
        reference(&|x| g(q1.sqrt() * x) * inner(x), &[0.0], 1e-9)
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    #[test]
    fn gauss_legendre_rule_is_exact_for_polynomials_of_degree_19() {
        for k in 0..2 * ORDER as i32 {
            let exact = if k % 2 == 1 {
                0.0
            } else {
                2.0 / f64::from(k + 1)
            };
            let got = panel(&|t: f64| t.powi(k), -1.0, 1.0);
            assert!((got - exact).abs() <= 1e-15, "t^{k}: {got} vs {exact}");
        }
    }

    /// The quadrature of `act` against nested adaptive Simpson, at variances from 0.01 to 400
    /// (a bend 20 times narrower than the Gaussian) and correlations up to `1 - 1e-6`, with
    /// unequal variances once. The reference's own error is about 1e-11 (two tolerances
    /// apart it moves by 2e-11), so agreement to 1e-10 certifies the rule to that level;
    /// measured: worst 2.3e-12 against a tighter reference.
    fn check_against_simpson(act: Act) {
        let mut worst: f64 = 0.0;
        let mut check = |what: String, got: f64, want: f64| {
            worst = worst.max((got - want).abs() / want.abs().max(1.0));
            assert!(close(got, want, 1e-10), "{act} {what}: {got} vs {want}");
        };
        for f in [Func::Phi, Func::Dphi] {
            let g = |u: f64| f.eval(act, u);
            let sq = |u: f64| g(u) * g(u);
            for q in [0.01, 1.0, 6.0, 50.0, 400.0] {
                check(
                    format!("{f:?} mean q={q}"),
                    mean(act, f, q),
                    reference_mean(&g, q),
                );
                check(
                    format!("{f:?}^2 q={q}"),
                    second_moment(act, f, q),
                    reference_mean(&sq, q),
                );
            }
            for (q1, q2, c) in [
                (6.0, 6.0, 0.5),
                (50.0, 50.0, -0.7),
                (50.0, 50.0, 1.0 - 1e-6),
                (0.3, 20.0, 0.9),
            ] {
                let want = reference_cross(&g, q1, q2, c);
                check(
                    format!("{f:?} ({q1}, {q2}, {c})"),
                    cross_moment(act, f, q1, q2, c),
                    want,
                );
            }
        }
        eprintln!("{act}: quadrature vs adaptive Simpson, worst error {worst:.1e}");
    }

    #[test]
    fn tanh_quadrature_matches_adaptive_simpson() {
        check_against_simpson(Act::Tanh);
    }

    #[test]
    fn gelu_quadrature_matches_adaptive_simpson() {
        check_against_simpson(Act::Gelu);
    }

    #[test]
    fn softplus_quadrature_matches_adaptive_simpson() {
        check_against_simpson(Act::Softplus);
    }

    /// MATH notes that 64 Gauss-Hermite nodes err by 2e-2 on `E[tanh'(u)^2]` at `q = 6`; the
    /// panel rule agrees with adaptive Simpson there to 1e-12, up to `q = 1e4`.
    #[test]
    fn tanh_derivative_second_moment_is_exact_where_gauss_hermite_fails() {
        let g = |u: f64| {
            let d = Act::Tanh.dphi(u);
            d * d
        };
        for q in [6.0, 1e3, 1e4] {
            let (got, want) = (
                second_moment(Act::Tanh, Func::Dphi, q),
                reference_mean(&g, q),
            );
            assert!((got - want).abs() <= 1e-12, "q={q}: {got} vs {want}");
        }
    }

    /// The generic quadrature, run on the activations that have closed forms, agrees with them:
    /// a check of both (for relu, leaky and abs the panels start at the kink). Measured worst
    /// 2.8e-11, on `E[erf'(u)^2]`, a Gaussian in `u` that the geometric panels resolve less
    /// well than tanh's bend (erf never uses the quadrature); below 2e-12 elsewhere.
    #[test]
    fn quadrature_matches_closed_forms() {
        let mut worst: f64 = 0.0;
        for act in [Act::Erf, Act::Square, Act::Relu, Act::Leaky(0.2), Act::Abs] {
            for f in [Func::Phi, Func::Dphi] {
                let g = |u: f64| f.eval(act, u);
                for q in [0.05, 1.0, 7.0, 60.0] {
                    let pairs = [
                        (closed_mean(act, f, q), quad_mean(g, q, bend(act))),
                        (
                            closed_cross(act, f, q, q, 1.0),
                            quad_mean(|u| g(u) * g(u), q, bend(act)),
                        ),
                    ];
                    for (c, q2) in [
                        (-1.0, q),
                        (-0.4, 2.0 * q),
                        (0.0, q),
                        (0.8, 0.3),
                        (0.99999, q),
                        (1.0, q),
                    ] {
                        let want = closed_cross(act, f, q, q2, c).unwrap();
                        let got = quad_cross(g, q, q2, c, bend(act));
                        if (got - want).abs() / want.abs().max(1.0) > 1e-13 {
                            eprintln!(
                                "{act} {f:?} ({q}, {q2}, {c}): {:.1e}",
                                (got - want).abs() / want.abs().max(1.0)
                            );
                        }
                        worst = worst.max((got - want).abs() / want.abs().max(1.0));
                        assert!(
                            close(got, want, 1e-9),
                            "{act} {f:?} ({q}, {q2}, {c}): {got} vs {want}"
                        );
                    }
                    for (want, got) in pairs {
                        let want = want.unwrap();
                        if (got - want).abs() / want.abs().max(1.0) > 1e-13 {
                            eprintln!(
                                "{act} {f:?} {q}: {:.1e}",
                                (got - want).abs() / want.abs().max(1.0)
                            );
                        }
                        worst = worst.max((got - want).abs() / want.abs().max(1.0));
                        assert!(close(got, want, 1e-9), "{act} {f:?} q={q}: {got} vs {want}");
                    }
                }
            }
        }
        eprintln!("quadrature vs closed forms: worst error {worst:.1e}");
    }

    const ALL: [Act; 9] = [
        Act::Relu,
        Act::Leaky(0.1),
        Act::Leaky(0.5),
        Act::Abs,
        Act::Tanh,
        Act::Erf,
        Act::Gelu,
        Act::Softplus,
        Act::Square,
    ];

    /// Sample mean and its standard error `sd / sqrt(n)` (Welford's update).
    fn mean_and_se(v: impl Iterator<Item = f64>) -> (f64, f64) {
        let (mut n, mut m, mut s) = (0.0, 0.0, 0.0);
        for x in v {
            n += 1.0;
            let d = x - m;
            m += d / n;
            s += d * (x - m);
        }
        (m, (s / (n - 1.0) / n).sqrt())
    }

    /// Every expectation of every activation against Monte Carlo. The mean of `n` iid terms
    /// of standard deviation `sigma` is asymptotically normal with standard deviation
    /// `sigma / sqrt(n)` (the central limit theorem; every integrand here has a finite
    /// variance, square's `u^2 v^2` included), so it lies within 5 standard errors of the
    /// expectation except with probability 6e-7; `sigma` is the sample's, whose relative error
    /// `~ 1/sqrt(2n) = 1e-3` does not matter against the factor 5. The seed is fixed, so the
    /// test is deterministic. A constant integrand (abs' squared) has standard error 0 and
    /// must match to rounding.
    #[test]
    fn expectations_match_monte_carlo() {
        let n = 400_000;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2021);
        let xy: Vec<(f64, f64)> = (0..n)
            .map(|_| (rng.sample(StandardNormal), rng.sample(StandardNormal)))
            .collect();
        let (q1, q2) = (0.7, 2.3);
        for act in ALL {
            for f in [Func::Phi, Func::Dphi] {
                let g = move |u: f64| f.eval(act, u);
                type Sample = Box<dyn Fn(f64, f64) -> f64>;
                let mut cases: Vec<(String, f64, Sample)> = vec![
                    (
                        "mean".into(),
                        mean(act, f, q1),
                        Box::new(move |x, _| g(q1.sqrt() * x)),
                    ),
                    (
                        "second moment".into(),
                        second_moment(act, f, q2),
                        Box::new(move |x, _| g(q2.sqrt() * x).powi(2)),
                    ),
                ];
                for c in [0.6, -0.3, 0.95] {
                    let s = (1.0f64 - c * c).sqrt();
                    cases.push((
                        format!("cross c={c}"),
                        cross_moment(act, f, q1, q2, c),
                        Box::new(move |x, y| g(q1.sqrt() * x) * g(q2.sqrt() * (c * x + s * y))),
                    ));
                }
                for (what, want, h) in cases {
                    let (got, se) = mean_and_se(xy.iter().map(|&(x, y)| h(x, y)));
                    assert!(
                        (got - want).abs() <= 5.0 * se + 1e-12 * want.abs(),
                        "{act} {f:?} {what}: Monte Carlo {got} +- {se} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn cross_moment_factorises_at_zero_correlation_and_is_the_second_moment_at_one() {
        for act in ALL {
            for f in [Func::Phi, Func::Dphi] {
                for (q1, q2) in [(0.5, 3.0), (20.0, 20.0)] {
                    let product = mean(act, f, q1) * mean(act, f, q2);
                    let got = cross_moment(act, f, q1, q2, 0.0);
                    assert!(
                        (got - product).abs() <= 1e-10,
                        "{act} {f:?}: {got} vs {product}"
                    );
                }
                for q in [0.5, 30.0] {
                    let (got, want) = (cross_moment(act, f, q, q, 1.0), second_moment(act, f, q));
                    assert!(close(got, want, 1e-13), "{act} {f:?}: {got} vs {want}");
                    // A correlation that overshoots 1 by rounding is 1.
                    assert_eq!(cross_moment(act, f, q, q, 1.0 + 1e-15), got);
                }
            }
        }
    }

    /// MATH 9: without biases relu gives `E F^2 = E||grad F||^2 = sigma_w^2 (sigma_w^2/2)^l`
    /// for `||x||^2 = d`; in general, for `phi = alpha t + beta |t|` each layer multiplies
    /// both by `sigma_w^2 (alpha^2 + beta^2)`, so `r = 1` for any `sigma_w^2` and input norm.
    #[test]
    fn relu_like_moments_are_exact_without_biases() {
        for act in [Act::Relu, Act::Leaky(0.1), Act::Abs] {
            let per_unit = match act {
                Act::Relu => 0.5,
                Act::Leaky(a) => 0.5 * (1.0 + a * a),
                _ => 1.0,
            };
            for sw in [0.5, 1.0, 2.0, 3.7] {
                let kernel = Kernel {
                    act,
                    sigma_w2: sw,
                    sigma_b: 0.0,
                };
                for depth in [0, 1, 3, 10] {
                    for x_sq in [1.0, 1.0 / 3.0] {
                        let m = kernel.moments(depth, x_sq).unwrap();
                        let layer = sw * per_unit;
                        let grad_sq = sw * layer.powi(depth as i32);
                        for (i, q) in m.q.iter().enumerate() {
                            let want = sw * x_sq * layer.powi(i as i32);
                            assert!(close(q.value.unwrap(), want, 1e-13), "{act} q_{}", i + 1);
                        }
                        assert!(close(m.f_sq.value.unwrap(), grad_sq * x_sq, 1e-13), "{act}");
                        assert!(close(m.grad_sq.value.unwrap(), grad_sq, 1e-13), "{act}");
                        assert!(close(
                            m.f_rms.value.unwrap(),
                            (grad_sq * x_sq).sqrt(),
                            1e-13
                        ));
                        assert!(close(m.grad_rms.value.unwrap(), grad_sq.sqrt(), 1e-13));
                        assert!(
                            (m.r - 1.0).abs() <= 1e-13,
                            "{act} sw={sw} l={depth}: r={}",
                            m.r
                        );
                    }
                }
            }
        }
        // NN-DEF: 2^-l (Lemma 2.2); He: 2.
        let nn = Kernel {
            act: Act::Relu,
            sigma_w2: 1.0,
            sigma_b: 0.0,
        }
        .moments(5, 1.0)
        .unwrap();
        assert!(close(nn.f_sq.value.unwrap(), 1.0 / 32.0, 1e-14));
        let he = Kernel {
            act: Act::Relu,
            sigma_w2: 2.0,
            sigma_b: 0.0,
        }
        .moments(5, 1.0)
        .unwrap();
        assert!(close(he.grad_sq.value.unwrap(), 2.0, 1e-14));
    }

    /// relu with NN-DEF weights at depth 3000 (`E F^2 = 2^-3000`, below `f64`), square (`q`
    /// squares per layer) and gelu (`q` shrinks by 4 per layer) beyond `f64`.
    #[test]
    fn moments_beyond_f64_are_carried_in_logarithms() {
        let relu = Kernel {
            act: Act::Relu,
            sigma_w2: 1.0,
            sigma_b: 0.0,
        };
        let m = relu.moments(3000, 1.0).unwrap();
        assert_eq!(m.f_sq.value, None);
        assert!(close(m.f_sq.ln, -3000.0 * 2f64.ln(), 1e-13));
        assert!((m.r - 1.0).abs() <= 1e-12);
        let cs = relu.correlations(3000, 1.0, 0.0).unwrap();
        assert!(cs[2999].cosine > 0.999_99 && cs[2999].cosine < 1.0);

        // square: ln q_i = (2^{i-1} - 1) ln 3 from q_1 = 1, and r = (3/4)^{l/2}.
        let square = Kernel {
            act: Act::Square,
            sigma_w2: 1.0,
            sigma_b: 0.0,
        };
        let m = square.moments(12, 1.0).unwrap();
        for (i, q) in m.q.iter().enumerate() {
            let want = (2f64.powi(i as i32) - 1.0) * 3f64.ln();
            assert!(close(q.ln, want, 1e-13), "q_{}: {} vs {want}", i + 1, q.ln);
        }
        assert_eq!(m.f_sq.value, None);
        assert!(close(m.r, 0.75f64.powf(6.0), 1e-12), "{}", m.r);
        assert!(
            matches!(square.moments(1100, 1.0), Err(KernelError::OutOfRange { layer }) if layer > 1000)
        );

        let gelu = Kernel {
            act: Act::Gelu,
            sigma_w2: 1.0,
            sigma_b: 0.0,
        };
        assert!(gelu.moments(100, 1.0).is_ok());
        let e = gelu.moments(1000, 1.0).unwrap_err();
        assert!(
            matches!(e, KernelError::OutOfRange { layer } if layer > 400 && layer < 700),
            "{e}"
        );
    }

    /// MATH 6 and 9: for relu without biases the predicted cosine at layer `i` is `kappa`
    /// iterated `i` times from `c_0`, and `c_{i+1}` is layer `i`'s cosine.
    #[test]
    fn relu_cosines_are_kappa_iterated() {
        let kappa = |r: f64| ((1.0 - r * r).sqrt() + (PI - r.acos()) * r) / PI;
        for sw in [1.0, 2.0] {
            let relu = Kernel {
                act: Act::Relu,
                sigma_w2: sw,
                sigma_b: 0.0,
            };
            for c0 in [-0.9, 0.0, 0.3, 0.99] {
                let cs = relu.correlations(50, 1.0, c0).unwrap();
                let mut rho = c0;
                for (i, lc) in cs.iter().enumerate() {
                    assert!((lc.c - rho).abs() <= 1e-14, "c_{} {} vs {rho}", i + 1, lc.c);
                    rho = kappa(rho);
                    assert!(
                        (lc.cosine - rho).abs() <= 1e-14,
                        "cos_{} {} vs {rho}",
                        i + 1,
                        lc.cosine
                    );
                }
            }
        }
    }

    #[test]
    fn critical_sigma_w2_without_biases_is_one_over_the_squared_slope_at_zero() {
        assert_eq!(critical_sigma_w2(Act::Tanh, 0.0), Some(1.0));
        let erf = critical_sigma_w2(Act::Erf, 0.0).unwrap();
        assert!((erf - PI / 4.0).abs() <= 1e-15, "{erf}");
        // There q* = 0 and chi_1 = sigma_w^2 phi'(0)^2 = 1.
        let tanh = Kernel {
            act: Act::Tanh,
            sigma_w2: 1.0,
            sigma_b: 0.0,
        };
        assert_eq!(
            tanh.phase(1.0).unwrap(),
            Phase::Critical {
                q_star: 0.0,
                chi_1: 1.0
            }
        );
        for act in [
            Act::Relu,
            Act::Leaky(0.1),
            Act::Abs,
            Act::Gelu,
            Act::Softplus,
            Act::Square,
        ] {
            assert_eq!(critical_sigma_w2(act, 0.3), None, "{act}");
        }
        for sb in [f64::NAN, -0.1, f64::INFINITY] {
            assert_eq!(critical_sigma_w2(Act::Tanh, sb), None);
        }
    }

    /// The boundary found by eliminating `sigma_w^2` is where the phase computed the other
    /// way (iterating to `q*`, then `chi_1`) is critical, it separates order from chaos, and
    /// it rises with `sigma_b` (Schoenholz et al., Fig. 1).
    #[test]
    fn critical_sigma_w2_is_where_chi_1_is_one_and_rises_with_sigma_b() {
        for act in [Act::Tanh, Act::Erf] {
            let mut prev = critical_sigma_w2(act, 0.0).unwrap();
            for k in 1..=12 {
                let sigma_b = 0.1 * f64::from(k);
                let sw = critical_sigma_w2(act, sigma_b).unwrap();
                assert!(sw > prev, "{act} sigma_b={sigma_b}: {sw} <= {prev}");
                prev = sw;
                let at = |sigma_w2| {
                    Kernel {
                        act,
                        sigma_w2,
                        sigma_b,
                    }
                    .phase(1.0)
                    .unwrap()
                };
                let Phase::Critical { chi_1, .. } = at(sw) else {
                    panic!("{:?}", at(sw))
                };
                assert!(
                    (chi_1 - 1.0).abs() <= 1e-9,
                    "{act} sigma_b={sigma_b}: chi_1={chi_1}"
                );
                assert!(matches!(at(0.99 * sw), Phase::Ordered { chi_1, .. } if chi_1 < 1.0));
                assert!(matches!(at(1.01 * sw), Phase::Chaotic { chi_1, .. } if chi_1 > 1.0));
            }
        }
        // Schoenholz et al. (2017) quote sigma_w^2 = 1.76 at sigma_b^2 = 0.05 for tanh.
        let sw = critical_sigma_w2(Act::Tanh, 0.05f64.sqrt()).unwrap();
        assert!((sw - 1.76).abs() < 0.005, "{sw}");
    }

    #[test]
    fn correlations_tend_to_c_star_when_chaotic_and_to_one_when_ordered() {
        let chaotic = Kernel {
            act: Act::Tanh,
            sigma_w2: 4.0,
            sigma_b: 0.3,
        };
        let Phase::Chaotic {
            q_star,
            chi_1,
            c_star,
        } = chaotic.phase(1.0).unwrap()
        else {
            panic!("{:?}", chaotic.phase(1.0))
        };
        assert!(
            chi_1 > 1.0 && c_star > 0.0 && c_star < 1.0,
            "{chi_1} {c_star}"
        );
        let m = chaotic.moments(100, 1.0).unwrap();
        assert!(close(m.q[99].value.unwrap(), q_star, 1e-12));
        // The map contracts by about 0.86 per layer near c*: 1e-15 after 300 layers.
        for c0 in [-0.5, 0.2, 0.999] {
            let cs = chaotic.correlations(300, 1.0, c0).unwrap();
            assert!(
                (cs[299].c - c_star).abs() <= 1e-12,
                "{c0}: {} vs {c_star}",
                cs[299].c
            );
        }
        // Without biases an odd phi keeps c = 0 fixed, and it is c*.
        let odd = Kernel {
            act: Act::Erf,
            sigma_w2: 3.0,
            sigma_b: 0.0,
        };
        assert!(matches!(odd.phase(1.0).unwrap(), Phase::Chaotic { c_star, .. } if c_star == 0.0));

        for act in [Act::Tanh, Act::Erf, Act::Gelu, Act::Relu] {
            let ordered = Kernel {
                act,
                sigma_w2: 0.7,
                sigma_b: 0.3,
            };
            assert!(
                matches!(ordered.phase(1.0).unwrap(), Phase::Ordered { .. }),
                "{act}"
            );
            let cs = ordered.correlations(200, 1.0, -0.5).unwrap();
            assert!(
                cs[199].c > 1.0 - 1e-9 && cs[199].c <= 1.0,
                "{act}: {}",
                cs[199].c
            );
        }
    }

    /// Odd activations without biases: above the critical `sigma_w^2` the phase is chaotic with
    /// `c* = 0` exactly (`K(0) = 0`), whatever the sign quadrature gives `K(0)`.
    #[test]
    fn odd_activations_without_biases_are_chaotic_with_c_star_zero() {
        for act in [Act::Tanh, Act::Erf] {
            for sigma_w2 in [1.25, 1.5, 2.0, 2.5, 3.0, 4.0] {
                let k = Kernel {
                    act,
                    sigma_w2,
                    sigma_b: 0.0,
                };
                match k.phase(1.0).unwrap() {
                    Phase::Chaotic { chi_1, c_star, .. } => {
                        assert!(chi_1 > 1.0 && c_star == 0.0, "{act:?} {sigma_w2}: {c_star}")
                    }
                    p => panic!("{act:?} {sigma_w2}: {p:?}"),
                }
            }
        }
    }

    #[test]
    fn phases_without_a_fixed_point_say_why() {
        let phase = |act, sigma_w2, sigma_b, x_sq| {
            Kernel {
                act,
                sigma_w2,
                sigma_b,
            }
            .phase(x_sq)
            .unwrap()
        };
        let none = |reason| Phase::NoFixedPoint { reason };
        for act in [Act::Relu, Act::Leaky(0.2), Act::Abs] {
            for sw in [0.5, 2.0, 5.0] {
                assert_eq!(phase(act, sw, 0.0, 1.0), none(NoFixedPoint::Homogeneous));
            }
        }
        assert_eq!(
            phase(Act::Relu, 2.5, 0.1, 1.0),
            none(NoFixedPoint::Diverges)
        );
        assert_eq!(
            phase(Act::Softplus, 3.0, 0.0, 1.0),
            none(NoFixedPoint::Diverges)
        );
        assert_eq!(
            phase(Act::Square, 1.0, 0.0, 1.0),
            none(NoFixedPoint::Diverges)
        );
        assert_eq!(
            phase(Act::Square, 0.25, 0.0, 1.0),
            none(NoFixedPoint::Vanishes)
        );
        assert_eq!(
            phase(Act::Tanh, 0.5, 0.0, 1.0),
            none(NoFixedPoint::Vanishes)
        );
        // There the network tends to a linear map: correlations freeze instead of tending to 1.
        let tanh = Kernel {
            act: Act::Tanh,
            sigma_w2: 0.5,
            sigma_b: 0.0,
        };
        let cs = tanh.correlations(100, 1.0, 0.5).unwrap();
        assert!(cs[99].c > 0.45 && cs[99].c <= 0.5 && (cs[99].c - cs[98].c).abs() < 1e-15);
        // relu with biases: q* = sigma_b^2 / (1 - sigma_w^2/2), chi_1 = sigma_w^2 / 2.
        let Phase::Ordered { q_star, chi_1 } = phase(Act::Relu, 1.0, 0.5, 1.0) else {
            panic!()
        };
        assert!(
            close(q_star, 0.5, 1e-12) && close(chi_1, 0.5, 1e-15),
            "{q_star} {chi_1}"
        );
    }

    #[test]
    fn one_step_law_for_one_and_two_outputs_is_two_abs_z() {
        let z75 = 0.674_489_750_196_081_7; // Phi^{-1}(3/4)
        for k in [1, 2] {
            let law = one_step_law(k, 1.3).unwrap();
            assert!(
                (law.median - 2.0 * z75 * 1.3).abs() <= 1e-12,
                "{k}: {law:?}"
            );
            assert!(
                (law.mean - 2.0 * (2.0 / PI).sqrt() * 1.3).abs() <= 1e-12,
                "{k}: {law:?}"
            );
        }
        for t in [0.0, 0.3, 1.0, 2.5, 6.0] {
            let (one, two) = (one_step_survival(1, t), one_step_survival(2, t));
            assert!((one - two).abs() <= 1e-14, "{t}: {one} vs {two}");
        }
        assert_eq!(one_step_law(0, 1.0), None);
        assert_eq!(one_step_law(3, f64::NAN), None);
    }

    /// `sqrt(2) (Z_(1) - Z_(2))` against draws of `K` normals: the sample mean within 5
    /// standard errors (as in `expectations_match_monte_carlo`), and the fraction of draws
    /// below the predicted median within 5 binomial standard errors `sqrt(1/4n)` of 1/2.
    #[test]
    fn one_step_law_matches_monte_carlo_of_normals() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        for (k, n) in [(3usize, 1_000_000), (10, 1_000_000), (100, 100_000)] {
            let gaps: Vec<f64> = (0..n)
                .map(|_| {
                    let (mut a, mut b) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
                    for _ in 0..k {
                        let z: f64 = rng.sample(StandardNormal);
                        if z > a {
                            (a, b) = (z, a);
                        } else if z > b {
                            b = z;
                        }
                    }
                    SQRT_2 * (a - b)
                })
                .collect();
            let law = one_step_law(k, 1.0).unwrap();
            let (m, se) = mean_and_se(gaps.iter().copied());
            assert!(
                (m - law.mean).abs() <= 5.0 * se,
                "K={k}: mean {m} +- {se} vs {}",
                law.mean
            );
            let below = gaps.iter().filter(|&&g| g < law.median).count() as f64 / n as f64;
            let se = (0.25 / n as f64).sqrt();
            assert!(
                (below - 0.5).abs() <= 5.0 * se,
                "K={k}: {below} below the median"
            );
        }
    }

    #[test]
    fn predictions_round_trip_through_json() {
        let relu = Kernel {
            act: Act::Leaky(0.1),
            sigma_w2: 1.0,
            sigma_b: 0.0,
        };
        let m = relu.moments(1500, 1.0 / 3.0).unwrap();
        assert_eq!(m.f_sq.value, None);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Moments>(&json).unwrap(), m);
        let phases = [
            Kernel {
                act: Act::Tanh,
                sigma_w2: 4.0,
                sigma_b: 0.3,
            }
            .phase(1.0)
            .unwrap(),
            Kernel {
                act: Act::Tanh,
                sigma_w2: 0.5,
                sigma_b: 0.3,
            }
            .phase(1.0)
            .unwrap(),
            relu.phase(1.0).unwrap(),
        ];
        for p in phases {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Phase>(&json).unwrap(), p, "{json}");
        }
        assert!(
            serde_json::to_string(&phases[0])
                .unwrap()
                .contains(r#""phase":"chaotic""#)
        );
        let law = one_step_law(10, 1.1).unwrap();
        let json = serde_json::to_string(&law).unwrap();
        assert_eq!(serde_json::from_str::<OneStepLaw>(&json).unwrap(), law);
        let json = serde_json::to_string(&relu).unwrap();
        assert_eq!(serde_json::from_str::<Kernel>(&json).unwrap(), relu);
    }

    #[test]
    fn invalid_parameters_are_errors_not_panics() {
        for (sigma_w2, sigma_b, x_sq) in [
            (f64::NAN, 0.0, 1.0),
            (0.0, 0.0, 1.0),
            (1.0, -0.1, 1.0),
            (1.0, f64::NAN, 1.0),
            (1.0, 0.0, 0.0),
            (1.0, 0.0, f64::INFINITY),
        ] {
            let k = Kernel {
                act: Act::Tanh,
                sigma_w2,
                sigma_b,
            };
            assert!(matches!(
                k.moments(3, x_sq),
                Err(KernelError::Invalid { .. })
            ));
            assert!(matches!(
                k.correlations(3, x_sq, 0.5),
                Err(KernelError::Invalid { .. })
            ));
            assert!(matches!(k.phase(x_sq), Err(KernelError::Invalid { .. })));
        }
        // NaN in, NaN out, without hanging.
        assert!(mean(Act::Tanh, Func::Phi, f64::NAN).is_nan());
        assert!(cross_moment(Act::Gelu, Func::Phi, 1.0, 1.0, f64::NAN).is_nan());
        assert!(cross_moment(Act::Gelu, Func::Phi, f64::INFINITY, 1.0, 0.5).is_nan());
    }

    #[test]
    fn brent_finds_bracketed_roots_only() {
        let root = brent(|x: f64| x.cos() - x, 0.0, 1.0, 1e-15).unwrap();
        assert!((root - 0.739_085_133_215_160_6).abs() <= 1e-15);
        assert_eq!(brent(|x: f64| x * x + 1.0, -1.0, 1.0, 1e-15), None);
        assert_eq!(brent(|_| f64::NAN, -1.0, 1.0, 1e-15), None);
    }
}
