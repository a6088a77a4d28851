//! `radex phase` (MATH 9, "depth generalised"; Schoenholz et al. 2017): the order-chaos phase
//! diagram of deep tanh (or erf) networks, measured. Over a grid of `sigma_w^2 x sigma_b` at
//! one depth, each cell is one `radex depth` measurement (MATH 6's statistics: one-step
//! success, smallest verified flip over the attacks, cosine of `h_l` for a pair at 90 degrees,
//! spread of `f`) beside the kernel's predictions: the cosine, the phase of the deep limit and
//! `chi_1`. The `chi_1 = 1` curve [`critical_sigma_w2`] separates the ordered phase (deep
//! networks become nearly constant: the paper's converse) from the chaotic one (they stay
//! sensitive).

use serde::{Deserialize, Serialize};

use super::depth::{self, DepthParams, DepthRow, DepthTrial};
use super::runner::Exec;
use crate::act::Act;
use crate::arch::{Family, OutputLaw};
use crate::error::Result;
use crate::infinite_width::{Phase, critical_sigma_w2};
use crate::progress::Progress;
use crate::record::RunHeader;
use crate::rng;
use crate::scalar::Precision;

/// Tag of the per-cell derived seeds.
const PHASE_TAG: u64 = 0x9A5E;

/// Pairs of sampled inputs per network for the spread of `f` (16 inputs).
pub const PAIRS: usize = 8;

/// Default `sigma_w^2` grid: both sides of tanh's critical curve (1 to about 2.3 for
/// `sigma_b <= 1`).
pub const DEFAULT_SIGMA_W2: &str = "0.5,0.75,1,1.25,1.5,2,2.5,3,4";
/// Default `sigma_b` grid.
pub const DEFAULT_SIGMA_B: &str = "0,0.1,0.2,0.3,0.5,0.7,1";

/// Parameters of a phase run.
#[derive(Clone, Debug)]
pub struct PhaseParams {
    /// Activation: tanh or erf (bounded, so the `q` map has a fixed point; MATH 9).
    pub act: Act,
    /// `sigma_w^2` values, ascending.
    pub sigma_w2: Vec<f64>,
    /// `sigma_b` values, ascending.
    pub sigma_b: Vec<f64>,
    /// Depth `l` of every network.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    /// Input dimension.
    pub d: usize,
    /// Networks per cell.
    pub trials: usize,
    /// Seed; cell `(s, b)` uses `derive_seed(seed, [PHASE_TAG, s.to_bits(), b.to_bits()])`, so
    /// its result does not depend on the rest of the grid.
    pub seed: u64,
    /// Element type.
    pub precision: Precision,
}

impl PhaseParams {
    /// The family of one cell (one Gaussian output).
    pub fn family(&self, sigma_w2: f64, sigma_b: f64) -> Family {
        Family {
            act: self.act,
            sigma_w2,
            sigma_b,
            outputs: 1,
            output_law: OutputLaw::Gauss,
        }
    }

    /// The depth measurement of one cell: a pair at 90 degrees, [`PAIRS`] pairs for the spread.
    pub fn cell(&self, sigma_w2: f64, sigma_b: f64) -> DepthParams {
        DepthParams {
            width: self.width,
            d: self.d,
            depths: vec![self.depth],
            theta: std::f64::consts::FRAC_PI_2,
            pairs: PAIRS,
            trials: self.trials,
            seed: rng::derive_seed(
                self.seed,
                &[PHASE_TAG, sigma_w2.to_bits(), sigma_b.to_bits()],
            ),
            precision: self.precision,
            family: self.family(sigma_w2, sigma_b),
        }
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.sigma_w2.len() * self.sigma_b.len()
    }

    /// The cells' `(sigma_w2, sigma_b)`, in the report's order (`sigma_b` slowest).
    pub fn grid(&self) -> Vec<(f64, f64)> {
        self.sigma_b
            .iter()
            .flat_map(|&b| self.sigma_w2.iter().map(move |&s| (s, b)))
            .collect()
    }
}

/// One cell of the diagram.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhaseCell {
    /// `sigma_w^2`.
    pub sigma_w2: f64,
    /// `sigma_b`.
    pub sigma_b: f64,
    /// The kernel's phase of the deep limit (MATH 9).
    pub phase: Option<Phase>,
    /// `chi_1` at `q*` where the phase has one.
    pub chi_1: Option<f64>,
    /// The measurement at this cell (MATH 6's statistics; `kappa` is the kernel's cosine).
    #[serde(flatten)]
    pub row: DepthRow,
}

/// `chi_1 = 1` at one `sigma_b`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct CriticalPoint {
    /// `sigma_b`.
    pub sigma_b: f64,
    /// The critical `sigma_w^2` (`None` if the solver failed).
    pub sigma_w2: Option<f64>,
}

/// The summary `radex phase` prints.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhaseReport {
    /// What ran.
    #[serde(flatten)]
    pub run: RunHeader,
    /// Activation.
    pub act: Act,
    /// Depth `l`.
    pub depth: usize,
    /// Width.
    pub width: usize,
    /// Input dimension.
    pub d: usize,
    /// Networks per cell.
    pub trials: usize,
    /// Pairs of sampled inputs per network for the spread of `f`.
    pub pairs: usize,
    /// Seed.
    pub seed: u64,
    /// Element type.
    pub precision: Precision,
    /// The `sigma_w^2` grid.
    pub sigma_w2: Vec<f64>,
    /// The `sigma_b` grid.
    pub sigma_b: Vec<f64>,
    /// The order-chaos boundary at each `sigma_b` of the grid.
    pub critical: Vec<CriticalPoint>,
    /// One cell per `(sigma_b, sigma_w2)`, `sigma_b` outer, both ascending.
    pub cells: Vec<PhaseCell>,
}

/// `chi_1` of a phase that has one.
pub fn chi_1(phase: &Phase) -> Option<f64> {
    match *phase {
        Phase::Ordered { chi_1, .. } | Phase::Chaotic { chi_1, .. } => Some(chi_1),
        Phase::Critical { chi_1, .. } => Some(chi_1),
        _ => None,
    }
}

/// The critical curve at each `sigma_b`.
pub fn critical_curve(act: Act, sigma_b: &[f64]) -> Vec<CriticalPoint> {
    sigma_b
        .iter()
        .map(|&b| CriticalPoint {
            sigma_b: b,
            sigma_w2: critical_sigma_w2(act, b),
        })
        .collect()
}

/// Runs the grid, cell after cell (each cell's networks in parallel).
pub fn run(p: &PhaseParams, exec: &Exec, progress: &dyn Progress) -> Result<PhaseReport> {
    let outs = p
        .grid()
        .into_iter()
        .map(|(s, b)| {
            depth::depth_trials(&p.cell(s, b), p.depth, 0..p.trials as u64, exec, progress)
        })
        .collect::<Result<Vec<_>>>()?;
    assemble(p, &outs)
}

/// The report from every network's trial, `outs[i]` those of cell `p.grid()[i]` in trial
/// order (what [`run`] measures, or a sweep's units merged).
pub fn assemble(p: &PhaseParams, outs: &[Vec<DepthTrial>]) -> Result<PhaseReport> {
    let mut cells = Vec::with_capacity(p.cells());
    for ((s, b), outs) in p.grid().into_iter().zip(outs) {
        let cell = p.cell(s, b);
        let row = depth::row_of(&cell, p.depth, outs)?;
        let phase = depth::phase_of(&cell.family);
        cells.push(PhaseCell {
            sigma_w2: s,
            sigma_b: b,
            chi_1: phase.as_ref().and_then(chi_1),
            phase,
            row,
        });
    }
    Ok(PhaseReport {
        run: RunHeader::new(
            "phase",
            "MATH 9 (depth generalised): order and chaos, kernel correlations; MATH 6 statistics",
        ),
        act: p.act,
        depth: p.depth,
        width: p.width,
        d: p.d,
        trials: p.trials,
        pairs: PAIRS,
        seed: p.seed,
        precision: p.precision,
        sigma_w2: p.sigma_w2.clone(),
        sigma_b: p.sigma_b.clone(),
        critical: critical_curve(p.act, &p.sigma_b),
        cells,
    })
}

/// The phase's short name.
pub fn phase_name(p: Option<&Phase>) -> &'static str {
    match p {
        Some(Phase::Ordered { .. }) => "ordered",
        Some(Phase::Chaotic { .. }) => "chaotic",
        Some(Phase::Critical { .. }) => "critical",
        Some(Phase::NoFixedPoint { .. }) => "no_fixed_point",
        None => "none",
    }
}
