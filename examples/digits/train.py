"""Train a small MLP on scikit-learn's 8x8 digits and save it for radex (MATH 10).

The network is a torch.nn.Sequential of Linear layers in PyTorch's layout (`{n}.weight` of
shape (out, in), `{n}.bias`), written as safetensors with the activation in the metadata
(`radex.activation`), so `radex attack --model digits.safetensors` reads it as it would a
PyTorch model. Training is plain numpy (full-batch Adam on the cross-entropy), a few seconds.

    python examples/digits/train.py --out target/digits
    radex attack --model target/digits/digits.safetensors --inputs target/digits/test.npy \
        --input box --attack all --compare-init

Inputs are the 64 pixel intensities scaled to [0, 1] (the box of MATH 9), so attacks clip to
the pixel range. Writes digits.safetensors, test.npy (the held-out digits, one per row) and
test_labels.npy, and prints the test accuracy.

Needs: numpy, scikit-learn (the data set ships inside it: no download), safetensors.
"""

import argparse
import os
import sys

import numpy as np


def init_layers(sizes, rng):
    """He-style weights N(0, 1/fan_in) and zero biases, in (out, in) layout."""
    return [
        (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), np.zeros(n_out))
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]


def forward(layers, x):
    """Activations of every layer (tanh hidden layers, linear output), x of shape (n, d)."""
    hs = [x]
    for i, (w, b) in enumerate(layers):
        z = hs[-1] @ w.T + b
        hs.append(z if i == len(layers) - 1 else np.tanh(z))
    return hs


def train(layers, x, y, epochs, lr):
    """Full-batch Adam on the softmax cross-entropy."""
    m = [(np.zeros_like(w), np.zeros_like(b)) for w, b in layers]
    v = [(np.zeros_like(w), np.zeros_like(b)) for w, b in layers]
    onehot = np.eye(layers[-1][0].shape[0])[y]
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, epochs + 1):
        hs = forward(layers, x)
        logits = hs[-1] - hs[-1].max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / len(x)
        for i in reversed(range(len(layers))):
            w, b = layers[i]
            gw, gb = g.T @ hs[i], g.sum(axis=0)
            if i > 0:
                g = (g @ w) * (1.0 - hs[i] ** 2)
            for k, (grad, param) in enumerate(((gw, w), (gb, b))):
                m[i][k][...] = b1 * m[i][k] + (1 - b1) * grad
                v[i][k][...] = b2 * v[i][k] + (1 - b2) * grad**2
                mh, vh = m[i][k] / (1 - b1**t), v[i][k] / (1 - b2**t)
                param -= lr * mh / (np.sqrt(vh) + eps)
    return layers


def accuracy(layers, x, y):
    return float((forward(layers, x)[-1].argmax(axis=1) == y).mean())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="target/digits", help="output directory")
    ap.add_argument("--hidden", default="64,64", help="hidden widths")
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test", type=int, default=300, help="held-out digits")
    args = ap.parse_args(argv)

    from safetensors.numpy import save_file
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data / 16.0  # pixel intensities in [0, 1]
    y = digits.target
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    test, fit = order[: args.test], order[args.test :]
    sizes = [x.shape[1]] + [int(w) for w in args.hidden.split(",")] + [10]
    layers = train(init_layers(sizes, rng), x[fit], y[fit], args.epochs, args.lr)
    acc = accuracy(layers, x[test], y[test])

    os.makedirs(args.out, exist_ok=True)
    tensors = {}
    for i, (w, b) in enumerate(layers):
        # Sequential indices of Linear modules with a Tanh between them: 0, 2, 4, ...
        tensors[f"{2 * i}.weight"] = np.ascontiguousarray(w)
        tensors[f"{2 * i}.bias"] = np.ascontiguousarray(b)
    path = os.path.join(args.out, "digits.safetensors")
    save_file(tensors, path, metadata={"radex.activation": "tanh"})
    np.save(os.path.join(args.out, "test.npy"), np.ascontiguousarray(x[test]))
    np.save(os.path.join(args.out, "test_labels.npy"), y[test])
    print(f"arch {','.join(map(str, sizes))}  train {len(fit)}  test {len(test)}  "
          f"test accuracy {acc:.4f}  -> {path}")
    return acc


if __name__ == "__main__":
    sys.exit(0 if main() > 0 else 1)
