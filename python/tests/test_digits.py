"""The worked example of MATH 10 end to end (examples/digits): a small MLP trained with numpy
on scikit-learn's 8x8 digits (shipped inside the package: no download), saved as safetensors
in PyTorch's Sequential layout, measured by radex beside its random initialisation."""

import importlib.util
import pathlib

import numpy as np

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "digits"


def load(name):
    spec = importlib.util.spec_from_file_location(f"digits_{name}", EXAMPLE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_digits_example_trains_saves_and_is_measured(tmp_path):
    acc = load("train").main(["--out", str(tmp_path), "--epochs", "150"])
    # 150 full-batch Adam steps reach 0.97 on the 300 held-out digits (seed 0).
    assert acc >= 0.9
    out = load("measure").main(["--dir", str(tmp_path)])
    given, init = out["given"], out["init"]
    # radex's labels are the argmax of its exact forward pass of the saved weights: the same
    # accuracy the numpy training script computed.
    assert given["accuracy"] == acc
    # What an attack leaves never exceeds the accuracy, and shrinks with the budget.
    assert 0.0 <= given["kept (clipped one step)"] <= acc
    kept = [given[f"kept at L2 budget {e}"] for e in (0.5, 1.0, 2.0)]
    assert acc >= kept[0] >= kept[1] >= kept[2] >= 0.0
    # The one step flips far more than it keeps: success is the rule (MATH 3).
    assert given["kept (clipped one step)"] < 0.5
    for side in (given, init):
        assert side["smallest flip rho*sqrt(d) median"] <= side["one-step rho*sqrt(d) median"]
        changes = [v for k, v in side.items() if k.startswith("gradient change")]
        assert len(changes) > 3 and all(np.isfinite(changes))
