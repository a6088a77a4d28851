//! Sweeps: a plan of units (parameter points and trial ranges) run in shards on one
//! machine or a Slurm job array, whose results are appended to one file per shard and merged
//! into the report each experiment prints: `radex attack` (MATH 3, 9, 10), `radex depth`
//! (MATH 6, 9), `radex minpert` (MATH 7) and `radex phase` (MATH 9). [`plan`] expands a plan file into grid points and units and deals them to
//! shards; [`job`] runs a unit of a point and merges a point's records; [`record`] writes
//! records as JSON losslessly; [`shard`] is a shard's results file and its lock; [`dir`] is a
//! sweep's directory: the plan, running a shard, status and merge; [`render`] writes the
//! merged points, the figure and the status; [`slurm`] makes and submits a job array.

pub mod dir;
pub mod error;
pub mod job;
pub mod plan;
pub mod record;
pub mod render;
pub mod shard;
pub mod slurm;

pub use error::Error;
