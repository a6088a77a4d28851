#!/usr/bin/env python3
"""radex's own allocator (src/cli/alloc.rs: huge pages and recycled large blocks) against the
system allocator and jemalloc, on the workloads it was written for (issue 12): the same
binary built three ways, each workload run alternately, best wall time and peak resident set
kept.

  python3 bench/allocators.py [--rounds 2] [--quick]

Builds ``target/alloc-system`` (``--features alloc-system``) and ``target/alloc-jemalloc``
(``--features jemalloc``) beside the usual ``target/release``.
"""

import argparse
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BUILDS = {
    "radex (src/cli/alloc.rs)": (None, REPO / "target" / "release" / "radex"),
    "system": ("alloc-system", REPO / "target" / "alloc-system" / "release" / "radex"),
    "jemalloc": ("jemalloc", REPO / "target" / "alloc-jemalloc" / "release" / "radex"),
}

WORKLOADS = {
    "lazy attack d = 10^7, 5 trials": [
        "attack", "--sampler", "lazy", "--arch", "10000000,10000000,10000000", "--trials", "5",
    ],
    "dense attack d = 2048, 50 trials": [
        "attack", "--sampler", "dense", "--arch", "2048,2048,2048", "--trials", "50",
    ],
    "minpert d = 10^4, k = 1000,5000, 4 runs": [
        "minpert", "--d", "10000", "--ks", "1000,5000", "--runs", "4",
    ],
}

QUICK = {
    "lazy attack d = 10^6, 5 trials": [
        "attack", "--sampler", "lazy", "--arch", "1000000,1000000,1000000", "--trials", "5",
    ],
    "dense attack d = 1024, 50 trials": [
        "attack", "--sampler", "dense", "--arch", "1024,1024,1024", "--trials", "50",
    ],
}


def build(feature, binary):
    cmd = ["cargo", "build", "--release", "--bin", "radex"]
    if feature:
        cmd += ["--features", feature, "--target-dir", str(binary.parents[1])]
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)


def timed(binary, args):
    """Wall seconds and peak resident bytes of one run (GNU time)."""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", str(binary), *args, "--format", "json"],
        capture_output=True, text=True, check=True,
    )
    secs, kb = out.stderr.strip().splitlines()[-1].split()
    return float(secs), int(kb) * 1024, out.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    for feature, binary in BUILDS.values():
        build(feature, binary)
    work = QUICK if a.quick else WORKLOADS
    best = {}
    for _ in range(a.rounds):
        for w, args in work.items():
            outputs = set()
            for name, (_, binary) in BUILDS.items():
                secs, rss, out = timed(binary, args)
                outputs.add(out)
                t, r = best.get((w, name), (float("inf"), 0))
                best[(w, name)] = (min(t, secs), max(r, rss))
            assert len(outputs) == 1, f"{w}: the allocators gave different results"
    print("| workload | allocator | best wall s | peak RSS GiB | time vs radex's |")
    print("|---|---|---|---|---|")
    for w in work:
        base = best[(w, "radex (src/cli/alloc.rs)")][0]
        for name in BUILDS:
            t, r = best[(w, name)]
            print(f"| {w} | {name} | {t:.2f} | {r / 2**30:.2f} | {100 * (t / base - 1):+.1f}% |")


if __name__ == "__main__":
    main()
