//! The neighbourhood of x (MATH 3-5): GD-DECOMP, the Jacobian's top singular value, DeepFool,
//! PGD's ball, and the bottleneck effect.

use faer::{Mat, Par};
use radex::arch::{Arch, Init};
use radex::attack::onestep::linearise;
use radex::attack::{Domain, Norm, PgdSettings, deepfool, pgd, project_l2, ray_flip};
use radex::experiment::bottleneck::{BottleneckParams, run as run_bottleneck};
use radex::experiment::runner::Exec;
use radex::measure::linearity::compare;
use radex::net::jacobian::top_singular_values;
use radex::net::{DenseNet, forward};
use radex::progress::Quiet;
use radex::rng::{self, Purpose};
use radex::scalar::{Precision, Real};
use radex::vector::norm as norm64;

fn points(x: &[f64], seed: u64, trial: u64, k: usize, step: f64) -> Vec<Vec<f64>> {
    (0..k)
        .map(|i| {
            let mut r = rng::stream(seed, trial, Purpose::Direction, 9, i as u64);
            let u = rng::sphere(&mut r, x.len(), 1.0);
            x.iter().zip(&u).map(|(a, b)| a + step * b).collect()
        })
        .collect()
}

fn decomp_case<T: Real>(dims: &[usize], radii: &[f64], tol_unit: f64) {
    let arch = Arch::new(dims[0], dims[1..].to_vec(), Init::Nn).unwrap();
    let n = dims.iter().sum::<usize>() as f64;
    let l = arch.depth() as f64;
    let mut flipped_somewhere = false;
    for trial in 0..3 {
        let mut net = DenseNet::<T>::sample(&arch, 17, trial);
        let x = rng::input(17, trial, arch.d);
        let nx = norm64(&x);
        for &r in radii {
            let ys = points(&x, 17, trial, 6, r * nx);
            let Some(cmp) = compare(&mut net, &x, &ys, true, Par::Seq) else {
                continue;
            };
            for c in &cmp {
                // Each A_j is a product of l + 1 - 1 matrices applied in T; the sum over l
                // terms and the two gradients carry rounding of relative size 8 u n per chain.
                assert!(
                    c.residual <= 8.0 * tol_unit * n * (l + 1.0),
                    "{dims:?} r = {r}: residual {:e}",
                    c.residual
                );
                assert_eq!(c.terms.len(), arch.depth());
                if c.flipped.iter().all(|&f| f == 0.0) {
                    // Same pattern: the gradient is exactly the same.
                    assert_eq!(c.rel_change, 0.0);
                    assert!(c.terms.iter().all(|&t| t == 0.0));
                } else {
                    flipped_somewhere = true;
                    assert!(c.rel_change > 0.0);
                }
            }
        }
    }
    assert!(
        flipped_somewhere,
        "{dims:?}: no unit changed sign at any radius"
    );
}

#[test]
fn gd_decomp_terms_sum_to_the_gradient_difference() {
    let radii = [1e-9, 1e-3, 3e-2, 0.3, 1.0];
    decomp_case::<f64>(&[120, 150], &radii, f64::UNIT_ROUNDOFF);
    decomp_case::<f64>(&[100, 140, 60, 130], &radii, f64::UNIT_ROUNDOFF);
    decomp_case::<f64>(&[50, 40, 40, 40, 40, 40, 40], &radii, f64::UNIT_ROUNDOFF);
    decomp_case::<f32>(&[100, 140, 60, 130], &radii, f32::UNIT_ROUNDOFF);
}

/// `J_i = D_i W_i ... D_1 W_1` as a dense matrix.
fn dense_jacobians(net: &DenseNet<f64>, arch: &Arch, x: &[f64]) -> Vec<Mat<f64>> {
    let tr = forward(
        &mut net.clone(),
        faer::MatRef::from_column_major_slice(x, arch.d, 1),
        Par::Seq,
    );
    let mut j = Mat::<f64>::identity(arch.d, arch.d);
    let mut out = Vec::new();
    for i in 1..=arch.depth() {
        let mut next = net.weight(i) * &j;
        for r in 0..next.nrows() {
            if !tr.on(i, 0, r) {
                for c in 0..next.ncols() {
                    next[(r, c)] = 0.0;
                }
            }
        }
        j = next;
        out.push(j.clone());
    }
    out
}

#[test]
fn lanczos_top_singular_value_equals_dense_svd() {
    for (k, dims) in [vec![60, 80, 30, 70], vec![40, 40, 40], vec![90, 10, 120]]
        .into_iter()
        .enumerate()
    {
        let arch = Arch::new(dims[0], dims[1..].to_vec(), Init::Nn).unwrap();
        for trial in 0..3 {
            let mut net = DenseNet::<f64>::sample(&arch, 30 + k as u64, trial);
            let x = rng::input(30 + k as u64, trial, arch.d);
            let tr = forward(
                &mut net,
                faer::MatRef::from_column_major_slice(&x, arch.d, 1),
                Par::Seq,
            );
            if tr.dead[0] {
                continue;
            }
            let start: Vec<f64> = (0..arch.depth())
                .flat_map(|i| {
                    let mut r = rng::stream(1, trial, Purpose::Direction, 5, i as u64);
                    rng::sphere(&mut r, arch.d, 1.0)
                })
                .collect();
            let sigma = top_singular_values(&mut net, &tr, 0, start, 1e-13, 1000, Par::Seq);
            for (i, j) in dense_jacobians(&net, &arch, &x).iter().enumerate() {
                let sv = j.singular_values().unwrap();
                let top = sv.iter().cloned().fold(0.0, f64::max);
                assert!(
                    (sigma[i] - top).abs() <= 1e-9 * top,
                    "{dims:?} layer {}: Lanczos {} vs SVD {top}",
                    i + 1,
                    sigma[i]
                );
            }
        }
    }
}

#[test]
fn deepfool_on_a_wide_one_layer_network_matches_the_ray() {
    // One hidden layer of 20,000 units on d = 100: f is close to linear over the flip distance,
    // so DeepFool flips in one or two steps, each overshooting by 2%, and lands within a few
    // percent of the minimal flip along the gradient ray.
    let arch = Arch::new(100, vec![20_000], Init::Nn).unwrap();
    for trial in 0..6 {
        let mut net = DenseNet::<f64>::sample(&arch, 4, trial);
        let x = rng::input(4, trial, arch.d);
        let lin = linearise::<f64, _>(&mut net, &x, Par::Seq);
        let df = deepfool(
            &mut net,
            &x,
            &lin,
            0.02,
            50,
            Norm::L2,
            Domain::Free,
            Par::Seq,
        );
        let ray = ray_flip(&mut net, &x, &lin, Norm::L2, Domain::Free, Par::Seq);
        assert!(df.iterations <= 3, "{} iterations", df.iterations);
        let (a, b) = (df.rho.unwrap(), ray.t.unwrap() / norm64(&x));
        assert!((a - b).abs() <= 0.06 * b, "deepfool {a} vs ray {b}");
        // The reported point flips: evaluate it again.
        let xa = df.x_adv.unwrap();
        let again = linearise::<f64, _>(&mut net, &xa, Par::Seq);
        assert_eq!(again.f.sign(), -lin.f.sign());
    }
}

#[test]
fn pgd_never_leaves_the_ball() {
    let arch = Arch::new(80, vec![120, 60], Init::Nn).unwrap();
    for trial in 0..25u64 {
        let mut net = DenseNet::<f64>::sample(&arch, 6, trial);
        let x = rng::input(6, trial, arch.d);
        let nx = norm64(&x);
        let lin = linearise::<f64, _>(&mut net, &x, Par::Seq);
        let mut r = rng::stream(6, trial, Purpose::Bootstrap, 0, 0);
        let eps: Vec<f64> = (0..4)
            .map(|_| 0.5 * rand::RngExt::random::<f64>(&mut r))
            .collect();
        let settings = PgdSettings {
            eps: eps.clone(),
            steps: 1 + (trial as usize % 30),
            random_start: trial % 2 == 0,
            domain: Domain::Free,
            norm: Norm::L2,
        };
        for run in pgd(&mut net, &x, lin.f, &settings, 6, trial, Par::Seq) {
            if let Some(xa) = &run.x_adv {
                let dist = xa
                    .iter()
                    .zip(&x)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
                assert!(
                    dist <= run.eps * nx * (1.0 + 1e-12),
                    "left the ball: {dist} > {}",
                    run.eps * nx
                );
                assert_eq!(
                    forward_sign(&mut net, xa),
                    -lin.f.sign(),
                    "reported point does not flip"
                );
                assert!(xa != &x, "x itself reported as adversarial");
            }
        }
        // Projection property on arbitrary points.
        let mut v: Vec<f64> = x.iter().map(|a| a * (1.0 + trial as f64)).collect();
        project_l2(&mut v, &x, eps[0] * nx);
        let dist = v
            .iter()
            .zip(&x)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        assert!(dist <= eps[0] * nx * (1.0 + 1e-12));
    }
}

fn forward_sign(net: &mut DenseNet<f64>, x: &[f64]) -> f64 {
    forward(
        net,
        faer::MatRef::from_column_major_slice(x, x.len(), 1),
        Par::Seq,
    )
    .f(0)
    .sign()
}

#[test]
fn bottleneck_effect_after_a_narrow_layer() {
    let run = |dims: Vec<usize>| {
        let p = BottleneckParams {
            arch: Arch::new(dims[0], dims[1..].to_vec(), Init::Nn).unwrap(),
            trials: 6,
            seed: 12,
            radius: 1e-6,
            samples: 16,
            a: 0.1,
            precision: Precision::F64,
            source: Default::default(),
            input: Default::default(),
            inputs: None,
        };
        run_bottleneck(&p, &Exec::new(0, None), &Quiet)
    };
    let narrow = run(vec![1000, 1000, 25, 1000]);
    let wide = run(vec![1000, 1000, 1000, 1000]);
    for rep in [&narrow, &wide] {
        for l in &rep.layers {
            // MATH 5: the top singular value follows sqrt(d_i / d_b(i)) up to a constant measured
            // between 0.6 and 1.7; allow 0.5 to 2 for the median of 6 networks.
            let ratio = l.top_singular.median / l.expansion_bound;
            assert!(
                (0.5..2.0).contains(&ratio),
                "{} layer {}: ratio {ratio}",
                rep.arch,
                l.layer
            );
            // At radius 1e-6 no unit changes sign, so no sampled expansion exceeds the exact one.
            assert!(l.sampled_max.p90 <= l.top_singular.p90 * (1.0 + 1e-9));
            // A random direction: E ||J_i u||^2 = d_i / (d_0 2^i) exactly (each layer multiplies
            // it by d_i / (2 d_{i-1})). ||J_i u||^2 / its mean has relative SD about
            // sqrt(2 / d_i) per direction; over 16 directions and 6 networks the median's
            // relative error is well under 4 sqrt(2 / d_i) / sqrt(6) + 2% (sqrt's bias).
            let rel = l.random_expansion.median / l.random_expansion_prediction - 1.0;
            let tol = 4.0 * (2.0 / l.width as f64).sqrt() / 6f64.sqrt() + 0.02;
            assert!(
                rel.abs() < tol,
                "{} layer {}: random expansion off by {rel}",
                rep.arch,
                l.layer
            );
        }
    }
    // The jump of top/random after the narrow layer (MATH 5: about 12 against about 4).
    let (n3, w3) = (
        narrow.layers[2].bottleneck_effect,
        wide.layers[2].bottleneck_effect,
    );
    assert!(n3 > 2.0 * w3, "bottleneck effect {n3} vs wide {w3}");
    assert_eq!(narrow.segments, vec![0, 2]);
    assert_eq!(narrow.layers[2].bottleneck_width, 25);
}
