//! Minimum-norm attack in L2 or Linf (MATH 3, minimal flips and "other norms"; MATH 9 for
//! margins and box inputs): from a
//! verified flip, walk the decision boundary towards `x`, keeping the best verified flip,
//!
//! ```text
//! minimise ||y - x||  subject to  sign f(y) != sign f(x)     (y in [0, 1]^d for box inputs).
//! ```
//!
//! With `phi = sign(f(x)) f`, every point `z` the walk linearises gives a plane
//! `l_z(y) = phi(z) / ||grad f(z)|| + n_z . (y - z)`, `n_z = sign(f(x)) grad f(z) / ||grad f(z)||`,
//! exact on the linear piece of `z` (MATH 2), where a flip is predicted for `l_z <= 0`. A bundle
//! keeps the last few planes; the anchor is the plane at the best flip. Each iteration
//! evaluates, nearest prediction first:
//!
//! - the projections of `x` onto the intersections of a few subsets of the bundle with the
//!   anchor (and one without): one plane is the step of Brendel-Bethge (2019), FAB (Croce,
//!   Hein 2020) and FMN (Pintor et al. 2021); several meet at the ridges and corners of the
//!   piecewise-linear boundary, where the nearest flip often lies and one plane alone jumps
//!   from side to side;
//! - steps from the best point along the anchor's plane, and along the nearest ridge through
//!   it, towards the projection of `x` (FAB's backward step; a trust region as in
//!   Brendel-Bethge): lengths around the last one that flipped, shortened while none does.
//!
//! Each candidate aims `overshoot` past its prediction, along its ray from `x` (which keeps
//! the ray through a corner), or, where that ray only touches the corner, pushed into it. The
//! first that flips is followed by a line search for the nearest flip on its ray (bracketing
//! and bisection, [`refine`]), which becomes the best flip if nearer; its plane joins the
//! bundle, and so do the planes of failed candidates next to it (cuts of the pieces where the
//! prediction failed). The walk ends once the best distance improves by less than `rel_tol`
//! over `patience` iterations, or no untried candidate is left; optional exploration rounds
//! then linearise points around the best flip for a nearer basin (a local walk cannot see one
//! otherwise; small networks have a few). A last line search refines the best flip to relative
//! tolerance 1e-6.
//!
//! Every reported point has been evaluated and flips (a landing on `f = 0` counts, MATH 3); the
//! attack never reports `x` itself. It asks only for forward and backward products, so it runs
//! on dense and lazy networks, and on the margin of `K >= 2` outputs through
//! [`Labelled`](crate::net::Labelled) like every attack here. Deterministic: its only random
//! draws are fixed probe directions, the same for every input.

use std::collections::BTreeSet;

use faer::{MatMut, MatRef, Par};

use super::deepfool::deepfool;
use super::onestep::{Linearisation, REL_TOL};
use super::ray::ray_flip;
use super::{Crossing, Domain, Norm, Target, f_along, f_at, refine};
use crate::arch::Arch;
use crate::net::{Layers, Scaled, backward, forward};
use crate::rng;
use crate::scalar::Real;
use crate::vector::{distance, dot, norm};

/// Settings of [`minnorm`]; [`Default`] gives the values documented on each field.
#[derive(Clone, Debug, PartialEq)]
pub struct MinNormSettings {
    /// Iterations at most, exploration rounds included (default 100). An iteration evaluates
    /// one batch of candidates, searches one ray and linearises at most three points.
    pub max_iter: usize,
    /// The walk has converged when the best distance improved by less than this fraction over
    /// the last `patience` iterations (default 3e-3). This default, `patience`'s, `overshoot`'s
    /// and `line_tol`'s were chosen together (bench/minnorm.rs, 60 networks each of
    /// `500,500,500`, `300,300x6`, `1000,200,1000`): against 1e-3, 3, 1e-2 and 1e-4 they take
    /// 31-41% less time, and the median distance found moves by at most 0.15%.
    pub rel_tol: f64,
    /// Iterations over which the improvement is measured (default 2).
    pub patience: usize,
    /// Exploration rounds once the walk has converged (default 0): each linearises 16 points
    /// around the best flip, at a growing distance, for a nearer basin. Small networks have a
    /// few basins, and 3 rounds find more of their exact minima (tests/minnorm.rs); on the
    /// wide and deep networks measured they never improved the result and cost 20-70% more
    /// time.
    pub explore: usize,
    /// Planes kept in the bundle (default 6, at least 1).
    pub bundle: usize,
    /// Projections onto subsets of the bundle evaluated per iteration at most, nearest first
    /// (default 3); the steps along the best point's plane come on top.
    pub subsets: usize,
    /// How far past its prediction a candidate aims, as a fraction of its distance (default
    /// 3e-2): room for the curvature of the boundary, so that longer steps flip; the line
    /// search from `x` takes it back.
    pub overshoot: f64,
    /// Relative tolerance of the line searches during the walk (default 3e-4); the final one
    /// refines to 1e-6.
    pub line_tol: f64,
}

impl Default for MinNormSettings {
    fn default() -> Self {
        MinNormSettings {
            max_iter: 100,
            rel_tol: 3e-3,
            patience: 2,
            explore: 0,
            bundle: 6,
            subsets: 3,
            overshoot: 3e-2,
            line_tol: 3e-4,
        }
    }
}

/// Result of [`minnorm`] on one pair.
#[derive(Clone, Debug)]
pub struct MinNorm {
    /// The nearest flip found (evaluated: its sign differs from `f(x)`'s), if any.
    pub x_adv: Option<Vec<f64>>,
    /// `f(x_adv)`.
    pub f_adv: Option<Scaled>,
    /// `||x_adv - x|| / ||x||` (the distance in the attack's norm, over the L2 norm of `x`).
    pub rho: Option<f64>,
    /// Walk iterations taken (exploration rounds included).
    pub iterations: usize,
    /// Points evaluated by forward passes (columns), the start's search included when no start
    /// was given.
    pub forwards: usize,
    /// Gradients computed (columns of backward passes).
    pub gradients: usize,
    /// Batched passes, forward and backward (a pass over `B` points counts once).
    pub passes: usize,
}

/// DeepFool's settings when the attack finds its own start (those of `radex attack`).
const START_OVERSHOOT: f64 = 0.02;
const START_MAX_ITER: usize = 50;
/// Iterations of the walk's own search for a first flip.
const NO_FLIP_ITER: usize = 20;
/// Lengths of the ladder's steps, in units of the last one that flipped.
const RUNGS: [f64; 5] = [2.0, 1.0, 0.5, 0.25, 0.125];
/// Points per pass of the line searches (a wide batch costs its width at these sizes).
const LINE_POINTS: usize = 4;
/// Directions per exploration round (each probed both ways).
const PROBES: usize = 8;
/// Probe distances of the rounds, as fractions of the best distance.
const PROBE_RADII: [f64; 3] = [0.05, 0.15, 0.4];
/// The `layer` word of the probes' random streams (no layer: a key of their own).
const PROBE_KEY: u64 = 0x6d69_6e6e_6f72_6d00;
/// Candidates of an exploration round at most.
const PROBE_CANDIDATES: usize = 16;
/// Distinct planes remembered (so that a piece met again is recognised).
const SEEN: usize = 64;

/// Runs the minimum-norm attack in `norm` from `x`, whose linearisation is `lin`, starting from `start`
/// (a flip, e.g. DeepFool's or the ray's; re-evaluated, and ignored unless it flips) or, when
/// `None` or not a flip, from DeepFool's flip (overshoot 0.02, 50 iterations), else the ray's,
/// else the walk's own search (20 iterations that begin like DeepFool's); none if that finds
/// no flip either. For [`Domain::Box`], `x` must lie in the box, and
/// every point stays in it. The counts in the result include the start's search.
///
/// # Panics
/// If `x` or `start` does not have the network's input dimension.
///
/// ```
/// use faer::Par;
/// use radex::arch::{Arch, Init};
/// use radex::attack::onestep::linearise;
/// use radex::attack::{Domain, MinNormSettings, Norm, deepfool, minnorm};
/// use radex::net::DenseNet;
/// use radex::rng;
///
/// let arch = Arch::new(100, vec![100, 100], Init::Nn)?;
/// let mut net = DenseNet::<f64>::sample(&arch, 1, 0);
/// let x = rng::input(1, 0, arch.d);
/// let lin = linearise::<f64, _>(&mut net, &x, Par::Seq);
/// for norm in [Norm::L2, Norm::Linf] {
///     let df = deepfool(&mut net, &x, &lin, 0.02, 50, norm, Domain::Free, Par::Seq);
///     let start = df.x_adv.as_deref();
///     let settings = MinNormSettings::default();
///     let mn = minnorm(&mut net, &x, &lin, start, &settings, norm, Domain::Free, Par::Seq);
///     // Never farther than the flip it started from.
///     assert!(mn.rho.unwrap() <= df.rho.unwrap());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn minnorm<T: Real, N: Layers<T> + ?Sized>(
    net: &mut N,
    x: &[f64],
    lin: &Linearisation<T>,
    start: Option<&[f64]>,
    settings: &MinNormSettings,
    norm: Norm,
    domain: Domain,
    par: Par,
) -> MinNorm {
    let d = x.len();
    assert_eq!(
        d,
        net.arch().d,
        "x has {d} entries, the network {}",
        net.arch().d
    );
    let mut net = Counted {
        net,
        forwards: 0,
        gradients: 0,
        passes: 0,
        cap: usize::MAX,
    };
    let (best, iterations) = if lin.dead {
        (None, 0)
    } else {
        Walk::new(&mut net, x, lin, settings, norm, domain, par).run(start)
    };
    let norm_x = crate::vector::norm(x);
    let (x_adv, f_adv, rho) = match best {
        Some(b) => (Some(b.p), Some(b.f), Some(b.r / norm_x)),
        None => (None, None, None),
    };
    MinNorm {
        x_adv,
        f_adv,
        rho,
        iterations,
        forwards: net.forwards,
        gradients: net.gradients,
        passes: net.passes,
    }
}

/// Counts the products a network answers (columns through `W_1` forward and `W_1^T` backward,
/// and the passes), and caps the batch of line searches at `cap`.
struct Counted<'a, N: ?Sized> {
    net: &'a mut N,
    forwards: usize,
    gradients: usize,
    passes: usize,
    cap: usize,
}

impl<T: Real, N: Layers<T> + ?Sized> Layers<T> for Counted<'_, N> {
    fn arch(&self) -> &Arch {
        self.net.arch()
    }
    fn right(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        if i == 1 {
            self.forwards += src.ncols();
            self.passes += 1;
        }
        self.net.right(i, src, dst, par)
    }
    fn left(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        if i == 1 {
            self.gradients += src.ncols();
            self.passes += 1;
        }
        self.net.left(i, src, dst, par)
    }
    fn bias(&mut self, i: usize) -> Option<&[T]> {
        self.net.bias(i)
    }
    fn label(&self) -> Option<usize> {
        self.net.label()
    }
    fn line_batch(&self) -> usize {
        self.net.line_batch().min(self.cap)
    }
}

/// A verified flip: the point, `f` there and the distance to `x`.
#[derive(Clone, Debug)]
struct Flip {
    p: Vec<f64>,
    f: Scaled,
    r: f64,
}

/// A linearisation `l(y) = n . y - c` of `phi = sign(f(x)) f` divided by `||grad f||` (a signed
/// distance to the plane): flips are predicted where `l <= 0`.
#[derive(Clone, Debug)]
struct Plane {
    n: Vec<f64>,
    c: f64,
    /// Distinct planes have distinct ids; a tried subset is a set of ids.
    id: u64,
}

impl Plane {
    fn at(&self, y: &[f64]) -> f64 {
        dot(&self.n, y) - self.c
    }
}

/// One candidate: the point `z` where its planes predict the nearest flip, at distance `r`
/// from `x`, and the point `y` that is evaluated, a little past `z`: on the ray from `x`
/// through `z` (`base = None`, `y = x + t_hi v`, `v = z - x`), which keeps the ray through `z`
/// where `z` is a corner of the flipping set; or, where the ray only touches that corner (`x`
/// lies on the flipping side of one of the planes, so the ray leaves its half-space at `z`),
/// pushed from `z` into every half-space (`base = Some(z)`, `y = z + v`). `subset` holds the
/// ids of the planes of a projection; `rung` the length of a step of the ladder.
struct Candidate {
    base: Option<Vec<f64>>,
    v: Vec<f64>,
    t_hi: f64,
    y: Vec<f64>,
    r: f64,
    subset: Vec<u64>,
    rung: Option<f64>,
}

impl Candidate {
    /// The candidate at `z` on `planes` (`x` projected onto them, or a step along one), at
    /// distance `r` from `x` in the attack's norm, aimed `eta` (a fraction of the distance) past
    /// `z`, but at most half way to the best distance `best_r`: a candidate that flips is then
    /// nearer than the best flip.
    fn new(
        x: &[f64],
        z: Vec<f64>,
        r: f64,
        planes: &[&Plane],
        eta: f64,
        best_r: f64,
        domain: Domain,
    ) -> Self {
        let eta = eta.min(0.5 * (best_r / r - 1.0));
        if planes.iter().all(|p| p.at(x) > 0.0) {
            let v: Vec<f64> = z.iter().zip(x).map(|(a, b)| a - b).collect();
            let t_hi = 1.0 + eta;
            return Candidate {
                y: domain.point(x, &v, t_hi),
                base: None,
                v,
                t_hi,
                r,
                subset: Vec::new(),
                rung: None,
            };
        }
        // The direction that lowers every plane's value at the same rate, -N^T G^-1 1 (G the
        // Gram matrix), or minus the sum of the normals where G is singular.
        let k = planes.len();
        let mut gram: Vec<f64> = (0..k * k)
            .map(|ij| dot(&planes[ij / k].n, &planes[ij % k].n))
            .collect();
        let w = cholesky_solve(&mut gram, &vec![1.0; k], k).unwrap_or_else(|| vec![1.0; k]);
        let mut v = vec![0.0; x.len()];
        for (p, wi) in planes.iter().zip(&w) {
            v.iter_mut().zip(&p.n).for_each(|(a, n)| *a -= wi * n);
        }
        let nv = norm(&v);
        if nv > 0.0 {
            let s = eta * r / nv;
            v.iter_mut().for_each(|a| *a *= s);
        }
        Candidate {
            y: domain.point(&z, &v, 1.0),
            base: Some(z),
            v,
            t_hi: 1.0,
            r,
            subset: Vec::new(),
            rung: None,
        }
    }
}

/// The walk's state.
struct Walk<'a, 'n, T: Real, N: Layers<T> + ?Sized> {
    net: &'a mut Counted<'n, N>,
    x: &'a [f64],
    lin: &'a Linearisation<T>,
    settings: &'a MinNormSettings,
    norm: Norm,
    domain: Domain,
    par: Par,
    bundle: Vec<Plane>,
    next_id: u64,
    /// The last [`SEEN`] distinct planes met.
    seen: Vec<Plane>,
    /// Subsets whose projection has been evaluated.
    tried: BTreeSet<Vec<u64>>,
    /// Whether the ladder is offered next, and the length of its last step that flipped.
    ladder_due: bool,
    rung: Option<f64>,
}

impl<'a, 'n, T: Real, N: Layers<T> + ?Sized> Walk<'a, 'n, T, N> {
    fn new(
        net: &'a mut Counted<'n, N>,
        x: &'a [f64],
        lin: &'a Linearisation<T>,
        settings: &'a MinNormSettings,
        norm: Norm,
        domain: Domain,
        par: Par,
    ) -> Self {
        Walk {
            net,
            x,
            lin,
            settings,
            norm,
            domain,
            par,
            bundle: Vec::new(),
            next_id: 0,
            seen: Vec::new(),
            tried: BTreeSet::new(),
            ladder_due: true,
            rung: None,
        }
    }

    fn flips(&self, g: Scaled) -> bool {
        g.flipped_from(self.lin.f)
    }

    /// The walk: the best flip and the iterations taken.
    fn run(&mut self, start: Option<&[f64]>) -> (Option<Flip>, usize) {
        let mut best = self.start(start);
        // The ray's scan above used the network's own batch; the walk's line searches mostly
        // bracket a crossing that the planes predicted, where a few points suffice.
        self.net.cap = LINE_POINTS;
        // The plane at x (free: the linearisation is given) and at the start.
        let g = &self.lin.grad;
        let at_x = self.plane_from(self.x, self.lin.f, g.col(0), g.log2[0]);
        self.push(at_x);
        let mut anchor = match &best {
            Some(b) => self.linearise(&[&b.p]).pop().flatten(),
            None => None,
        };
        self.push(anchor.clone());
        let mut history: Vec<f64> = Vec::new();
        let (mut iterations, mut explored) = (0, 0);
        let patience = self.settings.patience.max(1);
        for k in 1..=self.settings.max_iter {
            iterations = k;
            let converged = best.as_ref().is_some_and(|b| {
                history.len() > patience
                    && history[history.len() - 1 - patience] - b.r <= self.settings.rel_tol * b.r
            });
            // Without a flip, the walk's own search gives up after NO_FLIP_ITER iterations:
            // then only exploration is left.
            let given_up = best.is_none() && k > NO_FLIP_ITER;
            let mut cands = if converged || given_up {
                Vec::new()
            } else {
                self.candidates(best.as_ref(), anchor.as_ref())
            };
            let exploring = cands.is_empty();
            if exploring {
                if explored == self.settings.explore {
                    break;
                }
                explored += 1;
                cands = self.probes(best.as_ref(), anchor.as_ref(), explored);
            }
            let improved = self.step(&cands, &mut best, &mut anchor);
            if exploring && improved {
                // A new basin: the walk gets its patience afresh.
                history.clear();
            }
            if let Some(b) = &best {
                history.push(b.r);
            }
        }
        // No fallback to the origin: a network without biases is 0 there (a flip under MATH
        // 3's convention) at distance ||x|| whatever its weights, which says nothing about the
        // network; "no flip found" is reported instead.
        (best.map(|b| self.polish(b)), iterations)
    }

    /// The start: `start` if it flips, else DeepFool's flip, else the ray's, moved onto the
    /// boundary by a line search from `x`.
    fn start(&mut self, start: Option<&[f64]>) -> Option<Flip> {
        let (x, d, domain, par) = (self.x, self.x.len(), self.domain, self.par);
        if let Some(s) = start {
            assert_eq!(s.len(), d, "start has {} entries, x {d}", s.len());
            let mut p = s.to_vec();
            domain.project(&mut p);
            if let Some(flip) = self.onto_boundary(p) {
                return Some(flip);
            }
        }
        let df = deepfool(
            self.net,
            x,
            self.lin,
            START_OVERSHOOT,
            START_MAX_ITER,
            self.norm,
            domain,
            par,
        );
        if let Some(flip) = df.x_adv.and_then(|p| self.onto_boundary(p)) {
            return Some(flip);
        }
        let norm = self.norm;
        let ray = ray_flip(self.net, x, self.lin, norm, domain, par);
        let p = ray
            .t
            .map(|t| domain.point(x, &self.lin.steepest(norm).0, t))?;
        self.onto_boundary(p)
    }

    /// The nearest flip on the segment from `x` to `p`, if `p` flips (evaluated here).
    fn onto_boundary(&mut self, p: Vec<f64>) -> Option<Flip> {
        let f = f_at(self.net, &p, p.len(), self.par)[0];
        if p.as_slice() == self.x || !self.flips(f) {
            return None;
        }
        let v: Vec<f64> = p.iter().zip(self.x).map(|(a, b)| a - b).collect();
        Some(self.crossing(None, &v, (1.0, f), &[], self.settings.line_tol))
    }

    /// One iteration on `cands`: evaluates them nearest first, searches the ray of the first
    /// that flips for the nearest flip, and adds the planes of the new best point and of the
    /// cuts. Whether the best point moved.
    fn step(
        &mut self,
        cands: &[Candidate],
        best: &mut Option<Flip>,
        anchor: &mut Option<Plane>,
    ) -> bool {
        let (chosen, evaluated) = self.first_flip(cands);
        for c in &cands[..evaluated] {
            if !c.subset.is_empty() {
                self.tried.insert(c.subset.clone());
            }
        }
        let mut improved = None;
        if let Some((j, f)) = chosen {
            let c = &cands[j];
            let tol = self.settings.line_tol;
            let flip = self.crossing(c.base.as_deref(), &c.v, (c.t_hi, f), &[], tol);
            if best.as_ref().is_none_or(|b| flip.r < b.r) {
                improved = Some(flip);
            }
        }
        // The ladder: the step that flipped sets the next lengths; when every step failed, the
        // next ones are shorter, down to a floor (the best point sits on a ridge, which the
        // cuts below describe).
        let end = chosen.map_or(evaluated, |(j, _)| j);
        let failed_rungs = cands[..end].iter().filter_map(|c| c.rung);
        match chosen.and_then(|(j, _)| cands[j].rung) {
            Some(len) => self.rung = Some(len),
            None => {
                if let Some(shortest) = failed_rungs.reduce(f64::min) {
                    let next = shortest * RUNGS[RUNGS.len() - 1];
                    self.rung = Some(next);
                    // A step of length l gains at most l, and gains below 4 line_tol r are not
                    // tried (candidates()).
                    let floor = 4.0 * self.settings.line_tol;
                    self.ladder_due = best.as_ref().is_some_and(|b| next > floor * b.r);
                }
            }
        }
        // Cuts where predictions failed: the failure just before the chosen candidate (nearest
        // the flip, so likely the piece across a ridge), and the failed step of a ladder nearest
        // the best point (the piece next to it); with no flip and no ladder, the nearest
        // candidate.
        let mut cuts: Vec<usize> = Vec::new();
        cuts.extend(end.checked_sub(1));
        cuts.extend((0..end).rev().find(|&i| cands[i].rung.is_some()));
        if chosen.is_none() && cuts.is_empty() && evaluated > 0 {
            cuts.push(0);
        }
        cuts.sort_unstable();
        cuts.dedup();
        let mut pts: Vec<&[f64]> = cuts.iter().map(|&i| cands[i].y.as_slice()).collect();
        if let Some(flip) = &improved {
            pts.push(&flip.p);
        }
        let mut planes = self.linearise(&pts);
        let moved = improved.is_some();
        if let Some(flip) = improved {
            *anchor = planes.pop().flatten();
            *best = Some(flip);
            self.ladder_due = true;
        }
        for p in planes {
            self.push(p);
        }
        self.push(anchor.clone());
        self.evict(anchor.as_ref().map(|a| a.id));
        moved
    }

    /// The projection of `x` onto the intersection of `planes` as a candidate, unless that
    /// subset was tried or the projection is not strictly between `x` and `limit`.
    fn projection(
        &self,
        planes: &[&Plane],
        eta: f64,
        best_r: f64,
        limit: f64,
    ) -> Option<Candidate> {
        let mut subset: Vec<u64> = planes.iter().map(|p| p.id).collect();
        subset.sort_unstable();
        if self.tried.contains(&subset) {
            return None;
        }
        let z = project(self.x, planes, self.norm, self.domain)?;
        let r = self.norm.distance(&z, self.x);
        (r < limit && r > 0.0).then(|| {
            let mut c = Candidate::new(self.x, z, r, planes, eta, best_r, self.domain);
            c.subset = subset;
            c
        })
    }

    /// Candidates nearer than the best flip, nearest first: projections of `x` onto the
    /// `subsets` nearest untried subsets of the bundle, and the ladder.
    fn candidates(&mut self, best: Option<&Flip>, anchor: Option<&Plane>) -> Vec<Candidate> {
        let x = self.x;
        let (eta, limit) = match best {
            Some(b) => (
                self.settings.overshoot,
                b.r * (1.0 - 4.0 * self.settings.line_tol),
            ),
            None => (START_OVERSHOOT, f64::INFINITY),
        };
        let best_r = best.map_or(f64::INFINITY, |b| b.r);
        let m = self.bundle.len();
        // In Linf, the projection onto one plane only (closed form); the walk's ridges are L2's.
        let max_size = match self.norm {
            Norm::L2 => m.min(x.len()),
            Norm::Linf => 1,
        };
        let mut out: Vec<Candidate> = Vec::new();
        for mask in 1u32..(1u32 << m) {
            if mask.count_ones() as usize > max_size {
                continue;
            }
            let planes: Vec<&Plane> = (0..m)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| &self.bundle[i])
                .collect();
            out.extend(self.projection(&planes, eta, best_r, limit));
        }
        // The subsets with the best point's plane describe the boundary around it (a ridge
        // there); the others are planes met elsewhere, often optimistic: one of them at most.
        // Without a best point every subset is a guess, and more are tried at once.
        out.sort_by(|a, b| a.r.total_cmp(&b.r));
        let mut ridge: Vec<u64> = Vec::new();
        let mut out = match anchor {
            Some(a) => {
                let (mut near, others): (Vec<Candidate>, Vec<Candidate>) =
                    out.into_iter().partition(|c| c.subset.contains(&a.id));
                if let Some(c) = near.iter().find(|c| c.subset.len() >= 2) {
                    ridge.clone_from(&c.subset);
                }
                near.truncate(self.settings.subsets);
                near.extend(others.into_iter().next());
                near
            }
            None => {
                out.truncate(4 * self.settings.subsets);
                out
            }
        };
        if let (Some(a), Some(b), true) = (anchor, best, self.ladder_due) {
            // Along the best point's plane, and along the nearest ridge through it.
            out.extend(self.ladder(&[a], b, limit));
            let planes: Vec<&Plane> = self
                .bundle
                .iter()
                .filter(|p| ridge.contains(&p.id))
                .collect();
            if planes.len() >= 2 {
                out.extend(self.ladder(&planes, b, limit));
            }
        }
        self.ladder_due = false;
        // Nearest first (a stable sort: ties keep the order above).
        out.sort_by(|a, b| a.r.total_cmp(&b.r));
        out
    }

    /// Steps from the best point (moved onto the anchor's plane) along the plane towards the
    /// projection of `x`, of lengths [`RUNGS`] times the last one that flipped (at most the
    /// whole way).
    fn ladder(&self, planes: &[&Plane], best: &Flip, limit: f64) -> Vec<Candidate> {
        let (x, domain, norm) = (self.x, self.domain, self.norm);
        let (Some(z1), Some(p0)) = (
            project(x, planes, norm, domain),
            project(&best.p, planes, norm, domain),
        ) else {
            return Vec::new();
        };
        let whole = distance(&p0, &z1);
        if whole == 0.0 {
            return Vec::new();
        }
        let unit = self.rung.unwrap_or(whole).min(whole);
        let mut out: Vec<Candidate> = Vec::new();
        for len in RUNGS.map(|k| (k * unit).min(whole)) {
            if out.iter().any(|c| c.rung == Some(len)) {
                continue;
            }
            let alpha = len / whole;
            let z: Vec<f64> = p0
                .iter()
                .zip(&z1)
                .map(|(p, q)| p + alpha * (q - p))
                .collect();
            let r = self.norm.distance(&z, x);
            if r < limit && r > 0.0 {
                let eta = self.settings.overshoot;
                let mut c = Candidate::new(x, z, r, planes, eta, best.r, domain);
                c.rung = Some(len);
                out.push(c);
            }
        }
        out
    }

    /// Exploration once the walk has converged (round `round`, from 1): planes at
    /// `2 PROBES` points at distance `rho_round r` from the best point (a growing fraction of
    /// the best distance; without a flip yet, around `x` at multiples of the linear prediction)
    /// along directions of its plane (fixed pseudo-random ones, the same for every input), and
    /// as candidates the projections onto each such plane alone and with the best point's. A
    /// basin next to the best one is found this way when its piece reaches within that
    /// distance.
    fn probes(
        &mut self,
        best: Option<&Flip>,
        anchor: Option<&Plane>,
        round: usize,
    ) -> Vec<Candidate> {
        let (x, d, domain) = (self.x, self.x.len(), self.domain);
        let (center, scale, limit, eta) = match best {
            Some(b) => (
                b.p.as_slice(),
                b.r,
                b.r * (1.0 - 4.0 * self.settings.line_tol),
                self.settings.overshoot,
            ),
            None => (x, 4.0 * self.lin.t_lin, f64::INFINITY, START_OVERSHOOT),
        };
        let radius = scale * PROBE_RADII[(round - 1) % PROBE_RADII.len()];
        let best_r = best.map_or(f64::INFINITY, |b| b.r);
        let mut pts: Vec<Vec<f64>> = Vec::new();
        for i in 0..PROBES {
            let mut rng = rng::stream(
                0,
                round as u64,
                rng::Purpose::Direction,
                PROBE_KEY,
                i as u64,
            );
            let mut u = rng::sphere(&mut rng, d, 1.0);
            if let Some(a) = anchor {
                let along = dot(&u, &a.n);
                u.iter_mut().zip(&a.n).for_each(|(u, n)| *u -= along * n);
            }
            let nu = norm(&u);
            if nu == 0.0 {
                continue;
            }
            for sign in [1.0, -1.0] {
                let s = sign * radius / nu;
                let mut p: Vec<f64> = center.iter().zip(&u).map(|(p, u)| p + s * u).collect();
                domain.project(&mut p);
                pts.push(p);
            }
        }
        let refs: Vec<&[f64]> = pts.iter().map(Vec::as_slice).collect();
        let planes: Vec<Plane> = self.linearise(&refs).into_iter().flatten().collect();
        let mut out: Vec<Candidate> = Vec::new();
        for (i, p) in planes.iter().enumerate() {
            if anchor.is_some_and(|a| a.id == p.id) || planes[..i].iter().any(|q| q.id == p.id) {
                continue;
            }
            let mut sets = vec![vec![p]];
            sets.extend(anchor.map(|a| vec![a, p]));
            for set in sets {
                out.extend(self.projection(&set, eta, best_r, limit));
            }
        }
        out.sort_by(|a, b| a.r.total_cmp(&b.r));
        out.truncate(PROBE_CANDIDATES);
        out
    }

    /// Evaluates the candidates in order, [`Layers::line_batch`] per pass (of the network
    /// itself), until one flips: its index and `f`, and how many were evaluated (the result does
    /// not depend on the batch).
    fn first_flip(&mut self, cands: &[Candidate]) -> (Option<(usize, Scaled)>, usize) {
        let d = self.x.len();
        let batch = std::env::var("MN_CB")
            .ok()
            .map_or(self.net.net.line_batch(), |v| v.parse().unwrap())
            .max(1);
        let mut done = 0;
        for chunk in cands.chunks(batch) {
            let pts: Vec<f64> = chunk.iter().flat_map(|c| c.y.iter().copied()).collect();
            let fs = f_at(self.net, &pts, d, self.par);
            for (i, &f) in fs.iter().enumerate() {
                if self.flips(f) {
                    return (Some((done + i, f)), done + i + 1);
                }
            }
            done += chunk.len();
        }
        (None, done)
    }

    /// The nearest flip found on the path `base + t v` (projected into the domain; `base` is
    /// `x` when `None`), `t` in `(0, t_hi]`, given that `t_hi` flips with `f = f_hi`: a first
    /// pass over `grid` and [`LINE_POINTS`] points (from `x`: two around `t = 1`, where the
    /// planes predict the flip, then geometrically towards `x`; from a corner: geometrically
    /// up from `t = 0`), then bracketing and bisection to relative tolerance `tol`.
    fn crossing(
        &mut self,
        base: Option<&[f64]>,
        v: &[f64],
        (t_hi, f_hi): (f64, Scaled),
        grid: &[f64],
        tol: f64,
    ) -> Flip {
        let (x, domain) = (self.x, self.domain);
        let f0 = self.lin.f;
        let target = Target {
            phi: |g: Scaled| -g.ratio(f0),
            holds: |g: Scaled| g.flipped_from(f0),
        };
        let mut ts: Vec<f64> = grid.to_vec();
        match base {
            None => {
                ts.extend([1.0 - tol / 4.0, 1.0 + tol / 4.0]);
                let mut s = 0.25;
                while ts.len() < LINE_POINTS && s > tol {
                    ts.push(1.0 - s);
                    s *= 0.125;
                }
            }
            Some(_) => {
                ts.push(0.0);
                let mut s = tol;
                while ts.len() < LINE_POINTS && s < t_hi {
                    ts.push(s);
                    s *= 16.0;
                }
            }
        }
        ts.retain(|&t| (0.0..t_hi).contains(&t));
        ts.sort_by(|a, b| a.total_cmp(b));
        ts.dedup();
        let from = base.unwrap_or(x);
        let fs = f_along(self.net, from, v, &ts, domain, self.par);
        let first = fs.iter().position(|&g| (target.holds)(g));
        let (lo, hi) = match first {
            Some(0) if ts[0] == 0.0 => {
                let p = domain.point(from, v, 0.0);
                let r = self.norm.distance(&p, x);
                return Flip { p, f: fs[0], r };
            }
            // Below the first point lies x (phi = -1) or the corner, which does not flip.
            Some(0) => ((0.0, -1.0), Crossing { t: ts[0], f: fs[0] }),
            Some(k) => (
                (ts[k - 1], (target.phi)(fs[k - 1])),
                Crossing { t: ts[k], f: fs[k] },
            ),
            None => (
                ts.last()
                    .map_or((0.0, -1.0), |&t| (t, (target.phi)(*fs.last().unwrap()))),
                Crossing { t: t_hi, f: f_hi },
            ),
        };
        let c = refine(self.net, from, v, lo, hi, &target, tol, domain, self.par);
        let p = domain.point(from, v, c.t);
        let r = self.norm.distance(&p, x);
        Flip { p, f: c.f, r }
    }

    /// The best flip refined to relative tolerance [`REL_TOL`] on its ray from `x`.
    fn polish(&mut self, best: Flip) -> Flip {
        let v: Vec<f64> = best.p.iter().zip(self.x).map(|(a, b)| a - b).collect();
        let tol = self.settings.line_tol;
        let grid = [1.0 - 2.0 * tol, 1.0 - 8.0 * tol];
        let flip = self.crossing(None, &v, (1.0, best.f), &grid, REL_TOL);
        if flip.r < best.r { flip } else { best }
    }

    /// Forward and backward at the points, one batch; the plane at each (`None` where the
    /// gradient is zero or the pass overflowed).
    fn linearise(&mut self, pts: &[&[f64]]) -> Vec<Option<Plane>> {
        if pts.is_empty() {
            return Vec::new();
        }
        let d = self.x.len();
        let flat: Vec<T> = pts
            .iter()
            .flat_map(|p| p.iter().map(|&v| T::from_f64(v)))
            .collect();
        let trace = forward(
            self.net,
            MatRef::from_column_major_slice(&flat, d, pts.len()),
            self.par,
        );
        let grad = backward(self.net, &trace, self.par);
        (0..pts.len())
            .map(|b| {
                if trace.overflow[b] {
                    return None;
                }
                self.plane_from(pts[b], trace.f(b), grad.col(b), grad.log2[b])
            })
            .collect()
    }

    /// The plane at `z` from `f(z)` and the gradient there (column `g` times `2^g_log2`).
    fn plane_from(&mut self, z: &[f64], f: Scaled, g: &[T], g_log2: i64) -> Option<Plane> {
        let g: Vec<f64> = g.iter().map(|v| v.to_f64()).collect();
        let gn = norm(&g);
        if f.is_overflow() || gn == 0.0 || !gn.is_finite() {
            return None;
        }
        let s = self.lin.f.sign();
        let n: Vec<f64> = g.iter().map(|v| s * v / gn).collect();
        // phi(z) / ||grad f(z)||, from the carried exponents.
        let lz = s * f.ratio(Scaled {
            mant: gn,
            log2: g_log2,
        });
        if !lz.is_finite() {
            return None;
        }
        let c = dot(&n, z) - lz;
        let id = self.next_id;
        self.next_id += 1;
        Some(self.canonical(Plane { n, c, id }))
    }

    /// The plane as first met: a piece met again (same normal and offset, up to rounding) keeps
    /// its id, so that the subsets tried with it stay tried.
    fn canonical(&mut self, p: Plane) -> Plane {
        let same = |q: &Plane| {
            dot(&q.n, &p.n) > 1.0 - 1e-12 && (q.c - p.c).abs() <= 1e-9 * (1.0 + q.c.abs())
        };
        if let Some(q) = self.seen.iter().find(|q| same(q)) {
            return q.clone();
        }
        if self.seen.len() == SEEN {
            self.seen.remove(0);
        }
        self.seen.push(p.clone());
        p
    }

    /// Adds a plane to the bundle as its newest (moving it there if it is in already).
    fn push(&mut self, p: Option<Plane>) {
        let Some(p) = p else { return };
        self.bundle.retain(|q| q.id != p.id);
        self.bundle.push(p);
    }

    /// Drops the oldest planes beyond the bundle size, never the anchor.
    fn evict(&mut self, anchor: Option<u64>) {
        while self.bundle.len() > self.settings.bundle.max(1) {
            let Some(i) = self.bundle.iter().position(|p| Some(p.id) != anchor) else {
                break;
            };
            self.bundle.remove(i);
        }
    }
}

/// The nearest point to `x` in `norm` of `{y : l_i(y) = 0 for every plane}` within the domain:
/// [`project_l2`] in L2, [`project_linf`] onto one plane in Linf (`None` for several).
fn project(x: &[f64], planes: &[&Plane], norm: Norm, domain: Domain) -> Option<Vec<f64>> {
    match (norm, planes) {
        (Norm::L2, _) => project_l2(x, planes, domain),
        (Norm::Linf, [plane]) => project_linf(x, plane, domain),
        (Norm::Linf, _) => None,
    }
}

/// The Linf-nearest point to `x` of the plane `n . y = c` within the domain: `y_j = x_j + s
/// sign(n_j) min(t, cap_j)`, `s` the sign of `c - n . x` and `cap_j` the room the box leaves
/// in that direction (none without the box), where `t` solves the piecewise-linear
/// `sum_j |n_j| min(t, cap_j) = |c - n . x|` (FAB's Linf projection, Croce and Hein 2020).
/// `None` when the box cannot reach the plane.
fn project_linf(x: &[f64], plane: &Plane, domain: Domain) -> Option<Vec<f64>> {
    let b = plane.c - dot(&plane.n, x);
    if b == 0.0 {
        return Some(x.to_vec());
    }
    let s = b.signum();
    // How far coordinate j may move in the direction that raises s n . y.
    let room = |n: f64, xi: f64| match domain {
        Domain::Free => f64::INFINITY,
        Domain::Box if s * n > 0.0 => (1.0 - xi).max(0.0),
        Domain::Box => xi.max(0.0),
    };
    // (room, |n_j|) of the coordinates that move.
    let mut caps: Vec<(f64, f64)> = plane
        .n
        .iter()
        .zip(x)
        .filter(|(n, _)| **n != 0.0)
        .map(|(&n, &xi)| (room(n, xi), n.abs()))
        .collect();
    caps.sort_by(|a, b| a.0.total_cmp(&b.0));
    // On [cap_(i-1), cap_i]: sum = done + t * rest.
    let (mut done, mut rest) = (0.0, caps.iter().map(|c| c.1).sum::<f64>());
    let mut t = None;
    for &(cap, w) in &caps {
        if done + cap * rest >= b.abs() {
            t = Some((b.abs() - done) / rest);
            break;
        }
        done += w * cap;
        rest -= w;
    }
    let t = t?;
    let mut y: Vec<f64> = x
        .iter()
        .zip(&plane.n)
        .map(|(&xi, &n)| {
            if n == 0.0 {
                xi
            } else {
                xi + s * n.signum() * t.min(room(n, xi))
            }
        })
        .collect();
    domain.project(&mut y);
    Some(y)
}

/// The projection of `x` onto `{y : l_i(y) = 0 for every plane}`, within the domain: the root
/// of `N clip(x - N^T lambda) = c` by semi-smooth Newton (one step without the box). `None`
/// when the planes are (nearly) dependent on the free coordinates, or the box holds no such
/// point.
fn project_l2(x: &[f64], planes: &[&Plane], domain: Domain) -> Option<Vec<f64>> {
    let k = planes.len();
    let target: Vec<f64> = planes.iter().map(|p| p.c).collect();
    let mut lambda = vec![0.0; k];
    let tol = 1e-12 * (1.0 + norm(x));
    let point = |lambda: &[f64]| -> (Vec<f64>, Vec<f64>) {
        let mut w = x.to_vec();
        for (p, l) in planes.iter().zip(lambda) {
            w.iter_mut().zip(&p.n).for_each(|(a, n)| *a -= l * n);
        }
        let mut y = w.clone();
        domain.project(&mut y);
        (w, y)
    };
    let residual = |y: &[f64]| -> Vec<f64> {
        planes
            .iter()
            .zip(&target)
            .map(|(p, t)| dot(&p.n, y) - t)
            .collect()
    };
    let size = |r: &[f64]| r.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let (mut w, mut y) = point(&lambda);
    let mut res = residual(&y);
    for _ in 0..50 {
        if size(&res) <= tol {
            return Some(y);
        }
        // Generalised Jacobian: the Gram matrix of the normals on the coordinates inside the box.
        let free: Vec<bool> = w
            .iter()
            .map(|&v| domain == Domain::Free || (v > 0.0 && v < 1.0))
            .collect();
        let mut gram = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..=i {
                let s: f64 = planes[i]
                    .n
                    .iter()
                    .zip(&planes[j].n)
                    .zip(&free)
                    .filter(|(_, f)| **f)
                    .map(|((a, b), _)| a * b)
                    .sum();
                gram[i * k + j] = s;
                gram[j * k + i] = s;
            }
        }
        let step = cholesky_solve(&mut gram, &res, k)?;
        let mut s = 1.0;
        loop {
            let trial: Vec<f64> = lambda.iter().zip(&step).map(|(l, d)| l + s * d).collect();
            let (w2, y2) = point(&trial);
            let r2 = residual(&y2);
            if size(&r2) < size(&res) || s < 1e-6 {
                lambda = trial;
                (w, y, res) = (w2, y2, r2);
                break;
            }
            s *= 0.5;
        }
    }
    (size(&res) <= tol).then_some(y)
}

/// Solves `A z = b` for a symmetric positive definite `k x k` `A` (overwritten by its Cholesky
/// factor); `None` when a pivot is below `1e-10` of the diagonal (dependent planes).
fn cholesky_solve(a: &mut [f64], b: &[f64], k: usize) -> Option<Vec<f64>> {
    for j in 0..k {
        let diag = a[j * k + j];
        let mut s = diag;
        for p in 0..j {
            s -= a[j * k + p] * a[j * k + p];
        }
        // Also refuses NaN.
        if s.is_nan() || s <= 1e-10 * diag.max(f64::MIN_POSITIVE) {
            return None;
        }
        let l = s.sqrt();
        a[j * k + j] = l;
        for i in j + 1..k {
            let mut t = a[i * k + j];
            for p in 0..j {
                t -= a[i * k + p] * a[j * k + p];
            }
            a[i * k + j] = t / l;
        }
    }
    let mut z = b.to_vec();
    for i in 0..k {
        for p in 0..i {
            z[i] -= a[i * k + p] * z[p];
        }
        z[i] /= a[i * k + i];
    }
    for i in (0..k).rev() {
        for p in i + 1..k {
            z[i] -= a[p * k + i] * z[p];
        }
        z[i] /= a[i * k + i];
    }
    Some(z)
}
