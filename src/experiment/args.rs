//! The arguments of every experiment as a user gives them (the CLI's flags, the Python
//! package's keywords, with the same defaults), and their validation into parameters: every
//! check and every memory estimate runs here, before any work, so a bad value gets the same
//! one-line message from every front end (ripgrep's low-level and high-level arguments).
//! Error messages name the CLI flag (`--arch`); the Python keywords carry the same names.

use std::path::PathBuf;

use super::given::*;
use crate::act::Act;
use crate::arch::{self, Family, Init, OutputLaw, Term};
use crate::attack::Norm;
use crate::attack::{Attack, Attacks};
use crate::budget::{self, Budget};
use crate::choice::Choice;
use crate::error::{Result, human_bytes, invalid, num};
use crate::experiment::attack::{AttackParams, default_eps};
use crate::experiment::bottleneck::BottleneckParams;
use crate::experiment::depth::{DepthParams, default_depths};
use crate::experiment::linearity::{LinearityParams, default_radii};
use crate::experiment::minpert::MinPertParams;
use crate::experiment::phase::PhaseParams;
use crate::experiment::runner::Exec;
use crate::experiment::scaling::ScalingParams;
use crate::export_net::ExportParams;
use crate::lists;
use crate::measure::minpert::Method;
use crate::net::{Layers, Sampler, SamplerChoice, Source};
use crate::rng::InputLaw;
use crate::scalar::Precision;

/// Settings every experiment shares.
#[derive(Clone, Debug)]
pub struct RunArgs {
    /// Weight initialisation (`None`: the experiment's own, `nn` except in `depth`).
    pub init: Option<Init>,
    /// Activation (MATH 9; `None`: relu, or the one a given network's file names).
    pub act: Option<Act>,
    /// Weight variance times fan-in, `sigma_w^2` (`None`: the one `init` names).
    pub sigma_w2: Option<f64>,
    /// Standard deviation of the biases (0: none).
    pub sigma_b: f64,
    /// Number of outputs `K`.
    pub outputs: usize,
    /// Law of the output weights.
    pub output_law: OutputLaw,
    /// Law of the sampled inputs.
    pub input: InputLaw,
    /// Seed; trial `t` of seed `s` always gets the same network and input.
    pub seed: u64,
    /// Worker threads (0 = all cores; more is capped at the cores). Results are identical for
    /// any value.
    pub threads: usize,
    /// Element type of the networks.
    pub precision: Precision,
    /// Memory limit for the estimate checked before the run, e.g. `8G` (default:
    /// `MemAvailable`).
    pub max_memory: Option<String>,
}

impl Default for RunArgs {
    fn default() -> Self {
        RunArgs {
            init: None,
            act: None,
            sigma_w2: None,
            sigma_b: 0.0,
            outputs: 1,
            output_law: OutputLaw::Gauss,
            input: InputLaw::Sphere,
            seed: 1,
            threads: 0,
            precision: Precision::F64,
            max_memory: None,
        }
    }
}

impl RunArgs {
    /// The validated network family (initialisation `nn` unless given), precision, execution
    /// settings and memory limit.
    pub fn resolve(&self) -> Result<(Family, Precision, Exec, Option<u128>)> {
        let max_memory = max_memory(&self.max_memory)?;
        let limit = budget::memory_limit(max_memory).map(|(b, _)| b);
        Ok((
            self.family(Init::Nn)?,
            self.precision,
            Exec::new(self.threads, limit),
            max_memory,
        ))
    }

    /// The network family of MATH 9 these flags give, `sigma_w^2` from `--sigma-w2`, else from
    /// `--init`, else from `default`.
    pub fn family(&self, default: Init) -> Result<Family> {
        let sigma_w2 = match (self.init, self.sigma_w2) {
            (Some(init), Some(s)) if s != init.sigma_w2() => {
                return Err(invalid(
                    "--sigma-w2",
                    num(s),
                    format!(
                        "'--init {}' means sigma_w2 = {}; give one of the two flags",
                        init.name(),
                        init.sigma_w2()
                    ),
                ));
            }
            (_, Some(s)) => s,
            (Some(init), None) => init.sigma_w2(),
            (None, None) => default.sigma_w2(),
        };
        let family = Family {
            act: self.act.unwrap_or_default(),
            sigma_w2,
            sigma_b: self.sigma_b,
            outputs: self.outputs,
            output_law: self.output_law,
        };
        family.validate()?;
        Ok(family)
    }

    /// Whether any flag of the general family (MATH 9) differs from the paper's network,
    /// for experiments that measure that network only: the first such flag and its value.
    pub fn beyond_paper(&self) -> Option<(&'static str, String)> {
        if let Some(act) = self.act.filter(|a| *a != Act::Relu) {
            Some(("--act", act.name()))
        } else if let Some(s) = self.sigma_w2 {
            Some(("--sigma-w2", num(s)))
        } else if self.sigma_b != 0.0 {
            Some(("--sigma-b", num(self.sigma_b)))
        } else if self.outputs != 1 {
            Some(("--outputs", self.outputs.to_string()))
        } else if self.output_law != OutputLaw::Gauss {
            Some(("--output-law", self.output_law.name().into()))
        } else if self.input != InputLaw::Sphere {
            Some(("--input", self.input.name().into()))
        } else {
            None
        }
    }
}

pub(super) fn max_memory(flag: &Option<String>) -> Result<Option<u128>> {
    flag.as_deref().map(budget::parse_bytes).transpose()
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
pub(super) fn at_least_one(flag: &'static str, v: usize, what: &str) -> Result<()> {
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

/// `radex attack`: the one-step attack of Theorem 1.1, and the standard attacks, on
/// independent `(network, x)` pairs (MATH 3).
#[derive(Clone, Debug)]
pub struct AttackArgs {
    /// Architecture `D,W1,..,WL`; widths may be relative to `D` (`d`, `2d`, `d/4`, `d^0.5`),
    /// `WxN` repeats `W` `N` times.
    pub arch: String,
    /// Independent `(network, x)` pairs.
    pub trials: usize,
    /// Attack to report.
    pub attack: Attacks,
    /// The norm of the ray, DeepFool, PGD and minnorm (MATH 3, "other norms").
    pub norm: Norm,
    /// PGD budgets relative to `||x||` (default: `0.25,0.5,1,2,4` over `sqrt(D)`).
    pub eps: Option<String>,
    /// PGD gradient steps per budget.
    pub pgd_steps: usize,
    /// Start PGD from a uniform point of the ball.
    pub random_start: bool,
    /// DeepFool overshoot of each step.
    pub overshoot: f64,
    /// DeepFool's most iterations.
    pub max_iter: usize,
    /// Where the networks come from (MATH 8).
    pub sampler: SamplerChoice,
    /// Sampled per trial (default), or one given network: then `arch`, `init` and `sampler`
    /// are its own and each trial attacks it at that trial's input.
    pub network: Source,
    /// A network file (MATH 10: safetensors, npz or a radex export directory) to attack
    /// instead of sampled networks (`--model`).
    pub model: Option<PathBuf>,
    /// Given inputs (`--inputs`, MATH 10): trial `t` attacks row `t`; `trials` 0 then means
    /// one trial per row.
    pub inputs: Option<Inputs>,
    /// Also attack the same architecture at its random initialisation (the family of the
    /// flags, with the given network's activation and outputs) on the same inputs
    /// (`--compare-init`, MATH 10).
    pub compare_init: bool,
    /// Shared settings.
    pub run: RunArgs,
}

impl Default for AttackArgs {
    fn default() -> Self {
        AttackArgs {
            arch: "2000,2000,2000".into(),
            trials: 100,
            attack: Attacks::only(Attack::Onestep),
            norm: Norm::L2,
            eps: None,
            pgd_steps: 20,
            random_start: false,
            overshoot: 0.02,
            max_iter: 50,
            sampler: SamplerChoice::Auto,
            network: Source::Sampled,
            model: None,
            inputs: None,
            compare_init: false,
            run: RunArgs::default(),
        }
    }
}

impl AttackArgs {
    /// Validated parameters (a `--model` file and `--inputs` loaded and checked here, before
    /// any work).
    pub fn params(&self) -> Result<(AttackParams, Exec)> {
        let (family, precision, exec, max_memory) = self.run.resolve()?;
        let limit = load_limit(max_memory);
        let arch_flag = (self.arch != Self::default().arch).then_some(self.arch.as_str());
        let (network, model) = match given_model(
            &self.model,
            &self.network,
            &self.run,
            arch_flag,
            Some(self.sampler),
            self.compare_init,
        )? {
            Some((n, file)) => (n, Some(file)),
            None => (self.network.clone(), None),
        };
        init_needs_given(self.compare_init, &network)?;
        let arch = arch_of(&network, &self.arch, family)?;
        let (trials, inputs) =
            trials_and_inputs(&self.inputs, self.trials, arch.d, self.run.input, limit)?;
        let mut p = AttackParams::new(arch, self.run.seed, trials, self.attack, precision);
        p.source = network.clone();
        p.model = model;
        p.inputs = inputs;
        p.input = self.run.input;
        p.pgd.domain = p.domain();
        if self.norm != Norm::L2 && self.attack == Attacks::only(Attack::Onestep) {
            return Err(invalid(
                "--norm",
                self.norm.name(),
                "the one-step attack is Theorem 1.1's L2 step; use '--attack ray', 'deepfool', 'pgd', 'minnorm' or 'all' with '--norm linf'",
            ));
        }
        p.norm = self.norm;
        p.pgd.norm = self.norm;
        p.pgd.eps = default_eps(p.arch.d, self.norm);
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
        p.sampler = match network {
            Source::Sampled => self.sampler.resolve(&p.arch, p.queries_per_network()),
            Source::Given(_) => Sampler::Dense,
        };
        let fix = (p.sampler == Sampler::Dense && !network.is_given())
            .then(|| lazy_fix(self.sampler, p.bytes_with(Sampler::Lazy)))
            .flatten();
        let b = Budget::new()
            .part("--arch", p.arch.spec(), p.bytes_per_trial())
            .part("--trials", trials.to_string(), records(trials));
        with_fix(b, fix).check(max_memory)?;
        if self.compare_init {
            p.compare = Some(Box::new(self.at_init(&p)?));
        }
        Ok((p, exec))
    }

    /// The run `--compare-init` sets beside the given network of `p` (MATH 10): exactly
    /// `radex attack --arch <its architecture> --act <its activation> --outputs <its K>` with
    /// the law flags given (`--init`, `--sigma-w2`: default 1; `--sigma-b`: default 0, also
    /// when the file has biases, so the default is the paper's initialisation) on the same
    /// inputs (the given rows, or the sampled inputs of each trial) and trials.
    fn at_init(&self, p: &AttackParams) -> Result<AttackParams> {
        let family = p.arch.family;
        let init = AttackArgs {
            arch: p.arch.spec(),
            trials: p.trials,
            network: Source::Sampled,
            model: None,
            compare_init: false,
            run: init_run(&self.run, family),
            ..self.clone()
        };
        Ok(init.params()?.0)
    }
}

impl LinearityArgs {
    /// With `--compare-init`, the arguments of the run beside the given network of `p`:
    /// `radex linearity --arch <its architecture> --act <its activation> --outputs <its K>`
    /// with the law flags given, the same seed, trials and `--inputs` (so the same inputs,
    /// given or sampled).
    pub fn at_init(&self, p: &LinearityParams) -> Option<LinearityArgs> {
        let arch = p.archs.first().filter(|_| self.compare_init)?;
        Some(LinearityArgs {
            arch: vec![arch.spec()],
            trials: p.trials,
            network: Source::Sampled,
            model: None,
            compare_init: false,
            run: init_run(&self.run, arch.family),
            ..self.clone()
        })
    }
}

impl BottleneckArgs {
    /// As [`LinearityArgs::at_init`].
    pub fn at_init(&self, p: &BottleneckParams) -> Option<BottleneckArgs> {
        self.compare_init.then(|| BottleneckArgs {
            arch: p.arch.spec(),
            trials: p.trials,
            network: Source::Sampled,
            model: None,
            compare_init: false,
            run: init_run(&self.run, p.arch.family),
            ..self.clone()
        })
    }
}

/// `radex scaling`: the one-step attack across input dimensions and the slope of the median
/// `rho` against `d` (MATH 3).
#[derive(Clone, Debug)]
pub struct ScalingArgs {
    /// Input dimensions (at least two distinct).
    pub ds: String,
    /// Architecture relative to `d`, `d,W1,..` (default `d,d,d`).
    pub arch: Option<String>,
    /// Hidden widths relative to `d` (the same as `arch` without the leading `d`).
    pub widths: Option<String>,
    /// Trials per input dimension.
    pub trials: usize,
    /// Bootstrap resamples for the slope's interval.
    pub bootstrap: usize,
    /// Where the networks come from (MATH 8), per `d`.
    pub sampler: SamplerChoice,
    /// Shared settings.
    pub run: RunArgs,
}

impl Default for ScalingArgs {
    fn default() -> Self {
        ScalingArgs {
            ds: "256,512,1024,2048,4096".into(),
            arch: None,
            widths: None,
            trials: 100,
            bootstrap: 1000,
            sampler: SamplerChoice::Auto,
            run: RunArgs::default(),
        }
    }
}

impl ScalingArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(ScalingParams, Exec)> {
        let (family, precision, exec, max_memory) = self.run.resolve()?;
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
            (Some(_), Some(w)) => {
                return Err(invalid(
                    "--widths",
                    w.clone(),
                    "give either '--arch' or '--widths', not both",
                ));
            }
            (Some(a), None) => {
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
            family,
            trials: self.trials,
            seed: self.run.seed,
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

/// `radex linearity`: the gradient change around `x` against the radius (MATH 4).
#[derive(Clone, Debug)]
pub struct LinearityArgs {
    /// Architectures, one curve each.
    pub arch: Vec<String>,
    /// Radii relative to `||x||` (default `10^(-3 + k/4)`, `k = 0..12`).
    pub radii: Option<String>,
    /// Uniform directions per radius.
    pub directions: usize,
    /// Networks per architecture (with `inputs`, 0 is one per row).
    pub trials: usize,
    /// Median relative gradient change that defines the linearity radius.
    pub threshold: f64,
    /// Where the networks come from (MATH 8).
    pub sampler: SamplerChoice,
    /// Sampled per trial (default), or one given network: then it is the one architecture.
    pub network: Source,
    /// A network file to measure instead (`--model`, MATH 10; as for `radex attack`).
    pub model: Option<PathBuf>,
    /// Given inputs (`--inputs`, MATH 10; as for `radex attack`): trial `t` measures row `t`,
    /// the same row for every architecture, which must then share one input dimension.
    pub inputs: Option<Inputs>,
    /// Also measure the given network's architecture at its random initialisation
    /// (`--compare-init`, MATH 10; see [`AttackArgs::compare_init`]).
    pub compare_init: bool,
    /// Shared settings.
    pub run: RunArgs,
}

impl Default for LinearityArgs {
    fn default() -> Self {
        LinearityArgs {
            arch: vec!["1000,1000,1000".into()],
            radii: None,
            directions: 16,
            trials: 10,
            threshold: 0.5,
            sampler: SamplerChoice::Auto,
            network: Source::Sampled,
            model: None,
            inputs: None,
            compare_init: false,
            run: RunArgs::default(),
        }
    }
}

impl LinearityArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(LinearityParams, Exec)> {
        let arch_flag = (self.arch != Self::default().arch).then(|| self.arch.join(" "));
        if let Some((network, _)) = given_model(
            &self.model,
            &self.network,
            &self.run,
            arch_flag.as_deref(),
            Some(self.sampler),
            self.compare_init,
        )? {
            let given = LinearityArgs {
                network,
                model: None,
                ..self.clone()
            };
            return given.params();
        }
        init_needs_given(self.compare_init, &self.network)?;
        let (family, precision, exec, max_memory) = self.run.resolve()?;
        let (archs, specs) = match &self.network {
            Source::Given(n) => (vec![n.arch().clone()], vec![n.arch().spec()]),
            Source::Sampled => {
                if self.arch.is_empty() {
                    return Err(invalid("--arch", "", "expected at least one architecture"));
                }
                let archs = self
                    .arch
                    .iter()
                    .map(|a| arch::parse_arch(a, family))
                    .collect::<Result<Vec<_>>>()?;
                (archs, self.arch.clone())
            }
        };
        let d = archs[0].d;
        let (trials, inputs) = trials_and_inputs(
            &self.inputs,
            self.trials,
            d,
            self.run.input,
            load_limit(max_memory),
        )?;
        if let (Some(g), Some(i)) = (&inputs, archs.iter().position(|a| a.d != d)) {
            return Err(invalid(
                "--arch",
                specs[i].clone(),
                format!(
                    "'--inputs {}' gives every architecture the same rows, of dimension {d}; give architectures of input dimension {d}",
                    g.source
                ),
            ));
        }
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
            trials,
            seed: self.run.seed,
            threshold: self.threshold,
            precision,
            sampler: match self.network {
                Source::Sampled => self.sampler,
                Source::Given(_) => SamplerChoice::Dense,
            },
            source: self.network.clone(),
            input: self.run.input,
            inputs,
        };
        for (a, s) in p.archs.iter().zip(&specs) {
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
                    trials.to_string(),
                    records(trials.saturating_mul(per_trial)),
                );
            with_fix(b, fix).check(max_memory)?;
        }
        Ok((p, exec))
    }
}

/// `radex bottleneck`: per-layer bottlenecks, expansion and small pre-activations (MATH 5).
#[derive(Clone, Debug)]
pub struct BottleneckArgs {
    /// Architecture `D,W1,..,WL`.
    pub arch: String,
    /// Networks (with `inputs`, 0 is one per row).
    pub trials: usize,
    /// Radius of the sampled points, relative to `||x||`.
    pub radius: f64,
    /// Points sampled per network for the sampled expansion.
    pub samples: usize,
    /// Lemma 2.5 threshold `a`.
    pub a: f64,
    /// Sampled per trial (default), or one given network: then `arch` is its own.
    pub network: Source,
    /// A network file to measure instead (`--model`, MATH 10; as for `radex attack`).
    pub model: Option<PathBuf>,
    /// Given inputs (`--inputs`, MATH 10; as for `radex attack`): trial `t` measures row `t`.
    pub inputs: Option<Inputs>,
    /// Also measure the given network's architecture at its random initialisation
    /// (`--compare-init`, MATH 10; see [`AttackArgs::compare_init`]).
    pub compare_init: bool,
    /// Shared settings.
    pub run: RunArgs,
}

impl Default for BottleneckArgs {
    fn default() -> Self {
        BottleneckArgs {
            arch: "2000,2000,50,2000".into(),
            trials: 5,
            radius: 1e-3,
            samples: 32,
            a: 0.1,
            network: Source::Sampled,
            model: None,
            inputs: None,
            compare_init: false,
            run: RunArgs::default(),
        }
    }
}

impl BottleneckArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(BottleneckParams, Exec)> {
        let arch_flag = (self.arch != Self::default().arch).then_some(self.arch.as_str());
        if let Some((network, _)) = given_model(
            &self.model,
            &self.network,
            &self.run,
            arch_flag,
            None,
            self.compare_init,
        )? {
            let given = BottleneckArgs {
                network,
                model: None,
                ..self.clone()
            };
            return given.params();
        }
        init_needs_given(self.compare_init, &self.network)?;
        let (family, precision, exec, max_memory) = self.run.resolve()?;
        let arch = arch_of(&self.network, &self.arch, family)?;
        let (trials, inputs) = trials_and_inputs(
            &self.inputs,
            self.trials,
            arch.d,
            self.run.input,
            load_limit(max_memory),
        )?;
        positive("--radius", self.radius)?;
        positive("--a", self.a)?;
        at_least_one("--samples", self.samples, "sample")?;
        let elem = precision.bytes();
        let weights = arch.n_weights().saturating_mul(elem as u128);
        let batch = self.samples.saturating_add(1 + arch.depth());
        let all = arch.dense_bytes(elem, batch);
        Budget::new()
            .part("--arch", arch.spec(), weights)
            .part(
                "--samples",
                self.samples.to_string(),
                all.saturating_sub(weights),
            )
            .part(
                "--trials",
                trials.to_string(),
                records(trials.saturating_mul(arch.depth())),
            )
            .check(max_memory)?;
        Ok((
            BottleneckParams {
                arch,
                trials,
                seed: self.run.seed,
                radius: self.radius,
                samples: self.samples,
                a: self.a,
                precision,
                source: self.network.clone(),
                input: self.run.input,
                inputs,
            },
            exec,
        ))
    }
}

/// `radex minpert`: Min-Pert of the paper's Figure 1 (MATH 7).
#[derive(Clone, Debug)]
pub struct MinPertArgs {
    /// Input dimension.
    pub d: usize,
    /// Hidden widths `k`.
    pub ks: String,
    /// Runs per `k`.
    pub runs: usize,
    /// How the projection is computed.
    pub method: Method,
    /// Shared settings (`init` and `precision f32` are refused: the weights are `N(0, 1)` in
    /// `f64`).
    pub run: RunArgs,
}

impl Default for MinPertArgs {
    fn default() -> Self {
        MinPertArgs {
            d: 10_000,
            ks: "10,50,100,500,1000,5000,10000".into(),
            runs: 10,
            method: Method::Gram,
            run: RunArgs::default(),
        }
    }
}

impl MinPertArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(MinPertParams, Exec)> {
        let (_, precision, exec, max_memory) = self.run.resolve()?;
        if precision != Precision::F64 {
            return Err(invalid(
                "--precision",
                "f32",
                "minpert computes in f64 only (MATH 7); leave out '--precision'",
            ));
        }
        if let Some(init) = self.run.init {
            return Err(invalid(
                "--init",
                init.name(),
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
            seed: self.run.seed,
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

/// `radex depth`: networks of constant width against depth (MATH 6; MATH 9 for families
/// other than He relu).
#[derive(Clone, Debug)]
pub struct DepthArgs {
    /// Hidden width of every layer.
    pub width: usize,
    /// Input dimension (default: the width).
    pub d: Option<usize>,
    /// Depths (default `1,2,4,..,1024`).
    pub depths: Option<String>,
    /// Angle between the pair `x, y`, in degrees.
    pub theta: f64,
    /// Pairs of uniform inputs per network for the spread of `f`.
    pub pairs: usize,
    /// Networks per depth.
    pub trials: usize,
    /// Shared settings: `act`, `sigma_w2`, `sigma_b` choose the family (default He relu;
    /// `init nn` is refused for relu without biases, the paper's case); one Gaussian output
    /// and sphere inputs only.
    pub run: RunArgs,
}

impl Default for DepthArgs {
    fn default() -> Self {
        DepthArgs {
            width: 256,
            d: None,
            depths: None,
            theta: 90.0,
            pairs: 16,
            trials: 20,
            run: RunArgs::default(),
        }
    }
}

impl DepthArgs {
    /// Validated parameters.
    pub fn params(&self) -> Result<(DepthParams, Exec)> {
        let (_, precision, exec, max_memory) = self.run.resolve()?;
        let family = self.run.family(Init::He)?;
        // Theorem 3.1 is stated for He weights; an explicit '--sigma-w2' is a deliberate
        // request beyond it (for relu without biases the cosines do not depend on it).
        if self.run.init == Some(Init::Nn) && crate::experiment::depth::kappa_case(&family) {
            return Err(invalid(
                "--init",
                "nn",
                "depth uses the he initialisation (MATH 6, Appendix B), which keeps ||h_i|| ~ ||x||; give '--sigma-w2 1' to measure that scale anyway",
            ));
        }
        if family.outputs != 1 {
            return Err(invalid(
                "--outputs",
                family.outputs.to_string(),
                "depth measures one output, the sign of f (MATH 6); drop the flag",
            ));
        }
        if family.output_law != OutputLaw::Gauss {
            return Err(invalid(
                "--output-law",
                family.output_law.name(),
                "depth uses Gaussian output weights (MATH 6); drop the flag",
            ));
        }
        if self.run.input != InputLaw::Sphere {
            return Err(invalid(
                "--input",
                self.run.input.name(),
                "the depth experiments use sphere inputs (MATH 9); drop the flag",
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
            seed: self.run.seed,
            precision,
            family,
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

/// `radex export`: one trial's network and input as `.npy` files (MATH 1).
#[derive(Clone, Debug)]
pub struct ExportArgs {
    /// Architecture `D,W1,..,WL`.
    pub arch: String,
    /// Weight initialisation.
    pub init: Init,
    /// Seed, as given to `radex attack --seed`.
    pub seed: u64,
    /// Trial index.
    pub trial: u64,
    /// Element type of the arrays.
    pub precision: Precision,
    /// Memory limit for the estimate (default: `MemAvailable`).
    pub max_memory: Option<String>,
}

impl Default for ExportArgs {
    fn default() -> Self {
        ExportArgs {
            arch: "2000,2000,2000".into(),
            init: Init::Nn,
            seed: 1,
            trial: 0,
            precision: Precision::F64,
            max_memory: None,
        }
    }
}

impl ExportArgs {
    /// Validated parameters (the output directory is the front end's to check).
    pub fn params(&self) -> Result<ExportParams> {
        let max_memory = max_memory(&self.max_memory)?;
        let arch = arch::parse_arch(&self.arch, Family::paper(self.init))?;
        let p = ExportParams {
            arch,
            seed: self.seed,
            trial: self.trial,
            precision: self.precision,
        };
        Budget::new()
            .part("--arch", &self.arch, p.bytes())
            .check(max_memory)?;
        Ok(p)
    }
}

/// A command line being rendered: `radex SUBCOMMAND` and the flags whose values differ from
/// the defaults (the run's seed, threads and memory limit are the caller's to add).
struct Flags(Vec<String>);

impl Flags {
    fn new(command: &str) -> Flags {
        Flags(vec![command.to_string()])
    }

    fn value<T: PartialEq + std::fmt::Display>(&mut self, flag: &str, v: T, default: T) {
        if v != default {
            self.always(flag, v);
        }
    }

    /// A flag printed even at its default: the sizes a reader looks for first.
    fn always<T: std::fmt::Display>(&mut self, flag: &str, v: T) {
        self.0.extend([flag.to_string(), v.to_string()]);
    }

    fn some(&mut self, flag: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.0.extend([flag.to_string(), v.clone()]);
        }
    }

    fn switch(&mut self, flag: &str, on: bool) {
        if on {
            self.0.push(flag.to_string());
        }
    }

    fn run(mut self, r: &RunArgs) -> Vec<String> {
        if let Some(act) = r.act {
            self.always("--act", act);
        }
        if let Some(init) = r.init {
            self.0
                .extend(["--init".to_string(), init.name().to_string()]);
        }
        if let Some(s) = r.sigma_w2 {
            self.always("--sigma-w2", num(s));
        }
        self.value("--sigma-b", num(r.sigma_b), num(0.0));
        self.value("--outputs", r.outputs, 1);
        self.value("--output-law", r.output_law.name(), OutputLaw::Gauss.name());
        self.value("--input", r.input.name(), InputLaw::Sphere.name());
        self.value("--precision", r.precision.name(), Precision::F64.name());
        self.0
    }
}

impl AttackArgs {
    /// The subcommand and flags that give these arguments: the sizes always, every other
    /// value when it is not at its default; seed, threads and memory limit left out. Sampled
    /// networks only.
    pub fn flags(&self) -> Vec<String> {
        let d = Self::default();
        let mut f = Flags::new("attack");
        f.always("--arch", &self.arch);
        f.always("--trials", self.trials);
        f.value("--attack", self.attack.name(), d.attack.name());
        f.value("--norm", self.norm.name(), d.norm.name());
        f.some("--eps", &self.eps);
        f.value("--pgd-steps", self.pgd_steps, d.pgd_steps);
        f.switch("--random-start", self.random_start);
        f.value("--overshoot", self.overshoot, d.overshoot);
        f.value("--max-iter", self.max_iter, d.max_iter);
        f.value("--sampler", self.sampler.name(), d.sampler.name());
        f.run(&self.run)
    }
}

impl ScalingArgs {
    /// As [`AttackArgs::flags`].
    pub fn flags(&self) -> Vec<String> {
        let d = Self::default();
        let mut f = Flags::new("scaling");
        f.always("--ds", &self.ds);
        f.some("--arch", &self.arch);
        f.some("--widths", &self.widths);
        f.always("--trials", self.trials);
        f.value("--bootstrap", self.bootstrap, d.bootstrap);
        f.value("--sampler", self.sampler.name(), d.sampler.name());
        f.run(&self.run)
    }
}

impl LinearityArgs {
    /// As [`AttackArgs::flags`].
    pub fn flags(&self) -> Vec<String> {
        let d = Self::default();
        let mut f = Flags::new("linearity");
        for a in &self.arch {
            f.always("--arch", a);
        }
        f.some("--radii", &self.radii);
        f.value("--directions", self.directions, d.directions);
        f.always("--trials", self.trials);
        f.value("--threshold", self.threshold, d.threshold);
        f.value("--sampler", self.sampler.name(), d.sampler.name());
        f.run(&self.run)
    }
}

impl BottleneckArgs {
    /// As [`AttackArgs::flags`].
    pub fn flags(&self) -> Vec<String> {
        let d = Self::default();
        let mut f = Flags::new("bottleneck");
        f.always("--arch", &self.arch);
        f.always("--trials", self.trials);
        f.value("--radius", self.radius, d.radius);
        f.value("--samples", self.samples, d.samples);
        f.value("--a", self.a, d.a);
        f.run(&self.run)
    }
}

/// `radex phase`: the order-chaos diagram over `sigma_w^2 x sigma_b` (MATH 9).
#[derive(Clone, Debug)]
pub struct PhaseArgs {
    /// Activation: tanh or erf.
    pub act: Act,
    /// `sigma_w^2` values.
    pub sigma_w2: String,
    /// `sigma_b` values.
    pub sigma_b: String,
    /// Depth of every network.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    /// Input dimension (default: the width).
    pub d: Option<usize>,
    /// Networks per cell.
    pub trials: usize,
    /// Seed.
    pub seed: u64,
    /// Worker threads (0 = all cores); results are identical for any value.
    pub threads: usize,
    /// Element type.
    pub precision: Precision,
    /// Memory limit, e.g. `8G`.
    pub max_memory: Option<String>,
}

impl Default for PhaseArgs {
    fn default() -> Self {
        PhaseArgs {
            act: Act::Tanh,
            sigma_w2: crate::experiment::phase::DEFAULT_SIGMA_W2.into(),
            sigma_b: crate::experiment::phase::DEFAULT_SIGMA_B.into(),
            depth: 32,
            width: 64,
            d: None,
            trials: 8,
            seed: 1,
            threads: 0,
            precision: Precision::F64,
            max_memory: None,
        }
    }
}

impl PhaseArgs {
    /// As [`AttackArgs::flags`].
    pub fn flags(&self) -> Vec<String> {
        let d = Self::default();
        let mut f = Flags::new("phase");
        f.value("--act", self.act.name(), d.act.name());
        f.value("--sigma-w2", self.sigma_w2.as_str(), d.sigma_w2.as_str());
        f.value("--sigma-b", self.sigma_b.as_str(), d.sigma_b.as_str());
        f.always("--depth", self.depth);
        f.always("--width", self.width);
        if let Some(v) = self.d {
            f.always("--d", v);
        }
        f.always("--trials", self.trials);
        f.value("--precision", self.precision.name(), d.precision.name());
        f.0
    }

    /// Validated parameters.
    pub fn params(&self) -> Result<(PhaseParams, Exec)> {
        let max_memory = max_memory(&self.max_memory)?;
        let limit = budget::memory_limit(max_memory).map(|(b, _)| b);
        if !matches!(self.act, Act::Tanh | Act::Erf) {
            return Err(invalid(
                "--act",
                self.act.name(),
                "the phase diagram is drawn for tanh or erf, whose q map has a fixed point (MATH 9); measure other activations one point at a time with 'radex depth --act'",
            ));
        }
        let sigma_w2 = lists::positives("--sigma-w2", &self.sigma_w2)?;
        let sigma_b = lists::nonnegatives("--sigma-b", &self.sigma_b)?;
        at_least_one("--depth", self.depth, "layer")?;
        if self.depth > arch::MAX_DEPTH {
            return Err(invalid(
                "--depth",
                self.depth.to_string(),
                format!("expected a depth of at most {}", arch::MAX_DEPTH),
            ));
        }
        at_least_one("--width", self.width, "unit")?;
        let d = self.d.unwrap_or(self.width);
        at_least_one("--d", d, "input dimension")?;
        at_least_one("--trials", self.trials, "trial")?;
        let p = PhaseParams {
            act: self.act,
            sigma_w2,
            sigma_b,
            depth: self.depth,
            width: self.width,
            d,
            trials: self.trials,
            seed: self.seed,
            precision: self.precision,
        };
        // Every cell has the same shapes: the budget of one is the run's.
        let cell = p.cell(p.sigma_w2[0], p.sigma_b[0]);
        let weights = cell
            .arch(p.depth)?
            .n_weights()
            .saturating_mul(self.precision.bytes() as u128);
        let all = cell.bytes_per_trial(p.depth)?;
        Budget::new()
            .part(
                "--depth",
                format!("width {} depth {}", self.width, self.depth),
                weights,
            )
            .part("--d", d.to_string(), all.saturating_sub(weights))
            .part(
                "--trials",
                self.trials.to_string(),
                records(self.trials.saturating_mul(p.cells())),
            )
            .check(max_memory)?;
        Ok((p, Exec::new(self.threads, limit)))
    }
}

impl DepthArgs {
    /// As [`AttackArgs::flags`].
    pub fn flags(&self) -> Vec<String> {
        let d = Self::default();
        let mut f = Flags::new("depth");
        f.always("--width", self.width);
        if let Some(v) = self.d {
            f.0.extend(["--d".to_string(), v.to_string()]);
        }
        f.some("--depths", &self.depths);
        f.value("--theta", self.theta, d.theta);
        f.value("--pairs", self.pairs, d.pairs);
        f.always("--trials", self.trials);
        f.run(&self.run)
    }
}

impl MinPertArgs {
    /// As [`AttackArgs::flags`].
    pub fn flags(&self) -> Vec<String> {
        let d = Self::default();
        let mut f = Flags::new("minpert");
        f.always("--d", self.d);
        f.always("--ks", &self.ks);
        f.always("--runs", self.runs);
        f.value("--method", self.method.name(), d.method.name());
        f.run(&self.run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_their_names_and_name_the_flag_otherwise() {
        for (n, v) in Attacks::ALL {
            assert_eq!(Attacks::parse(n).unwrap(), *v);
            assert_eq!(v.name(), *n);
        }
        let e = SamplerChoice::parse("sparse").unwrap_err().to_string();
        assert!(
            e.contains("'--sampler'") && e.contains("dense, lazy, auto"),
            "{e}"
        );
    }

    #[test]
    fn defaults_validate() {
        AttackArgs::default().params().unwrap();
        ScalingArgs::default().params().unwrap();
        LinearityArgs::default().params().unwrap();
        BottleneckArgs::default().params().unwrap();
        MinPertArgs::default().params().unwrap();
        DepthArgs::default().params().unwrap();
        PhaseArgs::default().params().unwrap();
        ExportArgs::default().params().unwrap();
    }

    #[test]
    fn a_library_caller_cannot_build_params_that_panic() {
        let e = LinearityArgs {
            directions: 0,
            ..Default::default()
        }
        .params()
        .unwrap_err();
        assert!(e.to_string().contains("'--directions'"));
        let e = LinearityArgs {
            arch: vec![],
            ..Default::default()
        }
        .params()
        .unwrap_err();
        assert!(e.to_string().contains("'--arch'"));
    }
}
