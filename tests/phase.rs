//! `radex phase` (MATH 9, depth generalised): the ordered phase becomes nearly constant at
//! depth and the chaotic phase stays sensitive, measured; a cell's numbers do not depend on
//! the grid it is in nor on the thread count; bad input is refused in one line.

use crate::cli::{radex, rejects};
use radex::act::Act;
use radex::experiment::depth::predicted_cosines;
use radex::experiment::phase::{PhaseParams, run};
use radex::experiment::runner::Exec;
use radex::infinite_width::{Phase, critical_sigma_w2};
use radex::progress::Quiet;
use radex::scalar::Precision;

fn params(sigma_w2: Vec<f64>, sigma_b: Vec<f64>, depth: usize, width: usize) -> PhaseParams {
    PhaseParams {
        act: Act::Tanh,
        sigma_w2,
        sigma_b,
        depth,
        width,
        d: width,
        trials: 8,
        seed: 5,
        precision: Precision::F64,
    }
}

/// tanh with `sigma_b = 0.3` (critical `sigma_w^2` 1.95) at depth 32: `sigma_w^2 = 0.75`
/// (`chi_1` 0.57) against 4 (`chi_1` 1.33). The comparisons are between the two cells'
/// distributions over networks (10th and 90th percentiles), so the tolerance is their spread.
/// In the chaotic cell the one-step step succeeds only about half the time at this depth (the
/// function is rough at the step's scale), but verified flips far smaller than `||x|| /
/// sqrt(d)` exist: sensitivity is measured by the smallest flip.
#[test]
fn the_ordered_phase_is_nearly_constant_and_the_chaotic_phase_stays_sensitive() {
    let p = params(vec![0.75, 4.0], vec![0.3], 32, 64);
    let r = run(&p, &Exec::new(0, None), &Quiet).unwrap();
    let (ord, cha) = (&r.cells[0], &r.cells[1]);
    assert!(
        matches!(ord.phase, Some(Phase::Ordered { .. })),
        "{:?}",
        ord.phase
    );
    let Some(Phase::Chaotic { c_star, .. }) = cha.phase else {
        panic!("{:?}", cha.phase)
    };
    assert_eq!(ord.row.live + cha.row.live, 16);
    // Ordered: the pair at 90 degrees has merged (kernel: 1 - 3e-8), f is nearly constant.
    assert!(ord.row.kappa > 1.0 - 1e-6);
    assert!(1.0 - ord.row.cosine.p10 < 1e-3, "{:?}", ord.row.cosine);
    // Chaotic: the cosine stays near its fixed point below 1 (the post-activation cosine at
    // the pre-activation correlation c*; at depth 32 within 0.002 of its value at 64).
    let fam = p.family(4.0, 0.3);
    let deeper = predicted_cosines(&fam, std::f64::consts::FRAC_PI_2.cos(), 64)[63];
    assert!(
        (cha.row.kappa - deeper).abs() < 0.01,
        "{} vs {deeper}",
        cha.row.kappa
    );
    assert!(cha.row.kappa < c_star && c_star < 1.0);
    assert!(cha.row.cosine.p90 < 0.9, "{:?}", cha.row.cosine);
    assert!(ord.row.cosine.p10 > cha.row.cosine.p90);
    // Spread of f over 16 inputs: every ordered quantile below every chaotic one.
    assert!(
        ord.row.spread.p90 < cha.row.spread.p10,
        "{:?} vs {:?}",
        ord.row.spread,
        cha.row.spread
    );
    assert!(ord.row.spread.median < 0.05, "{:?}", ord.row.spread);
    // Flips: found in most chaotic networks, small; rare or ten times larger when ordered.
    let small = cha.row.min_flip_median_all.expect("chaotic flips");
    assert!(
        small * 8.0 < 1.0,
        "median flip {small} sqrt(d) {}",
        small * 8.0
    );
    assert!(ord.row.min_flip_median_all.is_none_or(|o| o > 10.0 * small));
    assert!(ord.row.onestep_success_rate <= 0.125);
    // The critical curve is the kernel's.
    assert_eq!(r.critical[0].sigma_w2, critical_sigma_w2(Act::Tanh, 0.3));
    let crit = r.critical[0].sigma_w2.unwrap();
    assert!(0.75 < crit && crit < 4.0);
}

/// A cell's seed is derived from the run's seed and the cell's own values.
#[test]
fn a_cell_does_not_depend_on_the_grid_it_is_in() {
    let exec = Exec::new(1, None);
    let a = run(&params(vec![1.0, 3.0], vec![0.2], 4, 16), &exec, &Quiet).unwrap();
    let b = run(&params(vec![3.0], vec![0.0, 0.2], 4, 16), &exec, &Quiet).unwrap();
    let x = serde_json::to_value(&a.cells[1]).unwrap();
    let y = serde_json::to_value(&b.cells[1]).unwrap();
    assert_eq!(x["sigma_w2"], 3.0);
    assert_eq!(x, y);
}

const SMALL: [&str; 12] = [
    "phase",
    "--sigma-w2",
    "1,3",
    "--sigma-b",
    "0,0.5",
    "--depth",
    "4",
    "--width",
    "16",
    "--trials",
    "3",
    "--seed=2",
];

#[test]
fn phase_cli_json_csv_plot_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("phase.svg");
    let one = radex()
        .args(SMALL)
        .args(["--format", "json", "-j", "1", "--plot"])
        .arg(&plot)
        .output()
        .unwrap();
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let two = radex()
        .args(SMALL)
        .args(["--format", "json", "-j", "2"])
        .output()
        .unwrap();
    assert_eq!(one.stdout, two.stdout, "-j1 and -j2 differ");
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(v["command"], "phase");
    assert!(v["math"].as_str().unwrap().contains("MATH 9"));
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    // sigma_b outer, both ascending.
    let at: Vec<(f64, f64)> = cells
        .iter()
        .map(|c| {
            (
                c["sigma_b"].as_f64().unwrap(),
                c["sigma_w2"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(at, vec![(0.0, 1.0), (0.0, 3.0), (0.5, 1.0), (0.5, 3.0)]);
    for c in cells {
        assert!(c["phase"]["phase"].is_string());
        assert!(c["onestep_success_rate"].is_number());
        assert_eq!(c["depth"], 4);
    }
    assert_eq!(v["critical"].as_array().unwrap().len(), 2);

    let svg = std::fs::read_to_string(&plot).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    assert!(texts.iter().any(|t| t.contains("MATH 9")), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("sigma_w^2")));
    assert!(texts.iter().any(|t| t.starts_with("sigma_b")));
    assert!(texts.iter().any(|t| t.starts_with("chi_1 = 1")));
    // Two panels of 4 cells, two colour bars of 64 steps.
    let rects = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
    assert!(rects >= 2 * 4 + 2 * 64, "{rects} rects");
    assert!(doc.descendants().any(|n| n.has_tag_name("polyline")));

    let csv = radex()
        .args(SMALL)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(text.starts_with("sigma_w2,sigma_b,phase,chi_1"), "{text}");
    let table = radex().args(SMALL).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("critical sigma_w2 (chi_1 = 1)"), "{text}");
}

#[test]
fn phase_flags_are_validated() {
    rejects(&["phase", "--act", "relu"], "--act", "tanh or erf");
    rejects(&["phase", "--sigma-w2", "0,1"], "--sigma-w2", "positive");
    rejects(&["phase", "--sigma-b", "-1"], "--sigma-b", ">= 0");
    rejects(
        &["phase", "--sigma-b", "0.1,0.10"],
        "--sigma-b",
        "same value",
    );
    rejects(&["phase", "--depth", "0"], "--depth", "at least 1");
    rejects(&["phase", "--width", "0"], "--width", "at least 1");
    rejects(&["phase", "--trials", "0"], "--trials", "at least 1");
    rejects(
        &["phase", "--width", "100000", "--depth", "1000"],
        "--depth",
        "memory",
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.svg");
    let p = p.to_str().unwrap();
    rejects(&["phase", "--plot", p, "--out", p], "--plot", "");
}
