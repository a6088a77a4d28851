//! `radex bottleneck` (MATH 5, Lemmas 2.3 and 2.5; MATH 9-10 for the general family and given
//! networks): per layer, the bottleneck index and width, `||h_i(x)||`, the exact and sampled
//! local expansion beside `sqrt(d_i / d_b(i))` and the random-direction value (NN-DEF relu:
//! `sqrt(d_i / (d_0 2^i))`; any other family: the kernel recursion of MATH 9), and the fraction of
//! small pre-activations beside `2 Phi(a) - 1`; medians and spreads over networks. Box inputs
//! (MATH 9) are measured like the others: the sampled `y` are not clipped to `[0, 1]^d`, since
//! the expansion is a property of the network around `x`, which is defined on all of `R^d`.
//! Given inputs (`--inputs`, MATH 10) replace the sampled `x`: trial `t` is measured at row `t`,
//! and the predictions take the rows' mean `||x||^2 / d` for the law's.

use crate::record::RunHeader;
use serde::Serialize;

use super::attack::GivenInputs;
use super::runner::Exec;
use crate::arch::Arch;
use crate::measure::bottleneck::{
    LayerMeasure, bottleneck_index, measure, predictions, segment_records,
};
use crate::measure::stats::Band;
use crate::net::{Sampler, Source};
use crate::progress::Progress;
use crate::rng::InputLaw;
use crate::scalar::{Precision, Real};

/// Parameters of a bottleneck run.
#[derive(Clone, Debug)]
pub struct BottleneckParams {
    /// Architecture.
    pub arch: Arch,
    /// Networks.
    pub trials: usize,
    /// Seed.
    pub seed: u64,
    /// Radius of the sampled points, relative to `||x||`.
    pub radius: f64,
    /// Sampled points per network.
    pub samples: usize,
    /// Lemma 2.5 threshold `a`.
    pub a: f64,
    /// Element type.
    pub precision: Precision,
    /// Sampled per trial, or one given network (then `arch` is its architecture).
    pub source: Source,
    /// Law of the inputs `x` (MATH 9).
    pub input: InputLaw,
    /// Given inputs (MATH 10): trial `t` is measured at row `t` (`trials` at most the rows);
    /// `None` samples `x` from `input`.
    pub inputs: Option<GivenInputs>,
}

impl BottleneckParams {
    /// `E ||x||^2 / d` of the inputs the predictions assume (MATH 9): the law's, or the mean
    /// over the given rows measured ([`GivenInputs::mean_sq`]).
    pub fn mean_sq(&self) -> f64 {
        match &self.inputs {
            Some(g) => g.mean_sq(self.trials),
            None => self.input.mean_sq(),
        }
    }
}

/// One layer over networks.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct LayerRow {
    /// Layer index `i` (1..=l).
    pub layer: usize,
    /// Width `d_i`.
    pub width: usize,
    /// Bottleneck index `b(i)`.
    pub bottleneck: usize,
    /// Bottleneck width `d_b(i)`.
    pub bottleneck_width: usize,
    /// `||h_i(x)||`.
    pub h_norm: Band,
    /// Prediction `sqrt(d_i E[phi(u_i)^2])`: `sqrt(d_i 2^{-i})` for NN-DEF relu, `sqrt(d_i)` under
    /// He (NaN where the kernel recursion has no value, MATH 9).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub h_norm_prediction: f64,
    /// Exact local expansion: top singular value of `J_i(x)`.
    pub top_singular: Band,
    /// `sqrt(d_i / d_b(i))`: the bound up to a polylog factor, which the top singular value
    /// follows up to a constant (MATH 5 measured 0.6 to 1.7).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub expansion_bound: f64,
    /// Max over sampled `y` of `||h_i(x) - h_i(y)|| / ||x - y||` (at most the top singular
    /// value when no unit changes sign).
    pub sampled_max: Band,
    /// Mean over sampled `y` (a random direction's expansion).
    pub random_expansion: Band,
    /// Prediction `sqrt((d_i / d_0) prod_{k <= i} sigma_w^2 E[phi'(u_k)^2])`:
    /// `sqrt(d_i / (d_0 2^i))` for NN-DEF relu.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub random_expansion_prediction: f64,
    /// Median of `top_singular / random_expansion`: the bottleneck effect, which jumps after a
    /// narrow layer.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub bottleneck_effect: f64,
    /// Lemma 2.5 fraction of units with `|z_ij| <= a s_i`, `s_i` the standard deviation of
    /// `z_ij` given `h_{i-1}`: `sqrt(sigma_w^2 ||h_{i-1}||^2 / d_{i-1} + sigma_b^2)` (NN-DEF
    /// without biases: `||h_{i-1}|| / sqrt(d_{i-1})`).
    pub small_fraction: Band,
    /// Prediction `2 Phi(a) - 1`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub small_fraction_prediction: f64,
}

/// The summary `radex bottleneck` prints.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct BottleneckReport {
    /// What ran: the command, radex's version, the MATH.md sections (the header every
    /// report shares).
    #[serde(flatten)]
    pub run: RunHeader,
    /// Architecture.
    pub arch: String,
    /// Initialisation, when `sigma_w2` names one.
    pub init: Option<crate::arch::Init>,
    /// The law of the weights (MATH 9).
    #[serde(flatten)]
    pub family: crate::arch::Family,
    /// Seed.
    pub seed: u64,
    /// `given` when every trial measured one given network (absent when sampled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Where the given inputs came from (`--inputs`, MATH 10): the file's name or `array`;
    /// trial `t` measured row `t` (absent when sampled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
    /// Networks requested.
    pub trials: usize,
    /// Live networks measured.
    pub live: usize,
    /// Sampling radius relative to `||x||`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub radius: f64,
    /// Points sampled per network.
    pub samples: usize,
    /// Lemma 2.5 threshold.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub a: f64,
    /// Element type.
    pub precision: Precision,
    /// Law of the inputs (MATH 9).
    #[serde(default)]
    pub input: InputLaw,
    /// The paper's bottleneck indices (prefix-minimum records of the widths).
    pub segments: Vec<usize>,
    /// One row per hidden layer.
    pub layers: Vec<LayerRow>,
}

/// Runs the measurement.
pub fn run(p: &BottleneckParams, exec: &Exec, progress: &dyn Progress) -> BottleneckReport {
    fn go<T: Real>(
        p: &BottleneckParams,
        exec: &Exec,
        progress: &dyn Progress,
    ) -> Vec<Option<Vec<LayerMeasure>>> {
        let bytes = p
            .arch
            .dense_bytes(p.precision.bytes(), p.samples + 1 + p.arch.depth());
        exec.run(
            p.trials,
            bytes,
            progress,
            || (),
            |_, t, par| {
                let mut net = p.source.net::<T>(Sampler::Dense, &p.arch, p.seed, t);
                let x = GivenInputs::input_of(p.inputs.as_ref(), p.input, p.seed, t, p.arch.d);
                measure(&mut net, &x, p.seed, t, p.radius, p.samples, p.a, par)
            },
        )
    }
    let outs: Vec<Vec<LayerMeasure>> =
        crate::with_real!(p.precision, T => go::<T>(p, exec, progress))
            .into_iter()
            .flatten()
            .collect();
    let dims = p.arch.dims();
    let b = bottleneck_index(&dims);
    let pred = predictions(&p.arch, p.a, p.mean_sq());
    let layers = (1..dims.len())
        .map(|i| {
            let col =
                |f: fn(&LayerMeasure) -> f64| outs.iter().map(|o| f(&o[i - 1])).collect::<Vec<_>>();
            let effect: Vec<f64> = outs
                .iter()
                .map(|o| o[i - 1].top_singular / o[i - 1].sampled_mean)
                .collect();
            LayerRow {
                layer: i,
                width: dims[i],
                bottleneck: b[i],
                bottleneck_width: dims[b[i]],
                h_norm: Band::of(&col(|m| m.h_norm)),
                h_norm_prediction: pred[i - 1].h_norm,
                top_singular: Band::of(&col(|m| m.top_singular)),
                expansion_bound: pred[i - 1].expansion_bound,
                sampled_max: Band::of(&col(|m| m.sampled_max)),
                random_expansion: Band::of(&col(|m| m.sampled_mean)),
                random_expansion_prediction: pred[i - 1].random_expansion,
                bottleneck_effect: Band::of(&effect).median,
                small_fraction: Band::of(&col(|m| m.small_fraction)),
                small_fraction_prediction: pred[i - 1].small_fraction,
            }
        })
        .collect();
    BottleneckReport {
        run: RunHeader::new(
            "bottleneck",
            "MATH 5: NN-DECOMP, Lemma 2.3 (expansion), Lemma 2.5 (small pre-activations)",
        ),
        arch: p.arch.spec(),
        init: p.arch.init(),
        family: p.arch.family,
        seed: p.seed,
        network: p.source.is_given().then(|| "given".to_string()),
        inputs: p.inputs.as_ref().map(|g| g.source.clone()),
        trials: p.trials,
        live: outs.len(),
        radius: p.radius,
        samples: p.samples,
        a: p.a,
        precision: p.precision,
        input: p.input,
        segments: segment_records(&dims),
        layers,
    }
}
