//! What `radex attack` prints beside its measurements (MATH 3, generalised by MATH 9): the
//! Lemma 2.2 scales of `f` and `||grad f||` from the kernel recursion, and the law of the
//! one-step size `rho sqrt(d)`, `2 |Z| r` for one output and `sqrt(2) r (Z_(1) - Z_(2))` for the
//! margin of `K >= 2`. A network a user brings has no prediction (MATH 10).

use crate::act::Act;
use crate::arch::Arch;
use crate::infinite_width::{self, Kernel};
use crate::measure::stats::{normal_cdf, normal_quantile};

/// A quantile the report prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantile {
    /// 10th percentile.
    P10,
    /// Median.
    Median,
    /// 90th percentile.
    P90,
}

impl Quantile {
    /// The probability level.
    pub fn p(self) -> f64 {
        match self {
            Quantile::P10 => 0.1,
            Quantile::Median => 0.5,
            Quantile::P90 => 0.9,
        }
    }

    /// The level of `|Z|`'s quantile as one of `Z`: `(1 + p) / 2`, written out so that the
    /// paper's predictions keep their bits.
    fn abs_level(self) -> f64 {
        match self {
            Quantile::P10 => 0.55,
            Quantile::Median => 0.75,
            Quantile::P90 => 0.95,
        }
    }
}

/// The predicted law of one trial's scalars, in the units the attack report uses.
#[derive(Clone, Copy, Debug)]
pub struct Law {
    /// `log2 s`, `s = sqrt(E F_k^2)` (for a given network 0: its values are shown unscaled).
    pub log2_scale: f64,
    /// `r = sqrt(E F^2 / E ||grad F||^2) sqrt(d) / ||x||` (MATH 9); NaN when not predicted.
    pub r: f64,
    /// Number of outputs `K`.
    pub outputs: usize,
    /// `sqrt(E ||grad F_k||^2) / s`, times `sqrt 2` for the margin of `K >= 2`; NaN when not
    /// predicted.
    pub grad_over_scale: f64,
}

impl Law {
    /// The law of `arch`'s family for inputs with `E ||x||^2 / d = x_sq`; `None` (nothing
    /// predicted) for a given network or where the recursion leaves `f64` even in logarithms.
    pub fn of(arch: &Arch, x_sq: f64, given: bool) -> Law {
        let none = Law {
            log2_scale: 0.0,
            r: f64::NAN,
            outputs: arch.outputs(),
            grad_over_scale: f64::NAN,
        };
        if given {
            return none;
        }
        let fam = arch.family;
        let depth = arch.depth() as f64;
        let margin = if fam.outputs >= 2 {
            std::f64::consts::SQRT_2
        } else {
            1.0
        };
        if fam.act == Act::Relu && fam.sigma_b == 0.0 && x_sq == 1.0 {
            // The paper's closed form, kept literally so the default prints the same bits:
            // E f^2 = E ||grad f||^2 = sigma_w2 (sigma_w2 / 2)^l (MATH 9), r = 1.
            let s2 = fam.sigma_w2.log2();
            return Law {
                log2_scale: 0.5 * (s2 + depth * (s2 - 1.0)),
                r: 1.0,
                outputs: fam.outputs,
                grad_over_scale: margin,
            };
        }
        let kernel = Kernel {
            act: fam.act,
            sigma_w2: fam.sigma_w2,
            sigma_b: fam.sigma_b,
        };
        match kernel.moments(arch.depth(), x_sq) {
            Ok(m) => Law {
                log2_scale: m.f_rms.ln / std::f64::consts::LN_2,
                r: m.r,
                outputs: fam.outputs,
                grad_over_scale: margin * (m.grad_rms.ln - m.f_rms.ln).exp(),
            },
            Err(_) => none,
        }
    }

    /// Whether anything is predicted.
    pub fn predicted(&self) -> bool {
        self.r.is_finite()
    }

    /// `P(rho sqrt(d) / r > t)` for the one-step size.
    fn survival(&self, t: f64) -> f64 {
        infinite_width::one_step_survival(self.outputs, t)
    }

    /// A quantile of the one-step size `rho sqrt(d)`.
    pub fn one_step_quantile(&self, q: Quantile) -> f64 {
        if !self.predicted() {
            return f64::NAN;
        }
        if self.outputs == 1 {
            // 2 |Z| r: the p-quantile of |Z| is Phi^{-1}((1 + p) / 2).
            return 2.0 * normal_quantile(q.abs_level()) * self.r;
        }
        let p = q.p();
        // Bisection on the decreasing survival function, to f64 resolution.
        let (mut lo, mut hi) = (0.0f64, 64.0f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if self.survival(mid) > 1.0 - p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi) * self.r
    }

    /// The mean of `rho sqrt(d)`.
    pub fn one_step_mean(&self) -> f64 {
        if !self.predicted() {
            return f64::NAN;
        }
        if self.outputs == 1 {
            return 2.0 * (2.0 / std::f64::consts::PI).sqrt() * self.r;
        }
        infinite_width::one_step_law(self.outputs, self.r).map_or(f64::NAN, |l| l.mean)
    }

    /// The linear model's chance that a budget `eps` (relative to `||x||`, `e = eps sqrt(d)`)
    /// contains a flip: the minimal flip is half the one-step size, so `P(rho sqrt(d) <= 2 e)`.
    pub fn flip_within(&self, e: f64) -> f64 {
        if !self.predicted() {
            return f64::NAN;
        }
        if self.outputs == 1 {
            return 2.0 * normal_cdf(e / self.r) - 1.0;
        }
        1.0 - self.survival(2.0 * e / self.r)
    }

    /// A quantile of `f / s`: a standard normal for one output; for the margin of `K >= 2`,
    /// the gap `Z_(1) - Z_(2)`, which is `rho sqrt(d) / (sqrt(2) r)`.
    pub fn f_quantile(&self, q: Quantile) -> f64 {
        if !self.predicted() {
            return f64::NAN;
        }
        if self.outputs == 1 {
            return normal_quantile(q.p());
        }
        self.one_step_quantile(q) / (std::f64::consts::SQRT_2 * self.r)
    }

    /// `sqrt(E (f / s)^2)`: 1 for one output; for the margin, `sqrt(E gap^2)` with
    /// `E gap^2 = int_0^inf 2 t P(gap > t) dt` (Simpson's rule on `[0, 16]`, past which the
    /// gap's tail is below `e^-64`).
    pub fn f_rms_over_scale(&self) -> f64 {
        if !self.predicted() {
            return f64::NAN;
        }
        if self.outputs == 1 {
            return 1.0;
        }
        let n = 1600;
        let h = 16.0 / n as f64;
        let g = |t: f64| 2.0 * t * self.survival(std::f64::consts::SQRT_2 * t);
        let mut sum = g(0.0) + g(16.0);
        for i in 1..n {
            sum += g(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        (sum * h / 3.0).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{Family, Init};

    #[test]
    fn one_output_quantiles_are_two_abs_z_r() {
        let arch = Arch::new(100, vec![100, 100], Init::Nn).unwrap();
        let law = Law::of(&arch, 1.0, false);
        assert_eq!((law.r, law.log2_scale), (1.0, -1.0));
        assert!((law.one_step_quantile(Quantile::Median) - 1.348_979_500_392_163_5).abs() < 1e-12);
        assert!((law.flip_within(1.0) - 0.682_689_492_137_085_9).abs() < 1e-12);
    }

    /// For `K = 2` the gap of two normals is `sqrt 2 |Z|`, so the margin law is the one-output
    /// law: quantiles of `f / s` are those of `sqrt 2 |Z|`, and `E gap^2 = 2`.
    #[test]
    fn two_outputs_reduce_to_the_one_output_law() {
        let fam = Family {
            outputs: 2,
            ..Family::paper(Init::He)
        };
        let arch = Arch::with_family(100, vec![100], fam).unwrap();
        let law = Law::of(&arch, 1.0, false);
        let sq2 = std::f64::consts::SQRT_2;
        for q in [Quantile::P10, Quantile::Median, Quantile::P90] {
            let want = 2.0 * normal_quantile((1.0 + q.p()) / 2.0);
            assert!((law.one_step_quantile(q) - want).abs() < 1e-9, "{q:?}");
            let gap = sq2 * normal_quantile((1.0 + q.p()) / 2.0);
            assert!((law.f_quantile(q) - gap).abs() < 1e-9);
        }
        assert!((law.f_rms_over_scale() - sq2).abs() < 1e-7);
        assert!((law.flip_within(0.7) - (2.0 * normal_cdf(0.7) - 1.0)).abs() < 1e-9);
        assert_eq!(law.grad_over_scale, sq2);
    }

    #[test]
    fn given_networks_have_no_prediction() {
        let arch = Arch::new(10, vec![10], Init::Nn).unwrap();
        let law = Law::of(&arch, 1.0, true);
        assert!(!law.predicted() && law.one_step_quantile(Quantile::Median).is_nan());
        assert_eq!(law.log2_scale, 0.0);
    }
}
