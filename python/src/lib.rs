//! The native half of the Python package `radex`; the pure-Python half (`radex/__init__.py`)
//! gives each function its signature, defaults (read from here, so they are the library's)
//! and docstring. Every call builds the library's arguments, validates them with the
//! library's own checks (`radex.InputError` carries the CLI's one-line message), runs with
//! the GIL released, and returns the report as the JSON text the CLI prints, so a Python result
//! and the CLI's `--format json` are the same numbers bit for bit.

use std::path::PathBuf;
use std::sync::Arc;

use faer::{MatRef, Par};
use numpy::ndarray::{Array1, Array2, ShapeBuilder};
use numpy::{
    IntoPyArray, PyArray2, PyArrayDescrMethods, PyReadonlyArray2, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use radex::arch::{self, Arch, Init, OutputLaw};
use radex::budget::Budget;
use radex::choice::Choice;
use radex::experiment as exp;
use radex::experiment::args::{
    AttackArgs, BottleneckArgs, DepthArgs, LinearityArgs, MinPertArgs, PhaseArgs, RunArgs,
    ScalingArgs,
};
use radex::experiment::given::{Inputs, load_limit, load_network};
use radex::net::{
    DenseNet, Grad, Layers, Net, Sampler, Source, Trace, backward_into, forward_into,
};
use radex::record::to_json;
use radex::reproduce::plan::Mode;
use radex::reproduce::run::ReproduceArgs;
use radex::scalar::{Precision, Real};

create_exception!(
    _radex,
    InputError,
    PyValueError,
    "Bad input, found before any work: the message names the argument (as the CLI's flag), the value and the fix."
);

fn input_error(e: radex::Error) -> PyErr {
    InputError::new_err(e.to_string())
}

/// The keyword `key` of `kw`, if given and not `None`, as a `T` (a plain Python value:
/// `str`, `int`, `float`, `bool`, or a list of `str`).
trait Keyword: Sized {
    fn from_py(v: &Bound<'_, PyAny>) -> PyResult<Self>;
}

macro_rules! keyword {
    ($($t:ty),*) => {$(
        impl Keyword for $t {
            fn from_py(v: &Bound<'_, PyAny>) -> PyResult<Self> {
                v.extract::<$t>()
            }
        }
    )*};
}
keyword!(String, usize, u64, f64, bool, Vec<String>);

fn get<T: Keyword>(kw: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<T>> {
    match kw.get_item(key)? {
        Some(v) if !v.is_none() => T::from_py(&v)
            .map(Some)
            .map_err(|e| InputError::new_err(format!("invalid value for '{key}': {e}"))),
        _ => Ok(None),
    }
}

/// A named value (`--attack`, `--sampler`, ...) given as a string.
fn choice<T: Choice>(kw: &Bound<'_, PyDict>, key: &str, default: T) -> PyResult<T> {
    match get::<String>(kw, key)? {
        Some(s) => T::parse(&s).map_err(input_error),
        None => Ok(default),
    }
}

/// The `network` keyword: a given (stored) network, and its element type, which the run uses.
fn network(kw: &Bound<'_, PyDict>) -> PyResult<(Source, Option<Precision>)> {
    let Some(v) = kw.get_item("network")?.filter(|v| !v.is_none()) else {
        return Ok((Source::Sampled, None));
    };
    let n: PyRef<'_, Network> = v.extract().map_err(|_| {
        InputError::new_err("invalid value for 'network': expected a radex.Network")
    })?;
    let lazy = || {
        InputError::new_err(
            "invalid value 'lazy' for 'network': a lazy network is revealed per input and cannot be measured at many; sample it with sampler='dense'",
        )
    };
    Ok(match &n.net {
        AnyNet::F64(Net::Dense(d)) => (Source::Given(Arc::new(d.clone())), Some(Precision::F64)),
        AnyNet::F32(Net::Dense(d)) => (Source::Given(Arc::new(d.convert())), Some(Precision::F32)),
        _ => return Err(lazy()),
    })
}

/// The `model` keyword (`--model`): a path.
fn model(kw: &Bound<'_, PyDict>) -> PyResult<Option<PathBuf>> {
    Ok(get::<String>(kw, "model")?.map(PathBuf::from))
}

/// The `inputs` keyword (`--inputs`): a path to an `.npy` file, or a float64 array of shape
/// `(n, d)` (the Python half makes any array-like one).
fn inputs(kw: &Bound<'_, PyDict>) -> PyResult<Option<Inputs>> {
    let Some(v) = kw.get_item("inputs")?.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if let Ok(path) = v.extract::<String>() {
        return Ok(Some(Inputs::File(PathBuf::from(path))));
    }
    let a: PyReadonlyArray2<'_, f64> = v.extract().map_err(|_| {
        InputError::new_err(
            "invalid value for 'inputs': expected a path to an .npy file or a float array of shape (n, d)",
        )
    })?;
    let rows = a
        .as_array()
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .collect();
    Ok(Some(Inputs::Rows(Arc::new(rows))))
}

/// The `trials` keyword: the library's default, or one trial per row (0) of given inputs.
fn trials(kw: &Bound<'_, PyDict>, default: usize, inputs: &Option<Inputs>) -> PyResult<usize> {
    Ok(match (get::<usize>(kw, "trials")?, inputs) {
        (Some(0), Some(_)) => {
            return Err(InputError::new_err(
                "invalid value '0' for '--trials': expected at least 1 trial",
            ));
        }
        (Some(t), _) => t,
        (None, Some(_)) => 0,
        (None, None) => default,
    })
}

/// Shared settings, with the element type of a given network.
fn run_with(kw: &Bound<'_, PyDict>, precision: Option<Precision>) -> PyResult<RunArgs> {
    let mut r = run_args(kw)?;
    if let Some(p) = precision {
        r.precision = p;
    }
    Ok(r)
}

fn run_args(kw: &Bound<'_, PyDict>) -> PyResult<RunArgs> {
    let d = RunArgs::default();
    Ok(RunArgs {
        init: match get::<String>(kw, "init")? {
            Some(s) => Some(Init::parse(&s).map_err(input_error)?),
            None => None,
        },
        act: match get::<String>(kw, "act")? {
            Some(s) => Some(s.parse().map_err(input_error)?),
            None => d.act,
        },
        sigma_w2: get(kw, "sigma_w2")?,
        sigma_b: get(kw, "sigma_b")?.unwrap_or(d.sigma_b),
        outputs: get(kw, "outputs")?.unwrap_or(d.outputs),
        output_law: choice(kw, "output_law", d.output_law)?,
        input: choice(kw, "input", d.input)?,
        seed: get(kw, "seed")?.unwrap_or(d.seed),
        threads: get(kw, "threads")?.unwrap_or(d.threads),
        precision: choice(kw, "precision", d.precision)?,
        max_memory: get(kw, "max_memory")?,
    })
}

/// Progress reported to a Python callable `progress(what, done, total)`, called from the
/// worker threads (with the GIL taken for the call) at most once per percent of a stage and at
/// its end. The first exception it raises stops the run (no further call is made), as Ctrl-C
/// does, and is raised from the function that ran it.
struct PyProgress {
    callback: Option<Py<PyAny>>,
    what: std::sync::Mutex<String>,
    done: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
    /// Set when the run is to stop: the callback raised, or a signal's handler did.
    stop: std::sync::atomic::AtomicBool,
    /// The first exception that stopped the run.
    error: std::sync::Mutex<Option<PyErr>>,
}

impl PyProgress {
    fn from(kw: &Bound<'_, PyDict>) -> PyResult<PyProgress> {
        let callback = match kw.get_item("progress")? {
            Some(v) if !v.is_none() => {
                if !v.is_callable() {
                    return Err(InputError::new_err(
                        "invalid value for 'progress': expected a function progress(what, done, total) or None",
                    ));
                }
                Some(v.unbind())
            }
            _ => None,
        };
        Ok(PyProgress {
            callback,
            what: std::sync::Mutex::new(String::new()),
            done: 0.into(),
            total: 0.into(),
            stop: false.into(),
            error: std::sync::Mutex::new(None),
        })
    }

    /// Stops the run with `e`, unless an earlier exception already did.
    fn fail(&self, e: PyErr) {
        if let Ok(mut slot) = self.error.lock() {
            slot.get_or_insert(e);
        }
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn report(&self, done: u64, total: u64) {
        if let Some(cb) = &self.callback {
            let what = self.what.lock().map(|w| w.clone()).unwrap_or_default();
            Python::attach(|py| {
                // Checked with the GIL held, so no call follows the one that raised.
                if radex::progress::Progress::cancelled(self) {
                    return;
                }
                if let Err(e) = cb.call1(py, (what, done, total)) {
                    self.fail(e);
                }
            });
        }
    }
}

impl radex::progress::Progress for PyProgress {
    fn start(&self, what: &str, len: u64) {
        if let Ok(mut w) = self.what.lock() {
            *w = what.to_string();
        }
        self.done.store(0, std::sync::atomic::Ordering::Relaxed);
        self.total.store(len, std::sync::atomic::Ordering::Relaxed);
    }

    fn inc(&self) {
        if self.callback.is_none() {
            return;
        }
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let total = self.total.load(std::sync::atomic::Ordering::Relaxed);
        let step = (total / 100).max(1);
        if done % step == 0 || done == total {
            self.report(done, total);
        }
    }

    fn cancelled(&self) -> bool {
        self.stop.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// How often the calling thread looks for a signal (Ctrl-C) while a run works.
const SIGNAL_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs `f` with the GIL released, behind the `progress` keyword's callable (one stage named
/// `what` of `steps` steps). `f` works on a thread of its own while the calling thread takes
/// the GIL every [`SIGNAL_POLL`] to run Python's signal handlers: an exception one raises
/// (`KeyboardInterrupt` on Ctrl-C), or one the callable raises, stops the run before its next
/// unit of work and is raised here.
fn with_progress<R: Send>(
    py: Python<'_>,
    kw: &Bound<'_, PyDict>,
    what: &str,
    steps: usize,
    f: impl FnOnce(&PyProgress) -> R + Send,
) -> PyResult<R> {
    let progress = PyProgress::from(kw)?;
    radex::progress::Progress::start(&progress, what, steps as u64);
    let outcome = py.detach(|| {
        std::thread::scope(|s| {
            let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
            let progress = &progress;
            let worker = s.spawn(move || {
                let r = f(progress);
                let _ = done_tx.send(());
                r
            });
            // Ends when the worker sends, or drops the sender by unwinding.
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                done_rx.recv_timeout(SIGNAL_POLL)
            {
                if !radex::progress::Progress::cancelled(progress) {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        progress.fail(e);
                    }
                }
            }
            worker.join()
        })
    });
    let stopped = progress.error.lock().ok().and_then(|mut e| e.take());
    match (outcome, stopped) {
        (_, Some(e)) => Err(e),
        (Ok(r), None) => Ok(r),
        (Err(payload), None) => std::panic::resume_unwind(payload),
    }
}

/// `radex attack` (MATH 3): the report as JSON text.
#[pyfunction]
fn attack(py: Python<'_>, kw: &Bound<'_, PyDict>) -> PyResult<String> {
    let d = AttackArgs::default();
    let (network, precision) = network(kw)?;
    let inputs = inputs(kw)?;
    let a = AttackArgs {
        arch: get(kw, "arch")?.unwrap_or(d.arch),
        trials: trials(kw, d.trials, &inputs)?,
        attack: choice(kw, "attack", d.attack)?,
        norm: choice(kw, "norm", d.norm)?,
        eps: get(kw, "eps")?,
        pgd_steps: get(kw, "pgd_steps")?.unwrap_or(d.pgd_steps),
        random_start: get(kw, "random_start")?.unwrap_or(d.random_start),
        overshoot: get(kw, "overshoot")?.unwrap_or(d.overshoot),
        max_iter: get(kw, "max_iter")?.unwrap_or(d.max_iter),
        sampler: choice(kw, "sampler", d.sampler)?,
        network,
        model: model(kw)?,
        inputs,
        compare_init: get(kw, "compare_init")?.unwrap_or(false),
        run: run_with(kw, precision)?,
    };
    let per_trial: bool = get(kw, "per_trial")?.unwrap_or(false);
    let (p, exec) = a.params().map_err(input_error)?;
    let steps = exp::compare::attack_steps(&p);
    with_progress(py, kw, "attack", steps, |bar| {
        to_json(&exp::compare::run_attack(&p, &exec, bar, per_trial))
    })
}

/// `radex scaling` (MATH 3): the report as JSON text.
#[pyfunction]
fn scaling(py: Python<'_>, kw: &Bound<'_, PyDict>) -> PyResult<String> {
    let d = ScalingArgs::default();
    let a = ScalingArgs {
        ds: get(kw, "ds")?.unwrap_or(d.ds),
        arch: get(kw, "arch")?,
        widths: get(kw, "widths")?,
        trials: get(kw, "trials")?.unwrap_or(d.trials),
        bootstrap: get(kw, "bootstrap")?.unwrap_or(d.bootstrap),
        sampler: choice(kw, "sampler", d.sampler)?,
        run: run_args(kw)?,
    };
    let (p, exec) = a.params().map_err(input_error)?;
    with_progress(py, kw, "scaling", p.trials * p.ds.len(), |bar| {
        exp::scaling::run(&p, &exec, bar).map(|r| to_json(&r))
    })?
    .map_err(input_error)
}

/// `radex linearity` (MATH 4): the report as JSON text.
#[pyfunction]
fn linearity(py: Python<'_>, kw: &Bound<'_, PyDict>) -> PyResult<String> {
    let d = LinearityArgs::default();
    let (network, precision) = network(kw)?;
    let inputs = inputs(kw)?;
    let a = LinearityArgs {
        arch: get(kw, "arch")?.unwrap_or(d.arch),
        radii: get(kw, "radii")?,
        directions: get(kw, "directions")?.unwrap_or(d.directions),
        trials: trials(kw, d.trials, &inputs)?,
        threshold: get(kw, "threshold")?.unwrap_or(d.threshold),
        sampler: choice(kw, "sampler", d.sampler)?,
        network,
        model: model(kw)?,
        inputs,
        compare_init: get(kw, "compare_init")?.unwrap_or(false),
        run: run_with(kw, precision)?,
    };
    let (p, exec) = a.params().map_err(input_error)?;
    let init = a
        .at_init(&p)
        .map(|i| i.params())
        .transpose()
        .map_err(input_error)?;
    let steps = p.trials * p.archs.len() + init.as_ref().map_or(0, |(q, _)| q.trials);
    with_progress(py, kw, "linearity", steps, |bar| {
        let given = exp::linearity::run(&p, &exec, bar);
        match &init {
            None => to_json(&given),
            Some((q, exec)) => {
                let at_init = exp::linearity::run(q, exec, bar);
                to_json(&exp::compare::Comparison::new(
                    "linearity",
                    "MATH 4",
                    given,
                    at_init,
                ))
            }
        }
    })
}

/// `radex bottleneck` (MATH 5): the report as JSON text.
#[pyfunction]
fn bottleneck(py: Python<'_>, kw: &Bound<'_, PyDict>) -> PyResult<String> {
    let d = BottleneckArgs::default();
    let (network, precision) = network(kw)?;
    let inputs = inputs(kw)?;
    let a = BottleneckArgs {
        arch: get(kw, "arch")?.unwrap_or(d.arch),
        trials: trials(kw, d.trials, &inputs)?,
        radius: get(kw, "radius")?.unwrap_or(d.radius),
        samples: get(kw, "samples")?.unwrap_or(d.samples),
        a: get(kw, "a")?.unwrap_or(d.a),
        network,
        model: model(kw)?,
        inputs,
        compare_init: get(kw, "compare_init")?.unwrap_or(false),
        run: run_with(kw, precision)?,
    };
    let (p, exec) = a.params().map_err(input_error)?;
    let init = a
        .at_init(&p)
        .map(|i| i.params())
        .transpose()
        .map_err(input_error)?;
    let steps = p.trials + init.as_ref().map_or(0, |(q, _)| q.trials);
    with_progress(py, kw, "bottleneck", steps, |bar| {
        let given = exp::bottleneck::run(&p, &exec, bar);
        match &init {
            None => to_json(&given),
            Some((q, exec)) => {
                let at_init = exp::bottleneck::run(q, exec, bar);
                to_json(&exp::compare::Comparison::new(
                    "bottleneck",
                    "MATH 5",
                    given,
                    at_init,
                ))
            }
        }
    })
}

/// `radex depth` (MATH 6): the report as JSON text.
#[pyfunction]
fn depth(py: Python<'_>, kw: &Bound<'_, PyDict>) -> PyResult<String> {
    let d = DepthArgs::default();
    let a = DepthArgs {
        width: get(kw, "width")?.unwrap_or(d.width),
        d: get(kw, "d")?,
        depths: get(kw, "depths")?,
        theta: get(kw, "theta")?.unwrap_or(d.theta),
        pairs: get(kw, "pairs")?.unwrap_or(d.pairs),
        trials: get(kw, "trials")?.unwrap_or(d.trials),
        run: run_args(kw)?,
    };
    let (p, exec) = a.params().map_err(input_error)?;
    with_progress(py, kw, "depth", p.trials * p.depths.len(), |bar| {
        exp::depth::run(&p, &exec, bar).map(|r| to_json(&r))
    })?
    .map_err(input_error)
}

/// `radex phase` (MATH 9): the report as JSON text. `sigma_w2` and `sigma_b` are lists here.
#[pyfunction]
fn phase(py: Python<'_>, kw: &Bound<'_, PyDict>) -> PyResult<String> {
    let d = PhaseArgs::default();
    let a = PhaseArgs {
        act: match get::<String>(kw, "act")? {
            Some(s) => s.parse().map_err(input_error)?,
            None => d.act,
        },
        sigma_w2: get(kw, "sigma_w2")?.unwrap_or(d.sigma_w2),
        sigma_b: get(kw, "sigma_b")?.unwrap_or(d.sigma_b),
        depth: get(kw, "depth")?.unwrap_or(d.depth),
        width: get(kw, "width")?.unwrap_or(d.width),
        d: get(kw, "d")?,
        trials: get(kw, "trials")?.unwrap_or(d.trials),
        seed: get(kw, "seed")?.unwrap_or(d.seed),
        threads: get(kw, "threads")?.unwrap_or(d.threads),
        precision: choice(kw, "precision", d.precision)?,
        max_memory: get(kw, "max_memory")?,
    };
    let (p, exec) = a.params().map_err(input_error)?;
    with_progress(py, kw, "phase", p.trials * p.cells(), |bar| {
        exp::phase::run(&p, &exec, bar).map(|r| to_json(&r))
    })?
    .map_err(input_error)
}

/// `radex minpert` (MATH 7): the report as JSON text.
#[pyfunction]
fn minpert(py: Python<'_>, kw: &Bound<'_, PyDict>) -> PyResult<String> {
    let d = MinPertArgs::default();
    let a = MinPertArgs {
        d: get(kw, "d")?.unwrap_or(d.d),
        ks: get(kw, "ks")?.unwrap_or(d.ks),
        runs: get(kw, "runs")?.unwrap_or(d.runs),
        method: choice(kw, "method", d.method)?,
        run: run_args(kw)?,
    };
    let (p, exec) = a.params().map_err(input_error)?;
    with_progress(py, kw, "minpert", p.runs * p.ks.len(), |bar| {
        to_json(&exp::minpert::run(&p, &exec, bar))
    })
}

/// `radex reproduce` (MATH 3-7): runs the plan of `mode`, writes the report directory, and
/// returns `results.json`'s text and the directory the report went to.
#[pyfunction]
fn reproduce(py: Python<'_>, kw: &Bound<'_, PyDict>) -> PyResult<(String, String)> {
    let d = ReproduceArgs::default();
    let quick: bool = get(kw, "quick")?.unwrap_or(false);
    let full: bool = get(kw, "full")?.unwrap_or(false);
    if quick && full {
        return Err(InputError::new_err(
            "invalid value 'quick and full' for '--quick': give one of quick, full",
        ));
    }
    let a = ReproduceArgs {
        mode: if quick {
            Mode::Quick
        } else if full {
            Mode::Full
        } else {
            Mode::Default
        },
        out: get::<String>(kw, "out")?.map_or(d.out, PathBuf::from),
        seed: get(kw, "seed")?.unwrap_or(d.seed),
        threads: get(kw, "threads")?.unwrap_or(d.threads),
        max_memory: get(kw, "max_memory")?,
    };
    radex::reproduce::run::check(&a).map_err(input_error)?;
    let o = with_progress(py, kw, "reproduce", 0, |bar| {
        radex::reproduce::run::run(&a, bar)
    })?
    .map_err(|e| {
        if e.is_input() {
            input_error(e)
        } else {
            PyOSError::new_err(e.to_string())
        }
    })?;
    Ok((
        serde_json::to_string(&o.results).expect("results serialise"),
        o.dir.display().to_string(),
    ))
}

/// The library's defaults of every function's keywords, `{function: {keyword: value}}`, for
/// the signatures of the Python functions.
#[pyfunction]
fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    let run = |d: &Bound<'_, PyDict>, r: &RunArgs| -> PyResult<()> {
        d.set_item("init", r.init.map(Init::name))?;
        d.set_item("seed", r.seed)?;
        d.set_item("threads", r.threads)?;
        d.set_item("precision", r.precision.name())?;
        d.set_item("max_memory", r.max_memory.clone())?;
        d.set_item("act", r.act.map(|a| a.name()))?;
        d.set_item("sigma_w2", r.sigma_w2)?;
        d.set_item("sigma_b", r.sigma_b)?;
        d.set_item("outputs", r.outputs)?;
        d.set_item("output_law", r.output_law.name())?;
        d.set_item("input", r.input.name())
    };
    let a = AttackArgs::default();
    let d = PyDict::new(py);
    d.set_item("arch", &a.arch)?;
    d.set_item("trials", a.trials)?;
    d.set_item("attack", a.attack.name())?;
    d.set_item("norm", a.norm.name())?;
    d.set_item("eps", a.eps.clone())?;
    d.set_item("pgd_steps", a.pgd_steps)?;
    d.set_item("random_start", a.random_start)?;
    d.set_item("overshoot", a.overshoot)?;
    d.set_item("max_iter", a.max_iter)?;
    d.set_item("sampler", a.sampler.name())?;
    run(&d, &a.run)?;
    out.set_item("attack", d)?;
    let a = ScalingArgs::default();
    let d = PyDict::new(py);
    d.set_item("ds", &a.ds)?;
    d.set_item("arch", a.arch.clone())?;
    d.set_item("widths", a.widths.clone())?;
    d.set_item("trials", a.trials)?;
    d.set_item("bootstrap", a.bootstrap)?;
    d.set_item("sampler", a.sampler.name())?;
    run(&d, &a.run)?;
    out.set_item("scaling", d)?;
    let a = LinearityArgs::default();
    let d = PyDict::new(py);
    d.set_item("arch", a.arch.clone())?;
    d.set_item("radii", a.radii.clone())?;
    d.set_item("directions", a.directions)?;
    d.set_item("trials", a.trials)?;
    d.set_item("threshold", a.threshold)?;
    d.set_item("sampler", a.sampler.name())?;
    run(&d, &a.run)?;
    out.set_item("linearity", d)?;
    let a = BottleneckArgs::default();
    let d = PyDict::new(py);
    d.set_item("arch", &a.arch)?;
    d.set_item("trials", a.trials)?;
    d.set_item("radius", a.radius)?;
    d.set_item("samples", a.samples)?;
    d.set_item("a", a.a)?;
    run(&d, &a.run)?;
    out.set_item("bottleneck", d)?;
    let a = DepthArgs::default();
    let d = PyDict::new(py);
    d.set_item("width", a.width)?;
    d.set_item("d", a.d)?;
    d.set_item("depths", a.depths.clone())?;
    d.set_item("theta", a.theta)?;
    d.set_item("pairs", a.pairs)?;
    d.set_item("trials", a.trials)?;
    run(&d, &a.run)?;
    out.set_item("depth", d)?;
    let a = PhaseArgs::default();
    let d = PyDict::new(py);
    d.set_item("act", a.act.name())?;
    d.set_item("sigma_w2", a.sigma_w2.clone())?;
    d.set_item("sigma_b", a.sigma_b.clone())?;
    d.set_item("depth", a.depth)?;
    d.set_item("width", a.width)?;
    d.set_item("d", a.d)?;
    d.set_item("trials", a.trials)?;
    d.set_item("seed", a.seed)?;
    d.set_item("threads", a.threads)?;
    d.set_item("precision", a.precision.name())?;
    d.set_item("max_memory", a.max_memory.clone())?;
    out.set_item("phase", d)?;
    let a = MinPertArgs::default();
    let d = PyDict::new(py);
    d.set_item("d", a.d)?;
    d.set_item("ks", &a.ks)?;
    d.set_item("runs", a.runs)?;
    d.set_item("method", a.method.name())?;
    run(&d, &a.run)?;
    out.set_item("minpert", d)?;
    Ok(out)
}

/// The dtypes a given array may have: those `--model` and `--inputs` files may hold, each
/// converted exactly.
const FLOAT_DTYPES: &str =
    "expected a numpy array of float64, float32 or float16; convert it with .astype('float64')";

/// The one-line error about argument `name`, whose value is `value`.
fn invalid_argument(name: &str, value: &str, reason: &str) -> PyErr {
    InputError::new_err(format!("invalid value '{value}' for '{name}': {reason}"))
}

/// What `v` is, for an error: its dtype if it is an array, else its type (`None` as itself).
fn what_is(v: &Bound<'_, PyAny>) -> String {
    if v.is_none() {
        return "None".into();
    }
    if let Ok(a) = v.cast::<PyUntypedArray>() {
        return a.dtype().to_string();
    }
    v.get_type()
        .name()
        .map_or_else(|_| "object".into(), |n| n.to_string())
}

/// `v` as numpy arrays of float64, float32 or float16 (the dtypes of [`FLOAT_DTYPES`]; no
/// other is converted): a list or tuple of them, the `i`-th named `name[i]` in errors.
fn float_arrays<'py>(
    v: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Vec<Bound<'py, PyUntypedArray>>> {
    if !(v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>()) {
        return Err(invalid_argument(
            name,
            &what_is(v),
            "expected a list of numpy arrays of float64, float32 or float16",
        ));
    }
    let mut out = Vec::new();
    for (i, a) in v.try_iter()?.enumerate() {
        let a = a?;
        let dtype_ok = a.cast::<PyUntypedArray>().is_ok_and(|a| {
            let d = a.dtype();
            d.kind() == b'f' && matches!(d.itemsize(), 2 | 4 | 8)
        });
        if !dtype_ok {
            return Err(invalid_argument(
                &format!("{name}[{i}]"),
                &what_is(&a),
                FLOAT_DTYPES,
            ));
        }
        out.push(a.cast_into::<PyUntypedArray>().expect("an array"));
    }
    Ok(out)
}

/// One network of either element type.
enum AnyNet {
    F64(Net<f64>),
    F32(Net<f32>),
}

/// Buffers kept between calls, so repeated batches of one shape allocate nothing (and touch
/// no fresh pages): the inputs, the forward trace, the gradient.
struct Work<T> {
    x: Vec<T>,
    trace: Trace<T>,
    grad: Grad<T>,
    scratch: Vec<T>,
}

impl<T: Real> Default for Work<T> {
    fn default() -> Self {
        Work {
            x: Vec::new(),
            trace: Trace::empty(),
            grad: Grad::empty(),
            scratch: Vec::new(),
        }
    }
}

/// A ReLU network, `f(x) = W_{l+1} relu(W_l ... relu(W_1 x))` (MATH 1), sampled as radex
/// samples it or built from given weights; `forward` and `grad` are exact (MATH 2).
#[pyclass(module = "radex._radex", name = "Network", unsendable)]
struct Network {
    net: AnyNet,
    work64: Work<f64>,
    work32: Work<f32>,
}

impl Network {
    fn new(net: AnyNet) -> Network {
        Network {
            net,
            work64: Work::default(),
            work32: Work::default(),
        }
    }
}

/// Inputs `(n, d)` as `d x n` column-major in `T`, into `out`; returns `n`.
fn columns<T: Real>(x: &PyReadonlyArray2<'_, f64>, d: usize, out: &mut Vec<T>) -> PyResult<usize> {
    let a = x.as_array();
    let (n, cols) = a.dim();
    if cols != d {
        return Err(InputError::new_err(format!(
            "invalid value 'shape ({n}, {cols})' for 'X': expected shape (n, {d}), one input per row"
        )));
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Err(InputError::new_err(
            "invalid value 'X' for 'X': expected finite inputs, got NaN or infinity",
        ));
    }
    out.clear();
    out.extend(a.iter().map(|&v| T::from_f64(v)));
    Ok(n)
}

/// `X` of `forward` and `grad`: a float64 array of shape `(n, d)`.
fn float64_rows<'py>(x: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArray2<'py, f64>> {
    x.extract().map_err(|_| {
        invalid_argument(
            "X",
            &what_is(x),
            "expected a numpy array of float64 of shape (n, d); convert it with .astype('float64')",
        )
    })
}

/// `F(x_b)` for each input, row-major `n x K` (NaN where the unscaled pass overflowed).
fn forward_of<T: Real>(net: &mut Net<T>, w: &mut Work<T>, d: usize, n: usize) -> Vec<f64> {
    let x = MatRef::from_column_major_slice(&w.x, d, n);
    forward_into(net, x, Par::rayon(0), false, &mut w.trace);
    let mut out = Vec::with_capacity(n * w.trace.outputs);
    for b in 0..n {
        let (col, log2) = w.trace.outputs_of(b);
        let scale = radex::net::trace::ldexp(1.0, log2);
        let overflow = w.trace.overflow[b];
        out.extend(col.iter().map(|v| {
            if overflow {
                f64::NAN
            } else {
                v.to_f64() * scale
            }
        }));
    }
    out
}

fn grad_of<T: Real>(net: &mut Net<T>, w: &mut Work<T>, d: usize, n: usize) -> Vec<f64> {
    let x = MatRef::from_column_major_slice(&w.x, d, n);
    forward_into(net, x, Par::rayon(0), false, &mut w.trace);
    backward_into(net, &w.trace, Par::rayon(0), &mut w.grad, &mut w.scratch);
    let mut out = Vec::with_capacity(d * n);
    for b in 0..n {
        let scale = radex::net::trace::ldexp(1.0, w.grad.log2[b]);
        out.extend(w.grad.col(b).iter().map(|v| v.to_f64() * scale));
    }
    out
}

impl Network {
    fn architecture(&self) -> &Arch {
        match &self.net {
            AnyNet::F64(n) => n.arch(),
            AnyNet::F32(n) => n.arch(),
        }
    }
}

#[pymethods]
impl Network {
    /// The network of trial `trial` of `radex attack --seed SEED --sampler SAMPLER` with the
    /// family flags given (MATH 9), exactly (the same streams).
    #[staticmethod]
    #[pyo3(signature = (arch = "2000,2000,2000", init = None, seed = 1, trial = 0, sampler = "dense", precision = "f64", act = "relu", sigma_w2 = None, sigma_b = 0.0, outputs = 1, output_law = "gauss"))]
    #[allow(clippy::too_many_arguments)]
    fn sample(
        arch: &str,
        init: Option<&str>,
        seed: u64,
        trial: u64,
        sampler: &str,
        precision: &str,
        act: &str,
        sigma_w2: Option<f64>,
        sigma_b: f64,
        outputs: usize,
        output_law: &str,
    ) -> PyResult<Network> {
        let family = RunArgs {
            init: init.map(Init::parse).transpose().map_err(input_error)?,
            act: Some(act.parse().map_err(input_error)?),
            sigma_w2,
            sigma_b,
            outputs,
            output_law: OutputLaw::parse(output_law).map_err(input_error)?,
            ..RunArgs::default()
        }
        .family(Init::Nn)
        .map_err(input_error)?;
        let precision = Precision::parse(precision).map_err(input_error)?;
        let sampler = match sampler {
            "dense" => Sampler::Dense,
            "lazy" => Sampler::Lazy,
            s => {
                return Err(InputError::new_err(format!(
                    "invalid value '{s}' for '--sampler': expected one of dense, lazy"
                )));
            }
        };
        let a = arch::parse_arch(arch, family).map_err(input_error)?;
        let bytes = match sampler {
            Sampler::Dense => a.dense_bytes(precision.bytes(), 1),
            Sampler::Lazy => a.lazy_bytes(precision.bytes(), 64, 1),
        };
        Budget::new()
            .part("--arch", arch, bytes)
            .check(None)
            .map_err(input_error)?;
        let net = match precision {
            Precision::F64 => AnyNet::F64(Net::sample(sampler, &a, seed, trial)),
            Precision::F32 => AnyNet::F32(Net::sample(sampler, &a, seed, trial)),
        };
        Ok(Network::new(net))
    }

    /// A network with the given weights `[W_1, .., W_{l+1}]`, `W_i` of shape
    /// `(d_i, d_{i-1})` (PyTorch's `nn.Linear` layout; the last one's `K >= 1` rows are the
    /// outputs), optional biases `[b_1, .., b_{l+1}]` of shape `(d_i,)`, and the activation
    /// (MATH 9, 10). Every array is a numpy array of float64, float32 or float16 (as `--model`
    /// files are; any other dtype is refused, not converted), in any order or strides; all
    /// float32 gives an f32 network, anything else float64. The memory the network needs is
    /// checked from the shapes, against `max_memory` (as `--max-memory`, default the memory
    /// available), before anything is copied.
    #[staticmethod]
    #[pyo3(signature = (weights, biases = None, act = "relu", max_memory = None))]
    fn from_weights(
        weights: &Bound<'_, PyAny>,
        biases: Option<&Bound<'_, PyAny>>,
        act: &str,
        max_memory: Option<&str>,
    ) -> PyResult<Network> {
        let weights = float_arrays(weights, "weights")?;
        let biases = match biases {
            Some(b) if !b.is_none() => Some(float_arrays(b, "biases")?),
            _ => None,
        };
        if weights.is_empty() {
            return Err(InputError::new_err(
                "invalid value '[]' for 'weights': expected at least two matrices W_1, W_2",
            ));
        }
        let act: radex::act::Act = act.parse().map_err(input_error)?;
        let max_memory = max_memory
            .map(radex::budget::parse_bytes)
            .transpose()
            .map_err(input_error)?;
        let is_f32 = |a: &Bound<'_, PyUntypedArray>| a.dtype().itemsize() == 4;
        let all_f32 = weights.iter().chain(biases.iter().flatten()).all(is_f32);
        let elem: u128 = if all_f32 { 4 } else { 8 };
        let mut dims = Vec::new();
        let mut shapes = Vec::new();
        // The network's own copy of every array, and the largest conversion made on the way
        // (one array at a time, when its dtype is not the network's).
        let (mut bytes, mut convert) = (0u128, 0u128);
        for (i, w) in weights.iter().enumerate() {
            let shape = w.shape().to_vec();
            if shape.len() != 2 {
                return Err(InputError::new_err(format!(
                    "invalid value 'W_{} of shape {shape:?}' for 'weights': expected 2-D arrays",
                    i + 1
                )));
            }
            if i == 0 {
                dims.push(shape[1]);
            }
            dims.push(shape[0]);
            shapes.push(format!("({}, {})", shape[0], shape[1]));
        }
        for a in weights.iter().chain(biases.iter().flatten()) {
            let n = a
                .shape()
                .iter()
                .fold(1u128, |n, &m| n.saturating_mul(m as u128))
                .saturating_mul(elem);
            bytes = bytes.saturating_add(n);
            if a.dtype().itemsize() as u128 != elem
                || !a.dtype().is_native_byteorder().unwrap_or(true)
            {
                convert = convert.max(n);
            }
        }
        Budget::new()
            .part("weights", shapes.join(", "), bytes.saturating_add(convert))
            .fix("use smaller weights or raise the limit with max_memory (e.g. max_memory='64G')")
            .check(max_memory)
            .map_err(input_error)?;
        // The output rows are K, not a hidden width.
        dims.pop();
        let family = arch::Family {
            act,
            ..arch::Family::default()
        };
        fn build<T: Real + numpy::Element>(
            dims: &[usize],
            family: arch::Family,
            weights: &[Bound<'_, PyUntypedArray>],
            biases: &Option<Vec<Bound<'_, PyUntypedArray>>>,
            dtype: &str,
        ) -> PyResult<DenseNet<T>> {
            // The array itself when it is already of `T`, else a converted copy.
            fn of_t<'py, T: numpy::Element>(
                a: &Bound<'py, PyUntypedArray>,
                dtype: &str,
            ) -> PyResult<Bound<'py, PyAny>> {
                if a.dtype().is_equiv_to(&numpy::dtype::<T>(a.py())) {
                    Ok(a.clone().into_any())
                } else {
                    a.call_method1("astype", (dtype,))
                }
            }
            let mut ws = Vec::with_capacity(weights.len());
            for w in weights {
                let a: PyReadonlyArray2<'_, T> = of_t::<T>(w, dtype)?.extract()?;
                // Column-major: the transpose's logical order.
                ws.push(a.as_array().t().iter().copied().collect::<Vec<T>>());
            }
            let bs = match biases {
                None => None,
                Some(bs) => {
                    let mut out = Vec::with_capacity(bs.len());
                    for (i, b) in bs.iter().enumerate() {
                        let a: numpy::PyReadonlyArray1<'_, T> =
                            of_t::<T>(b, dtype)?.extract().map_err(|_| {
                                InputError::new_err(format!(
                                    "invalid value 'b_{}' for 'biases': expected 1-D arrays of shape (d_i,)",
                                    i + 1
                                ))
                            })?;
                        out.push(a.as_array().to_vec());
                    }
                    Some(out)
                }
            };
            DenseNet::from_weights(dims, family, ws, bs).map_err(input_error)
        }
        let net = if all_f32 {
            AnyNet::F32(Net::Dense(build(
                &dims, family, &weights, &biases, "float32",
            )?))
        } else {
            AnyNet::F64(Net::Dense(build(
                &dims, family, &weights, &biases, "float64",
            )?))
        };
        Ok(Network::new(net))
    }

    /// The network in the file at `path` (MATH 10), read as `radex attack --model` reads it:
    /// safetensors, npz or a radex export directory; `act` as `--act` (needed when the file
    /// does not name its activation).
    #[staticmethod]
    #[pyo3(signature = (path, act = None))]
    fn load(path: PathBuf, act: Option<&str>) -> PyResult<Network> {
        let act = act.map(str::parse).transpose().map_err(input_error)?;
        let (net, _) = load_network(&path, act, load_limit(None)).map_err(input_error)?;
        let net = Arc::try_unwrap(net).unwrap_or_else(|n| (*n).clone());
        Ok(Network::new(AnyNet::F64(Net::Dense(net))))
    }

    /// `F(x)` for each row `x` of `X`, shape `(n, d)` -> `(n,)` for one output, `(n, K)` for
    /// `K >= 2` (NaN where the unscaled pass overflows, MATH 9).
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let x = float64_rows(x)?;
        let d = self.architecture().d;
        let k = self.architecture().outputs();
        let out = match &mut self.net {
            AnyNet::F64(net) => {
                let w = &mut self.work64;
                let n = columns(&x, d, &mut w.x)?;
                py.detach(|| forward_of(net, w, d, n))
            }
            AnyNet::F32(net) => {
                let w = &mut self.work32;
                let n = columns(&x, d, &mut w.x)?;
                py.detach(|| forward_of(net, w, d, n))
            }
        };
        if k == 1 {
            return Ok(Array1::from(out).into_pyarray(py).into_any());
        }
        let n = out.len() / k;
        let a = Array2::from_shape_vec((n, k), out).expect("n * K entries");
        Ok(a.into_pyarray(py).into_any())
    }

    /// The exact gradient (MATH 2, 9) at each row `x` of `X`, shape `(n, d)` -> `(n, d)`: of
    /// `f` for one output; for `K >= 2`, of the margin `F_y - F_{j*}` of that row's label
    /// `y = argmax F(x)` against its runner-up `j*` (what the attacks descend).
    fn grad<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let x = float64_rows(x)?;
        let d = self.architecture().d;
        let (out, n) = match &mut self.net {
            AnyNet::F64(net) => {
                let w = &mut self.work64;
                let n = columns(&x, d, &mut w.x)?;
                (py.detach(|| grad_of(net, w, d, n)), n)
            }
            AnyNet::F32(net) => {
                let w = &mut self.work32;
                let n = columns(&x, d, &mut w.x)?;
                (py.detach(|| grad_of(net, w, d, n)), n)
            }
        };
        // Row b is the gradient at input b: the d x n column-major buffer, read row-major.
        let a = Array2::from_shape_vec((n, d), out).expect("n * d entries");
        Ok(a.into_pyarray(py))
    }

    /// The weights `[W_1, .., W_{l+1}]`, `W_i` of shape `(d_i, d_{i-1})` (stored networks
    /// only: a lazy network never holds its matrices).
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        fn all<'py, T: Real + numpy::Element>(
            py: Python<'py>,
            net: &Net<T>,
        ) -> PyResult<Vec<Bound<'py, PyAny>>> {
            let Net::Dense(net) = net else {
                return Err(InputError::new_err(
                    "invalid value 'lazy' for '--sampler': a lazy network never holds its weights; sample it with sampler='dense'",
                ));
            };
            let arch = net.arch();
            Ok((1..=arch.depth() + 1)
                .map(|i| {
                    let (m, n) = arch.shape(i);
                    let a = Array2::from_shape_vec((m, n).f(), net.weight_data(i).to_vec())
                        .expect("m * n entries");
                    a.into_pyarray(py).into_any()
                })
                .collect())
        }
        match &self.net {
            AnyNet::F64(n) => all(py, n),
            AnyNet::F32(n) => all(py, n),
        }
    }

    /// The architecture `D,W1,..,WL`.
    #[getter]
    fn arch(&self) -> String {
        self.architecture().spec()
    }

    /// The input dimension `d`.
    #[getter]
    fn d(&self) -> usize {
        self.architecture().d
    }

    /// The hidden widths `d_1..d_l`.
    #[getter]
    fn widths(&self) -> Vec<usize> {
        self.architecture().widths.clone()
    }

    /// The number of outputs `K`.
    #[getter]
    fn outputs(&self) -> usize {
        self.architecture().outputs()
    }

    /// The activation, e.g. `relu`, `tanh`, `leaky:0.1`.
    #[getter]
    fn act(&self) -> String {
        self.architecture().family.act.name()
    }

    /// The element type, `f64` or `f32`.
    #[getter]
    fn precision(&self) -> &'static str {
        match self.net {
            AnyNet::F64(_) => "f64",
            AnyNet::F32(_) => "f32",
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Network(arch='{}', precision='{}')",
            self.architecture().spec(),
            self.precision()
        )
    }
}

/// The native module.
#[pymodule]
fn _radex(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add_class::<Network>()?;
    m.add_function(wrap_pyfunction!(attack, m)?)?;
    m.add_function(wrap_pyfunction!(scaling, m)?)?;
    m.add_function(wrap_pyfunction!(linearity, m)?)?;
    m.add_function(wrap_pyfunction!(bottleneck, m)?)?;
    m.add_function(wrap_pyfunction!(depth, m)?)?;
    m.add_function(wrap_pyfunction!(phase, m)?)?;
    m.add_function(wrap_pyfunction!(minpert, m)?)?;
    m.add_function(wrap_pyfunction!(reproduce, m)?)?;
    m.add_function(wrap_pyfunction!(defaults, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
