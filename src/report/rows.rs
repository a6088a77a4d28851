//! Flat CSV rows of the nested reports: one row per (architecture, radius) or per layer, bands
//! split into `_median`, `_p10`, `_p90` columns and per-layer lists joined with `;`.

use serde::Serialize;

use crate::experiment::bottleneck::BottleneckReport;
use crate::experiment::linearity::LinearityReport;
use crate::experiment::minpert::MinPertReport;

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(";")
}

/// One (architecture, radius) of `radex linearity`.
#[derive(Serialize)]
pub struct LinearityRow {
    /// Architecture.
    pub arch: String,
    /// Radius relative to `||x||`.
    pub r: f64,
    /// Mean change over uniform directions: median over networks.
    pub mean_change_median: f64,
    /// 10th percentile.
    pub mean_change_p10: f64,
    /// 90th percentile.
    pub mean_change_p90: f64,
    /// Max change over uniform directions: median over networks.
    pub max_change_median: f64,
    /// Change along the attack direction: median over networks.
    pub attack_change_median: f64,
    /// `||A_j|| / ||grad f(x)||` along the attack direction, layers joined with `;`.
    pub attack_terms: String,
    /// Fraction of flipped units per layer (uniform directions), joined with `;`.
    pub flipped: String,
    /// Largest GD-DECOMP residual.
    pub decomp_residual: f64,
    /// Median linearity radius of the architecture (repeated on each row).
    pub linearity_radius_median: f64,
}

/// CSV rows of a linearity report.
pub fn linearity(r: &LinearityReport) -> Vec<LinearityRow> {
    r.archs
        .iter()
        .flat_map(|a| {
            a.rows.iter().map(move |row| LinearityRow {
                arch: a.arch.clone(),
                r: row.r,
                mean_change_median: row.mean_change.median,
                mean_change_p10: row.mean_change.p10,
                mean_change_p90: row.mean_change.p90,
                max_change_median: row.max_change.median,
                attack_change_median: row.attack_change.median,
                attack_terms: join(&row.attack_terms),
                flipped: join(&row.flipped),
                decomp_residual: row.decomp_residual,
                linearity_radius_median: a.linearity_radius.median,
            })
        })
        .collect()
}

/// One layer of `radex bottleneck`.
#[derive(Serialize)]
pub struct BottleneckRow {
    /// Layer index.
    pub layer: usize,
    /// Width.
    pub width: usize,
    /// Bottleneck index.
    pub bottleneck: usize,
    /// Bottleneck width.
    pub bottleneck_width: usize,
    /// Median `||h_i(x)||`.
    pub h_norm_median: f64,
    /// Its prediction.
    pub h_norm_prediction: f64,
    /// Median top singular value of `J_i`.
    pub top_singular_median: f64,
    /// 10th percentile.
    pub top_singular_p10: f64,
    /// 90th percentile.
    pub top_singular_p90: f64,
    /// `sqrt(d_i / d_b(i))`.
    pub expansion_bound: f64,
    /// Median sampled max expansion.
    pub sampled_max_median: f64,
    /// Median random-direction expansion.
    pub random_expansion_median: f64,
    /// Its prediction.
    pub random_expansion_prediction: f64,
    /// Median top / random.
    pub bottleneck_effect: f64,
    /// Median small pre-activation fraction.
    pub small_fraction_median: f64,
    /// Its prediction.
    pub small_fraction_prediction: f64,
}

/// CSV rows of a bottleneck report.
pub fn bottleneck(r: &BottleneckReport) -> Vec<BottleneckRow> {
    r.layers
        .iter()
        .map(|l| BottleneckRow {
            layer: l.layer,
            width: l.width,
            bottleneck: l.bottleneck,
            bottleneck_width: l.bottleneck_width,
            h_norm_median: l.h_norm.median,
            h_norm_prediction: l.h_norm_prediction,
            top_singular_median: l.top_singular.median,
            top_singular_p10: l.top_singular.p10,
            top_singular_p90: l.top_singular.p90,
            expansion_bound: l.expansion_bound,
            sampled_max_median: l.sampled_max.median,
            random_expansion_median: l.random_expansion.median,
            random_expansion_prediction: l.random_expansion_prediction,
            bottleneck_effect: l.bottleneck_effect,
            small_fraction_median: l.small_fraction.median,
            small_fraction_prediction: l.small_fraction_prediction,
        })
        .collect()
}

/// One width of `radex minpert`.
#[derive(Serialize)]
pub struct MinPertRow {
    /// Hidden width.
    pub k: usize,
    /// Mean over runs.
    pub mean: f64,
    /// Standard deviation over runs.
    pub sd: f64,
    /// Runs.
    pub runs: usize,
    /// `sqrt(k/d)`.
    pub sqrt_k_over_d: f64,
    /// Exact expectation.
    pub beta_expectation: f64,
}

/// CSV rows of a Min-Pert report.
pub fn minpert(r: &MinPertReport) -> Vec<MinPertRow> {
    r.rows
        .iter()
        .map(|row| MinPertRow {
            k: row.k,
            mean: row.mean,
            sd: row.sd,
            runs: row.runs,
            sqrt_k_over_d: row.sqrt_k_over_d,
            beta_expectation: row.beta_expectation,
        })
        .collect()
}
