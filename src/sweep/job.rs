//! A grid point of a sweep as an experiment cut into parts and trial ranges:
//! `radex attack` (MATH 3; with `--compare-init`, MATH 10: the given network's trials, then
//! its initialisation's), `radex depth` (MATH 6 and 9: one part per depth), `radex minpert`
//! (MATH 7: one part per width `k`) and `radex phase` (MATH 9: one part per cell). A unit
//! runs a range of one part's trials; its records are every trial's raw measurement, and the merged
//! report is built from them by the same function one run uses, so it is bitwise the report
//! of one run: trial `t` draws its network and input from the streams of `(seed, t)` alone.

use std::ops::Range;

use serde::Serialize;
use serde_json::Value as Json;

use super::error::Error;
use super::record;
use crate::experiment::attack::{self, AttackParams, TrialRecord};
use crate::experiment::compare::{self, AttackOutput};
use crate::experiment::depth::{self, DepthParams, DepthReport, DepthTrial};
use crate::experiment::minpert::{self, MinPertParams, MinPertReport};
use crate::experiment::phase::{self, PhaseParams, PhaseReport};
use crate::experiment::runner::Exec;
use crate::progress::Progress;
use crate::report::Report;

/// The experiments a sweep can run.
pub const EXPERIMENTS: &[&str] = &["attack", "depth", "minpert", "phase"];

/// One grid point, validated.
#[derive(Clone, Debug)]
pub enum Job {
    /// `radex attack`; `per_trial` as `--per-trial`.
    Attack {
        /// The run.
        params: Box<AttackParams>,
        /// Print every trial's record too.
        per_trial: bool,
    },
    /// `radex depth`.
    Depth(Box<DepthParams>),
    /// `radex minpert`.
    Minpert(Box<MinPertParams>),
    /// `radex phase`.
    Phase(Box<PhaseParams>),
}

/// Trials of a point that are run and merged together.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Part {
    /// `trials`; `given`, `init` (`--compare-init`); `depth 16`.
    pub name: String,
    /// How many.
    pub trials: u64,
    /// The cost model's estimate of one trial on one thread, in seconds.
    pub seconds_per_trial: f64,
}

/// Seconds per weight drawn and stored (dense sampler, one thread).
const DRAW_SECONDS: f64 = 10e-9;
/// Seconds per weight and query vector (products with batches of queries, one thread).
const QUERY_SECONDS: f64 = 0.15e-9;

/// The cost model: a network's weights drawn once and multiplied by each query vector. A lazy
/// network draws only what its queries reveal, about `queries` directions of each layer.
/// The constants were fitted on a 2-core Xeon (2026-11-30) to `radex attack` at 2000^3 dense
/// (one-step, 104 ms a trial) and 500^3 dense (every attack, 32 ms); at 1000^3 (every
/// attack), 2000^3 lazy and 100000,d,d lazy the estimate is within a factor 2 of the measured
/// time, and `plans/slope.toml` took 1.3 times its estimate. Deep networks take longer than it
/// says, as the attacks iterate more: `radex depth --width 256` units took 0.5-0.8 times the
/// estimate at depths 1-8, 1.1 at 16, 1.5 at 32, 2 at 64 and 3.3-3.7 at 128-512. Units are
/// sized by it only to balance shards; `unit_trials` sets them by hand.
fn seconds_per_trial(p: &AttackParams, extra_queries: usize) -> f64 {
    let q = (p.queries_per_network() + extra_queries) as f64;
    let weights = match p.sampler {
        crate::net::Sampler::Dense => p.arch.n_weights() as f64,
        crate::net::Sampler::Lazy => {
            let widths: f64 = p.arch.widths.iter().map(|&w| w as f64).sum();
            (q * (widths + p.arch.d as f64)).min(p.arch.n_weights() as f64)
        }
    };
    weights * (DRAW_SECONDS + q * QUERY_SECONDS)
}

/// What a merge prints for a point.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Merged {
    /// `radex attack`'s output.
    Attack(Box<AttackOutput>),
    /// `radex depth`'s report.
    Depth(Box<DepthReport>),
    /// `radex minpert`'s report.
    Minpert(Box<MinPertReport>),
    /// `radex phase`'s report.
    Phase(Box<PhaseReport>),
}

impl Report for Merged {
    fn table(&self) -> String {
        match self {
            Merged::Attack(r) => r.table(),
            Merged::Depth(r) => r.table(),
            Merged::Minpert(r) => r.table(),
            Merged::Phase(r) => r.table(),
        }
    }

    fn csv(&self) -> String {
        match self {
            Merged::Attack(r) => r.csv(),
            Merged::Depth(r) => r.csv(),
            Merged::Minpert(r) => r.csv(),
            Merged::Phase(r) => r.csv(),
        }
    }
}

impl Job {
    /// The point's parts, in the order of its report.
    pub fn parts(&self) -> Result<Vec<Part>, Error> {
        Ok(match self {
            Job::Attack { params, .. } => {
                let part = |name: &str, p: &AttackParams| Part {
                    name: name.into(),
                    trials: p.trials as u64,
                    seconds_per_trial: seconds_per_trial(p, 0),
                };
                match &params.compare {
                    None => vec![part("trials", params)],
                    Some(q) => vec![part("given", params), part("init", q)],
                }
            }
            Job::Depth(p) => p
                .depths
                .iter()
                .map(|&l| {
                    Ok(Part {
                        name: format!("depth {l}"),
                        trials: p.trials as u64,
                        seconds_per_trial: seconds_per_trial(&p.attack(l)?, 2 + 2 * p.pairs),
                    })
                })
                .collect::<crate::error::Result<_>>()?,
            Job::Minpert(p) => p
                .ks
                .iter()
                .map(|&k| {
                    // Drawing W_1 (k x d), and a QR or Gram of it: about 2 min(k,d)^2 max(k,d)
                    // flops, each about half a weight-query's time.
                    let (lo, hi) = (k.min(p.d) as f64, k.max(p.d) as f64);
                    Part {
                        name: format!("k {k}"),
                        trials: p.runs as u64,
                        seconds_per_trial: lo * hi * DRAW_SECONDS + lo * lo * hi * QUERY_SECONDS,
                    }
                })
                .collect(),
            Job::Phase(p) => p
                .grid()
                .into_iter()
                .map(|(s, b)| {
                    let cell = p.cell(s, b);
                    Ok(Part {
                        name: format!("sigma_w2 {s} sigma_b {b}"),
                        trials: p.trials as u64,
                        seconds_per_trial: seconds_per_trial(
                            &cell.attack(p.depth)?,
                            2 + 2 * cell.pairs,
                        ),
                    })
                })
                .collect::<crate::error::Result<_>>()?,
        })
    }

    /// Flags whose value the planning machine decided, resolved (`--sampler auto`, which
    /// depends on the memory there): written into the point, so a shard on a node with
    /// another memory size draws the same networks.
    pub fn pins(&self) -> Vec<(&'static str, String)> {
        match self {
            Job::Attack { params, .. } => {
                let sampler = match params.sampler {
                    crate::net::Sampler::Dense => "dense",
                    crate::net::Sampler::Lazy => "lazy",
                };
                vec![("--sampler", sampler.into())]
            }
            Job::Depth(_) | Job::Minpert(_) | Job::Phase(_) => Vec::new(),
        }
    }

    /// The records of trials `trials` of part `part`, as JSON (lossless, [`record`]).
    pub fn run(
        &self,
        part: usize,
        trials: Range<u64>,
        exec: &Exec,
        progress: &dyn Progress,
    ) -> Result<Vec<Json>, Error> {
        match self {
            Job::Attack { params, .. } => {
                let p = if part == 0 {
                    params.as_ref()
                } else {
                    params
                        .compare
                        .as_deref()
                        .expect("part 1 is the initialisation")
                };
                encode(&attack::run_trial_range(p, trials, exec, progress), part)
            }
            Job::Depth(p) => encode(
                &depth::depth_trials(p, p.depths[part], trials, exec, progress)?,
                part,
            ),
            Job::Minpert(p) => encode(&minpert::runs(p, p.ks[part], trials, exec, progress), part),
            Job::Phase(p) => {
                let (s, b) = p.grid()[part];
                encode(
                    &depth::depth_trials(&p.cell(s, b), p.depth, trials, exec, progress)?,
                    part,
                )
            }
        }
    }

    /// The point's report from each part's records in trial order (`parts[i]` of part `i`).
    pub fn merge(&self, parts: &[Vec<Json>]) -> Result<Merged, Error> {
        let expected = self.parts()?;
        for (i, (recs, part)) in parts.iter().zip(&expected).enumerate() {
            if recs.len() as u64 != part.trials {
                return Err(Error::Count {
                    part: i,
                    got: recs.len(),
                    expected: part.trials,
                });
            }
        }
        match self {
            Job::Attack { params, per_trial } => {
                let given = decode::<TrialRecord>(&parts[0], 0)?;
                let init = match parts.get(1) {
                    Some(recs) => Some(decode::<TrialRecord>(recs, 1)?),
                    None => None,
                };
                Ok(Merged::Attack(Box::new(compare::attack_output(
                    params, given, init, *per_trial,
                ))))
            }
            Job::Depth(p) => {
                let outs = decode_parts::<DepthTrial>(parts)?;
                Ok(Merged::Depth(Box::new(depth::assemble(p, &outs)?)))
            }
            Job::Minpert(p) => {
                let values = decode_parts::<f64>(parts)?;
                Ok(Merged::Minpert(Box::new(minpert::assemble(p, values))))
            }
            Job::Phase(p) => {
                let outs = decode_parts::<DepthTrial>(parts)?;
                Ok(Merged::Phase(Box::new(phase::assemble(p, &outs)?)))
            }
        }
    }
}

/// Whether `j` is exactly a record of `experiment`'s units: read as its record type, it is
/// written back the same (a field unknown, renamed, missing or of another type is not).
pub fn check_record(experiment: &str, j: &Json) -> Result<(), Error> {
    match experiment {
        "attack" => same::<TrialRecord>(j),
        "depth" | "phase" => same::<DepthTrial>(j),
        "minpert" => same::<f64>(j),
        other => Err(Error::record(format!("'{other}' cannot be swept"))),
    }
}

fn same<T: Serialize + serde::de::DeserializeOwned>(j: &Json) -> Result<(), Error> {
    let back = record::encode(&record::decode::<T>(j)?)?;
    if back == *j {
        Ok(())
    } else {
        Err(Error::record(
            "it reads back as another record: a field is unknown, or of another type",
        ))
    }
}

fn encode<T: Serialize>(recs: &[T], part: usize) -> Result<Vec<Json>, Error> {
    recs.iter()
        .map(|r| {
            record::encode(r).map_err(|cause| Error::PartRecord {
                part,
                cause: cause.to_string(),
            })
        })
        .collect()
}

/// Every part's records.
fn decode_parts<T: serde::de::DeserializeOwned>(parts: &[Vec<Json>]) -> Result<Vec<Vec<T>>, Error> {
    parts
        .iter()
        .enumerate()
        .map(|(i, recs)| decode(recs, i))
        .collect()
}

fn decode<T: serde::de::DeserializeOwned>(recs: &[Json], part: usize) -> Result<Vec<T>, Error> {
    recs.iter()
        .map(|j| {
            record::decode(j).map_err(|cause| Error::PartRecord {
                part,
                cause: cause.to_string(),
            })
        })
        .collect()
}
