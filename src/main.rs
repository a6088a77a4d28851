//! The `radex` binary: parse flags, validate, run, render, write.

#[cfg(target_os = "linux")]
mod alloc;
mod cli;
mod run_reproduce;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command};
use radex::experiment::{attack, bottleneck, depth, export, linearity, minpert, scaling};
use radex::report::progress::Progress;
use radex::report::rows;
use radex::report::{self, Format, table};

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (content, out) = match &cli.command {
        Command::Reproduce(a) => {
            // Exit code 1 when some verdict disagrees.
            let ok = run_reproduce::run(a)?;
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        Command::Attack(a) => {
            let (p, exec) = a.params()?;
            let progress = Progress::new("attack", p.trials as u64, true);
            let recs = attack::run_trials(&p, &exec, &progress);
            progress.finish();
            let rep = attack::summarise(&p, recs, a.per_trial);
            let s = match a.common.format {
                Format::Table => table::attack_table(&rep),
                Format::Json => report::to_json(&rep),
                Format::Csv => match &rep.per_trial {
                    Some(rows) => report::to_csv(rows),
                    None => report::to_csv(&table::attack_rows(&rep)),
                },
            };
            (s, a.common.out.clone())
        }
        Command::Scaling(s) => {
            let (p, exec) = s.params()?;
            let progress = Progress::new("scaling", (p.trials * p.ds.len()) as u64, true);
            let rep = scaling::run(&p, &exec, &progress)?;
            progress.finish();
            let text = match s.common.format {
                Format::Table => table::scaling_table(&rep),
                Format::Json => report::to_json(&rep),
                Format::Csv => {
                    report::to_csv(&rep.rows.iter().map(ScalingCsv::from).collect::<Vec<_>>())
                }
            };
            (text, s.common.out.clone())
        }
        Command::Linearity(a) => {
            let (p, exec) = a.params()?;
            let progress = Progress::new("linearity", (p.trials * p.archs.len()) as u64, true);
            let rep = linearity::run(&p, &exec, &progress);
            progress.finish();
            if let Some(path) = &a.plot {
                let svg = report::figures::linearity(&rep)?;
                report::emit(&svg, Some(path))
                    .with_context(|| format!("could not write '{}'", path.display()))?;
            }
            let text = match a.common.format {
                Format::Table => table::linearity_table(&rep),
                Format::Json => report::to_json(&rep),
                Format::Csv => report::to_csv(&rows::linearity(&rep)),
            };
            (text, a.common.out.clone())
        }
        Command::Bottleneck(a) => {
            let (p, exec) = a.params()?;
            let progress = Progress::new("bottleneck", p.trials as u64, true);
            let rep = bottleneck::run(&p, &exec, &progress);
            progress.finish();
            let text = match a.common.format {
                Format::Table => table::bottleneck_table(&rep),
                Format::Json => report::to_json(&rep),
                Format::Csv => report::to_csv(&rows::bottleneck(&rep)),
            };
            (text, a.common.out.clone())
        }
        Command::Minpert(a) => {
            let (p, exec) = a.params()?;
            let progress = Progress::new("minpert", (p.runs * p.ks.len()) as u64, true);
            let rep = minpert::run(&p, &exec, &progress);
            progress.finish();
            if let Some(path) = &a.plot {
                let svg = report::figures::minpert(&rep)?;
                report::emit(&svg, Some(path))
                    .with_context(|| format!("could not write '{}'", path.display()))?;
            }
            let text = match a.common.format {
                Format::Table => table::minpert_table(&rep),
                Format::Json => report::to_json(&rep),
                Format::Csv => report::to_csv(&rows::minpert(&rep)),
            };
            (text, a.common.out.clone())
        }
        Command::Depth(a) => {
            let (p, exec) = a.params()?;
            let progress = Progress::new("depth", (p.trials * p.depths.len()) as u64, true);
            let rep = depth::run(&p, &exec, &progress)?;
            progress.finish();
            if let Some(path) = &a.plot {
                let svg = report::figures::depth(&rep)?;
                report::emit(&svg, Some(path))
                    .with_context(|| format!("could not write '{}'", path.display()))?;
            }
            let text = match a.common.format {
                Format::Table => table::depth_table(&rep),
                Format::Json => report::to_json(&rep),
                Format::Csv => report::to_csv(&rows::depth(&rep)),
            };
            (text, a.common.out.clone())
        }
        Command::Export(e) => {
            let p = e.params()?;
            let m = export::export(&p, &e.out)
                .with_context(|| format!("could not export to '{}'", e.out.display()))?;
            (table::export_summary(&m, &e.out), None)
        }
    };
    report::emit(&content, out.as_deref()).with_context(|| match &out {
        Some(p) => format!("could not write '{}'", p.display()),
        None => "could not write to stdout".into(),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Flat CSV row of `scaling` (the CI is split into two columns).
#[derive(serde::Serialize)]
struct ScalingCsv<'a> {
    d: usize,
    arch: &'a str,
    seed: u64,
    live: usize,
    dead: usize,
    median_rho: f64,
    median_rho_sqrt_d: f64,
    success_rate: f64,
    success_ci_low: f64,
    success_ci_high: f64,
}

impl<'a> From<&'a scaling::ScalingRow> for ScalingCsv<'a> {
    fn from(r: &'a scaling::ScalingRow) -> Self {
        ScalingCsv {
            d: r.d,
            arch: &r.arch,
            seed: r.seed,
            live: r.live,
            dead: r.dead,
            median_rho: r.median_rho,
            median_rho_sqrt_d: r.median_rho_sqrt_d,
            success_rate: r.success_rate,
            success_ci_low: r.success_ci[0],
            success_ci_high: r.success_ci[1],
        }
    }
}

#[cfg(target_os = "linux")]
#[global_allocator]
static GLOBAL: alloc::HugePages = alloc::HugePages;

fn main() -> ExitCode {
    #[cfg(target_os = "linux")]
    alloc::set_cache_limit(radex::arch::memory_limit(None).map(|(b, _)| b));
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("radex: error: {e:#}");
            // Bad input (validated before any work) exits 2, like clap's own usage errors.
            if e.downcast_ref::<radex::Error>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
