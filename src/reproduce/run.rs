//! Runs the plan of `radex reproduce` (MATH 3-7, 9): every experiment validated (flags, memory)
//! before the first starts, then each run in turn with its progress, the claims built from
//! the reports, and the report directory written. The CLI and the Python package both call
//! [`run`]; the CLI prints [`Outcome::text`].

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{Map, Value};

use super::plan::{Experiment, Job, Mode, Plan};
use super::{claims, write};
use crate::error::{Error, Result, human_bytes, invalid};
use crate::experiment::args::RunArgs;
use crate::experiment::runner::Exec;
use crate::experiment::{attack, bottleneck, depth, linearity, minpert, phase, scaling};
use crate::progress::Progress;

/// The arguments of `radex reproduce`.
#[derive(Clone, Debug)]
pub struct ReproduceArgs {
    /// How big the run is.
    pub mode: Mode,
    /// Report directory: created, or replaced if it holds exactly an earlier radex report.
    pub out: PathBuf,
    /// Seed of every experiment.
    pub seed: u64,
    /// Worker threads (0 = all cores). Results are identical for any value.
    pub threads: usize,
    /// Memory limit for the estimates, e.g. `8G` (default: `MemAvailable`).
    pub max_memory: Option<String>,
}

impl Default for ReproduceArgs {
    fn default() -> Self {
        ReproduceArgs {
            mode: Mode::Default,
            out: PathBuf::from("radex-report"),
            seed: 1,
            threads: 0,
            max_memory: None,
        }
    }
}

/// The validated parameters of one job.
enum Prepared {
    Attack(attack::AttackParams, Exec),
    Scaling(scaling::ScalingParams, Exec),
    Linearity(linearity::LinearityParams, Exec),
    Bottleneck(bottleneck::BottleneckParams, Exec),
    Depth(depth::DepthParams, Exec),
    Minpert(minpert::MinPertParams, Exec),
    Phase(phase::PhaseParams, Exec),
}

impl Prepared {
    /// Steps of its progress.
    fn steps(&self) -> u64 {
        (match self {
            Prepared::Attack(p, _) => p.trials,
            Prepared::Scaling(p, _) => p.trials * p.ds.len(),
            Prepared::Linearity(p, _) => p.trials * p.archs.len(),
            Prepared::Bottleneck(p, _) => p.trials,
            Prepared::Depth(p, _) => p.trials * p.depths.len(),
            Prepared::Minpert(p, _) => p.runs * p.ks.len(),
            Prepared::Phase(p, _) => p.trials * p.cells(),
        }) as u64
    }
}

/// The plan of `a`, every job validated with the run's seed, threads and memory limit.
fn prepare(a: &ReproduceArgs) -> Result<(Plan, Vec<Prepared>)> {
    let plan = Plan::of(a.mode);
    let run = RunArgs {
        seed: a.seed,
        threads: a.threads,
        max_memory: a.max_memory.clone(),
        ..RunArgs::default()
    };
    // Only --max-memory (and the machine) can make a planned experiment too large.
    let blame = |job: &Job, e: Error| match e {
        Error::OutOfMemory { estimate, .. } | Error::Unreservable { estimate, .. } => invalid(
            "--max-memory",
            a.max_memory
                .clone()
                .unwrap_or_else(|| "MemAvailable".into()),
            format!(
                "the experiment '{}' needs an estimated {}; raise the limit or leave it out",
                job.command(a.seed),
                human_bytes(estimate)
            ),
        ),
        e => e,
    };
    let prepared = plan
        .jobs()
        .iter()
        .map(|job| {
            let p = match job.experiment.with_run(&run) {
                Experiment::Attack(x) => x.params().map(|(p, e)| Prepared::Attack(p, e)),
                Experiment::Scaling(x) => x.params().map(|(p, e)| Prepared::Scaling(p, e)),
                Experiment::Linearity(x) => x.params().map(|(p, e)| Prepared::Linearity(p, e)),
                Experiment::Bottleneck(x) => x.params().map(|(p, e)| Prepared::Bottleneck(p, e)),
                Experiment::Depth(x) => x.params().map(|(p, e)| Prepared::Depth(p, e)),
                Experiment::Minpert(x) => x.params().map(|(p, e)| Prepared::Minpert(p, e)),
                Experiment::Phase(x) => x.params().map(|(p, e)| Prepared::Phase(p, e)),
            };
            p.map_err(|e| blame(job, e))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((plan, prepared))
}

/// Checks everything before any work: the report directory and every experiment of the plan.
/// Returns the plan's commands, one per line (what `--dry-run` prints).
pub fn check(a: &ReproduceArgs) -> Result<String> {
    write::check_out(&a.out)?;
    let (plan, _) = prepare(a)?;
    Ok(plan
        .jobs()
        .iter()
        .map(|j| format!("{}\n", j.command(a.seed)))
        .collect())
}

/// Every report of a run, by kind.
#[derive(Default)]
struct Reports {
    /// The paper's attack, then the attacks beyond the paper, in the plan's order.
    attacks: Vec<attack::AttackReport>,
    scaling: Option<scaling::ScalingReport>,
    linearity: Option<linearity::LinearityReport>,
    bottleneck: Vec<bottleneck::BottleneckReport>,
    depth: Option<depth::DepthReport>,
    minpert: Option<minpert::MinPertReport>,
    phase: Option<phase::PhaseReport>,
}

fn to_value<S: serde::Serialize>(r: &S) -> Value {
    serde_json::to_value(r).expect("reports serialise")
}

fn execute(prep: &Prepared, progress: &dyn Progress, out: &mut Reports) -> Result<Value> {
    Ok(match prep {
        Prepared::Attack(p, e) => {
            let recs = attack::run_trials(p, e, progress);
            let r = attack::summarise(p, recs, true);
            let v = to_value(&r);
            out.attacks.push(r);
            v
        }
        Prepared::Scaling(p, e) => {
            let r = scaling::run(p, e, progress)?;
            let v = to_value(&r);
            out.scaling = Some(r);
            v
        }
        Prepared::Linearity(p, e) => {
            let r = linearity::run(p, e, progress);
            let v = to_value(&r);
            out.linearity = Some(r);
            v
        }
        Prepared::Bottleneck(p, e) => {
            let r = bottleneck::run(p, e, progress);
            let v = to_value(&r);
            out.bottleneck.push(r);
            v
        }
        Prepared::Depth(p, e) => {
            let r = depth::run(p, e, progress)?;
            let v = to_value(&r);
            out.depth = Some(r);
            v
        }
        Prepared::Minpert(p, e) => {
            let r = minpert::run(p, e, progress);
            let v = to_value(&r);
            out.minpert = Some(r);
            v
        }
        Prepared::Phase(p, e) => {
            let r = phase::run(p, e, progress)?;
            let v = to_value(&r);
            out.phase = Some(r);
            v
        }
    })
}

/// What a run gives.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Where the report went: `out`, or `out-N` when `out` gained files radex did not write
    /// during the run (it is then left as it was).
    pub dir: PathBuf,
    /// Whether every verdict agrees.
    pub all_agree: bool,
    /// Everything `results.json` holds.
    pub results: Value,
    /// The summary the CLI prints.
    pub text: String,
}

/// Runs the whole reproduction and writes the report directory.
///
/// # Errors
/// Bad input (before any work), a figure that cannot be drawn, or a report that cannot be
/// written (then nothing is left behind and `out` is as it was).
pub fn run(a: &ReproduceArgs, progress: &dyn Progress) -> Result<Outcome> {
    write::check_out(&a.out)?;
    let (plan, prepared) = prepare(a)?;
    let jobs = plan.jobs();
    let start = Instant::now();
    let mut reports = Reports::default();
    let mut experiments = Map::new();
    let mut seconds = Map::new();
    let n = jobs.len();
    for (i, (job, prep)) in jobs.iter().zip(&prepared).enumerate() {
        let what = format!("[{}/{n}] {}", i + 1, job.name);
        progress.note(&format!("radex reproduce: {what}: {}", job.command(a.seed)));
        let t = Instant::now();
        progress.start(&what, prep.steps());
        let v = execute(prep, progress, &mut reports)?;
        progress.finish();
        let secs = t.elapsed().as_secs_f64();
        progress.note(&format!("radex reproduce: {what}: done in {secs:.1} s"));
        experiments.insert(job.name.into(), v);
        seconds.insert(job.name.into(), secs.into());
    }
    seconds.insert("total".into(), start.elapsed().as_secs_f64().into());
    let cmd = |j: &Job| j.command(a.seed);
    let (
        [att, tanh, erf, gelu],
        Some(sc),
        Some(lin),
        [wide, narrow],
        Some(dep),
        Some(mp),
        Some(ph),
    ) = (
        reports.attacks.as_slice(),
        &reports.scaling,
        &reports.linearity,
        reports.bottleneck.as_slice(),
        &reports.depth,
        &reports.minpert,
        &reports.phase,
    )
    else {
        unreachable!("the plan runs every experiment once, four attacks and two bottlenecks");
    };
    let bn = (cmd(&plan.bottleneck_wide), cmd(&plan.bottleneck_narrow));
    let plot = |e: crate::report::svg::PlotError| Error::Plot(e.to_string());
    let sections = vec![
        claims::theorem_1_1(att, cmd(&plan.attack)).map_err(plot)?,
        claims::slope(sc, cmd(&plan.scaling)).map_err(plot)?,
        claims::lemma_2_2(att, cmd(&plan.attack)).map_err(plot)?,
        claims::linearity(lin, cmd(&plan.linearity)).map_err(plot)?,
        claims::bottleneck(wide, narrow, bn.clone()).map_err(plot)?,
        claims::lemma_2_5(wide, narrow, bn).map_err(plot)?,
        claims::depth(dep, cmd(&plan.depth)).map_err(plot)?,
        claims::figure_1(mp, cmd(&plan.minpert)).map_err(plot)?,
        claims::beyond_one_step(
            [tanh, erf, gelu],
            [&plan.beyond_tanh, &plan.beyond_erf, &plan.beyond_gelu].map(cmd),
        )
        .map_err(plot)?,
        claims::phase(ph, cmd(&plan.phase)).map_err(plot)?,
    ];
    let all_agree = sections.iter().all(|s| s.agrees);
    let summary = write::summary(&sections);
    let seconds = Value::Object(seconds);
    let experiments = Value::Object(experiments);
    let results = write::Results {
        command: "reproduce",
        version: env!("CARGO_PKG_VERSION"),
        seed: a.seed,
        plan: &plan,
        all_agree,
        seconds: &seconds,
        sections: &sections,
        experiments: &experiments,
    };
    let dir = write::write(&a.out, &results, &summary).map_err(|cause| Error::Io {
        context: format!("could not write the report to '{}'", a.out.display()),
        cause,
    })?;
    if dir != a.out {
        progress.note(&format!(
            "radex reproduce: '{}' gained files radex did not write during the run; the report is in '{}' instead",
            a.out.display(),
            dir.display()
        ));
    }
    let agreeing = sections.iter().filter(|s| s.agrees).count();
    let text = format!(
        "radex reproduce (MATH 3-7, 9; mode {:?}, seed {}, {:.0} s)\n\n{summary}\n{agreeing} of {} \
         claims agree; every verdict agrees: {}. Report: {}/report.md\n",
        a.mode,
        a.seed,
        seconds["total"].as_f64().unwrap_or(f64::NAN),
        sections.len(),
        if all_agree { "yes" } else { "no" },
        dir.display()
    );
    Ok(Outcome {
        dir,
        all_agree,
        results: to_value(&results),
        text,
    })
}
