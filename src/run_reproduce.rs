//! `radex reproduce`: parses each experiment of the plan with the very flags of its subcommand
//! (so the command the report prints is exact), validates all of them before any work, runs
//! them in turn with progress on stderr, builds the claims and writes the report directory.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::{Map, Value};

use crate::cli::{Cli, Command, ReproduceArgs};
use radex::error::{human_bytes, invalid};
use radex::experiment::runner::Exec;
use radex::experiment::{attack, bottleneck, depth, linearity, minpert, scaling};
use radex::progress::Progress;

use crate::bar::Bar;
use radex::reproduce::plan::{Job, Mode, Plan};
use radex::reproduce::{claims, write};

/// The validated parameters of one job.
enum Prepared {
    Attack(attack::AttackParams, Exec),
    Scaling(scaling::ScalingParams, Exec),
    Linearity(linearity::LinearityParams, Exec),
    Bottleneck(bottleneck::BottleneckParams, Exec),
    Depth(depth::DepthParams, Exec),
    Minpert(minpert::MinPertParams, Exec),
}

fn prepare(job: &Job, a: &ReproduceArgs) -> Result<Prepared> {
    let mut argv = vec!["radex".to_string()];
    argv.extend(job.args.iter().cloned());
    argv.extend([
        "--seed".into(),
        a.seed.to_string(),
        "-j".into(),
        a.threads.to_string(),
    ]);
    if let Some(m) = &a.max_memory {
        argv.extend(["--max-memory".into(), m.clone()]);
    }
    let cli = Cli::try_parse_from(&argv)
        .with_context(|| format!("internal plan '{}' does not parse", argv.join(" ")))?;
    // Only --max-memory (and the machine) can make a planned experiment too large.
    let blame = |e: radex::Error| match e {
        radex::Error::OutOfMemory { estimate, .. }
        | radex::Error::Unreservable { estimate, .. } => invalid(
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
    Ok(match &cli.command {
        Command::Attack(c) => {
            let (p, e) = c.params().map_err(blame)?;
            Prepared::Attack(p, e)
        }
        Command::Scaling(c) => {
            let (p, e) = c.params().map_err(blame)?;
            Prepared::Scaling(p, e)
        }
        Command::Linearity(c) => {
            let (p, e) = c.params().map_err(blame)?;
            Prepared::Linearity(p, e)
        }
        Command::Bottleneck(c) => {
            let (p, e) = c.params().map_err(blame)?;
            Prepared::Bottleneck(p, e)
        }
        Command::Depth(c) => {
            let (p, e) = c.params().map_err(blame)?;
            Prepared::Depth(p, e)
        }
        Command::Minpert(c) => {
            let (p, e) = c.params().map_err(blame)?;
            Prepared::Minpert(p, e)
        }
        _ => anyhow::bail!("internal plan '{}' is not an experiment", argv.join(" ")),
    })
}

/// Every report of a run, by kind.
#[derive(Default)]
struct Reports {
    attack: Option<attack::AttackReport>,
    scaling: Option<scaling::ScalingReport>,
    linearity: Option<linearity::LinearityReport>,
    bottleneck: Vec<bottleneck::BottleneckReport>,
    depth: Option<depth::DepthReport>,
    minpert: Option<minpert::MinPertReport>,
}

fn execute(prep: &Prepared, progress: &dyn Progress, out: &mut Reports) -> Result<Value> {
    Ok(match prep {
        Prepared::Attack(p, e) => {
            let recs = attack::run_trials(p, e, progress);
            let r = attack::summarise(p, recs, true);
            let v = serde_json::to_value(&r)?;
            out.attack = Some(r);
            v
        }
        Prepared::Scaling(p, e) => {
            let r = scaling::run(p, e, progress)?;
            let v = serde_json::to_value(&r)?;
            out.scaling = Some(r);
            v
        }
        Prepared::Linearity(p, e) => {
            let r = linearity::run(p, e, progress);
            let v = serde_json::to_value(&r)?;
            out.linearity = Some(r);
            v
        }
        Prepared::Bottleneck(p, e) => {
            let r = bottleneck::run(p, e, progress);
            let v = serde_json::to_value(&r)?;
            out.bottleneck.push(r);
            v
        }
        Prepared::Depth(p, e) => {
            let r = depth::run(p, e, progress)?;
            let v = serde_json::to_value(&r)?;
            out.depth = Some(r);
            v
        }
        Prepared::Minpert(p, e) => {
            let r = minpert::run(p, e, progress);
            let v = serde_json::to_value(&r)?;
            out.minpert = Some(r);
            v
        }
    })
}

fn steps(prep: &Prepared) -> u64 {
    (match prep {
        Prepared::Attack(p, _) => p.trials,
        Prepared::Scaling(p, _) => p.trials * p.ds.len(),
        Prepared::Linearity(p, _) => p.trials * p.archs.len(),
        Prepared::Bottleneck(p, _) => p.trials,
        Prepared::Depth(p, _) => p.trials * p.depths.len(),
        Prepared::Minpert(p, _) => p.runs * p.ks.len(),
    }) as u64
}

/// Runs the whole reproduction; returns whether every verdict agrees.
pub fn run(a: &ReproduceArgs) -> Result<bool> {
    let mode = if a.quick {
        Mode::Quick
    } else if a.full {
        Mode::Full
    } else {
        Mode::Default
    };
    let plan = Plan::of(mode);
    radex::files::check_stdout("--out")?;
    write::check_out(&a.out)?;
    // Every experiment is validated (flags, memory) before the first one starts.
    let jobs = plan.jobs();
    let prepared = jobs
        .iter()
        .map(|j| prepare(j, a))
        .collect::<Result<Vec<_>>>()?;
    if a.dry_run {
        let text: String = jobs
            .iter()
            .map(|j| format!("{}\n", j.command(a.seed)))
            .collect();
        radex::files::write_stdout(text.as_bytes()).context("could not write to stdout")?;
        return Ok(true);
    }
    let start = Instant::now();
    let mut reports = Reports::default();
    let mut experiments = Map::new();
    let mut seconds = Map::new();
    let n = jobs.len();
    let progress = Bar::default();
    for (i, (job, prep)) in jobs.iter().zip(&prepared).enumerate() {
        let what = format!("[{}/{n}] {}", i + 1, job.name);
        progress.note(&format!("radex reproduce: {what}: {}", job.command(a.seed)));
        let t = Instant::now();
        progress.start(&what, steps(prep));
        let v = execute(prep, &progress, &mut reports)?;
        progress.finish();
        let secs = t.elapsed().as_secs_f64();
        progress.note(&format!("radex reproduce: {what}: done in {secs:.1} s"));
        experiments.insert(job.name.into(), v);
        seconds.insert(job.name.into(), secs.into());
    }
    seconds.insert("total".into(), start.elapsed().as_secs_f64().into());
    let cmd = |j: &Job| j.command(a.seed);
    let (Some(att), Some(sc), Some(lin), [wide, narrow], Some(dep), Some(mp)) = (
        &reports.attack,
        &reports.scaling,
        &reports.linearity,
        reports.bottleneck.as_slice(),
        &reports.depth,
        &reports.minpert,
    ) else {
        anyhow::bail!("internal: an experiment of the plan did not run");
    };
    let bn = (cmd(&plan.bottleneck_wide), cmd(&plan.bottleneck_narrow));
    let sections = vec![
        claims::theorem_1_1(att, cmd(&plan.attack))?,
        claims::slope(sc, cmd(&plan.scaling))?,
        claims::lemma_2_2(att, cmd(&plan.attack))?,
        claims::linearity(lin, cmd(&plan.linearity))?,
        claims::bottleneck(wide, narrow, bn.clone())?,
        claims::lemma_2_5(wide, narrow, bn)?,
        claims::depth(dep, cmd(&plan.depth))?,
        claims::figure_1(mp, cmd(&plan.minpert))?,
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
    let dir = write::write(&a.out, &results, &summary)
        .with_context(|| format!("could not write the report to '{}'", a.out.display()))?;
    if dir != a.out {
        eprintln!(
            "radex reproduce: '{}' gained files radex did not write during the run; the report is in '{}' instead",
            a.out.display(),
            dir.display()
        );
    }
    let agreeing = sections.iter().filter(|s| s.agrees).count();
    let text = format!(
        "radex reproduce (MATH 3-7; mode {mode:?}, seed {}, {:.0} s)\n\n{summary}\n{agreeing} of {} \
         claims agree; every verdict agrees: {}. Report: {}/report.md\n",
        a.seed,
        seconds["total"].as_f64().unwrap_or(f64::NAN),
        sections.len(),
        if all_agree { "yes" } else { "no" },
        dir.display()
    );
    radex::files::write_stdout(text.as_bytes()).context("could not write to stdout")?;
    Ok(all_agree)
}
