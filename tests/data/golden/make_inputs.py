"""The input files of the golden commands (tests/data/golden/v2/inputs), written byte for
byte the same by any Python 3 (stdlib only, integer arithmetic for every value):

  model.npz          W1 (16, 8), b1, W2 (12, 16), b2, W3 (1, 12), b3: float64, C order
  model.safetensors  torch.nn.Sequential state dict 0/2/4 .weight/.bias, float32, 3 outputs,
                     metadata radex.activation = tanh
  inputs.npy         (4, 8) float64 inputs
  *.toml             sweep plans
"""
import json
import os
import struct
import sys
import zipfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

state = [12345]


def uniform():
    """A value in [-1, 1) from a 32-bit LCG, a multiple of 2^-23 (exact in f32 and f64)."""
    state[0] = (state[0] * 1664525 + 1013904223) % (1 << 32)
    return ((state[0] >> 8) - (1 << 23)) / float(1 << 23)


def matrix(rows, cols, scale):
    return [[uniform() * scale for _ in range(cols)] for _ in range(rows)]


def npy(shape, values):
    """An .npy file (format 1.0) of float64 values in C order."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }" % (
        ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "")
    )
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * (pad % 64) + "\n"
    return (
        b"\x93NUMPY\x01\x00"
        + struct.pack("<H", len(header))
        + header.encode("latin1")
        + b"".join(struct.pack("<d", v) for v in values)
    )


def flat(m):
    return [v for row in m for v in row]


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


# model.npz: 8 -> 16 -> 12 -> 1, relu scale (the activation comes from --act).
dims = [8, 16, 12, 1]
with zipfile.ZipFile(os.path.join(out, "model.npz"), "w", zipfile.ZIP_STORED) as z:
    for i in range(1, len(dims)):
        w = matrix(dims[i], dims[i - 1], (2.0 / dims[i - 1]) ** 0.5)
        b = [uniform() * 0.1 for _ in range(dims[i])]
        for key, shape, values in ((f"W{i}", (dims[i], dims[i - 1]), flat(w)), (f"b{i}", (dims[i],), b)):
            info = zipfile.ZipInfo(key + ".npy", date_time=(2020, 1, 1, 0, 0, 0))
            z.writestr(info, npy(shape, values))

# model.safetensors: 8 -> 10 -> 10 -> 3, tanh, float32.
dims = [8, 10, 10, 3]
tensors = []
for i in range(1, len(dims)):
    n = 2 * (i - 1)
    tensors.append((f"{n}.weight", [dims[i], dims[i - 1]], flat(matrix(dims[i], dims[i - 1], (1.5 / dims[i - 1]) ** 0.5))))
    tensors.append((f"{n}.bias", [dims[i]], [uniform() * 0.3 for _ in range(dims[i])]))
header = {"__metadata__": {"radex.activation": "tanh"}}
data = b""
for name, shape, values in tensors:
    raw = b"".join(struct.pack("<f", v) for v in values)
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
text = json.dumps(header, separators=(",", ":"))
text += " " * ((8 - len(text) % 8) % 8)
write("model.safetensors", struct.pack("<Q", len(text)) + text.encode() + data)

# inputs.npy: 4 inputs of dimension 8.
write("inputs.npy", npy((4, 8), flat(matrix(4, 8, 1.0))))

write("sweep-attack.toml", b'''experiment = "attack"
arch = ["40,30,30", "80,30,30"]
init = ["nn", "he"]
attack = "all"
trials = 6
seed = 2
unit_trials = 3
''')
write("sweep-depth.toml", b'''experiment = "depth"
width = 16
depths = "1,4,16"
trials = 4
pairs = 4
seed = [1, 2]
''')
write("sweep-minpert.toml", b'''experiment = "minpert"
d = 200
ks = "5,20,100"
runs = 3
method = ["gram", "qr"]
''')
write("sweep-phase.toml", b'''experiment = "phase"
act = "tanh"
sigma-w2 = "0.5,1.5"
sigma-b = "0,0.3"
depth = 4
width = 12
trials = 3
''')
