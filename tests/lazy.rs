//! The lazy sampler (MATH 8): repeated queries, linearity, Euler's identity, the law of the
//! one-step statistics against the dense sampler (two-sample KS), and thread-count
//! determinism.

use faer::{MatMut, MatRef, Par};
use radex::arch::{Arch, Init};
use radex::attack::onestep::linearise;
use radex::attack::{Attack, Attacks};
use radex::experiment::attack::{AttackParams, TrialRecord, run_trials, summarise};
use radex::experiment::runner::Exec;
use radex::measure::stats::ks_two_sample;
use radex::net::{Layers, LazyNet, Sampler, SamplerChoice, backward, forward};
use radex::progress::Quiet;
use radex::rng;
use radex::scalar::{Precision, Real};
use radex::vector::norm as norm64;

const U: f64 = f64::EPSILON / 2.0;

/// `W_i u` (or `W_i^T u` when `left`) for one vector.
fn ask(net: &mut LazyNet<f64>, i: usize, u: &[f64], left: bool) -> Vec<f64> {
    asks(net, i, &[u.to_vec()], left).remove(0)
}

/// The answers to a batch of queries, asked in one call.
fn asks(net: &mut LazyNet<f64>, i: usize, us: &[Vec<f64>], left: bool) -> Vec<Vec<f64>> {
    let (m, n) = net.arch().shape(i);
    let (len_in, len_out) = if left { (m, n) } else { (n, m) };
    let src: Vec<f64> = us.concat();
    let mut out = vec![0.0; len_out * us.len()];
    let s = MatRef::from_column_major_slice(&src, len_in, us.len());
    let d = MatMut::from_column_major_slice_mut(&mut out, len_out, us.len());
    if left {
        net.left(i, s, d, Par::Seq);
    } else {
        net.right(i, s, d, Par::Seq);
    }
    out.chunks(len_out).map(|c| c.to_vec()).collect()
}

fn random(seed: u64, k: u64, len: usize) -> Vec<f64> {
    let mut r = rng::stream(seed, k, rng::Purpose::Direction, 9, 0);
    rng::sphere(&mut r, len, 1.0)
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn a_repeated_query_gets_the_same_answer() {
    let arch = Arch::new(50, vec![40, 30], Init::Nn).unwrap();
    for trial in 0..5 {
        let mut net = LazyNet::<f64>::sample(&arch, 11, trial);
        let (m, n) = arch.shape(1);
        let u = random(1, trial, n);
        let v = random(2, trial, m);
        let first = ask(&mut net, 1, &u, false);
        let left_first = ask(&mut net, 1, &v, true);
        // Reveals in between change how W is represented, not what it is.
        for k in 0..6 {
            ask(&mut net, 1, &random(3, k, n), false);
            ask(&mut net, 1, &random(4, k, m), true);
        }
        let again = ask(&mut net, 1, &u, false);
        let left_again = ask(&mut net, 1, &v, true);
        // Rounding of sums over the (m + n) stored directions, STYLE 5: 8 u n.
        let tol = 8.0 * (m + n) as f64 * U;
        assert!(
            dist(&first, &again) <= tol * norm64(&first),
            "trial {trial}: right {} vs {}",
            dist(&first, &again),
            tol * norm64(&first)
        );
        assert!(
            dist(&left_first, &left_again) <= tol * norm64(&left_first),
            "trial {trial}: left"
        );
        // A whole forward pass asked twice.
        let x = rng::input(11, trial, arch.d);
        let xs = MatRef::from_column_major_slice(&x, arch.d, 1);
        let (f1, f2) = (
            forward(&mut net, xs, Par::Seq).f(0),
            forward(&mut net, xs, Par::Seq).f(0),
        );
        assert!(
            (f1.ratio(f2) - 1.0).abs() <= 8.0 * 120.0 * U,
            "f {f1:?} vs {f2:?}"
        );
    }
}

#[test]
fn answers_are_linear_in_the_query() {
    let arch = Arch::new(60, vec![45, 30], Init::Nn).unwrap();
    let (a, b) = (1.7, -0.4);
    for left in [false, true] {
        for trial in 0..5 {
            let mut net = LazyNet::<f64>::sample(&arch, 12, trial);
            let (m, n) = arch.shape(2);
            let len = if left { m } else { n };
            let u = random(5, trial, len);
            let v = random(6, trial, len);
            let w: Vec<f64> = u.iter().zip(&v).map(|(x, y)| a * x + b * y).collect();
            // Asked one by one, then a fresh network asked all three in one batch.
            let (wu, wv) = (ask(&mut net, 2, &u, left), ask(&mut net, 2, &v, left));
            let before = net.revealed(2);
            let ww = ask(&mut net, 2, &w, left);
            assert_eq!(net.revealed(2), before, "a combination reveals nothing new");
            let mut fresh = LazyNet::<f64>::sample(&arch, 12, trial);
            let batch = asks(&mut fresh, 2, &[u.clone(), v.clone(), w.clone()], left);
            let tol = 8.0 * (m + n) as f64 * U;
            for (got, su, sv) in [(&ww, &wu, &wv), (&batch[2], &batch[0], &batch[1])] {
                let lin: Vec<f64> = su.iter().zip(sv).map(|(x, y)| a * x + b * y).collect();
                let bound = tol * (a.abs() * norm64(su) + b.abs() * norm64(sv));
                assert!(
                    dist(got, &lin) <= bound,
                    "left {left} trial {trial}: {} > {bound}",
                    dist(got, &lin)
                );
            }
        }
    }
}

#[test]
fn euler_identity_holds_on_the_lazy_net() {
    fn residual<T: Real>(arch: &Arch, trial: u64) -> Option<f64> {
        let mut net = LazyNet::<T>::sample(arch, 13, trial);
        let x = rng::input(13, trial, arch.d);
        let lin = linearise::<T, _>(&mut net, &x, Par::Seq);
        if lin.dead {
            return None;
        }
        let gn = lin.grad_norm.mant;
        let dot: f64 = lin
            .grad
            .col(0)
            .iter()
            .zip(&x)
            .map(|(g, v)| g.to_f64() / gn * v)
            .sum();
        Some((dot - lin.f.ratio(lin.grad_norm)).abs() / norm64(&x))
    }
    for arch in [
        Arch::new(200, vec![150, 100], Init::Nn).unwrap(),
        Arch::new(64, vec![64, 32, 64, 48], Init::He).unwrap(),
    ] {
        let n: f64 = arch.dims().iter().sum::<usize>() as f64;
        let mut live = 0;
        for trial in 0..10 {
            if let Some(r) = residual::<f64>(&arch, trial) {
                live += 1;
                assert!(r <= 8.0 * n * U, "{} trial {trial}: {r}", arch.spec());
            }
            if let Some(r) = residual::<f32>(&arch, trial) {
                let u32 = f32::EPSILON as f64 / 2.0;
                assert!(r <= 8.0 * n * u32, "{} f32 trial {trial}: {r}", arch.spec());
            }
        }
        assert!(live >= 8, "{} live {live}", arch.spec());
    }
}

/// The one-step statistics of `trials` pairs from `sampler`, seed `seed`.
fn one_step_sample(sampler: Sampler, seed: u64, trials: usize) -> Vec<TrialRecord> {
    let mut p = AttackParams::new(
        Arch::new(30, vec![20, 40], Init::Nn).unwrap(),
        seed,
        trials,
        Attacks::only(Attack::Onestep),
        Precision::F64,
    );
    p.with_c = false;
    p.sampler = sampler;
    run_trials(&p, &Exec::new(0, None), &Quiet)
}

/// `f(x)`, `||grad f(x)||`, `rho` and `f(x')/f(x)` of the live trials. A dead network (an atom:
/// `f = 0` exactly under both samplers) is kept as zeros; values below `1e-9` relative to the
/// largest are mapped to 0 (MATH 8: a lazy answer may carry rounding-sized noise where the
/// dense one is exactly 0).
fn statistics(recs: &[TrialRecord]) -> [Vec<f64>; 4] {
    let pick = |f: fn(&TrialRecord) -> f64| {
        let v: Vec<f64> = recs
            .iter()
            .map(|r| if r.dead { 0.0 } else { f(r) })
            .collect();
        let big = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        v.into_iter()
            .map(|x| if x.abs() < 1e-9 * big { 0.0 } else { x })
            .collect()
    };
    [
        pick(|r| r.f),
        pick(|r| r.grad_norm),
        pick(|r| r.rho),
        pick(|r| r.f_ratio),
    ]
}

#[test]
fn lazy_and_dense_have_the_same_law_kolmogorov_smirnov() {
    // 3,000 independent pairs per sampler (different seeds, so the samples are independent).
    // Four tests at level 0.001 each: by Bonferroni the chance that a correct sampler fails
    // any of them is at most 0.004. The threshold is fixed before looking at the data.
    let n = 3000;
    let dense = statistics(&one_step_sample(Sampler::Dense, 101, n));
    let lazy = statistics(&one_step_sample(Sampler::Lazy, 202, n));
    let names = ["f(x)", "||grad f(x)||", "rho", "f(x')/f(x)"];
    let mut report = Vec::new();
    for ((name, a), b) in names.iter().zip(&dense).zip(&lazy) {
        let (d, p) = ks_two_sample(a, b);
        report.push(format!("{name}: D = {d:.4}, p = {p:.3}"));
        assert!(p >= 1e-3, "{name}: KS D = {d}, p = {p}");
    }
    eprintln!(
        "lazy vs dense, 30-20-40-1, {n} pairs each: {}",
        report.join("; ")
    );
    // The test has power: a sampler whose f were 25% too wide is rejected.
    let wide: Vec<f64> = lazy[0].iter().map(|v| 1.25 * v).collect();
    let (_, p) = ks_two_sample(&dense[0], &wide);
    assert!(p < 1e-3, "a 25% wider f(x) went unnoticed: p = {p}");
}

#[test]
fn lazy_trials_are_bitwise_identical_on_one_and_two_threads() {
    // d = 20,000 spans several chunks of the vector kernels and blocks of the Gaussian draws.
    for (arch, attack) in [
        (
            Arch::new(20_000, vec![300, 300], Init::Nn).unwrap(),
            Attacks::only(Attack::Ray),
        ),
        (
            Arch::new(60, vec![50, 40], Init::Nn).unwrap(),
            Attacks::EVERY,
        ),
    ] {
        let mut p = AttackParams::new(arch, 3, 6, attack, Precision::F64);
        p.sampler = Sampler::Lazy;
        let one = run_trials(&p, &Exec::new(1, None), &Quiet);
        let two = run_trials(&p, &Exec::new(2, None), &Quiet);
        // One trial at a time, every product on two threads.
        let big = run_trials(&p, &Exec::new(2, None).one_at_a_time(), &Quiet);
        let js = |r| serde_json::to_string(&summarise(&p, r, true)).unwrap();
        let (a, b, c) = (js(one), js(two), js(big));
        assert!(a.contains("\"sampler\":\"lazy\""));
        assert_eq!(a, b);
        assert_eq!(a, c);
    }
}

#[test]
fn lazy_products_are_bitwise_independent_of_parallelism() {
    let arch = Arch::new(20_000, vec![9_000, 500], Init::Nn).unwrap();
    let xs: Vec<f64> = (0..3).flat_map(|b| rng::input(4, b, arch.d)).collect();
    let x = MatRef::from_column_major_slice(&xs, arch.d, 3);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let (a, ga) = pool.install(|| {
        let mut net = LazyNet::<f64>::sample(&arch, 4, 0);
        let t = forward(&mut net, x, Par::rayon(2));
        let g = backward(&mut net, &t, Par::rayon(2));
        (t, g)
    });
    let mut net = LazyNet::<f64>::sample(&arch, 4, 0);
    let b = forward(&mut net, x, Par::Seq);
    let gb = backward(&mut net, &b, Par::Seq);
    assert_eq!(a.out, b.out);
    assert_eq!(ga.g, gb.g);
}

#[test]
fn auto_picks_lazy_for_few_queries() {
    let big = Arch::new(5000, vec![5000, 5000], Init::Nn).unwrap();
    let small = Arch::new(20, vec![20, 20], Init::Nn).unwrap();
    let auto = SamplerChoice::Auto;
    // One-step attack on fresh weights (k = 3): revealing is far cheaper at d = 5000.
    assert_eq!(auto.resolve(&big, 3), Sampler::Lazy);
    // PGD asks hundreds of queries of a 20-wide network: sampling it is cheaper.
    assert_eq!(auto.resolve(&small, 200), Sampler::Dense);
    assert_eq!(SamplerChoice::Dense.resolve(&big, 3), Sampler::Dense);
}

/// The one-step attack's `c_min` scan reveals more directions per layer in deep networks, so
/// `auto` must not take the lazy sampler for narrow deep ones (measured on 2 cores, 200
/// trials: 64 wide, 300 layers, dense 1.06 s against lazy 2.73 s; 128 wide, 100 layers, 1.27 s
/// against 1.89 s), yet still for wide shallow ones (2048 wide, 2 layers: 3.1 s against 0.01 s).
#[test]
fn auto_counts_the_longer_scan_of_deep_networks() {
    let choose = |d: usize, widths: Vec<usize>| {
        let p = AttackParams::new(
            Arch::new(d, widths, Init::Nn).unwrap(),
            1,
            10,
            Attacks::only(Attack::Onestep),
            Precision::F64,
        );
        SamplerChoice::Auto.resolve(&p.arch, p.queries_per_network())
    };
    assert_eq!(choose(64, vec![64; 300]), Sampler::Dense);
    assert_eq!(choose(128, vec![128; 100]), Sampler::Dense);
    assert_eq!(choose(512, vec![512; 10]), Sampler::Lazy);
    assert_eq!(choose(2048, vec![2048; 2]), Sampler::Lazy);
}

#[test]
fn line_searches_reveal_no_spurious_first_layer_directions() {
    // Every point x + t v of the one-step attack's line searches lies in span{x, v}: the first
    // layer must reveal two right directions, also when the points are rounded to f32.
    fn first_layer<T: Real>(arch: &Arch, trial: u64) -> (usize, usize) {
        let mut net = LazyNet::<T>::sample(arch, 14, trial);
        let x = rng::input(14, trial, arch.d);
        let r = radex::attack::one_step::<T, _>(&mut net, &x, true, Par::Seq);
        assert!(r.dead || r.c_min.is_some());
        net.revealed(1)
    }
    let arch = Arch::new(3000, vec![500, 400], Init::Nn).unwrap();
    for trial in 0..4 {
        assert_eq!(
            first_layer::<f64>(&arch, trial),
            (2, 1),
            "f64 trial {trial}"
        );
        assert_eq!(
            first_layer::<f32>(&arch, trial),
            (2, 1),
            "f32 trial {trial}"
        );
    }
}
