//! The law of the one-step attack's `rho sqrt(d) / r` (MATH 9, Theorem 1.1 generalised):
//! `2|Z|` for one output, `sqrt(2)` times the gap of the two largest of `K` normals for `K`.

use std::f64::consts::{FRAC_2_PI, SQRT_2};

use serde::{Deserialize, Serialize};

use super::gauss::{TAIL, brent, integrate};
use crate::act::{normal_cdf, normal_pdf};

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
/// ([`Moments::r`](super::Moments::r)): `2|Z| r` for `k = 1` (median `2 * 0.67449 r`, mean
/// `2 sqrt(2/pi) r`),
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
