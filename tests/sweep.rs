//! `radex sweep` (issue 15): a merged sweep is bitwise what one run of each point prints,
//! whatever the sharding and order; SIGKILLs lose and double nothing; a failing unit is
//! recorded and the shard goes on; corrupt lines and held shards are reported; bad plans are
//! refused before anything runs; the Slurm script, by hand and on a real Slurm when present.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::cli::radex;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("radex")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(args: &[&str]) -> Output {
    let out = radex().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Writes `plan` to `root/name.toml` and plans it into `root/name`.
fn planned(root: &Path, name: &str, plan: &str) -> PathBuf {
    let file = root.join(format!("{name}.toml"));
    std::fs::write(&file, plan).unwrap();
    let dir = root.join(name);
    ok(&["sweep", "plan", s(&file), "--out", s(&dir)]);
    dir
}

/// The merge in every format (the plot too, which must be drawn).
fn merged(dir: &Path) -> [String; 3] {
    let svg = dir.with_extension("svg");
    let _ = std::fs::remove_file(&svg);
    let table = text(&ok(&["sweep", "merge", s(dir), "--plot", s(&svg)]));
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    let json = text(&ok(&["sweep", "merge", s(dir), "--format", "json"]));
    let csv = text(&ok(&["sweep", "merge", s(dir), "--format", "csv"]));
    [table, json, csv]
}

/// Checks each merged point against one run of its command: the JSON report equal value for
/// value (every float read back exactly), the table verbatim.
fn matches_one_run(experiment: &str, m: &[String; 3]) {
    let items: Vec<serde_json::Value> = serde_json::from_str(&m[1]).unwrap();
    assert!(!items.is_empty());
    for it in &items {
        let args: Vec<String> = serde_json::from_value(it["args"].clone()).unwrap();
        let mut argv = vec![experiment.to_string()];
        argv.extend(args);
        let table = text(&ok(&argv.iter().map(String::as_str).collect::<Vec<_>>()));
        assert!(
            m[0].contains(&table),
            "point {}: table differs",
            it["point"]
        );
        argv.extend(["--format".into(), "json".into()]);
        let json = text(&ok(&argv.iter().map(String::as_str).collect::<Vec<_>>()));
        let one: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(one, it["report"], "point {}: JSON differs", it["point"]);
    }
}

const ATTACK: &str = "experiment = \"attack\"\narch = [\"60,d,d\", \"120,d,2d\"]\n\
    init = [\"nn\", \"he\"]\nzip = [[\"arch\", \"init\"]]\nseed = [3, 4]\ntrials = 23\n\
    attack = \"all\"\nper_trial = true\nunit_trials = 5\n";

const DEPTH: &str = "experiment = \"depth\"\nwidth = 24\nd = 24\ndepths = \"1,3,9\"\n\
    trials = 7\nseed = [1, 2]\nunit_trials = 3\n";

/// Figure 1 over d (MATH 7), parts per width `k`.
const MINPERT: &str = "experiment = \"minpert\"\nd = [60, 90]\nks = \"5,30,60,120\"\nruns = 7\n\
    seed = 2\nunit_trials = 3\n";

/// Two small phase diagrams (MATH 9), parts per cell.
const PHASE: &str = "experiment = \"phase\"\nact = [\"tanh\", \"erf\"]\ndepth = 4\nwidth = 16\n\
    d = 16\nsigma_w2 = \"0.5,1.5,3\"\nsigma_b = \"0,0.3\"\ntrials = 5\nunit_trials = 2\n";

#[test]
fn merged_sweeps_are_bitwise_one_run_whatever_the_sharding_and_order() {
    let root = tempfile::tempdir().unwrap();
    for (experiment, plan) in [
        ("attack", ATTACK),
        ("depth", DEPTH),
        ("minpert", MINPERT),
        ("phase", PHASE),
    ] {
        let one = planned(root.path(), &format!("{experiment}-one"), plan);
        ok(&["sweep", "run", s(&one), "--threads", "2"]);
        let a = merged(&one);
        matches_one_run(experiment, &a);
        // Three shards on one thread each, the last first.
        let three = planned(root.path(), &format!("{experiment}-three"), plan);
        for i in [2, 0, 1] {
            ok(&[
                "sweep",
                "run",
                s(&three),
                "--shard",
                &format!("{i}/3"),
                "-j",
                "1",
            ]);
        }
        assert_eq!(a, merged(&three), "{experiment}: 1 shard vs 3");
    }
}

#[test]
fn a_rerun_skips_done_units_and_another_sharding_doubles_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = planned(root.path(), "a", DEPTH);
    // Shard 1 of 2 from Slurm's variables.
    let out = radex()
        .args(["sweep", "run", s(&dir)])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "2")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("shard 1/2"), "{err}");
    let out = ok(&["sweep", "run", s(&dir), "--shard", "1/2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(": 0 done now,"), "a rerun runs nothing: {err}");
    // One shard now: only what shard 1 of 2 did not do.
    let out = ok(&["sweep", "run", s(&dir)]);
    let err = String::from_utf8_lossy(&out.stderr);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
    let total = plan["units"].as_array().unwrap().len();
    assert_eq!(done_lines(&dir).values().sum::<usize>(), total, "{err}");
    assert!(done_lines(&dir).values().all(|&n| n == 1));
    let fresh = planned(root.path(), "b", DEPTH);
    ok(&["sweep", "run", s(&fresh)]);
    assert_eq!(merged(&dir), merged(&fresh));
}

/// Done lines per unit id over every results file.
fn done_lines(dir: &Path) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for e in std::fs::read_dir(dir.join("results")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            for line in std::fs::read_to_string(&p).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                if v["event"] == "done" {
                    *n.entry(v["unit"].as_str().unwrap().to_string())
                        .or_insert(0) += 1;
                }
            }
        }
    }
    n
}

#[test]
fn sigkill_at_random_moments_loses_and_doubles_no_unit() {
    let root = tempfile::tempdir().unwrap();
    // About 3 s of work here in 40 units; the kills below leave the run about 1 s in.
    let plan = "experiment = \"attack\"\narch = [\"400,d,d\", \"500,d,d\"]\ntrials = 60\n\
        attack = \"all\"\nsampler = \"dense\"\nseed = 9\nunit_trials = 3\n";
    let dir = planned(root.path(), "killed", plan);
    // Fixed pseudo-random delays (an LCG), so the test is the same every run.
    let mut x: u64 = 12345;
    let mut mid_run = 0;
    for _ in 0..8 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(20 + (x >> 33) % 200);
        let mut child = std::process::Command::new(bin())
            .args(["sweep", "run", s(&dir), "-j", "1"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(mid_run >= 6, "only {mid_run} kills landed mid-run");
    // SIGKILL leaves the lock (a rerun on this host takes it over); SIGTERM, a Slurm time
    // limit's signal, removes it, so a rerun on another node is not refused.
    let lock = dir.join("results").join("shard-0.lock");
    let child = std::process::Command::new(bin())
        .args(["sweep", "run", s(&dir), "-j", "1"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "stopped by SIGTERM");
    assert!(!lock.exists(), "SIGTERM removes the lock");
    let before = done_lines(&dir).len();
    assert!(
        before > 0 && before < 40,
        "{before} units done across the kills"
    );
    ok(&["sweep", "run", s(&dir), "-j", "1"]);
    let status = ok(&["sweep", "status", s(&dir)]);
    assert!(
        text(&status).contains("missing 0, failed 0"),
        "{}",
        text(&status)
    );
    let done = done_lines(&dir);
    assert_eq!(done.len(), 40, "every unit done");
    assert!(
        done.values().all(|&n| n == 1),
        "a unit done twice: {done:?}"
    );
    let whole = planned(root.path(), "whole", plan);
    ok(&["sweep", "run", s(&whole)]);
    assert_eq!(merged(&dir), merged(&whole));
}

#[test]
fn a_failing_unit_is_recorded_with_its_message_and_the_shard_goes_on() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a.npy"), root.path().join("b.npy"));
    for (p, shift) in [(&a, 0.0), (&b, 0.5)] {
        let data: Vec<f64> = (0..4 * 30)
            .map(|i| ((i as f64) * 0.37 + shift).sin())
            .collect();
        let mut bytes = Vec::new();
        radex::npy::write(&mut bytes, &[4, 30], false, &data).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let plan = format!(
        "experiment = \"attack\"\narch = \"30,20,20\"\ninputs = [\"{}\", \"{}\"]\nunit_trials = 2\n",
        s(&a),
        s(&b)
    );
    let dir = planned(root.path(), "f", &plan);
    // The file of point 1 is gone when its units run.
    let kept = std::fs::read(&b).unwrap();
    std::fs::remove_file(&b).unwrap();
    let out = radex().args(["sweep", "run", s(&dir)]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("2 done now, 0 done before, 2 failed"), "{err}");
    let st = radex().args(["sweep", "status", s(&dir)]).output().unwrap();
    let st = text(&st);
    assert!(
        st.contains("done 2, running 0, missing 0, failed 2"),
        "{st}"
    );
    assert!(st.contains("failed: unit") && st.contains("b.npy"), "{st}");
    let m = radex().args(["sweep", "merge", s(&dir)]).output().unwrap();
    assert_eq!(m.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&m.stderr).contains("2 failed"));
    let part = text(&ok(&["sweep", "merge", s(&dir), "--partial"]));
    assert!(part.contains("== point 0 of 2") && !part.contains("== point 1"));
    // Put back, the failed units run again.
    std::fs::write(&b, kept).unwrap();
    ok(&["sweep", "run", s(&dir)]);
    matches_one_run("attack", &merged(&dir));
}

#[test]
fn a_corrupt_line_is_reported_by_status_merge_and_run_and_nothing_is_removed() {
    let root = tempfile::tempdir().unwrap();
    let dir = planned(root.path(), "c", DEPTH);
    ok(&["sweep", "run", s(&dir)]);
    let file = dir.join("results").join("shard-0.jsonl");
    let text0 = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text0.lines().collect();
    lines[3] = "{\"unit\": \"oops";
    let bad = lines.join("\n") + "\n";
    std::fs::write(&file, &bad).unwrap();
    let st = radex().args(["sweep", "status", s(&dir)]).output().unwrap();
    assert_eq!(st.status.code(), Some(1));
    assert!(text(&st).contains("line 4 is corrupt"), "{}", text(&st));
    for args in [
        vec!["sweep", "merge", s(&dir)],
        vec!["sweep", "run", s(&dir)],
    ] {
        let out = radex().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("line 4"), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        bad,
        "nothing removed"
    );
}

#[test]
fn a_running_shard_refuses_a_second_runner() {
    let root = tempfile::tempdir().unwrap();
    let dir = planned(root.path(), "l", DEPTH);
    let mut owner = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let lock = dir.join("results").join("shard-0.lock");
    std::fs::write(&lock, format!("{} {}\n", owner.id(), host.trim())).unwrap();
    let out = radex().args(["sweep", "run", s(&dir)]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("pid {}", owner.id())), "{err}");
    let st = text(&radex().args(["sweep", "status", s(&dir)]).output().unwrap());
    assert!(
        st.contains(&format!("shard 0: running (pid {}", owner.id())),
        "{st}"
    );
    owner.kill().unwrap();
    owner.wait().unwrap();
    // Its owner gone, the lock is stale and taken over.
    ok(&["sweep", "run", s(&dir)]);
    assert!(!lock.exists(), "the lock is removed when the shard ends");
}

/// Expects exit code 2 and a one-line message holding every needle.
fn refused(args: &[&str], needles: &[&str]) {
    let out = radex().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err}");
    }
}

#[test]
fn bad_plans_and_flags_are_refused_before_anything_runs() {
    let root = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = root.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let out = root.path().join("out");
    let o = s(&out);
    for (plan, needles) in [
        (
            "experiment = \"attack\"\narch = \"30,20\"\ntrials = [5, 0]\n",
            &["point 1", "--trials"][..],
        ),
        (
            "experiment = \"attack\"\nbogus_flag = 1\n",
            &["point 0", "--bogus-flag"],
        ),
        (
            "experiment = \"linearity\"\n",
            &["experiment", "cannot be swept"],
        ),
        (
            "experiment = \"attack\"\nthreads = 2\n",
            &["threads", "sweep run"],
        ),
        (
            "experiment = \"attack\"\narch = []\n",
            &["arch", "empty grid"],
        ),
    ] {
        let p = write("bad.toml", plan);
        refused(&["sweep", "plan", s(&p), "--out", o], needles);
        assert!(!out.exists(), "{plan}: nothing written");
    }
    refused(
        &[
            "sweep",
            "plan",
            s(&root.path().join("none.toml")),
            "--out",
            o,
        ],
        &["none.toml"],
    );
    let good = write("good.toml", DEPTH);
    ok(&["sweep", "plan", s(&good), "--out", o]);
    let again = text(&ok(&["sweep", "plan", s(&good), "--out", o]));
    assert!(again.contains("already planned"), "{again}");
    let before = std::fs::read(out.join("plan.json")).unwrap();
    let other = write("other.toml", &DEPTH.replace("trials = 7", "trials = 8"));
    refused(&["sweep", "plan", s(&other), "--out", o], &["another plan"]);
    assert_eq!(std::fs::read(out.join("plan.json")).unwrap(), before);
    refused(
        &["sweep", "plan", s(&good), "--out", s(root.path())],
        &["--out", "not a sweep directory"],
    );
    refused(&["sweep", "run", o, "--shard", "2/2"], &["--shard", "2/2"]);
    refused(&["sweep", "run", o, "--shard", "x"], &["--shard"]);
    refused(&["sweep", "run", s(root.path())], &["no plan here"]);
    refused(
        &["sweep", "slurm", o, "--array-size", "0"],
        &["--array-size"],
    );
    refused(
        &[
            "sweep",
            "slurm",
            o,
            "--array-size",
            "2",
            "--time",
            "1:00 --wrap=x",
        ],
        &["--time"],
    );
}

#[test]
fn the_slurm_script_runs_one_shard_per_array_task() {
    let root = tempfile::tempdir().unwrap();
    let dir = planned(root.path(), "sl", DEPTH);
    ok(&[
        "sweep",
        "slurm",
        s(&dir),
        "--array-size",
        "3",
        "--parallel",
        "2",
        "--time",
        "10:00",
        "--partition",
        "debug",
    ]);
    let script = dir.join("slurm").join("sweep-3.sbatch");
    let body = std::fs::read_to_string(&script).unwrap();
    for line in [
        "#SBATCH --array=0-2%2",
        "#SBATCH --time=10:00",
        "#SBATCH --partition=debug",
        "--shard \"$SLURM_ARRAY_TASK_ID/3\"",
    ] {
        assert!(body.contains(line), "{line}: {body}");
    }
    // What each array task does, by hand.
    for i in 0..3 {
        let st = std::process::Command::new("bash")
            .arg(&script)
            .env("SLURM_ARRAY_TASK_ID", i.to_string())
            .env("SLURM_CPUS_PER_TASK", "1")
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    }
    let one = planned(root.path(), "one", DEPTH);
    ok(&["sweep", "run", s(&one)]);
    assert_eq!(merged(&dir), merged(&one));
}

/// Whether a Slurm controller answers here (`.ci/run` starts one with scripts/slurm-up).
fn slurm_is_up() -> bool {
    std::process::Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

#[test]
fn a_real_slurm_job_array_merges_bitwise_as_one_process() {
    if !slurm_is_up() {
        // Past the harness's capture, so the skip is seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED a_real_slurm_job_array_merges_bitwise_as_one_process: no Slurm controller answers (sinfo); scripts/slurm-up starts one"
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    // From a plan file to a submitted job array in one command.
    let file = root.path().join("array.toml");
    std::fs::write(&file, ATTACK).unwrap();
    let dir = root.path().join("array");
    let out = ok(&[
        "sweep",
        "slurm",
        s(&dir),
        "--plan",
        s(&file),
        "--array-size",
        "4",
        "--parallel",
        "2",
        "--submit",
    ]);
    let id = text(&out).trim().to_string();
    assert!(id.parse::<u64>().is_ok(), "job id: {id}");
    let start = Instant::now();
    let mut seen = String::new();
    loop {
        let st = radex().args(["sweep", "status", s(&dir)]).output().unwrap();
        let t = text(&st);
        if seen.is_empty() && t.contains("slurm: job") {
            seen = t.clone();
        }
        if st.status.success() {
            let _ = writeln!(
                std::io::stderr(),
                "slurm job {id}: first status seen:\n{seen}final:\n{t}"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "not done in 600 s:\n{t}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Every array task wrote its log, and the shards the files of 4 tasks.
    for i in 0..4 {
        let log = dir.join("slurm").join(format!("{id}_{i}.out"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !log.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            text.contains(&format!("shard {i}/4")),
            "{}: {text}",
            log.display()
        );
    }
    let one = planned(root.path(), "one", ATTACK);
    ok(&["sweep", "run", s(&one)]);
    let m = merged(&dir);
    assert_eq!(m, merged(&one));
    matches_one_run("attack", &m);
}

#[test]
fn the_readmes_example_plans_expand() {
    let root = tempfile::tempdir().unwrap();
    let plans = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
    for (name, points) in [("slope", 10), ("depth-seeds", 8)] {
        let dir = root.path().join(name);
        let file = plans.join(format!("{name}.toml"));
        ok(&["sweep", "plan", s(&file), "--out", s(&dir)]);
        let plan: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
        assert_eq!(plan["points"].as_array().unwrap().len(), points, "{name}");
    }
}

/// The results file of shard 0 of `dir`, and its lines.
fn shard0(dir: &Path) -> (PathBuf, Vec<String>) {
    let file = dir.join("results").join("shard-0.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    (file.clone(), text.lines().map(String::from).collect())
}

/// The 1-based number of the first done line.
fn first_done(lines: &[String]) -> usize {
    1 + lines
        .iter()
        .position(|l| l.contains("\"event\":\"done\""))
        .unwrap()
}

/// Expects exit code `code` and a one-line message holding every needle.
fn fails(args: &[&str], code: i32, needles: &[&str]) {
    let out = radex().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err}");
    }
}

#[test]
fn a_grid_or_a_plan_over_the_limits_is_refused_before_anything_is_made() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    // Ten flags of ten values: 10^10 points, refused at once (it was built in memory, and
    // aborted).
    let mut grid = String::from("experiment = \"attack\"\narch = \"20,10\"\n");
    for f in ["seed", "trials", "eps", "pgd_steps", "queries", "c_max"] {
        grid.push_str(&format!("{f} = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"));
    }
    for f in ["random_start", "per_trial", "compare_init", "linf"] {
        grid.push_str(&format!(
            "{f} = [{}]\n",
            ["true", "false"].repeat(5).join(", ")
        ));
    }
    let file = root.path().join("grid.toml");
    std::fs::write(&file, grid).unwrap();
    let clock = Instant::now();
    refused(
        &["sweep", "plan", s(&file), "--out", s(&out)],
        &["grid", "10000000000 points", "at most 100000;"],
    );
    assert!(clock.elapsed() < Duration::from_secs(10), "refused at once");
    assert!(!out.exists(), "nothing written");
    // Two million one-trial units, refused before more than the limit are made.
    let file = root.path().join("units.toml");
    std::fs::write(
        &file,
        "experiment = \"attack\"\narch = \"20,10\"\nattack = \"onestep\"\ntrials = [1000000, 1000000]\nunit_trials = 1\n",
    )
    .unwrap();
    refused(
        &["sweep", "plan", s(&file), "--out", s(&out)],
        &["unit_trials", "2000000 units", "at most 1000000;"],
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_hand_edited_plan_is_refused_as_corrupt_naming_what_is_wrong() {
    let root = tempfile::tempdir().unwrap();
    let dir = planned(root.path(), "p", DEPTH);
    ok(&["sweep", "run", s(&dir), "--shard", "0/2"]);
    let path = dir.join("plan.json");
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let cases: [(Edit, &[&str]); 8] = [
        (
            |p| p["units"][1]["point"] = 99.into(),
            &["unit 1", "point 99"],
        ),
        (|p| p["units"][1]["part"] = 5.into(), &["unit 1", "part 5"]),
        (
            |p| p["units"][1]["end"] = 1_000_000_000_000_000_000u64.into(),
            &["unit 1", "trials 3..1000000000000000000"],
        ),
        (
            |p| {
                p["units"][1]["first"] = 6.into();
                p["units"][1]["end"] = 4.into();
            },
            &["unit 1", "trials 6..4", "first < end"],
        ),
        (
            |p| p["units"][1]["id"] = "0123456789abcdef".into(),
            &["unit 1 is 0123456789abcdef", "expected"],
        ),
        (
            |p| {
                p["units"].as_array_mut().unwrap().pop();
            },
            &["17 units, expected 18"],
        ),
        (
            |p| p["points"][0]["parts"][0]["trials"] = 1_000_000_000_000_000_000u64.into(),
            &["18 units, expected 333333333333333349"],
        ),
        (|p| p["units"][1]["point"] = (-1).into(), &["invalid value"]),
    ];
    for (edit, needles) in cases {
        let mut bad = good.clone();
        edit(&mut bad);
        std::fs::write(&path, serde_json::to_string_pretty(&bad).unwrap()).unwrap();
        let mut needles = needles.to_vec();
        let at = format!("corrupt plan {}: ", s(&path));
        needles.push(&at);
        for cmd in ["run", "status", "merge"] {
            refused(&["sweep", cmd, s(&dir)], &needles);
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&good).unwrap()).unwrap();
    ok(&["sweep", "run", s(&dir), "--shard", "1/2"]);
    matches_one_run("depth", &merged(&dir));
}

#[test]
fn a_line_that_is_not_a_record_is_named_by_file_and_line_by_status_run_and_merge() {
    let root = tempfile::tempdir().unwrap();
    let dir = planned(root.path(), "r", DEPTH);
    ok(&["sweep", "run", s(&dir)]);
    let (file, mut lines) = shard0(&dir);
    let n = first_done(&lines);
    // A field of a record renamed, the line sealed again: valid JSON and a valid checksum,
    // but not a record.
    let line = &lines[n - 1];
    let payload = match line.rfind(",\"sha256\":") {
        Some(k) => format!("{}}}", &line[..k]),
        None => line.clone(),
    };
    assert!(payload.contains("\"dead\":"));
    lines[n - 1] = radex::sweep::shard::seal(&payload.replacen("\"dead\":", "\"dead_\":", 1));
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let at = format!("{}: line {n}", s(&file));
    let st = radex().args(["sweep", "status", s(&dir)]).output().unwrap();
    assert_eq!(st.status.code(), Some(1));
    assert!(
        text(&st).contains(&at) && text(&st).contains("is not a record of `radex depth`"),
        "{}",
        text(&st)
    );
    assert!(!text(&st).contains("done 18"), "{}", text(&st));
    for cmd in ["run", "merge"] {
        fails(&["sweep", cmd, s(&dir)], 1, &[&at, "not a record"]);
    }
}

#[test]
fn a_line_of_another_sweep_is_refused_by_run_naming_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    let dir = planned(root.path(), "a", DEPTH);
    let other = planned(
        root.path(),
        "b",
        &DEPTH.replace("seed = [1, 2]", "seed = 3"),
    );
    ok(&["sweep", "run", s(&dir), "--shard", "0/2"]);
    ok(&["sweep", "run", s(&other)]);
    let (_, theirs) = shard0(&other);
    let (file, mut lines) = shard0(&dir);
    lines.push(theirs[first_done(&theirs) - 1].clone());
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let at = format!("{}: line {}", s(&file), lines.len());
    for args in [
        vec!["sweep", "run", s(&dir), "--shard", "1/2"],
        vec!["sweep", "run", s(&dir), "--shard", "0/2"],
        vec!["sweep", "merge", s(&dir)],
    ] {
        fails(&args, 1, &[&at, "not a unit of this plan"]);
    }
    let st = radex().args(["sweep", "status", s(&dir)]).output().unwrap();
    assert_eq!(st.status.code(), Some(1));
    assert!(text(&st).contains(&at), "{}", text(&st));
    assert!(
        !dir.join("results").join("shard-1.jsonl").exists(),
        "the refused run ran nothing"
    );
}

#[test]
fn a_changed_number_in_a_results_line_fails_its_checksum() {
    let root = tempfile::tempdir().unwrap();
    let dir = planned(root.path(), "c", DEPTH);
    ok(&["sweep", "run", s(&dir)]);
    let (file, mut lines) = shard0(&dir);
    let n = first_done(&lines);
    // A digit of the first record's first number changed: still valid JSON.
    let line = &mut lines[n - 1];
    let at = line.find("\"records\":[").unwrap();
    let k = at + line[at..].find(|c: char| c.is_ascii_digit()).unwrap();
    let digit = line.as_bytes()[k];
    let new = if digit == b'9' {
        '8'
    } else {
        (digit + 1) as char
    };
    line.replace_range(k..k + 1, &new.to_string());
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let at = format!("{}: line {n} is corrupt", s(&file));
    let st = radex().args(["sweep", "status", s(&dir)]).output().unwrap();
    assert_eq!(st.status.code(), Some(1));
    assert!(
        text(&st).contains(&at) && text(&st).contains("checksum"),
        "{}",
        text(&st)
    );
    for cmd in ["run", "merge"] {
        fails(&["sweep", cmd, s(&dir)], 1, &[&at, "checksum"]);
    }
}

#[test]
fn a_runner_with_another_shard_count_than_a_live_one_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = planned(root.path(), "n", DEPTH);
    // A live runner of shard 1 of 2 (a process that sleeps, holding the lock).
    let mut owner = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let lock = dir.join("results").join("shard-1.lock");
    std::fs::write(&lock, format!("{} {} 2\n", owner.id(), host.trim())).unwrap();
    let pid = format!("pid {}", owner.id());
    refused(
        &["sweep", "run", s(&dir), "--shard", "0/3"],
        &[
            "shard-1.lock",
            "shard 1 of 2",
            &pid,
            "3 shards",
            "--shard I/2",
        ],
    );
    assert!(
        !dir.join("results").join("shard-0.jsonl").exists(),
        "nothing ran"
    );
    assert!(!dir.join("results").join("shard-0.lock").exists());
    // The same count runs beside it.
    ok(&["sweep", "run", s(&dir), "--shard", "0/2"]);
    owner.kill().unwrap();
    owner.wait().unwrap();
    // Its owner gone, results of another count are fine: the units done are skipped.
    ok(&["sweep", "run", s(&dir), "--shard", "0/3"]);
    ok(&["sweep", "run", s(&dir), "--shard", "1/3"]);
    ok(&["sweep", "run", s(&dir), "--shard", "2/3"]);
    assert!(done_lines(&dir).values().all(|&n| n == 1));
    matches_one_run("depth", &merged(&dir));
}

#[test]
fn an_io_error_names_its_cause_once() {
    let root = tempfile::tempdir().unwrap();
    // `results` a file: the sweep's own error; `shard-0.jsonl` a directory: the shard's.
    let dir = planned(root.path(), "f", DEPTH);
    std::fs::remove_dir(dir.join("results")).unwrap();
    std::fs::write(dir.join("results"), "").unwrap();
    let out = radex().args(["sweep", "run", s(&dir)]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("File exists").count(), 1, "{err}");
    let dir = planned(root.path(), "g", DEPTH);
    std::fs::create_dir(dir.join("results").join("shard-0.jsonl")).unwrap();
    for cmd in ["run", "merge"] {
        let out = radex().args(["sweep", cmd, s(&dir)]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.matches("Is a directory").count(), 1, "{cmd}: {err}");
        assert!(err.contains("shard-0.jsonl"), "{cmd}: {err}");
    }
}
