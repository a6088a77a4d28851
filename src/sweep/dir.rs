//! A sweep's directory (issue 15; it runs the experiments of MATH 3, 6, 7 and 9): `plan.json`,
//! the expanded plan, written once; `results/shard-I.jsonl`, one per shard, each written by
//! one process at a time under `results/shard-I.lock`. A shard appends a `started` line before
//! a unit and a `done` line (with every trial's record) or a `failed` line (with the error)
//! after it, each flushed and fsynced, so a killed shard loses at most the unit it was in.
//! A rerun skips the units done in any results file, so a sweep may be resumed with another
//! number of shards. The merge puts each point's records in trial order and builds its report
//! with the experiment's own function: bitwise the report of one run, whatever the sharding
//! and the order units finished in.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use super::job::{EXPERIMENTS, Job, JobError, Merged, Part};
use super::plan::{self, PlanError, Spec, Unit, UnitSize};
use super::shard::{self, Lock, Owner, ShardError, Writer};
use crate::experiment::runner::Exec;
use crate::progress::Progress;

/// The expanded plan's file in a sweep directory.
pub const PLAN_FILE: &str = "plan.json";
/// The results' directory in a sweep directory.
pub const RESULTS_DIR: &str = "results";

/// Makes a grid point's job from its experiment and arguments (the front end parses them as
/// its own command line, so a point means exactly what the command means), or says why not.
pub type JobOf<'a> = &'a dyn Fn(&str, &[String]) -> Result<(Job, Exec), String>;

/// What can go wrong with a sweep.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The plan file is wrong.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A grid point the experiment refuses.
    #[error("plan: point {point} ({args}): {message}")]
    Point {
        /// Its index.
        point: usize,
        /// Its arguments, as on the command line.
        args: String,
        /// The experiment's message.
        message: String,
    },
    /// A results file cannot be read or written, or its shard is held.
    #[error(transparent)]
    Shard(#[from] ShardError),
    /// A file of the sweep cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A plan is there already, and it is another one.
    #[error(
        "{path} holds another plan; plan into a new directory (--out), or remove it to start over"
    )]
    OtherPlan {
        /// The plan file.
        path: PathBuf,
    },
    /// No plan in the directory.
    #[error(
        "{path}: no plan here ({reason}); make one with `radex sweep plan PLAN.toml --out DIR`"
    )]
    NoPlan {
        /// The plan file.
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// Results that do not belong to the plan, or that disagree.
    #[error("{0}")]
    Results(String),
    /// Units not done, at a merge without `--partial`.
    #[error(
        "{missing} of {total} units are not done ({failed} failed); run their shards (radex sweep status tells which), or merge the complete points with --partial"
    )]
    Incomplete {
        /// Units not done.
        missing: usize,
        /// Of them, failed.
        failed: usize,
        /// All units.
        total: usize,
    },
    /// A point's records do not merge.
    #[error("point {point}: {source}")]
    Merge {
        /// Its index.
        point: usize,
        /// Why.
        source: JobError,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SweepError + '_ {
    move |source| SweepError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `plan.json`: the plan as given and as expanded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    /// The radex version that expanded it.
    pub radex: String,
    /// The subcommand.
    pub experiment: String,
    /// The plan file's text.
    pub plan: String,
    /// How units were sized.
    pub size: UnitSize,
    /// The grid points.
    pub points: Vec<Point>,
    /// The units, point by point, part by part, in trial order.
    pub units: Vec<Unit>,
}

/// A grid point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Its arguments after the subcommand.
    pub args: Vec<String>,
    /// Its parts.
    pub parts: Vec<Part>,
}

impl Point {
    /// Its command line, for messages.
    pub fn command(&self, experiment: &str) -> String {
        format!("radex {experiment} {}", self.args.join(" "))
    }
}

/// Expands a plan file's text: every point validated by the experiment (memory estimate
/// included) before anything runs, and cut into units.
pub fn expand(text: &str, job_of: JobOf<'_>) -> Result<PlanFile, SweepError> {
    let spec = Spec::parse(text)?;
    if !EXPERIMENTS.contains(&spec.experiment.as_str()) {
        return Err(PlanError {
            key: "experiment".into(),
            reason: format!(
                "'{}' cannot be swept; expected one of {}",
                spec.experiment,
                EXPERIMENTS.join(", ")
            ),
        }
        .into());
    }
    let mut points = Vec::new();
    let mut units = Vec::new();
    for (i, mut args) in spec.points().into_iter().enumerate() {
        let refused = |args: &[String], message: String| SweepError::Point {
            point: i,
            args: args.join(" "),
            message,
        };
        let (job, _) = job_of(&spec.experiment, &args).map_err(|m| refused(&args, m))?;
        for (flag, value) in job.pins() {
            match args.iter().position(|a| a == flag) {
                Some(k) if k + 1 < args.len() => args[k + 1] = value,
                _ => args.extend([flag.to_string(), value]),
            }
        }
        let parts = job.parts().map_err(|e| refused(&args, e.to_string()))?;
        units.extend(plan::units(&spec.experiment, i, &args, &parts, spec.size));
        points.push(Point { args, parts });
    }
    Ok(PlanFile {
        radex: env!("CARGO_PKG_VERSION").into(),
        experiment: spec.experiment,
        plan: text.into(),
        size: spec.size,
        points,
        units,
    })
}

/// Whether [`create`] wrote the plan or found it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// Written.
    New,
    /// The same plan was there (results kept).
    Same,
}

/// Writes `plan` into `dir` (made if needed), unless another plan is there.
pub fn create(dir: &Path, plan: &PlanFile) -> Result<Created, SweepError> {
    let path = dir.join(PLAN_FILE);
    if path.exists() {
        return match read_plan(dir) {
            Ok(old) if old == *plan => Ok(Created::Same),
            _ => Err(SweepError::OtherPlan { path }),
        };
    }
    let results = dir.join(RESULTS_DIR);
    fs::create_dir_all(&results).map_err(io_at(&results))?;
    let mut text = serde_json::to_string_pretty(plan).expect("a plan serialises");
    text.push('\n');
    crate::files::write_file(&path, text.as_bytes()).map_err(io_at(&path))?;
    Ok(Created::New)
}

/// Reads `dir/plan.json`.
pub fn read_plan(dir: &Path) -> Result<PlanFile, SweepError> {
    let path = dir.join(PLAN_FILE);
    let no_plan = |reason: String| SweepError::NoPlan {
        path: path.clone(),
        reason,
    };
    let text = fs::read_to_string(&path).map_err(|e| no_plan(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| no_plan(e.to_string()))
}

/// Shard `i`'s results file in `dir`.
pub fn shard_file(dir: &Path, i: usize) -> PathBuf {
    dir.join(RESULTS_DIR).join(format!("shard-{i}.jsonl"))
}

fn lock_file(dir: &Path, i: usize) -> PathBuf {
    dir.join(RESULTS_DIR).join(format!("shard-{i}.lock"))
}

/// A unit's last word in the results files.
#[derive(Clone, Debug, PartialEq)]
pub enum UnitState {
    /// Done: its records.
    Done(Vec<Json>),
    /// Failed: the error.
    Failed(String),
    /// Started and neither done nor failed: by whom.
    Started(Owner),
}

/// Every results file of a sweep, read.
#[derive(Debug, Default)]
pub struct Results {
    /// Each unit's state (done wins over failed and started, failed over started).
    pub units: BTreeMap<String, UnitState>,
    /// Lines that are not results of this plan, with where they are.
    pub problems: Vec<String>,
    /// Shards whose lock is held, with the owner: running (or killed on another host).
    pub running: BTreeMap<usize, Owner>,
}

/// The files `results/shard-I<suffix>` of `dir` (`.jsonl`, `.lock`), by shard `I`.
fn shard_paths(dir: &Path, suffix: &str) -> Result<BTreeMap<usize, PathBuf>, SweepError> {
    let results = dir.join(RESULTS_DIR);
    let mut out = BTreeMap::new();
    let entries = match fs::read_dir(&results) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_at(&results)(e)),
    };
    for e in entries {
        let e = e.map_err(io_at(&results))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(i) = name
            .strip_prefix("shard-")
            .and_then(|n| n.strip_suffix(suffix))
            .and_then(|n| n.parse().ok())
        {
            out.insert(i, e.path());
        }
    }
    Ok(out)
}

/// Reads every results file of `dir` against `plan`.
pub fn results(dir: &Path, plan: &PlanFile) -> Result<Results, SweepError> {
    let by_id: BTreeMap<&str, &Unit> = plan.units.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut out = Results::default();
    for path in shard_paths(dir, ".jsonl")?.into_values() {
        let contents = shard::read(&path)?;
        out.problems
            .extend(contents.corrupt.iter().map(ToString::to_string));
        for (n, mut line) in contents.lines.into_iter().enumerate() {
            let at = || format!("{}: line {}", path.display(), n + 1);
            let id = line
                .get("unit")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            let id = id.as_str();
            let Some(unit) = by_id.get(id) else {
                out.problems
                    .push(format!("{}: unit '{id}' is not a unit of this plan", at()));
                continue;
            };
            let state = match line_state(&mut line, unit) {
                Ok(s) => s,
                Err(reason) => {
                    out.problems.push(format!("{}: {reason}", at()));
                    continue;
                }
            };
            // Done wins (twice, from a shard rerun with another count, the records must
            // agree); otherwise the later line.
            match (&state, out.units.get(id)) {
                (UnitState::Done(new), Some(UnitState::Done(old))) if new != old => {
                    out.problems.push(format!(
                        "{}: unit {id} is done twice with different records",
                        at()
                    ));
                }
                (_, Some(UnitState::Done(_))) => {}
                _ => {
                    out.units.insert(id.into(), state);
                }
            }
        }
    }
    for (i, lock) in shard_paths(dir, ".lock")? {
        if let Ok(text) = fs::read_to_string(&lock) {
            if let Some(owner) = Owner::parse(&text).filter(|o| !o.is_gone()) {
                out.running.insert(i, owner);
            }
        }
    }
    Ok(out)
}

/// A results line's meaning for `unit`, or why it has none (a done line's records are moved
/// out of it, not copied).
fn line_state(line: &mut Map<String, Json>, unit: &Unit) -> Result<UnitState, String> {
    let event = line.get("event").and_then(Json::as_str).unwrap_or("");
    match event {
        "done" => {
            let Some(Json::Array(records)) = line.remove("records") else {
                return Err("a done line without its records".into());
            };
            if records.len() as u64 != unit.end - unit.first {
                return Err(format!(
                    "unit {} has {} records, expected {}",
                    unit.id,
                    records.len(),
                    unit.end - unit.first
                ));
            }
            Ok(UnitState::Done(records))
        }
        "failed" => Ok(UnitState::Failed(
            line.get("error")
                .and_then(Json::as_str)
                .unwrap_or("no message")
                .to_string(),
        )),
        "started" => Ok(UnitState::Started(Owner {
            pid: line.get("pid").and_then(Json::as_u64).unwrap_or(0) as u32,
            host: line
                .get("host")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string(),
        })),
        other => Err(format!("unknown event '{other}'")),
    }
}

/// What a shard did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardRun {
    /// Units of the shard.
    pub units: usize,
    /// Done before this run (skipped).
    pub skipped: usize,
    /// Done by this run.
    pub done: usize,
    /// Failed in this run.
    pub failed: usize,
}

/// What happens to a unit, for a front end's log.
pub enum Event<'a> {
    /// Starting it (the how-many-th of the shard's units to run, of how many).
    Start(&'a Unit, usize, usize),
    /// Done in these seconds.
    Done(&'a Unit, f64),
    /// Failed with this message.
    Failed(&'a Unit, &'a str),
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Runs shard `shard` of `of`: its units not done in any results file, in plan order, each
/// appended to its results file when it ends. A unit that fails is recorded with its message
/// and the shard goes on; a rerun tries it again.
pub fn run_shard(
    dir: &Path,
    plan: &PlanFile,
    shard: usize,
    of: usize,
    job_of: JobOf<'_>,
    progress: &dyn Progress,
    log: &mut dyn FnMut(Event<'_>),
) -> Result<ShardRun, SweepError> {
    let path = shard_file(dir, shard);
    let results_dir = dir.join(RESULTS_DIR);
    fs::create_dir_all(&results_dir).map_err(io_at(&results_dir))?;
    let lock = Lock::acquire(&lock_file(dir, shard))?;
    let (mut writer, _) = Writer::open(&path, lock)?;
    // Done anywhere (another sharding may have run it), read under this shard's lock.
    let seen = results(dir, plan)?;
    let assigned = plan::assign(&plan.units, of);
    let mine: Vec<&Unit> = plan
        .units
        .iter()
        .zip(&assigned)
        .filter(|&(_, &s)| s == shard)
        .map(|(u, _)| u)
        .collect();
    let todo: Vec<&Unit> = mine
        .iter()
        .copied()
        .filter(|u| !matches!(seen.units.get(&u.id), Some(UnitState::Done(_))))
        .collect();
    let mut out = ShardRun {
        units: mine.len(),
        skipped: mine.len() - todo.len(),
        ..ShardRun::default()
    };
    let me = Owner::this();
    for (k, unit) in todo.iter().enumerate() {
        log(Event::Start(unit, k + 1, todo.len()));
        writer.append(&json!({
            "unit": unit.id, "event": "started", "host": me.host, "pid": me.pid, "at": now(),
        }))?;
        let point = &plan.points[unit.point];
        let clock = Instant::now();
        let run = job_of(&plan.experiment, &point.args).and_then(|(job, exec)| {
            // A panic in a unit is that unit's failure, not the shard's.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                job.run(unit.part, unit.first..unit.end, &exec, progress)
            }))
            .map_err(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown".into());
                format!("panicked: {msg}")
            })?
            .map_err(|e| e.to_string())
        });
        let seconds = clock.elapsed().as_secs_f64();
        match run {
            Ok(records) => {
                writer.append(&json!({
                    "unit": unit.id, "event": "done", "point": unit.point, "part": unit.part,
                    "first": unit.first, "end": unit.end, "seconds": seconds, "host": me.host,
                    "records": records,
                }))?;
                out.done += 1;
                log(Event::Done(unit, seconds));
            }
            Err(message) => {
                writer.append(&json!({
                    "unit": unit.id, "event": "failed", "point": unit.point, "part": unit.part,
                    "first": unit.first, "end": unit.end, "host": me.host, "error": message,
                }))?;
                out.failed += 1;
                log(Event::Failed(unit, &message));
            }
        }
    }
    Ok(out)
}

/// A sweep's state, unit by unit.
#[derive(Debug)]
pub struct Status {
    /// Units done.
    pub done: Vec<Unit>,
    /// Units failed last time they ran, with the error.
    pub failed: Vec<(Unit, String)>,
    /// Units started by a live runner.
    pub running: Vec<(Unit, Owner)>,
    /// Units not done, not failed and not running (never started, or interrupted).
    pub missing: Vec<Unit>,
    /// Lines that are not results of this plan.
    pub problems: Vec<String>,
    /// Shards whose lock is held.
    pub locked: BTreeMap<usize, Owner>,
}

/// The state of every unit of `plan` in `dir`.
pub fn status(dir: &Path, plan: &PlanFile) -> Result<Status, SweepError> {
    let r = results(dir, plan)?;
    let mut s = Status {
        done: Vec::new(),
        failed: Vec::new(),
        running: Vec::new(),
        missing: Vec::new(),
        problems: r.problems,
        locked: r.running.clone(),
    };
    let live: Vec<&Owner> = r.running.values().collect();
    for u in &plan.units {
        match r.units.get(&u.id) {
            Some(UnitState::Done(_)) => s.done.push(u.clone()),
            Some(UnitState::Failed(m)) => s.failed.push((u.clone(), m.clone())),
            Some(UnitState::Started(o)) if live.contains(&o) => {
                s.running.push((u.clone(), o.clone()))
            }
            _ => s.missing.push(u.clone()),
        }
    }
    Ok(s)
}

/// Every complete point's report, in plan order. Without `partial`, any unit not done is an
/// error; with it, the points with a unit not done are left out. Lines that are not results of
/// the plan are an error either way (never skipped in silence).
pub fn merge(
    dir: &Path,
    plan: &PlanFile,
    job_of: JobOf<'_>,
    partial: bool,
) -> Result<Vec<(usize, Merged)>, SweepError> {
    let mut r = results(dir, plan)?;
    if !r.problems.is_empty() {
        return Err(SweepError::Results(format!(
            "{} line(s) of the results are not results of this plan, first: {}; repair or remove them by hand",
            r.problems.len(),
            r.problems[0]
        )));
    }
    let done = |r: &Results, u: &Unit| matches!(r.units.get(&u.id), Some(UnitState::Done(_)));
    let missing = plan.units.iter().filter(|u| !done(&r, u)).count();
    if missing > 0 && !partial {
        let failed = plan
            .units
            .iter()
            .filter(|u| matches!(r.units.get(&u.id), Some(UnitState::Failed(_))))
            .count();
        return Err(SweepError::Incomplete {
            missing,
            failed,
            total: plan.units.len(),
        });
    }
    let mut out = Vec::new();
    for (i, point) in plan.points.iter().enumerate() {
        let units = || plan.units.iter().filter(move |u| u.point == i);
        if !units().all(|u| done(&r, u)) {
            continue;
        }
        // Units are stored part by part in trial order; their records are moved, not copied.
        let mut parts: Vec<Vec<Json>> = vec![Vec::new(); point.parts.len()];
        for u in units() {
            if let Some(UnitState::Done(recs)) = r.units.remove(&u.id) {
                parts[u.part].extend(recs);
            }
        }
        let (job, _) =
            job_of(&plan.experiment, &point.args).map_err(|message| SweepError::Point {
                point: i,
                args: point.args.join(" "),
                message,
            })?;
        let merged = job
            .merge(&parts)
            .map_err(|source| SweepError::Merge { point: i, source })?;
        out.push((i, merged));
    }
    Ok(out)
}

/// The flags that vary across the plan's points (the grid's axes of more than one step).
pub fn varying(plan: &PlanFile) -> Vec<String> {
    match Spec::parse(&plan.plan) {
        Ok(spec) => spec
            .axes
            .into_iter()
            .filter(|a| a.rows.len() > 1)
            .flat_map(|a| a.flags)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The value of `--flag` in a point's arguments: its text, `true` for a switch that is on,
/// empty when absent.
pub fn flag_value(args: &[String], flag: &str) -> String {
    let name = format!("--{flag}");
    match args.iter().position(|a| *a == name) {
        None => String::new(),
        Some(i) => match args.get(i + 1) {
            Some(v) if !v.starts_with("--") => v.clone(),
            _ => "true".into(),
        },
    }
}
