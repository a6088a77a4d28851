//! Issue 11: one regression test per defect found by trying radex as a careless or hostile
//! user would, each named after the defect.

use std::path::Path;
use std::process::{Command as Process, Stdio};

use crate::cli::{json, radex, rejects};

fn radex_path() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("radex")
}

fn stdout_of(args: &[&str]) -> Vec<u8> {
    let out = radex().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs radex, expecting success.
fn succeeds<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = radex().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[cfg(unix)]
fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p)
        .unwrap()
        .file_type()
        .is_symlink()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const SMALL: [&str; 5] = ["attack", "--arch", "50,40,40", "--trials", "3"];

fn small_with(extra: &[&str]) -> Vec<String> {
    SMALL.iter().chain(extra).map(|s| s.to_string()).collect()
}

/// Defect 1: `--out` onto a device, FIFO or symlink wrote a temporary file over it.
#[cfg(unix)]
#[test]
fn out_onto_a_device_fifo_or_symlink_writes_through() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // /dev/null stays a character device.
    succeeds(small_with(&["--format", "json", "--out", "/dev/null"]));
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // /dev/full: the write error is reported, not hidden by a rename.
    if Path::new("/dev/full").exists() {
        let out = radex()
            .args(small_with(&["--out", "/dev/full"]))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("No space left"));
        assert!(
            std::fs::metadata("/dev/full")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
    // A FIFO is written through to its reader.
    let fifo = d.join("pipe");
    assert!(
        Process::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let direct = stdout_of(
        &small_with(&["--format", "json"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    succeeds(small_with(&[
        "--format",
        "json",
        "--out",
        fifo.to_str().unwrap(),
    ]));
    assert_eq!(reader.join().unwrap(), direct);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // A symlink is followed: the link stays, its target gets the output.
    std::fs::write(d.join("target.json"), "stale").unwrap();
    std::os::unix::fs::symlink("target.json", d.join("link.json")).unwrap();
    succeeds(small_with(&[
        "--format",
        "json",
        "--out",
        d.join("link.json").to_str().unwrap(),
    ]));
    assert!(is_symlink(&d.join("link.json")));
    assert_eq!(std::fs::read(d.join("target.json")).unwrap(), direct);
    // An existing file keeps its mode; a new one gets 0666 less the umask (the test runs
    // with whatever umask it inherited, so compare with a file the shell's way creates).
    let kept = d.join("kept.json");
    std::fs::write(&kept, "old").unwrap();
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).unwrap();
    succeeds(small_with(&["--out", kept.to_str().unwrap()]));
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let fresh = d.join("fresh.txt");
    let reference = d.join("reference.txt");
    std::fs::File::create(&reference).unwrap();
    succeeds(small_with(&["--out", fresh.to_str().unwrap()]));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&fresh), mode(&reference), "not 0666 less the umask");
    // --plot through a symlink too.
    std::fs::write(d.join("plot-target.svg"), "stale").unwrap();
    std::os::unix::fs::symlink("plot-target.svg", d.join("plot.svg")).unwrap();
    succeeds([
        "minpert",
        "--d",
        "50",
        "--ks",
        "10,20",
        "--runs",
        "2",
        "--plot",
        d.join("plot.svg").to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(d.join("plot-target.svg"))
            .unwrap()
            .contains("<svg")
    );
    // And export through a symlink to an empty directory.
    std::fs::create_dir(d.join("empty")).unwrap();
    std::os::unix::fs::symlink("empty", d.join("export-link")).unwrap();
    let out = radex()
        .args([
            "export",
            "--arch",
            "20,10",
            "--out",
            d.join("export-link").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(is_symlink(&d.join("export-link")));
    assert!(d.join("empty").join("manifest.json").is_file());
    assert!(
        names(d).iter().all(|n| !n.starts_with(".radex")),
        "debris: {:?}",
        names(d)
    );
}

/// Defect 2: `reproduce --out` deleted files radex did not write.
#[test]
fn reproduce_out_keeps_files_radex_did_not_write() {
    let root = tempfile::tempdir().unwrap();
    let rep = root.path().join("rep");
    let run = |dir: &Path| {
        radex()
            .args(["reproduce", "--quick", "--out", dir.to_str().unwrap()])
            .output()
            .unwrap()
    };
    assert!(run(&rep).status.success());
    let written = names(&rep);
    assert!(written.contains(&"manifest.json".to_string()));
    std::fs::write(rep.join("my-notes.txt"), "mine").unwrap();
    std::fs::create_dir(rep.join("sub")).unwrap();
    let out = run(&rep);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("my-notes.txt") && err.contains("--out"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1);
    assert_eq!(
        std::fs::read_to_string(rep.join("my-notes.txt")).unwrap(),
        "mine"
    );
    assert!(rep.join("sub").is_dir());
    // An edited file of the report is refused too.
    std::fs::remove_file(rep.join("my-notes.txt")).unwrap();
    std::fs::remove_dir(rep.join("sub")).unwrap();
    std::fs::write(rep.join("report.md"), "my edits").unwrap();
    let out = run(&rep);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("report.md"));
    // A look-alike without radex's manifest is refused.
    let fake = root.path().join("fake");
    std::fs::create_dir(&fake).unwrap();
    std::fs::write(fake.join("report.md"), "x").unwrap();
    std::fs::write(fake.join("results.json"), r#"{"command":"reproduce"}"#).unwrap();
    let out = run(&fake);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(names(&fake), vec!["report.md", "results.json"]);
    // Its own earlier report is replaced whole.
    std::fs::write(rep.join("report.md"), "").unwrap();
    std::fs::remove_dir_all(&rep).unwrap();
    assert!(run(&rep).status.success());
    assert!(run(&rep).status.success());
    assert_eq!(names(&rep), written);
    assert_eq!(names(root.path()), vec!["fake", "rep"]);
}

/// Defect 3: results differed between thread counts (minpert's factorisations, and so
/// `reproduce`). One test per subcommand and method: the JSON bytes on 1 and 2 threads.
fn same_on_one_and_two_threads(line: &str) {
    let run = |j: &str| {
        let mut a: Vec<&str> = line.split(' ').collect();
        a.extend(["--format", "json", "-j", j]);
        stdout_of(&a)
    };
    assert_eq!(run("1"), run("2"), "{line}");
}

#[test]
fn attack_is_bitwise_the_same_on_one_and_two_threads() {
    same_on_one_and_two_threads(
        "attack --arch 600,600,600 --trials 4 --attack all --per-trial --sampler dense",
    );
    same_on_one_and_two_threads(
        "attack --arch 300,200,200 --trials 6 --attack all --per-trial --sampler lazy --precision f32",
    );
}

#[test]
fn scaling_is_bitwise_the_same_on_one_and_two_threads() {
    same_on_one_and_two_threads("scaling --ds 64,128 --trials 10");
}

#[test]
fn linearity_is_bitwise_the_same_on_one_and_two_threads() {
    same_on_one_and_two_threads(
        "linearity --arch 600,600,600 --trials 2 --directions 3 --radii 0.01,0.1",
    );
}

#[test]
fn bottleneck_is_bitwise_the_same_on_one_and_two_threads() {
    same_on_one_and_two_threads("bottleneck --arch 600,600,30,600 --trials 2 --samples 4");
    same_on_one_and_two_threads(
        "bottleneck --arch 300,300,30,300 --trials 2 --samples 4 --precision f32",
    );
}

#[test]
fn depth_is_bitwise_the_same_on_one_and_two_threads() {
    same_on_one_and_two_threads("depth --width 32 --depths 1,8 --trials 3 --pairs 3");
}

#[test]
fn minpert_gram_is_bitwise_the_same_on_one_and_two_threads() {
    same_on_one_and_two_threads("minpert --d 1200 --ks 1500,1199,1200,600 --runs 2 --method gram");
}

#[test]
fn minpert_qr_is_bitwise_the_same_on_one_and_two_threads() {
    same_on_one_and_two_threads("minpert --d 1200 --ks 1500,1199,600 --runs 2 --method qr");
}

#[test]
fn reproduce_is_bitwise_the_same_on_one_and_two_threads() {
    // Every number of results.json but the wall-clock seconds.
    let root = tempfile::tempdir().unwrap();
    let results = |j: &str| {
        let dir = root.path().join(format!("r{j}"));
        succeeds([
            "reproduce",
            "--quick",
            "-j",
            j,
            "--out",
            dir.to_str().unwrap(),
        ]);
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        v.as_object_mut().unwrap().remove("seconds");
        v
    };
    assert_eq!(results("1"), results("2"));
}

/// Defect 5: counts a user controls panicked or aborted instead of a one-line error.
#[test]
fn user_controlled_counts_are_refused_before_allocating() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "scaling",
                "--ds",
                "10,20",
                "--trials",
                "3",
                "--bootstrap",
                "1000000000000",
            ],
            "--bootstrap",
        ),
        (
            &[
                "minpert",
                "--d",
                "50",
                "--ks",
                "10",
                "--runs",
                "1000000000000",
            ],
            "--runs",
        ),
        (
            &[
                "bottleneck",
                "--arch",
                "50,40,10,40",
                "--trials",
                "1000000000000",
            ],
            "--trials",
        ),
        (
            &[
                "depth",
                "--width",
                "2",
                "--depths",
                "18446744073709551615",
                "--trials",
                "1",
            ],
            "--depths",
        ),
        (
            &[
                "depth",
                "--width",
                "2",
                "--depths",
                "4294967296",
                "--trials",
                "1",
                "--pairs",
                "1",
            ],
            "--depths",
        ),
        (
            &[
                "attack",
                "--arch",
                "18446744073709551615,5",
                "--trials",
                "1",
                "--max-memory",
                "99999999999T",
            ],
            "--arch",
        ),
        (
            &[
                "attack",
                "--arch",
                "100000,100000",
                "--sampler",
                "dense",
                "--trials",
                "1",
                "--max-memory",
                "10T",
            ],
            "--arch",
        ),
        (
            &[
                "attack",
                "--arch",
                "100000000000,5",
                "--trials",
                "1",
                "--max-memory",
                "99999999999T",
                "--sampler",
                "lazy",
            ],
            "--arch",
        ),
        (
            &[
                "linearity",
                "--arch",
                "50,40",
                "--directions",
                "1000000000000",
            ],
            "--directions",
        ),
        (
            &[
                "depth",
                "--width",
                "4",
                "--depths",
                "2",
                "--pairs",
                "1000000000000",
            ],
            "--pairs",
        ),
        (
            &[
                "bottleneck",
                "--arch",
                "50,40",
                "--samples",
                "1000000000000",
            ],
            "--samples",
        ),
        (&["attack", "--arch", "32,32x1000000,32x1000000"], "--arch"),
    ];
    for (args, flag) in cases {
        rejects(args, flag, "");
    }
}

/// Defect 6: with `--sampler auto` the sampler (and so the numbers) depended on the memory
/// limit, which defaults to the machine's available memory.
#[test]
fn auto_sampler_does_not_depend_on_the_memory_limit() {
    let run = |m: &str| {
        radex()
            .args([
                "attack",
                "--arch",
                "200,200x20",
                "--trials",
                "5",
                "--format",
                "json",
                "-j",
                "1",
                "--max-memory",
                m,
            ])
            .output()
            .unwrap()
    };
    let roomy = run("1G");
    assert!(roomy.status.success());
    let v: serde_json::Value = serde_json::from_slice(&roomy.stdout).unwrap();
    assert_eq!(v["sampler"], "dense");
    assert_eq!(run("8M").stdout, roomy.stdout);
    // Too little for the sampler auto chose: refused, with the alternative.
    let tight = run("3M");
    assert_eq!(tight.status.code(), Some(2));
    let err = String::from_utf8_lossy(&tight.stderr);
    assert!(
        err.contains("--sampler lazy") && err.contains("--arch"),
        "{err}"
    );
}

/// Defect 7: results depended on the order of a list, and repeats were counted twice.
#[test]
fn list_order_does_not_change_results() {
    let pgd = |eps: &str| {
        json(&[
            "attack",
            "--arch",
            "50,40,40",
            "--attack",
            "pgd",
            "--eps",
            eps,
            "--trials",
            "6",
            "--pgd-steps",
            "3",
            "--per-trial",
            "--format",
            "json",
            "-j",
            "1",
        ])
    };
    let (a, b) = (pgd("0.3,0.1"), pgd("0.1,0.3"));
    assert_eq!(a, b);
    for t in a["per_trial"].as_array().unwrap() {
        if t["pgd_success"] == "11" {
            assert_eq!(t["pgd_min_eps"], 0.1);
        }
    }
    let scaling =
        |ds: &str| stdout_of(&["scaling", "--ds", ds, "--trials", "8", "--format", "json"]);
    assert_eq!(scaling("64,16,32"), scaling("16,32,64"));
    let minpert = |ks: &str| {
        stdout_of(&[
            "minpert", "--d", "60", "--ks", ks, "--runs", "2", "--format", "json",
        ])
    };
    assert_eq!(minpert("30,5"), minpert("5,30"));
    rejects(&["scaling", "--ds", "16,16,32"], "--ds", "same value");
    rejects(&["minpert", "--ks", "10,10"], "--ks", "same value");
    rejects(&["attack", "--eps", "0.1,0.10"], "--eps", "same value");
    rejects(
        &["linearity", "--radii", "0.1,0.1"],
        "--radii",
        "same value",
    );
    rejects(&["depth", "--depths", "4,2,4"], "--depths", "same value");
}

/// Defect 8: `-j 4096` spawned 4096 workers (1000 times slower).
#[test]
fn threads_beyond_the_cores_are_capped() {
    let args = small_with(&["--format", "json"]);
    let mut many = args.clone();
    many.extend(["-j".into(), "4096".into()]);
    let out = radex().args(&many).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--threads 4096") && err.contains("cores"),
        "{err}"
    );
    let mut all = args.clone();
    all.extend(["-j".into(), "0".into()]);
    assert_eq!(out.stdout, radex().args(&all).output().unwrap().stdout);
}

/// Defect 9: bad output paths were found only after the work, or lost a result.
#[test]
fn bad_output_paths_are_refused_before_work() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    std::fs::write(d.join("existing.json"), "keep").unwrap();
    let long = "a".repeat(300);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            small_with(&["--out", &format!("{}/", p("newdir"))]),
            "--out",
        ),
        (
            small_with(&["--out", &format!("{}/", p("existing.json"))]),
            "--out",
        ),
        (small_with(&["--out", &p(&long)]), "--out"),
        (
            [
                "minpert",
                "--d",
                "20",
                "--ks",
                "5",
                "--plot",
                &p("missing/p.svg"),
            ]
            .map(String::from)
            .to_vec(),
            "--plot",
        ),
        (
            [
                "minpert",
                "--d",
                "20",
                "--ks",
                "5",
                "--plot",
                &p("x"),
                "--out",
                &p("x"),
            ]
            .map(String::from)
            .to_vec(),
            "--plot",
        ),
        (
            [
                "depth",
                "--depths",
                "1",
                "--plot",
                &p(&format!("{long}.svg")),
            ]
            .map(String::from)
            .to_vec(),
            "--plot",
        ),
    ];
    for (args, flag) in &cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        rejects(&a, flag, "");
    }
    assert_eq!(names(d), vec!["existing.json"]);
    assert_eq!(
        std::fs::read_to_string(d.join("existing.json")).unwrap(),
        "keep"
    );
    // reproduce --out . from inside an earlier report, or its parent from inside it.
    let rep = d.join("rep");
    succeeds(["reproduce", "--quick", "--out", rep.to_str().unwrap()]);
    for target in [".", "../rep"] {
        let out = radex()
            .current_dir(&rep)
            .args(["reproduce", "--quick", "--out", target])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{target}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("current directory"));
    }
    // A plot that cannot be drawn keeps the table.
    let out = radex()
        .current_dir(d)
        .args([
            "linearity",
            "--arch",
            "1,1",
            "--trials",
            "1",
            "--directions",
            "1",
            "--radii",
            "0.5",
            "--plot",
            "p.svg",
            "--out",
            "table.txt",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("p.svg"));
    assert!(
        std::fs::read_to_string(d.join("table.txt"))
            .unwrap()
            .contains("radex linearity")
    );
    assert!(!d.join("p.svg").exists());
}

/// Defect 10: a closed stdout was a silent success (a broken pipe stays one).
#[cfg(unix)]
#[test]
fn closed_stdout_is_an_error_and_a_broken_pipe_is_not() {
    let out = Process::new("sh")
        .arg("-c")
        .arg("\"$0\" attack --arch 50,40,40 --trials 5 >&-")
        .arg(radex_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("standard output is closed"), "{err}");
    // Output far larger than a pipe's buffer, read one byte of.
    let mut child = Process::new(radex_path())
        .args([
            "attack",
            "--arch",
            "20,20",
            "--trials",
            "3000",
            "--per-trial",
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Read;
        let mut one = [0u8; 1];
        child.stdout.take().unwrap().read_exact(&mut one).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Defect 11: SIGKILL (and SIGINT/SIGTERM) left `.radex-*` temporaries behind for good.
#[cfg(unix)]
#[test]
fn signals_and_kills_leave_no_debris() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path();
    let debris = || {
        names(d)
            .into_iter()
            .filter(|n| n.starts_with(".radex-"))
            .count()
    };
    // Large enough that writing the weights takes a while.
    let start = |name: &str| {
        Process::new(radex_path())
            .args(["export", "--arch", "3000,3000,3000,3000,3000", "--out"])
            .arg(d.join(name))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let wait_for_temp = || {
        for _ in 0..2000 {
            if debris() > 0 {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        false
    };
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let mut child = start("net");
        let caught = wait_for_temp();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, sig) };
        let status = child.wait().unwrap();
        if caught {
            assert!(!status.success());
            assert_eq!(debris(), 0, "signal {sig}: {:?}", names(d));
        }
    }
    let mut child = start("net");
    if wait_for_temp() {
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(debris() > 0, "SIGKILL leaves its temporary behind");
        // The next run writing in the same directory removes it (its process is gone).
        succeeds(small_with(&["--out", d.join("a.txt").to_str().unwrap()]));
        assert_eq!(debris(), 0, "{:?}", names(d));
    } else {
        let _ = child.wait();
    }
}

/// Defect 12: clap's messages ran to several lines without naming the flag; memory errors
/// named the wrong flag; long values were echoed whole.
#[test]
fn one_line_errors_name_the_flag() {
    rejects(&["attack", "--precision", "bogus"], "--precision", "f32");
    rejects(&["attack", "--bogus"], "--bogus", "");
    rejects(&["attack", "--seed", "-1"], "--seed", "-1");
    rejects(&["attack", "--trials", "1e12"], "--trials", "1e12");
    rejects(
        &["attack", "--trials", "1000000000000"],
        "--trials",
        "memory",
    );
    rejects(&["scaling", "--arch", "d,d^1e308"], "--arch", "1e308");
    let huge = "1".repeat(100_000);
    let out = radex().args(["attack", "--arch", &huge]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.len() < 400,
        "{} bytes of error",
        out.stderr.len()
    );
    let out = radex()
        .args(["attack", "--format", &huge])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.len() < 400,
        "{} bytes of error",
        out.stderr.len()
    );
}

/// Defect 13: CSV wrote a missing value as empty, `NaN` or `-inf` in different places.
#[test]
fn csv_missing_values_are_empty() {
    // At width 2 a quarter of the networks are dead at x: NaN ratios and -inf logarithms.
    let out = stdout_of(&[
        "attack",
        "--arch",
        "10,2",
        "--trials",
        "300",
        "--per-trial",
        "--format",
        "csv",
        "--attack",
        "all",
    ]);
    let text = String::from_utf8(out).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    let dead = headers.iter().position(|h| h == "dead").unwrap();
    let log2 = headers.iter().position(|h| h == "log2_abs_f").unwrap();
    let mut saw_dead = false;
    for rec in r.records() {
        let rec = rec.unwrap();
        for f in rec.iter() {
            assert!(!["NaN", "inf", "-inf"].contains(&f), "{rec:?}");
        }
        if &rec[dead] == "true" {
            saw_dead = true;
            assert_eq!(&rec[log2], "");
        }
    }
    assert!(saw_dead);
    for args in [
        [
            "linearity",
            "--arch",
            "2,2",
            "--trials",
            "4",
            "--radii",
            "0.1",
            "--format",
            "csv",
        ],
        [
            "depth", "--width", "3", "--depths", "1,4", "--trials", "3", "--format", "csv",
        ],
    ] {
        let text = String::from_utf8(stdout_of(&args)).unwrap();
        assert!(
            !text.contains("NaN") && !text.contains("inf"),
            "{args:?}: {text}"
        );
    }
}

/// Defect 14: a one step landing on `f(x') = 0` counted as a failure; `holds_at_one_step`
/// measured both clauses under the name of one.
#[test]
fn a_landing_on_zero_is_a_flip_and_counted() {
    let v = json(&[
        "attack",
        "--arch",
        "10,10",
        "--trials",
        "3000",
        "--per-trial",
        "--format",
        "json",
    ]);
    let trials = v["per_trial"].as_array().unwrap();
    let live: Vec<&serde_json::Value> = trials.iter().filter(|t| t["dead"] == false).collect();
    let zero: Vec<_> = live.iter().filter(|t| t["f_adv"] == 0.0).collect();
    assert!(!zero.is_empty(), "no landing on zero at this seed");
    for t in &zero {
        assert_eq!(t["success"], true);
        assert_eq!(t["landed_on_zero"], true);
    }
    assert_eq!(v["landed_on_zero"], zero.len());
    let n = live.len() as f64;
    let frac =
        |p: &dyn Fn(&serde_json::Value) -> bool| live.iter().filter(|t| p(t)).count() as f64 / n;
    let c = &v["clause"];
    assert_eq!(
        c["clause_alone_at_one_step"],
        frac(&|t| t["clause_holds"] == true)
    );
    assert_eq!(
        c["both_clauses_at_one_step"],
        frac(&|t| t["clause_holds"] == true && t["success"] == true)
    );
    assert_eq!(c["ties_at_one_step"], frac(&|t| t["clause_tie"] == true));
    assert!(c.get("holds_at_one_step").is_none());
    for t in &live {
        let r = t["f_ratio"].as_f64().unwrap().abs();
        if t["clause_tie"] == true {
            assert!((r - 1.0).abs() <= 1e-12);
            assert_eq!(t["clause_holds"], false);
        } else {
            assert_eq!(t["clause_holds"] == true, r >= 1.0, "{t}");
        }
    }
}

/// An output that cannot be written (here a file-size limit, as a full disk would) is one
/// line naming the output and its cause once, never radex's temporary file, and leaves
/// nothing behind.
#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_names_the_output_and_its_cause_once() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.json");
    let mut cmd = Process::new(radex_path());
    cmd.args(["attack", "--arch", "10,10", "--trials", "50", "--per-trial"])
        .args(["--format", "json", "--out"])
        .arg(&out)
        .stdout(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1000,
                rlim_max: libc::RLIM_INFINITY,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("could not write") && err.contains("a.json"),
        "{err}"
    );
    assert!(!err.contains(".radex-"), "names the temporary: {err}");
    let cause = "File too large";
    assert_eq!(err.matches(cause).count(), 1, "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
