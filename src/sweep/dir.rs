//! A sweep's directory (it runs the experiments of MATH 3, 6, 7 and 9): `plan.json`,
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
use serde_json::Value as Json;

use super::error::{Error, io_at};
use super::job::{self, EXPERIMENTS, Job, Merged, Part};
use super::plan::{self, Spec, Unit, UnitSize};
use super::shard::{self, Lock, Owner, Writer};
use crate::experiment::runner::Exec;
use crate::progress::Progress;

/// The expanded plan's file in a sweep directory.
pub const PLAN_FILE: &str = "plan.json";
/// The results' directory in a sweep directory.
pub const RESULTS_DIR: &str = "results";

/// Makes a grid point's job from its experiment and arguments (the front end parses them as
/// its own command line, so a point means exactly what the command means), or says why not.
pub type JobOf<'a> = &'a dyn Fn(&str, &[String]) -> Result<(Job, Exec), String>;

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
/// included) before anything runs, and cut into units. A grid of more than
/// [`plan::MAX_POINTS`] points is refused before any point is made, and a plan of more than
/// [`plan::MAX_UNITS`] units before any unit is made.
pub fn expand(text: &str, job_of: JobOf<'_>) -> Result<PlanFile, Error> {
    let spec = Spec::parse(text)?;
    spec.check_count()?;
    if !EXPERIMENTS.contains(&spec.experiment.as_str()) {
        return Err(Error::Plan {
            key: "experiment".into(),
            reason: format!(
                "'{}' cannot be swept; expected one of {}",
                spec.experiment,
                EXPERIMENTS.join(", ")
            ),
        });
    }
    let mut points = Vec::new();
    // Every point's units counted first, and made once the count is within the limit.
    let mut total: Option<usize> = Some(0);
    for (i, mut args) in spec.points().enumerate() {
        let refused = |args: &[String], message: String| Error::Point {
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
        total = total.and_then(|t| t.checked_add(plan::unit_count(&parts, spec.size)?));
        points.push(Point { args, parts });
    }
    match total {
        Some(t) if t <= plan::MAX_UNITS => {}
        t => {
            let key = match spec.size {
                UnitSize::Trials(_) => "unit_trials",
                UnitSize::Seconds(_) => "unit_seconds",
            };
            return Err(Error::Plan {
                key: key.into(),
                reason: format!(
                    "the plan has {} units, expected at most {}; give a larger {key}, or fewer trials or points",
                    t.map_or(format!("more than {}", usize::MAX), |t| t.to_string()),
                    plan::MAX_UNITS,
                ),
            });
        }
    }
    let units = points
        .iter()
        .enumerate()
        .flat_map(|(i, p)| plan::units(&spec.experiment, i, &p.args, &p.parts, spec.size))
        .collect();
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
pub fn create(dir: &Path, plan: &PlanFile) -> Result<Created, Error> {
    let path = dir.join(PLAN_FILE);
    if path.exists() {
        return match read_plan(dir) {
            Ok(old) if old == *plan => Ok(Created::Same),
            _ => Err(Error::OtherPlan { path }),
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
pub fn read_plan(dir: &Path) -> Result<PlanFile, Error> {
    let path = dir.join(PLAN_FILE);
    let no_plan = |reason: String| Error::NoPlan {
        path: path.clone(),
        reason,
    };
    let text = fs::read_to_string(&path).map_err(|e| no_plan(e.to_string()))?;
    let corrupt = |reason: String| Error::CorruptPlan {
        path: path.clone(),
        reason,
    };
    let plan: PlanFile = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    check_plan(&plan).map_err(corrupt)?;
    Ok(plan)
}

/// Whether `plan` is what [`expand`] makes: its experiment sweepable, its plan text's grid
/// the size of its points, and its units those its points' parts are cut into (in range, in
/// order, with their ids), or what is wrong.
fn check_plan(plan: &PlanFile) -> Result<(), String> {
    if !EXPERIMENTS.contains(&plan.experiment.as_str()) {
        return Err(format!(
            "experiment '{}' cannot be swept; expected one of {}",
            crate::error::cut(&plan.experiment),
            EXPERIMENTS.join(", ")
        ));
    }
    let spec = Spec::parse(&plan.plan).map_err(|e| format!("its plan text: {e}"))?;
    if spec.experiment != plan.experiment || spec.size != plan.size {
        return Err("its experiment or unit size is not its plan text's".into());
    }
    if spec.count() != Some(plan.points.len()) {
        return Err(format!(
            "{} points, expected {} (its plan text's grid)",
            plan.points.len(),
            spec.count()
                .map_or(format!("more than {}", usize::MAX), |n| n.to_string())
        ));
    }
    for (i, p) in plan.points.iter().enumerate() {
        if p.parts.is_empty() {
            return Err(format!("point {i} has no parts"));
        }
        if let Some(part) = p
            .parts
            .iter()
            .find(|q| !(q.seconds_per_trial.is_finite() && q.seconds_per_trial >= 0.0))
        {
            return Err(format!(
                "point {i}, part '{}': seconds_per_trial {}, expected a number >= 0",
                part.name, part.seconds_per_trial
            ));
        }
    }
    for (k, u) in plan.units.iter().enumerate() {
        let at = format!("unit {k} ({})", crate::error::cut(&u.id));
        let Some(point) = plan.points.get(u.point) else {
            return Err(format!(
                "{at}: point {}, expected < {} (the number of points)",
                u.point,
                plan.points.len()
            ));
        };
        let Some(part) = point.parts.get(u.part) else {
            return Err(format!(
                "{at}: part {}, expected < {} (the parts of point {})",
                u.part,
                point.parts.len(),
                u.point
            ));
        };
        if u.first >= u.end || u.end > part.trials {
            return Err(format!(
                "{at}: trials {}..{}, expected first < end <= {} (the trials of point {}, part '{}')",
                u.first, u.end, part.trials, u.point, part.name
            ));
        }
    }
    // The units the points' parts are cut into, counted before any is made.
    let expected = plan.points.iter().try_fold(0usize, |n, p| {
        n.checked_add(plan::unit_count(&p.parts, plan.size)?)
    });
    if expected != Some(plan.units.len()) {
        return Err(format!(
            "{} units, expected {} (its points' trials cut into units)",
            plan.units.len(),
            expected.map_or(format!("more than {}", usize::MAX), |n| n.to_string())
        ));
    }
    let mut k = 0;
    for (i, p) in plan.points.iter().enumerate() {
        for want in plan::units(&plan.experiment, i, &p.args, &p.parts, plan.size) {
            let u = &plan.units[k];
            if (&u.id, u.point, u.part, u.first, u.end)
                != (&want.id, want.point, want.part, want.first, want.end)
            {
                return Err(format!(
                    "unit {k} is {} (point {}, part {}, trials {}..{}), expected {} (point {}, part {}, trials {}..{})",
                    crate::error::cut(&u.id),
                    u.point,
                    u.part,
                    u.first,
                    u.end,
                    want.id,
                    want.point,
                    want.part,
                    want.first,
                    want.end
                ));
            }
            k += 1;
        }
    }
    Ok(())
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
fn shard_paths(dir: &Path, suffix: &str) -> Result<BTreeMap<usize, PathBuf>, Error> {
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

/// A results line as [`run_shard`] writes it (before its checksum, [`shard::seal`]), read
/// whole: a line with a field unknown, missing or of another type is not a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase", deny_unknown_fields)]
pub enum Line {
    /// A unit is starting.
    Started {
        /// Its id.
        unit: String,
        /// The runner's host.
        host: String,
        /// The runner's pid.
        pid: u32,
        /// When (seconds since the epoch).
        at: f64,
    },
    /// A unit is done.
    Done {
        /// Its id.
        unit: String,
        /// Its point.
        point: usize,
        /// Its part.
        part: usize,
        /// Its first trial.
        first: u64,
        /// One past its last trial.
        end: u64,
        /// How long it took.
        seconds: f64,
        /// The runner's host.
        host: String,
        /// Each trial's record, in trial order ([`super::record`]).
        records: Vec<Json>,
    },
    /// A unit failed.
    Failed {
        /// Its id.
        unit: String,
        /// Its point.
        point: usize,
        /// Its part.
        part: usize,
        /// Its first trial.
        first: u64,
        /// One past its last trial.
        end: u64,
        /// The runner's host.
        host: String,
        /// The error.
        error: String,
    },
}

/// Reads every results file of `dir` against `plan`: each line read whole as a [`Line`] of a
/// unit of the plan, a done line's records each read as the experiment's record; any other
/// line is a problem, named by its file and line number.
pub fn results(dir: &Path, plan: &PlanFile) -> Result<Results, Error> {
    let by_id: BTreeMap<&str, &Unit> = plan.units.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut out = Results::default();
    for path in shard_paths(dir, ".jsonl")?.into_values() {
        let contents = shard::read(&path)?;
        out.problems
            .extend(contents.corrupt.iter().map(ToString::to_string));
        for (n, line) in contents.lines {
            let at = || format!("{}: line {n}", path.display());
            let line: Line = match serde_json::from_value(Json::Object(line)) {
                Ok(l) => l,
                Err(e) => {
                    out.problems
                        .push(format!("{}: not a results line ({e})", at()));
                    continue;
                }
            };
            let id = match &line {
                Line::Started { unit, .. }
                | Line::Done { unit, .. }
                | Line::Failed { unit, .. } => unit.clone(),
            };
            let Some(unit) = by_id.get(id.as_str()) else {
                out.problems.push(format!(
                    "{}: unit '{}' is not a unit of this plan (a line of another sweep?)",
                    at(),
                    crate::error::cut(&id)
                ));
                continue;
            };
            let state = match line_state(line, unit, &plan.experiment) {
                Ok(s) => s,
                Err(reason) => {
                    out.problems.push(format!("{}: {reason}", at()));
                    continue;
                }
            };
            // Done wins (twice, from a shard rerun with another count, the records must
            // agree); otherwise the later line.
            match (&state, out.units.get(&id)) {
                (UnitState::Done(new), Some(UnitState::Done(old))) if new != old => {
                    out.problems.push(format!(
                        "{}: unit {id} is done twice with different records",
                        at()
                    ));
                }
                (_, Some(UnitState::Done(_))) => {}
                _ => {
                    out.units.insert(id, state);
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
fn line_state(line: Line, unit: &Unit, experiment: &str) -> Result<UnitState, String> {
    let check = |point: usize, part: usize, first: u64, end: u64| {
        if (point, part, first, end) == (unit.point, unit.part, unit.first, unit.end) {
            Ok(())
        } else {
            Err(format!(
                "unit {} is point {}, part {}, trials {}..{} in the plan, and point {point}, part {part}, trials {first}..{end} here",
                unit.id, unit.point, unit.part, unit.first, unit.end
            ))
        }
    };
    match line {
        Line::Done {
            point,
            part,
            first,
            end,
            records,
            ..
        } => {
            check(point, part, first, end)?;
            if records.len() as u64 != unit.end - unit.first {
                return Err(format!(
                    "unit {} has {} records, expected {}",
                    unit.id,
                    records.len(),
                    unit.end - unit.first
                ));
            }
            for (k, r) in records.iter().enumerate() {
                job::check_record(experiment, r).map_err(|e| {
                    format!(
                        "unit {}: the record of trial {} is not a record of `radex {experiment}` ({e})",
                        unit.id,
                        unit.first + k as u64
                    )
                })?;
            }
            Ok(UnitState::Done(records))
        }
        Line::Failed {
            point,
            part,
            first,
            end,
            error,
            ..
        } => {
            check(point, part, first, end)?;
            Ok(UnitState::Failed(error))
        }
        Line::Started { pid, host, .. } => Ok(UnitState::Started(Owner { pid, host })),
    }
}

/// Refuses `dir`'s locks held by a live runner that deals the units to another number of
/// shards than `of`: both would run the same units.
fn check_sharding(dir: &Path, shard: usize, of: usize) -> Result<(), Error> {
    for (j, lock) in shard_paths(dir, ".lock")? {
        if j == shard {
            continue;
        }
        let Ok(text) = fs::read_to_string(&lock) else {
            continue;
        };
        if let Some((owner, Some(shards))) = shard::parse_lock(&text) {
            if shards != of && !owner.is_gone() {
                return Err(Error::OtherSharding {
                    lock,
                    shard: j,
                    shards,
                    owner,
                    of,
                });
            }
        }
    }
    Ok(())
}

/// The error of results lines that are not results of the plan.
fn not_results(problems: &[String]) -> Error {
    Error::Results(format!(
        "{} line(s) of the results are not results of this plan, first: {}; repair or remove them by hand",
        problems.len(),
        problems[0]
    ))
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
) -> Result<ShardRun, Error> {
    let path = shard_file(dir, shard);
    let results_dir = dir.join(RESULTS_DIR);
    fs::create_dir_all(&results_dir).map_err(io_at(&results_dir))?;
    let lock = Lock::acquire(&lock_file(dir, shard), of)?;
    // Under this shard's lock, which says its number of shards to a runner starting now.
    check_sharding(dir, shard, of)?;
    // Done anywhere (another sharding may have run it), read under this shard's lock; a line
    // that is not a result of the plan is refused before anything is written.
    let seen = results(dir, plan)?;
    if !seen.problems.is_empty() {
        return Err(not_results(&seen.problems));
    }
    let (mut writer, _) = Writer::open(&path, lock)?;
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
        writer.append(&Line::Started {
            unit: unit.id.clone(),
            host: me.host.clone(),
            pid: me.pid,
            at: now(),
        })?;
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
                writer.append(&Line::Done {
                    unit: unit.id.clone(),
                    point: unit.point,
                    part: unit.part,
                    first: unit.first,
                    end: unit.end,
                    seconds,
                    host: me.host.clone(),
                    records,
                })?;
                out.done += 1;
                log(Event::Done(unit, seconds));
            }
            Err(message) => {
                writer.append(&Line::Failed {
                    unit: unit.id.clone(),
                    point: unit.point,
                    part: unit.part,
                    first: unit.first,
                    end: unit.end,
                    host: me.host.clone(),
                    error: message.clone(),
                })?;
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
pub fn status(dir: &Path, plan: &PlanFile) -> Result<Status, Error> {
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
) -> Result<Vec<(usize, Merged)>, Error> {
    let mut r = results(dir, plan)?;
    if !r.problems.is_empty() {
        return Err(not_results(&r.problems));
    }
    let done = |r: &Results, u: &Unit| matches!(r.units.get(&u.id), Some(UnitState::Done(_)));
    let missing = plan.units.iter().filter(|u| !done(&r, u)).count();
    if missing > 0 && !partial {
        let failed = plan
            .units
            .iter()
            .filter(|u| matches!(r.units.get(&u.id), Some(UnitState::Failed(_))))
            .count();
        return Err(Error::Incomplete {
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
        let (job, _) = job_of(&plan.experiment, &point.args).map_err(|message| Error::Point {
            point: i,
            args: point.args.join(" "),
            message,
        })?;
        let merged = job.merge(&parts).map_err(|cause| Error::Merge {
            point: i,
            cause: Box::new(cause),
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_results_line_round_trips_and_one_with_a_field_unknown_or_missing_is_refused() {
        let lines = [
            Line::Started {
                unit: "ab".into(),
                host: "h".into(),
                pid: 7,
                at: 1.5,
            },
            Line::Done {
                unit: "ab".into(),
                point: 1,
                part: 2,
                first: 3,
                end: 5,
                seconds: 0.25,
                host: "h".into(),
                records: vec![Json::from(0.5), Json::from(1.0)],
            },
            Line::Failed {
                unit: "ab".into(),
                point: 1,
                part: 2,
                first: 3,
                end: 5,
                host: "h".into(),
                error: "no".into(),
            },
        ];
        for line in lines {
            let text = serde_json::to_string(&line).unwrap();
            assert_eq!(serde_json::from_str::<Line>(&text).unwrap(), line, "{text}");
            let extra = text.replacen('{', "{\"x\":1,", 1);
            assert!(serde_json::from_str::<Line>(&extra).is_err(), "{extra}");
            let renamed = text.replacen("\"host\"", "\"hots\"", 1);
            assert!(serde_json::from_str::<Line>(&renamed).is_err(), "{renamed}");
        }
        assert!(serde_json::from_str::<Line>("{\"event\":\"other\",\"unit\":\"ab\"}").is_err());
    }
}
