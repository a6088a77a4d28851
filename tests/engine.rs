//! Exact identities of the engine (MATH 1-2): Euler, finite differences, f32 against f64,
//! exactness of the rescaling, thread-count determinism, depth 10,000.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use radex::arch::{Arch, Init};
use radex::attack::onestep::linearise;
use radex::attack::{Attack, Attacks};
use radex::attack::{Domain, Norm, f_along, ray_flip};
use radex::experiment::attack::{AttackParams, run_trials, summarise};
use radex::experiment::runner::Exec;
use radex::net::{DenseNet, Layers, backward, forward};
use radex::progress::Quiet;
use radex::rng;
use radex::scalar::{Precision, Real};
use radex::vector::norm as norm64;

/// `<grad f(x), v>` divided by `||grad f(x)||`, `f(x) / ||grad f(x)||` and `||x||`, from the
/// rescaled quantities, so they are finite at any depth.
fn euler_residual<T: Real>(arch: &Arch, seed: u64, trial: u64) -> f64 {
    try_euler_residual::<T>(arch, seed, trial).expect("live network")
}

/// As [`euler_residual`]; `None` for a dead network.
fn try_euler_residual<T: Real>(arch: &Arch, seed: u64, trial: u64) -> Option<f64> {
    let mut net = DenseNet::<T>::sample(arch, seed, trial);
    let x = rng::input(seed, trial, arch.d);
    let lin = linearise::<T, _>(&mut net, &x, Par::Seq);
    if lin.dead {
        return None;
    }
    // <g, x> in units of ||g||: sum_j g_j x_j / ||g||.
    let g = lin.grad.col(0);
    let gn = lin.grad_norm.mant;
    let dot: f64 = g.iter().zip(&x).map(|(a, b)| a.to_f64() / gn * b).sum();
    // f / ||g|| from the carried scales.
    let f_over_g = lin.f.ratio(lin.grad_norm);
    // Relative to ||x||, the natural size of <g/||g||, x>.
    Some((dot - f_over_g).abs() / norm64(&x))
}

/// Sum of all widths: the `n` of the rounding bound `8 u n` (STYLE 5).
fn n_total(arch: &Arch) -> f64 {
    arch.dims().iter().sum::<usize>() as f64
}

#[test]
fn euler_identity_f64_and_f32() {
    for (k, dims) in [
        vec![50, 80],
        vec![200, 300, 100, 150],
        vec![7, 1, 30],
        vec![400, 400, 400],
    ]
    .into_iter()
    .enumerate()
    {
        let arch = Arch::new(dims[0], dims[1..].to_vec(), Init::Nn).unwrap();
        let mut live = 0;
        for trial in 0..5 {
            // A width-1 layer is dead with probability 1/2; such draws have no gradient.
            let Some(r64) = try_euler_residual::<f64>(&arch, 11 + k as u64, trial) else {
                continue;
            };
            live += 1;
            let r32 = euler_residual::<f32>(&arch, 11 + k as u64, trial);
            let n = n_total(&arch);
            assert!(
                r64 <= 8.0 * f64::UNIT_ROUNDOFF * n,
                "{dims:?} f64 residual {r64:e}"
            );
            assert!(
                r32 <= 8.0 * f32::UNIT_ROUNDOFF * n,
                "{dims:?} f32 residual {r32:e}"
            );
        }
        assert!(live >= 1, "{dims:?}: every draw dead");
    }
}

#[test]
fn finite_differences_match_the_gradient() {
    let arch = Arch::new(300, vec![400, 200, 300], Init::He).unwrap();
    let mut agreed = 0;
    for trial in 0..10u64 {
        let mut net = DenseNet::<f64>::sample(&arch, 5, trial);
        let x = rng::input(5, trial, arch.d);
        let lin = linearise::<f64, _>(&mut net, &x, Par::Seq);
        let mut r = rng::stream(5, trial, rng::Purpose::Direction, 0, 0);
        let u = rng::sphere(&mut r, arch.d, 1.0);
        // Small enough that, with high probability, no unit changes sign between x -+ e u.
        let e = 1e-7 * norm64(&x);
        let pts = [-e, e];
        let d = arch.d;
        let mut buf = vec![0.0f64; 2 * d];
        for (col, &t) in buf.chunks_exact_mut(d).zip(&pts) {
            for ((p, a), b) in col.iter_mut().zip(&x).zip(&u) {
                *p = a + t * b;
            }
        }
        let tr = forward(
            &mut net,
            MatRef::from_column_major_slice(&buf, d, 2),
            Par::Seq,
        );
        let same_pattern = (1..=arch.depth()).all(|i| {
            let w = arch.width(i);
            let a = &tr.acts[i];
            (0..w).all(|j| (a[j] > 0.0) == (a[w + j] > 0.0))
        });
        if !same_pattern {
            continue;
        }
        agreed += 1;
        let fd = (tr.f(1).value() - tr.f(0).value()) / (2.0 * e);
        let g: Vec<f64> = lin
            .grad
            .col(0)
            .iter()
            .map(|v| v * lin.grad.norm(0).value() / lin.grad_norm.mant)
            .collect();
        let gu: f64 = g.iter().zip(&u).map(|(a, b)| a * b).sum();
        let gnorm = norm64(&g);
        // Rounding of f (size ||g|| ||x||, relative error 8 u n) divided by 2e.
        let tol = 8.0 * f64::UNIT_ROUNDOFF * n_total(&arch) * gnorm * norm64(&x) / e;
        assert!((fd - gu).abs() <= tol, "fd {fd} vs <g,u> {gu}, tol {tol:e}");
    }
    assert!(
        agreed >= 8,
        "only {agreed} of 10 draws kept the activation pattern"
    );
}

#[test]
fn f32_and_f64_agree() {
    let arch = Arch::new(400, vec![400, 400], Init::Nn).unwrap();
    let n = n_total(&arch);
    for trial in 0..5 {
        let x = rng::input(9, trial, arch.d);
        let mut n64 = DenseNet::<f64>::sample(&arch, 9, trial);
        let mut n32 = DenseNet::<f32>::sample(&arch, 9, trial);
        let a = linearise::<f64, _>(&mut n64, &x, Par::Seq);
        let b = linearise::<f32, _>(&mut n32, &x, Par::Seq);
        // f differs by the f32 rounding of weights, inputs and sums: 8 u32 n relative to the
        // natural scale ||grad|| ||x|| of f's terms.
        let scale = a.grad_norm.value() * norm64(&x);
        let df = (a.f.value() - b.f.value()).abs() / scale;
        assert!(df <= 8.0 * f32::UNIT_ROUNDOFF * n, "f differs by {df:e}");
        let ga: Vec<f64> = a.direction.clone();
        let gb: Vec<f64> = b.direction.clone();
        let diff: Vec<f64> = ga.iter().zip(&gb).map(|(p, q)| p - q).collect();
        assert!(
            norm64(&diff) <= 8.0 * f32::UNIT_ROUNDOFF * n,
            "directions differ by {:e}",
            norm64(&diff)
        );
    }
}

/// A plain forward pass without rescaling, with the same products.
fn naive_f(net: &DenseNet<f64>, x: &[f64]) -> f64 {
    let arch = Layers::<f64>::arch(net).clone();
    let mut h = Mat::<f64>::zeros(arch.d, 1);
    for (i, v) in x.iter().enumerate() {
        h[(i, 0)] = *v;
    }
    for i in 1..=arch.depth() + 1 {
        let w = net.weight(i);
        let mut z = Mat::<f64>::zeros(w.nrows(), 1);
        matmul(z.as_mut(), Accum::Replace, w, h.as_ref(), 1.0, Par::Seq);
        if i <= arch.depth() {
            for r in 0..z.nrows() {
                z[(r, 0)] = z[(r, 0)].max(0.0);
            }
        }
        h = z;
    }
    h[(0, 0)]
}

#[test]
fn rescaling_by_powers_of_two_is_exact() {
    // Depth 40: no underflow without rescaling, so the carried value must equal the plain one
    // bit for bit.
    let arch = Arch::new(64, vec![64; 40], Init::Nn).unwrap();
    for trial in 0..4 {
        let mut net = DenseNet::<f64>::sample(&arch, 2, trial);
        let x = rng::input(2, trial, arch.d);
        let tr = forward(
            &mut net,
            MatRef::from_column_major_slice(&x, arch.d, 1),
            Par::Seq,
        );
        assert!(tr.log2[arch.depth()][0] < -10, "rescaling did not happen");
        assert_eq!(tr.f(0).value(), naive_f(&net, &x));
    }
}

#[test]
fn depth_ten_thousand_is_finite() {
    let arch = Arch::new(32, vec![32; 10_000], Init::Nn).unwrap();
    for (seed, trial) in [(1u64, 0u64), (2, 1)] {
        let mut net = DenseNet::<f64>::sample(&arch, seed, trial);
        let x = rng::input(seed, trial, arch.d);
        let lin = linearise::<f64, _>(&mut net, &x, Par::Seq);
        assert!(!lin.dead);
        let log2f = lin.f.log2_abs();
        let log2g = lin.grad_norm.log2_abs();
        // f ~ 2^{-l/2}: far below f64's range, but carried exactly.
        assert!(log2f.is_finite() && log2g.is_finite());
        assert!(log2f < -4000.0, "log2|f| = {log2f}");
        // Ratios are finite and Euler holds through 10,000 rescaled layers.
        assert!(lin.t_lin.is_finite() && lin.t_lin > 0.0);
        let r = euler_residual::<f64>(&arch, seed, trial);
        assert!(
            r <= 8.0 * f64::UNIT_ROUNDOFF * n_total(&arch),
            "Euler residual {r:e}"
        );
    }
    // f32 too: without rescaling it would underflow near depth 250.
    let r = euler_residual::<f32>(&arch, 1, 0);
    assert!(r.is_finite());
}

#[test]
fn dead_network_is_reported_not_divided_by() {
    let arch = Arch::new(10, vec![5, 5], Init::Nn).unwrap();
    let mut net = DenseNet::<f64>::sample(&arch, 1, 0);
    // Make every unit of layer 1 off for positive inputs: W_1 entrywise negative.
    {
        let mut w = net.weight_mut(1);
        for j in 0..w.ncols() {
            for i in 0..w.nrows() {
                w[(i, j)] = -w[(i, j)].abs();
            }
        }
    }
    let x = vec![1.0; 10];
    let lin = linearise::<f64, _>(&mut net, &x, Par::Seq);
    assert!(lin.dead);
    assert_eq!(lin.f.value(), 0.0);
    let s = radex::attack::one_step::<f64, _>(&mut net, &x, true, Par::Seq);
    assert!(s.dead && !s.success && s.c_min.is_none());
}

#[test]
fn gemm_and_matvec_are_bitwise_independent_of_parallelism() {
    let arch = Arch::new(700, vec![900, 650], Init::Nn).unwrap();
    let mut net = DenseNet::<f64>::sample(&arch, 4, 0);
    for batch in [1usize, 3, 16] {
        let xs: Vec<f64> = (0..batch)
            .flat_map(|b| rng::input(4, b as u64, arch.d))
            .collect();
        let x = MatRef::from_column_major_slice(&xs, arch.d, batch);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (a, ga) = pool.install(|| {
            let t = forward(&mut net, x, Par::rayon(2));
            let g = backward(&mut net, &t, Par::rayon(2));
            (t, g)
        });
        let b = forward(&mut net, x, Par::Seq);
        let gb = backward(&mut net, &b, Par::Seq);
        assert_eq!(a.out, b.out, "batch {batch}");
        assert_eq!(ga.g, gb.g, "batch {batch}");
    }
}

#[test]
fn trials_are_bitwise_identical_on_one_and_two_threads() {
    for attack in [Attacks::only(Attack::Onestep), Attacks::EVERY] {
        let p = AttackParams::new(
            Arch::new(300, vec![300, 300], Init::Nn).unwrap(),
            3,
            12,
            attack,
            Precision::F64,
        );
        let one = run_trials(&p, &Exec::new(1, None), &Quiet);
        let two = run_trials(&p, &Exec::new(2, None), &Quiet);
        // One network at a time with parallel products (memory limit forces it).
        let big = run_trials(&p, &Exec::new(2, Some(p.bytes_per_trial())), &Quiet);
        let js = |r| serde_json::to_string(&summarise(&p, r, true)).unwrap();
        let (a, b, c) = (js(one), js(two), js(big));
        assert_eq!(a, b);
        assert_eq!(a, c);
    }
}

#[test]
fn ray_flip_is_bracketed_to_the_tolerance() {
    let arch = Arch::new(200, vec![200, 200], Init::Nn).unwrap();
    for trial in 0..8 {
        let mut net = DenseNet::<f64>::sample(&arch, 8, trial);
        let x = rng::input(8, trial, arch.d);
        let lin = linearise::<f64, _>(&mut net, &x, Par::Seq);
        let r = ray_flip(&mut net, &x, &lin, Norm::L2, Domain::Free, Par::Seq);
        let t = r.t.expect("a flip along the gradient ray");
        let f0 = lin.f.sign();
        let at = f_along(
            &mut net,
            &x,
            &lin.direction,
            &[t * (1.0 - 2e-6), t],
            Domain::Free,
            Par::Seq,
        );
        assert_eq!(at[1].sign(), -f0, "reported point does not flip");
        assert_eq!(at[0].sign(), f0, "a flip exists before t(1 - 2e-6)");
        assert_eq!(r.f_adv.unwrap().sign(), -f0);
    }
}
