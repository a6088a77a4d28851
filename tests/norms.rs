//! Issue 14, Linf (MATH 3, "other norms"): the ray, DeepFool, PGD and the minimum-norm attack in
//! Linf. On a linear network (leaky relu of slope 1) the smallest flip in each norm is known
//! exactly, `|f| / ||grad f||_q`; on relu networks every reported point is a verified flip
//! inside its ball and box.

use faer::Par;
use radex::act::Act;
use radex::arch::{Family, parse_arch};
use radex::attack::onestep::linearise;
use radex::attack::{
    Domain, MinNormSettings, Norm, PgdSettings, deepfool, f_at, minnorm, pgd, ray_flip,
};
use radex::net::{DenseNet, Scaled};
use radex::rng::{self, InputLaw};
use radex::vector::norm;

const NORMS: [Norm; 2] = [Norm::L2, Norm::Linf];

fn net(spec: &str, act: Act, t: u64) -> DenseNet<f64> {
    let family = Family {
        act,
        ..Family::default()
    };
    DenseNet::sample(&parse_arch(spec, family).unwrap(), 5, t)
}

/// `f` is linear: the ray and the minimum-norm attack find `|f| / ||grad f||_q` to their
/// line-search tolerance (1e-6), DeepFool one step of `(1 + overshoot)` times it.
#[test]
fn a_linear_network_flips_at_the_dual_norm_prediction() {
    for t in 0..5 {
        let mut net = net("40,30,20", Act::Leaky(1.0), t);
        let x = rng::input(5, t, 40);
        let lin = linearise::<f64, _>(&mut net, &x, Par::Seq);
        // The gradient is the column times 2^log2.
        let g = lin.grad.col(0);
        for norm in NORMS {
            let q = match norm {
                Norm::L2 => radex::vector::norm(g),
                Norm::Linf => g.iter().map(|v| v.abs()).sum(),
            };
            let exact = lin
                .f
                .ratio(Scaled {
                    mant: q,
                    log2: lin.grad.log2[0],
                })
                .abs();
            let (u, t_lin) = lin.steepest(norm);
            assert!(
                (t_lin / exact - 1.0).abs() < 1e-12,
                "{norm}: {t_lin} vs {exact}"
            );
            assert!((norm.of(&u) - 1.0).abs() < 1e-15);
            let nx = radex::vector::norm(&x);
            let ray = ray_flip(&mut net, &x, &lin, norm, Domain::Free, Par::Seq);
            let r = ray.t.unwrap() / exact;
            assert!((1.0..=1.0 + 1e-6).contains(&r), "{norm} ray: {r}");
            let df = deepfool(&mut net, &x, &lin, 0.02, 50, norm, Domain::Free, Par::Seq);
            assert_eq!(df.iterations, 1);
            let r = df.rho.unwrap() * nx / exact;
            assert!((r / 1.02 - 1.0).abs() < 1e-9, "{norm} DeepFool: {r}");
            let s = MinNormSettings::default();
            let mn = minnorm(&mut net, &x, &lin, None, &s, norm, Domain::Free, Par::Seq);
            let r = mn.rho.unwrap() * nx / exact;
            assert!((1.0..=1.0 + 1e-6).contains(&r), "{norm} minnorm: {r}");
        }
    }
}

/// Every PGD iterate stays in its ball (and the box): the reported flips lie within `eps`,
/// flip, and are in `[0, 1]^d` for box inputs, from `x` and from random starts.
#[test]
fn linf_pgd_stays_in_its_ball() {
    let mut flips = 0;
    for (t, domain) in [
        (0, Domain::Free),
        (1, Domain::Box),
        (2, Domain::Free),
        (3, Domain::Box),
    ] {
        let mut net = net("200,200,200", Act::Relu, t);
        let law = if domain == Domain::Box {
            InputLaw::Box
        } else {
            InputLaw::Sphere
        };
        let x = rng::input_of(law, 5, t, 200);
        let nx = norm(&x);
        let lin = linearise::<f64, _>(&mut net, &x, Par::Seq);
        // Budgets from below the linear Linf flip to far above it.
        let linear = lin.steepest(Norm::Linf).1 / nx;
        for random_start in [false, true] {
            let settings = PgdSettings {
                eps: [0.5, 1.0, 2.0, 8.0].map(|c| c * linear).to_vec(),
                steps: 20,
                random_start,
                domain,
                norm: Norm::Linf,
            };
            for run in pgd(&mut net, &x, lin.f, &settings, 5, t, Par::Seq) {
                let Some(p) = run.x_adv else { continue };
                flips += 1;
                let dist = Norm::Linf.distance(&p, &x);
                assert!(
                    dist <= run.eps * nx * (1.0 + 1e-12),
                    "{dist} > {}",
                    run.eps * nx
                );
                assert_eq!(run.rho.unwrap(), dist / nx);
                assert!(f_at(&mut net, &p, 200, Par::Seq)[0].flipped_from(lin.f));
                if domain == Domain::Box {
                    assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
                }
            }
        }
    }
    assert!(flips >= 8, "only {flips} flips: the test checks nothing");
}

/// On relu networks in Linf: the minimum-norm attack reports a verified flip, never `x`, in the
/// box for box inputs, and never farther than the Linf DeepFool or ray flips.
#[test]
fn linf_minnorm_is_verified_and_no_farther_than_deepfool_or_the_ray() {
    let mut improved = 0;
    for t in 0..8 {
        let domain = if t % 2 == 0 {
            Domain::Free
        } else {
            Domain::Box
        };
        let mut net = net("100,100,100", Act::Relu, t);
        let law = if domain == Domain::Box {
            InputLaw::Box
        } else {
            InputLaw::Sphere
        };
        let x = rng::input_of(law, 5, t, 100);
        let nx = norm(&x);
        let lin = linearise::<f64, _>(&mut net, &x, Par::Seq);
        let df = deepfool(&mut net, &x, &lin, 0.02, 50, Norm::Linf, domain, Par::Seq);
        let ray = ray_flip(&mut net, &x, &lin, Norm::Linf, domain, Par::Seq);
        let ray_rho = ray.t.map(|s| {
            let p = domain.point(&x, &lin.steepest(Norm::Linf).0, s);
            Norm::Linf.distance(&p, &x) / nx
        });
        let s = MinNormSettings::default();
        let mn = minnorm(&mut net, &x, &lin, None, &s, Norm::Linf, domain, Par::Seq);
        let p = mn.x_adv.expect("a flip");
        assert!(p != x);
        assert!(f_at(&mut net, &p, 100, Par::Seq)[0].flipped_from(lin.f));
        assert_eq!(mn.rho.unwrap(), Norm::Linf.distance(&p, &x) / nx);
        if domain == Domain::Box {
            assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        let rho = mn.rho.unwrap();
        let df_rho = df.rho.unwrap_or(f64::INFINITY);
        assert!(rho <= df_rho, "trial {t}: {rho} > DeepFool's {df_rho}");
        improved += usize::from(rho < df_rho.min(ray_rho.unwrap_or(f64::INFINITY)));
    }
    eprintln!("Linf minnorm nearer than DeepFool and the ray on {improved} of 8");
}
