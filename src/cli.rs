//! Command-line flags (clap) and their validation into experiment parameters. Nothing numeric
//! happens here; every check runs before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use radex::arch::{self, Init, Term};
use radex::error::{Result, invalid};
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
    #[arg(long, value_enum)]
    pub init: Option<InitArg>,
    /// Seed; trial t of seed s always gets the same network and input.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0 = all cores). Results are identical for any value.
    #[arg(short = 'j', long, default_value_t = 0)]
    pub threads: usize,
    /// Element type of the networks.
    #[arg(long, value_enum, default_value = "f64")]
    pub precision: PrecisionArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the output to FILE (whole, via a temporary name) instead of stdout ('-' = stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Memory limit for the estimate checked before the run, e.g. 8G (default: MemAvailable).
    #[arg(long, value_name = "BYTES")]
    pub max_memory: Option<String>,
}

/// `radex attack`.
#[derive(Args, Debug)]
pub struct AttackArgs {
    /// Architecture D,W1,...,WL: input dimension, then hidden widths (output is one number).
    /// Widths may be relative to D: d, 2d, d/4, d^0.5, 3d^1.5; WxN repeats W N times
    /// (32,32x10000 is depth 10,000).
    #[arg(long, default_value = "2000,2000,2000", value_name = "D,W1,..")]
    pub arch: String,
    /// Independent (network, x) pairs.
    #[arg(long, default_value_t = 100)]
    pub trials: usize,
    /// Attack to report: onestep (Theorem 1.1) or ray (minimal flip along the gradient).
    #[arg(long, value_enum, default_value = "onestep")]
    pub attack: AttackKind,
    /// Add every trial's raw record (JSON: `per_trial`; CSV: one row per trial).
    #[arg(long)]
    pub per_trial: bool,
    /// PGD budgets relative to ||x|| [default: 0.25,0.5,1,2,4 divided by sqrt(D)].
    #[arg(long, value_name = "E1,E2,..")]
    pub eps: Option<String>,
    /// PGD gradient steps per budget (step size 2.5 eps / steps).
    #[arg(long, default_value_t = 20)]
    pub pgd_steps: usize,
    /// Start PGD from a uniform point of the ball instead of x.
    #[arg(long)]
    pub random_start: bool,
    /// DeepFool overshoot of each step.
    #[arg(long, default_value_t = 0.02)]
    pub overshoot: f64,
    /// DeepFool's most iterations.
    #[arg(long, default_value_t = 50)]
    pub max_iter: usize,
    /// Where the networks come from: dense (sample and store every W_i), lazy (reveal W_i by
    /// Gaussian conditioning, MATH 8: memory O((d_i + d_{i-1}) k) for k queries per network
    /// instead of O(d_i d_{i-1})), or auto: lazy when the dense estimate exceeds the memory
    /// limit, or when sum (d_i + d_{i-1}) k^2 < 16 sum d_i d_{i-1} (k typical queries per
    /// network: about 14 for the one-step attack, 3 in scaling, hundreds for PGD and
    /// linearity); dense otherwise.
    #[arg(long, value_enum, default_value = "auto")]
    pub sampler: SamplerChoice,
    #[command(flatten)]
    pub common: Common,
}

/// `radex linearity`.
#[derive(Args, Debug)]
pub struct LinearityArgs {
    /// Architecture D,W1,..,WL (as for attack); repeat the flag for one curve per architecture.
    #[arg(long, value_name = "D,W1,..", default_value = "1000,1000,1000")]
    pub arch: Vec<String>,
    /// Radii relative to ||x|| [default: 10^(-3 + k/4), k = 0..12, i.e. 1e-3 to 1].
    #[arg(long, value_name = "R1,R2,..")]
    pub radii: Option<String>,
    /// Uniform directions per radius.
    #[arg(long, default_value_t = 16)]
    pub directions: usize,
    /// Networks per architecture.
    #[arg(long, default_value_t = 10)]
    pub trials: usize,
    /// Median relative gradient change that defines the linearity radius.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Write an SVG plot of the change against the radius (log-log) to FILE.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Where the networks come from: dense (sample and store every W_i), lazy (reveal W_i by
    /// Gaussian conditioning, MATH 8: memory O((d_i + d_{i-1}) k) for k queries per network
    /// instead of O(d_i d_{i-1})), or auto: lazy when the dense estimate exceeds the memory
    /// limit, or when sum (d_i + d_{i-1}) k^2 < 16 sum d_i d_{i-1} (k typical queries per
    /// network: about 14 for the one-step attack, 3 in scaling, hundreds for PGD and
    /// linearity); dense otherwise.
    #[arg(long, value_enum, default_value = "auto")]
    pub sampler: SamplerChoice,
    #[command(flatten)]
    pub common: Common,
}

/// `radex minpert`.
#[derive(Args, Debug)]
pub struct MinPertArgs {
    /// Input dimension d.
    #[arg(long, default_value_t = 10_000)]
    pub d: usize,
    /// Hidden widths k.
    #[arg(
        long,
        default_value = "10,50,100,500,1000,5000,10000",
        value_name = "K1,K2,.."
    )]
    pub ks: String,
    /// Runs per k.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// qr: thin QR of W_1^T (literal); gram: Cholesky of the Gram matrix (about half the flops).
    #[arg(long, value_enum, default_value = "gram")]
    pub method: Method,
    /// Write an SVG replica of Figure 1 to FILE.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

/// `radex depth`.
#[derive(Args, Debug)]
pub struct DepthArgs {
    /// Hidden width k of every layer.
    #[arg(long, default_value_t = 256, value_name = "K")]
    pub width: usize,
    /// Input dimension [default: the width].
    #[arg(long)]
    pub d: Option<usize>,
    /// Depths to measure [default: 1,2,4,...,1024].
    #[arg(long, value_name = "L1,L2,..")]
    pub depths: Option<String>,
    /// Angle between the pair x, y whose layer-wise cosine is compared with kappa, in degrees.
    #[arg(long, default_value_t = 90.0, value_name = "DEGREES")]
    pub theta: f64,
    /// Pairs of uniform inputs per network for max|f(x)-f(y)| / mean|f(x)| (taken over all
    /// 2P inputs).
    #[arg(long, default_value_t = 16, value_name = "P")]
    pub pairs: usize,
    /// Networks per depth.
    #[arg(long, default_value_t = 20)]
    pub trials: usize,
    /// Write an SVG plot against depth (log x): smallest flip, spread of f, cosine and kappa.
    #[arg(long, value_name = "FILE")]
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
    #[arg(long, value_name = "DIR", default_value = "radex-report")]
    pub out: PathBuf,
    /// Seed of every experiment.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0 = all cores). Results are identical for any value.
    #[arg(short = 'j', long, default_value_t = 0)]
    pub threads: usize,
    /// Memory limit for the estimates checked before the run, e.g. 8G (default: MemAvailable).
    #[arg(long, value_name = "BYTES")]
    pub max_memory: Option<String>,
    /// Validate every experiment and print their commands; run nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `radex bottleneck`.
#[derive(Args, Debug)]
pub struct BottleneckArgs {
    /// Architecture D,W1,..,WL (as for attack).
    #[arg(long, value_name = "D,W1,..", default_value = "2000,2000,50,2000")]
    pub arch: String,
    /// Networks.
    #[arg(long, default_value_t = 5)]
    pub trials: usize,
    /// Radius of the sampled points, relative to ||x||.
    #[arg(long, default_value_t = 1e-3)]
    pub radius: f64,
    /// Points sampled per network for the sampled expansion.
    #[arg(long, default_value_t = 32)]
    pub samples: usize,
    /// Lemma 2.5 threshold a: fraction of |z_ij| <= a ||h_{i-1}|| / sqrt(d_{i-1}).
    #[arg(long, default_value_t = 0.1)]
    pub a: f64,
    #[command(flatten)]
    pub common: Common,
}

/// `radex scaling`.
#[derive(Args, Debug)]
pub struct ScalingArgs {
    /// Input dimensions to sweep.
    #[arg(
        long,
        default_value = "256,512,1024,2048,4096",
        value_name = "D1,D2,.."
    )]
    pub ds: String,
    /// Architecture relative to d: 'd,W1,...' where widths may be d, 2d, d/4, d^0.5, 3d^1.5 or
    /// fixed numbers. Default d,d,d.
    #[arg(long, value_name = "d,W1,..", conflicts_with = "widths")]
    pub arch: Option<String>,
    /// Hidden widths relative to d (the same as --arch without the leading 'd').
    #[arg(long, value_name = "W1,..")]
    pub widths: Option<String>,
    /// Trials per input dimension.
    #[arg(long, default_value_t = 100)]
    pub trials: usize,
    /// Bootstrap resamples for the slope's interval.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Where the networks come from: dense (sample and store every W_i), lazy (reveal W_i by
    /// Gaussian conditioning, MATH 8: memory O((d_i + d_{i-1}) k) for k queries per network
    /// instead of O(d_i d_{i-1})), or auto: lazy when the dense estimate exceeds the memory
    /// limit, or when sum (d_i + d_{i-1}) k^2 < 16 sum d_i d_{i-1} (k typical queries per
    /// network: about 14 for the one-step attack, 3 in scaling, hundreds for PGD and
    /// linearity); dense otherwise.
    #[arg(long, value_enum, default_value = "auto")]
    pub sampler: SamplerChoice,
    #[command(flatten)]
    pub common: Common,
}

/// `radex export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Architecture D,W1,...,WL: input dimension, then hidden widths (output is one number).
    /// Widths may be relative to D: d, 2d, d/4, d^0.5, 3d^1.5; WxN repeats W N times.
    #[arg(long, default_value = "2000,2000,2000", value_name = "D,W1,..")]
    pub arch: String,
    /// Weight initialisation (MATH 1).
    #[arg(long, value_enum, default_value = "nn")]
    pub init: InitArg,
    /// Seed, as given to 'radex attack --seed'.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// Trial index: the network and input of trial T of 'radex attack --seed S --sampler dense'.
    #[arg(long, default_value_t = 0, value_name = "T")]
    pub trial: u64,
    /// Element type of the arrays (f64: '<f8', f32: '<f4').
    #[arg(long, value_enum, default_value = "f64")]
    pub precision: PrecisionArg,
    /// Directory to create (it may exist if empty); written via a temporary directory beside
    /// it and a rename, so it is complete or absent.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Memory limit for the estimate checked before the run, e.g. 8G (default: MemAvailable).
    #[arg(long, value_name = "BYTES")]
    pub max_memory: Option<String>,
}

impl ExportArgs {
    /// Validated parameters; the output directory is checked too (new or empty, parent
    /// writable).
    pub fn params(&self) -> Result<ExportParams> {
        let max_memory = self
            .max_memory
            .as_deref()
            .map(arch::parse_bytes)
            .transpose()?;
        let arch = arch::parse_arch(&self.arch, init_of(self.init))?;
        let p = ExportParams {
            arch,
            seed: self.seed,
            trial: self.trial,
            precision: precision_of(self.precision),
        };
        arch::check_memory("--arch", &self.arch, p.bytes(), max_memory)?;
        export::check_dir(&self.out)?;
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

impl Common {
    /// Validated init, precision, execution settings.
    pub fn resolve(&self) -> Result<(Init, Precision, Exec, Option<u128>)> {
        let init = init_of(self.init.unwrap_or(InitArg::Nn));
        let precision = precision_of(self.precision);
        if self.threads > 4096 {
            return Err(invalid(
                "--threads",
                self.threads.to_string(),
                "expected at most 4096 threads (0 = all cores)",
            ));
        }
        let max_memory = self
            .max_memory
            .as_deref()
            .map(arch::parse_bytes)
            .transpose()?;
        let limit = arch::memory_limit(max_memory).map(|(b, _)| b);
        if let Some(out) = &self.out {
            check_writable(out)?;
        }
        Ok((init, precision, Exec::new(self.threads, limit), max_memory))
    }
}

/// Fails early if `--out` cannot be created, so no work is wasted.
fn check_writable(out: &std::path::Path) -> Result<()> {
    check_writable_as("--out", out)
}

/// Fails early if the file `out` given to `flag` cannot be created.
fn check_writable_as(flag: &'static str, out: &std::path::Path) -> Result<()> {
    if out.as_os_str() == "-" {
        return Ok(());
    }
    let shown = out.display().to_string();
    if out.is_dir() {
        return Err(invalid(
            flag,
            shown,
            "expected a file path, got a directory",
        ));
    }
    radex::report::check_parent(flag, out)
}

/// Parses a comma-separated list of positive finite numbers.
fn parse_positive_list(flag: &'static str, s: &str) -> Result<Vec<f64>> {
    s.split(',')
        .map(|t| match t.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
            _ => Err(invalid(
                flag,
                s,
                format!("expected positive numbers separated by commas, got '{t}'"),
            )),
        })
        .collect()
}

/// A positive finite number.
fn positive(flag: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(invalid(
            flag,
            v.to_string(),
            "expected a positive finite number",
        ))
    }
}

/// Bytes kept per trial for the summary (a `TrialRecord`, with margin).
const RECORD_BYTES: u128 = 256;

fn check_trials(trials: usize) -> Result<()> {
    if trials == 0 {
        return Err(invalid("--trials", "0", "expected trials >= 1, got 0"));
    }
    Ok(())
}

impl AttackArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(AttackParams, Exec)> {
        let (init, precision, exec, max_memory) = self.common.resolve()?;
        check_trials(self.trials)?;
        let arch = arch::parse_arch(&self.arch, init)?;
        let mut p = AttackParams::new(arch, self.common.seed, self.trials, self.attack, precision);
        if let Some(e) = &self.eps {
            p.pgd.eps = parse_positive_list("--eps", e)?;
        }
        if self.pgd_steps == 0 {
            return Err(invalid("--pgd-steps", "0", "expected at least 1 step"));
        }
        p.pgd.steps = self.pgd_steps;
        p.pgd.random_start = self.random_start;
        if !(self.overshoot.is_finite() && self.overshoot >= 0.0) {
            return Err(invalid(
                "--overshoot",
                self.overshoot.to_string(),
                "expected a finite number >= 0, e.g. 0.02",
            ));
        }
        if self.max_iter == 0 {
            return Err(invalid("--max-iter", "0", "expected at least 1 iteration"));
        }
        p.deepfool.overshoot = self.overshoot;
        p.deepfool.max_iter = self.max_iter;
        // One network at a time at least, plus the per-trial records kept for the summary.
        let records = RECORD_BYTES * self.trials as u128;
        p.sampler = self.sampler.resolve(
            &p.arch,
            p.queries_per_network(),
            p.bytes_with(Sampler::Dense) + records,
            exec.memory_limit,
        );
        let bytes = p.bytes_per_trial() + records;
        arch::check_memory("--arch", &self.arch, bytes, max_memory)?;
        Ok((p, exec))
    }
}

impl ScalingArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(ScalingParams, Exec)> {
        let (init, precision, exec, max_memory) = self.common.resolve()?;
        check_trials(self.trials)?;
        let mut ds = Vec::new();
        for t in self.ds.split(',') {
            match t.trim().parse::<usize>() {
                Ok(d) if d >= 1 => ds.push(d),
                _ => {
                    return Err(invalid(
                        "--ds",
                        self.ds.clone(),
                        format!("expected positive integers separated by commas, got '{t}'"),
                    ));
                }
            }
        }
        let mut distinct = ds.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 2 {
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
        if self.bootstrap == 0 {
            return Err(invalid("--bootstrap", "0", "expected at least 1 resample"));
        }
        let p = ScalingParams {
            ds,
            widths,
            init,
            trials: self.trials,
            seed: self.common.seed,
            bootstrap: self.bootstrap,
            precision,
            sampler: self.sampler,
            memory_limit: exec.memory_limit,
        };
        for &d in &p.ds {
            let a = p.attack(d)?;
            let bytes = a.bytes_per_trial() + RECORD_BYTES * self.trials as u128;
            arch::check_memory("--ds", &a.arch.spec(), bytes, max_memory)?;
        }
        Ok((p, exec))
    }
}

impl LinearityArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(LinearityParams, Exec)> {
        let (init, precision, exec, max_memory) = self.common.resolve()?;
        check_trials(self.trials)?;
        let archs = self
            .arch
            .iter()
            .map(|a| arch::parse_arch(a, init))
            .collect::<Result<Vec<_>>>()?;
        let radii = match &self.radii {
            Some(r) => {
                let mut v = parse_positive_list("--radii", r)?;
                v.sort_by(|a, b| a.total_cmp(b));
                v.dedup();
                v
            }
            None => default_radii(),
        };
        if self.directions == 0 {
            return Err(invalid(
                "--directions",
                "0",
                "expected at least 1 direction",
            ));
        }
        positive("--threshold", self.threshold)?;
        if let Some(plot) = &self.plot {
            check_writable_as("--plot", plot)?;
        }
        let p = LinearityParams {
            archs,
            radii,
            directions: self.directions,
            trials: self.trials,
            seed: self.common.seed,
            threshold: self.threshold,
            precision,
            sampler: self.sampler,
            memory_limit: exec.memory_limit,
        };
        for (a, s) in p.archs.iter().zip(&self.arch) {
            let bytes = p.bytes_with(a, p.sampler_for(a))
                + RECORD_BYTES * (self.trials * p.radii.len() * (a.depth() + 4)) as u128;
            arch::check_memory("--arch", s, bytes, max_memory)?;
        }
        Ok((p, exec))
    }
}

impl BottleneckArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(BottleneckParams, Exec)> {
        let (init, precision, exec, max_memory) = self.common.resolve()?;
        check_trials(self.trials)?;
        let arch = arch::parse_arch(&self.arch, init)?;
        positive("--radius", self.radius)?;
        positive("--a", self.a)?;
        if self.samples == 0 {
            return Err(invalid("--samples", "0", "expected at least 1 sample"));
        }
        let bytes = arch.dense_bytes(precision.bytes(), self.samples + 1 + arch.depth());
        arch::check_memory("--arch", &self.arch, bytes, max_memory)?;
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
        let (_, _, exec, max_memory) = self.common.resolve()?;
        if self.d == 0 {
            return Err(invalid("--d", "0", "expected d >= 1"));
        }
        let mut ks = Vec::new();
        for t in self.ks.split(',') {
            match t.trim().parse::<usize>() {
                Ok(k) if k >= 1 => ks.push(k),
                _ => {
                    return Err(invalid(
                        "--ks",
                        self.ks.clone(),
                        format!("expected widths >= 1 separated by commas, got '{t}'"),
                    ));
                }
            }
        }
        if self.runs == 0 {
            return Err(invalid("--runs", "0", "expected runs >= 1, got 0"));
        }
        if let Some(plot) = &self.plot {
            check_writable_as("--plot", plot)?;
        }
        let p = MinPertParams {
            d: self.d,
            ks,
            runs: self.runs,
            seed: self.common.seed,
            method: self.method,
        };
        let big = *p.ks.iter().max().unwrap();
        arch::check_memory("--ks", &self.ks, p.bytes(big), max_memory)?;
        Ok((p, exec))
    }
}

impl DepthArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(DepthParams, Exec)> {
        let (_, precision, exec, max_memory) = self.common.resolve()?;
        if let Some(InitArg::Nn) = self.common.init {
            return Err(invalid(
                "--init",
                "nn",
                "depth uses the he initialisation (MATH 6, Appendix B), which keeps ||h_i|| ~ ||x||",
            ));
        }
        check_trials(self.trials)?;
        if self.width == 0 {
            return Err(invalid("--width", "0", "expected a width >= 1"));
        }
        let d = self.d.unwrap_or(self.width);
        if d == 0 {
            return Err(invalid("--d", "0", "expected d >= 1"));
        }
        let depths = match &self.depths {
            Some(s) => parse_count_list("--depths", s)?,
            None => default_depths(),
        };
        if !(self.theta.is_finite() && (0.0..=180.0).contains(&self.theta)) {
            return Err(invalid(
                "--theta",
                self.theta.to_string(),
                "expected an angle in degrees between 0 and 180",
            ));
        }
        if self.pairs == 0 {
            return Err(invalid("--pairs", "0", "expected at least 1 pair"));
        }
        if let Some(plot) = &self.plot {
            check_writable_as("--plot", plot)?;
        }
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
        let deepest = *p.depths.iter().max().unwrap();
        let shown = format!("width {} depth {deepest}", self.width);
        let bytes = p.bytes_per_trial(deepest)? + RECORD_BYTES * (self.trials * deepest) as u128;
        arch::check_memory("--depths", &shown, bytes, max_memory)?;
        Ok((p, exec))
    }
}

/// Parses a comma-separated list of positive integers (sorted, duplicates removed).
fn parse_count_list(flag: &'static str, s: &str) -> Result<Vec<usize>> {
    let mut v = s
        .split(',')
        .map(|t| match t.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(invalid(
                flag,
                s,
                format!("expected positive integers separated by commas, got '{t}'"),
            )),
        })
        .collect::<Result<Vec<_>>>()?;
    v.sort_unstable();
    v.dedup();
    Ok(v)
}
