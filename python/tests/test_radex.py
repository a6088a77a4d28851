"""The Python package against the CLI: the same dictionaries bit for bit, the same errors,
the same networks, on any thread count. The CLI is the binary the Rust build made
(``RADEX_BIN``, default ``target/release/radex`` of this repository)."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import radex

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("RADEX_BIN", str(REPO / "target" / "release" / "radex"))


def cli(*args):
    out = subprocess.run([BIN, *args], capture_output=True, text=True)
    return out.returncode, out.stdout, out.stderr


def cli_json(*args):
    code, out, err = cli(*args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def as_rows(columns):
    """``per_trial`` columns back to the CLI's list of records (NaN as None)."""
    keys = list(columns)
    n = len(columns[keys[0]])
    rows = []
    for i in range(n):
        row = {}
        for k in keys:
            v = columns[k][i]
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and np.isnan(v):
                v = None
            row[k] = v
        rows.append(row)
    return rows


CASES = [
    ("attack", dict(arch="300,200,200", trials=12, attack="all", per_trial=True),
     ["--arch", "300,200,200", "--trials", "12", "--attack", "all", "--per-trial"]),
    ("attack", dict(arch="80,60,60", trials=8, attack="pgd", eps=[0.3, 0.1], pgd_steps=3,
                    per_trial=True, precision="f32", sampler="lazy", seed=7),
     ["--arch", "80,60,60", "--trials", "8", "--attack", "pgd", "--eps", "0.3,0.1",
      "--pgd-steps", "3", "--per-trial", "--precision", "f32", "--sampler", "lazy",
      "--seed", "7"]),
    ("attack", dict(arch="120,100,100", trials=6, attack="all", norm="linf", per_trial=True,
                    input="box"),
     ["--arch", "120,100,100", "--trials", "6", "--attack", "all", "--norm", "linf",
      "--per-trial", "--input", "box"]),
    ("scaling", dict(ds=[64, 32], trials=10, bootstrap=50),
     ["--ds", "64,32", "--trials", "10", "--bootstrap", "50"]),
    ("linearity", dict(arch=["200,200,200", "200,200,20,200"], trials=2, directions=3,
                       radii="0.01,0.1"),
     ["--arch", "200,200,200", "--arch", "200,200,20,200", "--trials", "2", "--directions",
      "3", "--radii", "0.01,0.1"]),
    ("bottleneck", dict(arch="300,300,30,300", trials=2, samples=4),
     ["--arch", "300,300,30,300", "--trials", "2", "--samples", "4"]),
    ("depth", dict(width=32, depths=[1, 8], trials=3, pairs=3),
     ["--width", "32", "--depths", "1,8", "--trials", "3", "--pairs", "3"]),
    ("depth", dict(width=16, depths="2,5", trials=2, pairs=2, act="tanh", sigma_b=0.3),
     ["--width", "16", "--depths", "2,5", "--trials", "2", "--pairs", "2", "--act", "tanh",
      "--sigma-b", "0.3"]),
    ("phase", dict(sigma_w2=[1.0, 3.0], sigma_b="0,0.5", depth=4, width=16, trials=3, seed=2),
     ["--sigma-w2", "1,3", "--sigma-b", "0,0.5", "--depth", "4", "--width", "16", "--trials",
      "3", "--seed", "2"]),
    ("minpert", dict(d=300, ks=[20, 300, 450], runs=3),
     ["--d", "300", "--ks", "20,300,450", "--runs", "3"]),
    ("minpert", dict(d=300, ks="20,299", runs=3, method="qr"),
     ["--d", "300", "--ks", "20,299", "--runs", "3", "--method", "qr"]),
]


@pytest.mark.parametrize("name,kwargs,flags", CASES)
def test_every_function_equals_the_cli_json_bitwise(name, kwargs, flags):
    got = getattr(radex, name)(**kwargs)
    want = cli_json(name, *flags)
    if "per_trial" in want:
        assert as_rows(got.pop("per_trial")) == want.pop("per_trial")
    assert got == want


def test_defaults_are_the_cli_defaults():
    # Small enough to run at the defaults.
    assert radex.bottleneck(trials=1, arch="200,200,20,200") == cli_json(
        "bottleneck", "--trials", "1", "--arch", "200,200,20,200"
    )
    code, out, _ = cli("attack", "--help")
    assert code == 0
    import inspect

    sig = inspect.signature(radex.attack)
    assert f"[default: {sig.parameters['arch'].default}]" in out
    # trials: None is 100, or one trial per row of given inputs.
    assert sig.parameters["trials"].default is None
    assert f"[default: {radex._D['attack']['trials']}]" in out
    assert f"[default: {sig.parameters['pgd_steps'].default}]" in out


def test_per_trial_columns_are_numpy_arrays():
    r = radex.attack(arch="500,500,500", trials=20, per_trial=True)
    cols = r["per_trial"]
    assert cols["rho"].dtype == np.float64 and cols["rho"].shape == (20,)
    assert cols["success"].dtype == bool
    assert cols["trial"].dtype == np.int64
    assert list(cols["trial"]) == list(range(20))


def test_no_result_depends_on_the_thread_count():
    for name, kwargs, _ in CASES:
        one = getattr(radex, name)(**kwargs, threads=1)
        two = getattr(radex, name)(**kwargs, threads=2)
        if "per_trial" in one:
            assert as_rows(one.pop("per_trial")) == as_rows(two.pop("per_trial"))
        assert one == two, name


@pytest.mark.parametrize(
    "call,flags",
    [
        (lambda: radex.attack(arch="100,0"), ["attack", "--arch", "100,0"]),
        (lambda: radex.attack(trials=0), ["attack", "--trials", "0"]),
        (lambda: radex.attack(attack="fgsm"), None),
        (lambda: radex.attack(norm="linf"), ["attack", "--norm", "linf"]),
        (lambda: radex.scaling(ds=[16, 16, 32]), ["scaling", "--ds", "16,16,32"]),
        (lambda: radex.minpert(ks="10,0"), ["minpert", "--ks", "10,0"]),
        (lambda: radex.depth(init="nn"), ["depth", "--init", "nn"]),
        (lambda: radex.linearity(directions=0), ["linearity", "--directions", "0"]),
        (lambda: radex.attack(arch="1000,1000", max_memory="1M", sampler="dense"),
         ["attack", "--arch", "1000,1000", "--max-memory", "1M", "--sampler", "dense"]),
    ],
)
def test_bad_input_raises_the_cli_message(call, flags):
    with pytest.raises(radex.InputError) as e:
        call()
    assert isinstance(e.value, ValueError)
    msg = str(e.value)
    assert "\n" not in msg
    if flags is not None:
        code, out, err = cli(*flags)
        assert code == 2 and out == ""
        assert err.strip() == f"radex: error: {msg}"


def test_network_weights_round_trip_and_match_radex_export(tmp_path):
    net = radex.Network.sample(arch="60,40,30", seed=3, trial=2)
    assert (net.arch, net.d, net.widths) == ("60,40,30", 60, [40, 30])
    code, _, err = cli("export", "--arch", "60,40,30", "--seed", "3", "--trial", "2",
                       "--out", str(tmp_path / "e"))
    assert code == 0, err
    ws = net.weights()
    assert [w.shape for w in ws] == [(40, 60), (30, 40), (1, 30)]
    for i, w in enumerate(ws, 1):
        assert np.array_equal(w, np.load(tmp_path / "e" / f"W{i}.npy"))
    x = np.load(tmp_path / "e" / "x.npy")
    manifest = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert net.forward(x[None, :])[0] == manifest["f"]
    assert np.linalg.norm(net.grad(x[None, :])[0]) == pytest.approx(
        manifest["grad_norm"], rel=1e-14
    )
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 60))
    for order in ("C", "F"):
        back = radex.Network.from_weights([np.asarray(w, order=order) for w in ws])
        assert np.array_equal(back.forward(X), net.forward(X))
        assert np.array_equal(back.grad(X), net.grad(X))
    f32 = radex.Network.from_weights([w.astype(np.float32) for w in ws])
    assert f32.precision == "f32"
    assert np.allclose(f32.forward(X), net.forward(X), rtol=1e-4, atol=1e-5)


def test_grad_is_exact_against_numpy():
    net = radex.Network.sample(arch="30,20,20", seed=5)
    W = net.weights()
    X = np.random.default_rng(1).standard_normal((5, 30))
    for x, g in zip(X, net.grad(X)):
        h, masks = x, []
        for Wi in W[:-1]:
            z = Wi @ h
            masks.append(z > 0)
            h = np.maximum(z, 0)
        v = W[-1][0]
        for Wi, m in zip(reversed(W[:-1]), reversed(masks)):
            v = Wi.T @ (v * m)
        assert np.allclose(g, v, rtol=1e-12, atol=1e-14)
    assert np.allclose(
        net.forward(X), [np.maximum(W[1] @ np.maximum(W[0] @ x, 0), 0) @ W[2][0] for x in X],
        rtol=1e-12,
    )


def test_network_input_errors():
    net = radex.Network.sample(arch="30,20,20", seed=5)
    with pytest.raises(radex.InputError):
        net.forward(np.zeros((2, 31)))
    with pytest.raises(radex.InputError):
        net.forward(np.full((1, 30), np.nan))
    # K = 2 output rows are a network of two outputs (MATH 9); biases must match the widths.
    assert radex.Network.from_weights([np.zeros((20, 30)), np.zeros((2, 20))]).outputs == 2
    with pytest.raises(radex.InputError):
        radex.Network.from_weights([np.zeros((20, 30)), np.zeros((1, 20))],
                                   [np.zeros(20), np.zeros(2)])
    with pytest.raises(radex.InputError):
        radex.Network.from_weights([np.zeros((20, 30)), np.zeros((1, 20))], act="sigmoid")
    with pytest.raises(radex.InputError):
        radex.Network.from_weights([np.zeros((20, 30)), np.zeros((1, 19))])
    with pytest.raises(radex.InputError):
        radex.Network.sample(arch="30,20", sampler="lazy").weights()
    with pytest.raises(radex.InputError):
        radex.Network.sample(arch="30,0")


def test_a_given_network_is_measured_at_every_trials_input():
    # Trial 0 of a sampled run attacks the network of (seed, 0) at the input of (seed, 0):
    # giving that very network reproduces its record, and the other trials attack it at
    # their own inputs.
    kw = dict(trials=3, seed=4, attack="all", per_trial=True)
    sampled = radex.attack(arch="120,80,80", sampler="dense", **kw)
    net = radex.Network.sample(arch="120,80,80", seed=4, trial=0)
    given = radex.attack(network=net, **kw)
    assert given["network"] == "given" and "network" not in sampled
    rows_s, rows_g = as_rows(sampled["per_trial"]), as_rows(given["per_trial"])
    assert rows_g[0] == rows_s[0]
    assert rows_g[1]["f"] != rows_s[1]["f"]
    lin = radex.linearity(network=net, trials=2, directions=2, radii=[0.01])
    assert lin["network"] == "given" and [a["arch"] for a in lin["archs"]] == ["120,80,80"]
    bot = radex.bottleneck(network=net, trials=2, samples=2)
    assert bot["network"] == "given" and bot["arch"] == "120,80,80"
    with pytest.raises(radex.InputError):
        radex.attack(network=net, arch="10,10")
    with pytest.raises(radex.InputError):
        radex.attack(network=radex.Network.sample(arch="30,20", sampler="lazy"))


def test_reproduce_quick_writes_the_report_and_returns_its_results(tmp_path):
    out = tmp_path / "rep"
    r = radex.reproduce(out=str(out), quick=True, seed=2)
    assert r["command"] == "reproduce" and r["seed"] == 2
    on_disk = json.loads((out / "results.json").read_text())
    assert r == on_disk
    code, _, err = cli("reproduce", "--quick", "--seed", "2", "--out", str(tmp_path / "cli"))
    assert code in (0, 1), err
    from_cli = json.loads((tmp_path / "cli" / "results.json").read_text())
    r.pop("seconds")
    from_cli.pop("seconds")
    assert r == from_cli
    with pytest.raises(radex.InputError):
        radex.reproduce(out=str(out), quick=True, full=True)
    (out / "mine.txt").write_text("keep")
    with pytest.raises(radex.InputError):
        radex.reproduce(out=str(out), quick=True)
    assert (out / "mine.txt").read_text() == "keep"


def test_progress_is_reported_to_a_callable():
    calls = []
    r = radex.attack(arch="60,40,40", trials=30, progress=lambda *a: calls.append(a))
    assert r["trials"] == 30
    assert calls and calls[-1] == ("attack", 30, 30)
    assert all(what == "attack" and 0 < done <= total == 30 for what, done, total in calls)
    # The same numbers with or without it.
    assert r == radex.attack(arch="60,40,40", trials=30)
    with pytest.raises(radex.InputError):
        radex.attack(arch="60,40,40", trials=3, progress=42)


# ---- Networks and inputs a user brings (MATH 10).


def _tanh_net(tmp_path, k=2):
    """A small tanh network with biases and k outputs, saved as npz, and inputs as .npy."""
    rng = np.random.default_rng(7)
    dims = [12, 16, 16, k]
    Ws = [rng.standard_normal((o, i)) * np.sqrt(2.0 / i) for i, o in zip(dims, dims[1:])]
    bs = [0.1 * rng.standard_normal(o) for o in dims[1:]]
    np.savez(tmp_path / "m.npz", **{f"W{i}": w for i, w in enumerate(Ws, 1)},
             **{f"b{i}": b for i, b in enumerate(bs, 1)})
    X = rng.standard_normal((6, 12))
    np.save(tmp_path / "x.npy", X)
    return Ws, bs, X


def test_brought_attack_on_an_npz_model_with_biases_and_tanh_equals_the_cli(tmp_path):
    _tanh_net(tmp_path)
    m, x = str(tmp_path / "m.npz"), str(tmp_path / "x.npy")
    got = radex.attack(model=m, act="tanh", inputs=x, attack="all", per_trial=True)
    want = cli_json("attack", "--model", m, "--act", "tanh", "--inputs", x, "--attack", "all",
                    "--per-trial")
    assert as_rows(got.pop("per_trial")) == want.pop("per_trial")
    assert got == want
    assert (got["network"], got["model"], got["model_format"], got["inputs"], got["trials"]) == (
        "given", "m.npz", "npz", "x.npy", 6)


def test_brought_from_weights_and_array_inputs_equal_the_file_run(tmp_path):
    Ws, bs, X = _tanh_net(tmp_path)
    m, x = str(tmp_path / "m.npz"), str(tmp_path / "x.npy")
    want = cli_json("attack", "--model", m, "--act", "tanh", "--inputs", x, "--per-trial")
    for k in ("model", "model_format"):
        want.pop(k)
    net = radex.Network.from_weights(Ws, bs, act="tanh")
    assert (net.outputs, net.act, net.arch) == (2, "tanh", "12,16,16")
    from_file = radex.Network.load(m, act="tanh")
    assert np.array_equal(from_file.forward(X), net.forward(X))
    for inputs, source in [(x, "x.npy"), (X, "array"), (np.asfortranarray(X), "array")]:
        got = radex.attack(network=net, inputs=inputs, per_trial=True)
        assert got.pop("inputs") == source
        want_rows = want["per_trial"]
        assert as_rows(got.pop("per_trial")) == want_rows
        assert got == {k: v for k, v in want.items() if k not in ("inputs", "per_trial")}


def test_brought_compare_init_equals_the_cli(tmp_path):
    _tanh_net(tmp_path)
    m, x = str(tmp_path / "m.npz"), str(tmp_path / "x.npy")
    got = radex.attack(model=m, act="tanh", inputs=x, compare_init=True, sigma_w2=1.5)
    want = cli_json("attack", "--model", m, "--act", "tanh", "--inputs", x, "--compare-init",
                    "--sigma-w2", "1.5")
    assert got == want
    assert set(got) == {"command", "version", "math", "given", "init"}
    init = radex.attack(arch="12,16,16", act="tanh", outputs=2, inputs=x, sigma_w2=1.5)
    assert got["init"] == init


def test_brought_forward_and_margin_grad_against_numpy(tmp_path):
    Ws, bs, X = _tanh_net(tmp_path, k=3)
    net = radex.Network.from_weights(Ws, bs, act="tanh")
    F = net.forward(X)
    assert F.shape == (6, 3)
    for x, f, g in zip(X, F, net.grad(X)):
        h, ds = x, []
        for W, b in zip(Ws[:-1], bs[:-1]):
            z = W @ h + b
            ds.append(1 - np.tanh(z) ** 2)
            h = np.tanh(z)
        out = Ws[-1] @ h + bs[-1]
        assert np.allclose(f, out, rtol=1e-12, atol=1e-14)
        y = int(np.argmax(out))
        j = int(np.argsort(out)[-2])
        v = Ws[-1][y] - Ws[-1][j]
        for W, dd in zip(reversed(Ws[:-1]), reversed(ds)):
            v = W.T @ (v * dd)
        assert np.allclose(g, v, rtol=1e-10, atol=1e-13)
    one = radex.Network.from_weights([W.astype(np.float32) for W in Ws[:-1]] +
                                     [Ws[-1][:1].astype(np.float32)])
    assert one.precision == "f32" and one.forward(X).shape == (6,)
    s = radex.Network.sample(arch="12,16", act="tanh", sigma_w2=1.5, sigma_b=0.1, outputs=4,
                             seed=2)
    assert (s.outputs, s.act) == (4, "tanh") and s.forward(X).shape == (6, 4)


def test_brought_bad_inputs_raise_the_cli_message(tmp_path):
    _tanh_net(tmp_path)
    m, x = str(tmp_path / "m.npz"), str(tmp_path / "x.npy")
    for call, flags in [
        (lambda: radex.attack(model=m), ["attack", "--model", m]),
        (lambda: radex.attack(model=m, act="tanh", inputs=x, trials=7),
         ["attack", "--model", m, "--act", "tanh", "--inputs", x, "--trials", "7"]),
        (lambda: radex.attack(model=m, act="tanh", outputs=2),
         ["attack", "--model", m, "--act", "tanh", "--outputs", "2"]),
        (lambda: radex.attack(model=m, act="tanh", inputs=x, input="box"),
         ["attack", "--model", m, "--act", "tanh", "--inputs", x, "--input", "box"]),
    ]:
        with pytest.raises(radex.InputError) as e:
            call()
        code, out, err = cli(*flags)
        assert code == 2 and err.strip() == f"radex: error: {e.value}"
    with pytest.raises(radex.InputError):
        radex.attack(model=m, act="tanh", inputs=np.zeros((2, 5)))


def test_brought_linearity_and_bottleneck_with_model_and_compare_init_equal_the_cli(tmp_path):
    _tanh_net(tmp_path)
    m = str(tmp_path / "m.npz")
    got = radex.linearity(model=m, act="tanh", compare_init=True, trials=2, directions=2,
                          radii=[0.01])
    assert got == cli_json("linearity", "--model", m, "--act", "tanh", "--compare-init",
                           "--trials", "2", "--directions", "2", "--radii", "0.01")
    got = radex.bottleneck(model=m, act="tanh", trials=2, samples=2)
    assert got == cli_json("bottleneck", "--model", m, "--act", "tanh", "--trials", "2",
                           "--samples", "2")


def test_brought_linearity_and_bottleneck_take_inputs_as_attack_does(tmp_path):
    Ws, bs, X = _tanh_net(tmp_path)
    m, x = str(tmp_path / "m.npz"), str(tmp_path / "x.npy")
    # trials defaults to one per row, for the given network and its initialisation.
    got = radex.linearity(model=m, act="tanh", inputs=x, compare_init=True, directions=2,
                          radii=[0.01, 0.1])
    assert got == cli_json("linearity", "--model", m, "--act", "tanh", "--inputs", x,
                           "--compare-init", "--directions", "2", "--radii", "0.01,0.1")
    for side in ("given", "init"):
        assert (got[side]["inputs"], got[side]["trials"]) == ("x.npy", 6)
    # A path or an array: the same numbers.
    want = cli_json("bottleneck", "--model", m, "--act", "tanh", "--inputs", x, "--trials", "4",
                    "--samples", "2")
    net = radex.Network.from_weights(Ws, bs, act="tanh")
    for inputs, source in [(x, "x.npy"), (X, "array")]:
        got = radex.bottleneck(network=net, inputs=inputs, trials=4, samples=2)
        assert got.pop("inputs") == source
        assert got == {k: v for k, v in want.items() if k != "inputs"}
    # One input of shape (d,) is one row.
    assert radex.bottleneck(network=net, inputs=X[0], samples=2)["trials"] == 1
    for call, flags in [
        (lambda: radex.linearity(model=m, act="tanh", inputs=x, trials=7),
         ["linearity", "--model", m, "--act", "tanh", "--inputs", x, "--trials", "7"]),
        (lambda: radex.bottleneck(arch="12,16", inputs=x, input="gauss"),
         ["bottleneck", "--arch", "12,16", "--inputs", x, "--input", "gauss"]),
    ]:
        with pytest.raises(radex.InputError) as e:
            call()
        code, out, err = cli(*flags)
        assert code == 2 and err.strip() == f"radex: error: {e.value}"
    for bad in (np.zeros((2, 5)), np.full((2, 12), np.nan)):
        with pytest.raises(radex.InputError, match="'--inputs'"):
            radex.bottleneck(network=net, inputs=bad)
    with pytest.raises(radex.InputError, match="'--trials'"):
        radex.linearity(network=net, inputs=X, trials=0)


# Bad inputs to the Python front: every one a radex.InputError naming the argument, before any
# work or copy.

FLOAT_DTYPES = "expected a numpy array of float64, float32 or float16"


def _two_layers(rng=np.random.default_rng(3)):
    return [rng.standard_normal((6, 4)), rng.standard_normal((1, 6))]


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64, np.int64, np.int32, np.bool_,
                                   object, np.uint8, np.longdouble])
def test_from_weights_refuses_a_non_float_dtype_naming_the_argument_index_and_dtype(dtype):
    if dtype is np.longdouble and np.dtype(np.longdouble).itemsize == 8:
        pytest.skip("long double is float64 here")
    W1, W2 = _two_layers()
    bad = (W1 + 1j * W1 if np.dtype(dtype).kind == "c" else W1).astype(dtype)
    name = np.dtype(dtype).name
    with pytest.raises(radex.InputError) as e:
        radex.Network.from_weights([W1, W2.astype(dtype)])
    msg = str(e.value)
    assert "'weights[1]'" in msg and f"'{name}'" in msg and FLOAT_DTYPES in msg, msg
    assert "\n" not in msg
    with pytest.raises(radex.InputError, match=r"'weights\[0\]'.*" + FLOAT_DTYPES):
        radex.Network.from_weights([bad, W2])
    b = [np.zeros(6), np.zeros(1)]
    with pytest.raises(radex.InputError, match=r"'biases\[0\]'.*" + FLOAT_DTYPES):
        radex.Network.from_weights([W1, W2], [b[0].astype(dtype), b[1]])


def test_from_weights_keeps_every_float_dtype_exact():
    W1, W2 = _two_layers()
    X = np.random.default_rng(4).standard_normal((3, 4))
    want = radex.Network.from_weights([W1.astype(np.float16).astype(np.float64), W2])
    got = radex.Network.from_weights([W1.astype(np.float16), W2])
    assert got.precision == "f64" and np.array_equal(got.forward(X), want.forward(X))
    # Big-endian and strided views are read as their values.
    got = radex.Network.from_weights([W1.astype(">f8"), np.asfortranarray(W2)[:, ::1]])
    assert np.array_equal(got.forward(X), radex.Network.from_weights([W1, W2]).forward(X))
    assert radex.Network.from_weights([W1.astype(np.float32), W2.astype(np.float32)]).precision \
        == "f32"


@pytest.mark.parametrize("weights, what, where", [
    (None, "None", "'weights'"),
    ("W1,W2", "str", "'weights'"),
    (3, "int", "'weights'"),
    ([[[1.0, 2.0]], [[1.0]]], "list", r"'weights\[0\]'"),
    ([np.ones((2, 2)), [[1.0, 1.0]]], "list", r"'weights\[1\]'"),
    ([np.ones((2, 2)), None], "None", r"'weights\[1\]'"),
])
def test_from_weights_refuses_what_is_not_a_list_of_arrays(weights, what, where):
    with pytest.raises(radex.InputError, match=f"invalid value '{what}' for {where}: expected"):
        radex.Network.from_weights(weights)


def test_from_weights_refuses_biases_that_are_not_a_list_of_arrays():
    W1, W2 = _two_layers()
    for biases, what, where in [("b", "str", "'biases'"), ([[0.0] * 6, np.zeros(1)], "list",
                                                          r"'biases\[0\]'")]:
        with pytest.raises(radex.InputError, match=f"invalid value '{what}' for {where}"):
            radex.Network.from_weights([W1, W2], biases)


def test_from_weights_checks_memory_from_the_shapes_before_any_copy():
    # 8 TB as a broadcast view of one float: more than any machine has available, so the
    # default limit (MemAvailable) refuses it; the old code began a copy of it.
    huge = np.broadcast_to(np.float64(0.5), (1_000_000, 1_000_000))
    with pytest.raises(radex.InputError, match="'weights'.*estimated peak memory") as e:
        radex.Network.from_weights([huge, np.ones((1, 1_000_000))])
    assert "\n" not in str(e.value)
    # 74.5 GiB, over a given limit.
    big = np.broadcast_to(np.float32(0.5), (100_000, 100_000))
    with pytest.raises(radex.InputError, match="'weights'.*exceeds the 1.00 GiB available"):
        radex.Network.from_weights([big, np.ones((1, 100_000), np.float32)], max_memory="1G")
    with pytest.raises(radex.InputError, match="'--max-memory'"):
        radex.Network.from_weights(_two_layers(), max_memory="lots")
    # Under the limit it is built, from a broadcast view too.
    small = np.broadcast_to(np.float64(0.5), (300, 200))
    net = radex.Network.from_weights([small, np.ones((1, 300))], max_memory="1G")
    assert net.arch == "200,300" and np.array_equal(net.weights()[0], small)


@pytest.mark.parametrize("bad, what", [
    (np.ones((2, 12), dtype=np.int64), "int64"),
    (np.ones((2, 12), dtype=np.bool_), "bool"),
    (np.ones((2, 12), dtype=np.complex128), "complex128"),
    (np.ones((2, 12), dtype=object), "object"),
    ([[1] * 12], "list of int64"),
    ([["1.5"] * 12], "list of <U3"),
    ([[1.0] * 12, [1.0]], "list"),
    ({"x": 1}, "dict"),
])
def test_array_inputs_must_be_float(tmp_path, bad, what):
    Ws, bs, X = _tanh_net(tmp_path)
    net = radex.Network.from_weights(Ws, bs, act="tanh")
    for call in (radex.attack, radex.linearity, radex.bottleneck):
        with pytest.raises(radex.InputError) as e:
            call(network=net, inputs=bad)
        msg = str(e.value)
        assert msg.startswith(f"invalid value '{what}' for '--inputs': expected"), msg
        assert "\n" not in msg
    # Float arrays of each width, and lists of floats, are read as their values.
    want = radex.attack(network=net, inputs=X)
    for ok in (X.astype(np.float32).astype(np.float64), X.astype(np.float16)):
        assert radex.attack(network=net, inputs=ok) == radex.attack(
            network=net, inputs=ok.astype(np.float64))
    assert radex.attack(network=net, inputs=X.tolist()) == want


def test_a_raising_progress_function_stops_the_run_and_its_exception_is_raised():
    class Stop(Exception):
        pass

    calls = []

    def progress(what, done, total):
        calls.append(done)
        raise Stop("from the callback")

    for threads in (1, 2):
        calls.clear()
        with pytest.raises(Stop, match="from the callback"):
            radex.attack(arch="40,40,40", trials=5000, threads=threads, progress=progress)
        assert len(calls) == 1, calls
    # Not raising: called to the end, and the same result as without it.
    seen = []
    r = radex.attack(arch="40,40,40", trials=300, progress=lambda *a: seen.append(a))
    assert seen[-1] == ("attack", 300, 300) and r == radex.attack(arch="40,40,40", trials=300)


def test_ctrl_c_stops_a_run_promptly():
    import signal
    import sys
    import time

    # A run of minutes; Ctrl-C one second in must end it within seconds.
    code = (
        "import sys, radex\n"
        "print('started', flush=True)\n"
        "radex.attack(arch='300,300,300', trials=10**7, threads=1, progress=None)\n"
        "print('finished', flush=True)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "started"
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        t = time.monotonic()
        out, err = p.communicate(timeout=20)
        took = time.monotonic() - t
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "KeyboardInterrupt" in err and "finished" not in out, err
    assert p.returncode != 0 and took < 5, took
