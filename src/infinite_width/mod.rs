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
//! use radex::infinite_width::{Kernel, Phase};
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

mod gauss;
mod one_step;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::act::Act;

use gauss::*;
pub use gauss::{Func, cross_moment, mean, second_moment};
pub use one_step::{OneStepLaw, one_step_law, one_step_survival};

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
