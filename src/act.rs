//! Activations of the general family (MATH 9): `phi` and its derivative `phi'`, which replaces
//! the 0/1 masks of MATH 2 in the backward pass, and the homogeneity that decides whether the
//! per-layer power-of-two rescaling of MATH 1 is exact.
//!
//! The transcendental functions are `libm`'s (pure Rust) rather than the C library's: right
//! after faer's AVX-512 GEMM kernels, which return without `vzeroupper`, glibc's `tanh` and
//! `exp` cost 130-150 ns each instead of 5-10 ns (SSE/AVX transition penalties; measured in
//! bench/RESULTS.md), while `libm`'s are unaffected.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, invalid};

/// An activation `phi` (MATH 9).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Act {
    /// `max(t, 0)`, the paper's.
    #[default]
    Relu,
    /// `max(t, a t)` with `0 <= a <= 1`.
    Leaky(f64),
    /// `|t|`.
    Abs,
    /// `tanh t`.
    Tanh,
    /// `erf t`.
    Erf,
    /// `t Phi(t)`, `Phi` the standard normal CDF (the exact GELU, not its tanh approximation).
    Gelu,
    /// `log(1 + e^t)`.
    Softplus,
    /// `t^2`.
    Square,
}

/// `1 / sqrt(2 pi)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// The standard normal CDF, `erfc(-t / sqrt 2) / 2` (accurate in both tails).
pub fn normal_cdf(t: f64) -> f64 {
    0.5 * libm::erfc(-t * std::f64::consts::FRAC_1_SQRT_2)
}

/// The standard normal density.
pub fn normal_pdf(t: f64) -> f64 {
    INV_SQRT_2PI * libm::exp(-0.5 * t * t)
}

impl Act {
    /// Every activation name `--act` accepts (`leaky` takes `:A`).
    pub const NAMES: &'static str = "relu, leaky:A, abs, tanh, erf, gelu, softplus, square";

    /// `phi(t)`.
    #[inline]
    pub fn phi(self, t: f64) -> f64 {
        match self {
            Act::Relu => {
                if t > 0.0 {
                    t
                } else {
                    0.0
                }
            }
            Act::Leaky(a) => {
                if t > 0.0 {
                    t
                } else {
                    a * t
                }
            }
            Act::Abs => t.abs(),
            Act::Tanh => libm::tanh(t),
            Act::Erf => libm::erf(t),
            Act::Gelu => t * normal_cdf(t),
            // max(t, 0) + log(1 + e^-|t|): no overflow for large t, no cancellation for small.
            Act::Softplus => t.max(0.0) + libm::log1p(libm::exp(-t.abs())),
            Act::Square => t * t,
        }
    }

    /// `phi'(t)`; at a kink, the right-continuous choice of MATH 2 for relu (`phi'(0) = 0`),
    /// `a` for leaky and 0 for abs.
    #[inline]
    pub fn dphi(self, t: f64) -> f64 {
        match self {
            Act::Relu => {
                if t > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Act::Leaky(a) => {
                if t > 0.0 {
                    1.0
                } else {
                    a
                }
            }
            Act::Abs => {
                if t > 0.0 {
                    1.0
                } else if t < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Act::Tanh => {
                let h = libm::tanh(t);
                1.0 - h * h
            }
            Act::Erf => 2.0 * INV_SQRT_2PI * std::f64::consts::SQRT_2 * libm::exp(-t * t),
            Act::Gelu => normal_cdf(t) + t * normal_pdf(t),
            // The logistic function, written so that neither branch overflows.
            Act::Softplus => {
                if t >= 0.0 {
                    1.0 / (1.0 + libm::exp(-t))
                } else {
                    let e = libm::exp(t);
                    e / (1.0 + e)
                }
            }
            Act::Square => 2.0 * t,
        }
    }

    /// The degree `k` with `phi(a t) = a^k phi(t)` for every `a > 0`, if there is one: 1 for
    /// relu, leaky and abs, 2 for square (MATH 9). Without biases such a network is positively
    /// homogeneous, Euler's identity holds and per-layer rescaling is exact.
    pub fn degree(self) -> Option<u32> {
        match self {
            Act::Relu | Act::Leaky(_) | Act::Abs => Some(1),
            Act::Square => Some(2),
            Act::Tanh | Act::Erf | Act::Gelu | Act::Softplus => None,
        }
    }

    /// The name `--act` takes (`leaky:0.1`).
    pub fn name(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Act {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Act::Relu => f.write_str("relu"),
            Act::Leaky(a) => write!(f, "leaky:{a}"),
            Act::Abs => f.write_str("abs"),
            Act::Tanh => f.write_str("tanh"),
            Act::Erf => f.write_str("erf"),
            Act::Gelu => f.write_str("gelu"),
            Act::Softplus => f.write_str("softplus"),
            Act::Square => f.write_str("square"),
        }
    }
}

impl FromStr for Act {
    type Err = Error;

    /// Parses `--act`; errors name the flag, the value and the choices.
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        Ok(match t {
            "relu" => Act::Relu,
            "abs" => Act::Abs,
            "tanh" => Act::Tanh,
            "erf" => Act::Erf,
            "gelu" => Act::Gelu,
            "softplus" => Act::Softplus,
            "square" => Act::Square,
            _ => {
                let Some(a) = t.strip_prefix("leaky:") else {
                    return Err(invalid(
                        "--act",
                        s,
                        format!("expected one of {}", Act::NAMES),
                    ));
                };
                match a.parse::<f64>() {
                    Ok(a) if (0.0..=1.0).contains(&a) => Act::Leaky(a),
                    _ => {
                        return Err(invalid(
                            "--act",
                            s,
                            "expected 'leaky:A' with a slope 0 <= A <= 1, e.g. 'leaky:0.1'",
                        ));
                    }
                }
            }
        })
    }
}

impl serde::Serialize for Act {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Act {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Act; 8] = [
        Act::Relu,
        Act::Leaky(0.1),
        Act::Abs,
        Act::Tanh,
        Act::Erf,
        Act::Gelu,
        Act::Softplus,
        Act::Square,
    ];

    /// `phi'` against a central difference away from the kinks: the error of a step `h` is
    /// `h^2 |phi'''| / 6` plus rounding `eps |phi| / h`, below 1e-8 here.
    #[test]
    fn derivative_matches_central_differences() {
        let h = 1e-5;
        for act in ALL {
            for k in -40..=40 {
                let t = k as f64 * 0.2 + 0.013;
                let fd = (act.phi(t + h) - act.phi(t - h)) / (2.0 * h);
                assert!(
                    (fd - act.dphi(t)).abs() <= 1e-8 * (1.0 + act.dphi(t).abs()),
                    "{act} at {t}: {fd} vs {}",
                    act.dphi(t)
                );
            }
        }
    }

    #[test]
    fn homogeneous_activations_scale_exactly_by_powers_of_two() {
        for act in ALL {
            let Some(k) = act.degree() else { continue };
            for t in [-3.7, -0.2, 0.0, 0.9, 5.5] {
                assert_eq!(act.phi(8.0 * t), 8f64.powi(k as i32) * act.phi(t), "{act}");
            }
        }
    }

    #[test]
    fn names_round_trip_and_bad_names_name_the_flag() {
        for act in ALL {
            assert_eq!(act.to_string().parse::<Act>().unwrap(), act);
        }
        for bad in ["sigmoid", "leaky", "leaky:2", "leaky:-0.1", "leaky:x", ""] {
            let e = bad.parse::<Act>().unwrap_err().to_string();
            assert!(e.contains("--act"), "{e}");
        }
        // Stable tails: no overflow, no NaN.
        assert_eq!(Act::Softplus.phi(1000.0), 1000.0);
        assert_eq!(Act::Softplus.dphi(-1000.0), 0.0);
        assert_eq!(Act::Gelu.phi(-40.0), -0.0);
    }
}
