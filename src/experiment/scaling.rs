//! `radex scaling` (MATH 3): the one-step attack across input dimensions `d` with widths
//! relative to `d`, and the log-log slope of the median `rho` against `d` (prediction -1/2),
//! with a bootstrap 95% interval.

use crate::attack::{Attack, Attacks};
use crate::record::RunHeader;
use rand::RngExt;
use serde::Serialize;

use super::attack::{AttackParams, run_trials};
use super::runner::Exec;
use crate::arch::{Arch, Family, Init, Term};
use crate::error::Result;
use crate::measure::stats::{ols_slope, quantile, quantile_sorted, wilson};
use crate::net::{Sampler, SamplerChoice};
use crate::progress::Progress;
use crate::rng::{self, Purpose};
use crate::scalar::Precision;

/// Parameters of a scaling run.
#[derive(Clone, Debug)]
pub struct ScalingParams {
    /// Input dimensions.
    pub ds: Vec<usize>,
    /// Hidden widths, relative to `d` or fixed.
    pub widths: Vec<Term>,
    /// The law of the weights (MATH 9).
    pub family: Family,
    /// Trials per `d`.
    pub trials: usize,
    /// Seed; dimension `d` uses the derived seed `derive_seed(seed, [d])`.
    pub seed: u64,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Element type.
    pub precision: Precision,
    /// Sampler, resolved per `d` (`auto` may pick dense at small `d` and lazy at large `d`).
    pub sampler: SamplerChoice,
}

impl ScalingParams {
    /// The architecture at dimension `d`.
    pub fn arch(&self, d: usize) -> Result<Arch> {
        let widths = self
            .widths
            .iter()
            .map(|t| t.eval("--arch", d))
            .collect::<Result<Vec<_>>>()?;
        Arch::with_family(d, widths, self.family)
    }

    /// The per-`d` attack parameters.
    pub fn attack(&self, d: usize) -> Result<AttackParams> {
        let mut p = AttackParams::new(
            self.arch(d)?,
            rng::derive_seed(self.seed, &[d as u64]),
            self.trials,
            Attacks::only(Attack::Onestep),
            self.precision,
        );
        p.with_c = false;
        p.sampler = self.sampler.resolve(&p.arch, p.queries_per_network());
        Ok(p)
    }
}

/// One input dimension.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct ScalingRow {
    /// Input dimension.
    pub d: usize,
    /// Architecture at this `d`.
    pub arch: String,
    /// Seed of this row's trials (derived from the run's seed and `d`).
    pub seed: u64,
    /// Sampler that ran at this `d`.
    pub sampler: Sampler,
    /// Live trials.
    pub live: usize,
    /// Dead networks.
    pub dead: usize,
    /// Median one-step `rho` over live trials.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub median_rho: f64,
    /// `median_rho * sqrt(d)` (prediction 1.349).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub median_rho_sqrt_d: f64,
    /// One-step success rate.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub success_rate: f64,
    /// Its 95% Wilson interval.
    #[serde(deserialize_with = "crate::record::nan::pair")]
    pub success_ci: [f64; 2],
}

/// The summary `radex scaling` prints.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct ScalingReport {
    /// What ran: the command, radex's version, the MATH.md sections (the header every
    /// report shares).
    #[serde(flatten)]
    pub run: RunHeader,
    /// Widths as given, relative to `d`.
    pub widths: String,
    /// Initialisation, when `sigma_w2` names one.
    pub init: Option<Init>,
    /// The law of the weights (MATH 9).
    #[serde(flatten)]
    pub family: Family,
    /// Element type.
    pub precision: Precision,
    /// Seed.
    pub seed: u64,
    /// Trials per `d`.
    pub trials: usize,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Least-squares slope of `ln median rho` against `ln d`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub slope: f64,
    /// Bootstrap 95% percentile interval of the slope (trials resampled within each `d`).
    #[serde(deserialize_with = "crate::record::nan::pair")]
    pub slope_ci: [f64; 2],
    /// Predicted slope.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub prediction: f64,
    /// One row per `d`.
    pub rows: Vec<ScalingRow>,
}

/// Runs the sweep. `progress` counts trials over all `d`.
pub fn run(p: &ScalingParams, exec: &Exec, progress: &dyn Progress) -> Result<ScalingReport> {
    let mut rows = Vec::new();
    let mut samples: Vec<Vec<f64>> = Vec::new();
    for &d in &p.ds {
        let ap = p.attack(d)?;
        let recs = run_trials(&ap, exec, progress);
        let live: Vec<_> = recs.iter().filter(|r| !r.dead).collect();
        let rho: Vec<f64> = live.iter().map(|r| r.rho).collect();
        let k = live.iter().filter(|r| r.success).count();
        let (lo, hi) = wilson(k, live.len());
        let median_rho = quantile(&rho, 0.5);
        rows.push(ScalingRow {
            d,
            arch: ap.arch.spec(),
            seed: ap.seed,
            sampler: ap.sampler,
            live: live.len(),
            dead: recs.len() - live.len(),
            median_rho,
            median_rho_sqrt_d: median_rho * (d as f64).sqrt(),
            success_rate: k as f64 / live.len() as f64,
            success_ci: [lo, hi],
        });
        samples.push(rho);
    }
    let x: Vec<f64> = p.ds.iter().map(|&d| (d as f64).ln()).collect();
    let y: Vec<f64> = rows.iter().map(|r| r.median_rho.ln()).collect();
    let slope = ols_slope(&x, &y);
    let mut boot: Vec<f64> = (0..p.bootstrap)
        .map(|b| {
            let y: Vec<f64> = samples
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let mut r = rng::stream(p.seed, b as u64, Purpose::Bootstrap, i as u64, 0);
                    let re: Vec<f64> = (0..s.len())
                        .map(|_| s[r.random_range(0..s.len())])
                        .collect();
                    quantile(&re, 0.5).ln()
                })
                .collect();
            ols_slope(&x, &y)
        })
        .collect();
    boot.sort_by(|a, b| a.total_cmp(b));
    Ok(ScalingReport {
        run: RunHeader::new(
            "scaling",
            "MATH 3: Theorem 1.1, slope of median rho against d",
        ),
        widths: p
            .widths
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(","),
        init: p.family.init(),
        family: p.family,
        precision: p.precision,
        seed: p.seed,
        trials: p.trials,
        bootstrap: p.bootstrap,
        slope,
        slope_ci: [quantile_sorted(&boot, 0.025), quantile_sorted(&boot, 0.975)],
        prediction: -0.5,
        rows,
    })
}
