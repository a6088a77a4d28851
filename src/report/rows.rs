//! Flat CSV rows of the nested reports: one row per (architecture, radius) or per layer, bands
//! split into `_median`, `_p10`, `_p90` columns and per-layer lists joined with `;`.

use serde::Serialize;

use crate::experiment::bottleneck::BottleneckReport;
use crate::experiment::depth::DepthReport;
use crate::experiment::linearity::LinearityReport;
use crate::experiment::minpert::MinPertReport;
use crate::experiment::phase::PhaseReport;
use crate::experiment::scaling::ScalingReport;

/// One input dimension of `radex scaling` (the interval split into two columns).
#[derive(Serialize)]
pub struct ScalingRow<'a> {
    /// Input dimension.
    pub d: usize,
    /// Architecture at this `d`.
    pub arch: &'a str,
    /// Seed of this row's trials.
    pub seed: u64,
    /// Live trials.
    pub live: usize,
    /// Dead networks.
    pub dead: usize,
    /// Median one-step `rho`.
    pub median_rho: f64,
    /// `median_rho * sqrt(d)`.
    pub median_rho_sqrt_d: f64,
    /// One-step success rate.
    pub success_rate: f64,
    /// Its 95% Wilson interval, low end.
    pub success_ci_low: f64,
    /// High end.
    pub success_ci_high: f64,
}

/// The rows of `radex scaling`.
pub fn scaling(rep: &ScalingReport) -> Vec<ScalingRow<'_>> {
    rep.rows
        .iter()
        .map(|r| ScalingRow {
            d: r.d,
            arch: &r.arch,
            seed: r.seed,
            live: r.live,
            dead: r.dead,
            median_rho: r.median_rho,
            median_rho_sqrt_d: r.median_rho_sqrt_d,
            success_rate: r.success_rate,
            success_ci_low: r.success_ci[0],
            success_ci_high: r.success_ci[1],
        })
        .collect()
}

/// Per-layer values joined with `;`, a missing (non-finite) value left empty as in every
/// other CSV field.
fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| {
            if x.is_finite() {
                x.to_string()
            } else {
                String::new()
            }
        })
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
    /// `sqrt(min(k, d) / d)`.
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

/// One depth of `radex depth`.
#[derive(Serialize)]
pub struct DepthCsvRow {
    /// Depth `l`.
    pub depth: usize,
    /// Width `k`.
    pub width: usize,
    /// Input dimension.
    pub d: usize,
    /// Derived seed of this depth.
    pub seed: u64,
    /// Live networks.
    pub live: usize,
    /// Cosine between `h_l(x)` and `h_l(y)`: median.
    pub cosine_median: f64,
    /// Mean.
    pub cosine_mean: f64,
    /// Standard error of the mean.
    pub cosine_se: f64,
    /// `kappa^l(cos theta)`.
    pub kappa: f64,
    /// Spread of `f`: median over networks.
    pub spread_median: f64,
    /// 10th percentile.
    pub spread_p10: f64,
    /// 90th percentile.
    pub spread_p90: f64,
    /// Infinite-width median of the spread.
    pub spread_prediction_median: f64,
    /// One-step success rate.
    pub onestep_success_rate: f64,
    /// Networks with a verified flip.
    pub flip_found: usize,
    /// Smallest flip relative to `||x||`: median over networks with a flip.
    pub min_flip_median: f64,
    /// Median over all live networks, no flip counted as infinite (empty when undefined).
    pub min_flip_median_all: Option<f64>,
    /// Smallest flip over its linear prediction `|f| / (||grad f|| ||x||)`: median over
    /// networks with a flip.
    pub flip_over_linear_median: f64,
    /// 10th percentile.
    pub flip_over_linear_p10: f64,
    /// 90th percentile.
    pub flip_over_linear_p90: f64,
    /// Median over all live networks, no flip counted as infinite (empty when undefined).
    pub flip_over_linear_median_all: Option<f64>,
}

/// One row per depth.
pub fn depth(r: &DepthReport) -> Vec<DepthCsvRow> {
    r.rows
        .iter()
        .map(|row| DepthCsvRow {
            depth: row.depth,
            width: r.width,
            d: r.d,
            seed: row.seed,
            live: row.live,
            cosine_median: row.cosine.median,
            cosine_mean: row.cosine_mean,
            cosine_se: row.cosine_se,
            kappa: row.kappa,
            spread_median: row.spread.median,
            spread_p10: row.spread.p10,
            spread_p90: row.spread.p90,
            spread_prediction_median: row.spread_prediction.median,
            onestep_success_rate: row.onestep_success_rate,
            flip_found: row.flip_found,
            min_flip_median: row.min_flip.median,
            min_flip_median_all: row.min_flip_median_all,
            flip_over_linear_median: row.flip_over_linear.median,
            flip_over_linear_p10: row.flip_over_linear.p10,
            flip_over_linear_p90: row.flip_over_linear.p90,
            flip_over_linear_median_all: row.flip_over_linear_median_all,
        })
        .collect()
}

/// One cell as a CSV row.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseCsvRow {
    /// `sigma_w^2`.
    pub sigma_w2: f64,
    /// `sigma_b`.
    pub sigma_b: f64,
    /// `ordered`, `chaotic`, `critical` or `no_fixed_point`.
    pub phase: String,
    /// `chi_1`.
    pub chi_1: Option<f64>,
    /// `c*` in the chaotic phase.
    pub c_star: Option<f64>,
    /// Live networks.
    pub live: usize,
    /// Dead networks.
    pub dead: usize,
    /// Networks whose output overflowed.
    pub overflow: usize,
    /// One-step success rate.
    pub onestep_success_rate: f64,
    /// Wilson interval, low end.
    pub onestep_ci_lo: f64,
    /// Wilson interval, high end.
    pub onestep_ci_hi: f64,
    /// Networks with a verified flip.
    pub flip_found: usize,
    /// Median smallest flip over every live network (no flip = infinite).
    pub min_flip_median_all: Option<f64>,
    /// That times `sqrt(d)`.
    pub min_flip_median_all_sqrt_d: Option<f64>,
    /// Median cosine of `h_l` for the 90-degree pair.
    pub cosine_median: f64,
    /// The kernel's cosine.
    pub cosine_prediction: f64,
    /// Median spread of `f`.
    pub spread_median: f64,
    /// Its infinite-width median.
    pub spread_prediction_median: f64,
    /// Derived seed of the cell.
    pub seed: u64,
}

/// One CSV row per cell.
pub fn phase(r: &PhaseReport) -> Vec<PhaseCsvRow> {
    let sqrt_d = (r.d as f64).sqrt();
    r.cells
        .iter()
        .map(|c| PhaseCsvRow {
            sigma_w2: c.sigma_w2,
            sigma_b: c.sigma_b,
            phase: crate::experiment::phase::phase_name(c.phase.as_ref()).into(),
            chi_1: c.chi_1,
            c_star: match c.phase {
                Some(crate::infinite_width::Phase::Chaotic { c_star, .. }) => Some(c_star),
                _ => None,
            },
            live: c.row.live,
            dead: c.row.dead,
            overflow: c.row.overflow,
            onestep_success_rate: c.row.onestep_success_rate,
            onestep_ci_lo: c.row.onestep_success_ci[0],
            onestep_ci_hi: c.row.onestep_success_ci[1],
            flip_found: c.row.flip_found,
            min_flip_median_all: c.row.min_flip_median_all,
            min_flip_median_all_sqrt_d: c.row.min_flip_median_all.map(|m| m * sqrt_d),
            cosine_median: c.row.cosine.median,
            cosine_prediction: c.row.kappa,
            spread_median: c.row.spread.median,
            spread_prediction_median: c.row.spread_prediction.median,
            seed: c.row.seed,
        })
        .collect()
}
