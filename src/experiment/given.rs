//! Networks and inputs users bring (MATH 10), checked against the other flags before any
//! work: `--model` loaded and its architecture, activation and outputs reconciled with the
//! flags; `--inputs` loaded and checked against `d` and `--input`; `--compare-init`'s run at
//! initialisation beside a given network.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::args::{RunArgs, at_least_one, max_memory};
use crate::act::Act;
use crate::arch::{self, Family, OutputLaw};
use crate::brought;
use crate::budget::{self};
use crate::choice::Choice;
use crate::error::{Result, invalid, num};
use crate::experiment::attack::{GivenInputs, ModelFile};
use crate::net::{DenseNet, Layers, SamplerChoice, Source};
use crate::rng::InputLaw;

/// The architecture: the given network's, or `spec` parsed.
pub(super) fn arch_of(network: &Source, spec: &str, family: Family) -> Result<arch::Arch> {
    match network {
        Source::Given(n) => Ok(n.arch().clone()),
        Source::Sampled => arch::parse_arch(spec, family),
    }
}

/// Inputs a user gives (MATH 10) instead of sampled ones: trial `t` measures row `t`.
#[derive(Clone, Debug)]
pub enum Inputs {
    /// A `.npy` array of shape `(n, d)` or `(d,)` (`--inputs FILE`).
    File(PathBuf),
    /// Rows in memory, each of length `d` (the Python package's arrays); reported as `array`.
    Rows(Arc<Vec<Vec<f64>>>),
}

/// The memory limit loads are charged against (`--max-memory`, else `MemAvailable`, else
/// none).
pub fn load_limit(max_memory: Option<u128>) -> u128 {
    budget::memory_limit(max_memory).map_or(u128::MAX, |(b, _)| b)
}

/// The last component of `path`, as reports name a file.
pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// The network of `--model` (MATH 10) checked against the other flags: the file decides the
/// architecture, the number of outputs and the output weights, so the flags that would set
/// them are refused; so are the flags of the weights' law unless `compare_init` (then they set
/// the law of the initialisation compared with).
pub(super) fn brought(
    path: &Path,
    run: &RunArgs,
    arch_flag: Option<&str>,
    sampler: Option<SamplerChoice>,
    compare_init: bool,
    limit: u128,
) -> Result<(Arc<DenseNet<f64>>, ModelFile)> {
    let shown = path.display().to_string();
    if let Some(a) = arch_flag {
        return Err(invalid(
            "--arch",
            a,
            format!("'--model {shown}' brings its own architecture; leave out '--arch'"),
        ));
    }
    if sampler == Some(SamplerChoice::Lazy) {
        return Err(invalid(
            "--sampler",
            "lazy",
            "'--model' measures the file's stored weights; leave out '--sampler' ('--compare-init' samples dense networks or as 'auto' decides)",
        ));
    }
    if run.outputs != 1 {
        return Err(invalid(
            "--outputs",
            run.outputs.to_string(),
            "the file decides the number of outputs (the rows of its last matrix); leave out '--outputs'",
        ));
    }
    if run.output_law != OutputLaw::Gauss {
        return Err(invalid(
            "--output-law",
            run.output_law.name(),
            "the file's output weights are given, not drawn; leave out '--output-law'",
        ));
    }
    if !compare_init {
        let law = if let Some(s) = run.sigma_w2 {
            Some(("--sigma-w2", num(s)))
        } else if let Some(i) = run.init {
            Some(("--init", i.name().to_string()))
        } else if run.sigma_b != 0.0 {
            Some(("--sigma-b", num(run.sigma_b)))
        } else {
            None
        };
        if let Some((flag, v)) = law {
            return Err(invalid(
                flag,
                v,
                "with '--model' it only sets the law of the initialisation that '--compare-init' measures; add '--compare-init' or leave it out",
            ));
        }
    }
    load_network(path, run.act, limit)
}

/// The network of `model` (`--model`), if given, read and checked against the other flags
/// ([`brought`]); `network` must then be sampled (one given network at a time).
pub(super) fn given_model(
    model: &Option<PathBuf>,
    network: &Source,
    run: &RunArgs,
    arch_flag: Option<&str>,
    sampler: Option<SamplerChoice>,
    compare_init: bool,
) -> Result<Option<(Source, ModelFile)>> {
    let Some(path) = model else {
        return Ok(None);
    };
    if network.is_given() {
        return Err(invalid(
            "--model",
            path.display().to_string(),
            "a network is given already; give either the network or the file",
        ));
    }
    let limit = load_limit(max_memory(&run.max_memory)?);
    let (net, file) = brought(path, run, arch_flag, sampler, compare_init, limit)?;
    Ok(Some((Source::Given(net), file)))
}

/// `--compare-init` compares a given network with its initialisation: refused without one.
pub(super) fn init_needs_given(compare_init: bool, network: &Source) -> Result<()> {
    if compare_init && !network.is_given() {
        return Err(invalid(
            "--compare-init",
            "true",
            "it compares a given network with its initialisation; add '--model FILE'",
        ));
    }
    Ok(())
}

/// The shared settings of the initialisation compared with a given network of `family`
/// (MATH 10): its activation and outputs, the law flags as given.
pub(super) fn init_run(run: &RunArgs, family: Family) -> RunArgs {
    RunArgs {
        act: Some(family.act),
        outputs: family.outputs,
        ..run.clone()
    }
}

/// Reads the network file at `path` (MATH 10; [`brought::load_model`], `limit` bytes) into a
/// stored network, with its name and format for the report.
///
/// The activation is the file's (safetensors metadata, the export manifest) or `act`
/// (`--act`); both given and different is refused. Neither given is refused too, except for
/// radex's own export directories (`radex export` writes relu networks): a wrong activation
/// would give plausible numbers for another network with nothing to show it, and one flag
/// fixes it.
pub fn load_network(
    path: &Path,
    act: Option<Act>,
    limit: u128,
) -> Result<(Arc<DenseNet<f64>>, ModelFile)> {
    let shown = path.display().to_string();
    let missing = |format: &str| {
        invalid(
            "--act",
            "",
            format!(
                "the {format} file '{shown}' does not name its activation: give it, e.g. '--act relu' or '--act tanh' (MATH 10)"
            ),
        )
    };
    // Before any array is read: an npz never names its activation, a safetensors file only in
    // its header.
    if act.is_none() {
        if let Some(format) = brought::unnamed_activation(path) {
            return Err(missing(format));
        }
    }
    let w = brought::load_model(path, limit)?;
    let act = match (w.act, act) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid(
                "--act",
                b.name(),
                format!(
                    "the file '{shown}' names the activation '{a}'; leave out '--act' or give '--act {a}'"
                ),
            ));
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) if w.format == "export" => Act::Relu,
        (None, None) => return Err(missing(w.format)),
    };
    let family = Family {
        act,
        outputs: w.outputs,
        ..Family::default()
    };
    let net = DenseNet::from_weights(&w.dims, family, w.weights, w.biases)
        .map_err(|e| invalid("--model", shown.clone(), e.to_string()))?;
    Ok((
        Arc::new(net),
        ModelFile {
            file: file_name(path),
            format: w.format.to_string(),
        },
    ))
}

/// The rows of `--inputs` for input dimension `d`, checked against the box for box inputs
/// (MATH 9), and where they came from.
pub(super) fn given_inputs(
    inputs: &Inputs,
    d: usize,
    law: InputLaw,
    limit: u128,
) -> Result<GivenInputs> {
    let (rows, source) = match inputs {
        Inputs::File(path) => (
            Arc::new(brought::load_inputs(path, d, limit)?),
            file_name(path),
        ),
        Inputs::Rows(rows) => {
            if rows.is_empty() {
                return Err(invalid("--inputs", "0 rows", "expected at least one input"));
            }
            if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != d) {
                return Err(invalid(
                    "--inputs",
                    format!("row {i} of {} entries", r.len()),
                    format!("the network's input dimension is {d}: expected shape (n, {d})"),
                ));
            }
            if let Some(i) = rows.iter().position(|r| r.iter().any(|v| !v.is_finite())) {
                return Err(invalid(
                    "--inputs",
                    format!("row {i}"),
                    "expected finite inputs, got NaN or infinity",
                ));
            }
            (rows.clone(), "array".to_string())
        }
    };
    match law {
        InputLaw::Sphere => {}
        InputLaw::Box => {
            if let Some(i) = rows
                .iter()
                .position(|r| r.iter().any(|v| !(0.0..=1.0).contains(v)))
            {
                return Err(invalid(
                    "--inputs",
                    format!("{source} row {i}"),
                    "'--input box' attacks within [0,1]^d, but this row has entries outside it; rescale the inputs or leave out '--input box'",
                ));
            }
        }
        other => {
            return Err(invalid(
                "--input",
                other.name(),
                "it is a law of sampled inputs; with '--inputs' only '--input box' applies (attacks kept in [0,1]^d)",
            ));
        }
    }
    Ok(GivenInputs { rows, source })
}

/// The trials to run and the rows of `inputs` (`--inputs`, MATH 10) for input dimension `d`,
/// as `attack`, `linearity` and `bottleneck` take them: without inputs, `trials` (at least
/// 1); with them, trial `t` measures row `t`, `trials` 0 means one per row, and more trials
/// than rows are refused.
pub(super) fn trials_and_inputs(
    inputs: &Option<Inputs>,
    trials: usize,
    d: usize,
    law: InputLaw,
    limit: u128,
) -> Result<(usize, Option<GivenInputs>)> {
    let Some(inputs) = inputs else {
        at_least_one("--trials", trials, "trial")?;
        return Ok((trials, None));
    };
    let g = given_inputs(inputs, d, law, limit)?;
    let n = g.rows.len();
    if trials > n {
        return Err(invalid(
            "--trials",
            trials.to_string(),
            format!(
                "'--inputs {}' has {n} rows, one per trial; give at most {n} or leave out '--trials'",
                g.source
            ),
        ));
    }
    Ok((if trials == 0 { n } else { trials }, Some(g)))
}
