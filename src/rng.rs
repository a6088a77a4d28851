//! Seeded, splittable random streams (MATH 1: the weights and inputs of NN-DEF).
//!
//! Every random number radex draws comes from a `Xoshiro256PlusPlus` stream keyed by
//! `(seed, trial, purpose, layer, block)`. Weight matrices are filled in blocks of [`BLOCK`]
//! entries (column-major order), each block from its own stream, so a matrix is the same bytes
//! whether it is filled by one thread or many. The generator is named rather than `StdRng`
//! because its output is fixed by its algorithm.

use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::choice::Choice;
use crate::scalar::Real;

/// The generator behind every stream.
pub type Stream = Xoshiro256PlusPlus;

/// Entries per independently seeded block of a weight matrix.
pub const BLOCK: usize = 1 << 16;

/// What a stream is used for; part of its key so that purposes never share numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Entries of `W_i` (layer `i`, `1..=l+1`).
    Weights = 1,
    /// The input direction `x`.
    Input = 2,
    /// Bootstrap resampling of statistics.
    Bootstrap = 3,
    /// Random directions around `x` (sampling a ball).
    Direction = 4,
    /// Fresh Gaussian vectors of the lazy network (MATH 8), keyed also by the reveal index.
    Lazy = 5,
    /// Entries of the biases `b_i` (MATH 9), apart from the weights' streams so that
    /// `sigma_b = 0` keeps every weight the paper's network had.
    Bias = 6,
}

/// SplitMix64 finaliser: a bijective mixer of 64-bit words.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a tuple of words into one key (order matters).
pub fn key(words: &[u64]) -> u64 {
    words
        .iter()
        .fold(0x6A09_E667_F3BC_C908, |h, &w| mix(h ^ mix(w)))
}

/// The stream for `(seed, trial, purpose, layer, block)`.
pub fn stream(seed: u64, trial: u64, purpose: Purpose, layer: u64, block: u64) -> Stream {
    stream_of_key(key(&[seed, trial, purpose as u64, layer, block]))
}

/// The stream of block `block` of the `reveal`-th Gaussian vector drawn by layer `layer` of the
/// lazy network of `(seed, trial)` (MATH 8). Keyed by the reveal index rather than by a running
/// position in one stream, so every reveal gets the same numbers on any thread count.
pub fn lazy_stream(seed: u64, trial: u64, layer: u64, reveal: u64, block: u64) -> Stream {
    stream_of_key(key(&[
        seed,
        trial,
        Purpose::Lazy as u64,
        layer,
        reveal,
        block,
    ]))
}

fn stream_of_key(k: u64) -> Stream {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(k.wrapping_add(i as u64)).to_le_bytes());
    }
    Stream::from_seed(bytes)
}

/// A seed derived from `seed` and a tag, for experiments that run several independent
/// sub-experiments (e.g. one per input dimension in `scaling`).
pub fn derive_seed(seed: u64, tag: &[u64]) -> u64 {
    let mut words = vec![seed];
    words.extend_from_slice(tag);
    key(&words)
}

/// Fills `buf` with iid `N(0, scale^2)` entries of layer `layer`, block by block in parallel.
/// Sampled in `f64` and rounded to `T`, so the bytes do not depend on the thread count.
pub fn fill_gaussian<T: Real>(buf: &mut [T], scale: f64, seed: u64, trial: u64, layer: u64) {
    fill_gaussian_blocks(buf, scale, true, |block| {
        stream(seed, trial, Purpose::Weights, layer, block)
    });
}

/// Fills `buf` with iid `N(0, scale^2)` entries, block `b` (of [`BLOCK`] entries) from the
/// stream `stream_of(b)`; blocks in parallel when `parallel`, with the same bytes either way.
pub fn fill_gaussian_blocks<T: Real>(
    buf: &mut [T],
    scale: f64,
    parallel: bool,
    stream_of: impl Fn(u64) -> Stream + Sync,
) {
    let fill = |(block, chunk): (usize, &mut [T])| {
        let mut rng = stream_of(block as u64);
        for v in chunk {
            let z: f64 = rng.sample(StandardNormal);
            *v = T::from_f64(z * scale);
        }
    };
    if parallel {
        buf.par_chunks_mut(BLOCK).enumerate().for_each(fill);
    } else {
        buf.chunks_mut(BLOCK).enumerate().for_each(fill);
    }
}

/// Fills `buf` with iid `+-scale` entries (the rademacher output law of MATH 9), block by block
/// from the streams of `(seed, trial, Weights, layer)` as [`fill_gaussian`] does.
pub fn fill_rademacher<T: Real>(buf: &mut [T], scale: f64, seed: u64, trial: u64, layer: u64) {
    buf.par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(block, chunk)| {
            let mut rng = stream(seed, trial, Purpose::Weights, layer, block as u64);
            for v in chunk {
                *v = T::from_f64(if rng.random::<bool>() { scale } else { -scale });
            }
        });
}

/// Fills `buf` with iid `N(0, scale^2)` biases of layer `layer` (MATH 9).
pub fn fill_bias<T: Real>(buf: &mut [T], scale: f64, seed: u64, trial: u64, layer: u64) {
    fill_gaussian_blocks(buf, scale, true, |block| {
        stream(seed, trial, Purpose::Bias, layer, block)
    });
}

/// A uniformly random direction in `R^d` scaled to norm `radius` (in `f64`).
pub fn sphere(rng: &mut Stream, d: usize, radius: f64) -> Vec<f64> {
    loop {
        let mut v: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
        let norm = crate::vector::norm(&v);
        if norm > 0.0 {
            let s = radius / norm;
            v.iter_mut().for_each(|x| *x *= s);
            return v;
        }
    }
}

/// The input `x` of trial `trial`: uniform direction, `||x|| = sqrt(d)` (MATH 1).
pub fn input(seed: u64, trial: u64, d: usize) -> Vec<f64> {
    input_of(InputLaw::Sphere, seed, trial, d)
}

/// The law of the inputs (`--input`, MATH 9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputLaw {
    /// Uniform on the sphere of radius `sqrt(d)` (the paper's).
    #[default]
    Sphere,
    /// `N(0, I_d)`.
    Gauss,
    /// Uniform on the box `[0, 1]^d` (De Palma, Kiani, Lloyd 2021); attacks clip to the box.
    Box,
}

impl Choice for InputLaw {
    const FLAG: &'static str = "--input";
    const ALL: &'static [(&'static str, Self)] = &[
        ("sphere", InputLaw::Sphere),
        ("gauss", InputLaw::Gauss),
        ("box", InputLaw::Box),
    ];
}

impl InputLaw {
    /// `E ||x||^2 / d`: 1 on the sphere and for Gaussian inputs, 1/3 in the box (MATH 9).
    pub fn mean_sq(self) -> f64 {
        match self {
            InputLaw::Sphere | InputLaw::Gauss => 1.0,
            InputLaw::Box => 1.0 / 3.0,
        }
    }
}

/// The input `x` of trial `trial` under `law`, from the stream `(seed, trial, Input)`.
pub fn input_of(law: InputLaw, seed: u64, trial: u64, d: usize) -> Vec<f64> {
    let mut rng = stream(seed, trial, Purpose::Input, 0, 0);
    match law {
        InputLaw::Sphere => sphere(&mut rng, d, (d as f64).sqrt()),
        InputLaw::Gauss => (0..d).map(|_| rng.sample(StandardNormal)).collect(),
        InputLaw::Box => (0..d).map(|_| rng.random::<f64>()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_every_key_component() {
        let base = stream(1, 2, Purpose::Weights, 3, 4);
        let variants = [
            stream(0, 2, Purpose::Weights, 3, 4),
            stream(1, 0, Purpose::Weights, 3, 4),
            stream(1, 2, Purpose::Input, 3, 4),
            stream(1, 2, Purpose::Weights, 0, 4),
            stream(1, 2, Purpose::Weights, 3, 0),
        ];
        let first = |mut s: Stream| rand::Rng::next_u64(&mut s);
        let b = first(base);
        for v in variants {
            assert_ne!(first(v), b);
        }
    }

    #[test]
    fn gaussian_fill_has_unit_variance_and_is_thread_independent() {
        let n = 3 * BLOCK + 17;
        let mut a = vec![0.0f64; n];
        fill_gaussian(&mut a, 1.0, 7, 0, 1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let mut b = vec![0.0f64; n];
        pool.install(|| fill_gaussian(&mut b, 1.0, 7, 0, 1));
        assert_eq!(a, b);
        let mean = a.iter().sum::<f64>() / n as f64;
        let var = a.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        // Standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0031; allow 5 SE.
        assert!(mean.abs() < 5.0 / (n as f64).sqrt(), "mean {mean}");
        assert!(
            (var - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
            "var {var}"
        );
    }

    #[test]
    fn input_has_norm_sqrt_d() {
        let x = input(3, 5, 1000);
        let n = crate::vector::norm(&x);
        assert!((n - 1000f64.sqrt()).abs() < 1e-12);
    }
}
