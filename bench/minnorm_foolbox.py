#!/usr/bin/env python3
"""radex's minimum-norm L2 attack against Foolbox 3.3's, on the same networks (issue 14).

Usage, from the repository root:

    python3 bench/minnorm_foolbox.py                      # 30 networks of each arch (long)
    python3 bench/minnorm_foolbox.py --quick              # 3 networks of each arch
    python3 bench/minnorm_foolbox.py --archs 500,500,500 --trials 10 --seed 1 \\
        --radex target/release/radex --out bench/MINNORM.md

Needs numpy, torch, foolbox 3.3.x and numba (Brendel-Bethge's solver), e.g.
`pip install torch foolbox==3.3.4 numba`. Builds nothing: pass a release binary (default
target/release/radex; `cargo build --release` first).

For each architecture A and trial T (seed S), the network and input are those of trial T of
`radex attack --seed S --sampler dense` (written by `radex export`): relu, no biases, one
output f, ||x|| = sqrt(d) (MATH 1). radex runs once per arch with `--attack all`, and again
with `--attack deepfool` and `--attack minnorm` alone, all with `--threads 1`; its times are
wall times of the whole command divided by the number of networks (network generation
included). Foolbox sees each network as a float64 torch model with the two logits [-f, f], so
its label is the sign of f(x); attacks run one network at a time (batch 1) in unbounded
minimum-norm mode (epsilons=None), on one torch thread:

- bb:      L2BrendelBethgeAttack(steps=1000), default init (LinearSearchBlendedUniformNoise);
           where that init fails, started from the nearest verified flip of the other foolbox
           attacks (counted as "init fallbacks");
- fmn:     L2FMNAttack(steps=1000) as shipped; its L2 projection is a no-op in 3.3.4
           (factor = min(1, norms / norms)), so it does not shrink the perturbation;
- fmn-fix: the same with the projection of the FMN paper (onto the ball of radius epsilon);
- cw:      L2CarliniWagnerAttack(binary_search_steps=9, steps=1000), other settings default;
- bb-start: L2BrendelBethgeAttack(steps=1000) started from the nearest verified flip of the
           attacks above (fmn, fmn-fix, cw, bb): the strongest foolbox pipeline here.

The model's box is [-B, B] with B = max|x_i| + ||x||: every point within ||x|| of x is inside,
so the box binds no perturbation smaller than x itself (and the zero vector, where f = 0, is at
||x||). Every foolbox result is checked with a numpy float64 forward pass: it counts as a flip
only if sign f(x_adv) != sign f(x) or f(x_adv) = 0 (MATH 3), and never when it is the zero
vector (Carlini-Wagner's "nothing found"). Landings on f = 0 are reported apart, with how many
of them have a whole hidden layer off (deep narrow networks die there), and "foolbox best, sign
changes only" leaves them out. Foolbox itself calls f = 0 a success only when f(x) > 0 (argmax
of the tied logits [0, 0] is class 0), which is how it counts the zero vector as a success.
Distances are rho = ||x_adv - x|| / ||x||, as radex reports them. This is a benchmark, not a
test: nothing here asserts a time.
"""

import os

# One thread everywhere (the comparison is single-threaded on both sides); before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCHS = ["500,500,500", "300,300x6", "64,64x50"]
# "radex minnorm <= best foolbox" allows this relative slack (line-search tolerances).
SLACK = 1e-3
# "within 1% of the best of all".
WITHIN = 1e-2
# In the order they run: bb-start starts from the nearest verified flip of those before it.
FOOLBOX_ATTACKS = ["fmn", "fmn-fix", "cw", "bb", "bb-start"]
RADEX_ATTACKS = ["minnorm", "deepfool", "ray", "pgd", "best"]


def run_radex(radex, arch, trials, seed, attack):
    """Runs `radex attack` on trials 0..trials-1; returns (per-trial records, wall seconds)."""
    cmd = [radex, "attack", "--arch", arch, "--trials", str(trials), "--seed", str(seed),
           "--sampler", "dense", "--attack", attack, "--per-trial", "--format", "json",
           "--threads", "1"]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    report = json.loads(out)
    recs = sorted(report["per_trial"], key=lambda r: r["trial"])
    return recs, wall, report


def export(radex, arch, seed, trial, out):
    """Writes trial `trial`'s network and input with `radex export`; returns (Ws, x)."""
    subprocess.run([radex, "export", "--arch", arch, "--seed", str(seed), "--trial", str(trial),
                    "--out", out], check=True, capture_output=True)
    ws = []
    i = 1
    while os.path.exists(os.path.join(out, f"W{i}.npy")):
        ws.append(np.ascontiguousarray(np.load(os.path.join(out, f"W{i}.npy")), dtype=np.float64))
        i += 1
    x = np.load(os.path.join(out, "x.npy")).astype(np.float64)
    return ws, x


def forward_trace(ws, x):
    """f(x) in numpy float64, h_i = relu(W_i h_{i-1}), f = W_{l+1} h_l (MATH 1); with the scale
    of its rounding error, sum_j |W_{l+1,j}| h_l,j, and the first hidden layer that is all zero
    (1-based; None when every layer has an active unit)."""
    h, dead = x, None
    for i, w in enumerate(ws[:-1], start=1):
        h = np.maximum(w @ h, 0.0)
        if dead is None and not np.any(h):
            dead = i
    return float((ws[-1] @ h)[0]), float((np.abs(ws[-1]) @ h)[0]), dead


def forward(ws, x):
    """f(x) in numpy float64."""
    return forward_trace(ws, x)[0]


def verdict(ws, x, f0, x_adv):
    """The MATH 3 check of one foolbox point, in float64: a dict of flips, rho, tie (f = 0
    exactly), dead (f = 0 because a whole hidden layer is off there) and zero (the zero
    vector, no flip)."""
    out = {"flips": False, "rho": None, "tie": False, "dead": False, "zero": False}
    if x_adv is None or not np.all(np.isfinite(x_adv)):
        return out
    if not np.any(x_adv):
        return dict(out, zero=True)
    fa, _, dead = forward_trace(ws, x_adv)
    out["flips"] = bool(fa == 0.0 or np.sign(fa) != np.sign(f0))
    out["rho"] = float(np.linalg.norm(x_adv - x) / np.linalg.norm(x))
    out["tie"] = fa == 0.0
    out["dead"] = fa == 0.0 and dead is not None
    return out


class Net:
    """One exported network as a float64 torch module with logits [-f, f]."""

    def __init__(self, torch, ws):
        layers = []
        for i, w in enumerate(ws):
            lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=False).double()
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
            layers.append(lin)
            if i + 1 < len(ws):
                layers.append(torch.nn.ReLU())
        body = torch.nn.Sequential(*layers)

        class TwoLogits(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.body = body

            def forward(self, z):
                f = self.body(z)
                return torch.cat([-f, f], dim=1)

        self.module = TwoLogits().eval()
        for p in self.module.parameters():
            p.requires_grad_(False)


class FixedFMN:
    """Factory for L2FMNAttack with the FMN paper's projection (3.3.4's is a no-op)."""

    @staticmethod
    def make(fa, ep, **kw):
        from foolbox.devutils import atleast_kd, flatten

        class L2FMNFixed(fa.L2FMNAttack):
            def project(self, x, x0, epsilon):
                norms = ep.maximum(flatten(x - x0).norms.l2(axis=-1), 1e-12)
                factor = atleast_kd(ep.minimum(1, epsilon / norms), x.ndim)
                return x0 + (x - x0) * factor

        return L2FMNFixed(**kw)


def foolbox_attacks(fa, ep, steps):
    """The attacks as run (settings in the module docstring)."""
    return {
        "fmn": fa.L2FMNAttack(steps=steps),
        "fmn-fix": FixedFMN.make(fa, ep, steps=steps),
        "cw": fa.L2CarliniWagnerAttack(binary_search_steps=9, steps=steps),
        "bb": fa.L2BrendelBethgeAttack(steps=steps),
        "bb-start": fa.L2BrendelBethgeAttack(steps=steps),
    }


def run_foolbox(torch, fb, attacks, ws, x, f0):
    """Runs every foolbox attack on one network; per attack a dict of rho (verified or None),
    the claimed success, the check's flags and seconds."""
    import eagerpy as ep

    net = Net(torch, ws)
    bound = float(np.max(np.abs(x)) + np.linalg.norm(x))
    fmodel = fb.PyTorchModel(net.module, bounds=(-bound, bound), device="cpu")
    xt = torch.from_numpy(x.copy()).reshape(1, -1)
    label = torch.tensor([1 if f0 > 0 else 0])
    out = {}
    best_point = None  # nearest verified flip so far, torch-adversarial too (BB's init)
    for name in FOOLBOX_ATTACKS:
        attack = attacks[name]
        rec = {"fallback": False, "error": None}
        t = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "bb-start":
                    if best_point is None:
                        raise ValueError("no verified foolbox flip to start from")
                    raw, _, ok = attack(fmodel, xt, label, epsilons=None,
                                        starting_points=ep.astensor(best_point[0]))
                else:
                    try:
                        raw, _, ok = attack(fmodel, xt, label, epsilons=None)
                    except AssertionError:
                        if name != "bb" or best_point is None:
                            raise
                        # BB's default init found no adversarial start: the nearest flip so far.
                        rec["fallback"] = True
                        raw, _, ok = attack(fmodel, xt, label, epsilons=None,
                                            starting_points=ep.astensor(best_point[0]))
            x_adv = raw.detach().numpy().reshape(-1).astype(np.float64)
            rec["claimed"] = bool(ok.reshape(-1)[0])
        except Exception as e:  # noqa: BLE001 - a failing attack is a result, not a crash
            x_adv, rec["claimed"], rec["error"] = None, False, f"{type(e).__name__}: {e}"
        rec["seconds"] = time.perf_counter() - t
        v = verdict(ws, x, f0, x_adv)
        rho = v["rho"] if v["flips"] else None
        rec.update(rho=rho, unverified=rec["claimed"] and not v["flips"], tie=v["tie"],
                   dead=v["dead"], zero=v["zero"])
        # BB needs a start that foolbox itself calls adversarial: a strict sign change.
        if rho is not None and not v["tie"] and (best_point is None or rho < best_point[1]):
            best_point = (torch.from_numpy(x_adv).reshape(1, -1), rho)
        out[name] = rec
    return out


def warm_up(torch, fb, attacks):
    """One untimed run of every attack on a tiny network, so that numba's compilation of
    Brendel-Bethge's solver (about 15 s) is not charged to the first network."""
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((8, 8)), rng.standard_normal((1, 8))]
    x = rng.standard_normal(8)
    run_foolbox(torch, fb, attacks, ws, x, forward(ws, x))


def median(v):
    return float(np.median(v)) if v else float("nan")


def fmt(v, digits=4):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    return f"{v:.{digits}g}"


def arch_rows(arch, nets, times):
    """Markdown for one architecture: the summary table, the ratios and the per-network table."""
    n = len(nets)
    lines = [f"### `{arch}` ({n} networks)", ""]
    lines.append("| attack | flips (verified) | foolbox claims failing the check | "
                 "median rho | time per network (s) |")
    lines.append("|---|---|---|---|---|")
    for a in RADEX_ATTACKS:
        rhos = [r["radex"][a] for r in nets if r["radex"][a] is not None]
        t = times.get(a)
        lines.append(f"| radex {a} | {len(rhos)}/{n} | - | {fmt(median(rhos))} | "
                     f"{fmt(t, 3) if t is not None else '-'} |")
    lines.append(f"| radex deepfool alone | | | | {fmt(times['deepfool-alone'], 3)} |")
    lines.append(f"| radex minnorm alone | | | | {fmt(times['minnorm-alone'], 3)} |")
    for a in FOOLBOX_ATTACKS:
        recs = [r["foolbox"][a] for r in nets]
        rhos = [c["rho"] for c in recs if c["rho"] is not None]
        bad = sum(c["unverified"] for c in recs)
        ties = sum(c["tie"] for c in recs)
        dead = sum(c["dead"] for c in recs)
        zeros = sum(c["zero"] for c in recs)
        errors = sum(c["error"] is not None for c in recs)
        fallbacks = sum(c["fallback"] for c in recs)
        notes = []
        if zeros:
            notes.append(f"{zeros} zero vectors")
        if ties:
            notes.append(f"{ties} on f = 0" + (f", {dead} of them with a whole layer off"
                                               if dead else ""))
        if errors:
            # BB's errors are its assertion that the start is adversarial (no start found).
            notes.append(f"{errors} without an adversarial start" if a.startswith("bb")
                         else f"{errors} errors")
        if fallbacks:
            notes.append(f"{fallbacks} init fallbacks")
        note = f" ({', '.join(notes)})" if notes else ""
        secs = sum(c["seconds"] for c in recs) / n
        lines.append(f"| foolbox {a} | {len(rhos)}/{n}{note} | {bad} | {fmt(median(rhos))} | "
                     f"{fmt(secs, 3)} |")
    fb_best = [r["fb_best"] for r in nets if r["fb_best"] is not None]
    lines.append(f"| foolbox best | {len(fb_best)}/{n} | | {fmt(median(fb_best))} | |")
    strict = [r["fb_strict"] for r in nets if r["fb_strict"] is not None]
    lines.append(f"| foolbox best, sign changes only (f = 0 not counted) | {len(strict)}/{n} | | "
                 f"{fmt(median(strict))} | |")
    lines.append("")

    both = [r for r in nets if r["radex"]["minnorm"] is not None and r["fb_best"] is not None]
    ratios = [r["radex"]["minnorm"] / r["fb_best"] for r in both]
    le = sum(q <= 1 + SLACK for q in ratios)
    all_best = [r for r in nets if r["all_best"] is not None]
    within = sum(r["radex"]["minnorm"] is not None
                 and r["radex"]["minnorm"] <= (1 + WITHIN) * r["all_best"] for r in all_best)
    ratio_best = [r["radex"]["best"] / r["fb_best"] for r in nets
                  if r["radex"]["best"] is not None and r["fb_best"] is not None]
    lines.append(f"- radex minnorm / best foolbox (verified), over the {len(both)} networks both "
                 f"flipped: median {fmt(median(ratios))}, "
                 f"max {fmt(max(ratios) if ratios else None)}, "
                 f"min {fmt(min(ratios) if ratios else None)}")
    lines.append(f"- radex best / best foolbox: median {fmt(median(ratio_best))}, "
                 f"max {fmt(max(ratio_best) if ratio_best else None)}")
    lines.append(f"- radex minnorm <= best foolbox x (1 + {SLACK:g}): {le}/{len(both)}")
    lines.append(f"- radex minnorm within {WITHIN:.0%} of the best of all (radex and foolbox): "
                 f"{within}/{len(all_best)}")
    if times.get("deepfool-alone"):
        lines.append(f"- cost: radex minnorm alone / deepfool alone = "
                     f"{fmt(times['minnorm-alone'] / times['deepfool-alone'], 3)} "
                     f"(whole commands, network generation included)")
    missed = [r for r in nets if r["radex"]["minnorm"] is None and r["fb_best"] is not None]
    sign = [f"{r['trial']} (foolbox {fmt(r['fb_strict'])}, radex best {fmt(r['radex']['best'])})"
            for r in missed if r["fb_strict"] is not None]
    zero = [r["trial"] for r in missed if r["fb_strict"] is None]
    only_rx = [r["trial"] for r in nets if r["radex"]["minnorm"] is not None
               and r["fb_best"] is None]
    lines.append(f"- flipped by foolbox but not by radex minnorm, with a sign change: trials "
                 f"{', '.join(sign) or 'none'}; only onto f = 0: trials {zero or 'none'}")
    lines.append(f"- flipped by radex minnorm but by no foolbox attack: trials {only_rx or 'none'}")
    lines.append("")
    lines.append("<details><summary>per network (rho = ||x' - x|| / ||x||; - = no flip)</summary>")
    lines.append("")
    head = ["trial", "f(x)"] + [f"radex {a}" for a in RADEX_ATTACKS] + \
        [f"fb {a}" for a in FOOLBOX_ATTACKS] + ["minnorm / fb best"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for r in nets:
        q = (r["radex"]["minnorm"] / r["fb_best"]
             if r["radex"]["minnorm"] is not None and r["fb_best"] is not None else None)
        cells = [str(r["trial"]), fmt(r["f"])] + [fmt(r["radex"][a], 6) for a in RADEX_ATTACKS] \
            + [fmt(r["foolbox"][a]["rho"], 6) for a in FOOLBOX_ATTACKS] + [fmt(q, 5)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("</details>")
    lines.append("")
    return lines


def bench_arch(args, torch, fb, attacks, arch):
    """Runs both sides on one architecture; returns (per-network records, times)."""
    log = lambda msg: print(f"[{arch}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    recs, wall_all, _ = run_radex(args.radex, arch, args.trials, args.seed, "all")
    log(f"radex --attack all: {wall_all:.1f} s")
    _, wall_df, _ = run_radex(args.radex, arch, args.trials, args.seed, "deepfool")
    _, wall_mn, _ = run_radex(args.radex, arch, args.trials, args.seed, "minnorm")
    log(f"radex deepfool alone {wall_df:.1f} s, minnorm alone {wall_mn:.1f} s")
    n = args.trials
    times = {"minnorm": None, "deepfool": None, "ray": None, "pgd": None,
             "best": wall_all / n, "deepfool-alone": wall_df / n, "minnorm-alone": wall_mn / n}
    nets = []
    with tempfile.TemporaryDirectory(prefix="minnorm-fb-") as tmp:
        for rec in recs:
            t = rec["trial"]
            if rec["dead"]:
                log(f"trial {t}: dead at x, skipped")
                continue
            ws, x = export(args.radex, arch, args.seed, t, os.path.join(tmp, str(t)))
            f0, scale, _ = forward_trace(ws, x)
            # The exported network is the attacked one: the same f(x) up to rounding.
            if abs(f0 - rec["f"]) > 1e-9 * scale:
                sys.exit(f"trial {t}: numpy f(x) = {f0!r}, radex attack f = {rec['f']!r}")
            fbres = run_foolbox(torch, fb, attacks, ws, x, f0)
            fb_rhos = [c["rho"] for c in fbres.values() if c["rho"] is not None]
            fb_signs = [c["rho"] for c in fbres.values() if c["rho"] is not None and not c["tie"]]
            radex = {a: rec.get(f"{a}_rho") for a in RADEX_ATTACKS}
            fb_best = min(fb_rhos) if fb_rhos else None
            cands = [v for v in (radex["best"], fb_best) if v is not None]
            nets.append({"trial": t, "f": f0, "radex": radex, "foolbox": fbres,
                         "fb_best": fb_best, "fb_strict": min(fb_signs) if fb_signs else None,
                         "all_best": min(cands) if cands else None})
            log(f"trial {t}: radex minnorm {fmt(radex['minnorm'])} best {fmt(radex['best'])}"
                f" | " + " ".join(f"{a} {fmt(c['rho'])} ({c['seconds']:.1f}s)"
                                  for a, c in fbres.items()))
    return nets, times


def machine():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def radex_version(radex):
    out = subprocess.run([radex, "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return out, commit


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archs", default=";".join(ARCHS),
                    help="architectures separated by ';' (default: %(default)s)")
    ap.add_argument("--trials", type=int, default=30, help="networks per arch (default 30)")
    ap.add_argument("--seed", type=int, default=1, help="radex seed (default 1)")
    ap.add_argument("--radex", default=os.path.join(ROOT, "target", "release", "radex"),
                    help="radex binary (default: target/release/radex of this repository)")
    ap.add_argument("--radex-commit", default=None,
                    help="commit the binary was built from (default: this repository's HEAD)")
    ap.add_argument("--steps", type=int, default=1000,
                    help="steps of each foolbox attack (CW: per binary-search step)")
    ap.add_argument("--quick", action="store_true", help="3 networks per arch (smoke run)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "MINNORM.md"),
                    help="markdown results file (default bench/MINNORM.md; '-' = none)")
    ap.add_argument("--json", default=None, help="also write every per-network record here")
    args = ap.parse_args()
    if args.quick:
        args.trials = 3
    archs = [a.strip() for a in args.archs.split(";") if a.strip()]
    if not os.path.exists(args.radex):
        sys.exit(f"expected a radex binary at {args.radex}, got none: cargo build --release "
                 f"or pass --radex PATH")

    import torch
    import foolbox as fb
    import foolbox.attacks as fa
    import eagerpy as ep

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    attacks = foolbox_attacks(fa, ep, args.steps)
    warm_up(torch, fb, attacks)

    started = datetime.datetime.now()
    sections = []
    records = {}
    for arch in archs:
        nets, times = bench_arch(args, torch, fb, attacks, arch)
        records[arch] = {"seconds_per_network": times, "networks": nets}
        sections += arch_rows(arch, nets, times)

    version, commit = radex_version(args.radex)
    commit = args.radex_commit or commit
    cmd = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    head = [
        "# radex minnorm against Foolbox (issue 14)",
        "",
        f"Generated by `bench/minnorm_foolbox.py` on {started:%Y-%m-%d %H:%M}, "
        f"{(datetime.datetime.now() - started).total_seconds() / 60:.0f} minutes.",
        "",
        f"- command: `python3 {cmd}`",
        f"- machine: {machine()}, {os.cpu_count()} cores (shared); radex `--threads 1`, "
        f"torch 1 thread",
        f"- versions: {version} (commit {commit}), torch {torch.__version__}, "
        f"foolbox {fb.__version__}, numpy {np.__version__}, python {platform.python_version()}",
        f"- networks: seed {args.seed}, trials 0..{args.trials - 1} of each arch, "
        f"`radex attack --sampler dense` (exported with `radex export`)",
        f"- foolbox: float64, logits [-f, f], box [-B, B] with B = max|x_i| + ||x||, batch 1, "
        f"epsilons=None; bb = L2BrendelBethgeAttack(steps={args.steps}) with its default init "
        f"(nearest verified foolbox flip where that fails), fmn = L2FMNAttack(steps={args.steps})"
        f" as shipped (its L2 projection is a no-op), fmn-fix = the same with the projection "
        f"onto the epsilon ball, cw = L2CarliniWagnerAttack(binary_search_steps=9, "
        f"steps={args.steps}), bb-start = bb started from the nearest verified flip of the "
        f"four others; each result checked in numpy float64 (a flip: the sign of f "
        f"changes or f = 0; the zero vector is no flip)",
        "- radex times: wall time of the whole `radex attack ... --threads 1` command over the "
        "number of networks (network generation included); `radex best` is `--attack all` "
        "(one-step, ray, DeepFool, PGD, minnorm)",
        "",
    ]
    text = "\n".join(head + sections)
    print(text)
    if args.out != "-":
        with open(args.out, "w") as fh:
            fh.write(text)
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(records, fh, indent=1)


if __name__ == "__main__":
    main()
