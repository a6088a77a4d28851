//! Depth (MATH 6, Theorem 3.1, Lemma 3.2): the arc-cosine map `kappa` that the cosine between
//! the representations of two inputs follows layer by layer at infinite width, the empirical
//! cosines of a finite network, and the spread of `f` over sampled inputs.

use crate::net::{Scaled, Trace};
use crate::rng::{Purpose, Stream, stream};
use crate::scalar::Real;

/// Lemma 3.2: `kappa(rho) = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / pi`, the normalised
/// `E[relu(g.x) relu(g.y)]` for `g ~ N(0, I)` and `cos(x, y) = rho`. Clamped to `[-1, 1]`.
pub fn kappa(rho: f64) -> f64 {
    let r = rho.clamp(-1.0, 1.0);
    ((1.0 - r * r).sqrt() + (std::f64::consts::PI - r.acos()) * r) / std::f64::consts::PI
}

/// The infinite-width cosines `rho_1, ..., rho_n` from `rho_0 = cos_theta`,
/// `rho_i = kappa(rho_{i-1})`.
pub fn kappa_iterates(cos_theta: f64, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    let mut r = cos_theta;
    for _ in 0..n {
        r = kappa(r);
        out.push(r);
    }
    out
}

/// A second input `y` at angle `theta` (radians) from `x`, with `||y|| = ||x||`: `x` rotated
/// towards a uniform direction orthogonal to it (drawn from `rng`).
pub fn at_angle(x: &[f64], theta: f64, rng: &mut Stream) -> Vec<f64> {
    let nx = crate::vector::norm(x);
    let xh: Vec<f64> = x.iter().map(|v| v / nx).collect();
    // Orthogonalise twice: one Gram-Schmidt pass leaves a rounding-sized component along x.
    let mut u = crate::rng::sphere(rng, x.len(), 1.0);
    for _ in 0..2 {
        let c: f64 = u.iter().zip(&xh).map(|(a, b)| a * b).sum();
        u.iter_mut().zip(&xh).for_each(|(a, b)| *a -= c * b);
    }
    let nu = crate::vector::norm(&u);
    let (c, s) = (theta.cos(), theta.sin());
    xh.iter()
        .zip(&u)
        .map(|(a, b)| nx * (c * a + s * b / nu))
        .collect()
}

/// The stream of the pair direction and of the sampled inputs of trial `trial`.
pub fn pair_stream(seed: u64, trial: u64) -> Stream {
    stream(seed, trial, Purpose::Direction, 0, 0)
}

/// Cosine between `h_i(x_a)` and `h_i(x_b)` for `i = 1..=l` (the carried scales cancel); `NaN`
/// where either representation is exactly zero (a dead network).
pub fn layer_cosines<T: Real>(trace: &Trace<T>, a: usize, b: usize) -> Vec<f64> {
    (1..=trace.depth())
        .map(|i| {
            let d = trace.dims[i];
            let ca = &trace.acts[i][a * d..(a + 1) * d];
            let cb = &trace.acts[i][b * d..(b + 1) * d];
            let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
            for (p, q) in ca.iter().zip(cb) {
                let (p, q) = (p.to_f64(), q.to_f64());
                ab += p * q;
                aa += p * p;
                bb += q * q;
            }
            if aa == 0.0 || bb == 0.0 {
                f64::NAN
            } else {
                ab / (aa * bb).sqrt()
            }
        })
        .collect()
}

/// MATH 6: `max_{a,b} |f(x_a) - f(x_b)| / mean_a |f(x_a)|` over the outputs of sampled inputs
/// (all of the same norm). `None` when every output is zero.
pub fn sensitivity(fs: &[Scaled]) -> Option<f64> {
    let top = fs.iter().filter(|f| !f.is_zero()).map(|f| f.log2).max()?;
    // Bring every output to the largest exponent; the ratio does not depend on it.
    let v: Vec<f64> = fs
        .iter()
        .map(|f| crate::net::trace::ldexp(f.mant, f.log2 - top))
        .collect();
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let mean_abs = v.iter().map(|x| x.abs()).sum::<f64>() / v.len() as f64;
    (mean_abs > 0.0).then(|| (max - min) / mean_abs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use rand_distr::StandardNormal;

    #[test]
    fn kappa_fixed_points_and_orthogonal_value() {
        assert!((kappa(1.0) - 1.0).abs() < 1e-15);
        assert!((kappa(0.0) - 1.0 / std::f64::consts::PI).abs() < 1e-15);
        assert!(kappa(-1.0).abs() < 1e-15);
        // Increasing towards 1, with 1 - rho_i falling roughly like 1/i^2.
        let it = kappa_iterates(0.0, 1000);
        assert!(it.windows(2).all(|w| w[1] > w[0]));
        let r = (1.0 - it[999]) / (1.0 - it[499]);
        assert!((0.2..0.3).contains(&r), "ratio {r}");
    }

    #[test]
    fn kappa_matches_monte_carlo_of_lemma_3_2() {
        // E[relu(g.x) relu(g.y)] / E[relu(g.x)^2] in two dimensions, theta = 1 rad.
        let theta: f64 = 1.0;
        let mut rng = stream(7, 0, Purpose::Direction, 0, 0);
        let n = 400_000;
        let (mut xy, mut xx) = (0.0, 0.0);
        for _ in 0..n {
            let gx: f64 = rng.sample(StandardNormal);
            let gy: f64 = rng.sample(StandardNormal);
            let a = gx.max(0.0);
            let b = (gx * theta.cos() + gy * theta.sin()).max(0.0);
            xy += a * b;
            xx += a * a;
        }
        let est = xy / xx;
        // Standard error below 2e-3 at this n; 5e-3 is 2.5 of them.
        assert!((est - kappa(theta.cos())).abs() < 5e-3, "{est}");
    }

    #[test]
    fn at_angle_has_the_angle_and_norm() {
        let mut rng = stream(3, 1, Purpose::Input, 0, 0);
        let x = crate::rng::sphere(&mut rng, 50, 50f64.sqrt());
        let y = at_angle(&x, 0.7, &mut rng);
        let dot: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        let ny = crate::vector::norm(&y);
        assert!((ny - 50f64.sqrt()).abs() < 1e-12);
        assert!((dot / 50.0 - 0.7f64.cos()).abs() < 1e-12);
    }

    #[test]
    fn sensitivity_is_scale_free() {
        let f = |m: f64, e: i64| Scaled { mant: m, log2: e };
        let a = sensitivity(&[f(1.0, -3000), f(-1.0, -3000), f(2.0, -3000)]).unwrap();
        let b = sensitivity(&[f(1.0, 0), f(-1.0, 0), f(2.0, 0)]).unwrap();
        assert_eq!(a, b);
        assert!((a - 3.0 / (4.0 / 3.0)).abs() < 1e-15);
        assert!(sensitivity(&[f(0.0, 0)]).is_none());
    }
}
