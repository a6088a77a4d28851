//! The `radex` binary: parse flags, validate, run, render, write.

#[cfg(target_os = "linux")]
mod alloc;
mod args;
mod bar;
mod reproduce;
mod sweep;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use args::{Cli, Command, Common};
use bar::Bar;
use radex::experiment::runner::available_threads;
use radex::experiment::{bottleneck, compare, depth, linearity, minpert, scaling};
use radex::export_net;
use radex::files;
use radex::progress::Progress;
use radex::report::Report;
use radex::report::figures;
use radex::report::heatmap;
use radex::report::svg::PlotError;
use radex::report::table;

/// Runs one experiment behind a progress bar of `steps` steps.
fn staged<R>(what: &str, steps: usize, run: impl FnOnce(&Bar) -> R) -> R {
    let bar = Bar::default();
    bar.start(what, steps as u64);
    let r = run(&bar);
    bar.finish();
    r
}

/// A report's output: rendered as `--format` asks, to `--out`, with its plot if one was asked.
fn output<'a, R: Report>(
    common: &'a Common,
    report: &R,
    plot: Option<(&'a Path, Result<String, PlotError>)>,
) -> Output<'a> {
    Output {
        text: common.format.render(report),
        out: common.out.as_deref(),
        plot: plot.map(|(path, svg)| (path, svg.map_err(anyhow::Error::from))),
    }
}

/// What a command writes: its text (to `--out` or stdout) and, optionally, a plot.
struct Output<'a> {
    text: String,
    out: Option<&'a Path>,
    plot: Option<(&'a Path, anyhow::Result<String>)>,
}

/// Writes the text first, then the plot: a plot that cannot be drawn or written never loses
/// the text, and its error is reported after it.
fn write(o: Output<'_>) -> anyhow::Result<()> {
    files::write(o.out, o.text.as_bytes()).with_context(|| match o.out {
        Some(p) if p.as_os_str() != "-" => format!("could not write '{}'", p.display()),
        _ => "could not write to stdout".into(),
    })?;
    if let Some((path, svg)) = o.plot {
        let svg = svg.with_context(|| format!("could not draw the plot '{}'", path.display()))?;
        files::write_file(path, svg.as_bytes())
            .with_context(|| format!("could not write '{}'", path.display()))?;
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let threads = cli.command.threads();
    let cores = available_threads();
    if threads > cores {
        eprintln!(
            "radex: note: '--threads {threads}' is more than the {cores} cores available; using {cores} (results do not depend on the count)"
        );
    }
    let output = match &cli.command {
        Command::Reproduce(a) => {
            // Exit code 1 when some verdict disagrees.
            let ok = reproduce::run(a)?;
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        Command::Sweep(s) => return sweep::run(&s.command),
        Command::Attack(a) => {
            let (p, exec) = a.params()?;
            let rep = staged("attack", compare::attack_steps(&p), |bar| {
                compare::run_attack(&p, &exec, bar, a.per_trial)
            });
            output(&a.common, &rep, None)
        }
        Command::Scaling(s) => {
            let (p, exec) = s.params()?;
            let steps = p.trials * p.ds.len();
            let rep = staged("scaling", steps, |bar| scaling::run(&p, &exec, bar))?;
            output(&s.common, &rep, None)
        }
        Command::Linearity(a) => {
            let (p, exec) = a.params()?;
            // --compare-init: validated before any work too.
            let init = a.args().at_init(&p).map(|i| i.params()).transpose()?;
            let steps = p.trials * p.archs.len();
            let rep = staged("linearity", steps, |bar| linearity::run(&p, &exec, bar));
            let plot = a
                .plot
                .as_deref()
                .map(|path| (path, figures::linearity(&rep)));
            match init {
                None => output(&a.common, &rep, plot),
                Some((q, exec)) => {
                    let at_init = staged("linearity (init)", q.trials, |bar| {
                        linearity::run(&q, &exec, bar)
                    });
                    let c = compare::Comparison::new("linearity", "MATH 4", rep, at_init);
                    output(&a.common, &c, plot)
                }
            }
        }
        Command::Bottleneck(a) => {
            let (p, exec) = a.params()?;
            let init = a.args().at_init(&p).map(|i| i.params()).transpose()?;
            let rep = staged("bottleneck", p.trials, |bar| {
                bottleneck::run(&p, &exec, bar)
            });
            match init {
                None => output(&a.common, &rep, None),
                Some((q, exec)) => {
                    let at_init = staged("bottleneck (init)", q.trials, |bar| {
                        bottleneck::run(&q, &exec, bar)
                    });
                    let c = compare::Comparison::new("bottleneck", "MATH 5", rep, at_init);
                    output(&a.common, &c, None)
                }
            }
        }
        Command::Minpert(a) => {
            let (p, exec) = a.params()?;
            let steps = p.runs * p.ks.len();
            let rep = staged("minpert", steps, |bar| minpert::run(&p, &exec, bar));
            let plot = a.plot.as_deref().map(|path| (path, figures::minpert(&rep)));
            output(&a.common, &rep, plot)
        }
        Command::Depth(a) => {
            let (p, exec) = a.params()?;
            let steps = p.trials * p.depths.len();
            let rep = staged("depth", steps, |bar| depth::run(&p, &exec, bar))?;
            let plot = a.plot.as_deref().map(|path| (path, figures::depth(&rep)));
            output(&a.common, &rep, plot)
        }
        Command::Phase(a) => {
            let (p, exec) = a.params()?;
            let steps = p.trials * p.cells();
            let rep = staged("phase", steps, |bar| {
                radex::experiment::phase::run(&p, &exec, bar)
            })?;
            let plot = a.plot.as_deref().map(|path| (path, heatmap::phase(&rep)));
            Output {
                text: a.format.render(&rep),
                out: a.out.as_deref(),
                plot: plot.map(|(path, svg)| (path, svg.map_err(anyhow::Error::from))),
            }
        }
        Command::Export(e) => {
            let p = e.params()?;
            let (dir, m) = export_net::export(&p, &e.out)
                .with_context(|| format!("could not export to '{}'", e.out.display()))?;
            Output {
                text: table::export_summary(&m, &dir),
                out: None,
                plot: None,
            }
        }
    };
    write(output)?;
    Ok(ExitCode::SUCCESS)
}

/// clap's error as one line naming the flag: `invalid value 'bogus' for '--precision':
/// expected one of f64, f32`, with the value cut to a readable length.
pub(crate) fn clap_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};

    if e.kind() == ErrorKind::MissingRequiredArgument {
        if let Some(ContextValue::Strings(v)) = e.get(ContextKind::InvalidArg) {
            let flags: Vec<String> = v
                .iter()
                .map(|f| format!("'{}'", f.split(' ').next().unwrap_or(f)))
                .collect();
            return format!(
                "missing {}: it is required; see 'radex --help'",
                flags.join(", ")
            );
        }
    }
    let rendered = e.render().to_string();
    let mut line = rendered
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_string();
    if let Some(ContextValue::String(v)) = e.get(ContextKind::InvalidValue) {
        if !v.is_empty() {
            line = line.replace(v.as_str(), &radex::error::cut(v));
        }
    }
    // `'--precision <PRECISION>'` names the flag as `'--precision'`.
    while let (Some(a), Some(b)) = (line.find(" <"), line.find(">'")) {
        if b < a {
            break;
        }
        line.replace_range(a..b + 1, "");
    }
    if let Some(ContextValue::Strings(v)) = e.get(ContextKind::ValidValue) {
        if !v.is_empty() {
            line.push_str(&format!(": expected one of {}", v.join(", ")));
        }
    }
    if let Some(ContextValue::String(s)) = e.get(ContextKind::SuggestedArg) {
        line.push_str(&format!("; did you mean '{s}'?"));
    }
    if matches!(
        e.kind(),
        ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand | ErrorKind::ArgumentConflict
    ) {
        line.push_str("; see 'radex --help'");
    }
    line
}

/// Removes this process's temporary files on SIGINT, SIGTERM and SIGHUP, then dies of the
/// signal as it would have.
#[cfg(unix)]
fn clean_up_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            files::remove_pending(|| {
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                std::process::exit(128 + sig)
            });
        }
    });
}

// The allocator (bench/allocators compares the three): radex's own on Linux, unless a build
// asks for the system's (`--features alloc-system`) or jemalloc's (`--features jemalloc`).
#[cfg(all(
    target_os = "linux",
    not(feature = "alloc-system"),
    not(feature = "jemalloc")
))]
#[global_allocator]
static GLOBAL: alloc::HugePages = alloc::HugePages;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // First, before anything opens a file that could take descriptor 1.
    files::hold_stdout();
    #[cfg(target_os = "linux")]
    alloc::set_cache_limit(radex::budget::memory_limit(None).map(|(b, _)| b));
    #[cfg(unix)]
    clean_up_on_signals();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("radex: error: {}", clap_line(&e));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("radex: error: {e:#}");
            // Bad input (validated before any work) exits 2, like clap's own usage errors.
            if e.downcast_ref::<radex::Error>()
                .is_some_and(radex::Error::is_input)
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
