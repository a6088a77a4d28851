//! The minimum-norm attack against DeepFool and the ray on sampled networks (issue 14): the
//! smallest verified flip of each, and the time per network. A measurement, not a test and
//! not a command; one thread, dense networks, sphere inputs.
//!
//! ```text
//! cargo run --release --example minnorm -- ARCH [TRIALS [SEED [SIGMA_B [OUTPUTS [SIGMA_W2]]]]]
//! cargo run --release --example minnorm -- 500,500,500 30
//! ```
//!
//! `minnorm` runs twice: from its own start (DeepFool's flip, found inside, so its time
//! includes a DeepFool run) and from DeepFool's flip given (the walk alone, as in `radex attack`
//! where DeepFool has run already). `MN_EXPLORE`, `MN_RELTOL`, `MN_PATIENCE`, `MN_SUBSETS`,
//! `MN_OVERSHOOT`, `MN_LINETOL`, `MN_BUNDLE`, `MN_MAX_ITER` override the settings;
//! `MN_NORM=linf` measures every attack in Linf. A flip at the origin (`rho = 1`: a network
//! without biases is 0 there) is not counted as found.

use std::time::Instant;

use faer::Par;
use radex::arch::{Family, parse_arch};
use radex::attack::onestep::linearise;
use radex::attack::{Domain, MinNormSettings, Norm, deepfool, minnorm, ray_flip};
use radex::net::{DenseNet, Labelled, Layers};
use radex::rng;
use radex::vector::norm as l2_norm;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let spec = arg(1).unwrap_or("500,500,500");
    let trials: u64 = arg(2).map_or(30, |s| s.parse().unwrap());
    let seed: u64 = arg(3).map_or(1, |s| s.parse().unwrap());
    let family = Family {
        sigma_b: arg(4).map_or(0.0, |s| s.parse().unwrap()),
        outputs: arg(5).map_or(1, |s| s.parse().unwrap()),
        sigma_w2: arg(6).map_or(1.0, |s| s.parse().unwrap()),
        ..Family::default()
    };
    let arch = parse_arch(spec, family).unwrap();
    let settings = settings();
    let norm = match std::env::var("MN_NORM").as_deref() {
        Ok("linf") => Norm::Linf,
        _ => Norm::L2,
    };
    let par = Par::Seq;
    let (mut t_df, mut t_ray, mut t_mn, mut t_walk) = (0.0, 0.0, 0.0, 0.0);
    let (mut flips_df, mut flips_ray, mut flips_mn) = (0, 0, 0);
    let (mut n, mut within, mut gains) = (0, 0, Vec::new());
    // Columns through the network: DeepFool's (one forward and one backward per iteration),
    // and the walk's from DeepFool's flip.
    let (mut cols_df, mut cols_walk, mut passes_walk) = (0, 0, 0);
    println!("trial  deepfool      ray           minnorm       it  fwd  grads passes");
    for t in 0..trials {
        let mut dense = DenseNet::<f64>::sample(&arch, seed, t);
        let x = rng::input(seed, t, arch.d);
        let lin = linearise::<f64, _>(&mut dense, &x, par);
        if lin.dead {
            continue;
        }
        // K >= 2: the margin of the label at x, as `radex attack` does.
        let mut labelled;
        let net: &mut dyn Layers<f64> = match lin.trace.label.first().copied() {
            Some(label) => {
                labelled = Labelled {
                    net: &mut dense,
                    label,
                };
                &mut labelled
            }
            None => &mut dense,
        };
        let nx = l2_norm(&x);
        let clock = Instant::now();
        let df = deepfool(net, &x, &lin, 0.02, 50, norm, Domain::Free, par);
        t_df += clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let ray = ray_flip(net, &x, &lin, norm, Domain::Free, par)
            .t
            .map(|t| t / nx);
        t_ray += clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let mn = minnorm(net, &x, &lin, None, &settings, norm, Domain::Free, par);
        t_mn += clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let start = df.x_adv.as_deref();
        let walk = minnorm(net, &x, &lin, start, &settings, norm, Domain::Free, par);
        t_walk += clock.elapsed().as_secs_f64();
        assert_eq!(walk.rho, mn.rho, "the same start, the same walk");
        cols_df += 2 * df.iterations;
        cols_walk += walk.forwards + walk.gradients;
        passes_walk += walk.passes;
        let found = mn.rho.filter(|&r| r != 1.0);
        let show = |r: Option<f64>| r.map_or("-".into(), |r| format!("{r:.6e}"));
        println!(
            "{t:5}  {:12}  {:12}  {:12}  {:3} {:4} {:5} {:5}",
            show(df.rho),
            show(ray),
            show(mn.rho),
            mn.iterations,
            mn.forwards,
            mn.gradients,
            mn.passes
        );
        n += 1;
        flips_df += usize::from(df.rho.is_some());
        flips_ray += usize::from(ray.is_some());
        flips_mn += usize::from(found.is_some());
        let old = [df.rho, ray].into_iter().flatten().reduce(f64::min);
        let best = [old, found].into_iter().flatten().reduce(f64::min);
        within += usize::from(match (found, best) {
            (Some(r), Some(b)) => r <= 1.01 * b,
            (None, b) => b.is_none(),
            _ => false,
        });
        if let (Some(o), Some(r)) = (old, found) {
            gains.push(o / r);
        }
    }
    gains.sort_by(f64::total_cmp);
    let improved = gains.iter().filter(|&&g| g > 1.0 + 1e-6).count();
    let nf = n as f64;
    println!(
        "{spec}: {n} networks; flipped by deepfool {flips_df}, ray {flips_ray}, minnorm \
         {flips_mn}; minnorm within 1% of the best (or none found) on {within}; where both \
         flipped ({}): old best / minnorm median {:.4}, min {:.4}, max {:.4}, improved on {improved}; \
         ms per network: deepfool {:.2}, ray {:.2}, minnorm {:.2} ({:.1} x deepfool), \
         walk from deepfool's flip {:.2} ({:.1} x); columns per network: deepfool {:.1}, walk \
         {:.1} in {:.1} passes",
        gains.len(),
        gains.get(gains.len() / 2).copied().unwrap_or(f64::NAN),
        gains.first().copied().unwrap_or(f64::NAN),
        gains.last().copied().unwrap_or(f64::NAN),
        1e3 * t_df / nf,
        1e3 * t_ray / nf,
        1e3 * t_mn / nf,
        t_mn / t_df,
        1e3 * t_walk / nf,
        t_walk / t_df,
        cols_df as f64 / nf,
        cols_walk as f64 / nf,
        passes_walk as f64 / nf,
    );
    // The same, one JSON line for bench/run.
    let json = serde_json::json!({
        "arch": spec, "norm": norm.name(), "networks": n, "flips_deepfool": flips_df,
        "flips_ray": flips_ray, "flips_minnorm": flips_mn, "within_1pc": within,
        "improved": improved, "compared": gains.len(),
        "gain_median": gains.get(gains.len() / 2), "ms_deepfool": 1e3 * t_df / nf,
        "ms_ray": 1e3 * t_ray / nf, "ms_minnorm": 1e3 * t_mn / nf,
        "minnorm_over_deepfool": t_mn / t_df,
    });
    println!("json {json}");
}

/// The default settings with the `MN_*` overrides.
fn settings() -> MinNormSettings {
    let env = |k: &str| std::env::var(k).ok().map(|v| v.parse::<f64>().unwrap());
    let mut s = MinNormSettings::default();
    if let Some(v) = env("MN_EXPLORE") {
        s.explore = v as usize;
    }
    if let Some(v) = env("MN_RELTOL") {
        s.rel_tol = v;
    }
    if let Some(v) = env("MN_PATIENCE") {
        s.patience = v as usize;
    }
    if let Some(v) = env("MN_SUBSETS") {
        s.subsets = v as usize;
    }
    if let Some(v) = env("MN_OVERSHOOT") {
        s.overshoot = v;
    }
    if let Some(v) = env("MN_LINETOL") {
        s.line_tol = v;
    }
    if let Some(v) = env("MN_BUNDLE") {
        s.bundle = v as usize;
    }
    if let Some(v) = env("MN_MAX_ITER") {
        s.max_iter = v as usize;
    }
    s
}
