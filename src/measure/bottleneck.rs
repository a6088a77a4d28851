//! Bottlenecks (MATH 5: NN-DECOMP, Lemmas 2.3 and 2.5; MATH 9-10 for any network of the
//! general family): the narrowest layer so far sets how much a ball around `x` can be stretched.
//!
//! `b(i) = argmin_{0 <= k <= i} d_k` (leftmost on ties); the paper's segment indices are the
//! prefix-minimum records of `d_0, ..., d_l`. Per layer radex measures `||h_i(x)||`, the exact
//! local expansion (top singular value of `J_i = D_i W_i ... D_1 W_1`, `D_k = diag(phi'(z_k))`,
//! by power iteration; biases move `z_k` but do not enter the products), the sampled expansion
//! `||h_i(x) - h_i(y)|| / ||x - y||`, and the fraction of small pre-activations of Lemma 2.5:
//! units with `|z_ij| <= a s_i`, `s_i = sqrt(sigma_w^2 ||h_{i-1}||^2 / d_{i-1} + sigma_b^2)` the
//! standard deviation of `z_ij` given `h_{i-1}` (for NN-DEF without biases the paper's
//! `||h_{i-1}|| / sqrt(d_{i-1})`), so that `P = 2 Phi(a) - 1` exactly for every family.
//!
//! Predictions for the general family come from the kernel recursion of MATH 9
//! ([`crate::infinite_width`]): `E ||h_i||^2 = d_i E[phi(u_i)^2]` and, for a random direction,
//! `E ||J_i u||^2 = (d_i / d_0) prod_{k <= i} sigma_w^2 E[phi'(u_k)^2]`, `u_k ~ N(0, q_k)`.

use faer::{MatRef, Par};

use crate::act::Act;
use crate::arch::{Arch, Init};
use crate::infinite_width::{Func, Kernel, ln_second_moment};
use crate::measure::stats::normal_cdf;
use crate::net::jacobian::top_singular_values;
use crate::net::trace::ldexp;
use crate::net::{Layers, forward, forward_keep};
use crate::rng::{self, Purpose};
use crate::scalar::Real;

/// `b(i)` for `i = 0..=l`: the leftmost narrowest layer at or before `i`.
pub fn bottleneck_index(dims: &[usize]) -> Vec<usize> {
    let mut best = 0;
    dims.iter()
        .enumerate()
        .map(|(i, &w)| {
            if w < dims[best] {
                best = i;
            }
            best
        })
        .collect()
}

/// The paper's bottleneck indices `i_m = 0 < ... < i_1`: layers narrower than every earlier one
/// (prefix-minimum records, input included), in increasing order.
pub fn segment_records(dims: &[usize]) -> Vec<usize> {
    let mut out = vec![0];
    let mut min = dims[0];
    for (i, &w) in dims.iter().enumerate().skip(1) {
        if w < min {
            out.push(i);
            min = w;
        }
    }
    out
}

/// Predictions of MATH 5 for layer `i` (MATH 9 for the general family).
#[derive(Clone, Copy, Debug)]
pub struct LayerPrediction {
    /// `sqrt(E ||h_i(x)||^2) = sqrt(d_i E[phi(u_i)^2])`: `sqrt(d_i 2^{-i})` for NN-DEF relu,
    /// `sqrt(d_i)` for He.
    pub h_norm: f64,
    /// Bound on the expansion, `sqrt(d_i / d_b(i))` (NN-DEF relu), times the random-direction
    /// gain relative to NN-DEF relu, `sqrt(prod_{k <= i} 2 sigma_w^2 E[phi'(u_k)^2])` (`2^{i/2}`
    /// under He).
    pub expansion_bound: f64,
    /// Typical expansion of a random direction, `sqrt((d_i / d_0) prod_{k <= i} sigma_w^2
    /// E[phi'(u_k)^2])`: `sqrt(d_i / (d_0 2^i))` for NN-DEF relu, `sqrt(d_i / d_0)` under He.
    pub random_expansion: f64,
    /// Lemma 2.5: `P(|Z| <= a) = 2 Phi(a) - 1` (the threshold is `a` times the pre-activation's
    /// own standard deviation).
    pub small_fraction: f64,
}

/// Predictions for every layer `i = 1..=l`, for inputs with `||x||^2 / d = x_sq` (1 on the
/// sphere and for Gaussian inputs, 1/3 in the box). The paper's networks (relu, NN-DEF or He,
/// no biases) on the sphere take the closed forms of MATH 5 (bitwise those of the paper-only
/// radex); every other family the kernel recursion of MATH 9. A depth at which the recursion
/// leaves `f64` gives NaN (no prediction), never a number.
pub fn predictions(arch: &Arch, a: f64, x_sq: f64) -> Vec<LayerPrediction> {
    let fam = arch.family;
    let dims = arch.dims();
    let b = bottleneck_index(&dims);
    let small = 2.0 * normal_cdf(a) - 1.0;
    if fam.act == Act::Relu && fam.sigma_b == 0.0 && fam.init().is_some() && x_sq == 1.0 {
        let gain2: f64 = if fam.init() == Some(Init::He) {
            2.0
        } else {
            1.0
        };
        return (1..dims.len())
            .map(|i| {
                let (di, d0, db) = (dims[i] as f64, dims[0] as f64, dims[b[i]] as f64);
                let gain = gain2.powf(i as f64 / 2.0);
                LayerPrediction {
                    h_norm: (di * 2f64.powi(-(i as i32))).sqrt() * gain,
                    expansion_bound: (di / db).sqrt() * gain,
                    random_expansion: (di / (d0 * 2f64.powi(i as i32))).sqrt() * gain,
                    small_fraction: small,
                }
            })
            .collect();
    }
    let kernel = Kernel {
        act: fam.act,
        sigma_w2: fam.sigma_w2,
        sigma_b: fam.sigma_b,
    };
    let q = kernel
        .moments(arch.depth(), x_sq)
        .map(|m| m.q)
        .unwrap_or_default();
    let ln_w = fam.sigma_w2.ln();
    // ln prod_{k <= i} sigma_w^2 E[phi'(u_k)^2].
    let mut ln_gain = 0.0f64;
    (1..dims.len())
        .map(|i| {
            let (di, d0, db) = (dims[i] as f64, dims[0] as f64, dims[b[i]] as f64);
            let (ln_m, ln_d) = match q.get(i - 1) {
                Some(qi) => (
                    ln_second_moment(fam.act, Func::Phi, qi.ln).unwrap_or(f64::NAN),
                    ln_second_moment(fam.act, Func::Dphi, qi.ln).unwrap_or(f64::NAN),
                ),
                None => (f64::NAN, f64::NAN),
            };
            ln_gain += ln_w + ln_d;
            let finite = |v: f64| if v.is_finite() { v } else { f64::NAN };
            LayerPrediction {
                h_norm: finite((0.5 * (di.ln() + ln_m)).exp()),
                expansion_bound: finite(
                    (di / db).sqrt() * (0.5 * (ln_gain + i as f64 * 2f64.ln())).exp(),
                ),
                random_expansion: finite((0.5 * (ln_gain + (di / d0).ln())).exp()),
                small_fraction: small,
            }
        })
        .collect()
}

/// One network's measurements for every layer `i = 1..=l`.
#[derive(Clone, Debug)]
pub struct LayerMeasure {
    /// `||h_i(x)||`.
    pub h_norm: f64,
    /// Top singular value of `J_i(x)`.
    pub top_singular: f64,
    /// Max over sampled `y` of `||h_i(x) - h_i(y)|| / ||x - y||`.
    pub sampled_max: f64,
    /// Mean over sampled `y` of the same (the random-direction expansion).
    pub sampled_mean: f64,
    /// Fraction of units with `|z_ij| <= a s_i`, `s_i = sqrt(sigma_w^2 ||h_{i-1}||^2 / d_{i-1} +
    /// sigma_b^2)` (NN-DEF without biases: `a ||h_{i-1}|| / sqrt(d_{i-1})`).
    pub small_fraction: f64,
}

/// Measures one network at `x`: `samples` points at distance `radius ||x||` in uniform
/// directions (streams `(seed, trial, Direction, 1, k)`), the top singular values by Lanczos on
/// `J_i^T J_i` to relative tolerance 1e-12 (at most 1000 steps). `None` if the network is dead
/// at `x` or its unscaled pass overflowed there (MATH 9).
#[allow(clippy::too_many_arguments)]
pub fn measure<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    seed: u64,
    trial: u64,
    radius: f64,
    samples: usize,
    a: f64,
    par: Par,
) -> Option<Vec<LayerMeasure>> {
    let d = x.len();
    let xt: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
    let trace = forward_keep(net, MatRef::from_column_major_slice(&xt, d, 1), par, true);
    if trace.dead[0] || trace.overflow[0] {
        return None;
    }
    let dims = trace.dims.clone();
    let l = dims.len() - 1;
    let trace_family = net.arch().family;

    // Exact expansion: power iteration from uniform starting vectors, one per layer.
    let start: Vec<f64> = (0..l)
        .flat_map(|i| {
            let mut r = rng::stream(seed, trial, Purpose::Direction, 2, i as u64);
            rng::sphere(&mut r, d, 1.0)
        })
        .collect();
    let sigma = top_singular_values(net, &trace, 0, start, 1e-12, 1000, par);

    // Sampled expansion.
    let nx = crate::vector::norm(x);
    let step = radius * nx;
    let mut pts = xt.clone();
    for k in 0..samples {
        let mut r = rng::stream(seed, trial, Purpose::Direction, 1, k as u64);
        let u = rng::sphere(&mut r, d, 1.0);
        pts.extend(x.iter().zip(&u).map(|(a, b)| T::from_f64(a + step * b)));
    }
    let tr = forward(
        net,
        MatRef::from_column_major_slice(&pts, d, samples + 1),
        par,
    );
    // ||x - y|| as the network saw it (after rounding to T).
    let dist: Vec<f64> = (1..=samples)
        .map(|b| {
            pts[b * d..(b + 1) * d]
                .iter()
                .zip(&xt)
                .map(|(p, q)| (p.to_f64() - q.to_f64()).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();

    Some(
        (1..=l)
            .map(|i| {
                let di = dims[i];
                let hx = &tr.acts[i][..di];
                let ex = tr.log2[i][0];
                let ratios: Vec<f64> = (1..=samples)
                    .map(|b| {
                        let hy = &tr.acts[i][b * di..(b + 1) * di];
                        let s = ldexp(1.0, tr.log2[i][b] - ex);
                        let diff = hx
                            .iter()
                            .zip(hy)
                            .map(|(p, q)| (p.to_f64() - q.to_f64() * s).powi(2))
                            .sum::<f64>()
                            .sqrt();
                        ldexp(diff, ex) / dist[b - 1]
                    })
                    .collect();
                // Lemma 2.5 in the carried scale of h_{i-1} (z_i shares it; a pass with biases
                // is unscaled, so sigma_b needs no exponent).
                let prev = trace.act_norm(i - 1, 0).mant;
                let fam = trace_family;
                let sd = if fam.sigma_w2 == 1.0 && fam.sigma_b == 0.0 {
                    prev / (dims[i - 1] as f64).sqrt()
                } else {
                    (fam.sigma_w2 * prev * prev / dims[i - 1] as f64 + fam.sigma_b * fam.sigma_b)
                        .sqrt()
                };
                let cut = a * sd;
                let small = trace.pre[i - 1]
                    .iter()
                    .filter(|z| z.to_f64().abs() <= cut)
                    .count();
                LayerMeasure {
                    h_norm: trace.act_norm(i, 0).value(),
                    top_singular: sigma[i - 1],
                    sampled_max: ratios.iter().cloned().fold(0.0, f64::max),
                    sampled_mean: ratios.iter().sum::<f64>() / samples.max(1) as f64,
                    small_fraction: small as f64 / di as f64,
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bottlenecks_and_records() {
        let dims = [2000, 2000, 50, 2000, 50, 10, 4000];
        assert_eq!(bottleneck_index(&dims), vec![0, 0, 2, 2, 2, 5, 5]);
        assert_eq!(segment_records(&dims), vec![0, 2, 5]);
        assert_eq!(bottleneck_index(&[500, 2000, 2000]), vec![0, 0, 0]);
        assert_eq!(segment_records(&[500, 2000, 2000]), vec![0]);
    }
}
