//! `radex reproduce --quick` end to end: a complete report directory, SVGs that parse with data
//! in them, verdicts that are booleans with their tolerances, and an exit code that matches.

use crate::cli::radex;

/// A data element: a marker, or a coloured line through at least three points (axes and grid
/// lines are black or grey and straight).
fn has_data(doc: &roxmltree::Document) -> bool {
    doc.descendants().any(|n| {
        n.has_tag_name("circle")
            || (n.has_tag_name("polyline")
                && n.attribute("stroke").is_some_and(|s| {
                    !["#000000", "#FFFFFF", "#ffffff"].contains(&s) && !s.starts_with("#E")
                })
                && n.attribute("points")
                    .is_some_and(|p| p.split_whitespace().count() >= 3))
    })
}

#[test]
fn reproduce_quick_writes_a_complete_report() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("report");
    let out = radex()
        .args([
            "reproduce",
            "--quick",
            "-j",
            "2",
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let code = out.status.code();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        code == Some(0) || code == Some(1),
        "exit {code:?}: {stderr}"
    );
    // Progress names every experiment on stderr.
    for job in [
        "attack",
        "scaling",
        "linearity",
        "bottleneck",
        "depth",
        "minpert",
        "attack_tanh",
        "attack_erf",
        "attack_gelu",
        "phase",
    ] {
        assert!(stderr.contains(job), "no progress for {job}: {stderr}");
    }

    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["command"], "reproduce");
    assert_eq!(results["seed"], 1);
    assert!(results["version"].is_string());
    let sections = results["sections"].as_array().unwrap();
    let ids: Vec<&str> = sections.iter().map(|s| s["id"].as_str().unwrap()).collect();
    for id in [
        "theorem-1.1",
        "slope",
        "lemma-2.2",
        "near-linearity",
        "bottleneck",
        "lemma-2.5",
        "depth",
        "figure-1",
        "beyond-one-step",
        "phase",
    ] {
        assert!(ids.contains(&id), "missing section {id}");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let mut all = true;
    let mut svgs = 0;
    for s in sections {
        let verdicts = s["verdicts"].as_array().unwrap();
        assert!(!verdicts.is_empty(), "{}: no verdict", s["id"]);
        let mut section_agrees = true;
        for v in verdicts {
            let agrees = v["agrees"].as_bool().expect("verdict is a boolean");
            assert!(
                v["tolerance"]
                    .as_f64()
                    .is_some_and(|t| t.is_finite() && t >= 0.0)
            );
            assert!(v["why"].as_str().is_some_and(|w| !w.is_empty()));
            assert!(v["measured"].is_number() && v["predicted"].is_number());
            section_agrees &= agrees;
        }
        assert_eq!(s["agrees"].as_bool().unwrap(), section_agrees);
        all &= section_agrees;
        let commands = s["commands"].as_array().unwrap();
        assert!(!commands.is_empty());
        for c in commands {
            assert!(
                md.contains(c.as_str().unwrap()),
                "report.md lacks the command {c}"
            );
        }
        let figures = s["figures"].as_array().unwrap();
        assert!(!figures.is_empty(), "{}: no plot", s["id"]);
        for f in figures {
            let file = f["file"].as_str().unwrap();
            let svg = std::fs::read_to_string(dir.join(file)).unwrap();
            let doc = roxmltree::Document::parse(&svg).expect("SVG is XML");
            assert!(doc.root_element().has_tag_name("svg"), "{file}");
            assert!(has_data(&doc), "{file} has no data element");
            assert!(md.contains(&format!("]({file})")), "report.md lacks {file}");
            svgs += 1;
        }
    }
    assert!(svgs >= 10);
    assert_eq!(results["all_agree"].as_bool().unwrap(), all);
    assert_eq!(
        code == Some(0),
        all,
        "exit code disagrees with the verdicts"
    );
    // Every verdict is in the stdout summary.
    let n_verdicts: usize = sections
        .iter()
        .map(|s| s["verdicts"].as_array().unwrap().len())
        .sum();
    let rows = stdout
        .lines()
        .filter(|l| l.contains("agrees (") || l.contains("DISAGREES ("))
        .count();
    assert_eq!(rows, n_verdicts, "{stdout}");
    // Nothing but the report beside it.
    let names: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("report")]);

    // A directory that is not a report is refused before any work, and left as it was.
    let foreign = root.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep").unwrap();
    let out = radex()
        .args(["reproduce", "--quick", "--out", foreign.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no radex report manifest"));
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "keep"
    );
}

#[test]
fn every_mode_validates_and_prints_its_commands() {
    for mode in [None, Some("--quick"), Some("--full")] {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("r");
        let mut cmd = radex();
        cmd.args([
            "reproduce",
            "--dry-run",
            "--seed",
            "7",
            "--max-memory",
            "20G",
        ]);
        cmd.args(["--out", out_dir.to_str().unwrap()]);
        if let Some(m) = mode {
            cmd.arg(m);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 11, "{text}");
        for l in &lines {
            assert!(l.starts_with("radex ") && l.ends_with("--seed 7"), "{l}");
        }
        assert!(!out_dir.exists(), "a dry run wrote the report");
    }
    // Memory for the whole plan is checked before any experiment starts.
    let out = radex()
        .args(["reproduce", "--quick", "--dry-run", "--max-memory", "1K"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Issue 12: the plan is typed, and the command the report prints for each experiment is
/// rendered from its arguments; given to `radex`, it gives exactly the numbers of the report.
#[test]
fn each_printed_command_reproduces_its_experiment_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let run = radex()
        .args([
            "reproduce",
            "--quick",
            "--seed",
            "3",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(run.status.success());
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let plan = results["plan"].as_object().unwrap();
    for (key, job) in plan {
        if key == "mode" {
            continue;
        }
        let name = job["name"].as_str().unwrap();
        let mut args: Vec<String> = job["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        args.extend(["--seed", "3", "--format", "json"].map(String::from));
        let got = radex().args(&args).output().unwrap();
        assert!(got.status.success(), "{args:?}");
        let mut got: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap();
        let mut want = results["experiments"][name].clone();
        // reproduce keeps the attack's per-trial records; the command prints the summary.
        want.as_object_mut().unwrap().remove("per_trial");
        got.as_object_mut().unwrap().remove("per_trial");
        assert_eq!(got, want, "{args:?}");
    }
}
