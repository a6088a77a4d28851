//! Command-line flags (clap) and their validation into experiment parameters. Nothing numeric
//! happens here; every check runs before any work starts.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use radex::arch::{self, Init, Term};
use radex::budget::{self, Budget};
use radex::error::{Result, human_bytes, invalid, num};
use radex::experiment::attack::{AttackKind, AttackParams};
use radex::experiment::bottleneck::BottleneckParams;
use radex::experiment::depth::{DepthParams, default_depths};
use radex::experiment::export::{self, ExportParams};
use radex::experiment::linearity::{LinearityParams, default_radii};
use radex::experiment::minpert::MinPertParams;
use radex::experiment::runner::Exec;
use radex::experiment::scaling::ScalingParams;
use radex::measure::minpert::Method;
use radex::net::{Sampler, SamplerChoice};
use radex::report::Format;
use radex::scalar::Precision;
use radex::{files, lists};

/// radex: adversarial examples in random ReLU networks, measured beside the predictions of
/// Bartlett, Bubeck & Cherapanamjeri (NeurIPS 2021).
#[derive(Parser, Debug)]
#[command(name = "radex", version, about, max_term_width = 100)]
pub struct Cli {
    /// The experiment to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands, one per experiment.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// One-step attack of Theorem 1.1 on independent (network, x) pairs (MATH 3).
    ///
    /// Example: radex attack --arch 2000,2000,2000 --trials 300
    Attack(AttackArgs),
    /// Median one-step perturbation across input dimensions; log-log slope vs -1/2 (MATH 3).
    ///
    /// Example: radex scaling --ds 256,512,1024,2048 --arch d,d,d
    Scaling(ScalingArgs),
    /// Gradient change around x against the radius, GD-DECOMP terms, linearity radius (MATH 4).
    ///
    /// Example: radex linearity --arch 1000,1000,1000 --arch 1000,1000,50,1000 --plot lin.svg
    Linearity(LinearityArgs),
    /// Per-layer bottlenecks, exact and sampled expansion, small pre-activations (MATH 5).
    ///
    /// Example: radex bottleneck --arch 4000,4000,50,4000
    Bottleneck(BottleneckArgs),
    /// Min-Pert of the paper's Figure 1: ||W_1^+ W_1 x|| / ||x|| against k (MATH 7).
    ///
    /// Example: radex minpert --d 10000 --ks 10,100,1000 --runs 10 --plot fig1.svg
    Minpert(MinPertArgs),
    /// He networks of constant width against depth: kappa cosines, spread of f, flips (MATH 6).
    ///
    /// Example: radex depth --width 256 --depths 1,4,16,64,256,1024 --plot depth.svg
    Depth(DepthArgs),
    /// The main job: every claim of the paper measured beside its prediction, with verdicts,
    /// plots and a report directory (MATH 3-7). Exit code 0 when every verdict agrees, else 1.
    ///
    /// Example: radex reproduce --quick --out report-quick
    Reproduce(ReproduceArgs),
    /// Write one trial's network and input as .npy files plus manifest.json (MATH 1).
    ///
    /// DIR gets W1.npy .. W{l+1}.npy (W_i of shape (d_i, d_{i-1})), x.npy (shape (d,)) and
    /// manifest.json (architecture, seed, trial, files, radex's f(x) and ||grad f(x)||): the
    /// network and input of trial T of 'radex attack --seed S --sampler dense', to re-check in
    /// numpy or PyTorch. h_i = relu(W_i h_{i-1}), f = W_{l+1} h_l.
    ///
    /// Example: radex export --arch 500,500,500 --seed 3 --trial 2 --out net-3-2
    Export(ExportArgs),
}

impl Command {
    /// The `--threads` given (0 = all cores).
    pub fn threads(&self) -> usize {
        match self {
            Command::Attack(a) => a.common.threads,
            Command::Scaling(a) => a.common.threads,
            Command::Linearity(a) => a.common.threads,
            Command::Bottleneck(a) => a.common.threads,
            Command::Minpert(a) => a.common.threads,
            Command::Depth(a) => a.common.threads,
            Command::Reproduce(a) => a.threads,
            Command::Export(_) => 0,
        }
    }
}

/// `--init` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum InitArg {
    /// NN-DEF: W_i entries N(0, 1/d_{i-1}).
    Nn,
    /// He: variance 2/fan_in for every matrix.
    He,
}

/// `--precision` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PrecisionArg {
    /// 64-bit floats.
    F64,
    /// 32-bit floats (weights sampled in f64 and rounded).
    F32,
}

/// Flags shared by every experiment.
#[derive(Args, Debug)]
pub struct Common {
    /// Weight initialisation (MATH 1) [default: nn; depth: he].
    #[arg(allow_hyphen_values = true, long, value_enum)]
    pub init: Option<InitArg>,
    /// Seed; trial t of seed s always gets the same network and input.
    #[arg(allow_hyphen_values = true, long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0 = all cores). Results are identical for any value.
    #[arg(allow_hyphen_values = true, short = 'j', long, default_value_t = 0)]
    pub threads: usize,
    /// Element type of the networks.
    #[arg(allow_hyphen_values = true, long, value_enum, default_value = "f64")]
    pub precision: PrecisionArg,
    /// Output format.
    #[arg(allow_hyphen_values = true, long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the output to FILE (whole, via a temporary name) instead of stdout ('-' = stdout).
    #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Memory limit for the estimate checked before the run, e.g. 8G (default: MemAvailable).
    #[arg(allow_hyphen_values = true, long, value_name = "BYTES")]
    pub max_memory: Option<String>,
}

/// `radex attack`.
#[derive(Args, Debug)]
pub struct AttackArgs {
    /// Architecture D,W1,...,WL: input dimension, then hidden widths (output is one number).
    /// Widths may be relative to D: d, 2d, d/4, d^0.5, 3d^1.5; WxN repeats W N times
    /// (32,32x10000 is depth 10,000).
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value = "2000,2000,2000",
        value_name = "D,W1,.."
    )]
    pub arch: String,
    /// Independent (network, x) pairs.
    #[arg(allow_hyphen_values = true, long, default_value_t = 100)]
    pub trials: usize,
    /// Attack to report: onestep (Theorem 1.1) or ray (minimal flip along the gradient).
    #[arg(
        allow_hyphen_values = true,
        long,
        value_enum,
        default_value = "onestep"
    )]
    pub attack: AttackKind,
    /// Add every trial's raw record (JSON: `per_trial`; CSV: one row per trial).
    #[arg(long)]
    pub per_trial: bool,
    /// PGD budgets relative to ||x|| [default: 0.25,0.5,1,2,4 divided by sqrt(D)].
    #[arg(allow_hyphen_values = true, long, value_name = "E1,E2,..")]
    pub eps: Option<String>,
    /// PGD gradient steps per budget (step size 2.5 eps / steps).
    #[arg(allow_hyphen_values = true, long, default_value_t = 20)]
    pub pgd_steps: usize,
    /// Start PGD from a uniform point of the ball instead of x.
    #[arg(long)]
    pub random_start: bool,
    /// DeepFool overshoot of each step.
    #[arg(allow_hyphen_values = true, long, default_value_t = 0.02)]
    pub overshoot: f64,
    /// DeepFool's most iterations.
    #[arg(allow_hyphen_values = true, long, default_value_t = 50)]
    pub max_iter: usize,
    /// Where the networks come from: dense (sample and store every W_i), lazy (reveal W_i by
    /// Gaussian conditioning, MATH 8: memory O((d_i + d_{i-1}) k) for k queries per network
    /// instead of O(d_i d_{i-1})), or auto: lazy when the dense estimate exceeds the memory
    /// limit, or when sum (d_i + d_{i-1}) k^2 < 16 sum d_i d_{i-1} (k typical queries per
    /// network: about 14 for the one-step attack, 3 in scaling, hundreds for PGD and
    /// linearity); dense otherwise.
    #[arg(allow_hyphen_values = true, long, value_enum, default_value = "auto")]
    pub sampler: SamplerChoice,
    #[command(flatten)]
    pub common: Common,
}

/// `radex linearity`.
#[derive(Args, Debug)]
pub struct LinearityArgs {
    /// Architecture D,W1,..,WL (as for attack); repeat the flag for one curve per architecture.
    #[arg(
        allow_hyphen_values = true,
        long,
        value_name = "D,W1,..",
        default_value = "1000,1000,1000"
    )]
    pub arch: Vec<String>,
    /// Radii relative to ||x|| [default: 10^(-3 + k/4), k = 0..12, i.e. 1e-3 to 1].
    #[arg(allow_hyphen_values = true, long, value_name = "R1,R2,..")]
    pub radii: Option<String>,
    /// Uniform directions per radius.
    #[arg(allow_hyphen_values = true, long, default_value_t = 16)]
    pub directions: usize,
    /// Networks per architecture.
    #[arg(allow_hyphen_values = true, long, default_value_t = 10)]
    pub trials: usize,
    /// Median relative gradient change that defines the linearity radius.
    #[arg(allow_hyphen_values = true, long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Write an SVG plot of the change against the radius (log-log) to FILE.
    #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Where the networks come from: dense (sample and store every W_i), lazy (reveal W_i by
    /// Gaussian conditioning, MATH 8: memory O((d_i + d_{i-1}) k) for k queries per network
    /// instead of O(d_i d_{i-1})), or auto: lazy when the dense estimate exceeds the memory
    /// limit, or when sum (d_i + d_{i-1}) k^2 < 16 sum d_i d_{i-1} (k typical queries per
    /// network: about 14 for the one-step attack, 3 in scaling, hundreds for PGD and
    /// linearity); dense otherwise.
    #[arg(allow_hyphen_values = true, long, value_enum, default_value = "auto")]
    pub sampler: SamplerChoice,
    #[command(flatten)]
    pub common: Common,
}

/// `radex minpert`.
#[derive(Args, Debug)]
pub struct MinPertArgs {
    /// Input dimension d.
    #[arg(allow_hyphen_values = true, long, default_value_t = 10_000)]
    pub d: usize,
    /// Hidden widths k.
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value = "10,50,100,500,1000,5000,10000",
        value_name = "K1,K2,.."
    )]
    pub ks: String,
    /// Runs per k.
    #[arg(allow_hyphen_values = true, long, default_value_t = 10)]
    pub runs: usize,
    /// qr: thin QR of W_1^T (literal); gram: Cholesky of the Gram matrix (about half the flops).
    #[arg(allow_hyphen_values = true, long, value_enum, default_value = "gram")]
    pub method: Method,
    /// Write an SVG replica of Figure 1 to FILE.
    #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

/// `radex depth`.
#[derive(Args, Debug)]
pub struct DepthArgs {
    /// Hidden width k of every layer.
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value_t = 256,
        value_name = "K"
    )]
    pub width: usize,
    /// Input dimension [default: the width].
    #[arg(allow_hyphen_values = true, long)]
    pub d: Option<usize>,
    /// Depths to measure [default: 1,2,4,...,1024].
    #[arg(allow_hyphen_values = true, long, value_name = "L1,L2,..")]
    pub depths: Option<String>,
    /// Angle between the pair x, y whose layer-wise cosine is compared with kappa, in degrees.
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value_t = 90.0,
        value_name = "DEGREES"
    )]
    pub theta: f64,
    /// Pairs of uniform inputs per network for max|f(x)-f(y)| / mean|f(x)| (taken over all
    /// 2P inputs).
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value_t = 16,
        value_name = "P"
    )]
    pub pairs: usize,
    /// Networks per depth.
    #[arg(allow_hyphen_values = true, long, default_value_t = 20)]
    pub trials: usize,
    /// Write an SVG plot against depth (log x): smallest flip, spread of f, cosine and kappa.
    #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

/// `radex reproduce`.
#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// Small sizes: under a minute on 2 cores.
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// Larger sizes everywhere (d = 10^4, scaling to 10^7, depth at width 512): 22 min on 2 cores.
    #[arg(long)]
    pub full: bool,
    /// Report directory: created, or replaced if it holds an earlier radex report.
    #[arg(
        allow_hyphen_values = true,
        long,
        value_name = "DIR",
        default_value = "radex-report"
    )]
    pub out: PathBuf,
    /// Seed of every experiment.
    #[arg(allow_hyphen_values = true, long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0 = all cores). Results are identical for any value.
    #[arg(allow_hyphen_values = true, short = 'j', long, default_value_t = 0)]
    pub threads: usize,
    /// Memory limit for the estimates checked before the run, e.g. 8G (default: MemAvailable).
    #[arg(allow_hyphen_values = true, long, value_name = "BYTES")]
    pub max_memory: Option<String>,
    /// Validate every experiment and print their commands; run nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `radex bottleneck`.
#[derive(Args, Debug)]
pub struct BottleneckArgs {
    /// Architecture D,W1,..,WL (as for attack).
    #[arg(
        allow_hyphen_values = true,
        long,
        value_name = "D,W1,..",
        default_value = "2000,2000,50,2000"
    )]
    pub arch: String,
    /// Networks.
    #[arg(allow_hyphen_values = true, long, default_value_t = 5)]
    pub trials: usize,
    /// Radius of the sampled points, relative to ||x||.
    #[arg(allow_hyphen_values = true, long, default_value_t = 1e-3)]
    pub radius: f64,
    /// Points sampled per network for the sampled expansion.
    #[arg(allow_hyphen_values = true, long, default_value_t = 32)]
    pub samples: usize,
    /// Lemma 2.5 threshold a: fraction of |z_ij| <= a ||h_{i-1}|| / sqrt(d_{i-1}).
    #[arg(allow_hyphen_values = true, long, default_value_t = 0.1)]
    pub a: f64,
    #[command(flatten)]
    pub common: Common,
}

/// `radex scaling`.
#[derive(Args, Debug)]
pub struct ScalingArgs {
    /// Input dimensions to sweep.
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value = "256,512,1024,2048,4096",
        value_name = "D1,D2,.."
    )]
    pub ds: String,
    /// Architecture relative to d: 'd,W1,...' where widths may be d, 2d, d/4, d^0.5, 3d^1.5 or
    /// fixed numbers. Default d,d,d.
    #[arg(
        allow_hyphen_values = true,
        long,
        value_name = "d,W1,..",
        conflicts_with = "widths"
    )]
    pub arch: Option<String>,
    /// Hidden widths relative to d (the same as --arch without the leading 'd').
    #[arg(allow_hyphen_values = true, long, value_name = "W1,..")]
    pub widths: Option<String>,
    /// Trials per input dimension.
    #[arg(allow_hyphen_values = true, long, default_value_t = 100)]
    pub trials: usize,
    /// Bootstrap resamples for the slope's interval.
    #[arg(allow_hyphen_values = true, long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Where the networks come from: dense (sample and store every W_i), lazy (reveal W_i by
    /// Gaussian conditioning, MATH 8: memory O((d_i + d_{i-1}) k) for k queries per network
    /// instead of O(d_i d_{i-1})), or auto: lazy when the dense estimate exceeds the memory
    /// limit, or when sum (d_i + d_{i-1}) k^2 < 16 sum d_i d_{i-1} (k typical queries per
    /// network: about 14 for the one-step attack, 3 in scaling, hundreds for PGD and
    /// linearity); dense otherwise.
    #[arg(allow_hyphen_values = true, long, value_enum, default_value = "auto")]
    pub sampler: SamplerChoice,
    #[command(flatten)]
    pub common: Common,
}

/// `radex export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Architecture D,W1,...,WL: input dimension, then hidden widths (output is one number).
    /// Widths may be relative to D: d, 2d, d/4, d^0.5, 3d^1.5; WxN repeats W N times.
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value = "2000,2000,2000",
        value_name = "D,W1,.."
    )]
    pub arch: String,
    /// Weight initialisation (MATH 1).
    #[arg(allow_hyphen_values = true, long, value_enum, default_value = "nn")]
    pub init: InitArg,
    /// Seed, as given to 'radex attack --seed'.
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value_t = 1,
        value_name = "S"
    )]
    pub seed: u64,
    /// Trial index: the network and input of trial T of 'radex attack --seed S --sampler dense'.
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value_t = 0,
        value_name = "T"
    )]
    pub trial: u64,
    /// Element type of the arrays (f64: '<f8', f32: '<f4').
    #[arg(allow_hyphen_values = true, long, value_enum, default_value = "f64")]
    pub precision: PrecisionArg,
    /// Directory to create (it may exist if empty); written via a temporary directory beside
    /// it and a rename, so it is complete or absent.
    #[arg(allow_hyphen_values = true, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Memory limit for the estimate checked before the run, e.g. 8G (default: MemAvailable).
    #[arg(allow_hyphen_values = true, long, value_name = "BYTES")]
    pub max_memory: Option<String>,
}

impl ExportArgs {
    /// Validated parameters; the output directory is checked too (new or empty, parent
    /// writable).
    pub fn params(&self) -> Result<ExportParams> {
        let max_memory = max_memory(&self.max_memory)?;
        files::check_stdout("--out")?;
        export::check_dir(&self.out)?;
        let arch = arch::parse_arch(&self.arch, init_of(self.init))?;
        let p = ExportParams {
            arch,
            seed: self.seed,
            trial: self.trial,
            precision: precision_of(self.precision),
        };
        Budget::new()
            .part("--arch", &self.arch, p.bytes())
            .check(max_memory)?;
        Ok(p)
    }
}

fn init_of(a: InitArg) -> Init {
    match a {
        InitArg::Nn => Init::Nn,
        InitArg::He => Init::He,
    }
}

fn precision_of(a: PrecisionArg) -> Precision {
    match a {
        PrecisionArg::F64 => Precision::F64,
        PrecisionArg::F32 => Precision::F32,
    }
}

fn max_memory(flag: &Option<String>) -> Result<Option<u128>> {
    flag.as_deref().map(budget::parse_bytes).transpose()
}

impl Common {
    /// Validated init, precision, execution settings and `--max-memory`; `plots` are the other
    /// output files of the command, which must differ from `--out` and from each other.
    pub fn resolve(
        &self,
        plots: &[(&'static str, &Path)],
    ) -> Result<(Init, Precision, Exec, Option<u128>)> {
        let init = init_of(self.init.unwrap_or(InitArg::Nn));
        let precision = precision_of(self.precision);
        let max_memory = max_memory(&self.max_memory)?;
        let limit = budget::memory_limit(max_memory).map(|(b, _)| b);
        let mut outputs = Vec::new();
        match &self.out {
            Some(out) => {
                files::check_file("--out", out)?;
                outputs.push(("--out", out.as_path()));
            }
            None => files::check_stdout("--out")?,
        }
        for &(flag, path) in plots {
            files::check_file(flag, path)?;
            outputs.push((flag, path));
        }
        files::check_distinct(&outputs)?;
        Ok((init, precision, Exec::new(self.threads, limit), max_memory))
    }
}

/// A positive finite number.
fn positive(flag: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(invalid(flag, num(v), "expected a positive finite number"))
    }
}

/// At least 1 (`what` names the unit in the message).
fn at_least_one(flag: &'static str, v: usize, what: &str) -> Result<()> {
    if v == 0 {
        return Err(invalid(flag, "0", format!("expected at least 1 {what}")));
    }
    Ok(())
}

/// Bytes kept per trial for the summary and its rendering (a record and its JSON text).
const RECORD_BYTES: u128 = 1024;

/// Bytes of `n` records of `RECORD_BYTES`.
fn records(n: usize) -> u128 {
    RECORD_BYTES.saturating_mul(n as u128)
}

fn plot_of(plot: &Option<PathBuf>) -> Vec<(&'static str, &Path)> {
    plot.iter().map(|p| ("--plot", p.as_path())).collect()
}

/// The advice when `auto` chose dense networks that do not fit.
fn lazy_fix(choice: SamplerChoice, lazy_bytes: u128) -> Option<String> {
    (choice == SamplerChoice::Auto).then(|| {
        format!(
            "'--sampler auto' chose stored (dense) weights, as it does on every machine; '--sampler lazy' needs about {}, or raise '--max-memory <BYTES>'",
            human_bytes(lazy_bytes)
        )
    })
}

fn with_fix(b: Budget, fix: Option<String>) -> Budget {
    match fix {
        Some(f) => b.fix(f),
        None => b,
    }
}

impl AttackArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(AttackParams, Exec)> {
        let (init, precision, exec, max_memory) = self.common.resolve(&[])?;
        at_least_one("--trials", self.trials, "trial")?;
        let arch = arch::parse_arch(&self.arch, init)?;
        let mut p = AttackParams::new(arch, self.common.seed, self.trials, self.attack, precision);
        if let Some(e) = &self.eps {
            p.pgd.eps = lists::positives("--eps", e)?;
        }
        at_least_one("--pgd-steps", self.pgd_steps, "step")?;
        p.pgd.steps = self.pgd_steps;
        p.pgd.random_start = self.random_start;
        if !(self.overshoot.is_finite() && self.overshoot >= 0.0) {
            return Err(invalid(
                "--overshoot",
                num(self.overshoot),
                "expected a finite number >= 0, e.g. 0.02",
            ));
        }
        at_least_one("--max-iter", self.max_iter, "iteration")?;
        p.deepfool.overshoot = self.overshoot;
        p.deepfool.max_iter = self.max_iter;
        p.sampler = self.sampler.resolve(&p.arch, p.queries_per_network());
        let fix = (p.sampler == Sampler::Dense)
            .then(|| lazy_fix(self.sampler, p.bytes_with(Sampler::Lazy)))
            .flatten();
        let b = Budget::new()
            .part("--arch", &self.arch, p.bytes_per_trial())
            .part("--trials", self.trials.to_string(), records(self.trials));
        with_fix(b, fix).check(max_memory)?;
        Ok((p, exec))
    }
}

impl ScalingArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(ScalingParams, Exec)> {
        let (init, precision, exec, max_memory) = self.common.resolve(&[])?;
        at_least_one("--trials", self.trials, "trial")?;
        let ds = lists::counts("--ds", &self.ds)?;
        if ds.len() < 2 {
            return Err(invalid(
                "--ds",
                self.ds.clone(),
                "expected at least two distinct dimensions to fit a slope",
            ));
        }
        let widths = match (&self.arch, &self.widths) {
            (Some(a), _) => {
                let terms = arch::parse_terms("--arch", a)?;
                if terms.len() < 2 || !terms[0].is_d() {
                    return Err(invalid(
                        "--arch",
                        a.clone(),
                        "expected 'd' then at least one hidden width, e.g. 'd,d,d' or 'd,2d,d/4'",
                    ));
                }
                terms[1..].to_vec()
            }
            (None, Some(w)) => arch::parse_terms("--widths", w)?,
            (None, None) => vec![Term::parse("--arch", "d")?, Term::parse("--arch", "d")?],
        };
        at_least_one("--bootstrap", self.bootstrap, "resample")?;
        let p = ScalingParams {
            ds,
            widths,
            init,
            trials: self.trials,
            seed: self.common.seed,
            bootstrap: self.bootstrap,
            precision,
            sampler: self.sampler,
        };
        // The largest network of the sweep (one d at a time), every record, the resamples.
        let mut net = (String::new(), 0u128, None);
        for &d in &p.ds {
            let a = p.attack(d)?;
            let bytes = a.bytes_per_trial();
            if bytes >= net.1 {
                let fix = (a.sampler == Sampler::Dense)
                    .then(|| lazy_fix(self.sampler, a.bytes_with(Sampler::Lazy)))
                    .flatten();
                net = (a.arch.spec(), bytes, fix);
            }
        }
        let n = p.ds.len();
        let boot = (self.bootstrap as u128)
            .saturating_mul(8 * (n as u128 + 1))
            .saturating_add(8 * self.trials as u128);
        let b = Budget::new()
            .part("--ds", net.0, net.1)
            .part(
                "--trials",
                self.trials.to_string(),
                records(self.trials.saturating_mul(n)),
            )
            .part("--bootstrap", self.bootstrap.to_string(), boot);
        with_fix(b, net.2).check(max_memory)?;
        Ok((p, exec))
    }
}

impl LinearityArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(LinearityParams, Exec)> {
        let (init, precision, exec, max_memory) = self.common.resolve(&plot_of(&self.plot))?;
        at_least_one("--trials", self.trials, "trial")?;
        let archs = self
            .arch
            .iter()
            .map(|a| arch::parse_arch(a, init))
            .collect::<Result<Vec<_>>>()?;
        let radii = match &self.radii {
            Some(r) => lists::positives("--radii", r)?,
            None => default_radii(),
        };
        at_least_one("--directions", self.directions, "direction")?;
        positive("--threshold", self.threshold)?;
        let p = LinearityParams {
            archs,
            radii,
            directions: self.directions,
            trials: self.trials,
            seed: self.common.seed,
            threshold: self.threshold,
            precision,
            sampler: self.sampler,
        };
        for (a, s) in p.archs.iter().zip(&self.arch) {
            let sampler = p.sampler_for(a);
            let fix = (sampler == Sampler::Dense)
                .then(|| lazy_fix(self.sampler, p.bytes_with(a, Sampler::Lazy)))
                .flatten();
            let per_trial = p.radii.len().saturating_mul(a.depth() + 4);
            // The network with one direction, and what more directions add.
            let one = LinearityParams {
                directions: 1,
                ..p.clone()
            }
            .bytes_with(a, sampler);
            let all = p.bytes_with(a, sampler);
            let b = Budget::new()
                .part("--arch", s, one)
                .part(
                    "--directions",
                    self.directions.to_string(),
                    all.saturating_sub(one),
                )
                .part(
                    "--trials",
                    self.trials.to_string(),
                    records(self.trials.saturating_mul(per_trial)),
                );
            with_fix(b, fix).check(max_memory)?;
        }
        Ok((p, exec))
    }
}

impl BottleneckArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(BottleneckParams, Exec)> {
        let (init, precision, exec, max_memory) = self.common.resolve(&[])?;
        at_least_one("--trials", self.trials, "trial")?;
        let arch = arch::parse_arch(&self.arch, init)?;
        positive("--radius", self.radius)?;
        positive("--a", self.a)?;
        at_least_one("--samples", self.samples, "sample")?;
        let elem = precision.bytes();
        let weights = arch.n_weights().saturating_mul(elem as u128);
        let batch = self.samples.saturating_add(1 + arch.depth());
        let all = arch.dense_bytes(elem, batch);
        Budget::new()
            .part("--arch", &self.arch, weights)
            .part(
                "--samples",
                self.samples.to_string(),
                all.saturating_sub(weights),
            )
            .part(
                "--trials",
                self.trials.to_string(),
                records(self.trials.saturating_mul(arch.depth())),
            )
            .check(max_memory)?;
        Ok((
            BottleneckParams {
                arch,
                trials: self.trials,
                seed: self.common.seed,
                radius: self.radius,
                samples: self.samples,
                a: self.a,
                precision,
            },
            exec,
        ))
    }
}

impl MinPertArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(MinPertParams, Exec)> {
        let (_, precision, exec, max_memory) = self.common.resolve(&plot_of(&self.plot))?;
        if precision != Precision::F64 {
            return Err(invalid(
                "--precision",
                "f32",
                "minpert computes in f64 only (MATH 7); leave out '--precision'",
            ));
        }
        if let Some(init) = self.common.init {
            return Err(invalid(
                "--init",
                format!("{init:?}").to_lowercase(),
                "minpert has no initialisation to choose: the projection does not depend on the scale of W_1 (MATH 7); leave out '--init'",
            ));
        }
        at_least_one("--d", self.d, "input dimension")?;
        let ks = lists::counts("--ks", &self.ks)?;
        at_least_one("--runs", self.runs, "run")?;
        let p = MinPertParams {
            d: self.d,
            ks,
            runs: self.runs,
            seed: self.common.seed,
            method: self.method,
        };
        let big = *p.ks.last().expect("at least one k");
        Budget::new()
            .part("--ks", &self.ks, p.bytes(big))
            .part(
                "--runs",
                self.runs.to_string(),
                records(self.runs.saturating_mul(p.ks.len())),
            )
            .check(max_memory)?;
        Ok((p, exec))
    }
}

impl DepthArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(DepthParams, Exec)> {
        let (_, precision, exec, max_memory) = self.common.resolve(&plot_of(&self.plot))?;
        if let Some(InitArg::Nn) = self.common.init {
            return Err(invalid(
                "--init",
                "nn",
                "depth uses the he initialisation (MATH 6, Appendix B), which keeps ||h_i|| ~ ||x||",
            ));
        }
        at_least_one("--trials", self.trials, "trial")?;
        at_least_one("--width", self.width, "unit")?;
        let d = self.d.unwrap_or(self.width);
        at_least_one("--d", d, "input dimension")?;
        let depths = match &self.depths {
            Some(s) => lists::counts("--depths", s)?,
            None => default_depths(),
        };
        let deepest = *depths.last().expect("at least one depth");
        if deepest > arch::MAX_DEPTH {
            return Err(invalid(
                "--depths",
                self.depths.clone().unwrap_or_default(),
                format!("expected depths of at most {}", arch::MAX_DEPTH),
            ));
        }
        if !(self.theta.is_finite() && (0.0..=180.0).contains(&self.theta)) {
            return Err(invalid(
                "--theta",
                num(self.theta),
                "expected an angle in degrees between 0 and 180",
            ));
        }
        at_least_one("--pairs", self.pairs, "pair")?;
        let p = DepthParams {
            width: self.width,
            d,
            depths,
            theta: self.theta.to_radians(),
            pairs: self.pairs,
            trials: self.trials,
            seed: self.common.seed,
            precision,
        };
        let weights = p
            .arch(deepest)?
            .n_weights()
            .saturating_mul(precision.bytes() as u128);
        let all = p.bytes_per_trial(deepest)?;
        Budget::new()
            .part(
                "--depths",
                format!("width {} depth {deepest}", self.width),
                weights,
            )
            .part(
                "--pairs",
                self.pairs.to_string(),
                all.saturating_sub(weights),
            )
            .part(
                "--trials",
                self.trials.to_string(),
                records(self.trials.saturating_mul(deepest)),
            )
            .check(max_memory)?;
        Ok((p, exec))
    }
}
