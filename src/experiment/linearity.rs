//! `radex linearity` (MATH 4: GD-DECOMP, Lemmas 2.6, 2.8; MATH 9-10 for the general family and
//! given networks): how far from `x` the network stays nearly linear. For radii `r` (relative to
//! `||x||`), the relative gradient change at `y = x + r ||x|| u` for uniform directions `u` and
//! for the attack direction `-sign(f(x)) grad f(x) / ||grad f(x)||`, the per-layer terms of
//! GD-DECOMP with the residual of their sum, the fraction of units per layer whose
//! pre-activation changed sign, and the linearity radius. For `K >= 2` outputs `f` is the margin
//! against the label of `x` at every `y` (MATH 9), and the report adds how often the runner-up
//! changed (the output term of GD-DECOMP). Box inputs (MATH 9) are measured like the others:
//! `y` is not clipped to `[0, 1]^d`, since near-linearity is a property of the network around
//! `x`, defined on all of `R^d`. Given inputs (`--inputs`, MATH 10) replace the sampled `x`: trial
//! `t` of every architecture is measured at row `t`.

use crate::record::RunHeader;
use faer::Par;
use serde::Serialize;

use super::attack::GivenInputs;
use super::runner::Exec;
use crate::arch::{Arch, Family, Init};
use crate::attack::onestep::linearise;
use crate::measure::linearity::{Comparison, compare};
use crate::measure::stats::{Band, quantile};
use crate::net::{Labelled, Layers, Sampler, SamplerChoice, Source};
use crate::progress::Progress;
use crate::rng::{self, InputLaw, Purpose};
use crate::scalar::{Precision, Real};
use crate::vector::norm;

/// Parameters of a linearity run.
#[derive(Clone, Debug)]
pub struct LinearityParams {
    /// Architectures, one curve each.
    pub archs: Vec<Arch>,
    /// Radii relative to `||x||`, increasing.
    pub radii: Vec<f64>,
    /// Uniform directions per radius.
    pub directions: usize,
    /// Networks per architecture.
    pub trials: usize,
    /// Seed (architecture `a` uses `derive_seed(seed, [a])`).
    pub seed: u64,
    /// Threshold of the median relative change that defines the linearity radius.
    pub threshold: f64,
    /// Element type.
    pub precision: Precision,
    /// Sampler, resolved per architecture.
    pub sampler: SamplerChoice,
    /// Sampled per trial, or one given network (then `archs` is its architecture).
    pub source: Source,
    /// Law of the inputs `x` (MATH 9).
    pub input: InputLaw,
    /// Given inputs (MATH 10): trial `t` of every architecture is measured at row `t`
    /// (`trials` at most the rows); `None` samples `x` from `input`.
    pub inputs: Option<GivenInputs>,
}

impl LinearityParams {
    /// Typical query vectors per layer of one network: x and its gradient, a forward, a
    /// backward and one left product per layer (GD-DECOMP) for every point of every radius,
    /// and a forward and a backward per point of the 32-step radius bisection.
    pub fn queries_per_network(&self, arch: &Arch) -> usize {
        let per_radius = (self.directions.saturating_add(1)).saturating_mul(2 + arch.depth());
        self.radii
            .len()
            .saturating_mul(per_radius)
            .saturating_add(self.directions.saturating_mul(64))
            .saturating_add(2)
    }

    /// Peak bytes of one trial on `arch` with networks from `sampler`.
    pub fn bytes_with(&self, arch: &Arch, sampler: Sampler) -> u128 {
        let elem = self.precision.bytes();
        let batch = self.directions.saturating_add(1);
        match sampler {
            Sampler::Dense => arch.dense_bytes(elem, batch),
            Sampler::Lazy => arch.lazy_bytes(elem, self.queries_per_network(arch), batch),
        }
    }

    /// The sampler that runs on `arch`.
    pub fn sampler_for(&self, arch: &Arch) -> Sampler {
        self.sampler.resolve(arch, self.queries_per_network(arch))
    }
}

/// Default radii: `10^(-3 + k/4)`, `k = 0..=12` (1e-3 to 1).
pub fn default_radii() -> Vec<f64> {
    (0..=12)
        .map(|k| 10f64.powf(-3.0 + k as f64 / 4.0))
        .collect()
}

/// Bracket of the linearity-radius search, relative to `||x||`.
pub const RADIUS_BRACKET: (f64, f64) = (1e-7, 4.0);

/// One trial's measurements at one radius.
#[derive(Clone, Debug)]
struct AtRadius {
    mean_change: f64,
    max_change: f64,
    attack_change: f64,
    attack_terms: Vec<f64>,
    random_terms: Vec<f64>,
    residual: f64,
    flipped_random: Vec<f64>,
    flipped_attack: Vec<f64>,
    /// `K >= 2`: uniform directions whose runner-up changed, and whether the attack point's did.
    runner_changed: usize,
    runner_changed_attack: bool,
}

/// One trial.
#[derive(Clone, Debug)]
struct TrialOut {
    rows: Vec<AtRadius>,
    radius: f64,
    censored: bool,
}

/// One radius, over networks.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct RadiusRow {
    /// Radius relative to `||x||`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub r: f64,
    /// Mean over the uniform directions of the relative gradient change.
    pub mean_change: Band,
    /// Max over the uniform directions.
    pub max_change: Band,
    /// Along the attack direction.
    pub attack_change: Band,
    /// Median `||A_j|| / ||grad f(x)||` per layer, along the attack direction; for `K >= 2` a
    /// last entry `j = l + 1` is the output term (the runner-up's change, MATH 9).
    #[serde(deserialize_with = "crate::record::nan::vec")]
    pub attack_terms: Vec<f64>,
    /// Median over networks of the mean over directions of `||A_j|| / ||grad f(x)||`.
    #[serde(deserialize_with = "crate::record::nan::vec")]
    pub random_terms: Vec<f64>,
    /// Largest GD-DECOMP residual `||sum_j A_j - (grad f(x) - grad f(y))|| / ||grad f(x)||`
    /// over every network and direction (rounding level).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub decomp_residual: f64,
    /// Median fraction of units per layer whose pre-activation's sign differs (uniform
    /// directions).
    #[serde(deserialize_with = "crate::record::nan::vec")]
    pub flipped: Vec<f64>,
    /// The same along the attack direction.
    #[serde(deserialize_with = "crate::record::nan::vec")]
    pub flipped_attack: Vec<f64>,
    /// `K >= 2`: fraction of the sampled `y` (every network, uniform directions) whose runner-up
    /// `j*` differs from the one at `x` (absent for one output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_changed: Option<f64>,
    /// `K >= 2`: the same along the attack direction, over networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_changed_attack: Option<f64>,
}

/// One architecture.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct ArchCurve {
    /// Architecture.
    pub arch: String,
    /// Seed of its networks.
    pub seed: u64,
    /// Sampler that ran.
    pub sampler: Sampler,
    /// Live networks measured.
    pub live: usize,
    /// One row per radius.
    pub rows: Vec<RadiusRow>,
    /// Largest `r` at which the median change over uniform directions stays below the
    /// threshold, found by bisection in `log r`; over networks.
    pub linearity_radius: Band,
    /// Networks whose change stayed below the threshold up to the bracket's end (4 ||x||).
    pub radius_censored: usize,
}

/// The summary `radex linearity` prints.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct LinearityReport {
    /// What ran: the command, radex's version, the MATH.md sections (the header every
    /// report shares).
    #[serde(flatten)]
    pub run: RunHeader,
    /// Seed.
    pub seed: u64,
    /// Networks per architecture.
    pub trials: usize,
    /// Uniform directions per radius.
    pub directions: usize,
    /// Threshold of the linearity radius.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub threshold: f64,
    /// Element type.
    pub precision: Precision,
    /// Initialisation, when `sigma_w2` names one.
    #[serde(default)]
    pub init: Option<Init>,
    /// The law of the weights (MATH 9), shared by every architecture.
    #[serde(flatten)]
    pub family: Family,
    /// Law of the inputs (MATH 9).
    #[serde(default)]
    pub input: InputLaw,
    /// `given` when every trial measured one given network (absent when sampled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Where the given inputs came from (`--inputs`, MATH 10): the file's name or `array`;
    /// trial `t` of every architecture measured row `t` (absent when sampled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
    /// One entry per architecture.
    pub archs: Vec<ArchCurve>,
}

/// Unit directions `u_1..u_K` of a trial.
fn directions(seed: u64, trial: u64, d: usize, k: usize) -> Vec<Vec<f64>> {
    (0..k)
        .map(|i| {
            let mut r = rng::stream(seed, trial, Purpose::Direction, 0, i as u64);
            rng::sphere(&mut r, d, 1.0)
        })
        .collect()
}

fn points(x: &[f64], dirs: &[Vec<f64>], step: f64) -> Vec<Vec<f64>> {
    dirs.iter()
        .map(|u| x.iter().zip(u).map(|(a, b)| a + step * b).collect())
        .collect()
}

/// The mean over comparisons of a per-layer list (empty when there are none: a caller who
/// built parameters with no directions gets no numbers, not a panic).
fn mean_vecs(v: &[Comparison], f: impl Fn(&Comparison) -> &Vec<f64>) -> Vec<f64> {
    let n = v.first().map_or(0, |c| f(c).len());
    (0..n)
        .map(|j| v.iter().map(|c| f(c)[j]).sum::<f64>() / v.len() as f64)
        .collect()
}

fn trial<T: Real>(
    p: &LinearityParams,
    arch: &Arch,
    sampler: Sampler,
    seed: u64,
    t: u64,
    par: Par,
) -> Option<TrialOut> {
    let mut net = p.source.net::<T>(sampler, arch, seed, t);
    // Given rows ignore `seed`: row t is trial t of every architecture.
    let x = GivenInputs::input_of(p.inputs.as_ref(), p.input, seed, t, arch.d);
    let lin = linearise::<T, _>(&mut net, &x, par);
    if lin.dead {
        return None;
    }
    // K >= 2: the margin against the label of x at every y (MATH 9).
    match lin.trace.label.first().copied() {
        Some(label) => measure_trial(
            p,
            &mut Labelled {
                net: &mut net,
                label,
            },
            &x,
            &lin.direction,
            seed,
            t,
            par,
        ),
        None => measure_trial(p, &mut net, &x, &lin.direction, seed, t, par),
    }
}

/// The measurements of one trial at `x`, whose attack direction is `attack`.
#[allow(clippy::too_many_arguments)]
fn measure_trial<T: Real, N: Layers<T> + ?Sized>(
    p: &LinearityParams,
    net: &mut N,
    x: &[f64],
    attack: &[f64],
    seed: u64,
    t: u64,
    par: Par,
) -> Option<TrialOut> {
    let arch = net.arch().clone();
    let nx = norm(x);
    let dirs = directions(seed, t, arch.d, p.directions);
    let mut all_dirs = vec![attack.to_vec()];
    all_dirs.extend(dirs.iter().cloned());
    let mut rows = Vec::with_capacity(p.radii.len());
    for &r in &p.radii {
        let cmp = compare(net, x, &points(x, &all_dirs, r * nx), true, par)?;
        let (att, rnd) = (&cmp[0], &cmp[1..]);
        let changes: Vec<f64> = rnd.iter().map(|c| c.rel_change).collect();
        rows.push(AtRadius {
            mean_change: changes.iter().sum::<f64>() / changes.len() as f64,
            max_change: changes.iter().cloned().fold(0.0, f64::max),
            attack_change: att.rel_change,
            attack_terms: att.terms.clone(),
            random_terms: mean_vecs(rnd, |c| &c.terms),
            residual: cmp.iter().map(|c| c.residual).fold(0.0, f64::max),
            flipped_random: mean_vecs(rnd, |c| &c.flipped),
            flipped_attack: att.flipped.clone(),
            runner_changed: rnd.iter().filter(|c| c.runner_changed).count(),
            runner_changed_attack: att.runner_changed,
        });
    }
    // Linearity radius: bisection in log r on the median change over the uniform directions.
    let mut median_change = |r: f64| -> f64 {
        let c = compare(net, x, &points(x, &dirs, r * nx), false, par).expect("live at x");
        quantile(&c.iter().map(|c| c.rel_change).collect::<Vec<_>>(), 0.5)
    };
    let (mut lo, mut hi) = RADIUS_BRACKET;
    let (radius, censored) = if median_change(hi) < p.threshold {
        (hi, true)
    } else if median_change(lo) >= p.threshold {
        (lo, false)
    } else {
        // 30 halvings of log(hi/lo) = ln(4e7): relative precision 1.6e-8.
        for _ in 0..30 {
            let mid = (lo * hi).sqrt();
            if median_change(mid) < p.threshold {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo, false)
    };
    Some(TrialOut {
        rows,
        radius,
        censored,
    })
}

/// Runs every architecture.
pub fn run(p: &LinearityParams, exec: &Exec, progress: &dyn Progress) -> LinearityReport {
    let archs = p
        .archs
        .iter()
        .enumerate()
        .map(|(a, arch)| {
            let seed = rng::derive_seed(p.seed, &[a as u64]);
            let sampler = p.sampler_for(arch);
            let bytes = p.bytes_with(arch, sampler);
            let outs: Vec<Option<TrialOut>> = crate::with_real!(p.precision, T => exec.run(
                p.trials,
                bytes,
                progress,
                || (),
                |_, t, par| trial::<T>(p, arch, sampler, seed, t, par),
            ));
            summarise(arch, seed, sampler, p, outs.into_iter().flatten().collect())
        })
        .collect();
    let family = p.archs.first().map_or_else(Family::default, |a| a.family);
    LinearityReport {
        run: RunHeader::new(
            "linearity",
            "MATH 4: GD-DECOMP, Lemmas 2.6 and 2.8 (near-linearity around x)",
        ),
        seed: p.seed,
        trials: p.trials,
        directions: p.directions,
        threshold: p.threshold,
        precision: p.precision,
        init: family.init(),
        family,
        input: p.input,
        network: p.source.is_given().then(|| "given".to_string()),
        inputs: p.inputs.as_ref().map(|g| g.source.clone()),
        archs,
    }
}

fn median_vecs(v: &[&Vec<f64>]) -> Vec<f64> {
    if v.is_empty() {
        return Vec::new();
    }
    (0..v[0].len())
        .map(|j| quantile(&v.iter().map(|x| x[j]).collect::<Vec<_>>(), 0.5))
        .collect()
}

fn summarise(
    arch: &Arch,
    seed: u64,
    sampler: Sampler,
    p: &LinearityParams,
    outs: Vec<TrialOut>,
) -> ArchCurve {
    let rows = p
        .radii
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            let at: Vec<&AtRadius> = outs.iter().map(|o| &o.rows[i]).collect();
            let col = |f: fn(&AtRadius) -> f64| at.iter().map(|a| f(a)).collect::<Vec<_>>();
            RadiusRow {
                r,
                mean_change: Band::of(&col(|a| a.mean_change)),
                max_change: Band::of(&col(|a| a.max_change)),
                attack_change: Band::of(&col(|a| a.attack_change)),
                attack_terms: median_vecs(&at.iter().map(|a| &a.attack_terms).collect::<Vec<_>>()),
                random_terms: median_vecs(&at.iter().map(|a| &a.random_terms).collect::<Vec<_>>()),
                decomp_residual: col(|a| a.residual).into_iter().fold(0.0, f64::max),
                flipped: median_vecs(&at.iter().map(|a| &a.flipped_random).collect::<Vec<_>>()),
                flipped_attack: median_vecs(
                    &at.iter().map(|a| &a.flipped_attack).collect::<Vec<_>>(),
                ),
                runner_changed: (arch.outputs() >= 2).then(|| {
                    let n: usize = at.iter().map(|a| a.runner_changed).sum();
                    n as f64 / (at.len() * p.directions) as f64
                }),
                runner_changed_attack: (arch.outputs() >= 2).then(|| {
                    at.iter().filter(|a| a.runner_changed_attack).count() as f64 / at.len() as f64
                }),
            }
        })
        .collect();
    let radii: Vec<f64> = outs.iter().map(|o| o.radius).collect();
    ArchCurve {
        arch: arch.spec(),
        seed,
        sampler,
        live: outs.len(),
        rows,
        linearity_radius: Band::of(&radii),
        radius_censored: outs.iter().filter(|o| o.censored).count(),
    }
}
