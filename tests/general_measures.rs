//! MATH 4-5 for the general family of MATH 9 (and so for the networks of MATH 10): GD-DECOMP
//! exact for any activation, biases and `K >= 2` margins (with the runner-up's output term), the
//! Jacobian products against finite differences and a dense reference, the kernel predictions of
//! the random-direction expansion, `||h_i||` and small pre-activations, and the lazy sampler.

use faer::{Mat, MatRef, Par};
use radex::act::Act;
use radex::arch::{Arch, Family, OutputLaw};
use radex::experiment::bottleneck::{BottleneckParams, BottleneckReport, run as run_bottleneck};
use radex::experiment::linearity::{LinearityParams, run as run_linearity};
use radex::experiment::runner::Exec;
use radex::measure::linearity::compare;
use radex::measure::stats::Band;
use radex::net::jacobian::{jvp_all, top_singular_values};
use radex::net::{DenseNet, SamplerChoice, Source, forward};
use radex::progress::Quiet;
use radex::rng::{self, InputLaw, Purpose};
use radex::scalar::{Precision, Real};
use radex::vector::norm;

fn family(act: Act, sigma_w2: f64, sigma_b: f64, outputs: usize) -> Family {
    Family {
        act,
        sigma_w2,
        sigma_b,
        outputs,
        output_law: OutputLaw::Gauss,
    }
}

fn points(x: &[f64], seed: u64, trial: u64, k: usize, step: f64) -> Vec<Vec<f64>> {
    (0..k)
        .map(|i| {
            let mut r = rng::stream(seed, trial, Purpose::Direction, 9, i as u64);
            let u = rng::sphere(&mut r, x.len(), 1.0);
            x.iter().zip(&u).map(|(a, b)| a + step * b).collect()
        })
        .collect()
}

/// GD-DECOMP on `dims` for `fam`: the terms sum to the gradient difference to rounding at every
/// radius. Returns how many compared points had a changed runner-up.
fn decomp_case<T: Real>(dims: &[usize], fam: Family, tol_unit: f64) -> usize {
    let arch = Arch::with_family(dims[0], dims[1..].to_vec(), fam).unwrap();
    let n = dims.iter().sum::<usize>() as f64 + fam.outputs as f64;
    let l = arch.depth();
    // l terms, the output term for K >= 2, and the two gradients.
    let chains = (l + 1 + usize::from(fam.outputs >= 2)) as f64;
    let mut changed = 0;
    let mut compared = 0;
    for trial in 0..3 {
        let mut net = DenseNet::<T>::sample(&arch, 17, trial);
        let x = rng::input(17, trial, arch.d);
        let nx = norm(&x);
        for r in [1e-9, 1e-3, 3e-2, 0.3, 1.0] {
            let ys = points(&x, 17, trial, 6, r * nx);
            let Some(cmp) = compare(&mut net, &x, &ys, true, Par::Seq) else {
                continue;
            };
            for c in &cmp {
                compared += 1;
                // Rounding is relative to the sizes summed: ||grad m(x)|| (the unit), ||grad
                // m(y)|| <= 1 + rel_change and the terms (square's gradient grows like
                // ||y||^(2^l - 1), so y far from x dwarfs the unit).
                let size = 1.0 + c.rel_change + c.terms.iter().sum::<f64>();
                assert!(
                    c.residual <= 8.0 * tol_unit * n * chains * size,
                    "{} {dims:?} r = {r}: residual {:e}",
                    fam.describe(),
                    c.residual
                );
                assert_eq!(c.terms.len(), l + usize::from(fam.outputs >= 2));
                if fam.outputs >= 2 {
                    // The output term is there exactly when the runner-up changed.
                    assert_eq!(c.terms[l] > 0.0, c.runner_changed, "{}", fam.describe());
                    changed += usize::from(c.runner_changed);
                } else {
                    assert!(!c.runner_changed);
                }
                if fam.act.degree() == Some(1) {
                    // Piecewise linear: the same signs and runner-up give the same gradient.
                    if c.flipped.iter().all(|&f| f == 0.0) && !c.runner_changed {
                        assert_eq!(c.rel_change, 0.0);
                    }
                } else if r >= 1e-3 {
                    // Smooth (and square): every phi' moves.
                    assert!(c.rel_change > 0.0);
                }
            }
        }
    }
    assert!(compared > 0, "{}: every network dead", fam.describe());
    changed
}

#[test]
fn gd_decomp_is_exact_for_smooth_activations_biases_and_margins() {
    let u = f64::UNIT_ROUNDOFF;
    let dims = [100, 140, 60, 130];
    for act in [Act::Tanh, Act::Gelu] {
        decomp_case::<f64>(&dims, family(act, 1.5, 0.3, 1), u);
        let changed = decomp_case::<f64>(&dims, family(act, 1.5, 0.3, 4), u);
        assert!(
            changed > 0,
            "{act}: the runner-up never changed, the output term is untested"
        );
    }
    decomp_case::<f32>(&dims, family(Act::Tanh, 1.5, 0.3, 4), f32::UNIT_ROUNDOFF);
    // Homogeneous activations without biases run rescaled: leaky's phi' is scale-free, and
    // square's phi' = 2 z carries the exponent of z (that of h_{i-1}) at x and at every y.
    for k in [1, 4] {
        decomp_case::<f64>(&dims, family(Act::Leaky(0.2), 2.0, 0.0, k), u);
        decomp_case::<f64>(&dims, family(Act::Square, 1.0, 0.0, k), u);
        decomp_case::<f64>(
            &[50, 40, 40, 40, 40, 40],
            family(Act::Square, 1.0, 0.0, k),
            u,
        );
        // With biases square runs unscaled.
        decomp_case::<f64>(&[60, 50, 40], family(Act::Square, 1.0, 0.2, k), u);
    }
    // Relu with K = 4 outputs (the K = 1 case is tests/neighbourhood.rs).
    decomp_case::<f64>(&dims, family(Act::Relu, 1.0, 0.0, 4), u);
}

/// `h_i(x)` for every layer by plain `f64` arithmetic on the stored weights and biases (no
/// rescaling), and `J_i(x) = D_i W_i ... D_1 W_1` as dense matrices.
fn reference(net: &DenseNet<f64>, arch: &Arch, x: &[f64]) -> (Vec<Vec<f64>>, Vec<Mat<f64>>) {
    let act = arch.family.act;
    let mut h = x.to_vec();
    let mut j = Mat::<f64>::identity(arch.d, arch.d);
    let (mut hs, mut js) = (Vec::new(), Vec::new());
    for i in 1..=arch.depth() {
        let w = net.weight(i);
        let mut z: Vec<f64> = (0..w.nrows())
            .map(|r| (0..w.ncols()).map(|c| w[(r, c)] * h[c]).sum())
            .collect();
        if let Some(b) = net.bias_data(i) {
            z.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        }
        let mut next = w * &j;
        for r in 0..next.nrows() {
            let s = act.dphi(z[r]);
            for c in 0..next.ncols() {
                next[(r, c)] *= s;
            }
        }
        j = next;
        h = z.iter().map(|&t| act.phi(t)).collect();
        hs.push(h.clone());
        js.push(j.clone());
    }
    (hs, js)
}

#[test]
fn jacobian_products_match_finite_differences_and_a_dense_reference() {
    let cases = [
        (family(Act::Tanh, 1.5, 0.3, 1), vec![40, 50, 30, 45]),
        (family(Act::Gelu, 2.0, 0.5, 3), vec![40, 50, 30, 45]),
        (family(Act::Square, 1.0, 0.0, 1), vec![30, 40, 35, 30]),
        (family(Act::Leaky(0.1), 2.0, 0.0, 1), vec![40, 10, 50]),
    ];
    for (k, (fam, dims)) in cases.into_iter().enumerate() {
        let arch = Arch::with_family(dims[0], dims[1..].to_vec(), fam).unwrap();
        let l = arch.depth();
        for trial in 0..2 {
            let mut net = DenseNet::<f64>::sample(&arch, 40 + k as u64, trial);
            let x = rng::input(40 + k as u64, trial, arch.d);
            let (hs, js) = reference(&net, &arch, &x);
            let tr = forward(
                &mut net,
                MatRef::from_column_major_slice(&x, arch.d, 1),
                Par::Seq,
            );
            // The trace agrees with the reference forward pass (scales included).
            for i in 1..=l {
                let s = radex::net::trace::ldexp(1.0, tr.log2[i][0]);
                for (a, b) in tr.acts[i].iter().zip(&hs[i - 1]) {
                    assert!((a * s - b).abs() <= 1e-12 * (1.0 + b.abs()));
                }
            }
            let mut r = rng::stream(3, trial, Purpose::Direction, 7, 0);
            let v = rng::sphere(&mut r, arch.d, 1.0);
            let jv = jvp_all(&mut net, &tr, 0, &v, Par::Seq);
            let mut scale = 0i64;
            for i in 1..=l {
                scale += radex::net::jacobian::derivative_log2(&tr, i, 0);
                let s = radex::net::trace::ldexp(1.0, scale);
                let dense = &js[i - 1];
                let exact: Vec<f64> = (0..dense.nrows())
                    .map(|r| (0..dense.ncols()).map(|c| dense[(r, c)] * v[c]).sum())
                    .collect();
                let ne = norm(&exact);
                // J_i v against the dense product: rounding only.
                let err: f64 = jv[i - 1]
                    .iter()
                    .zip(&exact)
                    .map(|(a, b)| (a * s - b).powi(2))
                    .sum::<f64>()
                    .sqrt();
                assert!(err <= 1e-12 * ne, "{} layer {i}: {err:e}", fam.describe());
                // Against central differences of the forward pass, eps = 1e-5 ||x||: the
                // error is O(eps^2) times the second derivative, far below 1e-6 here.
                let eps = 1e-5 * norm(&x);
                let at = |sgn: f64| {
                    let p: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + sgn * eps * b).collect();
                    reference(&net, &arch, &p).0[i - 1].clone()
                };
                let (hp, hm) = (at(1.0), at(-1.0));
                let fd_err: f64 = hp
                    .iter()
                    .zip(&hm)
                    .zip(&exact)
                    .map(|((p, m), e)| ((p - m) / (2.0 * eps) - e).powi(2))
                    .sum::<f64>()
                    .sqrt();
                assert!(
                    fd_err <= 1e-6 * ne,
                    "{} layer {i}: finite differences off by {fd_err:e} (norm {ne:e})",
                    fam.describe()
                );
            }
            // Lanczos's top singular values against the dense SVD (square: exponents added).
            let start: Vec<f64> = (0..l)
                .flat_map(|i| {
                    let mut r = rng::stream(1, trial, Purpose::Direction, 5, i as u64);
                    rng::sphere(&mut r, arch.d, 1.0)
                })
                .collect();
            let sigma = top_singular_values(&mut net, &tr, 0, start, 1e-13, 1000, Par::Seq);
            for (i, j) in js.iter().enumerate() {
                let top = j
                    .singular_values()
                    .unwrap()
                    .iter()
                    .cloned()
                    .fold(0.0, f64::max);
                assert!(
                    (sigma[i] - top).abs() <= 1e-9 * top,
                    "{} layer {}: Lanczos {} vs SVD {top}",
                    fam.describe(),
                    i + 1,
                    sigma[i]
                );
            }
        }
    }
}

fn bottleneck(fam: Family, dims: &[usize], trials: usize, a: f64) -> BottleneckReport {
    let p = BottleneckParams {
        arch: Arch::with_family(dims[0], dims[1..].to_vec(), fam).unwrap(),
        trials,
        seed: 21,
        radius: 1e-6,
        samples: 16,
        a,
        precision: Precision::F64,
        source: Source::Sampled,
        input: InputLaw::Sphere,
        inputs: None,
    };
    run_bottleneck(&p, &Exec::new(0, None), &Quiet)
}

/// The median of `n` networks is within `4` standard errors of its centre, the standard
/// deviation read from the band (`p90 - p10 = 2.563` SD for a normal law; the median's standard
/// error is `1.253 SD / sqrt(n)`).
fn median_tolerance(b: &Band, n: usize) -> f64 {
    4.0 * 1.253 * (b.p90 - b.p10) / 2.563 / (n as f64).sqrt()
}

#[test]
fn kernel_predicts_the_random_expansion_norms_and_small_pre_activations_of_tanh() {
    let trials = 8;
    let width = 1000;
    let rep = bottleneck(
        family(Act::Tanh, 1.5, 0.3, 1),
        &[width, width, width, width],
        trials,
        0.5,
    );
    assert_eq!(rep.live, trials);
    for l in &rep.layers {
        // Finite width: the kernel moments carry O(1/width) corrections (MATH 9 measured 1-3%
        // at widths 300-600 on the one-step statistic); allow 20 / width = 2% relative.
        let allowance = 20.0 / width as f64;
        for (what, band, pred) in [
            (
                "random expansion",
                &l.random_expansion,
                l.random_expansion_prediction,
            ),
            ("||h_i||", &l.h_norm, l.h_norm_prediction),
        ] {
            let tol = median_tolerance(band, trials) + allowance * pred;
            assert!(
                (band.median - pred).abs() <= tol,
                "layer {}: {what} {} vs predicted {pred} (tolerance {tol})",
                l.layer,
                band.median
            );
        }
        // Lemma 2.5 with biases: given h_{i-1}, the z_ij are iid N(0, s_i^2), so the fraction
        // below a s_i is binomial(d_i, 2 Phi(a) - 1): no finite-width allowance.
        let p = l.small_fraction_prediction;
        let sd = (p * (1.0 - p) / l.width as f64).sqrt();
        let tol = 4.0 * 1.253 * sd / (trials as f64).sqrt();
        assert!(
            (l.small_fraction.median - p).abs() <= tol,
            "layer {}: small fraction {} vs {p}",
            l.layer,
            l.small_fraction.median
        );
        // No unit crosses tanh's bend at radius 1e-6 often enough to beat the exact bound.
        assert!(l.sampled_max.median <= l.top_singular.median * (1.0 + 1e-6));
    }
}

#[test]
fn default_bottleneck_predictions_are_the_closed_forms_of_math_5() {
    // The kernel path gives the paper's closed forms (to rounding) for relu NN-DEF and He.
    use radex::measure::bottleneck::predictions;
    for sigma_w2 in [1.0, 2.0] {
        let paper = Arch::with_family(100, vec![120, 20, 120], family(Act::Relu, sigma_w2, 0.0, 1))
            .unwrap();
        let closed = predictions(&paper, 0.3, 1.0);
        // Leaky with slope 0 is relu on the general path.
        let general = Arch::with_family(
            100,
            vec![120, 20, 120],
            family(Act::Leaky(0.0), sigma_w2, 0.0, 1),
        )
        .unwrap();
        for (c, g) in closed.iter().zip(predictions(&general, 0.3, 1.0)) {
            for (a, b) in [
                (c.h_norm, g.h_norm),
                (c.random_expansion, g.random_expansion),
                (c.expansion_bound, g.expansion_bound),
                (c.small_fraction, g.small_fraction),
            ] {
                assert!((a - b).abs() <= 1e-12 * a, "{a} vs {b}");
            }
        }
    }
}

#[test]
fn lazy_and_dense_give_the_same_gradient_change_for_tanh_with_biases() {
    let trials = 40;
    let run = |sampler| {
        let p = LinearityParams {
            archs: vec![
                Arch::with_family(60, vec![80, 80, 80], family(Act::Tanh, 1.5, 0.3, 1)).unwrap(),
            ],
            radii: vec![0.05, 0.3],
            directions: 4,
            trials,
            seed: 8,
            threshold: 0.5,
            precision: Precision::F64,
            sampler,
            source: Source::Sampled,
            input: InputLaw::Sphere,
            inputs: None,
        };
        run_linearity(&p, &Exec::new(0, None), &Quiet)
    };
    let dense = run(SamplerChoice::Dense);
    let lazy = run(SamplerChoice::Lazy);
    for (a, b) in dense.archs[0].rows.iter().zip(&lazy.archs[0].rows) {
        // Two independent samples of networks: the medians differ by less than 4 standard
        // errors of their difference.
        let se = |band: &Band| 1.253 * (band.p90 - band.p10) / 2.563 / (trials as f64).sqrt();
        let tol = 4.0 * (se(&a.mean_change).powi(2) + se(&b.mean_change).powi(2)).sqrt();
        assert!(
            (a.mean_change.median - b.mean_change.median).abs() <= tol,
            "r = {}: dense {} vs lazy {} (tolerance {tol})",
            a.r,
            a.mean_change.median,
            b.mean_change.median
        );
        assert!(a.decomp_residual < 1e-10 && b.decomp_residual < 1e-10);
    }
}

#[test]
fn a_given_network_is_measured_at_every_trial_input() {
    // MATH 10: one network (here a sampled tanh network with biases and 3 outputs, handed over
    // as given weights) measured at each trial's own input; GD-DECOMP stays exact.
    let fam = family(Act::Tanh, 1.5, 0.3, 3);
    let arch = Arch::with_family(40, vec![50, 30], fam).unwrap();
    let given = Source::Given(std::sync::Arc::new(DenseNet::<f64>::sample(&arch, 5, 0)));
    let lin = run_linearity(
        &LinearityParams {
            archs: vec![arch.clone()],
            radii: vec![0.01, 0.5],
            directions: 4,
            trials: 3,
            seed: 2,
            threshold: 0.5,
            precision: Precision::F64,
            sampler: SamplerChoice::Dense,
            source: given.clone(),
            input: InputLaw::Gauss,
            inputs: None,
        },
        &Exec::new(0, None),
        &Quiet,
    );
    assert_eq!(lin.network.as_deref(), Some("given"));
    assert_eq!((lin.family, lin.input), (fam, InputLaw::Gauss));
    let a = &lin.archs[0];
    assert_eq!(a.live, 3);
    for row in &a.rows {
        assert!(row.decomp_residual < 1e-12, "{}", row.decomp_residual);
        assert_eq!(row.attack_terms.len(), 3, "two layers and the output term");
        assert!(row.runner_changed.is_some());
    }
    let json = serde_json::to_string(&lin).unwrap();
    assert!(json.contains("\"act\":\"tanh\"") && json.contains("\"outputs\":3"));
    let b = run_bottleneck(
        &BottleneckParams {
            arch,
            trials: 2,
            seed: 2,
            radius: 1e-6,
            samples: 4,
            a: 0.1,
            precision: Precision::F64,
            source: given,
            input: InputLaw::Gauss,
            inputs: None,
        },
        &Exec::new(0, None),
        &Quiet,
    );
    assert_eq!((b.live, b.layers.len()), (2, 2));
    assert!(b.layers.iter().all(|l| l.top_singular.median > 0.0));
}
