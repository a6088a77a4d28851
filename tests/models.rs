//! Networks and inputs a user brings (MATH 10): every format read back exactly, every hostile
//! file refused with one line naming its flag, and a fuzz of arbitrary and mutated files that
//! must never panic.

use std::collections::HashMap;
use std::fmt::Debug;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use radex::act::Act;
use radex::brought::{Weights, load_inputs, load_model};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

const MIB: u128 = 1 << 20;

/// Row-major values of a `rows x cols` test matrix, exact in every float type used here.
fn mat(rows: usize, cols: usize, seed: usize) -> Vec<f64> {
    (0..rows * cols)
        .map(|k| ((k * 7 + seed * 3) % 17) as f64 * 0.25 - 2.0)
        .collect()
}

/// The column-major layout radex keeps of a row-major matrix.
fn col_major(rows: usize, cols: usize, row_major: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[r + c * rows] = row_major[r * cols + c];
        }
    }
    out
}

/// Little-endian bytes of `v` in the safetensors dtype `dtype`.
fn le(dtype: Dtype, v: &[f64]) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| match dtype {
            Dtype::F64 => x.to_le_bytes().to_vec(),
            Dtype::F32 => (x as f32).to_le_bytes().to_vec(),
            Dtype::F16 => half::f16::from_f64(x).to_le_bytes().to_vec(),
            Dtype::BF16 => half::bf16::from_f64(x).to_le_bytes().to_vec(),
            Dtype::I32 => (x as i32).to_le_bytes().to_vec(),
            _ => panic!("no test encoding for {dtype}"),
        })
        .collect()
}

/// A safetensors file of `(name, dtype, shape, bytes)` with optional metadata.
fn st(tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)], meta: Option<(&str, &str)>) -> Vec<u8> {
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (*n, TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let meta = meta.map(|(k, v)| HashMap::from([(k.to_string(), v.to_string())]));
    safetensors::serialize(views, meta).unwrap()
}

/// A safetensors file written by hand from its JSON header and data, for headers the
/// serializer refuses to write.
fn st_raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// An `.npy` array of `shape` whose values, in memory order, are `data`.
fn npy<T: radex::npy::Element>(shape: &[usize], fortran: bool, data: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    radex::npy::write(&mut out, shape, fortran, data).unwrap();
    out
}

/// An `.npy` file with the header dict fields `descr` and `shape` and raw `data`.
fn npy_raw(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = radex::npy::preamble(descr, false, shape);
    out.extend_from_slice(data);
    out
}

/// A matrix as an `.npy` file: f32 or f64, C or Fortran order.
fn npy_mat(rows: usize, cols: usize, row_major: &[f64], fortran: bool, f32: bool) -> Vec<u8> {
    let data = if fortran {
        col_major(rows, cols, row_major)
    } else {
        row_major.to_vec()
    };
    if f32 {
        let d: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        npy(&[rows, cols], fortran, &d)
    } else {
        npy(&[rows, cols], fortran, &data)
    }
}

/// A zip archive of `(name, bytes)` entries.
fn zip(entries: &[(&str, Vec<u8>)], method: CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Asserts that `r` is refused with one line naming `flag` and containing every needle;
/// returns the message.
#[track_caller]
fn refused<T: Debug>(r: radex::Result<T>, flag: &str, needles: &[&str]) -> String {
    let e = r.expect_err("expected a refusal");
    let m = e.to_string();
    assert!(e.is_input(), "{m}");
    assert!(
        m.contains(&format!("'{flag}'")),
        "flag {flag} not named: {m}"
    );
    assert!(!m.contains('\n') && !m.contains('\r'), "not one line: {m}");
    for n in needles {
        assert!(m.contains(n), "'{n}' missing from: {m}");
    }
    m
}

/// Asserts that `w` is a consistent network (what a successful load promises).
fn check(w: &Weights) {
    assert!(w.dims.len() >= 2 && w.dims.len() == w.weights.len());
    let mut all = w.dims.clone();
    all.push(w.outputs);
    assert!(all.iter().all(|&d| d > 0));
    for (i, m) in w.weights.iter().enumerate() {
        assert_eq!(m.len(), all[i] * all[i + 1]);
        assert!(m.iter().all(|v| v.is_finite()));
    }
    if let Some(b) = &w.biases {
        assert_eq!(b.len(), w.weights.len());
        for (i, b) in b.iter().enumerate() {
            assert_eq!(b.len(), all[i + 1]);
            assert!(b.iter().all(|v| v.is_finite()));
        }
    }
}

/// The test network: d = 3, widths 4, 2, and K = 2 outputs.
const SHAPES: [(usize, usize); 3] = [(4, 3), (2, 4), (2, 2)];

/// Its matrices, row-major.
fn matrices() -> Vec<Vec<f64>> {
    SHAPES
        .iter()
        .enumerate()
        .map(|(i, &(r, c))| mat(r, c, i))
        .collect()
}

/// Biases of layers 1 and 3 (none on layer 2).
fn bias(i: usize) -> Vec<f64> {
    (0..SHAPES[i].0).map(|k| k as f64 * 0.5 - 1.0).collect()
}

/// What every test file of the test network must read back as.
fn expected(format: &'static str, act: Option<Act>, with_bias: bool) -> Weights {
    let m = matrices();
    Weights {
        dims: vec![3, 4, 2],
        outputs: 2,
        weights: SHAPES
            .iter()
            .zip(&m)
            .map(|(&(r, c), w)| col_major(r, c, w))
            .collect(),
        biases: with_bias.then(|| vec![bias(0), vec![0.0; 2], bias(2)]),
        act,
        format,
    }
}

/// The test network as a Sequential state dict: Linear modules at 0, 2 and 10 (10 sorts
/// before 2 as text), biases on the first and last.
fn st_net(dtype: Dtype, prefix: &str, meta: Option<(&str, &str)>) -> Vec<u8> {
    let m = matrices();
    let names: Vec<String> = ["0.weight", "0.bias", "2.weight", "10.weight", "10.bias"]
        .iter()
        .map(|n| format!("{prefix}{n}"))
        .collect();
    let t = vec![
        (names[0].as_str(), dtype, vec![4, 3], le(dtype, &m[0])),
        (names[1].as_str(), dtype, vec![4], le(dtype, &bias(0))),
        (names[2].as_str(), dtype, vec![2, 4], le(dtype, &m[1])),
        (names[3].as_str(), dtype, vec![2, 2], le(dtype, &m[2])),
        (names[4].as_str(), dtype, vec![2], le(dtype, &bias(2))),
    ];
    st(&t, meta)
}

/// The test network as an npz archive.
fn npz_net(fortran: bool, f32: bool, method: CompressionMethod) -> Vec<u8> {
    let m = matrices();
    let vec = |v: &[f64]| {
        if f32 {
            npy(
                &[v.len()],
                false,
                &v.iter().map(|&x| x as f32).collect::<Vec<_>>(),
            )
        } else {
            npy(&[v.len()], false, v)
        }
    };
    let entries: Vec<(&str, Vec<u8>)> = vec![
        ("W1.npy", npy_mat(4, 3, &m[0], fortran, f32)),
        ("b1.npy", vec(&bias(0))),
        ("W2.npy", npy_mat(2, 4, &m[1], fortran, f32)),
        ("W3.npy", npy_mat(2, 2, &m[2], fortran, f32)),
        ("b3.npy", vec(&bias(2))),
    ];
    zip(&entries, method)
}

#[test]
fn safetensors_sequential_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for dtype in [Dtype::F32, Dtype::F64, Dtype::F16, Dtype::BF16] {
        let p = write(
            dir.path(),
            "net.safetensors",
            &st_net(dtype, "", Some(("radex.activation", "leaky:0.1"))),
        );
        let w = load_model(&p, MIB).unwrap();
        assert_eq!(
            w,
            expected("safetensors", Some(Act::Leaky(0.1)), true),
            "{dtype}"
        );
    }
    // Found by content under any name; no metadata, no activation.
    let p = write(dir.path(), "weights.bin", &st_net(Dtype::F64, "", None));
    assert_eq!(load_model(&p, MIB).unwrap().act, None);
}

#[test]
fn safetensors_common_prefix_is_accepted_mixed_prefixes_are_not() {
    let dir = tempfile::tempdir().unwrap();
    for prefix in ["net.", "model.layers."] {
        let p = write(
            dir.path(),
            "a.safetensors",
            &st_net(Dtype::F32, prefix, None),
        );
        assert_eq!(
            load_model(&p, MIB).unwrap(),
            expected("safetensors", None, true)
        );
    }
    let m = matrices();
    let t = [
        ("a.0.weight", Dtype::F32, vec![4, 3], le(Dtype::F32, &m[0])),
        ("b.1.weight", Dtype::F32, vec![2, 4], le(Dtype::F32, &m[1])),
    ];
    let p = write(dir.path(), "b.safetensors", &st(&t, None));
    refused(
        load_model(&p, MIB),
        "--model",
        &["a.0.weight", "b.1.weight", "prefix"],
    );
}

#[test]
fn npz_round_trip_in_both_orders_and_types() {
    let dir = tempfile::tempdir().unwrap();
    for fortran in [false, true] {
        for f32 in [false, true] {
            for method in [CompressionMethod::Stored, CompressionMethod::Deflated] {
                let p = write(dir.path(), "net.npz", &npz_net(fortran, f32, method));
                let w = load_model(&p, MIB).unwrap();
                assert_eq!(w, expected("npz", None, true), "{fortran} {f32} {method:?}");
            }
        }
    }
    // Detected by the zip magic under any name.
    let p = write(
        dir.path(),
        "net.data",
        &npz_net(true, false, CompressionMethod::Stored),
    );
    assert_eq!(load_model(&p, MIB).unwrap().format, "npz");
}

#[test]
fn export_directory_round_trip() {
    use radex::arch::{Arch, Init};
    use radex::export_net::{ExportParams, export};
    use radex::scalar::Precision;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net");
    let p = ExportParams {
        arch: Arch::new(6, vec![5, 4], Init::Nn).unwrap(),
        seed: 2,
        trial: 1,
        precision: Precision::F64,
    };
    let (dir, _) = export(&p, &dir).unwrap();
    let w = load_model(&dir, MIB).unwrap();
    check(&w);
    assert_eq!((w.dims.clone(), w.outputs), (vec![6, 5, 4], 1));
    assert_eq!((w.biases.clone(), w.format), (None, "export"));
    // The paper's network: relu, whether or not the manifest says so.
    assert_eq!(w.act.unwrap_or_default(), Act::Relu);
    // W1.npy holds W_1 column-major after its preamble: the same numbers.
    let bytes = std::fs::read(dir.join("W1.npy")).unwrap();
    let pre = radex::npy::preamble("<f8", true, &[5, 6]).len();
    let stored: Vec<f64> = bytes[pre..]
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(w.weights[0], stored);
}

#[test]
fn export_directory_with_biases_and_activation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = matrices();
    let manifest = |shape2: [usize; 2], act: &str| {
        format!(
            r#"{{"command": "export", "files": [{{"name": "W1.npy", "shape": [4, 3]}},
            {{"name": "W2.npy", "shape": [{}, {}]}}, {{"name": "W3.npy", "shape": [2, 2]}},
            {{"name": "b1.npy", "shape": [4]}}, {{"name": "x.npy", "shape": [3]}}]{act}}}"#,
            shape2[0], shape2[1]
        )
    };
    write(
        d,
        "manifest.json",
        manifest([2, 4], r#", "act": "tanh""#).as_bytes(),
    );
    write(d, "W1.npy", &npy_mat(4, 3, &m[0], true, false));
    write(d, "W2.npy", &npy_mat(2, 4, &m[1], false, true));
    write(d, "W3.npy", &npy_mat(2, 2, &m[2], true, false));
    write(d, "b1.npy", &npy(&[4], false, &bias(0)));
    // Not in the manifest, but beside the weights: read too.
    write(d, "b3.npy", &npy(&[2], false, &bias(2)));
    assert_eq!(
        load_model(d, MIB).unwrap(),
        expected("export", Some(Act::Tanh), true)
    );
    // A manifest that disagrees with a file, an unknown activation, a name outside the
    // pattern (no path escapes the directory).
    write(d, "manifest.json", manifest([4, 2], "").as_bytes());
    refused(
        load_model(d, MIB),
        "--model",
        &["'W2.npy'", "(2, 4)", "manifest"],
    );
    write(
        d,
        "manifest.json",
        manifest([2, 4], r#", "act": "swish""#).as_bytes(),
    );
    refused(load_model(d, MIB), "--model", &["swish", "relu"]);
    let evil = r#"{"files": [{"name": "../W1.npy", "shape": [4, 3]}]}"#;
    write(d, "manifest.json", evil.as_bytes());
    refused(load_model(d, MIB), "--model", &["../W1.npy"]);
    write(d, "manifest.json", b"{\"files\": 3}");
    refused(load_model(d, MIB), "--model", &["manifest"]);
    std::fs::remove_file(d.join("manifest.json")).unwrap();
    refused(load_model(d, MIB), "--model", &["manifest.json"]);
}

#[test]
fn inputs_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let rows = mat(5, 3, 1);
    let want: Vec<Vec<f64>> = rows.chunks(3).map(<[f64]>::to_vec).collect();
    for fortran in [false, true] {
        for f32 in [false, true] {
            let p = write(dir.path(), "x.npy", &npy_mat(5, 3, &rows, fortran, f32));
            assert_eq!(load_inputs(&p, 3, MIB).unwrap(), want);
        }
    }
    let p = write(dir.path(), "x.npy", &npy(&[3], false, &[1.0f64, 2.0, 3.0]));
    assert_eq!(load_inputs(&p, 3, MIB).unwrap(), [[1.0, 2.0, 3.0]]);
}

#[test]
fn inputs_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = "--inputs";
    let p = write(d, "x.npy", &npy_mat(5, 4, &mat(5, 4, 0), false, false));
    refused(
        load_inputs(&p, 3, MIB),
        f,
        &["4 entries", "dimension is 3", "(5, 3)"],
    );
    let p = write(d, "x.npy", &npy(&[7], false, &[0.0f64; 7]));
    refused(load_inputs(&p, 3, MIB), f, &["7 entries", "dimension is 3"]);
    let p = write(d, "x.npy", &npy(&[2, 3, 1], false, &[0.0f64; 6]));
    refused(load_inputs(&p, 3, MIB), f, &["(2, 3, 1)", "(n, 3)"]);
    let p = write(d, "x.npy", &npy_raw("<i4", &[2, 3], &[0; 24]));
    refused(load_inputs(&p, 3, MIB), f, &["<i4", "float64"]);
    let p = write(d, "x.npy", &npy_raw("<f8", &[0, 3], &[]));
    refused(load_inputs(&p, 3, MIB), f, &["zero dimension"]);
    for (bad, at) in [(f64::NAN, "[1, 0]"), (f64::INFINITY, "[1, 0]")] {
        let mut v = mat(2, 3, 0);
        v[3] = bad;
        let p = write(d, "x.npy", &npy(&[2, 3], false, &v));
        refused(load_inputs(&p, 3, MIB), f, &["non-finite", at]);
    }
    let p = write(d, "x.npy", &npy_raw("<f8", &[1 << 62], &[0; 64]));
    refused(load_inputs(&p, 3, MIB), f, &["element count"]);
    let mut wrong = npy(&[3], false, &[1.0f64; 3]);
    wrong[1] = b'X';
    let p = write(d, "x.npy", &wrong);
    refused(load_inputs(&p, 3, MIB), f, &["magic"]);
    let p = write(d, "x.npy", &npy(&[100, 3], false, &[1.0f64; 300]));
    refused(load_inputs(&p, 3, 1000), f, &["memory limit"]);
    refused(load_inputs(d, 3, MIB), f, &["not a regular file"]);
    refused(
        load_inputs(&d.join("none.npy"), 3, MIB),
        f,
        &["cannot read"],
    );
}

/// Every prefix of a valid file is refused, never a panic.
#[test]
fn truncated_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("t.safetensors", st_net(Dtype::F32, "", None)),
        ("t.npz", npz_net(false, false, CompressionMethod::Deflated)),
        ("t.npz", npz_net(true, true, CompressionMethod::Stored)),
    ];
    for (name, bytes) in &files {
        let n = bytes.len();
        for cut in [0, 1, 4, 7, 8, 9, 30, n / 3, n / 2, n - 30, n - 2, n - 1] {
            let p = write(dir.path(), name, &bytes[..cut]);
            refused(load_model(&p, MIB), "--model", &[]);
        }
    }
    let x = npy(&[2, 3], false, &[1.0f64; 6]);
    for cut in [0, 1, 6, 8, 9, 10, 64, x.len() - 1] {
        let p = write(dir.path(), "x.npy", &x[..cut]);
        refused(load_inputs(&p, 3, MIB), "--inputs", &[]);
    }
    // A truncated array inside an export directory.
    let d = dir.path().join("export");
    std::fs::create_dir(&d).unwrap();
    let m = matrices();
    write(
        &d,
        "manifest.json",
        br#"{"files": [{"name": "W1.npy", "shape": [4, 3]}, {"name": "W2.npy", "shape": [2, 4]}]}"#,
    );
    write(&d, "W1.npy", &npy_mat(4, 3, &m[0], true, false));
    let w2 = npy_mat(2, 4, &m[1], true, false);
    write(&d, "W2.npy", &w2[..w2.len() - 3]);
    refused(load_model(&d, MIB), "--model", &["'W2.npy'", "truncated"]);
}

#[test]
fn wrong_magic_and_unknown_formats_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut bad = npz_net(false, false, CompressionMethod::Stored);
    bad[0] = b'Q';
    refused(
        load_model(&write(d, "a.npz", &bad), MIB),
        "--model",
        &["not a zip"],
    );
    refused(
        load_model(&write(d, "a.txt", b"hello world, not a network"), MIB),
        "--model",
        &["unrecognised format", "safetensors"],
    );
    let x = npy(&[3], false, &[1.0f64; 3]);
    refused(
        load_model(&write(d, "x.npy", &x), MIB),
        "--model",
        &["single .npy array"],
    );
    refused(
        load_model(&d.join("missing.safetensors"), MIB),
        "--model",
        &["cannot read"],
    );
    refused(load_model(d, MIB), "--model", &["manifest.json"]);
    // A safetensors name with something else inside.
    refused(
        load_model(&write(d, "b.safetensors", b"{\"a\": 1}"), MIB),
        "--model",
        &["safetensors"],
    );
    // An npz entry that is not an .npy array, a future .npy version, a nested header.
    let z = zip(
        &[("W1.npy", b"not an array".to_vec()), ("W2.npy", x.clone())],
        CompressionMethod::Stored,
    );
    refused(
        load_model(&write(d, "c.npz", &z), MIB),
        "--model",
        &["'W1'", "magic"],
    );
    let mut v9 = x.clone();
    v9[6] = 9;
    let z = zip(
        &[("W1.npy", v9), ("W2.npy", x.clone())],
        CompressionMethod::Stored,
    );
    refused(
        load_model(&write(d, "c.npz", &z), MIB),
        "--model",
        &["version 9"],
    );
    let nested = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': {}3{}, }}",
        "(".repeat(40),
        ")".repeat(40)
    );
    let mut deep = b"\x93NUMPY\x01\x00".to_vec();
    deep.extend_from_slice(&(nested.len() as u16 + 1).to_le_bytes());
    deep.extend_from_slice(nested.as_bytes());
    deep.push(b'\n');
    // npyz keeps the last of two 'shape' keys: a small first one must not let a huge one by.
    let two = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'shape': (4294967296, 4294967296, 4294967296), }";
    let mut dup = b"\x93NUMPY\x01\x00".to_vec();
    dup.extend_from_slice(&(two.len() as u16 + 1).to_le_bytes());
    dup.extend_from_slice(two.as_bytes());
    dup.push(b'\n');
    dup.extend_from_slice(&[0; 24]);
    refused(
        load_inputs(&write(d, "dup.npy", &dup), 3, MIB),
        "--inputs",
        &["one 'shape'"],
    );
    refused(
        load_inputs(&write(d, "deep.npy", &deep), 3, MIB),
        "--inputs",
        &["nested"],
    );
}

#[test]
fn safetensors_header_lengths_beyond_the_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = st_net(Dtype::F32, "", None);
    for n in [1u64 << 40, u64::MAX, good.len() as u64 - 7] {
        let mut b = good.clone();
        b[..8].copy_from_slice(&n.to_le_bytes());
        let p = write(dir.path(), "h.safetensors", &b);
        refused(load_model(&p, MIB), "--model", &["header length"]);
    }
    // A header claiming less than it is: the JSON is cut short.
    let mut b = good.clone();
    b[..8].copy_from_slice(&20u64.to_le_bytes());
    refused(
        load_model(&write(dir.path(), "h.safetensors", &b), MIB),
        "--model",
        &["safetensors"],
    );
}

#[test]
fn huge_shapes_are_refused_before_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = npy(&[3], false, &[1.0f64; 3]);
    // 2^62 elements claimed with 64 bytes of data, and a product that overflows u64.
    for shape in [
        &[1usize << 31, 1 << 31][..],
        &[1 << 40, 1 << 40, 1 << 40],
        &[1 << 62, 4],
    ] {
        let w1 = npy_raw("<f8", shape, &[0; 64]);
        let z = zip(
            &[("W1.npy", w1), ("W2.npy", x.clone())],
            CompressionMethod::Stored,
        );
        refused(
            load_model(&write(d, "s.npz", &z), u128::MAX),
            "--model",
            &["'W1'", "element count"],
        );
    }
    for shape in [
        "[2147483648, 2147483648]",
        "[4611686018427387904, 4611686018427387904]",
    ] {
        let h = format!(
            r#"{{"0.weight": {{"dtype": "F64", "shape": {shape}, "data_offsets": [0, 8]}}}}"#
        );
        let p = write(d, "s.safetensors", &st_raw(&h, &[0; 8]));
        refused(load_model(&p, u128::MAX), "--model", &["safetensors"]);
    }
}

#[test]
fn zip_entries_beyond_the_limit_or_their_header_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 2 MiB of zeros deflate to a few KiB: the declared size is refused, not decompressed.
    let big = npy(&[1 << 15, 8], false, &vec![0.0f64; 1 << 18]);
    let x = npy(&[8], false, &[1.0f64; 8]);
    let z = zip(
        &[("W1.npy", big.clone()), ("W2.npy", x.clone())],
        CompressionMethod::Deflated,
    );
    assert!(z.len() < 64 << 10);
    let p = write(d, "bomb.npz", &z);
    refused(
        load_model(&p, 256 << 10),
        "--model",
        &["'W1'", "decompressed", "memory limit"],
    );
    // A header that declares less than the entry holds: the read stops there.
    let mut lying = z.clone();
    let small = 200u32.to_le_bytes();
    lying[22..26].copy_from_slice(&small); // local header
    let cd = lying.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    lying[cd + 24..cd + 28].copy_from_slice(&small); // central directory
    let p = write(d, "lying.npz", &lying);
    refused(load_model(&p, 64 * MIB), "--model", &["'W1'"]);
    // The whole file over the limit: refused before it is read.
    let p = write(
        d,
        "net.npz",
        &npz_net(false, false, CompressionMethod::Stored),
    );
    refused(load_model(&p, 100), "--model", &["memory limit"]);
    let p = write(d, "net.safetensors", &st_net(Dtype::F64, "", None));
    refused(load_model(&p, 100), "--model", &["memory limit"]);
}

#[test]
fn inconsistent_networks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = matrices();
    let f = Dtype::F32;
    let w =
        |n: &'static str, r: usize, c: usize, s: usize| (n, f, vec![r, c], le(f, &mat(r, c, s)));
    let model = |name: &str, bytes: Vec<u8>| load_model(&write(d, name, &bytes), MIB);
    // Shapes that do not chain, a bias of the wrong length.
    refused(
        model(
            "a.safetensors",
            st(&[w("0.weight", 4, 3, 0), w("2.weight", 2, 5, 1)], None),
        ),
        "--model",
        &["'2.weight'", "(2, 5)", "expected (2, 4)"],
    );
    let b = ("0.bias", f, vec![3], le(f, &[1.0, 2.0, 3.0]));
    refused(
        model(
            "a.safetensors",
            st(&[w("0.weight", 4, 3, 0), b, w("2.weight", 2, 4, 1)], None),
        ),
        "--model",
        &["'0.bias'", "3 entries", "(4,)"],
    );
    let z = |e: &[(&str, Vec<u8>)]| zip(e, CompressionMethod::Deflated);
    let w1 = npy_mat(4, 3, &m[0], false, false);
    let w3 = npy_mat(2, 2, &m[2], false, false);
    refused(
        model(
            "a.npz",
            z(&[("W1.npy", w1.clone()), ("W2.npy", w3.clone())]),
        ),
        "--model",
        &["'W2'", "expected (2, 4)"],
    );
    // Non-float dtypes, named with the tensor.
    for dtype in ["I32", "C64", "BOOL", "U8", "F8_E4M3"] {
        let size = match dtype {
            "I32" => 4,
            "C64" => 8,
            _ => 1,
        };
        let h = format!(
            r#"{{"0.weight": {{"dtype": "{dtype}", "shape": [2, 2], "data_offsets": [0, {}]}}, "1.weight": {{"dtype": "F32", "shape": [1, 2], "data_offsets": [{}, {}]}}}}"#,
            4 * size,
            4 * size,
            4 * size + 8
        );
        let bytes = st_raw(&h, &vec![0; 4 * size + 8]);
        refused(
            model("a.safetensors", bytes),
            "--model",
            &["'0.weight'", dtype],
        );
    }
    for descr in ["<i4", "<c16", "|b1", "<f16"] {
        let w = npy_raw(descr, &[4, 3], &[0; 12 * 16]);
        refused(
            model("a.npz", z(&[("W1.npy", w), ("W2.npy", w3.clone())])),
            "--model",
            &["'W1'", descr],
        );
    }
    // NaN and inf, named with the tensor and the index in its own shape.
    let mut nan = mat(4, 3, 0);
    nan[5] = f64::NAN; // row 1, column 2
    refused(
        model(
            "a.safetensors",
            st(
                &[
                    ("0.weight", f, vec![4, 3], le(f, &nan)),
                    w("2.weight", 2, 4, 1),
                ],
                None,
            ),
        ),
        "--model",
        &["'0.weight'", "[1, 2]", "NaN"],
    );
    let mut inf = mat(2, 4, 1);
    inf[3] = f64::NEG_INFINITY; // row 0, column 3
    for fortran in [false, true] {
        let w2 = npy_mat(2, 4, &inf, fortran, false);
        refused(
            model("a.npz", z(&[("W1.npy", w1.clone()), ("W2.npy", w2)])),
            "--model",
            &["'W2'", "[0, 3]", "inf"],
        );
    }
    // A missing matrix, stray tensors, a bias without its weight, one layer only, zero sizes.
    let w2 = npy_mat(2, 4, &m[1], false, false);
    refused(
        model(
            "a.npz",
            z(&[("W1.npy", w1.clone()), ("W3.npy", w3.clone())]),
        ),
        "--model",
        &["W2 is missing"],
    );
    refused(
        model(
            "a.npz",
            z(&[("W2.npy", w2.clone()), ("W3.npy", w3.clone())]),
        ),
        "--model",
        &["W1 is missing"],
    );
    refused(
        model(
            "a.npz",
            z(&[
                ("W1.npy", w1.clone()),
                ("W2.npy", w2.clone()),
                ("extra.npy", w3.clone()),
            ]),
        ),
        "--model",
        &["'extra.npy'"],
    );
    refused(
        model(
            "a.npz",
            z(&[
                ("W1.npy", w1.clone()),
                ("W2.npy", w2.clone()),
                ("notes.txt", vec![1]),
            ]),
        ),
        "--model",
        &["'notes.txt'"],
    );
    refused(
        model(
            "a.npz",
            z(&[
                ("W1.npy", w1.clone()),
                ("W2.npy", w2.clone()),
                ("b3.npy", npy(&[2], false, &[0.0f64; 2])),
            ]),
        ),
        "--model",
        &["'b3'", "no weight"],
    );
    refused(
        model("a.npz", z(&[("W1.npy", w1.clone())])),
        "--model",
        &["at least one hidden layer"],
    );
    let stray = ("0.running_mean", f, vec![4], le(f, &[0.0; 4]));
    refused(
        model(
            "a.safetensors",
            st(
                &[w("0.weight", 4, 3, 0), stray, w("2.weight", 2, 4, 1)],
                None,
            ),
        ),
        "--model",
        &["'0.running_mean'"],
    );
    let orphan = ("1.bias", f, vec![4], le(f, &[0.0; 4]));
    refused(
        model(
            "a.safetensors",
            st(
                &[w("0.weight", 4, 3, 0), orphan, w("2.weight", 2, 4, 1)],
                None,
            ),
        ),
        "--model",
        &["'1.bias'", "no weight"],
    );
    refused(
        model("a.safetensors", st(&[w("0.weight", 4, 3, 0)], None)),
        "--model",
        &["at least one hidden layer"],
    );
    refused(
        model(
            "a.safetensors",
            st(&[w("0.weight", 0, 3, 0), w("2.weight", 2, 0, 1)], None),
        ),
        "--model",
        &["zero dimension"],
    );
    refused(
        model(
            "a.safetensors",
            st(
                &[
                    ("0.weight", f, vec![12], le(f, &m[0])),
                    w("2.weight", 2, 4, 1),
                ],
                None,
            ),
        ),
        "--model",
        &["(12,)", "matrix"],
    );
    let z0 = npy_raw("<f8", &[0, 3], &[]);
    refused(
        model("a.npz", z(&[("W1.npy", z0), ("W2.npy", w2.clone())])),
        "--model",
        &["zero dimension"],
    );
    // An activation the metadata names wrongly.
    let bytes = st_net(f, "", Some(("radex.activation", "swish")));
    refused(
        model("a.safetensors", bytes),
        "--model",
        &["swish", "radex.activation"],
    );
}

/// A few valid files of every kind, for the fuzz to mutate: `(name, bytes)`.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let tanh = Some(("radex.activation", "tanh"));
    vec![
        ("f.safetensors", st_net(Dtype::F32, "", tanh)),
        ("f.safetensors", st_net(Dtype::BF16, "net.", None)),
        ("f.npz", npz_net(false, false, CompressionMethod::Stored)),
        ("f.npz", npz_net(true, true, CompressionMethod::Deflated)),
        ("x.npy", npy_mat(4, 3, &mat(4, 3, 0), false, true)),
        ("x.npy", npy(&[3], false, &[1.0f64, 2.0, 3.0])),
    ]
}

/// Loads `bytes` as a network and as inputs: any result but a panic is fine, and a
/// network that loads is consistent.
fn load_both(dir: &Path, name: &str, bytes: &[u8]) {
    let p = write(dir, name, bytes);
    if let Ok(w) = load_model(&p, 16 * MIB) {
        check(&w);
    }
    if let Ok(rows) = load_inputs(&p, 3, 16 * MIB) {
        assert!(
            !rows.is_empty()
                && rows
                    .iter()
                    .all(|r| r.len() == 3 && r.iter().all(|v| v.is_finite()))
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        kind in 0usize..4,
        prefix in 0usize..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let name = ["a.safetensors", "a.npz", "a.bin", "a.npy"][kind];
        // Some inputs start like a real file, so the fuzz gets past the magic.
        let mut b: Vec<u8> = match prefix {
            0 => Vec::new(),
            1 => b"PK\x03\x04".to_vec(),
            2 => b"\x93NUMPY\x01\x00".to_vec(),
            _ => (bytes.len() as u64).saturating_sub(2).to_le_bytes().to_vec(),
        };
        b.extend_from_slice(&bytes);
        load_both(dir.path(), name, &b);
    }

    #[test]
    fn mutated_files_never_panic(
        which in 0usize..6,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (name, mut b) = seeds().swap_remove(which);
        for (at, x) in flips {
            let i = at.index(b.len());
            b[i] ^= x;
        }
        if let Some(c) = cut {
            b.truncate(c.index(b.len()));
        }
        load_both(dir.path(), name, &b);
    }
}

/// Two zip entries of one name (the zip crate keeps one) or a safetensors header with a key
/// twice (serde_json keeps the last) are refused like two tensors of one layer.
#[test]
fn duplicate_keys_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = matrices();
    let z = zip(
        &[
            ("W1.npy", npy_mat(4, 3, &m[0], false, false)),
            ("W2.npy", npy_mat(2, 4, &m[1], false, false)),
            ("X1.npy", npy_mat(4, 3, &mat(4, 3, 9), false, false)),
        ],
        CompressionMethod::Stored,
    );
    // Renames X1.npy to W1.npy in its local header and its central-directory record.
    let mut dup = z.clone();
    let at: Vec<usize> = (0..dup.len() - 6)
        .filter(|&i| &dup[i..i + 6] == b"X1.npy")
        .collect();
    assert_eq!(at.len(), 2);
    for i in at {
        dup[i] = b'W';
    }
    let p = write(d, "dup.npz", &dup);
    let msg = refused(load_model(&p, MIB), "--model", &["'W1'", "appears twice"]);
    assert!(msg.contains("dup.npz"), "{msg}");
    let f = Dtype::F32;
    let data = le(f, &[m[0].clone(), m[1].clone()].concat());
    let w0 = r#""dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]"#;
    let w2 = r#""dtype": "F32", "shape": [2, 4], "data_offsets": [48, 80]"#;
    let h = format!(r#"{{"0.weight": {{{w0}}}, "2.weight": {{{w2}}}, "0.weight": {{{w0}}}}}"#);
    let p = write(d, "dup.safetensors", &st_raw(&h, &data));
    refused(
        load_model(&p, MIB),
        "--model",
        &["'0.weight'", "appears twice"],
    );
    let h = format!(
        r#"{{"__metadata__": {{"radex.activation": "tanh", "radex.activation": "relu"}}, "0.weight": {{{w0}}}, "2.weight": {{{w2}}}}}"#
    );
    let p = write(d, "meta.safetensors", &st_raw(&h, &data));
    refused(
        load_model(&p, MIB),
        "--model",
        &["'radex.activation'", "twice"],
    );
    // The same files without the repetition load.
    let h = format!(r#"{{"0.weight": {{{w0}}}, "2.weight": {{{w2}}}}}"#);
    load_model(&write(d, "ok.safetensors", &st_raw(&h, &data)), MIB).unwrap();
    load_model(&write(d, "ok.npz", &z[..]), MIB).expect_err("X1 is not a tensor name");
}

/// A FIFO model or manifest, a zip named `.safetensors` and a non-float array are each told
/// what they are.
#[cfg(unix)]
#[test]
fn files_of_the_wrong_kind_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = |p: &Path| {
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    };
    fifo(&d.join("net.npz"));
    refused(
        load_model(&d.join("net.npz"), MIB),
        "--model",
        &["is a FIFO"],
    );
    let e = d.join("export");
    std::fs::create_dir(&e).unwrap();
    fifo(&e.join("manifest.json"));
    let msg = refused(load_model(&e, MIB), "--model", &["manifest.json is a FIFO"]);
    assert!(!msg.contains("without"), "{msg}");
    let z = npz_net(false, false, CompressionMethod::Deflated);
    let msg = refused(
        load_model(&write(d, "x.safetensors", &z), MIB),
        "--model",
        &["is a zip archive", "rename it to .npz"],
    );
    assert!(!msg.contains("numpy.savez"), "{msg}");
    let ints = npy_raw("<i4", &[3], &[0; 12]);
    refused(
        load_inputs(&write(d, "i.npy", &ints), 3, MIB),
        "--inputs",
        &["float16", "'<f2'"],
    );
    // f16 is accepted as the message says.
    let halfs: Vec<u8> = [1.0f32, 2.0, 3.0]
        .iter()
        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
        .collect();
    let rows = load_inputs(&write(d, "h.npy", &npy_raw("<f2", &[3], &halfs)), 3, MIB).unwrap();
    assert_eq!(rows, [[1.0, 2.0, 3.0]]);
}

/// Whether a file names its activation is told from its magic and header alone: an npz
/// never does, whatever its arrays hold (here none can be read), a safetensors file by its
/// metadata.
#[test]
fn unnamed_activation_reads_no_array() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let z = npz_net(false, false, CompressionMethod::Deflated);
    let cut = write(d, "cut.npz", &z[..z.len() / 2]);
    assert_eq!(radex::brought::unnamed_activation(&cut), Some("npz"));
    let s = st_net(Dtype::F32, "", None);
    let cut = write(d, "cut.safetensors", &s[..s.len() - 8]);
    assert_eq!(
        radex::brought::unnamed_activation(&cut),
        Some("safetensors")
    );
    let named = st_net(Dtype::F32, "", Some(("radex.activation", "tanh")));
    let named = write(d, "named.safetensors", &named);
    assert_eq!(radex::brought::unnamed_activation(&named), None);
    assert_eq!(radex::brought::unnamed_activation(d), None);
}
