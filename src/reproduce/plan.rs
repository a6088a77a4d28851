//! The experiments `radex reproduce` runs, as `radex` command lines: the report prints each
//! one, and the same line given to `radex` gives the same numbers (same seed, any `-j`).

use serde::Serialize;

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

/// One experiment: a name and the arguments after `radex` (without `--seed`).
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    /// Which experiment (`attack`, `scaling`, ...), also its key in `results.json`.
    pub name: &'static str,
    /// Arguments after `radex`, starting with the subcommand.
    pub args: Vec<String>,
}

impl Job {
    fn new(name: &'static str, args: &str) -> Job {
        Job {
            name,
            args: args.split_whitespace().map(String::from).collect(),
        }
    }

    /// The command line with the seed, as the report prints it.
    pub fn command(&self, seed: u64) -> String {
        format!("radex {} --seed {seed}", self.args.join(" "))
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
}

impl Plan {
    /// The plan of `mode`.
    pub fn of(mode: Mode) -> Plan {
        let j = Job::new;
        match mode {
            Mode::Quick => Plan {
                mode,
                attack: j("attack", "attack --arch 500,500,500 --trials 200"),
                scaling: j("scaling", "scaling --ds 128,256,512,1024 --trials 100"),
                linearity: j(
                    "linearity",
                    "linearity --arch 400,400,400 --arch 400,400,25,400 --trials 4 \
                     --directions 8",
                ),
                bottleneck_wide: j(
                    "bottleneck_wide",
                    "bottleneck --arch 500,500,500,500 --trials 4 --a 0.25",
                ),
                bottleneck_narrow: j(
                    "bottleneck_narrow",
                    "bottleneck --arch 500,500,25,500 --trials 4 --a 0.25",
                ),
                depth: j(
                    "depth",
                    "depth --width 64 --depths 1,2,4,8,16,32,64 --trials 10 --pairs 8",
                ),
                minpert: j(
                    "minpert",
                    "minpert --d 1000 --ks 1,5,10,50,100,500,1000 --runs 10",
                ),
            },
            Mode::Default => Plan {
                mode,
                attack: j("attack", "attack --arch 2000,2000,2000 --trials 1000"),
                scaling: j(
                    "scaling",
                    "scaling --ds 256,1024,4096,16384,65536,262144 --trials 200",
                ),
                linearity: j(
                    "linearity",
                    "linearity --arch 2000,2000,2000 --arch 2000,2000,50,2000 --trials 10",
                ),
                bottleneck_wide: j(
                    "bottleneck_wide",
                    "bottleneck --arch 4000,4000,4000,4000 --trials 5 --a 0.25",
                ),
                bottleneck_narrow: j(
                    "bottleneck_narrow",
                    "bottleneck --arch 4000,4000,50,4000 --trials 5 --a 0.25",
                ),
                depth: j("depth", "depth --width 256 --trials 10"),
                minpert: j(
                    "minpert",
                    "minpert --d 10000 --ks 10,50,100,500,1000,5000,10000 --runs 10",
                ),
            },
            Mode::Full => Plan {
                mode,
                attack: j("attack", "attack --arch 10000,10000,10000 --trials 1000"),
                scaling: j(
                    "scaling",
                    "scaling --ds 100,1000,10000,100000,1000000,10000000 --trials 100",
                ),
                linearity: j(
                    "linearity",
                    "linearity --arch 4000,4000,4000 --arch 4000,4000,50,4000 --trials 10",
                ),
                bottleneck_wide: j(
                    "bottleneck_wide",
                    "bottleneck --arch 8000,8000,8000,8000 --trials 10 --a 0.25",
                ),
                bottleneck_narrow: j(
                    "bottleneck_narrow",
                    "bottleneck --arch 8000,8000,50,8000 --trials 10 --a 0.25",
                ),
                depth: j("depth", "depth --width 512 --trials 20"),
                minpert: j(
                    "minpert",
                    "minpert --d 10000 --ks 10,50,100,500,1000,5000,10000 --runs 10",
                ),
            },
        }
    }

    /// The jobs in running order.
    pub fn jobs(&self) -> [&Job; 7] {
        [
            &self.attack,
            &self.scaling,
            &self.linearity,
            &self.bottleneck_wide,
            &self.bottleneck_narrow,
            &self.depth,
            &self.minpert,
        ]
    }
}
