//! `radex sweep` (issue 15): the front end of `radex::sweep`. A grid point is parsed as the
//! command line `radex <experiment> <args>` by the same clap definitions, so a point means
//! exactly what that command means, and validated by the same library constructors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::bar::Bar;
use crate::cli::{Cli, Command, SweepCommand};
use radex::experiment::compare::AttackOutput;
use radex::experiment::runner::Exec;
use radex::files;
use radex::record::to_json;
use radex::report::{Format, Report};
use radex::report::{figures, heatmap};
use radex::sweep::dir::{self, Event, PlanFile, SweepError};
use radex::sweep::job::{Job, Merged};
use radex::sweep::shard::ShardError;

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
        Err(e @ SweepError::OtherPlan { .. }) => return Ok(refuse(e)),
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
        Err(
            e @ (SweepError::Shard(ShardError::Locked { .. }) | SweepError::OtherSharding { .. }),
        ) => return Ok(refuse(e)),
        Err(e @ SweepError::Results(_)) => {
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
    let mut out = format!(
        "radex sweep status: {} ({} {} points, {total} units)\n\
         done {}, running {}, missing {}, failed {}\n",
        dir.display(),
        plan.points.len(),
        plan.experiment,
        s.done.len(),
        s.running.len(),
        s.missing.len(),
        s.failed.len()
    );
    for (i, o) in &s.locked {
        out.push_str(&format!(
            "shard {i}: running (pid {} on {})\n",
            o.pid, o.host
        ));
    }
    for (u, o) in &s.running {
        out.push_str(&format!(
            "running: unit {} (point {}, trials {}..{}) pid {} on {}\n",
            u.id, u.point, u.first, u.end, o.pid, o.host
        ));
    }
    for (u, m) in &s.failed {
        out.push_str(&format!(
            "failed: unit {} (point {}: {}; trials {}..{}): {m}\n",
            u.id,
            u.point,
            plan.points[u.point].command(&plan.experiment),
            u.first,
            u.end
        ));
    }
    let mut missing_points: Vec<usize> = s.missing.iter().map(|u| u.point).collect();
    missing_points.dedup();
    if !missing_points.is_empty() {
        out.push_str(&format!(
            "missing: {} units of points {}\n",
            s.missing.len(),
            list(&missing_points)
        ));
    }
    for p in &s.problems {
        out.push_str(&format!("corrupt: {p}\n"));
    }
    out.push_str(&slurm_tasks(dir));
    files::write(None, out.as_bytes()).context("could not write to stdout")?;
    // 0 when every unit is done and every line is sound.
    Ok(if s.done.len() == total && s.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn list(v: &[usize]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The file where `sweep slurm --submit` records its job ids.
fn jobs_file(dir: &Path) -> PathBuf {
    dir.join("slurm").join("jobs.txt")
}

/// The state of each array task of the sweep's submitted jobs, from squeue when it is on PATH.
fn slurm_tasks(dir: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(jobs_file(dir)) else {
        return String::new();
    };
    let ids: Vec<&str> = text.split_whitespace().collect();
    if ids.is_empty() {
        return String::new();
    }
    let out = std::process::Command::new("squeue")
        .args(["-h", "-r", "-j", &ids.join(","), "-o", "%F %K %T"])
        .output();
    match out {
        Err(_) => format!(
            "slurm: jobs {} submitted; squeue is not on PATH\n",
            ids.join(",")
        ),
        Ok(o) if !o.status.success() => format!(
            "slurm: squeue failed: {}\n",
            String::from_utf8_lossy(&o.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("")
        ),
        Ok(o) => {
            let lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.len() == 3)
                        .then(|| format!("slurm: job {} shard {}: {}\n", f[0], f[1], f[2]))
                })
                .collect();
            if lines.is_empty() {
                format!(
                    "slurm: no task of jobs {} is queued or running\n",
                    ids.join(",")
                )
            } else {
                lines.concat()
            }
        }
    }
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
        Err(e @ (SweepError::Incomplete { .. } | SweepError::Results(_))) => {
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
                list(&left)
            );
        }
    }
    let varying = dir::varying(&plan);
    let text = render(&plan, &varying, &merged, format)?;
    files::write(out, text.as_bytes()).with_context(|| match out {
        Some(p) if p.as_os_str() != "-" => format!("could not write '{}'", p.display()),
        _ => "could not write to stdout".into(),
    })?;
    if let Some(path) = plot {
        let label = |i: usize| {
            varying
                .iter()
                .filter(|f| !matches!(f.as_str(), "arch" | "depths"))
                .map(|f| format!("{f}={}", dir::flag_value(&plan.points[i].args, f)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let attacks: Vec<(String, &radex::experiment::attack::AttackReport)> = merged
            .iter()
            .filter_map(|(i, m)| match m {
                Merged::Attack(o) => Some((
                    label(*i),
                    match o.as_ref() {
                        AttackOutput::One(r) => r.as_ref(),
                        AttackOutput::Compared(c) => &c.given,
                    },
                )),
                _ => None,
            })
            .collect();
        let depths: Vec<(String, &radex::experiment::depth::DepthReport)> = merged
            .iter()
            .filter_map(|(i, m)| match m {
                Merged::Depth(r) => Some((label(*i), r.as_ref())),
                _ => None,
            })
            .collect();
        let svg = match plan.experiment.as_str() {
            "attack" => figures::sweep_attack(&attacks),
            "depth" => figures::sweep_depth(&depths),
            // Each point's own figure, one above the other.
            _ => merged
                .iter()
                .filter_map(|(_, m)| match m {
                    Merged::Minpert(r) => Some(figures::minpert(r)),
                    Merged::Phase(r) => Some(heatmap::phase(r)),
                    _ => None,
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|panels| figures::stack(&panels)),
        };
        let svg = svg.with_context(|| format!("could not draw the plot '{}'", path.display()))?;
        files::write_file(path, svg.as_bytes())
            .with_context(|| format!("could not write '{}'", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The merged points in `format`: tables one after the other under a header naming the
/// point's command; JSON, an array of `{point, command, args, report}` with each report as
/// the subcommand prints it; CSV, the reports' rows under one header with the point's index
/// and the varying flags first.
fn render(
    plan: &PlanFile,
    varying: &[String],
    merged: &[(usize, Merged)],
    format: Format,
) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => merged
            .iter()
            .map(|(i, m)| {
                format!(
                    "== point {i} of {}: {} ==\n{}\n",
                    plan.points.len(),
                    plan.points[*i].command(&plan.experiment),
                    m.table()
                )
            })
            .collect(),
        Format::Json => {
            let items: Vec<serde_json::Value> = merged
                .iter()
                .map(|(i, m)| {
                    let report: serde_json::Value =
                        serde_json::from_str(&to_json(m)).expect("radex's own JSON");
                    serde_json::json!({
                        "point": i,
                        "command": plan.points[*i].command(&plan.experiment),
                        "args": plan.points[*i].args,
                        "report": report,
                    })
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&items).expect("JSON values serialise");
            s.push('\n');
            s
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut header: Option<csv::StringRecord> = None;
            // The varying flags' columns are named as the flags, apart from the report's own.
            let flags: Vec<String> = varying.iter().map(|f| format!("--{f}")).collect();
            for (i, m) in merged {
                let text = m.csv();
                let mut r = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_reader(text.as_bytes());
                let h = r.headers()?.clone();
                match &header {
                    None => {
                        w.write_record(
                            std::iter::once("point")
                                .chain(flags.iter().map(String::as_str))
                                .chain(h.iter()),
                        )?;
                        header = Some(h.clone());
                    }
                    Some(first) if *first != h => anyhow::bail!(
                        "point {i}'s CSV columns differ from point {}'s; use --format json",
                        merged[0].0
                    ),
                    Some(_) => {}
                }
                let lead: Vec<String> = std::iter::once(i.to_string())
                    .chain(
                        varying
                            .iter()
                            .map(|f| dir::flag_value(&plan.points[*i].args, f)),
                    )
                    .collect();
                for rec in r.records() {
                    let rec = rec?;
                    w.write_record(lead.iter().map(String::as_str).chain(rec.iter()))?;
                }
            }
            String::from_utf8(w.into_inner()?)?
        }
    })
}

/// Characters a value written into the sbatch script may hold (no space, quote or newline).
fn script_safe(flag: &'static str, v: &str, allowed: &str) -> Result<(), String> {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || allowed.contains(c))
    {
        Ok(())
    } else {
        Err(format!(
            "invalid value '{}' for '{flag}': expected letters, digits and '{allowed}' only",
            radex::error::cut(v)
        ))
    }
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
    let checks = [
        (*array_size == 0)
            .then(|| "invalid value '0' for '--array-size': expected at least 1 task".to_string()),
        (*parallel == Some(0))
            .then(|| "invalid value '0' for '--parallel': expected at least 1".to_string()),
        (*cpus_per_task == 0)
            .then(|| "invalid value '0' for '--cpus-per-task': expected at least 1".to_string()),
        time.as_deref()
            .and_then(|t| script_safe("--time", t, ":-").err()),
        partition
            .as_deref()
            .and_then(|p| script_safe("--partition", p, "_.,-").err()),
        mem.as_deref()
            .and_then(|m| script_safe("--mem", m, "").err()),
    ];
    if let Some(e) = checks.into_iter().flatten().next() {
        return Ok(refuse(e));
    }
    if *submit && which("sbatch").is_none() {
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
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let dir_abs = abs(dir);
    let exe = std::env::current_exe().context("could not find radex's own path")?;
    let n = *array_size;
    let mut array = format!("0-{}", n - 1);
    if let Some(p) = parallel {
        array.push_str(&format!("%{p}"));
    }
    let slurm_dir = dir_abs.join("slurm");
    std::fs::create_dir_all(&slurm_dir)
        .with_context(|| format!("could not make '{}'", slurm_dir.display()))?;
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let mut script = format!(
        "#!/bin/bash\n\
         # Written by `radex sweep slurm` for the sweep in {dir}: {units} units of {points} points\n\
         # in {n} shards, one per array task. A task killed (time limit, preemption) loses at most\n\
         # the unit it was in: submit this script again and the units done are skipped.\n\
         #SBATCH --job-name=radex-sweep\n\
         #SBATCH --array={array}\n\
         #SBATCH --cpus-per-task={cpus_per_task}\n\
         #SBATCH --output={out}/%A_%a.out\n",
        dir = dir_abs.display(),
        units = plan.units.len(),
        points = plan.points.len(),
        out = slurm_dir.display(),
    );
    if let Some(t) = time {
        script.push_str(&format!("#SBATCH --time={t}\n"));
    }
    if let Some(p) = partition {
        script.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(m) = mem {
        script.push_str(&format!("#SBATCH --mem={m}\n"));
    }
    // The shard count is written here, not read from SLURM_ARRAY_TASK_COUNT, so resubmitting
    // a few tasks (--array=3,7) runs the same shards.
    script.push_str(&format!(
        "exec {exe} sweep run {dir} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --threads \"${{SLURM_CPUS_PER_TASK:-1}}\"\n",
        exe = quote(&exe),
        dir = quote(&dir_abs),
    ));
    let path = slurm_dir.join(format!("sweep-{n}.sbatch"));
    files::write_file(&path, script.as_bytes())
        .with_context(|| format!("could not write '{}'", path.display()))?;
    if !*submit {
        println!(
            "radex sweep: wrote {}; submit it with: sbatch {}",
            path.display(),
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let o = std::process::Command::new("sbatch")
        .arg("--parsable")
        .arg(&path)
        .output()
        .context("could not run sbatch")?;
    if !o.status.success() {
        anyhow::bail!(
            "sbatch refused '{}': {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&o.stdout);
    // --parsable prints `id` or `id;cluster`.
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    let mut jobs = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(jobs_file(dir))
        .context("could not record the job id")?;
    writeln!(jobs, "{id}").context("could not record the job id")?;
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}

/// The path of `program` on PATH, if any.
fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}
