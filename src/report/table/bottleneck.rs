//! `radex bottleneck`: per-layer bottlenecks and expansion (MATH 5).

use super::*;
use crate::experiment::bottleneck::BottleneckReport;
use crate::rng::InputLaw;

/// The bottleneck summary as a table.
pub fn bottleneck_table(r: &BottleneckReport) -> String {
    let mut out = format!(
        "radex bottleneck ({})\narch {}  {}  seed {}  networks {} (live {})  radius {} x ||x||  samples {}  a {}\n{}bottleneck indices (prefix-minimum records): {:?}\nmedians over networks\n\n",
        r.run.math,
        r.arch,
        r.family.describe_for(r.network.is_some()),
        r.seed,
        r.trials,
        r.live,
        num(r.radius),
        r.samples,
        num(r.a),
        neighbourhood_notes(r.family.outputs, r.input),
        r.segments
    );
    let mut cells = vec![vec![
        "layer".to_string(),
        "d_i".into(),
        "b(i)".into(),
        "d_b(i)".into(),
        "||h_i(x)||".into(),
        "pred".into(),
        "top sing. J_i".into(),
        "sqrt(d_i/d_b(i))".into(),
        "sampled max".into(),
        "random dir".into(),
        "pred".into(),
        "top/random".into(),
        "small |z| frac".into(),
        "2Phi(a)-1".into(),
    ]];
    for l in &r.layers {
        cells.push(vec![
            l.layer.to_string(),
            l.width.to_string(),
            l.bottleneck.to_string(),
            l.bottleneck_width.to_string(),
            num(l.h_norm.median),
            num(l.h_norm_prediction),
            num(l.top_singular.median),
            num(l.expansion_bound),
            num(l.sampled_max.median),
            num(l.random_expansion.median),
            num(l.random_expansion_prediction),
            num(l.bottleneck_effect),
            num(l.small_fraction.median),
            num(l.small_fraction_prediction),
        ]);
    }
    out.push_str(&align(&cells));
    out.push_str(
        "\ntop sing. J_i: exact local expansion (Lanczos on J_i^T J_i from forward and backward products); it follows\nsqrt(d_i/d_b(i)) up to a constant (MATH 5: 0.6 to 1.7), while a random direction is expanded by\nsqrt(d_i/(d_0 2^i)). The bottleneck effect is the jump of top/random after a narrow layer.\n",
    );
    let paper = r.family.act == crate::act::Act::Relu
        && r.family.sigma_b == 0.0
        && r.family.init().is_some()
        && r.input != InputLaw::Box;
    if !paper {
        out.push_str(
            "General family (MATH 9): J_i = D_i W_i ... D_1 W_1 with D_k = diag(phi'(z_k)); predictions from the kernel recursion,\n||h_i|| ~ sqrt(d_i E phi(u_i)^2), random dir ~ sqrt((d_i/d_0) prod_k sigma_w2 E phi'(u_k)^2), bound sqrt(d_i/d_b(i)) times\nsqrt(prod_k 2 sigma_w2 E phi'(u_k)^2); small |z| means |z_ij| <= a sqrt(sigma_w2 ||h_(i-1)||^2/d_(i-1) + sigma_b^2).\n",
        );
    }
    out
}
