//! Command-line flags (clap): syntax only. Each subcommand's flags become the library's
//! arguments (`radex::experiment::args`), whose validation is the same for every front end;
//! what is the CLI's own (the output files, stdout) is checked here. Nothing numeric happens
//! here; every check runs before any work starts.

use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};

use radex::act::Act;
use radex::arch::{Init, OutputLaw};
use radex::attack::{Attacks, Norm};
use radex::choice::Choice;
use radex::error::Result;
use radex::experiment::args as lib;
use radex::experiment::attack::AttackParams;
use radex::experiment::bottleneck::BottleneckParams;
use radex::experiment::depth::DepthParams;
use radex::experiment::given::Inputs;
use radex::experiment::linearity::LinearityParams;
use radex::experiment::minpert::MinPertParams;
use radex::experiment::phase::{DEFAULT_SIGMA_B, DEFAULT_SIGMA_W2, PhaseParams};
use radex::experiment::runner::Exec;
use radex::experiment::scaling::ScalingParams;
use radex::export_net::{self, ExportParams};
use radex::files;
use radex::measure::minpert::Method;
use radex::net::{SamplerChoice, Source};
use radex::report::Format;
use radex::rng::InputLaw;
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
    /// Networks of constant width against depth: cosines beside kappa (He relu, MATH 6) or the
    /// kernel (--act, --sigma-w2, --sigma-b, MATH 9), spread of f, flips, phase.
    ///
    /// Example: radex depth --width 256 --depths 1,4,16,64,256,1024 --plot depth.svg
    Depth(DepthArgs),
    /// Order-chaos phase diagram over sigma_w2 x sigma_b at one depth (tanh or erf, MATH 9):
    /// one-step success, smallest flip, cosine beside the kernel, phase and chi_1 per cell.
    ///
    /// Example: radex phase --depth 32 --plot phase.svg
    Phase(PhaseArgs),
    /// The main job: every claim of the paper measured beside its prediction, with verdicts,
    /// plots and a report directory (MATH 3-7, and MATH 9 beyond the paper). Exit code 0 when every verdict agrees, else 1.
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
    /// Sweeps: a plan's grid of attack, depth, minpert or phase runs cut into units, run in
    /// shards on this machine or as a Slurm job array, resumed after a kill, merged into each
    /// point's report.
    ///
    /// Example: radex sweep plan plan.toml --out sw && radex sweep run sw && radex sweep merge sw
    Sweep(SweepArgs),
}

/// `radex sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SweepCommand,
}

/// `radex sweep` subcommands.
#[derive(Subcommand, Debug)]
pub enum SweepCommand {
    /// Expand a plan file (TOML: `experiment = "attack"`, flags by long name, lists are grid
    /// axes, `zip = [["arch", "init"]]` pairs axes, `unit_seconds` or `unit_trials` sizes
    /// units) into DIR/plan.json, validating every point before anything runs.
    ///
    /// Example: radex sweep plan slope.toml --out slope
    Plan {
        /// The plan file.
        #[arg(value_name = "PLAN.toml")]
        plan: PathBuf,
        /// The sweep's directory (made if missing; an existing one must hold the same plan).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Run the units of one shard not done yet, appending each to DIR/results/shard-I.jsonl.
    ///
    /// Example: radex sweep run slope --shard 0/2 --threads 1
    Run {
        /// The sweep's directory.
        dir: PathBuf,
        /// I/N: shard I of N [default: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, else 0/1].
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Worker threads (0 = all cores). Results are identical for any value.
        #[arg(allow_hyphen_values = true, short = 'j', long, default_value_t = 0)]
        threads: usize,
    },
    /// Units done, running, missing and failed (with the error), corrupt lines, and the Slurm
    /// tasks of submitted jobs (from squeue). Exit code 0 when every unit is done, else 1.
    Status {
        /// The sweep's directory.
        dir: PathBuf,
    },
    /// Every point's report, as its subcommand prints it, from the units' records.
    ///
    /// Example: radex sweep merge slope --format json --out slope.json --plot slope.svg
    Merge {
        /// The sweep's directory.
        dir: PathBuf,
        /// Output format (json: one object per point with its report).
        #[arg(allow_hyphen_values = true, long, value_parser = choice::<Format>(), default_value = "table")]
        format: Format,
        /// Write to this file instead of stdout.
        #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also draw the sweep's figure as SVG (attack: median perturbation against d; depth:
        /// smallest flip and one-step success against depth; minpert, phase: each point's own).
        #[arg(allow_hyphen_values = true, long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// Merge the points whose units are all done and list the others, instead of refusing.
        #[arg(long)]
        partial: bool,
    },
    /// Write an sbatch script running the shards as a Slurm job array, and submit it.
    ///
    /// Example: radex sweep slurm slope --plan slope.toml --array-size 32 --parallel 8 --time 2:00:00 --submit
    Slurm {
        /// The sweep's directory.
        dir: PathBuf,
        /// Plan this file into DIR first (as `sweep plan PLAN.toml --out DIR`): from a plan
        /// to a submitted job array in one command.
        #[arg(long, value_name = "PLAN.toml")]
        plan: Option<PathBuf>,
        /// Array tasks, one shard each.
        #[arg(allow_hyphen_values = true, long, value_name = "N")]
        array_size: usize,
        /// Tasks running at once at most (%P).
        #[arg(allow_hyphen_values = true, long, value_name = "P")]
        parallel: Option<usize>,
        /// Time limit per task (sbatch --time, e.g. 30:00 or 1-12:00:00).
        #[arg(allow_hyphen_values = true, long, value_name = "T")]
        time: Option<String>,
        /// Partition (sbatch --partition).
        #[arg(allow_hyphen_values = true, long, value_name = "Q")]
        partition: Option<String>,
        /// CPUs per task, each running that many threads.
        #[arg(
            allow_hyphen_values = true,
            long,
            value_name = "C",
            default_value_t = 1
        )]
        cpus_per_task: usize,
        /// Memory per task (sbatch --mem, e.g. 4G).
        #[arg(allow_hyphen_values = true, long, value_name = "M")]
        mem: Option<String>,
        /// Submit the script with sbatch and print the job id.
        #[arg(long)]
        submit: bool,
    },
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
            Command::Phase(a) => a.threads,
            Command::Reproduce(a) => a.threads,
            Command::Export(_) => 0,
            Command::Sweep(a) => match a.command {
                SweepCommand::Run { threads, .. } => threads,
                _ => 0,
            },
        }
    }
}

/// A clap parser for one of the library's named values: `--help` lists the names and clap
/// refuses others; the value is the library's own.
fn choice<T: Choice + Send + Sync>() -> impl TypedValueParser<Value = T> {
    clap::builder::PossibleValuesParser::new(T::names())
        .map(|s: String| T::parse(&s).expect("clap admits only the listed names"))
}

/// `--act`, parsed by the library (its message names the flag and the choices).
fn act(s: &str) -> std::result::Result<Act, String> {
    s.parse::<Act>().map_err(|e| e.to_string())
}

/// Flags shared by every experiment.
#[derive(Args, Debug)]
pub struct Common {
    /// Weight initialisation (MATH 1) [default: nn; depth: he].
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<Init>())]
    pub init: Option<Init>,
    /// Activation (MATH 9): relu, leaky:A, abs, tanh, erf, gelu, softplus, square [default:
    /// relu; with --model: the one the file names].
    #[arg(allow_hyphen_values = true, long, value_parser = act)]
    pub act: Option<Act>,
    /// Weight variance times fan-in, sigma_w^2 (MATH 9) [default: the one --init names].
    #[arg(allow_hyphen_values = true, long, value_name = "S")]
    pub sigma_w2: Option<f64>,
    /// Standard deviation of the biases (MATH 9; 0: no biases).
    #[arg(
        allow_hyphen_values = true,
        long,
        value_name = "B",
        default_value_t = 0.0
    )]
    pub sigma_b: f64,
    /// Number of outputs K (MATH 9); K >= 2 attacks the margin of the argmax.
    #[arg(
        allow_hyphen_values = true,
        long,
        value_name = "K",
        default_value_t = 1
    )]
    pub outputs: usize,
    /// Law of the output weights (MATH 9).
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<OutputLaw>(), default_value = "gauss")]
    pub output_law: OutputLaw,
    /// Law of the sampled inputs (MATH 9); box inputs are attacked within [0,1]^d.
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<InputLaw>(), default_value = "sphere")]
    pub input: InputLaw,
    /// Seed; trial t of seed s always gets the same network and input.
    #[arg(allow_hyphen_values = true, long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0 = all cores). Results are identical for any value.
    #[arg(allow_hyphen_values = true, short = 'j', long, default_value_t = 0)]
    pub threads: usize,
    /// Element type of the networks.
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<Precision>(), default_value = "f64")]
    pub precision: Precision,
    /// Output format.
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<Format>(), default_value = "table")]
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
        value_name = "D,W1,..",
        conflicts_with = "model"
    )]
    pub arch: String,
    /// Independent (network, x) pairs [default: 100] (with --inputs: one per row).
    #[arg(allow_hyphen_values = true, long)]
    pub trials: Option<usize>,
    /// Attack this network instead of sampled ones (MATH 10): a safetensors file of a
    /// torch.nn.Sequential state dict, an .npz of W1..W{l+1} (b1..b{l+1}), or a radex export
    /// directory. It decides the architecture and outputs; the activation is the file's
    /// (safetensors metadata 'radex.activation', export manifest) or --act, which an npz needs.
    #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Inputs to attack (MATH 10): an .npy array of shape (n, D) or (D,); trial t attacks row t
    /// (with sampled networks too). With '--input box' the rows must lie in [0,1]^D.
    #[arg(allow_hyphen_values = true, long, value_name = "FILE.npy")]
    pub inputs: Option<PathBuf>,
    /// With --model: also attack the same architecture at its random initialisation (the
    /// file's activation and outputs, --init/--sigma-w2 [default 1], --sigma-b [default 0])
    /// on the same inputs, side by side (MATH 10).
    #[arg(long)]
    pub compare_init: bool,
    /// Attack to report: onestep (Theorem 1.1) or ray (minimal flip along the gradient).
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<Attacks>(), default_value = "onestep")]
    pub attack: Attacks,
    /// Add every trial's raw record (JSON: `per_trial`; CSV: one row per trial).
    #[arg(long)]
    pub per_trial: bool,
    /// Norm of the ray, DeepFool, PGD and minnorm (MATH 3, "other norms"): l2, or linf (the
    /// ray follows -sign(f) sign(grad f); linear prediction |f| / ||grad f||_1). Distances are
    /// relative to the L2 norm ||x|| in either; the one-step attack stays Theorem 1.1's L2 step.
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<Norm>(), default_value = "l2")]
    pub norm: Norm,
    /// PGD budgets relative to ||x|| [default: 0.25,0.5,1,2,4 divided by sqrt(D), and in linf
    /// also by sqrt(2 D / pi)].
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
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<SamplerChoice>(), default_value = "auto")]
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
        default_value = "1000,1000,1000",
        conflicts_with = "model"
    )]
    pub arch: Vec<String>,
    /// Measure this network instead of sampled ones (MATH 10; as for 'radex attack --model').
    #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Inputs to measure at (MATH 10): an .npy array of shape (n, D) or (D,); trial t of every
    /// architecture measures row t (with sampled networks too). With '--input box' the rows
    /// must lie in [0,1]^D.
    #[arg(allow_hyphen_values = true, long, value_name = "FILE.npy")]
    pub inputs: Option<PathBuf>,
    /// With --model: also measure the same architecture at its random initialisation on the
    /// same inputs (MATH 10; as for 'radex attack --compare-init').
    #[arg(long)]
    pub compare_init: bool,
    /// Radii relative to ||x|| [default: 10^(-3 + k/4), k = 0..12, i.e. 1e-3 to 1].
    #[arg(allow_hyphen_values = true, long, value_name = "R1,R2,..")]
    pub radii: Option<String>,
    /// Uniform directions per radius.
    #[arg(allow_hyphen_values = true, long, default_value_t = 16)]
    pub directions: usize,
    /// Networks per architecture [default: 10] (with --inputs: one per row).
    #[arg(allow_hyphen_values = true, long)]
    pub trials: Option<usize>,
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
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<SamplerChoice>(), default_value = "auto")]
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
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<Method>(), default_value = "gram")]
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
    /// Write an SVG plot against depth (log x): smallest flip, spread of f, cosine and kappa;
    /// below, the smallest flip over its linear prediction.
    #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

/// `radex phase`. Its own flags: `--sigma-w2` and `--sigma-b` are lists here.
#[derive(Args, Debug)]
pub struct PhaseArgs {
    /// Activation: tanh or erf (the phase diagram of MATH 9).
    #[arg(allow_hyphen_values = true, long, value_parser = act, default_value = "tanh")]
    pub act: Act,
    /// Weight variances sigma_w^2 (times fan-in), the x axis.
    #[arg(allow_hyphen_values = true, long, value_name = "S1,S2,..", default_value = DEFAULT_SIGMA_W2)]
    pub sigma_w2: String,
    /// Bias standard deviations sigma_b, the y axis.
    #[arg(allow_hyphen_values = true, long, value_name = "B1,B2,..", default_value = DEFAULT_SIGMA_B)]
    pub sigma_b: String,
    /// Depth l of every network.
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value_t = 32,
        value_name = "L"
    )]
    pub depth: usize,
    /// Hidden width k of every layer.
    #[arg(
        allow_hyphen_values = true,
        long,
        default_value_t = 64,
        value_name = "K"
    )]
    pub width: usize,
    /// Input dimension [default: the width].
    #[arg(allow_hyphen_values = true, long)]
    pub d: Option<usize>,
    /// Networks per cell.
    #[arg(allow_hyphen_values = true, long, default_value_t = 8)]
    pub trials: usize,
    /// Write the heat maps (one-step success; median smallest flip x sqrt(d)) with the chi_1 = 1
    /// curve to FILE (SVG).
    #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Seed; a cell's networks depend on the seed and the cell only, not on the grid.
    #[arg(allow_hyphen_values = true, long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0 = all cores). Results are identical for any value.
    #[arg(allow_hyphen_values = true, short = 'j', long, default_value_t = 0)]
    pub threads: usize,
    /// Element type of the networks.
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<Precision>(), default_value = "f64")]
    pub precision: Precision,
    /// Output format.
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<Format>(), default_value = "table")]
    pub format: Format,
    /// Write the output to FILE (whole, via a temporary name) instead of stdout ('-' = stdout).
    #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Memory limit for the estimate checked before the run, e.g. 8G (default: MemAvailable).
    #[arg(allow_hyphen_values = true, long, value_name = "BYTES")]
    pub max_memory: Option<String>,
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
        default_value = "2000,2000,50,2000",
        conflicts_with = "model"
    )]
    pub arch: String,
    /// Measure this network instead of sampled ones (MATH 10; as for 'radex attack --model').
    #[arg(allow_hyphen_values = true, long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Inputs to measure at (MATH 10): an .npy array of shape (n, D) or (D,); trial t measures
    /// row t (with sampled networks too). With '--input box' the rows must lie in [0,1]^D.
    #[arg(allow_hyphen_values = true, long, value_name = "FILE.npy")]
    pub inputs: Option<PathBuf>,
    /// With --model: also measure the same architecture at its random initialisation on the
    /// same inputs (MATH 10; as for 'radex attack --compare-init').
    #[arg(long)]
    pub compare_init: bool,
    /// Networks [default: 5] (with --inputs: one per row).
    #[arg(allow_hyphen_values = true, long)]
    pub trials: Option<usize>,
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
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<SamplerChoice>(), default_value = "auto")]
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
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<Init>(), default_value = "nn")]
    pub init: Init,
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
    #[arg(allow_hyphen_values = true, long, value_parser = choice::<Precision>(), default_value = "f64")]
    pub precision: Precision,
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
        files::check_stdout("--out")?;
        export_net::check_dir(&self.out)?;
        lib::ExportArgs {
            arch: self.arch.clone(),
            init: self.init,
            seed: self.seed,
            trial: self.trial,
            precision: self.precision,
            max_memory: self.max_memory.clone(),
        }
        .params()
    }
}

impl Common {
    /// The library's shared settings.
    fn run(&self) -> lib::RunArgs {
        lib::RunArgs {
            init: self.init,
            act: self.act,
            sigma_w2: self.sigma_w2,
            sigma_b: self.sigma_b,
            outputs: self.outputs,
            output_law: self.output_law,
            input: self.input,
            seed: self.seed,
            threads: self.threads,
            precision: self.precision,
            max_memory: self.max_memory.clone(),
        }
    }

    /// Checks the outputs before any work: `--out` (or stdout) and `plots`, which must all
    /// differ.
    fn check_outputs(&self, plots: &[(&'static str, &Path)]) -> Result<()> {
        check_outputs(&self.out, plots)
    }
}

/// Checks `--out` (or stdout) and `plots` before any work: all writable and all different.
fn check_outputs(out: &Option<PathBuf>, plots: &[(&'static str, &Path)]) -> Result<()> {
    let mut outputs = Vec::new();
    match out {
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
    files::check_distinct(&outputs)
}

fn plot_of(plot: &Option<PathBuf>) -> Vec<(&'static str, &Path)> {
    plot.iter().map(|p| ("--plot", p.as_path())).collect()
}

impl AttackArgs {
    /// The library's arguments.
    pub fn args(&self) -> lib::AttackArgs {
        let d = lib::AttackArgs::default();
        lib::AttackArgs {
            arch: self.arch.clone(),
            trials: lib_trials(self.trials, &self.inputs, d.trials),
            attack: self.attack,
            norm: self.norm,
            eps: self.eps.clone(),
            pgd_steps: self.pgd_steps,
            random_start: self.random_start,
            overshoot: self.overshoot,
            max_iter: self.max_iter,
            sampler: self.sampler,
            network: Source::Sampled,
            model: self.model.clone(),
            inputs: self.inputs.clone().map(Inputs::File),
            compare_init: self.compare_init,
            run: self.common.run(),
        }
    }

    /// Validated parameters, outputs checked.
    pub fn params(&self) -> Result<(AttackParams, Exec)> {
        self.common.check_outputs(&[])?;
        some_trials(self.trials)?;
        self.args().params()
    }
}

impl ScalingArgs {
    /// The library's arguments.
    pub fn args(&self) -> lib::ScalingArgs {
        lib::ScalingArgs {
            ds: self.ds.clone(),
            arch: self.arch.clone(),
            widths: self.widths.clone(),
            trials: self.trials,
            bootstrap: self.bootstrap,
            sampler: self.sampler,
            run: self.common.run(),
        }
    }

    /// Validated parameters, outputs checked.
    pub fn params(&self) -> Result<(ScalingParams, Exec)> {
        self.common.check_outputs(&[])?;
        self.args().params()
    }
}

/// The library's `trials` for `--trials` beside `--inputs`: as given, else one per row (0)
/// with given inputs, else `default`.
fn lib_trials(trials: Option<usize>, inputs: &Option<PathBuf>, default: usize) -> usize {
    match (trials, inputs) {
        (Some(t), _) => t,
        (None, Some(_)) => 0,
        (None, None) => default,
    }
}

/// `--trials 0` is refused even with `--inputs` (where the library's 0 means one per row).
fn some_trials(trials: Option<usize>) -> Result<()> {
    if trials == Some(0) {
        return Err(radex::error::invalid(
            "--trials",
            "0",
            "expected at least 1 trial",
        ));
    }
    Ok(())
}

impl LinearityArgs {
    /// The library's arguments.
    pub fn args(&self) -> lib::LinearityArgs {
        let d = lib::LinearityArgs::default();
        lib::LinearityArgs {
            arch: self.arch.clone(),
            radii: self.radii.clone(),
            directions: self.directions,
            trials: lib_trials(self.trials, &self.inputs, d.trials),
            threshold: self.threshold,
            sampler: self.sampler,
            network: Source::Sampled,
            model: self.model.clone(),
            inputs: self.inputs.clone().map(Inputs::File),
            compare_init: self.compare_init,
            run: self.common.run(),
        }
    }

    /// Validated parameters, outputs checked.
    pub fn params(&self) -> Result<(LinearityParams, Exec)> {
        self.common.check_outputs(&plot_of(&self.plot))?;
        some_trials(self.trials)?;
        self.args().params()
    }
}

impl BottleneckArgs {
    /// The library's arguments.
    pub fn args(&self) -> lib::BottleneckArgs {
        let d = lib::BottleneckArgs::default();
        lib::BottleneckArgs {
            arch: self.arch.clone(),
            trials: lib_trials(self.trials, &self.inputs, d.trials),
            radius: self.radius,
            samples: self.samples,
            a: self.a,
            network: Source::Sampled,
            model: self.model.clone(),
            inputs: self.inputs.clone().map(Inputs::File),
            compare_init: self.compare_init,
            run: self.common.run(),
        }
    }

    /// Validated parameters, outputs checked.
    pub fn params(&self) -> Result<(BottleneckParams, Exec)> {
        self.common.check_outputs(&[])?;
        some_trials(self.trials)?;
        self.args().params()
    }
}

impl MinPertArgs {
    /// The library's arguments.
    pub fn args(&self) -> lib::MinPertArgs {
        lib::MinPertArgs {
            d: self.d,
            ks: self.ks.clone(),
            runs: self.runs,
            method: self.method,
            run: self.common.run(),
        }
    }

    /// Validated parameters, outputs checked.
    pub fn params(&self) -> Result<(MinPertParams, Exec)> {
        self.common.check_outputs(&plot_of(&self.plot))?;
        self.args().params()
    }
}

impl DepthArgs {
    /// The library's arguments.
    pub fn args(&self) -> lib::DepthArgs {
        lib::DepthArgs {
            width: self.width,
            d: self.d,
            depths: self.depths.clone(),
            theta: self.theta,
            pairs: self.pairs,
            trials: self.trials,
            run: self.common.run(),
        }
    }

    /// Validated parameters, outputs checked.
    pub fn params(&self) -> Result<(DepthParams, Exec)> {
        self.common.check_outputs(&plot_of(&self.plot))?;
        self.args().params()
    }
}

impl PhaseArgs {
    /// The library's arguments.
    pub fn args(&self) -> lib::PhaseArgs {
        lib::PhaseArgs {
            act: self.act,
            sigma_w2: self.sigma_w2.clone(),
            sigma_b: self.sigma_b.clone(),
            depth: self.depth,
            width: self.width,
            d: self.d,
            trials: self.trials,
            seed: self.seed,
            threads: self.threads,
            precision: self.precision,
            max_memory: self.max_memory.clone(),
        }
    }

    /// Validated parameters, outputs checked.
    pub fn params(&self) -> Result<(PhaseParams, Exec)> {
        check_outputs(&self.out, &plot_of(&self.plot))?;
        self.args().params()
    }
}
