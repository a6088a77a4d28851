//! The minimum-norm attack (MATH 3, 9) against exact minima: on one-hidden-layer relu networks
//! the network is linear on each activation region, so the smallest flip is the nearest of the
//! projections of `x` onto the affine sets where the margin and a few units vanish, which a
//! brute-force enumeration finds exactly. Also: it never reports `x` or a point that does not
//! flip, box inputs stay in the box, and results are the same twice and on any thread count.

use faer::{MatRef, Par};
use radex::act::Act;
use radex::arch::{Arch, Family, Init, OutputLaw};
use radex::attack::onestep::{Linearisation, linearise};
use radex::attack::{Domain, MinNorm, MinNormSettings, Norm, deepfool, f_at, minnorm};
use radex::net::{DenseNet, Labelled, Layers, LazyNet, forward};
use radex::rng::{self, InputLaw};
use radex::vector::{distance, norm};

/// A one-hidden-layer network `d, w` with `k` outputs (biases of standard deviation `sigma_b`).
fn arch(d: usize, w: usize, k: usize, sigma_b: f64) -> Arch {
    let family = Family {
        act: Act::Relu,
        sigma_w2: 2.0,
        sigma_b,
        outputs: k,
        output_law: OutputLaw::Gauss,
    };
    Arch::with_family(d, vec![w], family).unwrap()
}

/// The weights of a one-hidden-layer network: rows `w_j` of `W_1`, `b_1`, output rows `a_k`
/// of `W_2` and `b_2` (zeros without biases).
struct Shallow {
    w: Vec<Vec<f64>>,
    b: Vec<f64>,
    a: Vec<Vec<f64>>,
    b_out: Vec<f64>,
}

impl Shallow {
    fn of(net: &DenseNet<f64>) -> Self {
        let arch = net.arch().clone();
        let (w, d) = arch.shape(1);
        let k = arch.outputs();
        let w1 = net.weight_data(1);
        let w2 = net.weight_data(2);
        Shallow {
            w: (0..w)
                .map(|j| (0..d).map(|c| w1[j + c * w]).collect())
                .collect(),
            b: net.bias_data(1).map_or(vec![0.0; w], <[f64]>::to_vec),
            a: (0..k)
                .map(|o| (0..w).map(|j| w2[o + j * k]).collect())
                .collect(),
            b_out: net.bias_data(2).map_or(vec![0.0; k], <[f64]>::to_vec),
        }
    }

    fn outputs(&self, z: &[f64]) -> Vec<f64> {
        let h: Vec<f64> = self
            .w
            .iter()
            .zip(&self.b)
            .map(|(w, b)| (dot(w, z) + b).max(0.0))
            .collect();
        self.a
            .iter()
            .zip(&self.b_out)
            .map(|(a, b)| dot(a, &h) + b)
            .collect()
    }

    /// The exact smallest `||z - x||` over `z` with `F_y(z) <= F_j(z)` for some `j != y`
    /// (`K >= 2`, `y` the argmax at `x`) or `sign f(z) != sign f(x)` (`K = 1`; `f(z) = 0`
    /// counts). At a minimiser the flipping margin `g = s (F_y - F_j)` (`s = sign f(x)` for
    /// `K = 1`) vanishes, and on the units `J` at zero and the pattern of the others it is
    /// linear; the minimiser is the projection of `x` onto `{g = 0, w_j . z + b_j = 0 (j in
    /// J)}` (the active constraints of a projection onto a polyhedron). So the minimum is the
    /// smallest distance among those projections, over every `J` and pattern, where the true `g`
    /// vanishes (up to rounding): each such point is a flip, and the minimiser is among them.
    fn exact_min(&self, x: &[f64]) -> f64 {
        let out = self.outputs(x);
        let margins: Vec<(Vec<f64>, f64)> = if out.len() == 1 {
            vec![(self.a[0].clone(), self.b_out[0])]
        } else {
            let y = argmax(&out);
            (0..out.len())
                .filter(|&j| j != y)
                .map(|j| {
                    let a = self.a[y]
                        .iter()
                        .zip(&self.a[j])
                        .map(|(p, q)| p - q)
                        .collect();
                    (a, self.b_out[y] - self.b_out[j])
                })
                .collect()
        };
        margins
            .iter()
            .map(|(a, e)| self.exact_scalar(x, a, *e))
            .fold(f64::INFINITY, f64::min)
    }

    /// [`Shallow::exact_min`] for the scalar `g(z) = a . relu(W z + b) + e`.
    fn exact_scalar(&self, x: &[f64], a: &[f64], e: f64) -> f64 {
        let (w, d) = (self.w.len(), x.len());
        let g = |z: &[f64]| -> (f64, f64) {
            let mut v = e;
            let mut scale = e.abs();
            for ((wj, bj), aj) in self.w.iter().zip(&self.b).zip(a) {
                let t = (dot(wj, z) + bj).max(0.0) * aj;
                v += t;
                scale += t.abs();
            }
            (v, scale)
        };
        let gx = g(x).0;
        assert!(gx != 0.0);
        let mut best = f64::INFINITY;
        // state[j]: 0 off, 1 on, 2 at zero (in J).
        let mut state = vec![0u8; w];
        loop {
            let zeros = state.iter().filter(|&&s| s == 2).count();
            if zeros <= d {
                let mut rows: Vec<Vec<f64>> = Vec::new();
                let mut rhs: Vec<f64> = Vec::new();
                let mut c = vec![0.0; d];
                let mut c0 = e;
                for (j, &sj) in state.iter().enumerate() {
                    match sj {
                        1 => {
                            c.iter_mut()
                                .zip(&self.w[j])
                                .for_each(|(ci, wi)| *ci += a[j] * wi);
                            c0 += a[j] * self.b[j];
                        }
                        2 => {
                            rows.push(self.w[j].clone());
                            rhs.push(-self.b[j]);
                        }
                        _ => {}
                    }
                }
                // g = c . z + c0 on this piece; c = 0 makes g constant, and the whole piece
                // flips when that constant does (0 included).
                let ok = if norm(&c) > 0.0 {
                    rows.push(c);
                    rhs.push(-c0);
                    true
                } else {
                    c0 * gx <= 0.0
                };
                if let Some(z) = project_affine(x, &rows, &rhs).filter(|_| ok) {
                    let (v, scale) = g(&z);
                    if v.abs() <= 1e-10 * (scale + 1.0) || v * gx < 0.0 {
                        best = best.min(distance(&z, x));
                    }
                }
            }
            // Next state (base 3 counter).
            let mut j = 0;
            while j < w && state[j] == 2 {
                state[j] = 0;
                j += 1;
            }
            if j == w {
                break;
            }
            state[j] += 1;
        }
        best
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}

fn argmax(v: &[f64]) -> usize {
    (0..v.len()).fold(0, |m, i| if v[i] > v[m] { i } else { m })
}

/// The projection of `x` onto `{z : rows z = rhs}`, `None` for (nearly) dependent rows.
fn project_affine(x: &[f64], rows: &[Vec<f64>], rhs: &[f64]) -> Option<Vec<f64>> {
    let k = rows.len();
    // Gram-Schmidt on the rows, carrying the right-hand sides.
    let mut q: Vec<Vec<f64>> = Vec::new();
    let mut qr: Vec<f64> = Vec::new();
    for (r, &b) in rows.iter().zip(rhs) {
        let mut v = r.clone();
        let mut c = b;
        for _ in 0..2 {
            for (u, &ub) in q.iter().zip(&qr) {
                let p = dot(&v, u);
                v.iter_mut().zip(u).for_each(|(vi, ui)| *vi -= p * ui);
                c -= p * ub;
            }
        }
        let n = norm(&v);
        if n <= 1e-9 * norm(r) {
            return None;
        }
        q.push(v.iter().map(|t| t / n).collect());
        qr.push(c / n);
    }
    let mut z = x.to_vec();
    for (u, &ub) in q.iter().zip(&qr) {
        let p = dot(&z, u) - ub;
        z.iter_mut().zip(u).for_each(|(zi, ui)| *zi -= p * ui);
    }
    debug_assert_eq!(q.len(), k);
    Some(z)
}

/// What the experiment's attacks give on one pair: `K >= 2` attacks the margin of the label at
/// `x` through [`Labelled`], as `radex attack` does.
struct Run {
    minnorm: MinNorm,
    deepfool: Option<f64>,
}

fn attack<N: Layers<f64>>(
    net: &mut N,
    x: &[f64],
    settings: &MinNormSettings,
    domain: Domain,
    par: Par,
) -> Run {
    let lin: Linearisation<f64> = linearise(net, x, par);
    match lin.trace.label.first().copied() {
        Some(y) if !lin.dead => {
            let mut labelled = Labelled { net, label: y };
            attack_on(&mut labelled, x, &lin, settings, domain, par)
        }
        _ => attack_on(net, x, &lin, settings, domain, par),
    }
}

/// Runs DeepFool and the minimum-norm attack, and checks what the latter reports: a point that
/// is not `x`, lies in the domain, flips when evaluated again, at the reported distance.
fn attack_on<N: Layers<f64> + ?Sized>(
    net: &mut N,
    x: &[f64],
    lin: &Linearisation<f64>,
    settings: &MinNormSettings,
    domain: Domain,
    par: Par,
) -> Run {
    let df = deepfool(net, x, lin, 0.02, 50, Norm::L2, domain, par);
    let minnorm = minnorm(net, x, lin, None, settings, Norm::L2, domain, par);
    if let Some(p) = &minnorm.x_adv {
        assert!(p.as_slice() != x, "reported x itself");
        if domain == Domain::Box {
            assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "left the box");
        }
        // Evaluated again, alone (a batch of another width may round differently, far below
        // the distance to the boundary the line search leaves).
        let f = f_at(net, p, x.len(), par)[0];
        assert!(f.flipped_from(lin.f), "the reported point does not flip");
        assert!(minnorm.f_adv.unwrap().flipped_from(lin.f));
        assert_eq!(distance(p, x) / norm(x), minnorm.rho.unwrap());
    }
    Run {
        minnorm,
        deepfool: df.rho,
    }
}

/// On `n` networks `d, w` with `k` outputs (biases `sigma_b`): the attack is never below the
/// exact minimum (every flip it reports is verified) and within a relative 1e-3 of it on at
/// least `required` networks. The rest are basins the walk does not reach: a local method
/// from DeepFool's flip finds the nearest flip of its basin exactly (the walk ends on the
/// corner where the planes of its pieces meet), and small networks have a few basins, which
/// `explore` rounds look for.
fn against_exact(
    (d, w, k, sigma_b): (usize, usize, usize, f64),
    n: u64,
    explore: usize,
    required: usize,
) {
    let settings = MinNormSettings {
        explore,
        ..MinNormSettings::default()
    };
    let (mut hits, mut df_worse, mut df_worse_1pc, mut cases) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for t in 0..n {
        let a = arch(d, w, k, sigma_b);
        let mut net = DenseNet::<f64>::sample(&a, 7, t);
        let x = rng::input(7, t, d);
        if linearise::<f64, _>(&mut net, &x, Par::Seq).dead {
            // f(x) = 0 or no gradient at x (every unit off): no attack runs.
            continue;
        }
        let exact = Shallow::of(&net).exact_min(&x) / norm(&x);
        let run = attack(&mut net, &x, &settings, Domain::Free, Par::Seq);
        if !exact.is_finite() {
            assert!(
                run.minnorm.rho.is_none(),
                "trial {t}: a flip where none exists"
            );
            continue;
        }
        if sigma_b == 0.0 && (exact - 1.0).abs() <= 1e-12 {
            // Only the origin, where a network without biases is 0: the attack does not report
            // that trivial point (the same for every network), and may find nothing.
            let rho = run.minnorm.rho.unwrap_or(f64::INFINITY);
            assert!(
                rho >= exact * (1.0 - 1e-9),
                "trial {t}: {rho} below the origin"
            );
            continue;
        }
        cases += 1;
        let rho = run.minnorm.rho.unwrap_or(f64::INFINITY);
        assert!(
            rho >= exact * (1.0 - 1e-9),
            "trial {t}: {rho} below the exact {exact}"
        );
        if rho <= exact * (1.0 + 1e-3) {
            hits += 1;
        } else {
            misses.push((t, rho / exact - 1.0));
        }
        let df = run.deepfool.unwrap_or(f64::INFINITY);
        df_worse += usize::from(df > exact * (1.0 + 1e-3));
        df_worse_1pc += usize::from(df > exact * 1.01);
    }
    eprintln!(
        "d {d} w {w} k {k} sigma_b {sigma_b} explore {explore}: minnorm within 1e-3 of the exact minimum on {hits} \
         of {cases}; DeepFool beyond 1e-3 on {df_worse}, beyond 1% on {df_worse_1pc}; misses \
         (trial, excess) {misses:.3?}"
    );
    assert!(
        hits >= required,
        "{hits} of {cases} within 1e-3: {misses:?}"
    );
}

#[test]
fn exact_minimum_without_biases() {
    against_exact((5, 8, 1, 0.0), 50, 3, 43);
    against_exact((5, 8, 1, 0.0), 50, 0, 38);
}

#[test]
fn exact_minimum_with_biases() {
    against_exact((5, 8, 1, 0.5), 50, 3, 38);
}

#[test]
fn exact_minimum_of_the_margin_of_three_outputs() {
    against_exact((4, 6, 3, 0.5), 50, 3, 40);
}

/// Box inputs (MATH 9): every point stays in `[0, 1]^d`, flips, and is no farther than
/// DeepFool's (whose flip the walk starts from when it has one).
#[test]
fn box_inputs_stay_in_the_box() {
    let a = Arch::with_family(
        40,
        vec![40, 40],
        Family {
            sigma_b: 0.2,
            ..Family::default()
        },
    )
    .unwrap();
    let mut flipped = 0;
    for t in 0..10 {
        let mut net = DenseNet::<f64>::sample(&a, 3, t);
        let x = rng::input_of(InputLaw::Box, 3, t, a.d);
        let run = attack(
            &mut net,
            &x,
            &MinNormSettings::default(),
            Domain::Box,
            Par::Seq,
        );
        if let (Some(mn), Some(df)) = (run.minnorm.rho, run.deepfool) {
            assert!(mn <= df, "trial {t}: {mn} > DeepFool's {df}");
        }
        flipped += usize::from(run.minnorm.rho.is_some());
    }
    assert!(flipped >= 5, "only {flipped} of 10 flipped");
}

/// `K >= 2` (MATH 9): the reported point changes the argmax of the outputs themselves.
#[test]
fn a_margin_flip_changes_the_argmax() {
    let a = Arch::with_family(
        30,
        vec![30, 30],
        Family {
            outputs: 5,
            ..Family::default()
        },
    )
    .unwrap();
    for t in 0..6 {
        let mut net = DenseNet::<f64>::sample(&a, 5, t);
        let x = rng::input(5, t, a.d);
        let run = attack(
            &mut net,
            &x,
            &MinNormSettings::default(),
            Domain::Free,
            Par::Seq,
        );
        let p = run.minnorm.x_adv.expect("a flip");
        let mut outputs = |z: &[f64]| -> Vec<f64> {
            let tr = forward(
                &mut net,
                MatRef::from_column_major_slice(z, a.d, 1),
                Par::Seq,
            );
            let (o, _) = tr.outputs_of(0);
            o.to_vec()
        };
        let (at_x, at_p) = (outputs(&x), outputs(&p));
        let y = argmax(&at_x);
        // A tie counts, as a landing on f = 0 does (MATH 3).
        assert!(
            (0..5).any(|j| j != y && at_p[j] >= at_p[y]),
            "trial {t}: argmax kept"
        );
    }
}

/// A given start is used when it flips and ignored when it does not (here `x` itself), and the
/// attack never ends farther than the start.
#[test]
fn a_start_is_verified_and_improved() {
    let a = Arch::new(60, vec![60, 60], Init::Nn).unwrap();
    for t in 0..4 {
        let mut net = DenseNet::<f64>::sample(&a, 9, t);
        let x = rng::input(9, t, a.d);
        let lin: Linearisation<f64> = linearise(&mut net, &x, Par::Seq);
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
        let s = MinNormSettings::default();
        let from_df = minnorm(
            &mut net,
            &x,
            &lin,
            df.x_adv.as_deref(),
            &s,
            Norm::L2,
            Domain::Free,
            Par::Seq,
        );
        assert!(from_df.rho.unwrap() <= df.rho.unwrap());
        let from_x = minnorm(
            &mut net,
            &x,
            &lin,
            Some(&x),
            &s,
            Norm::L2,
            Domain::Free,
            Par::Seq,
        );
        let own = minnorm(
            &mut net,
            &x,
            &lin,
            None,
            &s,
            Norm::L2,
            Domain::Free,
            Par::Seq,
        );
        assert_eq!(
            from_x.x_adv, own.x_adv,
            "trial {t}: a start that does not flip was used"
        );
    }
}

/// The same result twice and on any thread count (the products are bitwise the same, and the
/// attack's own choices depend on nothing else).
#[test]
fn deterministic_on_any_thread_count() {
    let a = Arch::new(200, vec![200, 200], Init::Nn).unwrap();
    for t in 0..3 {
        let x = rng::input(2, t, a.d);
        let run = |par: Par| {
            let mut net = DenseNet::<f64>::sample(&a, 2, t);
            let lin: Linearisation<f64> = linearise(&mut net, &x, par);
            let s = MinNormSettings::default();
            let r = minnorm(&mut net, &x, &lin, None, &s, Norm::L2, Domain::Free, par);
            (r.x_adv, r.iterations, r.forwards, r.gradients)
        };
        let first = run(Par::Seq);
        assert!(first.0.is_some());
        assert_eq!(first, run(Par::Seq));
        assert_eq!(first, run(Par::rayon(2)));
    }
}

/// On lazy networks (MATH 8), which reveal the weights as the attack asks: the reported point
/// flips on the very network that was attacked, is no farther than DeepFool's, and a fresh
/// sample of the same network gives the same result.
#[test]
fn lazy_networks() {
    let a = Arch::new(80, vec![60, 60], Init::Nn).unwrap();
    for t in 0..3 {
        let x = rng::input(4, t, a.d);
        let run = || {
            let mut net = LazyNet::<f64>::sample(&a, 4, t);
            attack(
                &mut net,
                &x,
                &MinNormSettings::default(),
                Domain::Free,
                Par::Seq,
            )
        };
        let first = run();
        let (mn, df) = (first.minnorm.rho.expect("a flip"), first.deepfool.unwrap());
        assert!(mn <= df, "trial {t}: {mn} > DeepFool's {df}");
        assert_eq!(first.minnorm.x_adv, run().minnorm.x_adv);
    }
}

/// Regression (issue 14): with biases, a hidden layer that is entirely off leaves the output
/// bias, not 0. The forward pass reported 0 there, which counted as a flip (MATH 3), so the
/// attacks reported points that did not flip.
#[test]
fn issue_14_a_dead_layer_with_biases_outputs_its_biases() {
    let family = Family {
        sigma_b: 1.0,
        ..Family::default()
    };
    let weights = vec![vec![1.0, 0.0], vec![1.0]];
    let biases = Some(vec![vec![-10.0], vec![0.7]]);
    let mut net = DenseNet::<f64>::from_weights(&[2, 1], family, weights, biases).unwrap();
    let x = [1.0, 0.0];
    let trace = forward(
        &mut net,
        MatRef::from_column_major_slice(&x, 2, 1),
        Par::Seq,
    );
    assert!(trace.dead[0], "no gradient: the hidden unit is off");
    assert_eq!(trace.f(0).value(), 0.7);
}
