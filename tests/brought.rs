//! Networks and inputs a user brings (MATH 10) through the CLI: `--model` in every format
//! gives bitwise the numbers of the same weights sampled by radex, `--inputs` row `t` is
//! trial `t`'s input, and `--compare-init`'s halves are exactly the reports `radex attack`
//! prints for each network.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use radex::brought::{Weights, load_model};
use radex::rng::{InputLaw, input_of};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use serde_json::Value;

use crate::cli::radex;

/// `radex ARGS --format json` run in `dir`, parsed.
fn json(dir: &Path, args: &[&str]) -> Value {
    let out = radex()
        .current_dir(dir)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {err}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `v` without the keys that name where a network or its inputs came from.
fn without_source(mut v: Value) -> Value {
    let m = v.as_object_mut().unwrap();
    for k in ["model", "model_format", "inputs"] {
        m.remove(k);
    }
    v
}

/// `W_i` row-major, `(d_i, d_{i-1})`, from radex's column-major storage.
fn row_major(w: &Weights, i: usize) -> (Vec<usize>, Vec<f64>) {
    let cols = if i == 0 { w.dims[0] } else { w.dims[i] };
    let rows = w.dims.get(i + 1).copied().unwrap_or(w.outputs);
    let c = &w.weights[i];
    let data = (0..rows)
        .flat_map(|r| (0..cols).map(move |k| c[r + k * rows]))
        .collect();
    (vec![rows, cols], data)
}

fn npy(shape: &[usize], data: &[f64]) -> Vec<u8> {
    let mut out = Vec::new();
    radex::npy::write(&mut out, shape, false, data).unwrap();
    out
}

/// `w` as `numpy.savez` writes it: `W1..`, and `b1..` if it has biases.
fn write_npz(w: &Weights, path: &Path) {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for i in 0..w.weights.len() {
        let (shape, data) = row_major(w, i);
        z.start_file(format!("W{}.npy", i + 1), opts).unwrap();
        z.write_all(&npy(&shape, &data)).unwrap();
        if let Some(b) = &w.biases {
            z.start_file(format!("b{}.npy", i + 1), opts).unwrap();
            z.write_all(&npy(&[b[i].len()], &b[i])).unwrap();
        }
    }
    std::fs::write(path, z.finish().unwrap().into_inner()).unwrap();
}

/// `w` as a `torch.nn.Sequential` state dict (`0.weight`, `2.weight`, ..) in float64, with
/// the activation in the metadata if given.
fn write_safetensors(w: &Weights, act: Option<&str>, path: &Path) {
    let mut tensors = Vec::new();
    for i in 0..w.weights.len() {
        let (shape, data) = row_major(w, i);
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((format!("{}.weight", 2 * i), shape, bytes));
        if let Some(b) = &w.biases {
            let bytes: Vec<u8> = b[i].iter().flat_map(|v| v.to_le_bytes()).collect();
            tensors.push((format!("{}.bias", 2 * i), vec![b[i].len()], bytes));
        }
    }
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F64, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let meta = act.map(|a| {
        std::collections::HashMap::from([(radex::brought::ACT_KEY.to_string(), a.to_string())])
    });
    std::fs::write(path, safetensors::serialize(views, meta).unwrap()).unwrap();
}

/// Rows as an `(n, d)` `.npy` file.
fn write_rows(rows: &[Vec<f64>], path: &Path) -> PathBuf {
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    std::fs::write(path, npy(&[rows.len(), rows[0].len()], &flat)).unwrap();
    path.to_path_buf()
}

/// A small network with biases and `K` outputs, deterministic.
fn weights_with_biases(dims: &[usize], k: usize) -> Weights {
    let mut all = dims.to_vec();
    all.push(k);
    let mut seed = 1u64;
    let mut next = move || {
        // xorshift: any fixed sequence of finite values will do.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let weights: Vec<Vec<f64>> = all
        .windows(2)
        .map(|p| {
            let s = (3.0 / p[0] as f64).sqrt();
            (0..p[0] * p[1]).map(|_| s * next()).collect()
        })
        .collect();
    let biases = all[1..]
        .iter()
        .map(|&n| (0..n).map(|_| 0.2 * next()).collect())
        .collect();
    Weights {
        dims: dims.to_vec(),
        outputs: k,
        weights,
        biases: Some(biases),
        act: None,
        format: "npz",
    }
}

#[test]
fn a_model_in_every_format_gives_the_sampled_trials_record_bitwise() {
    // Trial 3 of seed 5, exported, then attacked as a given network at its own input: trial
    // 0 of the given run is trial 3 of the sampled run (the one-step attack draws nothing).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = [
        "--seed",
        "5",
        "--per-trial",
        "--attack",
        "all",
        "--eps",
        "0.3",
    ];
    let out = radex()
        .current_dir(d)
        .args([
            "export", "--arch", "30,20,20", "--seed", "5", "--trial", "3",
        ])
        .args(["--out", "e"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let sampled = json(
        d,
        &[
            &["attack", "--arch", "30,20,20", "--trials", "4"],
            &args[..],
        ]
        .concat(),
    );
    let mut want = sampled["per_trial"][3].clone();
    let w = load_model(&d.join("e"), 1 << 30).unwrap();
    write_npz(&w, &d.join("m.npz"));
    write_safetensors(&w, Some("relu"), &d.join("m.safetensors"));
    let mut reports = Vec::new();
    for (model, act) in [
        ("e", None),
        ("m.npz", Some("relu")),
        ("m.safetensors", None),
    ] {
        let mut a = vec!["attack", "--model", model, "--inputs", "e/x.npy"];
        a.extend(act.map(|a| ["--act", a]).into_iter().flatten());
        let r = json(d, &[&a[..], &args[..]].concat());
        assert_eq!(r["network"], "given");
        assert_eq!(r["model"], model);
        assert_eq!(r["inputs"], "x.npy");
        assert_eq!(r["trials"], 1);
        let mut got = r["per_trial"][0].clone();
        for rec in [&mut got, &mut want] {
            rec.as_object_mut().unwrap().remove("trial");
        }
        assert_eq!(got, want, "{model}");
        reports.push(without_source(r));
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
}

#[test]
fn npz_and_safetensors_with_biases_and_tanh_give_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = weights_with_biases(&[12, 16, 16], 3);
    write_npz(&w, &d.join("m.npz"));
    write_safetensors(&w, Some("tanh"), &d.join("m.safetensors"));
    let rows: Vec<Vec<f64>> = (0..6)
        .map(|t| input_of(InputLaw::Gauss, 9, t, 12))
        .collect();
    write_rows(&rows, &d.join("x.npy"));
    let a = json(
        d,
        &[
            "attack",
            "--model",
            "m.npz",
            "--act",
            "tanh",
            "--inputs",
            "x.npy",
            "--per-trial",
        ],
    );
    let b = json(
        d,
        &[
            "attack",
            "--model",
            "m.safetensors",
            "--inputs",
            "x.npy",
            "--per-trial",
        ],
    );
    assert_eq!(
        (&a["model_format"], &b["model_format"]),
        (&"npz".into(), &"safetensors".into())
    );
    assert_eq!(
        (&a["act"], &a["outputs"], a["trials"].as_u64()),
        (&"tanh".into(), &3.into(), Some(6))
    );
    assert_eq!(without_source(a), without_source(b));
}

#[test]
fn given_inputs_are_the_trials_inputs_for_sampled_networks_too() {
    // Rows equal to the inputs radex samples give the sampled run's records exactly.
    for (law, flag) in [(InputLaw::Sphere, "sphere"), (InputLaw::Box, "box")] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let rows: Vec<Vec<f64>> = (0..4).map(|t| input_of(law, 2, t, 24)).collect();
        write_rows(&rows, &d.join("x.npy"));
        let common = [
            "--arch",
            "24,30,30",
            "--seed",
            "2",
            "--input",
            flag,
            "--per-trial",
        ];
        let sampled = json(d, &[&["attack", "--trials", "4"], &common[..]].concat());
        let given = json(d, &[&["attack", "--inputs", "x.npy"], &common[..]].concat());
        assert_eq!(given["inputs"], "x.npy");
        // The records and every measured summary exactly; the predictions (and the scale
        // `s` the Lemma 2.2 ratios divide by) use the rows' mean ||x||^2 / d instead of the
        // law's: on the sphere they agree to rounding, in the box they differ (4 rows).
        let (mut given, mut sampled) = (without_source(given), sampled);
        assert_eq!(given["per_trial"], sampled["per_trial"], "{flag}");
        let close = [
            (&given["prediction"], &sampled["prediction"]),
            (&given["lemma_2_2"], &sampled["lemma_2_2"]),
        ];
        for (a, b) in close.into_iter().filter(|_| law == InputLaw::Sphere) {
            for (k, v) in a.as_object().unwrap() {
                let (x, y) = (v.as_f64().unwrap(), b[k].as_f64().unwrap());
                assert!(
                    (x - y).abs() <= 1e-12 * y.abs().max(1.0),
                    "{flag} {k}: {x} {y}"
                );
            }
        }
        for v in [&mut given, &mut sampled] {
            let m = v.as_object_mut().unwrap();
            m.remove("prediction");
            m.remove("lemma_2_2");
        }
        assert_eq!(given, sampled, "{flag}");
        // Fewer trials than rows attack the first rows.
        let two = json(
            d,
            &[
                &["attack", "--inputs", "x.npy", "--trials", "2"],
                &common[..],
            ]
            .concat(),
        );
        assert_eq!(two["per_trial"][1], sampled["per_trial"][1]);
    }
}

#[test]
fn compare_init_halves_are_the_reports_of_radex_attack() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = weights_with_biases(&[12, 16, 16], 2);
    write_npz(&w, &d.join("m.npz"));
    let rows: Vec<Vec<f64>> = (0..5)
        .map(|t| input_of(InputLaw::Sphere, 4, t, 12))
        .collect();
    write_rows(&rows, &d.join("x.npy"));
    let family = ["--sigma-w2", "1.5", "--sigma-b", "0.1", "--seed", "4"];
    for inputs in [&["--inputs", "x.npy"][..], &["--trials", "5"][..]] {
        let both = json(
            d,
            &[
                &[
                    "attack",
                    "--model",
                    "m.npz",
                    "--act",
                    "tanh",
                    "--compare-init",
                ][..],
                inputs,
                &family,
            ]
            .concat(),
        );
        assert_eq!(both["command"], "attack");
        assert!(both["math"].as_str().unwrap().contains("MATH 10"));
        let given = json(
            d,
            &[
                &["attack", "--model", "m.npz", "--act", "tanh", "--seed", "4"][..],
                inputs,
            ]
            .concat(),
        );
        let init = json(
            d,
            &[
                &[
                    "attack",
                    "--arch",
                    "12,16,16",
                    "--act",
                    "tanh",
                    "--outputs",
                    "2",
                ][..],
                inputs,
                &family,
            ]
            .concat(),
        );
        assert_eq!(both["given"], given);
        assert_eq!(both["init"], init);
    }
    // CSV: the rows of both, a first column naming the network.
    let out = radex()
        .current_dir(d)
        .args([
            "attack",
            "--model",
            "m.npz",
            "--act",
            "tanh",
            "--compare-init",
        ])
        .args(["--inputs", "x.npy", "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("network,quantity,measured"),
        "{}",
        lines[0]
    );
    let given = lines.iter().filter(|l| l.starts_with("given,")).count();
    let init = lines.iter().filter(|l| l.starts_with("init,")).count();
    assert!(given > 10 && given == init && given + init + 1 == lines.len());
    // The table: both columns and the initialisation's prediction.
    let out = radex()
        .current_dir(d)
        .args([
            "attack",
            "--model",
            "m.npz",
            "--act",
            "tanh",
            "--compare-init",
        ])
        .args(["--inputs", "x.npy"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("given network")
            && text.contains("at initialisation")
            && text.contains("predicted (init)"),
        "{text}"
    );
}

#[test]
fn linearity_and_bottleneck_compare_init_halves_are_their_reports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = weights_with_biases(&[12, 16, 4, 16], 2);
    write_npz(&w, &d.join("m.npz"));
    let model = ["--model", "m.npz", "--act", "tanh"];
    let init = ["--arch", "12,16,4,16", "--act", "tanh", "--outputs", "2"];
    let law = ["--sigma-w2", "1.5", "--seed", "3"];
    for (cmd, sizes) in [
        (
            "linearity",
            &["--trials", "2", "--directions", "2", "--radii", "0.01,0.1"][..],
        ),
        ("bottleneck", &["--trials", "2", "--samples", "2"][..]),
    ] {
        let both = json(
            d,
            &[&[cmd][..], &model, sizes, &law, &["--compare-init"]].concat(),
        );
        assert_eq!(both["command"], cmd);
        assert!(both["math"].as_str().unwrap().starts_with("MATH 10"));
        let given = json(d, &[&[cmd][..], &model, sizes, &["--seed", "3"]].concat());
        let at_init = json(d, &[&[cmd][..], &init, sizes, &law].concat());
        assert_eq!(both["given"], given, "{cmd}");
        assert_eq!(both["init"], at_init, "{cmd}");
    }
}

#[test]
fn linearity_and_bottleneck_measure_a_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = radex()
        .current_dir(d)
        .args([
            "export",
            "--arch",
            "20,16,4,16",
            "--seed",
            "3",
            "--out",
            "e",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lin = json(
        d,
        &[
            "linearity",
            "--model",
            "e",
            "--trials",
            "2",
            "--directions",
            "2",
            "--radii",
            "0.01",
        ],
    );
    assert_eq!(lin["network"], "given");
    let bot = json(
        d,
        &[
            "bottleneck",
            "--model",
            "e",
            "--trials",
            "2",
            "--samples",
            "2",
        ],
    );
    assert_eq!(
        (&bot["network"], &bot["arch"]),
        (&"given".into(), &"20,16,4,16".into())
    );
}

/// `radex ARGS --format json` run in `dir`: the text exactly as printed.
fn json_text(dir: &Path, args: &[&str]) -> String {
    let out = radex()
        .current_dir(dir)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {err}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn linearity_and_bottleneck_inputs_print_the_library_run_bitwise() {
    use radex::experiment::args::{BottleneckArgs, LinearityArgs, RunArgs};
    use radex::experiment::given::Inputs;
    use radex::experiment::{bottleneck, compare::Comparison, linearity};
    use radex::progress::Quiet;
    use radex::record::to_json;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = weights_with_biases(&[12, 16, 4, 16], 2);
    write_npz(&w, &d.join("m.npz"));
    let rows: Vec<Vec<f64>> = (0..3)
        .map(|t| input_of(InputLaw::Sphere, 6, t, 12))
        .collect();
    let x = write_rows(&rows, &d.join("x.npy"));
    let run = RunArgs {
        seed: 4,
        sigma_w2: Some(1.5),
        ..Default::default()
    };
    // Sampled networks, two architectures at the same rows; trials default to the rows.
    let (p, e) = LinearityArgs {
        arch: vec!["12,16,16".into(), "12,16,4,16".into()],
        radii: Some("0.01,0.1".into()),
        directions: 2,
        trials: 0,
        inputs: Some(Inputs::File(x.clone())),
        run: run.clone(),
        ..Default::default()
    }
    .params()
    .unwrap();
    assert_eq!(p.trials, 3);
    let cli = json_text(
        d,
        &[
            "linearity",
            "--arch",
            "12,16,16",
            "--arch",
            "12,16,4,16",
            "--radii",
            "0.01,0.1",
            "--directions",
            "2",
            "--inputs",
            "x.npy",
            "--seed",
            "4",
            "--sigma-w2",
            "1.5",
        ],
    );
    let lib = linearity::run(&p, &e, &Quiet);
    assert_eq!(lib.inputs.as_deref(), Some("x.npy"));
    assert_eq!(cli, to_json(&lib));
    // A given network beside its initialisation, both at the given rows (2 of 3).
    let a = BottleneckArgs {
        trials: 2,
        samples: 3,
        model: Some(d.join("m.npz")),
        inputs: Some(Inputs::File(x)),
        compare_init: true,
        run: RunArgs {
            act: Some("tanh".parse().unwrap()),
            ..run
        },
        ..Default::default()
    };
    let (p, e) = a.params().unwrap();
    let (q, f) = a.at_init(&p).unwrap().params().unwrap();
    let lib = Comparison::new(
        "bottleneck",
        "MATH 5",
        bottleneck::run(&p, &e, &Quiet),
        bottleneck::run(&q, &f, &Quiet),
    );
    let sizes = ["--trials", "2", "--samples", "3", "--inputs", "x.npy"];
    let law = ["--seed", "4", "--sigma-w2", "1.5"];
    let model = ["--model", "m.npz", "--act", "tanh"];
    let cli = json_text(
        d,
        &[&["bottleneck", "--compare-init"][..], &model, &sizes, &law].concat(),
    );
    assert_eq!(cli, to_json(&lib));
    assert_eq!(
        (&lib.given.inputs, &lib.init.inputs),
        (&Some("x.npy".into()), &Some("x.npy".into()))
    );
    // The initialisation's half is `radex bottleneck --arch ..` at the same rows.
    let init = ["--arch", "12,16,4,16", "--act", "tanh", "--outputs", "2"];
    let at_init = json_text(d, &[&["bottleneck"][..], &init, &sizes, &law].concat());
    assert_eq!(at_init, to_json(&lib.init));
}

#[test]
fn given_inputs_are_the_trials_inputs_in_linearity_and_bottleneck() {
    // Rows equal to the inputs radex samples give the sampled run's numbers: row t is trial
    // t's input. Linearity samples architecture a's inputs with the seed derive_seed(s, [a]).
    for (law, flag) in [(InputLaw::Sphere, "sphere"), (InputLaw::Box, "box")] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let seed = radex::rng::derive_seed(2, &[0]);
        let rows: Vec<Vec<f64>> = (0..3).map(|t| input_of(law, seed, t, 16)).collect();
        write_rows(&rows, &d.join("lin.npy"));
        let common = [
            "--arch",
            "16,20,20",
            "--seed",
            "2",
            "--input",
            flag,
            "--radii",
            "0.01,0.3",
            "--directions",
            "3",
        ];
        let sampled = json(d, &[&["linearity", "--trials", "3"], &common[..]].concat());
        let given = json(
            d,
            &[&["linearity", "--inputs", "lin.npy"], &common[..]].concat(),
        );
        assert_eq!(given["inputs"], "lin.npy");
        assert_eq!(without_source(given), sampled, "linearity {flag}");
        // The rows are what is measured: swapping trials 0 and 2's rows changes the numbers.
        let swapped = [rows[2].clone(), rows[1].clone(), rows[0].clone()];
        write_rows(&swapped, &d.join("swapped.npy"));
        let other = json(
            d,
            &[&["linearity", "--inputs", "swapped.npy"], &common[..]].concat(),
        );
        assert_ne!(other["archs"], sampled["archs"], "linearity {flag}");
    }
    // Bottleneck: the measurements exactly; the predictions take the rows' mean ||x||^2 / d
    // for the law's 1, which on the sphere is 1 to rounding.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows: Vec<Vec<f64>> = (0..4)
        .map(|t| input_of(InputLaw::Sphere, 5, t, 16))
        .collect();
    write_rows(&rows, &d.join("x.npy"));
    let common = ["--arch", "16,20,6,20", "--seed", "5", "--samples", "4"];
    let sampled = json(d, &[&["bottleneck", "--trials", "4"], &common[..]].concat());
    let given = json(
        d,
        &[&["bottleneck", "--inputs", "x.npy"], &common[..]].concat(),
    );
    // Fewer trials than rows measure the first rows.
    let two = json(
        d,
        &[
            &["bottleneck", "--inputs", "x.npy", "--trials", "2"],
            &common[..],
        ]
        .concat(),
    );
    let two_sampled = json(d, &[&["bottleneck", "--trials", "2"], &common[..]].concat());
    assert_eq!(given["inputs"], "x.npy");
    for (mut given, mut sampled) in [(given, sampled), (two, two_sampled)] {
        let (g, s) = (
            given["layers"].as_array_mut().unwrap(),
            sampled["layers"].as_array_mut().unwrap(),
        );
        for (g, s) in g.iter_mut().zip(s.iter_mut()) {
            for k in [
                "h_norm_prediction",
                "expansion_bound",
                "random_expansion_prediction",
                "small_fraction_prediction",
            ] {
                let (x, y) = (g[k].as_f64().unwrap(), s[k].as_f64().unwrap());
                assert!((x - y).abs() <= 1e-12 * y.abs(), "{k}: {x} {y}");
                g.as_object_mut().unwrap().remove(k);
                s.as_object_mut().unwrap().remove(k);
            }
        }
        assert_eq!(without_source(given), sampled);
    }
    // Relu without biases is positively homogeneous: rows 2x gives ||h_i(x)|| 2x and the same
    // Jacobian, trial by trial.
    let doubled: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().map(|v| 2.0 * v).collect())
        .collect();
    write_rows(&doubled, &d.join("x2.npy"));
    let one = json(
        d,
        &[&["bottleneck", "--inputs", "x.npy"], &common[..]].concat(),
    );
    let two = json(
        d,
        &[&["bottleneck", "--inputs", "x2.npy"], &common[..]].concat(),
    );
    for (a, b) in one["layers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(two["layers"].as_array().unwrap())
    {
        for q in ["median", "p10", "p90"] {
            let (h1, h2) = (
                a["h_norm"][q].as_f64().unwrap(),
                b["h_norm"][q].as_f64().unwrap(),
            );
            assert!((h2 - 2.0 * h1).abs() <= 1e-12 * h2, "h_norm {q}: {h1} {h2}");
            let (s1, s2) = (
                a["top_singular"][q].as_f64().unwrap(),
                b["top_singular"][q].as_f64().unwrap(),
            );
            assert!((s2 - s1).abs() <= 1e-12 * s1, "top_singular {q}: {s1} {s2}");
        }
    }
}

/// A missing `--act` is refused before any array is read: here the npz's array and the
/// safetensors file's data are cut short, and the refusal still names `--act`.
#[test]
fn missing_act_is_refused_before_any_array_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = weights_with_biases(&[3, 4], 1);
    write_npz(&w, &d.join("m.npz"));
    let z = std::fs::read(d.join("m.npz")).unwrap();
    std::fs::write(d.join("cut.npz"), &z[..z.len() / 2]).unwrap();
    write_safetensors(&w, None, &d.join("m.safetensors"));
    let s = std::fs::read(d.join("m.safetensors")).unwrap();
    std::fs::write(d.join("cut.safetensors"), &s[..s.len() - 8]).unwrap();
    for (file, format) in [("cut.npz", "npz"), ("cut.safetensors", "safetensors")] {
        let path = d.join(file);
        crate::cli::rejects(
            &["attack", "--model", path.to_str().unwrap()],
            "--act",
            &format!("the {format} file"),
        );
    }
}

/// A given network is held once: the loader streams each npz array into the network's
/// storage (no decompressed copy beside it), and the workers of a run share it rather than
/// copy it. The peak of `radex attack` on two trials over a 64 MiB matrix stays well under
/// two copies (it was three).
#[cfg(target_os = "linux")]
#[test]
fn a_given_network_is_held_once() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, cols) = (2048usize, 4096usize);
    let matrix_bytes = (rows * cols * 8) as i64;
    let row: Vec<f64> = (0..cols)
        .map(|c| ((c * 7) % 13) as f64 / 100.0 - 0.06)
        .collect();
    let mut w1 = radex::npy::preamble("<f8", false, &[rows, cols]);
    let row_bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
    for _ in 0..rows {
        w1.extend_from_slice(&row_bytes);
    }
    let w2 = npy(&[1, rows], &vec![0.01; rows]);
    let path = dir.path().join("big.npz");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for (name, bytes) in [("W1.npy", &w1), ("W2.npy", &w2)] {
        z.start_file(name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
    drop(w1);
    // Reaped by wait4 below, which also gives this child's own peak (not the other tests').
    #[allow(clippy::zombie_processes)]
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("radex"))
        .args(["attack", "--trials", "2", "--act", "relu", "--model"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 reaps only this child and fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    let peak = usage.ru_maxrss * 1024; // kilobytes on Linux
    let bound = matrix_bytes * 3 / 2 + (24 << 20);
    assert!(
        peak < bound,
        "peak {} MiB, bound {} MiB for a {} MiB matrix",
        peak >> 20,
        bound >> 20,
        matrix_bytes >> 20
    );
}
