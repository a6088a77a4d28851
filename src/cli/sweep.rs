//! `radex sweep`: the front end of `radex::sweep`. A grid point is parsed as the
//! command line `radex <experiment> <args>` by the same clap definitions, so a point means
//! exactly what that command means, and validated by the same library constructors.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::args::{Cli, Command, SweepCommand};
use crate::bar::Bar;
use radex::experiment::runner::Exec;
use radex::files;
use radex::report::Format;
use radex::sweep::Error;
use radex::sweep::dir::{self, Event};
use radex::sweep::job::Job;
use radex::sweep::{render, slurm};

/// A refusal before any work: the message on one line, exit code 2.
fn refuse(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("radex: error: {message}");
    ExitCode::from(2)
}

/// The job of `radex <experiment> <args>` (with `--threads` when given).
fn job_of(threads: Option<usize>) -> impl Fn(&str, &[String]) -> Result<(Job, Exec), String> {
    move |experiment, args| {
        let mut argv: Vec<String> = vec!["radex".into(), experiment.into()];
        argv.extend(args.iter().cloned());
        if let Some(t) = threads {
            argv.extend(["--threads".into(), t.to_string()]);
        }
        let cli = Cli::try_parse_from(&argv).map_err(|e| crate::clap_line(&e))?;
        match cli.command {
            Command::Attack(a) => {
                let (p, exec) = a.params().map_err(|e| e.to_string())?;
                Ok((
                    Job::Attack {
                        params: Box::new(p),
                        per_trial: a.per_trial,
                    },
                    exec,
                ))
            }
            Command::Depth(a) => {
                let (p, exec) = a.params().map_err(|e| e.to_string())?;
                Ok((Job::Depth(Box::new(p)), exec))
            }
            Command::Minpert(a) => {
                let (p, exec) = a.params().map_err(|e| e.to_string())?;
                Ok((Job::Minpert(Box::new(p)), exec))
            }
            Command::Phase(a) => {
                let (p, exec) = a.params().map_err(|e| e.to_string())?;
                Ok((Job::Phase(Box::new(p)), exec))
            }
            _ => Err(format!("'{experiment}' cannot be swept")),
        }
    }
}

/// `radex sweep ...`.
pub fn run(command: &SweepCommand) -> anyhow::Result<ExitCode> {
    match command {
        SweepCommand::Plan { plan, out } => plan_cmd(plan, out, false),
        SweepCommand::Run {
            dir,
            shard,
            threads,
        } => run_cmd(dir, shard.as_deref(), *threads),
        SweepCommand::Status { dir } => status_cmd(dir),
        SweepCommand::Merge {
            dir,
            format,
            out,
            plot,
            partial,
        } => merge_cmd(dir, *format, out.as_deref(), plot.as_deref(), *partial),
        SweepCommand::Slurm { .. } => slurm_cmd(command),
    }
}

/// `sweep plan`, its summary line on stdout, or on stderr (`sweep slurm --plan`, whose stdout
/// is the job id).
fn plan_cmd(plan: &Path, out: &Path, to_stderr: bool) -> anyhow::Result<ExitCode> {
    let text = match std::fs::read_to_string(plan) {
        Ok(t) => t,
        Err(e) => {
            return Ok(refuse(format!(
                "cannot read the plan file '{}': {e}; give the path of a TOML plan",
                plan.display()
            )));
        }
    };
    // A directory radex did not make is not written into (it may hold anything).
    if out.exists() && !out.join(dir::PLAN_FILE).exists() {
        let empty = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none());
        if !empty {
            return Ok(refuse(format!(
                "invalid value '{}' for '--out': it exists and is not a sweep directory; give a new or empty directory",
                out.display()
            )));
        }
    }
    let expanded = match dir::expand(&text, &job_of(None)) {
        Ok(p) => p,
        Err(e) => return Ok(refuse(e)),
    };
    let created = match dir::create(out, &expanded) {
        Ok(c) => c,
        Err(e @ Error::OtherPlan { .. }) => return Ok(refuse(e)),
        Err(e) => return Err(e.into()),
    };
    let seconds: f64 = expanded.units.iter().map(|u| u.seconds).sum();
    let verb = match created {
        dir::Created::New => "planned",
        dir::Created::Same => "already planned (results kept)",
    };
    let line = format!(
        "radex sweep: {verb}: {} points, {} units, about {} on one thread (cost model) in {}",
        expanded.points.len(),
        expanded.units.len(),
        human_seconds(seconds),
        out.join(dir::PLAN_FILE).display()
    );
    if to_stderr {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn human_seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// `I/N`, from `--shard` or Slurm's array variables, or `0/1`.
fn shard_of(shard: Option<&str>) -> Result<(usize, usize), String> {
    let (text, flag) = match shard {
        Some(s) => (s.to_string(), "--shard"),
        None => match (
            std::env::var("SLURM_ARRAY_TASK_ID"),
            std::env::var("SLURM_ARRAY_TASK_COUNT"),
        ) {
            (Ok(i), Ok(n)) => (
                format!("{i}/{n}"),
                "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT",
            ),
            _ => return Ok((0, 1)),
        },
    };
    let parsed = text.split_once('/').and_then(|(i, n)| {
        Some((
            i.trim().parse::<usize>().ok()?,
            n.trim().parse::<usize>().ok()?,
        ))
    });
    match parsed {
        Some((i, n)) if n >= 1 && i < n => Ok((i, n)),
        _ => Err(format!(
            "invalid value '{}' for '{flag}': expected I/N with 0 <= I < N, e.g. 0/4",
            radex::error::cut(&text)
        )),
    }
}

fn run_cmd(dir: &Path, shard: Option<&str>, threads: usize) -> anyhow::Result<ExitCode> {
    let (i, n) = match shard_of(shard) {
        Ok(s) => s,
        Err(e) => return Ok(refuse(e)),
    };
    let plan = match dir::read_plan(dir) {
        Ok(p) => p,
        Err(e) => return Ok(refuse(e)),
    };
    if plan.radex != env!("CARGO_PKG_VERSION") {
        eprintln!(
            "radex: note: {} was planned by radex {}, this is {}: a point's numbers may differ from its units run by the other",
            dir.display(),
            plan.radex,
            env!("CARGO_PKG_VERSION")
        );
    }
    let bar = Bar::default();
    let make = job_of(Some(threads));
    let mut log = |e: Event<'_>| match e {
        Event::Start(u, k, of) => {
            let part = &plan.points[u.point].parts[u.part];
            let steps = u.end - u.first;
            eprintln!(
                "radex sweep: shard {i}/{n}: unit {k}/{of} {} (point {}, {}, trials {}..{})",
                u.id, u.point, part.name, u.first, u.end
            );
            radex::progress::Progress::start(&bar, "unit", steps);
        }
        Event::Done(u, s) => {
            radex::progress::Progress::finish(&bar);
            eprintln!("radex sweep: unit {} done in {s:.2} s", u.id);
        }
        Event::Failed(u, m) => {
            radex::progress::Progress::finish(&bar);
            eprintln!("radex sweep: unit {} failed: {m}", u.id);
        }
    };
    let r = match dir::run_shard(dir, &plan, i, n, &make, &bar, &mut log) {
        Ok(r) => r,
        Err(e @ (Error::Locked { .. } | Error::OtherSharding { .. })) => return Ok(refuse(e)),
        Err(e @ Error::Results(_)) => {
            eprintln!("radex: error: {e}");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    eprintln!(
        "radex sweep: shard {i}/{n}: {} units: {} done now, {} done before, {} failed",
        r.units, r.done, r.skipped, r.failed
    );
    Ok(if r.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn status_cmd(dir: &Path) -> anyhow::Result<ExitCode> {
    let plan = match dir::read_plan(dir) {
        Ok(p) => p,
        Err(e) => return Ok(refuse(e)),
    };
    let s = dir::status(dir, &plan)?;
    let total = plan.units.len();
    let out = render::status(dir, &plan, &s);
    files::write(None, out.as_bytes()).context("could not write to stdout")?;
    // 0 when every unit is done and every line is sound.
    Ok(if s.done.len() == total && s.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn merge_cmd(
    dir: &Path,
    format: Format,
    out: Option<&Path>,
    plot: Option<&Path>,
    partial: bool,
) -> anyhow::Result<ExitCode> {
    let plan = match dir::read_plan(dir) {
        Ok(p) => p,
        Err(e) => return Ok(refuse(e)),
    };
    let mut outputs: Vec<(&'static str, &Path)> = Vec::new();
    if let Some(o) = out.filter(|o| o.as_os_str() != "-") {
        outputs.push(("--out", o));
    }
    if let Some(p) = plot {
        outputs.push(("--plot", p));
    }
    for (flag, path) in &outputs {
        if let Err(e) = files::check_file(flag, path) {
            return Ok(refuse(e));
        }
    }
    if let Err(e) = files::check_distinct(&outputs) {
        return Ok(refuse(e));
    }
    let merged = match dir::merge(dir, &plan, &job_of(None), partial) {
        Ok(m) => m,
        Err(e @ (Error::Incomplete { .. } | Error::Results(_))) => {
            eprintln!("radex: error: {e}");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    if partial {
        let left: Vec<usize> = (0..plan.points.len())
            .filter(|i| !merged.iter().any(|(j, _)| j == i))
            .collect();
        if !left.is_empty() {
            eprintln!(
                "radex sweep merge: --partial: points {} are not complete and are left out",
                render::list(&left)
            );
        }
    }
    let varying = dir::varying(&plan);
    let text = render::merged(&plan, &varying, &merged, format)?;
    files::write(out, text.as_bytes()).with_context(|| match out {
        Some(p) if p.as_os_str() != "-" => format!("could not write '{}'", p.display()),
        _ => "could not write to stdout".into(),
    })?;
    if let Some(path) = plot {
        let svg = render::figure(&plan, &varying, &merged)
            .with_context(|| format!("could not draw the plot '{}'", path.display()))?;
        files::write_file(path, svg.as_bytes())
            .with_context(|| format!("could not write '{}'", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn slurm_cmd(command: &SweepCommand) -> anyhow::Result<ExitCode> {
    let SweepCommand::Slurm {
        dir,
        plan: plan_file,
        array_size,
        parallel,
        time,
        partition,
        cpus_per_task,
        mem,
        submit,
    } = command
    else {
        unreachable!("called for slurm")
    };
    let array = slurm::Array {
        size: *array_size,
        parallel: *parallel,
        time: time.clone(),
        partition: partition.clone(),
        cpus_per_task: *cpus_per_task,
        mem: mem.clone(),
    };
    if let Err(e) = array.check() {
        return Ok(refuse(e));
    }
    if *submit && slurm::which("sbatch").is_none() {
        return Ok(refuse(
            "'--submit': sbatch is not on PATH; run this on the cluster's login node, or submit the script there",
        ));
    }
    if let Some(file) = plan_file {
        let code = plan_cmd(file, dir, true)?;
        if code != ExitCode::SUCCESS {
            return Ok(code);
        }
    }
    let plan = match dir::read_plan(dir) {
        Ok(p) => p,
        Err(e) => return Ok(refuse(e)),
    };
    let dir_abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let exe = std::env::current_exe().context("could not find radex's own path")?;
    let logs = slurm::logs(&dir_abs);
    std::fs::create_dir_all(&logs)
        .with_context(|| format!("could not make '{}'", logs.display()))?;
    let path = array.script_path(&dir_abs);
    files::write_file(&path, array.script(&dir_abs, &exe, &plan).as_bytes())
        .with_context(|| format!("could not write '{}'", path.display()))?;
    if !*submit {
        println!(
            "radex sweep: wrote {}; submit it with: sbatch {}",
            path.display(),
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let id = slurm::submit(&path)?;
    slurm::record_job(dir, &id).context("could not record the job id")?;
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}
