#!/usr/bin/env python3
"""One shard against two on two cores (issue 15): the same sweep, planned twice, run once as
one shard at --threads 1 and once as two shards at --threads 1 each, side by side; prints both
wall times and their ratio (the target is 1.8 or more), and checks that the two merges are
byte for byte the same. The machine must be otherwise idle. A benchmark, not a test: nothing
here asserts a time.

Usage, from the repository root:

    bench/sweep.py             # about 2 x 40 s of work on 2 idle cores
    bench/sweep.py --trials 40 # smaller
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RADEX = os.path.join(ROOT, "target", "release", "radex")

PLAN = """experiment = "attack"
arch = ["600,600,600", "800,800,800"]
attack = "all"
sampler = "dense"
seed = [1, 2]
trials = {trials}
unit_seconds = 2
"""


def radex(*args, **kw):
    return subprocess.run([RADEX, *args], check=True, capture_output=True, text=True, **kw)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=100, help="trials per grid point (4 points)")
    a = p.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        plan = os.path.join(tmp, "plan.toml")
        with open(plan, "w") as f:
            f.write(PLAN.format(trials=a.trials))
        one, two = os.path.join(tmp, "one"), os.path.join(tmp, "two")
        print(radex("sweep", "plan", plan, "--out", one).stdout.strip())
        radex("sweep", "plan", plan, "--out", two)

        t = time.perf_counter()
        radex("sweep", "run", one, "--shard", "0/1", "--threads", "1")
        t1 = time.perf_counter() - t

        t = time.perf_counter()
        procs = [subprocess.Popen([RADEX, "sweep", "run", two, "--shard", f"{i}/2", "--threads", "1"],
                                  stderr=subprocess.DEVNULL) for i in range(2)]
        ends = []
        for q in procs:
            if q.wait() != 0:
                sys.exit("bench/sweep.py: a shard failed")
            ends.append(time.perf_counter() - t)
        t2 = max(ends)

        same = radex("sweep", "merge", one, "--format", "json").stdout == \
            radex("sweep", "merge", two, "--format", "json").stdout
        print(f"cores: {os.cpu_count()}  trials per point: {a.trials}")
        print(f"1 shard, 1 thread:          {t1:8.2f} s")
        print(f"2 shards, 1 thread each:    {t2:8.2f} s  (shards ended at {ends[0]:.2f} s and {ends[1]:.2f} s)")
        print(f"speed-up (target >= 1.8):   {t1 / t2:8.2f}")
        print(f"merged JSON identical:      {same}")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
