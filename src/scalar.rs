//! The floating-point element type of a network: `f64` (default) or `f32` (`--precision f32`).
//!
//! One generic engine serves both (MATH 1): weights are always sampled in `f64` and rounded,
//! so an `f32` network is the rounding of the `f64` network of the same seed, and the two can
//! be compared trial by trial.

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub};

use crate::choice::Choice;

/// A real scalar the dense engine runs in.
pub trait Real:
    faer::traits::ComplexField
    + faer::traits::RealField
    + Copy
    + Send
    + Sync
    + Debug
    + PartialOrd
    + Default
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + MulAssign
    + 'static
{
    /// Name as given to `--precision`.
    const NAME: &'static str;
    /// Unit roundoff (half the machine epsilon).
    const UNIT_ROUNDOFF: f64;
    /// The additive identity.
    const ZERO: Self;
    /// Rounds an `f64` to this type.
    fn from_f64(x: f64) -> Self;
    /// Widens to `f64` (exact).
    fn to_f64(self) -> f64;
    /// `tanh` in this type (`libm`'s `tanh` or `tanhf`): the f32 pass need not round-trip
    /// through f64 for the one activation whose forward pass it dominates.
    fn tanh_t(self) -> Self;
}

impl Real for f64 {
    const NAME: &'static str = "f64";
    const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn tanh_t(self) -> Self {
        libm::tanh(self)
    }
}

impl Real for f32 {
    const NAME: &'static str = "f32";
    const UNIT_ROUNDOFF: f64 = f32::EPSILON as f64 / 2.0;
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn tanh_t(self) -> Self {
        libm::tanhf(self)
    }
}

/// Floating-point precision chosen on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F64,
    F32,
}

impl Choice for Precision {
    const FLAG: &'static str = "--precision";
    const ALL: &'static [(&'static str, Self)] =
        &[("f64", Precision::F64), ("f32", Precision::F32)];
}

impl Precision {
    /// Bytes per element.
    pub fn bytes(self) -> usize {
        match self {
            Precision::F64 => 8,
            Precision::F32 => 4,
        }
    }
}

/// Evaluates `$body` with the type `$t` standing for the element type of `$precision` (`f64`
/// or `f32`): the one place a run picks its generic instantiation.
///
/// ```
/// use radex::scalar::{Precision, Real};
/// fn bytes<T: Real>() -> usize { std::mem::size_of::<T>() }
/// assert_eq!(radex::with_real!(Precision::F32, T => bytes::<T>()), 4);
/// ```
#[macro_export]
macro_rules! with_real {
    ($precision:expr, $t:ident => $body:expr) => {
        match $precision {
            $crate::scalar::Precision::F64 => {
                type $t = f64;
                $body
            }
            $crate::scalar::Precision::F32 => {
                type $t = f32;
                $body
            }
        }
    };
}
