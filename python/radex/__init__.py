"""radex: adversarial examples in random ReLU networks, measured exactly.

The Python front of radex (Bartlett, Bubeck and Cherapanamjeri, "Adversarial Examples in
Multi-Layer Random ReLU Networks", NeurIPS 2021; the mathematics is the project's MATH.md).
Every function runs the same library as the ``radex`` command line, with the same arguments
(the CLI's flags as keywords, ``--pgd-steps`` as ``pgd_steps``), the same defaults and the
same seeds and streams, and returns the dictionary that ``radex <command> --format json``
prints: the same keys and the same numbers, bit for bit. Lists may be given as Python lists
or as the CLI's comma-separated strings. Bad input raises :class:`InputError` (a
``ValueError``) with the CLI's one-line message, before any work. The GIL is released while
radex computes; every function takes ``progress``, a function ``progress(what, done, total)``
called as the work advances (at most once per percent), or ``None`` (the default) for none.
An exception raised by ``progress``, or Ctrl-C (``KeyboardInterrupt``), stops the run before
its next trial and is raised from the function.

>>> import radex
>>> r = radex.attack(arch="500,500,500", trials=20, per_trial=True)
>>> r["success_rate"], r["per_trial"]["rho"].shape
(1.0, (20,))

:class:`Network` gives one network's exact forward pass and input gradient on numpy arrays.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import _radex
from ._radex import InputError, Network

__all__ = [
    "InputError",
    "Network",
    "attack",
    "scaling",
    "linearity",
    "bottleneck",
    "depth",
    "phase",
    "minpert",
    "reproduce",
    "__version__",
]

__version__: str = _radex.__version__

# The library's defaults, so the signatures below show exactly the CLI's.
_D = _radex.defaults()

Numbers = Union[str, Sequence[float]]
Path = Union[str, "os.PathLike[str]"]
Inputs = Union[Path, np.ndarray]
Counts = Union[str, Sequence[int]]


def _text(v: Any) -> Any:
    """A list as the CLI's comma-separated text (``repr`` keeps every float exactly)."""
    if isinstance(v, (list, tuple, np.ndarray)):
        return ",".join(repr(float(x)) if isinstance(x, float) else str(x) for x in v)
    return v


def _columns(rows: list) -> dict:
    """Per-trial records as columns of numpy arrays (``None``, a missing value, is NaN)."""
    if not rows:
        return {}
    out = {}
    for key in rows[0]:
        vals = [r[key] for r in rows]
        present = [v for v in vals if v is not None]
        if present and all(isinstance(v, bool) for v in present) and len(present) == len(vals):
            out[key] = np.array(vals, dtype=bool)
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            if len(present) == len(vals) and all(isinstance(v, int) for v in vals):
                out[key] = np.array(vals, dtype=np.int64)
            else:
                out[key] = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
        else:
            out[key] = np.array(vals, dtype=object)
    return out


def _result(text: str) -> dict:
    rep = json.loads(text)
    # A comparison (``compare_init``) holds two reports, each with its own records.
    for r in [rep] + [rep[k] for k in ("given", "init") if isinstance(rep.get(k), dict)]:
        if isinstance(r.get("per_trial"), list):
            r["per_trial"] = _columns(r["per_trial"])
    return rep


def attack(
    arch: str = _D["attack"]["arch"],
    network: Optional[Network] = None,
    model: Optional[Path] = None,
    inputs: Optional[Inputs] = None,
    compare_init: bool = False,
    trials: Optional[int] = None,
    attack: str = _D["attack"]["attack"],
    per_trial: bool = False,
    norm: str = _D["attack"]["norm"],
    eps: Optional[Numbers] = _D["attack"]["eps"],
    pgd_steps: int = _D["attack"]["pgd_steps"],
    random_start: bool = _D["attack"]["random_start"],
    overshoot: float = _D["attack"]["overshoot"],
    max_iter: int = _D["attack"]["max_iter"],
    sampler: str = _D["attack"]["sampler"],
    init: Optional[str] = _D["attack"]["init"],
    act: Optional[str] = _D["attack"]["act"],
    sigma_w2: Optional[float] = _D["attack"]["sigma_w2"],
    sigma_b: float = _D["attack"]["sigma_b"],
    outputs: int = _D["attack"]["outputs"],
    output_law: str = _D["attack"]["output_law"],
    input: str = _D["attack"]["input"],
    seed: int = _D["attack"]["seed"],
    threads: int = _D["attack"]["threads"],
    precision: str = _D["attack"]["precision"],
    max_memory: Optional[str] = _D["attack"]["max_memory"],
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> dict:
    """The one-step attack of Theorem 1.1 on independent (network, x) pairs (MATH 3).

    ``radex attack``: ``arch`` is ``"D,W1,..,WL"`` (widths may be relative to ``D``: ``d``,
    ``2d``, ``d/4``, ``d^0.5``; ``WxN`` repeats ``W``); ``attack`` is ``onestep``, ``ray``,
    ``deepfool``, ``pgd``, ``minnorm`` or ``all``; ``norm`` ``l2`` or ``linf`` for the ray,
    DeepFool, PGD and minnorm (MATH 3, "other norms": distances relative to the L2 norm
    ``||x||``, each beside its linear prediction ``linear_rho``); ``eps`` the PGD budgets
    relative to ``||x||``;
    ``sampler`` ``dense``, ``lazy`` (MATH 8) or ``auto``; ``init`` ``nn`` or ``he``;
    ``threads`` 0 for all cores (results do not depend on it); ``precision`` ``f64`` or
    ``f32``; ``max_memory`` a size such as ``"8G"``. With ``per_trial``, ``result["per_trial"]``
    holds every trial's record as columns of numpy arrays. With ``network`` (a
    :class:`Network` with stored weights), every trial attacks that network at its own input
    (``arch`` and ``precision`` are the network's; the report says ``network: "given"``).

    Networks and inputs you bring (MATH 10): ``model`` is a file read as ``--model`` reads it
    (safetensors, npz, a radex export directory; ``act`` names the activation when the file
    does not); ``inputs`` a path to an ``.npy`` file or an array of shape ``(n, d)`` (float64,
    float32 or float16, as the file's; any other dtype raises :class:`InputError`): trial
    ``t`` attacks row ``t`` and ``trials`` defaults to ``n`` (else to 100). With
    ``compare_init``, the given network and the same architecture at its random
    initialisation (``act`` the network's, ``sigma_w2`` default 1, ``sigma_b`` default 0) are
    attacked on the same inputs, and the result is ``{"command", "version", "math", "given",
    "init"}``, each half the dictionary of one run. ``act``, ``sigma_w2``, ``sigma_b``,
    ``outputs``, ``output_law`` and ``input`` are the family flags of MATH 9.
    """
    _given(network, arch, _D["attack"]["arch"])
    return _result(_radex.attack(_kwargs(locals())))


def scaling(
    ds: Counts = _D["scaling"]["ds"],
    arch: Optional[str] = _D["scaling"]["arch"],
    widths: Optional[str] = _D["scaling"]["widths"],
    trials: int = _D["scaling"]["trials"],
    bootstrap: int = _D["scaling"]["bootstrap"],
    sampler: str = _D["scaling"]["sampler"],
    init: Optional[str] = _D["scaling"]["init"],
    act: Optional[str] = _D["scaling"]["act"],
    sigma_w2: Optional[float] = _D["scaling"]["sigma_w2"],
    sigma_b: float = _D["scaling"]["sigma_b"],
    outputs: int = _D["scaling"]["outputs"],
    output_law: str = _D["scaling"]["output_law"],
    input: str = _D["scaling"]["input"],
    seed: int = _D["scaling"]["seed"],
    threads: int = _D["scaling"]["threads"],
    precision: str = _D["scaling"]["precision"],
    max_memory: Optional[str] = _D["scaling"]["max_memory"],
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> dict:
    """The one-step attack across input dimensions and the slope of median rho against d
    (MATH 3; ``radex scaling``): ``ds`` the dimensions, ``arch`` relative to ``d``
    (``"d,d,d"``) or ``widths`` (``"d,d/4"``)."""
    return _result(_radex.scaling(_kwargs(locals())))


def linearity(
    arch: Union[str, Sequence[str]] = _D["linearity"]["arch"],
    network: Optional[Network] = None,
    model: Optional[Path] = None,
    inputs: Optional[Inputs] = None,
    compare_init: bool = False,
    radii: Optional[Numbers] = _D["linearity"]["radii"],
    directions: int = _D["linearity"]["directions"],
    trials: Optional[int] = None,
    threshold: float = _D["linearity"]["threshold"],
    sampler: str = _D["linearity"]["sampler"],
    init: Optional[str] = _D["linearity"]["init"],
    act: Optional[str] = _D["linearity"]["act"],
    sigma_w2: Optional[float] = _D["linearity"]["sigma_w2"],
    sigma_b: float = _D["linearity"]["sigma_b"],
    outputs: int = _D["linearity"]["outputs"],
    output_law: str = _D["linearity"]["output_law"],
    input: str = _D["linearity"]["input"],
    seed: int = _D["linearity"]["seed"],
    threads: int = _D["linearity"]["threads"],
    precision: str = _D["linearity"]["precision"],
    max_memory: Optional[str] = _D["linearity"]["max_memory"],
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> dict:
    """The gradient change around x against the radius, GD-DECOMP and the linearity radius
    (MATH 4; ``radex linearity``): ``arch`` one architecture or a list (one curve each), or
    ``network`` one given :class:`Network` or ``model`` a network file (as ``attack``'s),
    measured at each trial's input; ``inputs`` as ``attack``'s (trial ``t`` of every
    architecture is measured at row ``t``; ``trials`` defaults to ``n``, else to 10);
    ``compare_init`` as ``attack``'s (then the result is ``{"command", "version", "math",
    "given", "init"}``)."""
    _given(network, arch, _D["linearity"]["arch"])
    kw = _kwargs(locals())
    if isinstance(arch, str):
        kw["arch"] = [arch]
    else:
        kw["arch"] = list(arch)
    return _result(_radex.linearity(kw))


def bottleneck(
    arch: str = _D["bottleneck"]["arch"],
    network: Optional[Network] = None,
    model: Optional[Path] = None,
    inputs: Optional[Inputs] = None,
    compare_init: bool = False,
    trials: Optional[int] = None,
    radius: float = _D["bottleneck"]["radius"],
    samples: int = _D["bottleneck"]["samples"],
    a: float = _D["bottleneck"]["a"],
    init: Optional[str] = _D["bottleneck"]["init"],
    act: Optional[str] = _D["bottleneck"]["act"],
    sigma_w2: Optional[float] = _D["bottleneck"]["sigma_w2"],
    sigma_b: float = _D["bottleneck"]["sigma_b"],
    outputs: int = _D["bottleneck"]["outputs"],
    output_law: str = _D["bottleneck"]["output_law"],
    input: str = _D["bottleneck"]["input"],
    seed: int = _D["bottleneck"]["seed"],
    threads: int = _D["bottleneck"]["threads"],
    precision: str = _D["bottleneck"]["precision"],
    max_memory: Optional[str] = _D["bottleneck"]["max_memory"],
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> dict:
    """Per-layer bottlenecks, exact and sampled expansion, small pre-activations (MATH 5;
    ``radex bottleneck``); with ``network`` (or ``model``, a network file as ``attack``'s), of
    that given network at each trial's input; ``inputs`` as ``attack``'s (trial ``t`` is
    measured at row ``t``; ``trials`` defaults to ``n``, else to 5); ``compare_init`` as
    ``attack``'s."""
    _given(network, arch, _D["bottleneck"]["arch"])
    return _result(_radex.bottleneck(_kwargs(locals())))


def depth(
    width: int = _D["depth"]["width"],
    d: Optional[int] = _D["depth"]["d"],
    depths: Optional[Counts] = _D["depth"]["depths"],
    theta: float = _D["depth"]["theta"],
    pairs: int = _D["depth"]["pairs"],
    trials: int = _D["depth"]["trials"],
    init: Optional[str] = _D["depth"]["init"],
    act: Optional[str] = _D["depth"]["act"],
    sigma_w2: Optional[float] = _D["depth"]["sigma_w2"],
    sigma_b: float = _D["depth"]["sigma_b"],
    seed: int = _D["depth"]["seed"],
    threads: int = _D["depth"]["threads"],
    precision: str = _D["depth"]["precision"],
    max_memory: Optional[str] = _D["depth"]["max_memory"],
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> dict:
    """Networks of constant width against depth: cosines beside kappa (He relu, MATH 6) or
    the kernel (``act``, ``sigma_w2``, ``sigma_b``, MATH 9), spread of f, flips, and the phase
    of the deep limit (``radex depth``)."""
    return _result(_radex.depth(_kwargs(locals())))


def phase(
    act: str = _D["phase"]["act"],
    sigma_w2: Numbers = _D["phase"]["sigma_w2"],
    sigma_b: Numbers = _D["phase"]["sigma_b"],
    depth: int = _D["phase"]["depth"],
    width: int = _D["phase"]["width"],
    d: Optional[int] = _D["phase"]["d"],
    trials: int = _D["phase"]["trials"],
    seed: int = _D["phase"]["seed"],
    threads: int = _D["phase"]["threads"],
    precision: str = _D["phase"]["precision"],
    max_memory: Optional[str] = _D["phase"]["max_memory"],
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> dict:
    """The order-chaos phase diagram over ``sigma_w2 x sigma_b`` (lists) at one depth, for
    ``act`` tanh or erf (MATH 9; ``radex phase``): per cell the one-step success rate, the
    smallest verified flip, the cosine of a 90-degree pair beside the kernel's, the phase and
    ``chi_1``; ``result["critical"]`` the ``chi_1 = 1`` curve."""
    return _result(_radex.phase(_kwargs(locals())))


def minpert(
    d: int = _D["minpert"]["d"],
    ks: Counts = _D["minpert"]["ks"],
    runs: int = _D["minpert"]["runs"],
    method: str = _D["minpert"]["method"],
    seed: int = _D["minpert"]["seed"],
    threads: int = _D["minpert"]["threads"],
    max_memory: Optional[str] = _D["minpert"]["max_memory"],
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> dict:
    """Min-Pert of the paper's Figure 1, ``||W_1^+ W_1 x|| / ||x||`` against k (MATH 7;
    ``radex minpert``): ``method`` ``gram`` or ``qr``."""
    return _result(_radex.minpert(_kwargs(locals())))


def reproduce(
    out: str = "radex-report",
    quick: bool = False,
    full: bool = False,
    seed: int = 1,
    threads: int = 0,
    max_memory: Optional[str] = None,
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> dict:
    """The main job (``radex reproduce``, MATH 3-7): every claim of the paper measured beside
    its prediction, with verdicts, plots and the report directory ``out`` (replaced only if
    it holds exactly an earlier radex report). ``quick`` takes seconds, the default about five
    minutes on 2 cores, ``full`` about 25. Returns what ``results.json`` holds (every number,
    the verdicts under ``sections``, ``all_agree``)."""
    text, where = _radex.reproduce(_kwargs(locals()))
    if where != str(out):
        import warnings

        warnings.warn(
            f"{out!r} gained files radex did not write during the run; the report is in "
            f"{where!r} instead"
        )
    return json.loads(text)


_FLOAT_INPUTS = (
    "expected a path to an .npy file or a numpy array of float64, float32 or float16 of shape "
    "(n, d) or (d,); convert it with .astype('float64')"
)


def _inputs(v: Any) -> Any:
    """``inputs`` as the native module takes it: a path as ``str``, else a float64 array of
    shape ``(n, d)`` (one input ``(d,)`` is one row). Arrays must be float64, float32 or
    float16, as an ``.npy`` file of ``--inputs`` must (a list is read as numpy reads it, then
    the same holds): any other dtype is refused, not converted."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    what, a = type(v).__name__, v
    if isinstance(v, (list, tuple)):
        try:
            a = np.asarray(v)
        except (ValueError, TypeError):
            raise InputError(f"invalid value '{what}' for '--inputs': {_FLOAT_INPUTS}") from None
        what = f"{what} of {a.dtype}"
    elif isinstance(v, np.ndarray):
        what = str(v.dtype)
    if not (isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.dtype.itemsize in (2, 4, 8)):
        raise InputError(f"invalid value '{what}' for '--inputs': {_FLOAT_INPUTS}")
    return np.ascontiguousarray(np.atleast_2d(a.astype(np.float64, copy=False)))


def _kwargs(args: dict) -> dict:
    out = {}
    for k, v in args.items():
        if k == "network":
            out[k] = v
        elif k == "inputs":
            out[k] = _inputs(v)
        elif k == "model":
            out[k] = None if v is None else os.fspath(v)
        else:
            out[k] = _text(v)
    return out


def _given(network: Optional[Network], arch: Any, default: Any) -> None:
    """A given network brings its own architecture: refuse a different ``arch`` beside it."""
    if network is not None and arch != default and _text(arch) != network.arch:
        raise InputError(
            f"invalid value '{_text(arch)}' for '--arch': a given network has its own "
            f"architecture ({network.arch}); leave out arch"
        )
