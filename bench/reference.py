#!/usr/bin/env python3
"""The numpy side of bench/run: the same work as radex, written the way a researcher would.

numpy matmul, numpy's default_rng, scipy.linalg.qr where it fits, no rescaling tricks. Each
subcommand prints one JSON line with its best wall time (interpreter start-up and imports are
not timed, which favours numpy). Thread counts are set by the caller (OPENBLAS_NUM_THREADS /
OMP_NUM_THREADS) and enforced here with threadpoolctl.

    reference.py sample  --d 4096 --widths 4096,4096 --precision f64 --repeats 5
    reference.py fb      --d 4096 --widths 4096,4096 --batch 256 --precision f32
                         [--act tanh --sigma-w2 1 --sigma-b 0.3 --outputs 10]
    reference.py check   --dir DIR --act gelu      (weights written by `kernels check`)
    reference.py gemm    --m 4096 --k 4096 --n 256 --trans t --precision f64
    reference.py attack  --d 2048 --widths 2048,2048 --trials 50
    reference.py minpert --d 10000 --ks 10,50,100,500,1000,5000,10000 --runs 10
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import scipy.linalg
import scipy.special
from threadpoolctl import threadpool_info, threadpool_limits

LINE_BATCH = 16
REL_TOL = 1e-6


MIN_SECONDS = 0.5


def best_of(repeats, f):
    """Best wall time of at least `repeats` runs of `f` after one warm-up, running on until
    MIN_SECONDS have passed so that millisecond kernels reach a steady state (as in
    bench/kernels.rs)."""
    f()
    best, runs, start = float("inf"), 0, time.perf_counter()
    while runs < repeats or time.perf_counter() - start < MIN_SECONDS:
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
        runs += 1
    return best


def best_run(repeats, f):
    """Best wall time of `repeats` runs of a long workload (no warm-up: one run is minutes), and
    the last run's result."""
    best, res = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        res = f()
        best = min(best, time.perf_counter() - t)
    return best, res


def dtype_of(p):
    return np.float32 if p == "f32" else np.float64


def sample_net(rng, dims, dtype):
    """W_i with N(0, 1/d_{i-1}) entries, the output row last (MATH 1, NN-DEF)."""
    shapes = [(dims[i], dims[i - 1]) for i in range(1, len(dims))] + [(1, dims[-1])]
    return [
        rng.standard_normal(s, dtype=dtype) * dtype(1.0 / np.sqrt(s[1])) for s in shapes
    ]


def forward(ws, x):
    hs = [x]
    for w in ws[:-1]:
        hs.append(np.maximum(w @ hs[-1], 0))
    return hs, ws[-1] @ hs[-1]


def backward(ws, hs):
    g = ws[-1].T * (hs[-1] > 0)
    for i in range(len(ws) - 2, -1, -1):
        g = ws[i].T @ g
        if i > 0:
            g *= hs[i] > 0
    return g


def sample_family(rng, dims, dtype, sigma_w2, sigma_b, outputs):
    """The general family of MATH 9: W_i with N(0, sigma_w2/d_{i-1}) entries, the K x d_l
    output layer last, and biases N(0, sigma_b^2) for every layer (none when sigma_b = 0)."""
    shapes = [(dims[i], dims[i - 1]) for i in range(1, len(dims))] + [(outputs, dims[-1])]
    ws = [rng.standard_normal(s, dtype=dtype) * dtype(np.sqrt(sigma_w2 / s[1])) for s in shapes]
    bs = [rng.standard_normal(s[0], dtype=dtype) * dtype(sigma_b) for s in shapes] \
        if sigma_b > 0 else None
    return ws, bs


def phi(act, z):
    """phi(z) in z's dtype (relu, tanh, or the exact gelu z Phi(z))."""
    if act == "relu":
        return np.maximum(z, 0)
    if act == "tanh":
        return np.tanh(z)
    if act == "gelu":
        return z * (z.dtype.type(0.5) * scipy.special.erfc(z * z.dtype.type(-np.sqrt(0.5))))
    raise SystemExit(f"reference.py: --act {act} is not implemented here (relu, tanh, gelu)")


def dphi(act, z, h):
    """phi'(z): 1[h > 0] for relu and 1 - h^2 for tanh (from the stored h = phi(z)),
    Phi(z) + z pdf(z) for gelu."""
    if act == "relu":
        return h > 0
    if act == "tanh":
        return h.dtype.type(1) - h * h
    t = z.dtype.type
    cdf = t(0.5) * scipy.special.erfc(z * t(-np.sqrt(0.5)))
    return cdf + z * (t(1 / np.sqrt(2 * np.pi)) * np.exp(z * z * t(-0.5)))


def forward_family(ws, bs, x, act):
    """z_i = W_i h_{i-1} + b_i, h_i = phi(z_i) (z kept where phi' needs it), then the K x B
    outputs F = W_out h_l + b_out."""
    hs, zs = [x], []
    for i, w in enumerate(ws[:-1]):
        z = w @ hs[-1]
        if bs is not None:
            z += bs[i][:, None]
        zs.append(z if act == "gelu" else None)
        hs.append(phi(act, z))
    out = ws[-1] @ hs[-1]
    if bs is not None:
        out += bs[-1][:, None]
    return hs, zs, out


def margin_seed(out):
    """The gradient of f with respect to the outputs: 1 for K = 1; e_y - e_{j*} for K >= 2, y
    the argmax and j* the runner-up of each column (first index on ties)."""
    k, b = out.shape
    if k == 1:
        return np.ones_like(out), None, None
    cols = np.arange(b)
    y = np.argmax(out, axis=0)
    rest = out.copy()
    rest[y, cols] = -np.inf
    j = np.argmax(rest, axis=0)
    seed = np.zeros_like(out)
    seed[y, cols] = 1
    seed[j, cols] = -1
    return seed, y, j


def backward_family(ws, hs, zs, out, act):
    """g = W_i^T (phi'(z_i) * g), layer by layer from the seed of margin_seed."""
    seed, _, _ = margin_seed(out)
    g = ws[-1].T @ seed
    for i in range(len(ws) - 2, -1, -1):
        g *= dphi(act, zs[i], hs[i + 1])
        g = ws[i].T @ g
    return g


def cmd_sample(a):
    dims = [a.d] + a.widths
    dtype = dtype_of(a.precision)
    rng = np.random.default_rng(1)
    secs = best_of(a.repeats, lambda: sample_net(rng, dims, dtype))
    n = sum(dims[i] * dims[i - 1] for i in range(1, len(dims))) + dims[-1]
    return {"workload": "sample", "entries": n, "seconds": secs}


def is_paper(a):
    return a.act == "relu" and a.sigma_w2 == 1.0 and a.sigma_b == 0.0 and a.outputs == 1


def cmd_fb(a):
    dims = [a.d] + a.widths
    dtype = dtype_of(a.precision)
    rng = np.random.default_rng(1)
    if is_paper(a):
        ws = sample_net(rng, dims, dtype)
    else:
        ws, bs = sample_family(rng, dims, dtype, a.sigma_w2, a.sigma_b, a.outputs)
    x = rng.standard_normal((a.d, a.batch), dtype=dtype)
    x *= dtype(np.sqrt(a.d)) / np.linalg.norm(x, axis=0)

    def run():
        if not is_paper(a):
            hs, zs, out = forward_family(ws, bs, x, a.act)
            return backward_family(ws, hs, zs, out, a.act)
        hs, _ = forward(ws, x)
        return backward(ws, hs)

    secs = best_of(a.repeats, run)
    return {"workload": "fb", "seconds": secs}


def cmd_check(a):
    """Runs forward_family/backward_family, the very code `fb` times, on the weights, biases and
    inputs `kernels check` wrote to --dir, in their dtype, and compares the outputs, the
    argmax and runner-up (K >= 2) and the input gradients with radex's. Exits 1 on a mismatch
    beyond rounding: largest absolute difference over the largest magnitude > 50 eps
    (measured: 1-3 eps)."""
    load = lambda n: np.load(os.path.join(a.dir, n + ".npy"))
    ws, i = [], 1
    while os.path.exists(os.path.join(a.dir, f"W{i}.npy")):
        ws.append(load(f"W{i}"))
        i += 1
    bs = [load(f"b{j}") for j in range(1, i)] if os.path.exists(os.path.join(a.dir, "b1.npy")) \
        else None
    x, out_r, grad_r = load("x"), load("out"), load("grad")
    hs, zs, out = forward_family(ws, bs, x, a.act)
    _, y, j = margin_seed(out)
    grad = backward_family(ws, hs, zs, out, a.act)
    rel = lambda u, v: float(np.max(np.abs(u.astype(np.float64) - v)) / np.max(np.abs(v)))
    eps = float(np.finfo(x.dtype).eps)
    res = {
        "workload": "check",
        "precision": "f32" if x.dtype == np.float32 else "f64",
        "shapes": [list(w.shape) for w in ws],
        "biases": bs is not None,
        "out_rel_err": rel(out, out_r),
        "grad_rel_err": rel(grad, grad_r),
        "eps": eps,
    }
    if y is not None:
        res["labels_agree"] = bool(np.array_equal(y, load("label").astype(int))
                                   and np.array_equal(j, load("runner").astype(int)))
    res["ok"] = bool(res["out_rel_err"] <= 50 * eps and res["grad_rel_err"] <= 50 * eps
                     and res.get("labels_agree", True))
    return res


def cmd_gemm(a):
    dtype = dtype_of(a.precision)
    rng = np.random.default_rng(1)
    lhs = rng.standard_normal((a.k, a.m), dtype=dtype).T if a.trans == "t" else \
        rng.standard_normal((a.m, a.k), dtype=dtype)
    # Column-major operands as radex stores them (numpy picks the BLAS transposes).
    lhs = np.asfortranarray(lhs) if a.trans == "n" else lhs
    rhs = np.asfortranarray(rng.standard_normal((a.k, a.n), dtype=dtype))
    out = np.empty((a.m, a.n), dtype=dtype, order="F")
    secs = best_of(a.repeats, lambda: np.matmul(lhs, rhs, out=out))
    return {"workload": "gemm", "seconds": secs}


def f_along(ws, x, u, ts):
    pts = x[:, None] + u[:, None] * np.asarray(ts)[None, :]
    return forward(ws, pts.astype(ws[0].dtype))[1][0].astype(np.float64)


def c_search(ws, x, u, f, t_lin):
    """The smallest step factor c >= 2 with a flip and |f(x')| >= |f(x)| (as radex does)."""
    holds = lambda g: np.sign(g) == -np.sign(f) and g / f <= -1.0
    phi = lambda g: -g / f - 1.0
    grid = 2.0 * 2.0 ** (np.arange(41) / 4.0) * t_lin
    lo, phi_lo, hi, f_hi, first = 0.0, -1.0, None, None, None
    for s in range(0, len(grid), LINE_BATCH):
        chunk = grid[s:s + LINE_BATCH]
        fs = f_along(ws, x, u, chunk)
        first = fs[0] if first is None else first
        for t, g in zip(chunk, fs):
            if holds(g):
                hi, f_hi = t, g
                break
            lo, phi_lo = t, phi(g)
        if hi is not None:
            break
    if hi is None or hi == grid[0]:
        return first, (2.0 if hi is not None else None)
    for _ in range(64):
        if hi - lo <= REL_TOL * hi:
            break
        phi_hi = phi(f_hi)
        ts = []
        if phi_hi > phi_lo:
            root = lo + (hi - lo) * np.clip(-phi_lo / (phi_hi - phi_lo), 0.0, 1.0)
            ts += [root * (1 - REL_TOL / 4), root * (1 + REL_TOL / 4)]
        even = LINE_BATCH - len(ts)
        step = (hi - lo) / (even + 1)
        ts += [lo + step * j for j in range(1, even + 1)]
        ts = sorted(set(t for t in ts if lo < t < hi))
        if not ts:
            break
        fs = f_along(ws, x, u, ts)
        k = next((j for j, g in enumerate(fs) if holds(g)), None)
        if k is None:
            lo, phi_lo = ts[-1], phi(fs[-1])
        else:
            if k > 0:
                lo, phi_lo = ts[k - 1], phi(fs[k - 1])
            hi, f_hi = ts[k], fs[k]
    return first, hi / t_lin


def cmd_attack(a):
    dims = [a.d] + a.widths
    dtype = dtype_of(a.precision)

    def run():
        out = []
        for t in range(a.trials):
            rng = np.random.default_rng([a.seed, t])
            ws = sample_net(rng, dims, dtype)
            x = rng.standard_normal(a.d)
            x *= np.sqrt(a.d) / np.linalg.norm(x)
            hs, f = forward(ws, x[:, None].astype(dtype))
            g = backward(ws, hs)[:, 0].astype(np.float64)
            f = float(f[0, 0])
            gn = np.linalg.norm(g)
            u = -np.sign(f) * g / gn
            t_lin = abs(f) / gn
            x_adv = x + 2.0 * t_lin * u
            rho = np.linalg.norm(x_adv - x) / np.linalg.norm(x)
            f_adv, c_min = c_search(ws, x, u, f, t_lin)
            out.append((rho, np.sign(f_adv) == -np.sign(f), c_min))
        return out

    best, res = best_run(a.repeats, run)
    rho = np.array([r[0] for r in res])
    return {
        "workload": "attack",
        "seconds": best,
        "rho_sqrt_d_median": float(np.median(rho) * np.sqrt(a.d)),
        "success_rate": float(np.mean([r[1] for r in res])),
    }


def cmd_minpert(a):
    """Figure 1 literally: Q of the thin QR of W_1^T, then ||Q^T x|| / ||x||."""

    def run():
        rows = []
        for k in a.ks:
            vals = []
            for r in range(a.runs):
                rng = np.random.default_rng([a.seed, k, r])
                w = rng.standard_normal((k, a.d))
                x = rng.standard_normal(a.d)
                q, _ = scipy.linalg.qr(w.T, mode="economic")
                vals.append(np.linalg.norm(q.T @ x) / np.linalg.norm(x))
            rows.append({"k": k, "mean": float(np.mean(vals))})
        return rows

    best, rows = best_run(a.repeats, run)
    return {"workload": "minpert", "seconds": best, "rows": rows}


def ints(s):
    return [int(v) for v in s.split(",")]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", choices=["sample", "fb", "check", "gemm", "attack", "minpert",
                                           "info"])
    p.add_argument("--d", type=int, default=4096)
    p.add_argument("--widths", type=ints, default=[4096, 4096])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--m", type=int, default=4096)
    p.add_argument("--k", type=int, default=4096)
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--trans", choices=["n", "t"], default="n")
    p.add_argument("--precision", choices=["f64", "f32"], default="f64")
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--ks", type=ints, default=[10, 50, 100, 500, 1000, 5000, 10000])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--act", choices=["relu", "tanh", "gelu"], default="relu")
    p.add_argument("--sigma-w2", type=float, default=1.0)
    p.add_argument("--sigma-b", type=float, default=0.0)
    p.add_argument("--outputs", type=int, default=1)
    p.add_argument("--dir", help="check: the directory `kernels check` wrote")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=int(os.environ.get("OPENBLAS_NUM_THREADS", 0)) or None)
    a = p.parse_args()
    with threadpool_limits(limits=a.threads):
        if a.workload == "info":
            out = {
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "threadpools": threadpool_info(),
            }
        else:
            out = globals()["cmd_" + a.workload](a)
            out.setdefault("precision", a.precision)
            out["kernels"] = sorted(
                {f"{i['internal_api']}:{i.get('architecture')}" for i in threadpool_info()}
            )
    print(json.dumps(out))
    if out.get("ok") is False:
        sys.exit(1)


if __name__ == "__main__":
    main()
