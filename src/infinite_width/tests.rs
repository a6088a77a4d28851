//! The recursion, its integrals and the one-step law against adaptive Simpson integration,
//! the closed forms and Monte Carlo.

use std::f64::consts::{PI, SQRT_2};

use super::*;
use crate::act::normal_pdf;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Adaptive Simpson with Richardson's correction on `[a, b]`, independent of the rule
/// under test; `tol` is an absolute target for the piece.
fn simpson(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64) -> f64 {
    #[allow(clippy::too_many_arguments)]
    fn step(
        f: &dyn Fn(f64) -> f64,
        (a, fa): (f64, f64),
        (m, fm): (f64, f64),
        (b, fb): (f64, f64),
        whole: f64,
        tol: f64,
        depth: u32,
    ) -> f64 {
        let (lm, rm) = (0.5 * (a + m), 0.5 * (m + b));
        let (flm, frm) = (f(lm), f(rm));
        let left = (m - a) / 6.0 * (fa + 4.0 * flm + fm);
        let right = (b - m) / 6.0 * (fm + 4.0 * frm + fb);
        let delta = left + right - whole;
        if depth == 0 || delta.abs() <= 15.0 * tol {
            left + right + delta / 15.0
        } else {
            step(f, (a, fa), (lm, flm), (m, fm), left, 0.5 * tol, depth - 1)
                + step(f, (m, fm), (rm, frm), (b, fb), right, 0.5 * tol, depth - 1)
        }
    }
    let m = 0.5 * (a + b);
    let (fa, fm, fb) = (f(a), f(m), f(b));
    let whole = (b - a) / 6.0 * (fa + 4.0 * fm + fb);
    step(f, (a, fa), (m, fm), (b, fb), whole, tol, 40)
}

/// `int h(t) phi(t) dt` over `[-12, 12]` (the mass beyond is 4e-33) by adaptive Simpson
/// on pieces of width at most 1/2, split at the `breaks` (where `h` bends), so that no
/// piece can pass the error test by accident on its first, coarse estimate.
fn reference(h: &dyn Fn(f64) -> f64, breaks: &[f64], tol: f64) -> f64 {
    let mut pts: Vec<f64> = (-10..=10).map(f64::from).collect();
    pts.extend(breaks.iter().filter(|b| b.abs() < 10.0));
    pts.sort_by(f64::total_cmp);
    pts.dedup();
    let f = |t: f64| h(t) * normal_pdf(t);
    let n = pts.len() as f64;
    pts.windows(2)
        .map(|w| simpson(&f, w[0], w[1], tol / n))
        .sum()
}

/// Reference `E[g(u)]`, `u ~ N(0, q)`.
fn reference_mean(g: &dyn Fn(f64) -> f64, q: f64) -> f64 {
    reference(&|x| g(q.sqrt() * x), &[0.0], 1e-14)
}

/// Reference `E[g(u) g(v)]` by nested adaptive Simpson (`u = sqrt(q1) x`,
/// `v = sqrt(q2)(c x + s y)`).
fn reference_cross(g: &dyn Fn(f64) -> f64, q1: f64, q2: f64, c: f64) -> f64 {
    let s = ((1.0 - c) * (1.0 + c)).sqrt();
    let inner = |x: f64| {
        if s == 0.0 {
            g(q2.sqrt() * c * x)
        } else {
            reference(
                &|y| g(q2.sqrt() * (c * x + s * y)),
                &[0.0, -c * x / s],
                1e-13,
            )
        }
    };
    reference(&|x| g(q1.sqrt() * x) * inner(x), &[0.0], 1e-9)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn gauss_legendre_rule_is_exact_for_polynomials_of_degree_19() {
    for k in 0..2 * ORDER as i32 {
        let exact = if k % 2 == 1 {
            0.0
        } else {
            2.0 / f64::from(k + 1)
        };
        let got = panel(&|t: f64| t.powi(k), -1.0, 1.0);
        assert!((got - exact).abs() <= 1e-15, "t^{k}: {got} vs {exact}");
    }
}

/// The quadrature of `act` against nested adaptive Simpson, at variances from 0.01 to 400
/// (a bend 20 times narrower than the Gaussian) and correlations up to `1 - 1e-6`, with
/// unequal variances once. The reference's own error is about 1e-11 (two tolerances
/// apart it moves by 2e-11), so agreement to 1e-10 certifies the rule to that level;
/// measured: worst 2.3e-12 against a tighter reference.
fn check_against_simpson(act: Act) {
    let mut worst: f64 = 0.0;
    let mut check = |what: String, got: f64, want: f64| {
        worst = worst.max((got - want).abs() / want.abs().max(1.0));
        assert!(close(got, want, 1e-10), "{act} {what}: {got} vs {want}");
    };
    for f in [Func::Phi, Func::Dphi] {
        let g = |u: f64| f.eval(act, u);
        let sq = |u: f64| g(u) * g(u);
        for q in [0.01, 1.0, 6.0, 50.0, 400.0] {
            check(
                format!("{f:?} mean q={q}"),
                mean(act, f, q),
                reference_mean(&g, q),
            );
            check(
                format!("{f:?}^2 q={q}"),
                second_moment(act, f, q),
                reference_mean(&sq, q),
            );
        }
        for (q1, q2, c) in [
            (6.0, 6.0, 0.5),
            (50.0, 50.0, -0.7),
            (50.0, 50.0, 1.0 - 1e-6),
            (0.3, 20.0, 0.9),
        ] {
            let want = reference_cross(&g, q1, q2, c);
            check(
                format!("{f:?} ({q1}, {q2}, {c})"),
                cross_moment(act, f, q1, q2, c),
                want,
            );
        }
    }
    eprintln!("{act}: quadrature vs adaptive Simpson, worst error {worst:.1e}");
}

#[test]
fn tanh_quadrature_matches_adaptive_simpson() {
    check_against_simpson(Act::Tanh);
}

#[test]
fn gelu_quadrature_matches_adaptive_simpson() {
    check_against_simpson(Act::Gelu);
}

#[test]
fn softplus_quadrature_matches_adaptive_simpson() {
    check_against_simpson(Act::Softplus);
}

/// MATH notes that 64 Gauss-Hermite nodes err by 2e-2 on `E[tanh'(u)^2]` at `q = 6`; the
/// panel rule agrees with adaptive Simpson there to 1e-12, up to `q = 1e4`.
#[test]
fn tanh_derivative_second_moment_is_exact_where_gauss_hermite_fails() {
    let g = |u: f64| {
        let d = Act::Tanh.dphi(u);
        d * d
    };
    for q in [6.0, 1e3, 1e4] {
        let (got, want) = (
            second_moment(Act::Tanh, Func::Dphi, q),
            reference_mean(&g, q),
        );
        assert!((got - want).abs() <= 1e-12, "q={q}: {got} vs {want}");
    }
}

/// The generic quadrature, run on the activations that have closed forms, agrees with them:
/// a check of both (for relu, leaky and abs the panels start at the kink). Measured worst
/// 2.8e-11, on `E[erf'(u)^2]`, a Gaussian in `u` that the geometric panels resolve less
/// well than tanh's bend (erf never uses the quadrature); below 2e-12 elsewhere.
#[test]
fn quadrature_matches_closed_forms() {
    let mut worst: f64 = 0.0;
    for act in [Act::Erf, Act::Square, Act::Relu, Act::Leaky(0.2), Act::Abs] {
        for f in [Func::Phi, Func::Dphi] {
            let g = |u: f64| f.eval(act, u);
            for q in [0.05, 1.0, 7.0, 60.0] {
                let pairs = [
                    (closed_mean(act, f, q), quad_mean(g, q, bend(act))),
                    (
                        closed_cross(act, f, q, q, 1.0),
                        quad_mean(|u| g(u) * g(u), q, bend(act)),
                    ),
                ];
                for (c, q2) in [
                    (-1.0, q),
                    (-0.4, 2.0 * q),
                    (0.0, q),
                    (0.8, 0.3),
                    (0.99999, q),
                    (1.0, q),
                ] {
                    let want = closed_cross(act, f, q, q2, c).unwrap();
                    let got = quad_cross(g, q, q2, c, bend(act));
                    if (got - want).abs() / want.abs().max(1.0) > 1e-13 {
                        eprintln!(
                            "{act} {f:?} ({q}, {q2}, {c}): {:.1e}",
                            (got - want).abs() / want.abs().max(1.0)
                        );
                    }
                    worst = worst.max((got - want).abs() / want.abs().max(1.0));
                    assert!(
                        close(got, want, 1e-9),
                        "{act} {f:?} ({q}, {q2}, {c}): {got} vs {want}"
                    );
                }
                for (want, got) in pairs {
                    let want = want.unwrap();
                    if (got - want).abs() / want.abs().max(1.0) > 1e-13 {
                        eprintln!(
                            "{act} {f:?} {q}: {:.1e}",
                            (got - want).abs() / want.abs().max(1.0)
                        );
                    }
                    worst = worst.max((got - want).abs() / want.abs().max(1.0));
                    assert!(close(got, want, 1e-9), "{act} {f:?} q={q}: {got} vs {want}");
                }
            }
        }
    }
    eprintln!("quadrature vs closed forms: worst error {worst:.1e}");
}

const ALL: [Act; 9] = [
    Act::Relu,
    Act::Leaky(0.1),
    Act::Leaky(0.5),
    Act::Abs,
    Act::Tanh,
    Act::Erf,
    Act::Gelu,
    Act::Softplus,
    Act::Square,
];

/// Sample mean and its standard error `sd / sqrt(n)` (Welford's update).
fn mean_and_se(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut n, mut m, mut s) = (0.0, 0.0, 0.0);
    for x in v {
        n += 1.0;
        let d = x - m;
        m += d / n;
        s += d * (x - m);
    }
    (m, (s / (n - 1.0) / n).sqrt())
}

/// Every expectation of every activation against Monte Carlo. The mean of `n` iid terms
/// of standard deviation `sigma` is asymptotically normal with standard deviation
/// `sigma / sqrt(n)` (the central limit theorem; every integrand here has a finite
/// variance, square's `u^2 v^2` included), so it lies within 5 standard errors of the
/// expectation except with probability 6e-7; `sigma` is the sample's, whose relative error
/// `~ 1/sqrt(2n) = 1e-3` does not matter against the factor 5. The seed is fixed, so the
/// test is deterministic. A constant integrand (abs' squared) has standard error 0 and
/// must match to rounding.
#[test]
fn expectations_match_monte_carlo() {
    let n = 400_000;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2021);
    let xy: Vec<(f64, f64)> = (0..n)
        .map(|_| (rng.sample(StandardNormal), rng.sample(StandardNormal)))
        .collect();
    let (q1, q2) = (0.7, 2.3);
    for act in ALL {
        for f in [Func::Phi, Func::Dphi] {
            let g = move |u: f64| f.eval(act, u);
            type Sample = Box<dyn Fn(f64, f64) -> f64>;
            let mut cases: Vec<(String, f64, Sample)> = vec![
                (
                    "mean".into(),
                    mean(act, f, q1),
                    Box::new(move |x, _| g(q1.sqrt() * x)),
                ),
                (
                    "second moment".into(),
                    second_moment(act, f, q2),
                    Box::new(move |x, _| g(q2.sqrt() * x).powi(2)),
                ),
            ];
            for c in [0.6, -0.3, 0.95] {
                let s = (1.0f64 - c * c).sqrt();
                cases.push((
                    format!("cross c={c}"),
                    cross_moment(act, f, q1, q2, c),
                    Box::new(move |x, y| g(q1.sqrt() * x) * g(q2.sqrt() * (c * x + s * y))),
                ));
            }
            for (what, want, h) in cases {
                let (got, se) = mean_and_se(xy.iter().map(|&(x, y)| h(x, y)));
                assert!(
                    (got - want).abs() <= 5.0 * se + 1e-12 * want.abs(),
                    "{act} {f:?} {what}: Monte Carlo {got} +- {se} vs {want}"
                );
            }
        }
    }
}

#[test]
fn cross_moment_factorises_at_zero_correlation_and_is_the_second_moment_at_one() {
    for act in ALL {
        for f in [Func::Phi, Func::Dphi] {
            for (q1, q2) in [(0.5, 3.0), (20.0, 20.0)] {
                let product = mean(act, f, q1) * mean(act, f, q2);
                let got = cross_moment(act, f, q1, q2, 0.0);
                assert!(
                    (got - product).abs() <= 1e-10,
                    "{act} {f:?}: {got} vs {product}"
                );
            }
            for q in [0.5, 30.0] {
                let (got, want) = (cross_moment(act, f, q, q, 1.0), second_moment(act, f, q));
                assert!(close(got, want, 1e-13), "{act} {f:?}: {got} vs {want}");
                // A correlation that overshoots 1 by rounding is 1.
                assert_eq!(cross_moment(act, f, q, q, 1.0 + 1e-15), got);
            }
        }
    }
}

/// MATH 9: without biases relu gives `E F^2 = E||grad F||^2 = sigma_w^2 (sigma_w^2/2)^l`
/// for `||x||^2 = d`; in general, for `phi = alpha t + beta |t|` each layer multiplies
/// both by `sigma_w^2 (alpha^2 + beta^2)`, so `r = 1` for any `sigma_w^2` and input norm.
#[test]
fn relu_like_moments_are_exact_without_biases() {
    for act in [Act::Relu, Act::Leaky(0.1), Act::Abs] {
        let per_unit = match act {
            Act::Relu => 0.5,
            Act::Leaky(a) => 0.5 * (1.0 + a * a),
            _ => 1.0,
        };
        for sw in [0.5, 1.0, 2.0, 3.7] {
            let kernel = Kernel {
                act,
                sigma_w2: sw,
                sigma_b: 0.0,
            };
            for depth in [0, 1, 3, 10] {
                for x_sq in [1.0, 1.0 / 3.0] {
                    let m = kernel.moments(depth, x_sq).unwrap();
                    let layer = sw * per_unit;
                    let grad_sq = sw * layer.powi(depth as i32);
                    for (i, q) in m.q.iter().enumerate() {
                        let want = sw * x_sq * layer.powi(i as i32);
                        assert!(close(q.value.unwrap(), want, 1e-13), "{act} q_{}", i + 1);
                    }
                    assert!(close(m.f_sq.value.unwrap(), grad_sq * x_sq, 1e-13), "{act}");
                    assert!(close(m.grad_sq.value.unwrap(), grad_sq, 1e-13), "{act}");
                    assert!(close(
                        m.f_rms.value.unwrap(),
                        (grad_sq * x_sq).sqrt(),
                        1e-13
                    ));
                    assert!(close(m.grad_rms.value.unwrap(), grad_sq.sqrt(), 1e-13));
                    assert!(
                        (m.r - 1.0).abs() <= 1e-13,
                        "{act} sw={sw} l={depth}: r={}",
                        m.r
                    );
                }
            }
        }
    }
    // NN-DEF: 2^-l (Lemma 2.2); He: 2.
    let nn = Kernel {
        act: Act::Relu,
        sigma_w2: 1.0,
        sigma_b: 0.0,
    }
    .moments(5, 1.0)
    .unwrap();
    assert!(close(nn.f_sq.value.unwrap(), 1.0 / 32.0, 1e-14));
    let he = Kernel {
        act: Act::Relu,
        sigma_w2: 2.0,
        sigma_b: 0.0,
    }
    .moments(5, 1.0)
    .unwrap();
    assert!(close(he.grad_sq.value.unwrap(), 2.0, 1e-14));
}

/// relu with NN-DEF weights at depth 3000 (`E F^2 = 2^-3000`, below `f64`), square (`q`
/// squares per layer) and gelu (`q` shrinks by 4 per layer) beyond `f64`.
#[test]
fn moments_beyond_f64_are_carried_in_logarithms() {
    let relu = Kernel {
        act: Act::Relu,
        sigma_w2: 1.0,
        sigma_b: 0.0,
    };
    let m = relu.moments(3000, 1.0).unwrap();
    assert_eq!(m.f_sq.value, None);
    assert!(close(m.f_sq.ln, -3000.0 * 2f64.ln(), 1e-13));
    assert!((m.r - 1.0).abs() <= 1e-12);
    let cs = relu.correlations(3000, 1.0, 0.0).unwrap();
    assert!(cs[2999].cosine > 0.999_99 && cs[2999].cosine < 1.0);

    // square: ln q_i = (2^{i-1} - 1) ln 3 from q_1 = 1, and r = (3/4)^{l/2}.
    let square = Kernel {
        act: Act::Square,
        sigma_w2: 1.0,
        sigma_b: 0.0,
    };
    let m = square.moments(12, 1.0).unwrap();
    for (i, q) in m.q.iter().enumerate() {
        let want = (2f64.powi(i as i32) - 1.0) * 3f64.ln();
        assert!(close(q.ln, want, 1e-13), "q_{}: {} vs {want}", i + 1, q.ln);
    }
    assert_eq!(m.f_sq.value, None);
    assert!(close(m.r, 0.75f64.powf(6.0), 1e-12), "{}", m.r);
    assert!(
        matches!(square.moments(1100, 1.0), Err(KernelError::OutOfRange { layer }) if layer > 1000)
    );

    let gelu = Kernel {
        act: Act::Gelu,
        sigma_w2: 1.0,
        sigma_b: 0.0,
    };
    assert!(gelu.moments(100, 1.0).is_ok());
    let e = gelu.moments(1000, 1.0).unwrap_err();
    assert!(
        matches!(e, KernelError::OutOfRange { layer } if layer > 400 && layer < 700),
        "{e}"
    );
}

/// MATH 6 and 9: for relu without biases the predicted cosine at layer `i` is `kappa`
/// iterated `i` times from `c_0`, and `c_{i+1}` is layer `i`'s cosine.
#[test]
fn relu_cosines_are_kappa_iterated() {
    let kappa = |r: f64| ((1.0 - r * r).sqrt() + (PI - r.acos()) * r) / PI;
    for sw in [1.0, 2.0] {
        let relu = Kernel {
            act: Act::Relu,
            sigma_w2: sw,
            sigma_b: 0.0,
        };
        for c0 in [-0.9, 0.0, 0.3, 0.99] {
            let cs = relu.correlations(50, 1.0, c0).unwrap();
            let mut rho = c0;
            for (i, lc) in cs.iter().enumerate() {
                assert!((lc.c - rho).abs() <= 1e-14, "c_{} {} vs {rho}", i + 1, lc.c);
                rho = kappa(rho);
                assert!(
                    (lc.cosine - rho).abs() <= 1e-14,
                    "cos_{} {} vs {rho}",
                    i + 1,
                    lc.cosine
                );
            }
        }
    }
}

#[test]
fn critical_sigma_w2_without_biases_is_one_over_the_squared_slope_at_zero() {
    assert_eq!(critical_sigma_w2(Act::Tanh, 0.0), Some(1.0));
    let erf = critical_sigma_w2(Act::Erf, 0.0).unwrap();
    assert!((erf - PI / 4.0).abs() <= 1e-15, "{erf}");
    // There q* = 0 and chi_1 = sigma_w^2 phi'(0)^2 = 1.
    let tanh = Kernel {
        act: Act::Tanh,
        sigma_w2: 1.0,
        sigma_b: 0.0,
    };
    assert_eq!(
        tanh.phase(1.0).unwrap(),
        Phase::Critical {
            q_star: 0.0,
            chi_1: 1.0
        }
    );
    for act in [
        Act::Relu,
        Act::Leaky(0.1),
        Act::Abs,
        Act::Gelu,
        Act::Softplus,
        Act::Square,
    ] {
        assert_eq!(critical_sigma_w2(act, 0.3), None, "{act}");
    }
    for sb in [f64::NAN, -0.1, f64::INFINITY] {
        assert_eq!(critical_sigma_w2(Act::Tanh, sb), None);
    }
}

/// The boundary found by eliminating `sigma_w^2` is where the phase computed the other
/// way (iterating to `q*`, then `chi_1`) is critical, it separates order from chaos, and
/// it rises with `sigma_b` (Schoenholz et al., Fig. 1).
#[test]
fn critical_sigma_w2_is_where_chi_1_is_one_and_rises_with_sigma_b() {
    for act in [Act::Tanh, Act::Erf] {
        let mut prev = critical_sigma_w2(act, 0.0).unwrap();
        for k in 1..=12 {
            let sigma_b = 0.1 * f64::from(k);
            let sw = critical_sigma_w2(act, sigma_b).unwrap();
            assert!(sw > prev, "{act} sigma_b={sigma_b}: {sw} <= {prev}");
            prev = sw;
            let at = |sigma_w2| {
                Kernel {
                    act,
                    sigma_w2,
                    sigma_b,
                }
                .phase(1.0)
                .unwrap()
            };
            let Phase::Critical { chi_1, .. } = at(sw) else {
                panic!("{:?}", at(sw))
            };
            assert!(
                (chi_1 - 1.0).abs() <= 1e-9,
                "{act} sigma_b={sigma_b}: chi_1={chi_1}"
            );
            assert!(matches!(at(0.99 * sw), Phase::Ordered { chi_1, .. } if chi_1 < 1.0));
            assert!(matches!(at(1.01 * sw), Phase::Chaotic { chi_1, .. } if chi_1 > 1.0));
        }
    }
    // Schoenholz et al. (2017) quote sigma_w^2 = 1.76 at sigma_b^2 = 0.05 for tanh.
    let sw = critical_sigma_w2(Act::Tanh, 0.05f64.sqrt()).unwrap();
    assert!((sw - 1.76).abs() < 0.005, "{sw}");
}

#[test]
fn correlations_tend_to_c_star_when_chaotic_and_to_one_when_ordered() {
    let chaotic = Kernel {
        act: Act::Tanh,
        sigma_w2: 4.0,
        sigma_b: 0.3,
    };
    let Phase::Chaotic {
        q_star,
        chi_1,
        c_star,
    } = chaotic.phase(1.0).unwrap()
    else {
        panic!("{:?}", chaotic.phase(1.0))
    };
    assert!(
        chi_1 > 1.0 && c_star > 0.0 && c_star < 1.0,
        "{chi_1} {c_star}"
    );
    let m = chaotic.moments(100, 1.0).unwrap();
    assert!(close(m.q[99].value.unwrap(), q_star, 1e-12));
    // The map contracts by about 0.86 per layer near c*: 1e-15 after 300 layers.
    for c0 in [-0.5, 0.2, 0.999] {
        let cs = chaotic.correlations(300, 1.0, c0).unwrap();
        assert!(
            (cs[299].c - c_star).abs() <= 1e-12,
            "{c0}: {} vs {c_star}",
            cs[299].c
        );
    }
    // Without biases an odd phi keeps c = 0 fixed, and it is c*.
    let odd = Kernel {
        act: Act::Erf,
        sigma_w2: 3.0,
        sigma_b: 0.0,
    };
    assert!(matches!(odd.phase(1.0).unwrap(), Phase::Chaotic { c_star, .. } if c_star == 0.0));

    for act in [Act::Tanh, Act::Erf, Act::Gelu, Act::Relu] {
        let ordered = Kernel {
            act,
            sigma_w2: 0.7,
            sigma_b: 0.3,
        };
        assert!(
            matches!(ordered.phase(1.0).unwrap(), Phase::Ordered { .. }),
            "{act}"
        );
        let cs = ordered.correlations(200, 1.0, -0.5).unwrap();
        assert!(
            cs[199].c > 1.0 - 1e-9 && cs[199].c <= 1.0,
            "{act}: {}",
            cs[199].c
        );
    }
}

/// Odd activations without biases: above the critical `sigma_w^2` the phase is chaotic with
/// `c* = 0` exactly (`K(0) = 0`), whatever the sign quadrature gives `K(0)`.
#[test]
fn odd_activations_without_biases_are_chaotic_with_c_star_zero() {
    for act in [Act::Tanh, Act::Erf] {
        for sigma_w2 in [1.25, 1.5, 2.0, 2.5, 3.0, 4.0] {
            let k = Kernel {
                act,
                sigma_w2,
                sigma_b: 0.0,
            };
            match k.phase(1.0).unwrap() {
                Phase::Chaotic { chi_1, c_star, .. } => {
                    assert!(chi_1 > 1.0 && c_star == 0.0, "{act:?} {sigma_w2}: {c_star}")
                }
                p => panic!("{act:?} {sigma_w2}: {p:?}"),
            }
        }
    }
}

#[test]
fn phases_without_a_fixed_point_say_why() {
    let phase = |act, sigma_w2, sigma_b, x_sq| {
        Kernel {
            act,
            sigma_w2,
            sigma_b,
        }
        .phase(x_sq)
        .unwrap()
    };
    let none = |reason| Phase::NoFixedPoint { reason };
    for act in [Act::Relu, Act::Leaky(0.2), Act::Abs] {
        for sw in [0.5, 2.0, 5.0] {
            assert_eq!(phase(act, sw, 0.0, 1.0), none(NoFixedPoint::Homogeneous));
        }
    }
    assert_eq!(
        phase(Act::Relu, 2.5, 0.1, 1.0),
        none(NoFixedPoint::Diverges)
    );
    assert_eq!(
        phase(Act::Softplus, 3.0, 0.0, 1.0),
        none(NoFixedPoint::Diverges)
    );
    assert_eq!(
        phase(Act::Square, 1.0, 0.0, 1.0),
        none(NoFixedPoint::Diverges)
    );
    assert_eq!(
        phase(Act::Square, 0.25, 0.0, 1.0),
        none(NoFixedPoint::Vanishes)
    );
    assert_eq!(
        phase(Act::Tanh, 0.5, 0.0, 1.0),
        none(NoFixedPoint::Vanishes)
    );
    // There the network tends to a linear map: correlations freeze instead of tending to 1.
    let tanh = Kernel {
        act: Act::Tanh,
        sigma_w2: 0.5,
        sigma_b: 0.0,
    };
    let cs = tanh.correlations(100, 1.0, 0.5).unwrap();
    assert!(cs[99].c > 0.45 && cs[99].c <= 0.5 && (cs[99].c - cs[98].c).abs() < 1e-15);
    // relu with biases: q* = sigma_b^2 / (1 - sigma_w^2/2), chi_1 = sigma_w^2 / 2.
    let Phase::Ordered { q_star, chi_1 } = phase(Act::Relu, 1.0, 0.5, 1.0) else {
        panic!()
    };
    assert!(
        close(q_star, 0.5, 1e-12) && close(chi_1, 0.5, 1e-15),
        "{q_star} {chi_1}"
    );
}

#[test]
fn one_step_law_for_one_and_two_outputs_is_two_abs_z() {
    let z75 = 0.674_489_750_196_081_7; // Phi^{-1}(3/4)
    for k in [1, 2] {
        let law = one_step_law(k, 1.3).unwrap();
        assert!(
            (law.median - 2.0 * z75 * 1.3).abs() <= 1e-12,
            "{k}: {law:?}"
        );
        assert!(
            (law.mean - 2.0 * (2.0 / PI).sqrt() * 1.3).abs() <= 1e-12,
            "{k}: {law:?}"
        );
    }
    for t in [0.0, 0.3, 1.0, 2.5, 6.0] {
        let (one, two) = (one_step_survival(1, t), one_step_survival(2, t));
        assert!((one - two).abs() <= 1e-14, "{t}: {one} vs {two}");
    }
    assert_eq!(one_step_law(0, 1.0), None);
    assert_eq!(one_step_law(3, f64::NAN), None);
}

/// `sqrt(2) (Z_(1) - Z_(2))` against draws of `K` normals: the sample mean within 5
/// standard errors (as in `expectations_match_monte_carlo`), and the fraction of draws
/// below the predicted median within 5 binomial standard errors `sqrt(1/4n)` of 1/2.
#[test]
fn one_step_law_matches_monte_carlo_of_normals() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    for (k, n) in [(3usize, 1_000_000), (10, 1_000_000), (100, 100_000)] {
        let gaps: Vec<f64> = (0..n)
            .map(|_| {
                let (mut a, mut b) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
                for _ in 0..k {
                    let z: f64 = rng.sample(StandardNormal);
                    if z > a {
                        (a, b) = (z, a);
                    } else if z > b {
                        b = z;
                    }
                }
                SQRT_2 * (a - b)
            })
            .collect();
        let law = one_step_law(k, 1.0).unwrap();
        let (m, se) = mean_and_se(gaps.iter().copied());
        assert!(
            (m - law.mean).abs() <= 5.0 * se,
            "K={k}: mean {m} +- {se} vs {}",
            law.mean
        );
        let below = gaps.iter().filter(|&&g| g < law.median).count() as f64 / n as f64;
        let se = (0.25 / n as f64).sqrt();
        assert!(
            (below - 0.5).abs() <= 5.0 * se,
            "K={k}: {below} below the median"
        );
    }
}

#[test]
fn predictions_round_trip_through_json() {
    let relu = Kernel {
        act: Act::Leaky(0.1),
        sigma_w2: 1.0,
        sigma_b: 0.0,
    };
    let m = relu.moments(1500, 1.0 / 3.0).unwrap();
    assert_eq!(m.f_sq.value, None);
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<Moments>(&json).unwrap(), m);
    let phases = [
        Kernel {
            act: Act::Tanh,
            sigma_w2: 4.0,
            sigma_b: 0.3,
        }
        .phase(1.0)
        .unwrap(),
        Kernel {
            act: Act::Tanh,
            sigma_w2: 0.5,
            sigma_b: 0.3,
        }
        .phase(1.0)
        .unwrap(),
        relu.phase(1.0).unwrap(),
    ];
    for p in phases {
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Phase>(&json).unwrap(), p, "{json}");
    }
    assert!(
        serde_json::to_string(&phases[0])
            .unwrap()
            .contains(r#""phase":"chaotic""#)
    );
    let law = one_step_law(10, 1.1).unwrap();
    let json = serde_json::to_string(&law).unwrap();
    assert_eq!(serde_json::from_str::<OneStepLaw>(&json).unwrap(), law);
    let json = serde_json::to_string(&relu).unwrap();
    assert_eq!(serde_json::from_str::<Kernel>(&json).unwrap(), relu);
}

#[test]
fn invalid_parameters_are_errors_not_panics() {
    for (sigma_w2, sigma_b, x_sq) in [
        (f64::NAN, 0.0, 1.0),
        (0.0, 0.0, 1.0),
        (1.0, -0.1, 1.0),
        (1.0, f64::NAN, 1.0),
        (1.0, 0.0, 0.0),
        (1.0, 0.0, f64::INFINITY),
    ] {
        let k = Kernel {
            act: Act::Tanh,
            sigma_w2,
            sigma_b,
        };
        assert!(matches!(
            k.moments(3, x_sq),
            Err(KernelError::Invalid { .. })
        ));
        assert!(matches!(
            k.correlations(3, x_sq, 0.5),
            Err(KernelError::Invalid { .. })
        ));
        assert!(matches!(k.phase(x_sq), Err(KernelError::Invalid { .. })));
    }
    // NaN in, NaN out, without hanging.
    assert!(mean(Act::Tanh, Func::Phi, f64::NAN).is_nan());
    assert!(cross_moment(Act::Gelu, Func::Phi, 1.0, 1.0, f64::NAN).is_nan());
    assert!(cross_moment(Act::Gelu, Func::Phi, f64::INFINITY, 1.0, 0.5).is_nan());
}

#[test]
fn brent_finds_bracketed_roots_only() {
    let root = brent(|x: f64| x.cos() - x, 0.0, 1.0, 1e-15).unwrap();
    assert!((root - 0.739_085_133_215_160_6).abs() <= 1e-15);
    assert_eq!(brent(|x: f64| x * x + 1.0, -1.0, 1.0, 1e-15), None);
    assert_eq!(brent(|_| f64::NAN, -1.0, 1.0, 1e-15), None);
}
