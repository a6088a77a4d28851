//! Attacks on the scalar output (MATH 3). Every attack asks the network only for forward and
//! backward products, and every point it reports as adversarial has been evaluated and flips
//! the sign of `f`.

pub mod deepfool;
pub mod minnorm;
pub mod norm;
pub mod onestep;
pub mod pgd;
pub mod ray;

use faer::{MatRef, Par};

use crate::choice::Choice;
use crate::net::{Layers, Scaled, forward};
use crate::scalar::Real;

pub use deepfool::{DeepFool, deepfool};
pub use minnorm::{MinNorm, MinNormSettings, minnorm};
pub use norm::Norm;
pub use onestep::{OneStep, one_step};
pub use pgd::{PgdRun, PgdSettings, pgd, project_l2, project_linf};
pub use ray::{RayFlip, ray_flip};

/// One attack, as flags and records name it (declared in the alphabetical order of the
/// names, which is the order of `wins` in JSON).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Attack {
    /// DeepFool (iterated linearisation, stops at the flip).
    Deepfool,
    /// The minimum-norm attack: from DeepFool's flip (else the ray's, else PGD's), a walk
    /// along the decision boundary towards `x` keeping the nearest verified flip.
    Minnorm,
    /// The one-step attack of Theorem 1.1: `x' = x - 2 f grad / ||grad||^2`.
    Onestep,
    /// PGD with fixed budgets (success rate against eps).
    Pgd,
    /// The minimal flip along the gradient ray (bracketing and bisection).
    Ray,
}

impl Attack {
    /// The name in flags and records: `onestep`, `ray`, `deepfool`, `pgd`, `minnorm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Attack::Deepfool => "deepfool",
            Attack::Minnorm => "minnorm",
            Attack::Onestep => "onestep",
            Attack::Pgd => "pgd",
            Attack::Ray => "ray",
        }
    }
}

impl std::fmt::Display for Attack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The attacks a run asks for (`--attack`): one, or every one (`all`), which run on the same
/// pairs with the best perturbation per pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attacks(u8);

impl Attacks {
    /// Every attack (`--attack all`).
    pub const EVERY: Attacks = Attacks(0b1_1111);

    /// Only `a`.
    pub const fn only(a: Attack) -> Attacks {
        Attacks(1 << a as u8)
    }

    /// Whether `a` runs.
    pub fn contains(self, a: Attack) -> bool {
        self.0 & Attacks::only(a).0 != 0
    }

    /// Whether every attack runs.
    pub fn is_all(self) -> bool {
        self == Attacks::EVERY
    }

    /// The attack whose numbers lead the report: the one asked for, or Theorem 1.1's one-step
    /// attack when all run.
    pub fn reported(self) -> Attack {
        [
            Attack::Onestep,
            Attack::Ray,
            Attack::Deepfool,
            Attack::Pgd,
            Attack::Minnorm,
        ]
        .into_iter()
        .find(|&a| self.contains(a))
        .expect("at least one attack runs")
    }
}

impl Choice for Attacks {
    const FLAG: &'static str = "--attack";
    const ALL: &'static [(&'static str, Self)] = &[
        ("onestep", Attacks::only(Attack::Onestep)),
        ("ray", Attacks::only(Attack::Ray)),
        ("deepfool", Attacks::only(Attack::Deepfool)),
        ("pgd", Attacks::only(Attack::Pgd)),
        ("minnorm", Attacks::only(Attack::Minnorm)),
        ("all", Attacks::EVERY),
    ];
}

/// Records name the attacks asked for as the flag does (`"onestep"`, `"all"`).
impl serde::Serialize for Attacks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Attacks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Attacks, D::Error> {
        let name = String::deserialize(d)?;
        Attacks::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// Points evaluated per batched forward pass in line searches on stored weights (a lazy
/// network asks for fewer: [`Layers::line_batch`]).
pub const LINE_BATCH: usize = crate::net::DENSE_LINE_BATCH;

/// Where an attack's points may lie (MATH 9): anywhere, or in the box `[0, 1]^d` of box
/// inputs, onto which every point is clipped (coordinate-wise, which never moves a point away
/// from an `x` inside the box, so a clipped point of an L2 ball around `x` stays in it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Domain {
    /// No constraint.
    #[default]
    Free,
    /// The box `[0, 1]^d`.
    Box,
}

impl Domain {
    /// Moves `v` into the domain; whether it moved.
    pub fn project(self, v: &mut [f64]) -> bool {
        match self {
            Domain::Free => false,
            Domain::Box => clip_to_box(v),
        }
    }

    /// The point `x + t u` of the line, projected into the domain.
    pub fn point(self, x: &[f64], u: &[f64], t: f64) -> Vec<f64> {
        let mut p: Vec<f64> = x.iter().zip(u).map(|(a, b)| a + t * b).collect();
        self.project(&mut p);
        p
    }
}

/// `f(x + t u)` for every `t` in `ts`, in one batched forward pass (each point projected into
/// `domain`).
pub fn f_along<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    u: &[f64],
    ts: &[f64],
    domain: Domain,
    par: Par,
) -> Vec<Scaled> {
    let d = x.len();
    let mut pts = vec![T::ZERO; d * ts.len()];
    for (col, &t) in pts.chunks_exact_mut(d).zip(ts) {
        match domain {
            Domain::Free => {
                for ((p, &xi), &ui) in col.iter_mut().zip(x).zip(u) {
                    *p = T::from_f64(xi + t * ui);
                }
            }
            Domain::Box => {
                for (p, v) in col.iter_mut().zip(domain.point(x, u, t)) {
                    *p = T::from_f64(v);
                }
            }
        }
    }
    f_of(net, &pts, d, par)
}

/// `f` at each point of `pts` (`d x n`, column-major), in one batched forward pass.
pub fn f_at<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    pts: &[f64],
    d: usize,
    par: Par,
) -> Vec<Scaled> {
    let pts: Vec<T> = pts.iter().map(|&v| T::from_f64(v)).collect();
    f_of(net, &pts, d, par)
}

fn f_of<T: Real, N: Layers<T> + ?Sized>(net: &mut N, pts: &[T], d: usize, par: Par) -> Vec<Scaled> {
    let n = pts.len() / d;
    let trace = forward(net, MatRef::from_column_major_slice(pts, d, n), par);
    (0..n).map(|b| trace.f(b)).collect()
}

/// Clips `v` to the box `[0, 1]^d` in place; whether any entry moved.
pub fn clip_to_box(v: &mut [f64]) -> bool {
    let mut moved = false;
    for a in v.iter_mut() {
        let c = a.clamp(0.0, 1.0);
        moved |= c != *a;
        *a = c;
    }
    moved
}

/// A point on the ray `x + t u` where a predicate first holds, with the value there.
#[derive(Clone, Copy, Debug)]
pub struct Crossing {
    /// The step `t` (the predicate holds at `t`; it failed at `t (1 - tol)` or closer).
    pub t: f64,
    /// `f(x + t u)`, as evaluated.
    pub f: Scaled,
}

/// A failing step with its `phi`, and the first step where the target holds.
pub type Bracket = ((f64, f64), Crossing);

/// What a line search looks for: the first `t` where `phi(f(x + t u))` crosses 0 upwards.
/// `holds` decides (strictly or not) whether a value is past the crossing; `phi` is the
/// continuous function whose root it is, used to aim the next batch.
pub struct Target<P, H> {
    /// Continuous in `f`; `holds(f)` implies `phi(f) >= 0`.
    pub phi: P,
    /// Whether the point is past the crossing.
    pub holds: H,
}

/// Scans `grid` (increasing steps, [`Layers::line_batch`] points per forward pass) for the
/// first `t` where the target holds. Returns `f` at `grid[0]` and, if some grid point holds,
/// the last failing step with its `phi` (or `lo0` with `phi_lo0`) and the first crossing.
#[allow(clippy::too_many_arguments)]
pub fn scan<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    u: &[f64],
    grid: &[f64],
    (lo0, phi_lo0): (f64, f64),
    target: &Target<impl Fn(Scaled) -> f64, impl Fn(Scaled) -> bool>,
    domain: Domain,
    par: Par,
) -> (Scaled, Option<Bracket>) {
    let mut lo = (lo0, phi_lo0);
    let mut first = None;
    for chunk in grid.chunks(net.line_batch()) {
        let fs = f_along(net, x, u, chunk, domain, par);
        first.get_or_insert(fs[0]);
        for (&t, &f) in chunk.iter().zip(&fs) {
            if (target.holds)(f) {
                return (first.unwrap(), Some((lo, Crossing { t, f })));
            }
            lo = (t, (target.phi)(f));
        }
    }
    (first.expect("non-empty grid"), None)
}

/// Bracketing and bisection: shrinks `[lo, hi]` (the target fails at `lo`, holds at `hi`)
/// until `hi - lo <= rel_tol * hi`. Each forward pass evaluates [`Layers::line_batch`] points
/// (at least 3): two at `t* (1 -+ rel_tol / 4)` around the root `t*` of the linear
/// interpolation of `phi` (exact when one linear piece of the piecewise-linear `f` spans the
/// bracket, so the search usually ends after one pass) and the rest evenly across the bracket
/// (the bisection that guarantees progress).
#[allow(clippy::too_many_arguments)]
pub fn refine<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    u: &[f64],
    lo: (f64, f64),
    hi: Crossing,
    target: &Target<impl Fn(Scaled) -> f64, impl Fn(Scaled) -> bool>,
    rel_tol: f64,
    domain: Domain,
    par: Par,
) -> Crossing {
    let (mut lo, mut phi_lo) = lo;
    let mut best = hi;
    let batch = net.line_batch().max(3);
    // Each pass divides the bracket by at least batch - 1 >= 2 (the interpolated points aside);
    // 64 passes at batch 16 (as many points at smaller batches) is far past f64 resolution.
    for _ in 0..(64 * 15usize).div_ceil(batch - 1) {
        let hi = best.t;
        if hi - lo <= rel_tol * hi {
            break;
        }
        let phi_hi = (target.phi)(best.f);
        let mut ts: Vec<f64> = Vec::with_capacity(batch);
        if phi_hi > phi_lo {
            let root = lo + (hi - lo) * (-phi_lo / (phi_hi - phi_lo)).clamp(0.0, 1.0);
            ts.push(root * (1.0 - rel_tol / 4.0));
            ts.push(root * (1.0 + rel_tol / 4.0));
        }
        let even = batch - ts.len();
        let step = (hi - lo) / (even + 1) as f64;
        ts.extend((1..=even).map(|j| lo + step * j as f64));
        ts.retain(|&t| t > lo && t < hi);
        ts.sort_by(|a, b| a.total_cmp(b));
        ts.dedup();
        if ts.is_empty() {
            break;
        }
        let fs = f_along(net, x, u, &ts, domain, par);
        match fs.iter().position(|&f| (target.holds)(f)) {
            Some(k) => {
                if k > 0 {
                    lo = ts[k - 1];
                    phi_lo = (target.phi)(fs[k - 1]);
                }
                best = Crossing { t: ts[k], f: fs[k] };
            }
            None => {
                lo = *ts.last().unwrap();
                phi_lo = (target.phi)(*fs.last().unwrap());
            }
        }
    }
    best
}

/// A geometric grid `start * ratio^k`, `k = 0..n`.
pub fn geometric(start: f64, ratio: f64, n: usize) -> Vec<f64> {
    (0..n).map(|k| start * ratio.powi(k as i32)).collect()
}
