//! The experiments `radex reproduce` runs, as the library's typed arguments; the report prints
//! each as the `radex` command line rendered from them, which gives the same numbers (same
//! seed, any `-j`).

use crate::attack::{Attack, Attacks};
use serde::Serialize;

use crate::act::Act;
use crate::arch::{Init, OutputLaw};
use crate::experiment::args::{
    AttackArgs, BottleneckArgs, DepthArgs, LinearityArgs, MinPertArgs, PhaseArgs, RunArgs,
    ScalingArgs,
};
use crate::net::SamplerChoice;

/// How big the run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Under a minute on 2 cores (small sizes; what the test suite runs).
    Quick,
    /// About five minutes on 2 cores (Figure 1 at the paper's size).
    Default,
    /// Larger sizes everywhere (widths up to 10^4, scaling to d = 10^7, depth at width 512):
    /// 22 minutes on 2 cores.
    Full,
}

/// The arguments of one experiment, as the library takes them (the run's seed, threads and
/// memory limit are set when it runs).
#[derive(Clone, Debug)]
pub enum Experiment {
    /// `radex attack`.
    Attack(AttackArgs),
    /// `radex scaling`.
    Scaling(ScalingArgs),
    /// `radex linearity`.
    Linearity(LinearityArgs),
    /// `radex bottleneck`.
    Bottleneck(BottleneckArgs),
    /// `radex depth`.
    Depth(DepthArgs),
    /// `radex minpert`.
    Minpert(MinPertArgs),
    /// `radex phase`.
    Phase(PhaseArgs),
}

impl Experiment {
    /// The subcommand and its flags (without `--seed`).
    pub fn flags(&self) -> Vec<String> {
        match self {
            Experiment::Attack(a) => a.flags(),
            Experiment::Scaling(a) => a.flags(),
            Experiment::Linearity(a) => a.flags(),
            Experiment::Bottleneck(a) => a.flags(),
            Experiment::Depth(a) => a.flags(),
            Experiment::Minpert(a) => a.flags(),
            Experiment::Phase(a) => a.flags(),
        }
    }

    /// The same experiment with the run's seed, threads and memory limit (its network family
    /// and precision are its own).
    pub fn with_run(&self, run: &RunArgs) -> Experiment {
        let shared = |own: &mut RunArgs| {
            own.seed = run.seed;
            own.threads = run.threads;
            own.max_memory.clone_from(&run.max_memory);
        };
        let mut e = self.clone();
        match &mut e {
            Experiment::Attack(a) => shared(&mut a.run),
            Experiment::Scaling(a) => shared(&mut a.run),
            Experiment::Linearity(a) => shared(&mut a.run),
            Experiment::Bottleneck(a) => shared(&mut a.run),
            Experiment::Depth(a) => shared(&mut a.run),
            Experiment::Minpert(a) => shared(&mut a.run),
            Experiment::Phase(a) => {
                a.seed = run.seed;
                a.threads = run.threads;
                a.max_memory.clone_from(&run.max_memory);
            }
        }
        e
    }
}

/// One experiment of the plan: a name (its key in `results.json`) and its arguments.
#[derive(Clone, Debug)]
pub struct Job {
    /// Which experiment (`attack`, `scaling`, `bottleneck_wide`, ...).
    pub name: &'static str,
    /// Its arguments.
    pub experiment: Experiment,
}

impl Serialize for Job {
    /// `{"name": .., "args": [subcommand, flags..]}`, the command line after `radex`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Job", 2)?;
        st.serialize_field("name", self.name)?;
        st.serialize_field("args", &self.experiment.flags())?;
        st.end()
    }
}

impl Job {
    /// The command line with the seed, as the report prints it: rendered from the arguments,
    /// so it gives the same numbers (same seed, any `-j`).
    pub fn command(&self, seed: u64) -> String {
        format!("radex {} --seed {seed}", self.experiment.flags().join(" "))
    }
}

/// The experiments of a mode, in the order they run.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// Mode.
    pub mode: Mode,
    /// Theorem 1.1 and Lemma 2.2 (`radex attack`).
    pub attack: Job,
    /// The `-1/2` slope (`radex scaling`).
    pub scaling: Job,
    /// Near-linearity (`radex linearity`, a wide and a narrow architecture).
    pub linearity: Job,
    /// Bottlenecks and Lemma 2.5 on a constant-width architecture.
    pub bottleneck_wide: Job,
    /// The same with a narrow layer.
    pub bottleneck_narrow: Job,
    /// Depth (`radex depth`).
    pub depth: Job,
    /// Figure 1 (`radex minpert`).
    pub minpert: Job,
    /// Beyond the paper (MATH 9): the one-step law for tanh with biases.
    pub beyond_tanh: Job,
    /// The same for erf with `+-1` output weights and one hidden layer (Bubeck et al.).
    pub beyond_erf: Job,
    /// The same for gelu with biases and 10 outputs (De Palma et al.).
    pub beyond_gelu: Job,
    /// The order-chaos phase diagram of deep tanh networks (`radex phase`).
    pub phase: Job,
}

impl Plan {
    /// The plan of `mode`.
    pub fn of(mode: Mode) -> Plan {
        let attack = |arch: &str, trials| Job {
            name: "attack",
            experiment: Experiment::Attack(AttackArgs {
                arch: arch.into(),
                trials,
                ..Default::default()
            }),
        };
        let scaling = |ds: &str, trials| Job {
            name: "scaling",
            experiment: Experiment::Scaling(ScalingArgs {
                ds: ds.into(),
                trials,
                ..Default::default()
            }),
        };
        let linearity = |archs: [&str; 2], trials, directions| Job {
            name: "linearity",
            experiment: Experiment::Linearity(LinearityArgs {
                arch: archs.iter().map(|a| a.to_string()).collect(),
                trials,
                directions,
                ..Default::default()
            }),
        };
        let bottleneck = |name, arch: &str, trials| Job {
            name,
            experiment: Experiment::Bottleneck(BottleneckArgs {
                arch: arch.into(),
                trials,
                a: 0.25,
                ..Default::default()
            }),
        };
        let depth = |width, depths: Option<&str>, trials, pairs| Job {
            name: "depth",
            experiment: Experiment::Depth(DepthArgs {
                width,
                depths: depths.map(String::from),
                trials,
                pairs,
                ..Default::default()
            }),
        };
        let minpert = |d, ks: &str| Job {
            name: "minpert",
            experiment: Experiment::Minpert(MinPertArgs {
                d,
                ks: ks.into(),
                runs: 10,
                ..Default::default()
            }),
        };
        // Beyond the paper (MATH 9): one-step attacks on lazily sampled networks of width d.
        let beyond = |d: usize, trials| {
            let job = |name, layers: usize, run| Job {
                name,
                experiment: Experiment::Attack(AttackArgs {
                    arch: vec![d.to_string(); layers + 1].join(","),
                    trials,
                    attack: Attacks::only(Attack::Onestep),
                    sampler: SamplerChoice::Lazy,
                    run,
                    ..Default::default()
                }),
            };
            let tanh = RunArgs {
                act: Some(Act::Tanh),
                sigma_w2: Some(1.5),
                sigma_b: 0.3,
                ..RunArgs::default()
            };
            let erf = RunArgs {
                act: Some(Act::Erf),
                output_law: OutputLaw::Rademacher,
                ..RunArgs::default()
            };
            let gelu = RunArgs {
                act: Some(Act::Gelu),
                init: Some(Init::He),
                sigma_b: 0.3,
                outputs: 10,
                ..RunArgs::default()
            };
            [
                job("attack_tanh", 2, tanh),
                job("attack_erf", 1, erf),
                job("attack_gelu", 2, gelu),
            ]
        };
        let phase = |sigma_w2: Option<&str>, sigma_b: Option<&str>, depth, width, trials| {
            let d = PhaseArgs::default();
            Job {
                name: "phase",
                experiment: Experiment::Phase(PhaseArgs {
                    sigma_w2: sigma_w2.map_or(d.sigma_w2.clone(), String::from),
                    sigma_b: sigma_b.map_or(d.sigma_b.clone(), String::from),
                    depth,
                    width,
                    trials,
                    ..d
                }),
            }
        };
        let paper_ks = "10,50,100,500,1000,5000,10000";
        match mode {
            Mode::Quick => {
                let [beyond_tanh, beyond_erf, beyond_gelu] = beyond(1000, 1000);
                Plan {
                    beyond_tanh,
                    beyond_erf,
                    beyond_gelu,
                    mode,
                    attack: attack("500,500,500", 200),
                    scaling: scaling("128,256,512,1024", 100),
                    linearity: linearity(["400,400,400", "400,400,25,400"], 4, 8),
                    bottleneck_wide: bottleneck("bottleneck_wide", "500,500,500,500", 4),
                    bottleneck_narrow: bottleneck("bottleneck_narrow", "500,500,25,500", 4),
                    depth: depth(64, Some("1,2,4,8,16,32,64"), 10, 8),
                    minpert: minpert(1000, "1,5,10,50,100,500,1000"),
                    phase: phase(Some("0.75,1.5,2.5,4"), Some("0,0.3,1"), 16, 64, 4),
                }
            }
            Mode::Default => {
                let [beyond_tanh, beyond_erf, beyond_gelu] = beyond(4000, 4000);
                Plan {
                    beyond_tanh,
                    beyond_erf,
                    beyond_gelu,
                    mode,
                    attack: attack("2000,2000,2000", 1000),
                    scaling: scaling("256,1024,4096,16384,65536,262144", 200),
                    linearity: linearity(["2000,2000,2000", "2000,2000,50,2000"], 10, 16),
                    bottleneck_wide: bottleneck("bottleneck_wide", "4000,4000,4000,4000", 5),
                    bottleneck_narrow: bottleneck("bottleneck_narrow", "4000,4000,50,4000", 5),
                    depth: depth(256, None, 10, 16),
                    minpert: minpert(10_000, paper_ks),
                    phase: phase(None, None, 32, 256, 8),
                }
            }
            Mode::Full => {
                let [beyond_tanh, beyond_erf, beyond_gelu] = beyond(10_000, 20_000);
                Plan {
                    beyond_tanh,
                    beyond_erf,
                    beyond_gelu,
                    mode,
                    attack: attack("10000,10000,10000", 1000),
                    scaling: scaling("100,1000,10000,100000,1000000,10000000", 100),
                    linearity: linearity(["4000,4000,4000", "4000,4000,50,4000"], 10, 16),
                    bottleneck_wide: bottleneck("bottleneck_wide", "8000,8000,8000,8000", 10),
                    bottleneck_narrow: bottleneck("bottleneck_narrow", "8000,8000,50,8000", 10),
                    depth: depth(512, None, 20, 16),
                    minpert: minpert(10_000, paper_ks),
                    phase: phase(None, None, 32, 512, 16),
                }
            }
        }
    }

    /// The jobs in running order.
    pub fn jobs(&self) -> [&Job; 11] {
        [
            &self.attack,
            &self.scaling,
            &self.linearity,
            &self.bottleneck_wide,
            &self.bottleneck_narrow,
            &self.depth,
            &self.minpert,
            &self.beyond_tanh,
            &self.beyond_erf,
            &self.beyond_gelu,
            &self.phase,
        ]
    }
}
