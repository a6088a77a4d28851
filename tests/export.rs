//! `radex export` through the built binary: the `.npy` files are read back by an independent
//! reader, `f(x)` is recomputed with plain loops (MATH 1) and compared with the manifest and
//! with `radex attack`; bad input writes nothing.

use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn radex() -> Command {
    Command::cargo_bin("radex").unwrap()
}

/// An array read from a `.npy` file, in C order (last index fastest).
struct Npy {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
    data: Vec<f64>,
}

/// The text between `key` and the next `end` in a header dict.
fn field<'a>(header: &'a str, key: &str, end: char) -> &'a str {
    let at = header
        .find(key)
        .unwrap_or_else(|| panic!("{key} missing: {header}"))
        + key.len();
    let rest = &header[at..];
    &rest[..rest.find(end).unwrap()]
}

/// A small NPY reader (versions 1.0 and 2.0, `<f8` and `<f4`, one or two axes).
fn read_npy(path: &Path) -> Npy {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..6], b"\x93NUMPY", "{}", path.display());
    let (len, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 => (
            u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize,
            12,
        ),
        v => panic!("npy version {v}"),
    };
    let header = std::str::from_utf8(&b[start..start + len]).unwrap();
    assert!(header.ends_with('\n'));
    assert_eq!((start + len) % 64, 0, "data not 64-byte aligned");
    let descr = field(header, "'descr': '", '\'').to_string();
    let fortran_order = match field(header, "'fortran_order': ", ',') {
        "True" => true,
        "False" => false,
        o => panic!("fortran_order {o}"),
    };
    let shape: Vec<usize> = field(header, "'shape': (", ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let raw = &b[start + len..];
    let values: Vec<f64> = match descr.as_str() {
        "<f8" => raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        "<f4" => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        d => panic!("descr {d}"),
    };
    let n: usize = shape.iter().product();
    assert_eq!(values.len(), n, "{}: data length", path.display());
    assert_eq!(raw.len() % n.max(1), 0);
    let data = match (fortran_order, shape.as_slice()) {
        (true, &[rows, cols]) => {
            let mut c_order = vec![0.0; n];
            for r in 0..rows {
                for c in 0..cols {
                    c_order[r * cols + c] = values[r + c * rows];
                }
            }
            c_order
        }
        (_, s) if s.len() <= 1 || !fortran_order => values,
        _ => panic!("unsupported shape {shape:?}"),
    };
    Npy {
        descr,
        fortran_order,
        shape,
        data,
    }
}

/// The network read back: `W_1..W_{l+1}` (row-major `d_i x d_{i-1}`) and `x`.
struct Loaded {
    manifest: Value,
    ws: Vec<Npy>,
    x: Npy,
}

fn load(dir: &Path) -> Loaded {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    let mut arrays: Vec<Npy> = files
        .iter()
        .map(|f| {
            let a = read_npy(&dir.join(f["name"].as_str().unwrap()));
            let shape: Vec<usize> = f["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(a.shape, shape, "{}", f["name"]);
            a
        })
        .collect();
    // The directory holds exactly the listed files and the manifest.
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = files
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .chain(["manifest.json".to_string()])
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    assert_eq!(files.last().unwrap()["name"], "x.npy");
    let x = arrays.pop().unwrap();
    Loaded {
        manifest,
        ws: arrays,
        x,
    }
}

/// `f(x)` and `||grad f(x)||` with plain loops in f64: `h = relu(W h)`, `f = W_{l+1} h_l`,
/// `grad^T = W_{l+1} D_l W_l ... D_1 W_1`.
fn reference(ws: &[Npy], x: &[f64]) -> (f64, f64) {
    let mut hs = vec![x.to_vec()];
    for w in ws {
        let (rows, cols) = (w.shape[0], w.shape[1]);
        let h = hs.last().unwrap();
        assert_eq!(h.len(), cols);
        let z: Vec<f64> = (0..rows)
            .map(|r| (0..cols).map(|c| w.data[r * cols + c] * h[c]).sum())
            .collect();
        hs.push(z);
        if hs.len() <= ws.len() {
            hs.last_mut()
                .unwrap()
                .iter_mut()
                .for_each(|v| *v = v.max(0.0));
        }
    }
    let f = hs.last().unwrap()[0];
    let mut g = vec![1.0];
    for (i, w) in ws.iter().enumerate().rev() {
        let (rows, cols) = (w.shape[0], w.shape[1]);
        if i + 1 < ws.len() {
            // Mask D_{i+1}: the units of layer i+1 that are on.
            for (v, h) in g.iter_mut().zip(&hs[i + 1]) {
                if *h <= 0.0 {
                    *v = 0.0;
                }
            }
        }
        g = (0..cols)
            .map(|c| (0..rows).map(|r| g[r] * w.data[r * cols + c]).sum())
            .collect();
    }
    (f, g.iter().map(|v| v * v).sum::<f64>().sqrt())
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Exports `args` into `dir`, checks the files against a recomputation of `f` with unit
/// roundoff `u`, and returns radex's `f` from the manifest.
fn export_and_check(args: &[&str], dir: &Path, u: f64) -> f64 {
    radex()
        .arg("export")
        .args(args)
        .arg("--out")
        .arg(dir)
        .assert()
        .success()
        .stdout(
            predicate::str::contains(dir.to_str().unwrap())
                .and(predicate::str::contains("W1.npy"))
                .and(predicate::str::contains("f(x)")),
        );
    let l = load(dir);
    let x = &l.x.data;
    let d = x.len();
    assert!((norm(x) - (d as f64).sqrt()).abs() < 1e-5 * (d as f64).sqrt());
    for w in &l.ws {
        assert!(w.fortran_order);
    }
    let (f, grad_norm) = reference(&l.ws, x);
    let n: usize = d + l.ws.iter().map(|w| w.shape[0]).sum::<usize>();
    let tol = 8.0 * u * n as f64 * grad_norm * norm(x);
    let m = &l.manifest;
    let mf = m["f"].as_f64().unwrap();
    assert!(
        (mf - f).abs() <= tol,
        "manifest f {mf}, recomputed {f}, tol {tol}"
    );
    let mg = m["grad_norm"].as_f64().unwrap();
    assert!(
        (mg - grad_norm).abs() <= tol,
        "grad_norm {mg} vs {grad_norm}"
    );
    assert_eq!(m["dead"], false);
    mf
}

/// `f` of trial `trial` of `radex attack`.
fn attack_f(args: &[&str], trial: usize) -> f64 {
    let out = radex()
        .arg("attack")
        .args(args)
        .args(["--format", "json", "--per-trial", "--sampler", "dense"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &v["per_trial"][trial];
    assert_eq!(t["trial"], trial);
    t["f"].as_f64().unwrap()
}

#[test]
fn exported_files_recompute_radex_f() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net");
    let args = ["--arch", "50,40,30", "--seed", "3", "--trial", "2"];
    let u = f64::EPSILON / 2.0;
    let f = export_and_check(&args, &dir, u);
    let m = load(&dir).manifest;
    assert_eq!(m["arch"], "50,40,30");
    assert_eq!(m["d"], 50);
    assert_eq!(m["widths"], serde_json::json!([40, 30]));
    assert_eq!(m["init"], "nn");
    assert_eq!(
        (m["seed"].clone(), m["trial"].clone()),
        (3.into(), 2.into())
    );
    assert_eq!(m["precision"], "f64");
    assert!(
        m["convention"]
            .as_str()
            .unwrap()
            .contains("relu(W_i h_{i-1})")
    );
    for w in &load(&dir).ws {
        assert_eq!(w.descr, "<f8");
    }
    // The same network and input as trial 2 of `radex attack --seed 3 --sampler dense`.
    let fa = attack_f(&["--arch", "50,40,30", "--seed", "3", "--trials", "3"], 2);
    let (_, grad_norm) = {
        let l = load(&dir);
        reference(&l.ws, &l.x.data)
    };
    let tol = 8.0 * u * 121.0 * grad_norm * 50f64.sqrt();
    assert!((f - fa).abs() <= tol, "export f {f}, attack f {fa}");
    // Both run the same code on the same bytes.
    assert_eq!(f, fa);
    // Only the export directory is left: no temporary directories.
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
}

#[test]
fn f32_export_writes_f4() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net32");
    let args = [
        "--arch",
        "60,30,d/2",
        "--seed",
        "4",
        "--trial",
        "1",
        "--precision",
        "f32",
        "--init",
        "he",
    ];
    let f = export_and_check(&args, &dir, f32::EPSILON as f64 / 2.0);
    let l = load(&dir);
    assert_eq!(l.manifest["precision"], "f32");
    assert_eq!(l.manifest["init"], "he");
    assert_eq!(l.x.descr, "<f4");
    for w in &l.ws {
        assert_eq!(w.descr, "<f4");
    }
    let fa = attack_f(
        &[
            "--arch",
            "60,30,d/2",
            "--seed",
            "4",
            "--trials",
            "2",
            "--precision",
            "f32",
            "--init",
            "he",
        ],
        1,
    );
    assert_eq!(f, fa);
}

/// Runs `radex export args`, expects exit code 2, an error naming `flag` and `needle`, and
/// nothing on stdout.
fn rejects(args: &[&str], flag: &str, needle: &str) {
    let out = radex().arg("export").args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains(flag) && err.contains(needle),
        "{args:?}: {err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn bad_input_writes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let full = root.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep.txt"), "mine").unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    rejects(
        &["--arch", "50,40", "--out", &s(&full)],
        "--out",
        "not empty",
    );
    let names: Vec<_> = std::fs::read_dir(&full)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["keep.txt"]);
    assert_eq!(
        std::fs::read_to_string(full.join("keep.txt")).unwrap(),
        "mine"
    );

    let new = root.path().join("new");
    rejects(
        &["--arch", "50,0", "--out", &s(&new)],
        "--arch",
        "width >= 1",
    );
    rejects(&["--arch", "50", "--out", &s(&new)], "--arch", "hidden");
    rejects(
        &[
            "--arch",
            "1000,1000",
            "--max-memory",
            "1M",
            "--out",
            &s(&new),
        ],
        "--arch",
        "--max-memory",
    );
    rejects(
        &[
            "--arch",
            "50,40",
            "--out",
            &s(&root.path().join("no/such/net")),
        ],
        "--out",
        "does not exist",
    );
    rejects(
        &["--arch", "50,40", "--out", &s(&full.join("keep.txt"))],
        "--out",
        "existing file",
    );
    assert!(!new.exists());
    // Nothing but the directory made above, and no temporary directories.
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    // --out is required.
    let out = radex()
        .args(["export", "--arch", "50,40"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn empty_directory_is_filled() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("empty");
    std::fs::create_dir(&dir).unwrap();
    export_and_check(
        &["--arch", "20,10", "--seed", "7"],
        &dir,
        f64::EPSILON / 2.0,
    );
}

/// numpy's own loader agrees, when numpy is installed (skipped silently otherwise).
#[test]
fn numpy_recomputes_f_when_available() {
    let has_numpy = StdCommand::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_numpy {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net");
    let f = export_and_check(
        &["--arch", "50,40,30", "--seed", "3", "--trial", "2"],
        &dir,
        f64::EPSILON / 2.0,
    );
    let script = r#"
import json, sys
import numpy as np
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
ws = []
for i in range(1, m["depth"] + 2):
    w = np.load(d + "/W%d.npy" % i)
    assert list(w.shape) == m["files"][i - 1]["shape"], (i, w.shape)
    ws.append(w.astype(np.float64))
h = np.load(d + "/x.npy").astype(np.float64)
for w in ws[:-1]:
    h = np.maximum(w @ h, 0.0)
print(repr(float((ws[-1] @ h)[0])))
"#;
    let out = StdCommand::new("python3")
        .args(["-c", script])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fnp: f64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let l = load(&dir);
    let (_, grad_norm) = reference(&l.ws, &l.x.data);
    let tol = 8.0 * f64::EPSILON / 2.0 * 121.0 * grad_norm * norm(&l.x.data);
    assert!((fnp - f).abs() <= tol, "numpy f {fnp}, radex f {f}");
}
