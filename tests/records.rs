//! Issue 12: every record reads back what it writes. Each report of a small run is written as
//! JSON, read back into its type and written again: the same text (missing values, `null`,
//! read back as `NaN`; PGD flags as `"0101"`; attack names as enums).

use radex::attack::Attacks;
use radex::experiment::args::{
    AttackArgs, BottleneckArgs, DepthArgs, LinearityArgs, MinPertArgs, RunArgs, ScalingArgs,
};
use radex::experiment::attack::{self, AttackReport};
use radex::experiment::bottleneck::{self, BottleneckReport};
use radex::experiment::depth::{self, DepthReport};
use radex::experiment::linearity::{self, LinearityReport};
use radex::experiment::minpert::{self, MinPertReport};
use radex::experiment::scaling::{self, ScalingReport};
use radex::export_net::Manifest;
use radex::progress::Quiet;
use radex::record::to_json;

fn round_trip<R: serde::Serialize + serde::de::DeserializeOwned>(report: &R) -> String {
    let text = to_json(report);
    let back: R = serde_json::from_str(&text).expect("reads back");
    let again = to_json(&back);
    if again != text {
        let (a, b): (Vec<&str>, Vec<&str>) = (text.lines().collect(), again.lines().collect());
        let first = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        panic!(
            "differs after a round trip at line {first}: {:?} became {:?}",
            a.get(first),
            b.get(first)
        );
    }
    text
}

fn run(seed: u64) -> RunArgs {
    RunArgs {
        seed,
        ..RunArgs::default()
    }
}

#[test]
fn every_report_round_trips_through_json() {
    // Width 2: a quarter of the networks dead, so NaN and missing values appear.
    for arch in ["10,2", "60,40,40"] {
        let (p, e) = AttackArgs {
            arch: arch.into(),
            trials: 30,
            attack: Attacks::EVERY,
            eps: Some("0.1,0.3".into()),
            pgd_steps: 3,
            run: run(5),
            ..Default::default()
        }
        .params()
        .unwrap();
        let recs = attack::run_trials(&p, &e, &Quiet);
        let text = round_trip::<AttackReport>(&attack::summarise(&p, recs, true));
        assert!(text.contains("\"pgd_success\": \""));
        assert!(text.contains("\"best_attack\": \""));
    }
    let (p, e) = ScalingArgs {
        ds: "16,32".into(),
        trials: 10,
        bootstrap: 20,
        ..Default::default()
    }
    .params()
    .unwrap();
    round_trip::<ScalingReport>(&scaling::run(&p, &e, &Quiet).unwrap());
    let (p, e) = LinearityArgs {
        arch: vec!["40,30,30".into(), "2,2".into()],
        radii: Some("0.01,0.1".into()),
        trials: 2,
        directions: 2,
        ..Default::default()
    }
    .params()
    .unwrap();
    round_trip::<LinearityReport>(&linearity::run(&p, &e, &Quiet));
    let (p, e) = BottleneckArgs {
        arch: "60,60,10,60".into(),
        trials: 2,
        samples: 3,
        ..Default::default()
    }
    .params()
    .unwrap();
    round_trip::<BottleneckReport>(&bottleneck::run(&p, &e, &Quiet));
    let (p, e) = DepthArgs {
        width: 8,
        depths: Some("1,4".into()),
        trials: 3,
        pairs: 2,
        ..Default::default()
    }
    .params()
    .unwrap();
    round_trip::<DepthReport>(&depth::run(&p, &e, &Quiet).unwrap());
    let (p, e) = MinPertArgs {
        d: 40,
        ks: "5,40,60".into(),
        runs: 1,
        ..Default::default()
    }
    .params()
    .unwrap();
    round_trip::<MinPertReport>(&minpert::run(&p, &e, &Quiet));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let p = radex::experiment::args::ExportArgs {
        arch: "20,10".into(),
        ..Default::default()
    }
    .params()
    .unwrap();
    let (_, m) = radex::export_net::export(&p, &out).unwrap();
    let text = round_trip::<Manifest>(&m);
    assert_eq!(
        text,
        std::fs::read_to_string(out.join("manifest.json")).unwrap()
    );
}

/// Issue 12: parameters built by hand, without the validated arguments, give empty results,
/// never a panic (`directions: 0` used to reach `v[0]`).
#[test]
fn degenerate_hand_built_parameters_do_not_panic() {
    use radex::arch::{Arch, Init};
    use radex::experiment::linearity::LinearityParams;
    use radex::experiment::runner::Exec;
    use radex::net::{SamplerChoice, Source};
    use radex::scalar::Precision;
    let p = LinearityParams {
        archs: vec![Arch::new(20, vec![10], Init::Nn).unwrap()],
        radii: vec![0.1],
        directions: 0,
        trials: 2,
        seed: 1,
        threshold: 0.5,
        precision: Precision::F64,
        sampler: SamplerChoice::Dense,
        source: Source::Sampled,
        input: Default::default(),
        inputs: None,
    };
    let r = linearity::run(&p, &Exec::new(1, None), &Quiet);
    assert_eq!(r.archs.len(), 1);
}
