//! Issue 11: a table of bad inputs over every subcommand. Each must exit with code 2 and one
//! line on stderr naming the flag, before any work, leaving no file or directory behind.

use crate::cli::radex;

/// `(arguments, the flag the error must name)`. `OUT` stands for a path inside the case's
/// own empty directory.
const CASES: &[(&str, &str)] = &[
    // attack
    ("attack --arch 100", "--arch"),
    ("attack --arch 100,0,10", "--arch"),
    ("attack --arch 100,abc", "--arch"),
    ("attack --arch 100,,10", "--arch"),
    ("attack --arch 2.5,10", "--arch"),
    ("attack --arch d,d", "--arch"),
    ("attack --arch 100,d^x", "--arch"),
    ("attack --arch 32x2,32", "--arch"),
    ("attack --arch 32,32x0", "--arch"),
    ("attack --arch 32,32x2000000", "--arch"),
    ("attack --arch -5,3", "--arch"),
    ("attack --arch 10,d^1e308", "--arch"),
    ("attack --trials 0", "--trials"),
    ("attack --trials -3", "--trials"),
    ("attack --trials 1e12", "--trials"),
    ("attack --trials 1000000000000", "--trials"),
    ("attack --seed -1", "--seed"),
    ("attack --seed 18446744073709551616", "--seed"),
    ("attack --precision f16", "--precision"),
    ("attack --format xml", "--format"),
    ("attack --init xavier", "--init"),
    ("attack --attack fgsm", "--attack"),
    ("attack --sampler sparse", "--sampler"),
    ("attack --norm l1", "--norm"),
    ("attack --norm linf", "--norm"),
    ("attack --norm linf --attack onestep", "--norm"),
    ("attack --eps 0.1,0", "--eps"),
    ("attack --eps 0.1,nan", "--eps"),
    ("attack --eps 0.1,0.1", "--eps"),
    ("attack --pgd-steps 0", "--pgd-steps"),
    ("attack --overshoot -0.1", "--overshoot"),
    ("attack --overshoot inf", "--overshoot"),
    ("attack --max-iter 0", "--max-iter"),
    ("attack --max-memory 8X", "--max-memory"),
    ("attack --max-memory 0", "--max-memory"),
    ("attack --max-memory -1G", "--max-memory"),
    (
        "attack --arch 3000,3000 --sampler dense --max-memory 1M",
        "--arch",
    ),
    ("attack --threads x", "--threads"),
    ("attack --out OUT/missing/x.json", "--out"),
    ("attack --out OUT/", "--out"),
    ("attack --bogus", "--bogus"),
    ("attack --trials", "--trials"),
    // scaling
    ("scaling --ds 100", "--ds"),
    ("scaling --ds 100,x", "--ds"),
    ("scaling --ds 16,16,32", "--ds"),
    ("scaling --ds 0,16", "--ds"),
    ("scaling --arch 100,d", "--arch"),
    ("scaling --widths d,0", "--widths"),
    ("scaling --widths d --arch d,d", "--widths"),
    ("scaling --bootstrap 0", "--bootstrap"),
    (
        "scaling --ds 10,20 --bootstrap 1000000000000",
        "--bootstrap",
    ),
    ("scaling --trials 0", "--trials"),
    // linearity
    ("linearity --trials 0", "--trials"),
    ("linearity --radii 0.1,-1", "--radii"),
    ("linearity --radii 0.1,0.1", "--radii"),
    ("linearity --directions 0", "--directions"),
    ("linearity --threshold 0", "--threshold"),
    ("linearity --threshold nan", "--threshold"),
    ("linearity --arch 10,10 --plot OUT/missing/p.svg", "--plot"),
    (
        "linearity --arch 10,10 --plot OUT/same --out OUT/same",
        "--plot",
    ),
    (
        "linearity --arch 50,40 --directions 1000000000000",
        "--directions",
    ),
    // bottleneck
    ("bottleneck --arch 100,0", "--arch"),
    ("bottleneck --radius 0", "--radius"),
    ("bottleneck --radius inf", "--radius"),
    ("bottleneck --a -1", "--a"),
    ("bottleneck --samples 0", "--samples"),
    ("bottleneck --trials 0", "--trials"),
    (
        "bottleneck --arch 50,40,10,40 --trials 1000000000000",
        "--trials",
    ),
    // minpert
    ("minpert --d 0", "--d"),
    ("minpert --ks 10,0", "--ks"),
    ("minpert --ks 10,10", "--ks"),
    ("minpert --runs 0", "--runs"),
    ("minpert --method svd", "--method"),
    ("minpert --precision f32", "--precision"),
    ("minpert --init he", "--init"),
    ("minpert --d 50 --ks 10 --runs 1000000000000", "--runs"),
    ("minpert --d 20 --ks 5 --plot OUT/x --out OUT/x", "--plot"),
    // depth
    ("depth --width 0", "--width"),
    ("depth --d 0", "--d"),
    ("depth --init nn", "--init"),
    ("depth --depths 0", "--depths"),
    ("depth --depths 4,2,4", "--depths"),
    ("depth --depths 4294967296", "--depths"),
    ("depth --theta 200", "--theta"),
    ("depth --theta nan", "--theta"),
    ("depth --pairs 0", "--pairs"),
    (
        "depth --width 4 --depths 2 --pairs 1000000000000",
        "--pairs",
    ),
    ("depth --trials 0", "--trials"),
    // reproduce
    ("reproduce --quick --full", "--quick"),
    ("reproduce --out OUT/missing/rep", "--out"),
    ("reproduce --threads -2", "--threads"),
    ("reproduce --max-memory 1K --out OUT/rep", "--max-memory"),
    ("reproduce --seed x", "--seed"),
    // export
    ("export --arch 100,0 --out OUT/e", "--arch"),
    ("export --out OUT/missing/e", "--out"),
    ("export --trial -1 --out OUT/e", "--trial"),
    ("export --precision f16 --out OUT/e", "--precision"),
    (
        "export --arch 30000,30000 --max-memory 1G --out OUT/e",
        "--arch",
    ),
    ("export", "--out"),
];

#[test]
fn bad_inputs_exit_2_with_one_line_naming_the_flag_and_leave_nothing() {
    assert!(CASES.len() >= 60);
    for (line, flag) in CASES {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().to_str().unwrap();
        let args: Vec<String> = line.split(' ').map(|a| a.replace("OUT", out_dir)).collect();
        let out = radex()
            .current_dir(dir.path())
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {err}");
        assert!(out.stdout.is_empty(), "{line}: wrote to stdout");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{line}: not one line: {err}"
        );
        assert!(err.starts_with("radex: error: "), "{line}: {err}");
        assert!(
            err.contains(&format!("'{flag}'")),
            "{line}: does not name '{flag}': {err}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{line}: left {left:?}");
    }
}

// ---- Networks and inputs a user brings (MATH 10): `--model`, `--inputs`, `--compare-init`.
// `MODEL` is an npz of a 6,5 network (no activation named), `E` a radex export directory
// (relu), `X` 3 inputs of dimension 6 outside [0,1], `X7` inputs of dimension 7, `XNAN` 3
// inputs of dimension 6, one entry NaN.

/// `(arguments, the flag the error must name)`.
const BROUGHT_CASES: &[(&str, &str)] = &[
    ("attack --model MODEL --act relu --arch 6,5", "--arch"),
    (
        "attack --model MODEL --act relu --sampler lazy",
        "--sampler",
    ),
    ("attack --model MODEL --act relu --outputs 2", "--outputs"),
    (
        "attack --model MODEL --act relu --output-law rademacher",
        "--output-law",
    ),
    ("attack --model MODEL --act relu --sigma-w2 2", "--sigma-w2"),
    ("attack --model MODEL --act relu --sigma-b 0.1", "--sigma-b"),
    ("attack --model MODEL --act relu --init he", "--init"),
    ("attack --model MODEL", "--act"),
    ("attack --model E --act tanh", "--act"),
    ("attack --model DIR/missing.npz --act relu", "--model"),
    ("attack --model X --act relu", "--model"),
    ("attack --model MODEL --act relu --inputs X7", "--inputs"),
    (
        "attack --model MODEL --act relu --inputs DIR/missing.npy",
        "--inputs",
    ),
    (
        "attack --model MODEL --act relu --inputs X --trials 4",
        "--trials",
    ),
    (
        "attack --model MODEL --act relu --inputs X --trials 0",
        "--trials",
    ),
    (
        "attack --model MODEL --act relu --inputs X --input box",
        "--inputs",
    ),
    (
        "attack --model MODEL --act relu --inputs X --input gauss",
        "--input",
    ),
    ("attack --arch 6,5 --inputs X --trials 9", "--trials"),
    ("attack --compare-init", "--compare-init"),
    ("linearity --model MODEL --act relu --arch 6,5", "--arch"),
    ("linearity --model MODEL", "--act"),
    (
        "linearity --model MODEL --act relu --sampler lazy",
        "--sampler",
    ),
    ("bottleneck --model DIR/missing.npz --act relu", "--model"),
    (
        "bottleneck --model MODEL --act relu --outputs 3",
        "--outputs",
    ),
    ("linearity --compare-init", "--compare-init"),
    ("bottleneck --compare-init --arch 6,5", "--compare-init"),
    (
        "bottleneck --model MODEL --act relu --sigma-w2 2",
        "--sigma-w2",
    ),
    // `--inputs` of linearity and bottleneck, as attack's.
    ("attack --arch 6,5 --inputs XNAN", "--inputs"),
    ("linearity --arch 6,5 --inputs X7", "--inputs"),
    ("linearity --model MODEL --act relu --inputs X7", "--inputs"),
    ("linearity --arch 6,5 --inputs XNAN", "--inputs"),
    ("linearity --arch 6,5 --inputs DIR/missing.npy", "--inputs"),
    ("linearity --arch 6,5 --inputs X --trials 4", "--trials"),
    ("linearity --arch 6,5 --inputs X --trials 0", "--trials"),
    ("linearity --arch 6,5 --arch 7,5 --inputs X", "--arch"),
    ("linearity --arch 6,5 --inputs X --input gauss", "--input"),
    ("linearity --arch 6,5 --inputs X --input box", "--inputs"),
    ("bottleneck --arch 6,5 --inputs X7", "--inputs"),
    (
        "bottleneck --model MODEL --act relu --inputs X7",
        "--inputs",
    ),
    ("bottleneck --arch 6,5 --inputs XNAN", "--inputs"),
    ("bottleneck --arch 6,5 --inputs X --trials 9", "--trials"),
    (
        "bottleneck --model MODEL --act relu --inputs X --trials 4 --compare-init",
        "--trials",
    ),
    ("bottleneck --arch 6,5 --inputs X --trials 0", "--trials"),
];

#[test]
fn bad_brought_networks_and_inputs_exit_2_with_one_line_naming_the_flag() {
    let npy = |shape: &[usize], data: &[f64]| {
        let mut out = Vec::new();
        radex::npy::write(&mut out, shape, false, data).unwrap();
        out
    };
    for (line, flag) in BROUGHT_CASES {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, shape) in [("W1.npy", [5, 6]), ("W2.npy", [1, 5])] {
            z.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut z, &npy(&shape, &vec![0.5; shape[0] * shape[1]]))
                .unwrap();
        }
        std::fs::write(d.join("m.npz"), z.finish().unwrap().into_inner()).unwrap();
        std::fs::write(d.join("x.npy"), npy(&[3, 6], &[2.0; 18])).unwrap();
        std::fs::write(d.join("x7.npy"), npy(&[3, 7], &[0.5; 21])).unwrap();
        let mut nan = [0.5; 18];
        nan[10] = f64::NAN;
        std::fs::write(d.join("xnan.npy"), npy(&[3, 6], &nan)).unwrap();
        let out = radex()
            .current_dir(d)
            .args(["export", "--arch", "6,5", "--out", "e"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let before = std::fs::read_dir(d).unwrap().count();
        let args: Vec<String> = line
            .split(' ')
            .map(|a| match a {
                "MODEL" => "m.npz".to_string(),
                "E" => "e".to_string(),
                "X" => "x.npy".to_string(),
                "X7" => "x7.npy".to_string(),
                "XNAN" => "xnan.npy".to_string(),
                a => a.replace("DIR", d.to_str().unwrap()),
            })
            .collect();
        let out = radex().current_dir(d).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {err}");
        assert!(out.stdout.is_empty(), "{line}: wrote to stdout");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{line}: not one line: {err}"
        );
        assert!(err.starts_with("radex: error: "), "{line}: {err}");
        assert!(
            err.contains(&format!("'{flag}'")),
            "{line}: does not name '{flag}': {err}"
        );
        assert_eq!(
            std::fs::read_dir(d).unwrap().count(),
            before,
            "{line}: left files"
        );
    }
}
