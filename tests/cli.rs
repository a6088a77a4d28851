//! The built binary: bad input, determinism across thread counts, output formats.

use assert_cmd::Command;
use predicates::prelude::*;

/// The built binary.
pub fn radex() -> Command {
    Command::cargo_bin("radex").unwrap()
}

/// Runs radex with `args`, expects exit code 2 and a one-line error naming `flag` and `needle`.
pub fn rejects(args: &[&str], flag: &str, needle: &str) {
    let out = radex().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {err}");
    assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
    assert!(
        err.contains(flag) && err.contains(needle),
        "{args:?}: {err}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
}

#[test]
fn bad_input_is_rejected_before_work() {
    rejects(
        &["attack", "--arch", "100"],
        "--arch",
        "at least one hidden",
    );
    rejects(&["attack", "--arch", "100,0,10"], "--arch", "width >= 1");
    rejects(
        &["attack", "--arch", "100,abc"],
        "--arch",
        "expected a positive integer",
    );
    rejects(&["attack", "--arch", "100,,10"], "--arch", "empty entry");
    rejects(
        &["attack", "--arch", "2.5,10"],
        "--arch",
        "expected a positive integer",
    );
    rejects(&["attack", "--arch", "d,d"], "--arch", "input dimension");
    rejects(&["attack", "--arch", "100,d^x"], "--arch", "exponent");
    rejects(&["attack", "--trials", "0"], "--trials", "at least 1 trial");
    rejects(&["attack", "--arch", "32,32x0"], "--arch", "repeat count");
    rejects(
        &["attack", "--trials", "100000000000000"],
        "--trials",
        "use a smaller '--trials'",
    );
    rejects(&["attack", "--max-memory", "8X"], "--max-memory", "unit");
    // 10^6 x 10^6 f64 weights: 8 TB, beyond any MemAvailable.
    rejects(
        &["attack", "--arch", "1000000,1000000", "--sampler", "dense"],
        "--arch",
        "MemAvailable",
    );
    rejects(
        &[
            "attack",
            "--arch",
            "1000,1000",
            "--max-memory",
            "1M",
            "--sampler",
            "dense",
        ],
        "--arch",
        "--max-memory",
    );
    rejects(&["scaling", "--ds", "100"], "--ds", "two distinct");
    rejects(&["scaling", "--ds", "100,x"], "--ds", "positive integers");
    rejects(&["scaling", "--arch", "100,d"], "--arch", "expected 'd'");
    rejects(&["scaling", "--widths", "d,0"], "--widths", "width >= 1");
    // clap's own errors also exit 2.
    let out = radex()
        .args(["attack", "--init", "xavier"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn memory_error_names_estimate_and_available() {
    // (2,001,000 weights + 16 line-search columns x (3,000 units + 3 x 1,000 work)) x 8 bytes
    // + 4 f64 vectors of d + 100 records x 1 KiB = 16,910,400 B = 16.13 MiB.
    radex()
        .args([
            "attack",
            "--arch",
            "1000,1000,1000",
            "--max-memory",
            "10M",
            "--sampler",
            "dense",
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("estimated peak memory 16.13 MiB")
                .and(predicate::str::contains("10.00 MiB available")),
        );
}

#[test]
fn bad_output_path_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/out.json");
    rejects(
        &[
            "attack",
            "--arch",
            "50,50",
            "--trials",
            "2",
            "--out",
            missing.to_str().unwrap(),
        ],
        "--out",
        "does not exist",
    );
    let bad = dir.path().join("x.json");
    rejects(
        &["attack", "--arch", "50,0", "--out", bad.to_str().unwrap()],
        "--arch",
        "width",
    );
    assert!(!bad.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "stray files left"
    );
}

#[test]
fn same_bytes_on_one_and_two_threads() {
    let run = |j: &str| {
        radex()
            .args([
                "attack",
                "--arch",
                "400,400,d/2",
                "--trials",
                "16",
                "--seed",
                "5",
                "--format",
                "json",
                "--per-trial",
                "--attack",
                "ray",
                "-j",
                j,
            ])
            .output()
            .unwrap()
    };
    let a = run("1");
    let b = run("2");
    assert!(a.status.success());
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
    let run_s = |j: &str| {
        radex()
            .args([
                "scaling", "--ds", "64,128", "--trials", "10", "--format", "csv", "-j", j,
            ])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run_s("1"), run_s("2"));
}

#[test]
fn json_has_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attack.json");
    radex()
        .args([
            "attack",
            "--arch",
            "200,200",
            "--trials",
            "20",
            "--seed",
            "9",
            "--format",
            "json",
            "--per-trial",
            "--out",
            path.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["arch"], "200,200");
    assert_eq!(v["init"], "nn");
    assert_eq!(v["seed"], 9);
    assert_eq!(v["trials"], 20);
    assert!(v["dead"].is_u64());
    let rate = v["success_rate"].as_f64().unwrap();
    let ci = v["success_ci"].as_array().unwrap();
    assert_eq!(ci.len(), 2);
    assert!(ci[0].as_f64().unwrap() <= rate && rate <= ci[1].as_f64().unwrap());
    for k in ["median", "mean", "p10", "p90"] {
        assert!(v["rho_sqrt_d"][k].is_f64(), "rho_sqrt_d.{k}");
    }
    assert!((v["prediction"]["rho_sqrt_d_median"].as_f64().unwrap() - 1.349).abs() < 1e-3);
    let per = v["per_trial"].as_array().unwrap();
    assert_eq!(per.len(), 20);
    for k in ["seed", "trial", "f", "grad_norm", "rho", "f_adv", "success"] {
        assert!(!per[0][k].is_null(), "per_trial.{k}");
    }
    // Every reported success is a verified sign flip.
    for t in per {
        if t["success"].as_bool().unwrap() {
            assert!(t["f"].as_f64().unwrap() * t["f_adv"].as_f64().unwrap() < 0.0);
        }
    }

    let out = radex()
        .args([
            "scaling",
            "--ds",
            "64,128,256",
            "--arch",
            "d,2d",
            "--trials",
            "20",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["slope"].is_f64());
    assert_eq!(v["slope_ci"].as_array().unwrap().len(), 2);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["d"], 256);
    assert_eq!(rows[2]["arch"], "256,512");
    assert!(rows[0]["median_rho"].is_f64() && rows[0]["success_rate"].is_f64());
}

#[test]
fn csv_per_trial_has_one_row_per_trial() {
    let out = radex()
        .args([
            "attack",
            "--arch",
            "100,100",
            "--trials",
            "7",
            "--format",
            "csv",
            "--per-trial",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("seed,trial,dead,f,"));
    assert_eq!(lines.count(), 7);
}

#[test]
fn table_prints_measurements_beside_predictions() {
    radex()
        .args([
            "attack",
            "--arch",
            "300,300",
            "--trials",
            "10",
            "--precision",
            "f32",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("rho*sqrt(d) median")
                .and(predicate::str::contains("1.349"))
                .and(predicate::str::contains("MATH 3")),
        );
}

#[test]
fn depth_ten_thousand_through_the_cli_is_finite() {
    let v = json(&[
        "attack",
        "--arch",
        "32,32x10000",
        "--trials",
        "3",
        "--format",
        "json",
        "--per-trial",
    ]);
    assert_eq!(v["depth"], 10_000);
    for t in v["per_trial"].as_array().unwrap() {
        if !t["dead"].as_bool().unwrap() {
            // f ~ 2^{-5000} underflows f64, but its logarithm and every ratio are finite.
            assert!(t["log2_abs_f"].as_f64().unwrap() < -4000.0);
            assert!(t["rho"].as_f64().unwrap().is_finite());
            assert!(t["f_ratio"].as_f64().unwrap().is_finite());
        }
    }
}

/// Runs radex with `args`, expects success and returns its JSON output.
pub fn json(args: &[&str]) -> serde_json::Value {
    let out = radex().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn attack_all_reports_every_attack_on_the_same_pairs() {
    let v = json(&[
        "attack",
        "--arch",
        "300,300,300",
        "--trials",
        "12",
        "--attack",
        "all",
        "--format",
        "json",
        "--per-trial",
        "--eps",
        "0.01,0.05,0.2",
    ]);
    let names: Vec<&str> = v["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["onestep", "ray", "deepfool", "pgd", "minnorm"]);
    for a in v["attacks"].as_array().unwrap() {
        assert!(a["success_rate"].is_f64() && a["success_ci"].as_array().unwrap().len() == 2);
        for k in ["median", "mean", "p10", "p90"] {
            assert!(a["rel_pert"][k].is_number() || a["rel_pert"][k].is_null());
        }
    }
    let curve = v["pgd_curve"].as_array().unwrap();
    assert_eq!(curve.len(), 3);
    assert!(curve[0]["eps"].as_f64().unwrap() < curve[2]["eps"].as_f64().unwrap());
    assert!(v["best"]["found"].as_u64().unwrap() <= 12);
    for t in v["per_trial"].as_array().unwrap() {
        let best = t["best_rho"].as_f64();
        for k in ["ray_rho", "deepfool_rho", "pgd_rho", "minnorm_rho"] {
            if let (Some(b), Some(r)) = (best, t[k].as_f64()) {
                assert!(b <= r, "best {b} above {k} {r}");
            }
        }
        // The walk starts from DeepFool's flip, so it is never farther.
        let mn = t["minnorm_rho"].as_f64().expect("every pair flips here");
        let df = t["deepfool_rho"]
            .as_f64()
            .expect("DeepFool flips every pair here");
        assert!(mn <= df, "minnorm {mn} above DeepFool's {df}");
        assert_eq!(t["pgd_success"].as_str().unwrap().len(), 3);
    }
}

/// `--attack minnorm` alone finds its start as `all` gives it (DeepFool's flip, else the ray's,
/// else PGD's, with the same settings), so it reports the same flips bit for bit.
#[test]
fn minnorm_alone_gives_the_flips_it_gives_among_all_attacks() {
    let run = |attack: &str| {
        json(&[
            "attack",
            "--arch",
            "200,150,150",
            "--trials",
            "6",
            "--attack",
            attack,
            "--sampler",
            "dense",
            "--format",
            "json",
            "--per-trial",
        ])
    };
    let (alone, all) = (run("minnorm"), run("all"));
    assert_eq!(alone["attacks"][1]["name"], "minnorm");
    for (a, b) in alone["per_trial"]
        .as_array()
        .unwrap()
        .iter()
        .zip(all["per_trial"].as_array().unwrap())
    {
        assert!(a["minnorm_rho"].is_f64());
        assert_eq!(a["minnorm_rho"], b["minnorm_rho"]);
        assert_eq!(a["minnorm_iterations"], b["minnorm_iterations"]);
        assert!(a["deepfool_rho"].is_null() && a["ray_rho"].is_null());
    }
}

/// Deep networks (issue 14): where neither DeepFool nor the ray flips, the walk starts from
/// PGD's flip (run for it even when not reported), so it flips wherever any attack does, alone
/// as among all attacks.
#[test]
fn minnorm_flips_wherever_any_attack_does_at_depth_50() {
    let run = |attack: &str| {
        json(&[
            "attack",
            "--arch",
            "64,64x50",
            "--trials",
            "30",
            "--seed",
            "1",
            "--attack",
            attack,
            "--format",
            "json",
            "--per-trial",
        ])
    };
    let (alone, all) = (run("minnorm"), run("all"));
    let (mut flipped, mut only_pgd) = (0, 0);
    for (a, b) in alone["per_trial"]
        .as_array()
        .unwrap()
        .iter()
        .zip(all["per_trial"].as_array().unwrap())
    {
        assert_eq!(a["minnorm_rho"], b["minnorm_rho"]);
        assert!(
            a["pgd_rho"].is_null(),
            "PGD is not reported when not asked for"
        );
        let others = ["onestep", "ray", "deepfool", "pgd"].map(|k| {
            let rho = if k == "onestep" {
                b["success"]
                    .as_bool()
                    .unwrap()
                    .then(|| b["rho"].as_f64().unwrap())
            } else {
                b[format!("{k}_rho")].as_f64()
            };
            rho.unwrap_or(f64::INFINITY)
        });
        if others.iter().any(|r| r.is_finite()) {
            let mn = b["minnorm_rho"]
                .as_f64()
                .expect("minnorm flips where another attack does");
            // Never farther than its start: DeepFool's flip, else the ray's, else PGD's.
            let by_pgd = others[1..3].iter().all(|r| r.is_infinite());
            let start = [others[2], others[1], others[3]]
                .into_iter()
                .find(|r| r.is_finite())
                .unwrap();
            assert!(mn <= start, "trial {}: {mn} > {start}", b["trial"]);
            flipped += 1;
            only_pgd += usize::from(by_pgd);
        }
    }
    // The sample has flips, and one that only PGD finds among the other attacks.
    assert!(
        flipped >= 5 && only_pgd >= 1,
        "{flipped} flipped, {only_pgd} by PGD alone"
    );
}

/// `--norm linf` (MATH 3, "other norms") on the pairs of the L2 run: the one-step attack (L2
/// in both) is the same bit for bit; the linear predictions differ by `||g||_1 / ||g||_2`,
/// between 1 and `sqrt(d)` (Cauchy-Schwarz); the minimum-norm flip is never farther than its
/// start (DeepFool's flip); the best flip is a Linf attack's.
#[test]
fn linf_attacks_on_the_pairs_of_the_l2_run() {
    let run = |norm: &str| {
        json(&[
            "attack",
            "--arch",
            "300,300,300",
            "--trials",
            "8",
            "--attack",
            "all",
            "--norm",
            norm,
            "--sampler",
            "dense",
            "--format",
            "json",
            "--per-trial",
        ])
    };
    let (l2, linf) = (run("l2"), run("linf"));
    assert_eq!(
        (l2["norm"].as_str(), linf["norm"].as_str()),
        (Some("l2"), Some("linf"))
    );
    let d = 300f64;
    for (a, b) in l2["per_trial"]
        .as_array()
        .unwrap()
        .iter()
        .zip(linf["per_trial"].as_array().unwrap())
    {
        assert_eq!(a["rho"], b["rho"]);
        assert_eq!(a["success"], b["success"]);
        let ratio = a["linear_rho"].as_f64().unwrap() / b["linear_rho"].as_f64().unwrap();
        assert!((1.0..=d.sqrt()).contains(&ratio), "{ratio}");
        let of = |k: &str| b[k].as_f64().unwrap_or(f64::INFINITY);
        let mn = b["minnorm_rho"].as_f64().unwrap();
        assert!(mn <= of("deepfool_rho"));
        assert_ne!(b["best_attack"], "onestep");
        assert_eq!(
            b["best_rho"].as_f64().unwrap(),
            mn.min(of("pgd_rho"))
                .min(of("deepfool_rho"))
                .min(of("ray_rho"))
        );
    }
    for block in linf["attacks"].as_array().unwrap() {
        let name = block["name"].as_str().unwrap();
        if name == "onestep" {
            assert!(block["over_linear"].is_null());
            continue;
        }
        // The mean of rho / linear_rho over the flips, from the per-trial records.
        let ratios: Vec<f64> = linf["per_trial"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| Some(t[format!("{name}_rho")].as_f64()? / t["linear_rho"].as_f64()?))
            .collect();
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        let reported = block["over_linear"]["mean"].as_f64().unwrap();
        assert!(
            (reported - mean).abs() <= 1e-12 * mean,
            "{name}: {reported} vs {mean}"
        );
    }
}

#[test]
fn linearity_json_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("lin.svg");
    let v = json(&[
        "linearity",
        "--arch",
        "200,200,200",
        "--arch",
        "200,200,20,200",
        "--trials",
        "3",
        "--radii",
        "0.001,0.01,0.1,1",
        "--directions",
        "4",
        "--format",
        "json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(v["command"], "linearity");
    let archs = v["archs"].as_array().unwrap();
    assert_eq!(archs.len(), 2);
    assert_eq!(archs[1]["arch"], "200,200,20,200");
    let rows = archs[0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        assert!(row["decomp_residual"].as_f64().unwrap() < 1e-10);
        assert_eq!(row["attack_terms"].as_array().unwrap().len(), 2);
        assert_eq!(row["flipped"].as_array().unwrap().len(), 2);
        for k in ["mean_change", "max_change", "attack_change"] {
            assert!(row[k]["median"].is_f64(), "{k}");
        }
    }
    let radius = archs[0]["linearity_radius"]["median"].as_f64().unwrap();
    assert!(radius > 0.0 && radius <= 4.0);
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("<svg") && svg.contains("200,200,20,200"));
}

#[test]
fn bottleneck_json_and_csv() {
    let v = json(&[
        "bottleneck",
        "--arch",
        "300,300,20,300",
        "--trials",
        "2",
        "--format",
        "json",
    ]);
    assert_eq!(v["segments"], serde_json::json!([0, 2]));
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    assert_eq!(layers[2]["bottleneck"], 2);
    assert_eq!(layers[2]["bottleneck_width"], 20);
    for k in [
        "top_singular",
        "sampled_max",
        "random_expansion",
        "small_fraction",
        "h_norm",
    ] {
        assert!(layers[2][k]["median"].is_f64(), "{k}");
    }
    let out = radex()
        .args([
            "bottleneck",
            "--arch",
            "300,300,20,300",
            "--trials",
            "2",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("layer,width,bottleneck,bottleneck_width,"));
    assert_eq!(text.lines().count(), 4);
}

#[test]
fn neighbourhood_flags_are_validated() {
    rejects(&["attack", "--eps", "0.1,-2"], "--eps", "positive");
    rejects(&["attack", "--overshoot", "nan"], "--overshoot", "finite");
    rejects(&["attack", "--max-iter", "0"], "--max-iter", "at least 1");
    rejects(&["linearity", "--radii", "0.1,x"], "--radii", "positive");
    rejects(
        &["linearity", "--directions", "0"],
        "--directions",
        "at least 1",
    );
    rejects(
        &["linearity", "--plot", "/no/such/dir/p.svg"],
        "--plot",
        "does not exist",
    );
    rejects(&["bottleneck", "--radius", "0"], "--radius", "positive");
    rejects(&["bottleneck", "--arch", "100,0"], "--arch", "width >= 1");
}

#[test]
fn minpert_json_and_figure() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("fig1.svg");
    let v = json(&[
        "minpert",
        "--d",
        "300",
        "--ks",
        "3,30,300,600",
        "--runs",
        "4",
        "--method",
        "qr",
        "--format",
        "json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        for k in [
            "k",
            "mean",
            "sd",
            "runs",
            "sqrt_k_over_d",
            "beta_expectation",
        ] {
            assert!(row[k].is_number(), "{k}");
        }
    }
    assert!((rows[3]["mean"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("<svg") && svg.contains("sqrt(min(k,d)/d)"));
    rejects(&["minpert", "--ks", "10,0"], "--ks", "positive integers");
    rejects(&["minpert", "--runs", "0"], "--runs", "at least 1 run");
}

#[test]
fn sampler_flag_runs_every_experiment_lazily_and_is_recorded() {
    let v = json(&[
        "attack",
        "--sampler",
        "lazy",
        "--attack",
        "all",
        "--arch",
        "80,60,60",
        "--trials",
        "4",
        "--format",
        "json",
    ]);
    assert_eq!(v["sampler"], "lazy");
    assert_eq!(v["attacks"].as_array().unwrap().len(), 5);
    assert!(v["live"].as_u64().unwrap() >= 3);
    let v = json(&[
        "scaling",
        "--sampler",
        "lazy",
        "--ds",
        "64,128",
        "--trials",
        "8",
        "--format",
        "json",
    ]);
    for row in v["rows"].as_array().unwrap() {
        assert_eq!(row["sampler"], "lazy");
    }
    let v = json(&[
        "linearity",
        "--sampler",
        "lazy",
        "--arch",
        "50,40,40",
        "--trials",
        "2",
        "--directions",
        "3",
        "--radii",
        "0.01,0.1",
        "--format",
        "json",
    ]);
    assert_eq!(v["archs"][0]["sampler"], "lazy");
    assert_eq!(v["archs"][0]["rows"].as_array().unwrap().len(), 2);
    // The default: the dense sampler for a small network asked many PGD queries.
    let v = json(&[
        "attack", "--attack", "pgd", "--arch", "40,40,40", "--trials", "2", "--format", "json",
    ]);
    assert_eq!(v["sampler"], "dense");
}

#[test]
fn auto_sampler_goes_lazy_for_the_one_step_attack_on_wide_networks() {
    // The cost model alone decides (a few queries per 3000-wide layer: lazy), so the run fits
    // in 50 MiB where dense weights (144 MB) would not.
    let v = json(&[
        "attack",
        "--arch",
        "3000,3000,3000",
        "--trials",
        "2",
        "--max-memory",
        "50M",
        "--format",
        "json",
    ]);
    assert_eq!(v["sampler"], "lazy");
    // A dense layer of 10^14 entries is refused before any work, naming the estimate.
    rejects(
        &[
            "attack",
            "--arch",
            "10000000,10000000",
            "--sampler",
            "dense",
        ],
        "--arch",
        "estimated peak memory",
    );
}

#[test]
fn bad_sampler_is_rejected() {
    let out = radex()
        .args(["attack", "--sampler", "sparse"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value 'sparse'") && err.contains("--sampler"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn lazy_sampler_gives_the_same_bytes_on_one_and_two_threads() {
    let run = |j: &str| {
        let out = radex()
            .args([
                "attack",
                "--sampler",
                "lazy",
                "--attack",
                "all",
                "--arch",
                "9000,200,200",
                "--trials",
                "6",
                "--seed",
                "5",
                "--format",
                "json",
                "--per-trial",
                "-j",
                j,
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    assert_eq!(run("1"), run("2"));
}
