#!/usr/bin/env python3
"""What the Python package costs beside the CLI and the library (issue 12): the same work,
one process, best of R runs each, ratio printed.

1. ``radex attack --arch 2000,2000,2000 --trials 100 --sampler dense --format json`` (the CLI,
   a fresh process each run) against ``radex.attack(...)`` with the same arguments (in this
   process, the JSON parsed into a dictionary);
2. ``Network.grad`` of a batch of 256 at ``d = 4096``, widths ``4096,4096`` (numpy in, numpy
   out) against the library's own forward and backward pass of the same network and batch
   (``bench/kernels.rs fb``, which also includes nothing but the products).

Needs the package installed (``pip install .``) and ``cargo build --release --bin radex
--example kernels``. Usage: ``python3 bench/python_overhead.py [--repeats R] [--threads N]``.
"""

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

import radex

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "target" / "release" / "radex"
KERNELS = REPO / "target" / "release" / "examples" / "kernels"


def best(repeats, f, min_seconds=0.5):
    """Best of at least `repeats` runs after a warm-up, running on for `min_seconds`: how
    bench/kernels.rs times the library side."""
    f()
    times, start = [], time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    j = str(a.threads)

    args = ["attack", "--arch", "2000,2000,2000", "--trials", "100", "--sampler", "dense",
            "--format", "json", "-j", j]
    kw = dict(arch="2000,2000,2000", trials=100, sampler="dense", threads=a.threads)
    cli_out = subprocess.run([str(BIN), *args], capture_output=True, check=True).stdout
    assert radex.attack(**kw) == json.loads(cli_out), "the two fronts disagree"
    # Alternate the two sides over several rounds and keep each side's best: the machine's
    # speed drifts by several percent between runs, more than the overhead measured.
    net = radex.Network.sample(arch="4096,4096,4096", seed=1)
    X = np.random.default_rng(0).standard_normal((256, 4096))
    fb_cmd = [str(KERNELS), "fb", "--d", "4096", "--widths", "4096,4096", "--batch", "256",
              "--precision", "f64", "--threads", j, "--repeats", str(a.repeats)]
    cli = py = grad = lib = float("inf")
    for _ in range(a.rounds):
        cli = min(cli, best(a.repeats // 3 or 1, lambda: subprocess.run(
            [str(BIN), *args], capture_output=True, check=True)))
        py = min(py, best(a.repeats // 3 or 1, lambda: radex.attack(**kw)))
        out = subprocess.run(fb_cmd, capture_output=True, check=True, text=True).stdout
        lib = min(lib, json.loads(out.strip().splitlines()[-1])["seconds"])
        grad = min(grad, best(a.repeats, lambda: net.grad(X)))

    print(f"radex {radex.__version__}, {a.threads} threads, best over {a.rounds} alternating rounds")
    print("| workload | front | seconds | library or CLI seconds | overhead |")
    print("|---|---|---|---|---|")
    print(f"| attack 2000,2000,2000, 100 trials, dense | radex.attack | {py:.4f} | "
          f"{cli:.4f} (CLI process) | {100 * (py / cli - 1):+.1f}% |")
    print(f"| grad, d = 4096, widths 4096,4096, batch 256 | Network.grad | {grad:.4f} | "
          f"{lib:.4f} (library fb) | {100 * (grad / lib - 1):+.1f}% |")


if __name__ == "__main__":
    main()
