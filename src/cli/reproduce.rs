//! `radex reproduce` from the command line: the library runs the plan
//! (`radex::reproduce::run`); this prints its summary, or the commands with `--dry-run`.

use anyhow::{Context, Result};

use crate::args::ReproduceArgs;
use crate::bar::Bar;
use radex::files;
use radex::reproduce::plan::Mode;
use radex::reproduce::run::{self, ReproduceArgs as Args};

/// Runs the whole reproduction; returns whether every verdict agrees.
pub fn run(a: &ReproduceArgs) -> Result<bool> {
    files::check_stdout("--out")?;
    let args = Args {
        mode: if a.quick {
            Mode::Quick
        } else if a.full {
            Mode::Full
        } else {
            Mode::Default
        },
        out: a.out.clone(),
        seed: a.seed,
        threads: a.threads,
        max_memory: a.max_memory.clone(),
    };
    if a.dry_run {
        let commands = run::check(&args)?;
        files::write_stdout(commands.as_bytes()).context("could not write to stdout")?;
        return Ok(true);
    }
    let outcome = run::run(&args, &Bar::default())?;
    files::write_stdout(outcome.text.as_bytes()).context("could not write to stdout")?;
    Ok(outcome.all_agree)
}
