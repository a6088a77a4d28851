//! `radex minpert` (MATH 7, Appendix D, Figure 1): `||W_1^+ W_1 x|| / ||x||` for `W_1` with
//! `N(0, 1)` entries, `k x d`, averaged over runs, beside `sqrt(k/d)` and the exact Beta
//! expectation. Run `r` at size `k` uses the weight streams `(derive_seed(seed, [k]), r, 1, *)`
//! and the input of trial `r`.

use crate::record::RunHeader;
use serde::Serialize;
use std::ops::Range;

use super::runner::Exec;
use crate::measure::minpert::{Method, beta_expectation, beta_variance, min_pert};
use crate::measure::stats::{mean, sample_sd};
use crate::net::DenseNet;
use crate::progress::Progress;
use crate::rng;

/// Parameters of a Min-Pert run.
#[derive(Clone, Debug)]
pub struct MinPertParams {
    /// Input dimension.
    pub d: usize,
    /// Widths `k`.
    pub ks: Vec<usize>,
    /// Runs per `k`.
    pub runs: usize,
    /// Seed.
    pub seed: u64,
    /// Method.
    pub method: Method,
}

impl MinPertParams {
    /// Peak bytes of one run at width `k`: `W_1`, its copy or Gram matrix, the input.
    pub fn bytes(&self, k: usize) -> u128 {
        let (k, d) = (k as u128, self.d as u128);
        let n = k.min(d);
        (2 * k * d + n * n + 4 * d) * 8
    }
}

/// One width.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct MinPertRow {
    /// Hidden width `k`.
    pub k: usize,
    /// Mean of `||delta*|| / ||x||` over the runs.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub mean: f64,
    /// Sample standard deviation over the runs.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub sd: f64,
    /// Runs.
    pub runs: usize,
    /// `sqrt(min(k, d) / d)` (at most 1).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub sqrt_k_over_d: f64,
    /// Exact expectation `E sqrt(Beta(k/2, (d-k)/2))` (1 for `k >= d`).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub beta_expectation: f64,
    /// Its standard error over `runs` (from the exact variance `k/d - E^2`).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub beta_standard_error: f64,
    /// Every run's value.
    #[serde(deserialize_with = "crate::record::nan::vec")]
    pub values: Vec<f64>,
}

/// The summary `radex minpert` prints.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct MinPertReport {
    /// What ran: the command, radex's version, the MATH.md sections (the header every
    /// report shares).
    #[serde(flatten)]
    pub run: RunHeader,
    /// Input dimension.
    pub d: usize,
    /// Seed.
    pub seed: u64,
    /// Method.
    pub method: Method,
    /// One row per `k`.
    pub rows: Vec<MinPertRow>,
}

/// Runs every width.
pub fn run(p: &MinPertParams, exec: &Exec, progress: &dyn Progress) -> MinPertReport {
    let values: Vec<Vec<f64>> =
        p.ks.iter()
            .map(|&k| runs(p, k, 0..p.runs as u64, exec, progress))
            .collect();
    assemble(p, values)
}

/// The values of runs `runs` at width `k` (all of them: `0..p.runs`; a sweep's unit: a part).
pub fn runs(
    p: &MinPertParams,
    k: usize,
    runs: Range<u64>,
    exec: &Exec,
    progress: &dyn Progress,
) -> Vec<f64> {
    let arch =
        crate::arch::Arch::new(p.d, vec![k], crate::arch::Init::Nn).expect("validated sizes");
    let seed = rng::derive_seed(p.seed, &[k as u64]);
    exec.run_range(
        runs,
        p.bytes(k),
        progress,
        || (),
        |_, r, _| {
            // N(0, 1/d) entries: the scale does not change the projection.
            let net = DenseNet::<f64>::sample(&arch, seed, r);
            let x = rng::input(seed, r, p.d);
            min_pert(net.weight(1), &x, p.method).unwrap_or(f64::NAN)
        },
    )
}

/// The report from every run's value, `values[i]` those of width `p.ks[i]` in run order
/// (what [`run`] measures, or a sweep's units merged).
pub fn assemble(p: &MinPertParams, values: Vec<Vec<f64>>) -> MinPertReport {
    let rows =
        p.ks.iter()
            .zip(values)
            .map(|(&k, values)| {
                let n = values.len() as f64;
                let (mean, sd) = (mean(&values), sample_sd(&values));
                MinPertRow {
                    k,
                    mean,
                    sd,
                    runs: values.len(),
                    sqrt_k_over_d: (k.min(p.d) as f64 / p.d as f64).sqrt(),
                    beta_expectation: beta_expectation(k, p.d),
                    beta_standard_error: (beta_variance(k, p.d) / n).sqrt(),
                    values,
                }
            })
            .collect();
    MinPertReport {
        run: RunHeader::new("minpert", "MATH 7: Min-Pert, Appendix D, Figure 1"),
        d: p.d,
        seed: p.seed,
        method: p.method,
        rows,
    }
}
