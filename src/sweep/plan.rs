//! A sweep's plan. A TOML file names an experiment and gives its flags by their long
//! names (`pgd_steps` or `pgd-steps`). A list is a grid axis, and the grid is the product of
//! the lists; `zip = [["arch", "init"]]` makes axes vary together instead. A list-valued flag
//! is written as on the command line, as one string (`eps = "0.1,0.2"`); `true` is a switch.
//! Each grid point is a complete command line of the experiment. Each part of its trials
//! ([`Part`]) is cut into units of about `unit_seconds` on one thread by the cost model, or
//! of at most `unit_trials` (the per-trial streams make trial ranges independent), each with a
//! stable id: a hash of the point's command line, the part and the range, the same on every
//! machine and every run. [`assign`] deals the units to shards by estimated time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::Error;
use super::job::Part;

/// Keys of a plan file that are not flags.
const EXPERIMENT: &str = "experiment";
const ZIP: &str = "zip";
const UNIT_TRIALS: &str = "unit_trials";
const UNIT_SECONDS: &str = "unit_seconds";
/// Flags of a single run that a sweep sets itself (`sweep run --threads`, `sweep merge
/// --format/--out/--plot`).
const NOT_IN_PLAN: &[&str] = &["threads", "format", "out", "plot", "help"];

fn err(key: &str, reason: impl Into<String>) -> Error {
    Error::Plan {
        key: key.into(),
        reason: reason.into(),
    }
}

/// A parsed plan: the experiment, its axes (a fixed flag is an axis of one value) and the unit
/// size.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// The subcommand, e.g. `attack`.
    pub experiment: String,
    /// The axes, in the order of the grid (the last fastest).
    pub axes: Vec<Axis>,
    /// How large a unit is.
    pub size: UnitSize,
}

/// How large a unit is.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitSize {
    /// At most this many trials (`unit_trials`).
    Trials(usize),
    /// About this many seconds on one thread, from the cost model (`unit_seconds`).
    Seconds(f64),
}

/// Flags that vary together (one flag, or a `zip` group; a fixed flag is an axis of one
/// value).
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The flags' names, without `--`.
    pub flags: Vec<String>,
    /// One row per grid step: each flag's value (`None`: a switch left off).
    pub rows: Vec<Vec<Option<String>>>,
}

/// The most grid points a plan may have: more would not be a figure but a mistake (ten flags
/// of ten values are `10^10` points), and each point is validated and written into
/// `plan.json`. The count is the product of the axes' lengths, taken before any point is made.
pub const MAX_POINTS: usize = 100_000;

/// The most units a plan may have (about 150 MB of `plan.json`): a plan of many trials in
/// tiny units (`unit_trials = 1`) is refused before its units are made.
pub const MAX_UNITS: usize = 1_000_000;

/// A unit's estimated time on one thread when the plan does not say: short enough that a
/// killed shard loses little and shards balance, long enough that the per-unit cost
/// (validating the point, one fsync) is nothing beside it.
pub const DEFAULT_UNIT_SECONDS: f64 = 60.0;

/// One value of a flag: `Some(text)` for `--flag text`, `Some("")` for a switch that is on,
/// `None` for one that is off.
fn flag_value(key: &str, v: &toml::Value) -> Result<Option<String>, Error> {
    Ok(Some(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        // Rust prints the shortest text that reads back as the same f64.
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(true) => String::new(),
        toml::Value::Boolean(false) => return Ok(None),
        _ => {
            return Err(err(
                key,
                "expected a string, number or boolean (a list-valued flag is one string, e.g. \"0.1,0.2\")",
            ));
        }
    }))
}

impl Spec {
    /// Parses a plan file's text.
    pub fn parse(text: &str) -> Result<Spec, Error> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| err("toml", e.message().to_string()))?;
        let experiment = match table.get(EXPERIMENT) {
            Some(toml::Value::String(s)) => s.clone(),
            _ => {
                return Err(err(
                    EXPERIMENT,
                    "expected the subcommand's name, e.g. \"attack\"",
                ));
            }
        };
        let size = match (table.get(UNIT_TRIALS), table.get(UNIT_SECONDS)) {
            (Some(_), Some(_)) => {
                return Err(err(
                    UNIT_SECONDS,
                    "give unit_trials or unit_seconds, not both",
                ));
            }
            (None, None) => UnitSize::Seconds(DEFAULT_UNIT_SECONDS),
            (Some(toml::Value::Integer(n)), None) if *n >= 1 => UnitSize::Trials(*n as usize),
            (Some(_), None) => return Err(err(UNIT_TRIALS, "expected a whole number >= 1")),
            (None, Some(v)) => match v.as_float().or(v.as_integer().map(|i| i as f64)) {
                Some(s) if s > 0.0 && s.is_finite() => UnitSize::Seconds(s),
                _ => return Err(err(UNIT_SECONDS, "expected a number of seconds > 0")),
            },
        };
        // Each flag's values (a fixed flag has one), by its flag name.
        let mut values: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        for (key, v) in &table {
            if [EXPERIMENT, ZIP, UNIT_TRIALS, UNIT_SECONDS].contains(&key.as_str()) {
                continue;
            }
            let flag = key.replace('_', "-");
            if NOT_IN_PLAN.contains(&flag.as_str()) {
                return Err(err(
                    key,
                    "is not a flag of a plan: give it to `radex sweep run` (threads) or `radex sweep merge` (format, out, plot)",
                ));
            }
            let list = match v {
                toml::Value::Array(items) if items.is_empty() => {
                    return Err(err(key, "an empty list gives an empty grid"));
                }
                toml::Value::Array(items) => items
                    .iter()
                    .map(|i| flag_value(key, i))
                    .collect::<Result<_, _>>()?,
                v => vec![flag_value(key, v)?],
            };
            if values.insert(flag, list).is_some() {
                return Err(err(key, "given twice, once with `_` and once with `-`"));
            }
        }
        let zip: Vec<Vec<String>> = match table.get(ZIP) {
            None => Vec::new(),
            Some(z) => z.clone().try_into().map_err(|_| {
                err(
                    ZIP,
                    "expected lists of flag names, e.g. [[\"arch\", \"init\"]]",
                )
            })?,
        };
        let mut grouped: BTreeMap<String, usize> = BTreeMap::new();
        for (g, group) in zip.iter().enumerate() {
            for key in group {
                let flag = key.replace('_', "-");
                if !values.contains_key(&flag) {
                    return Err(err(ZIP, format!("'{key}' is not a flag of the plan")));
                }
                if grouped.insert(flag, g).is_some() {
                    return Err(err(ZIP, format!("'{key}' is in two groups")));
                }
            }
        }
        // Axes in the order of their first flag's name; a zipped group is one axis.
        let mut axes: Vec<Axis> = Vec::new();
        let mut placed = vec![false; zip.len()];
        for flag in values.keys() {
            let flags: Vec<String> = match grouped.get(flag) {
                Some(&g) if placed[g] => continue,
                Some(&g) => {
                    placed[g] = true;
                    zip[g].iter().map(|k| k.replace('_', "-")).collect()
                }
                None => vec![flag.clone()],
            };
            let n = values[&flags[0]].len();
            if let Some(f) = flags.iter().find(|f| values[*f].len() != n) {
                return Err(err(
                    ZIP,
                    format!(
                        "'{}' has {n} values and '{f}' {}: zipped lists must be as long",
                        flags[0],
                        values[f].len()
                    ),
                ));
            }
            let rows = (0..n)
                .map(|i| flags.iter().map(|f| values[f][i].clone()).collect())
                .collect();
            axes.push(Axis { flags, rows });
        }
        Ok(Spec {
            experiment,
            axes,
            size,
        })
    }

    /// The number of grid points, the product of the axes' lengths; `None` past `usize::MAX`.
    pub fn count(&self) -> Option<usize> {
        self.axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.rows.len()))
    }

    /// The grid's size refused when it is over [`MAX_POINTS`], before any point is made.
    pub fn check_count(&self) -> Result<usize, Error> {
        let lengths = || {
            self.axes
                .iter()
                .filter(|a| a.rows.len() > 1)
                .map(|a| a.rows.len().to_string())
                .collect::<Vec<_>>()
                .join(" x ")
        };
        match self.count() {
            Some(n) if n <= MAX_POINTS => Ok(n),
            n => Err(err(
                "grid",
                format!(
                    "the grid has {} points ({}), expected at most {MAX_POINTS}; split the plan into several, or zip the lists that vary together",
                    n.map_or(format!("more than {}", usize::MAX), |n| n.to_string()),
                    lengths()
                ),
            )),
        }
    }

    /// Grid point `i`'s flags as command-line arguments (after the subcommand); the last axis
    /// varies fastest.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`Spec::count`].
    pub fn point(&self, i: usize) -> Vec<String> {
        assert!(self.count().is_some_and(|n| i < n), "point {i} of the grid");
        let mut steps = vec![0; self.axes.len()];
        let mut rest = i;
        for (k, a) in self.axes.iter().enumerate().rev() {
            steps[k] = rest % a.rows.len();
            rest /= a.rows.len();
        }
        let mut q = Vec::new();
        for (Axis { flags, rows }, &k) in self.axes.iter().zip(&steps) {
            for (f, v) in flags.iter().zip(&rows[k]) {
                match v {
                    None => {}
                    Some(s) if s.is_empty() => q.push(format!("--{f}")),
                    Some(s) => q.extend([format!("--{f}"), s.clone()]),
                }
            }
        }
        q
    }

    /// Every grid point's flags, in order ([`Spec::point`]), made one at a time.
    ///
    /// # Panics
    ///
    /// If the grid has more than `usize::MAX` points ([`Spec::check_count`] first).
    pub fn points(&self) -> impl Iterator<Item = Vec<String>> + '_ {
        let n = self.count().expect("a grid of at most usize::MAX points");
        (0..n).map(|i| self.point(i))
    }
}
/// One unit: a grid point, one of its parts and a range of that part's trials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// A hash of the experiment, the point's arguments, the part and the range (16 hex
    /// digits).
    pub id: String,
    /// Index of the point in the plan.
    pub point: usize,
    /// Index of the part in the point.
    pub part: usize,
    /// First trial.
    pub first: u64,
    /// One past the last trial.
    pub end: u64,
    /// The cost model's estimate on one thread, in seconds.
    pub seconds: f64,
}

/// The trials in a unit of `part` cut by `size`.
fn step(part: &Part, size: UnitSize) -> u64 {
    match size {
        UnitSize::Trials(n) => n.max(1) as u64,
        UnitSize::Seconds(s) => ((s / part.seconds_per_trial).floor() as u64).max(1),
    }
}

/// The number of units [`units`] cuts `parts` into, without making them; `None` past
/// `usize::MAX`.
pub fn unit_count(parts: &[Part], size: UnitSize) -> Option<usize> {
    parts.iter().try_fold(0usize, |n, p| {
        n.checked_add(usize::try_from(p.trials.div_ceil(step(p, size))).ok()?)
    })
}

/// The units of a point: each part's trials cut into ranges of `size`.
pub fn units(
    experiment: &str,
    point: usize,
    args: &[String],
    parts: &[Part],
    size: UnitSize,
) -> Vec<Unit> {
    let mut out = Vec::new();
    for (j, part) in parts.iter().enumerate() {
        let step = step(part, size);
        for k in 0..part.trials.div_ceil(step) {
            // k * step < trials, and (k + 1) * step at most trials + step - 1: no overflow
            // unless that passes u64::MAX.
            let (first, end) = (k * step, (k * step).saturating_add(step).min(part.trials));
            let mut h = Sha256::new();
            // NUL-separated: no argument holds a NUL, so distinct lists hash distinct texts.
            let range = format!("{first}..{end}");
            for text in std::iter::once(experiment)
                .chain(args.iter().map(String::as_str))
                .chain([part.name.as_str(), range.as_str()])
            {
                h.update(text.as_bytes());
                h.update([0]);
            }
            let digest = h.finalize();
            let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            out.push(Unit {
                id,
                point,
                part: j,
                first,
                end,
                seconds: (end - first) as f64 * part.seconds_per_trial,
            });
        }
    }
    out
}

/// The shard of each unit, `n` shards: the longest units first, each to the shard with the
/// least estimated work so far (ties to the lowest index), so shards finish together.
pub fn assign(units: &[Unit], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| {
        units[b]
            .seconds
            .total_cmp(&units[a].seconds)
            .then(a.cmp(&b))
    });
    let mut load = vec![0.0f64; n.max(1)];
    let mut shard = vec![0; units.len()];
    for u in order {
        let s = (0..load.len())
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .expect("n >= 1");
        load[s] += units[u].seconds;
        shard[u] = s;
    }
    shard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_make_a_product_grid_with_the_last_axis_fastest() {
        let s = Spec::parse(
            "experiment = \"attack\"\narch = [\"200,200\", \"d,d\"]\ninit = [\"nn\", \"he\"]\n\
             trials = 400\nseed = 5\nrandom_start = true\nper_trial = false\neps = \"0.1,0.2\"\n",
        )
        .unwrap();
        assert_eq!(s.experiment, "attack");
        let p: Vec<Vec<String>> = s.points().collect();
        assert_eq!(p.len(), 4);
        assert_eq!(
            p[1],
            [
                "--arch",
                "200,200",
                "--eps",
                "0.1,0.2",
                "--init",
                "he",
                "--random-start",
                "--seed",
                "5",
                "--trials",
                "400"
            ]
        );
        assert_eq!(p[2][1], "d,d");
        assert_eq!(p[2][5], "nn");
    }

    #[test]
    fn zipped_axes_vary_together() {
        let s = Spec::parse(
            "experiment = \"attack\"\narch = [\"200,200\", \"d,d\"]\ninit = [\"nn\", \"he\"]\n\
             seed = [1, 2, 3]\nzip = [[\"arch\", \"init\"]]\n",
        )
        .unwrap();
        let p: Vec<Vec<String>> = s.points().collect();
        assert_eq!(p.len(), 6);
        assert_eq!(p[0], ["--arch", "200,200", "--init", "nn", "--seed", "1"]);
        assert_eq!(p[5], ["--arch", "d,d", "--init", "he", "--seed", "3"]);
    }

    #[test]
    fn bad_plans_name_the_key() {
        for (text, key) in [
            ("arch = \"1,2\"", "experiment"),
            ("experiment = \"attack\"\narch = []", "arch"),
            ("experiment = \"attack\"\narch = [[1]]", "arch"),
            ("experiment = \"attack\"\nunit_trials = 0", "unit_trials"),
            ("experiment = \"attack\"\nunit_seconds = -1", "unit_seconds"),
            ("experiment = \"attack\"\nthreads = 2", "threads"),
            (
                "experiment = \"attack\"\na = [1, 2]\nb = [1]\nzip = [[\"a\", \"b\"]]",
                "zip",
            ),
            (
                "experiment = \"attack\"\na = [1, 2]\nzip = [[\"a\", \"c\"]]",
                "zip",
            ),
            (
                "experiment = \"attack\"\npgd_steps = 1\n\"pgd-steps\" = 2",
                "pgd_steps",
            ),
            ("experiment = ", "toml"),
        ] {
            let e = Spec::parse(text).unwrap_err();
            assert!(
                matches!(&e, Error::Plan { key: k, .. } if k == key),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn units_cover_the_trials_once_with_ids_that_depend_on_point_part_and_range() {
        let args: Vec<String> = ["--arch", "200,200"].map(String::from).to_vec();
        let parts = |t: u64| {
            vec![Part {
                name: "trials".into(),
                trials: t,
                seconds_per_trial: 0.5,
            }]
        };
        let u = units("attack", 0, &args, &parts(120), UnitSize::Trials(50));
        let ranges: Vec<(u64, u64)> = u.iter().map(|u| (u.first, u.end)).collect();
        assert_eq!(ranges, [(0, 50), (50, 100), (100, 120)]);
        assert_eq!(u[2].seconds, 10.0);
        assert_eq!(
            u,
            units("attack", 0, &args, &parts(120), UnitSize::Trials(50)),
            "stable"
        );
        // 0.5 s per trial, 20 s per unit: 40 trials each.
        let by_time = units("attack", 0, &args, &parts(120), UnitSize::Seconds(20.0));
        assert_eq!(
            by_time.iter().map(|u| u.end - u.first).collect::<Vec<_>>(),
            [40, 40, 40]
        );
        let other: Vec<String> = ["--arch", "200,201"].map(String::from).to_vec();
        let v = units("attack", 0, &other, &parts(120), UnitSize::Trials(50));
        let mut ids: Vec<&str> = u.iter().chain(&v).map(|u| u.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 6, "distinct ids");
        assert!(u.iter().all(|u| u.id.len() == 16));
    }

    #[test]
    fn shards_get_about_equal_work() {
        let unit = |seconds: f64| Unit {
            id: String::new(),
            point: 0,
            part: 0,
            first: 0,
            end: 1,
            seconds,
        };
        let us: Vec<Unit> = [8.0, 1.0, 4.0, 4.0, 2.0, 1.0].map(unit).to_vec();
        let s = assign(&us, 2);
        let load = |k: usize| -> f64 {
            us.iter()
                .zip(&s)
                .filter(|&(_, &t)| t == k)
                .map(|(u, _)| u.seconds)
                .sum()
        };
        assert_eq!((load(0), load(1)), (10.0, 10.0));
        assert_eq!(assign(&us, 1), vec![0; 6]);
    }

    #[test]
    fn a_grid_over_the_limit_is_counted_not_made() {
        // Ten flags of ten values: 10^10 points, counted in no time.
        let mut text = String::from("experiment = \"attack\"\n");
        for f in 0..10 {
            let vals: Vec<String> = (0..10).map(|v| v.to_string()).collect();
            text.push_str(&format!("f{f} = [{}]\n", vals.join(", ")));
        }
        let s = Spec::parse(&text).unwrap();
        assert_eq!(s.count(), Some(10_000_000_000));
        let e = s.check_count().unwrap_err();
        assert!(
            matches!(&e, Error::Plan { key, .. } if key == "grid"),
            "{e}"
        );
        let m = e.to_string();
        assert!(
            m.contains("10000000000") && m.contains(&MAX_POINTS.to_string()),
            "{m}"
        );
        // Past usize::MAX, the count says so.
        for f in 10..30 {
            text.push_str(&format!("f{f} = [{}]\n", ["1"; 20].join(", ")));
        }
        let s = Spec::parse(&text).unwrap();
        assert_eq!(s.count(), None);
        assert!(
            s.check_count()
                .unwrap_err()
                .to_string()
                .contains("more than")
        );
        // The last point, made alone, is the last of the product.
        let small = Spec::parse("experiment = \"attack\"\na = [1, 2]\nb = [3, 4, 5]\n").unwrap();
        assert_eq!(small.check_count().unwrap(), 6);
        assert_eq!(small.point(5), ["--a", "2", "--b", "5"]);
        assert_eq!(small.points().count(), 6);
    }

    #[test]
    fn units_are_counted_without_being_made() {
        let part = |trials: u64| Part {
            name: "trials".into(),
            trials,
            seconds_per_trial: 0.5,
        };
        let parts = [part(120), part(7)];
        for size in [
            UnitSize::Trials(50),
            UnitSize::Trials(1),
            UnitSize::Seconds(20.0),
        ] {
            assert_eq!(
                unit_count(&parts, size),
                Some(units("attack", 0, &[], &parts, size).len()),
                "{size:?}"
            );
        }
        assert_eq!(
            unit_count(&[part(u64::MAX), part(u64::MAX)], UnitSize::Trials(1)),
            None
        );
    }
}
