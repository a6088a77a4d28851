"""Measure the digits MLP of train.py with radex, beside the same architecture at its random
initialisation (MATH 10; the paper's open question 3: do trained networks keep the
near-linearity of random ones?).

    python examples/digits/train.py --out target/digits
    python examples/digits/measure.py --dir target/digits

Prints: the accuracy radex's labels (the argmax of the network's 10 outputs) give on the test
digits, and how much of it the attacks leave (the one-step attack clipped to the pixel box;
and every digit whose smallest verified flip is larger than a budget, an upper bound on the
robust accuracy at that budget); the one-step and minimal-flip sizes; the relative gradient
change against the radius (MATH 4). Each beside the random network of the same architecture
(tanh, sigma_w2 = 1, no biases) measured on the same digits.

Needs: numpy and radex (pip install . from the repository root).
"""

import argparse
import os
import sys

import numpy as np

import radex


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default="target/digits", help="where train.py wrote its files")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    model = os.path.join(args.dir, "digits.safetensors")
    inputs = os.path.join(args.dir, "test.npy")
    labels = np.load(os.path.join(args.dir, "test_labels.npy"))
    x = np.load(inputs)
    norm_x = np.linalg.norm(x, axis=1)

    r = radex.attack(model=model, inputs=inputs, input="box", attack="all",
                     compare_init=True, per_trial=True, seed=args.seed)
    lin = radex.linearity(model=model, input="box", compare_init=True, trials=20,
                          seed=args.seed)
    out = {}
    for side in ("given", "init"):
        rep = r[side]
        t = rep["per_trial"]
        pred = np.asarray(t["label"], dtype=float)
        correct = pred == labels
        clipped_kept = correct & ~np.asarray(t["clipped_success"], dtype=bool)
        # Smallest verified flip in pixels: best_rho is relative to ||x||.
        best = np.asarray(t["best_rho"], dtype=float) * norm_x
        best = np.where(np.isnan(best), np.inf, best)
        out[side] = {
            "accuracy": correct.mean(),
            "kept (clipped one step)": clipped_kept.mean(),
            **{f"kept at L2 budget {e}": (correct & (best > e)).mean() for e in (0.5, 1.0, 2.0)},
            "one-step rho*sqrt(d) median": rep["rho_sqrt_d"]["median"],
            "smallest flip rho*sqrt(d) median": rep["best"]["rel_pert_sqrt_d"]["median"],
            "smallest flip, pixels (L2) median": float(np.median(best[np.isfinite(best)])),
            "clipping moved the step": rep["clipped"]["clip_active"],
        }
        for row in lin[side]["archs"][0]["rows"]:
            out[side][f"gradient change at r = {row['r']:.3g} ||x||"] = row["mean_change"]["median"] \
                if isinstance(row["mean_change"], dict) else row["mean_change"]
    names = list(out["given"])
    w = max(map(len, names))
    print(f"{'':{w}}  {'trained':>10}  {'at init':>10}")
    for k in names:
        print(f"{k:{w}}  {out['given'][k]:10.4g}  {out['init'][k]:10.4g}")
    return out


if __name__ == "__main__":
    main()
    sys.exit(0)
