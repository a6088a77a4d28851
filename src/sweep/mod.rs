//! Sweeps (issue 15): a plan of units (parameter points and trial ranges) run in shards on one
//! machine or a Slurm job array, whose results are appended to one file per shard and merged
//! into the report each experiment prints. Any MATH.md section: a sweep runs the experiments
//! that implement them. So far: [`plan`], a plan file expanded into grid points and units, and
//! [`shard`], a shard's results file and its lock.

pub mod plan;
pub mod shard;
