//! The norm in which a perturbation is measured (MATH 3, "other norms"): L2 or Linf. For a
//! linear function the smallest flip in `||.||_p` has size `|f| / ||grad f||_q`, `1/p + 1/q = 1`,
//! along the steepest direction of that norm: `-sign(f) grad / ||grad||_2` in L2,
//! `-sign(f) sign(grad)` in Linf. Sizes are relative to `||x||` (the L2 norm of the input) in
//! either norm, so that the Linf flip of a Gaussian-like gradient is about `sqrt(pi / (2 d))`
//! times the L2 flip, as MATH 3 states.

use serde::{Deserialize, Serialize};

use crate::choice::Choice;

/// A perturbation norm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// The Euclidean norm (the paper's).
    #[default]
    L2,
    /// The largest absolute coordinate.
    Linf,
}

impl Choice for Norm {
    const FLAG: &'static str = "--norm";
    const ALL: &'static [(&'static str, Self)] = &[("l2", Norm::L2), ("linf", Norm::Linf)];
}

impl Norm {
    /// `l2` or `linf`.
    pub fn name(self) -> &'static str {
        match self {
            Norm::L2 => "l2",
            Norm::Linf => "linf",
        }
    }

    /// `||v||`.
    pub fn of(self, v: &[f64]) -> f64 {
        match self {
            Norm::L2 => crate::vector::norm(v),
            Norm::Linf => v.iter().fold(0.0, |m, a| m.max(a.abs())),
        }
    }

    /// `||a - b||`.
    pub fn distance(self, a: &[f64], b: &[f64]) -> f64 {
        match self {
            Norm::L2 => crate::vector::distance(a, b),
            Norm::Linf => a.iter().zip(b).fold(0.0, |m, (p, q)| m.max((p - q).abs())),
        }
    }

    /// The steepest unit direction and the linear step length in this norm, from L2's: `u2 =
    /// -sign(f) grad / ||grad||_2` and `t2 = |f| / ||grad||_2`. Linf: `sign(u2)` and
    /// `|f| / ||grad||_1 = t2 / ||u2||_1`.
    pub fn steepest(self, u2: &[f64], t2: f64) -> (Vec<f64>, f64) {
        match self {
            Norm::L2 => (u2.to_vec(), t2),
            Norm::Linf => {
                let u = u2
                    .iter()
                    .map(|&v| if v == 0.0 { 0.0 } else { v.signum() })
                    .collect();
                let l1: f64 = u2.iter().map(|v| v.abs()).sum();
                (u, t2 / l1)
            }
        }
    }

    /// `E ||g||_q / ||g||_2` for a standard Gaussian `g` in `d` dimensions (to leading order):
    /// 1 in L2, `sqrt(2 d / pi)` in Linf. Linear predictions of flip sizes made for L2 divide
    /// by it (MATH 3).
    pub fn gaussian_dual_ratio(self, d: usize) -> f64 {
        match self {
            Norm::L2 => 1.0,
            Norm::Linf => (2.0 * d as f64 / std::f64::consts::PI).sqrt(),
        }
    }
}

impl std::fmt::Display for Norm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
