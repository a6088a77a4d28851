//! Golden outputs: every command of `tests/data/golden/v2/commands.txt` prints and writes, byte
//! for byte, what the binary of commit 2b8a80d printed and wrote (recorded by
//! `tests/data/golden/record`; `commands.txt` gives the conventions). Covered: every
//! subcommand in table, JSON and CSV, f64 and f32, dense and lazy samplers, the family flags,
//! each attack and `--attack all`, linf, `--per-trial`, brought networks and inputs with
//! `--compare-init`, `export`'s `.npy` files, the plots, `reproduce --quick`'s whole report
//! directory, and sweeps (plan, run in shards, status, merge in every format).
//!
//! Only what legitimately varies from run to run is masked, on both sides, and no number of a
//! result is: see [`mask`]. When a change of output is intended, rerun
//! `tests/data/golden/record target/release/radex` and commit the new recording with it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Groups whose commands the thread-count test reruns with `--threads 2` (cheap ones, over
/// every subcommand with a thread pool and both samplers).
const THREAD_GROUPS: &[&str] = &[
    "attack-all-json",
    "attack-lazy-json",
    "attack-tanh-json",
    "attack-st-compare-json",
    "scaling-json",
    "linearity-json",
    "bottleneck-json",
    "depth-json",
    "phase-json",
    "minpert-json",
    "sweep-depth",
];

/// Files larger than this were recorded as `FILE.zip` (one deflated entry), as `record` does.
const ZIPPED: &str = ".zip";

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden/v2")
}

/// One line of `commands.txt`.
struct Cmd {
    name: String,
    args: Vec<String>,
}

/// The commands sharing a working directory, in order.
struct Group {
    name: String,
    cmds: Vec<Cmd>,
}

/// The groups of `commands.txt`, in file order; a group's lines must be contiguous.
fn groups() -> Vec<Group> {
    let text = std::fs::read_to_string(golden().join("commands.txt")).unwrap();
    let mut out: Vec<Group> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace().map(str::to_string);
        let name = words.next().unwrap();
        let group = name.split('.').next().unwrap().to_string();
        let cmd = Cmd {
            name,
            args: words.collect(),
        };
        match out.last_mut() {
            Some(g) if g.name == group => g.cmds.push(cmd),
            _ => {
                assert!(
                    out.iter().all(|g| g.name != group),
                    "commands.txt: group {group} is not contiguous"
                );
                out.push(Group {
                    name: group,
                    cmds: vec![cmd],
                })
            }
        }
    }
    out
}

/// Every file under `dir`, by its path relative to `dir` with `/` separators, sorted.
fn walk(dir: &Path) -> Vec<String> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                go(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                let parts: Vec<_> = rel.iter().map(|p| p.to_str().unwrap()).collect();
                out.push(parts.join("/"));
            }
        }
    }
    let mut out = Vec::new();
    if dir.is_dir() {
        go(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// The recorded outputs of `group`, by golden path (`out/NAME.stdout`, `out/NAME.stderr`,
/// `files/GROUP/PATH`), zipped files unzipped.
fn recorded(group: &Group) -> BTreeMap<String, Vec<u8>> {
    let dir = golden();
    let mut out = BTreeMap::new();
    for cmd in &group.cmds {
        for stream in ["stdout", "stderr"] {
            let rel = format!("out/{}.{stream}", cmd.name);
            if let Ok(bytes) = std::fs::read(dir.join(&rel)) {
                out.insert(rel, bytes);
            }
        }
    }
    let files = dir.join("files").join(&group.name);
    for rel in walk(&files) {
        let bytes = std::fs::read(files.join(&rel)).unwrap();
        match rel.strip_suffix(ZIPPED) {
            Some(inner) => {
                let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
                let mut entry = zip.by_index(0).unwrap();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                out.insert(format!("files/{}/{inner}", group.name), data);
            }
            None => {
                out.insert(format!("files/{}/{rel}", group.name), bytes);
            }
        }
    }
    out
}

/// Runs `group` as `record` does, in a fresh directory holding copies of `inputs/`, with
/// `--threads 1` replaced by `--threads {threads}`: its outputs by golden path, or why not.
fn run(group: &Group, threads: &str) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let inputs = golden().join("inputs");
    let input_files = walk(&inputs);
    for rel in &input_files {
        std::fs::copy(inputs.join(rel), work.join(rel)).unwrap();
    }
    let mut out = BTreeMap::new();
    for cmd in &group.cmds {
        let mut args = cmd.args.clone();
        for i in 1..args.len() {
            if args[i - 1] == "--threads" {
                args[i] = threads.to_string();
            }
        }
        let res = Command::new(assert_cmd::cargo::cargo_bin("radex"))
            .args(&args)
            .current_dir(work)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("SLURM_ARRAY_TASK_COUNT")
            .env_remove("MN_CB")
            .output()
            .unwrap();
        if !res.status.success() {
            return Err(format!(
                "{}: radex {} exited with {}: {}",
                cmd.name,
                args.join(" "),
                res.status,
                String::from_utf8_lossy(&res.stderr).trim_end()
            ));
        }
        out.insert(format!("out/{}.stdout", cmd.name), res.stdout);
        if !res.stderr.is_empty() {
            out.insert(format!("out/{}.stderr", cmd.name), res.stderr);
        }
    }
    for rel in walk(work) {
        if input_files.contains(&rel) {
            continue;
        }
        let bytes = std::fs::read(work.join(&rel)).unwrap();
        if rel.ends_with("manifest.json") {
            manifest_sizes_are_right(&rel, &bytes, work)?;
        }
        out.insert(format!("files/{}/{rel}", group.name), bytes);
    }
    Ok(out)
}

/// A report directory's `manifest.json` lists each file with its size: the sizes must be
/// those of the files written (two of them are masked in the comparison, see [`mask`]).
fn manifest_sizes_are_right(rel: &str, bytes: &[u8], work: &Path) -> Result<(), String> {
    let manifest: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let Some(files) = manifest.get("files").and_then(|f| f.as_array()) else {
        return Ok(());
    };
    let dir = work.join(rel).parent().unwrap().to_path_buf();
    for entry in files {
        let Some([name, size]) = entry.as_array().map(Vec::as_slice) else {
            continue;
        };
        let name = name.as_str().unwrap();
        let len = std::fs::metadata(dir.join(name)).map(|m| m.len()).ok();
        if len != size.as_u64() {
            return Err(format!(
                "{rel}: lists {name} with {size} bytes, but it has {len:?}"
            ));
        }
    }
    Ok(())
}

/// Replaces what legitimately varies in the output at golden path `path` with `#`; applied to
/// the recording and the new output alike. Every mask, and why:
///
/// - the crate version, `"version": "0.1.0"` in every JSON report and manifest, `"radex":
///   "0.1.0"` in a sweep's `plan.json` and `radex 0.1.0 · seed` in `report.md`: a release
///   bumps it without changing a result;
/// - wall-clock times: `reproduce`'s total in its stdout header (`, 24 s)`), `report.md` (`·
///   24.444 s in total`) and `results.json` (the `"seconds"` object, one time per
///   experiment), and `done in 0.2 s` on the stderr of `reproduce` and `sweep run`;
/// - in `reproduce`'s `manifest.json`, the sizes of `results.json` and `report.md`, which
///   hold those times as text; [`run`] checks that every size listed is the file's;
/// - in a sweep's `results/shard-*.jsonl`, each event's `"at"` (the time), `"host"` and
///   `"pid"` (the machine and process that ran the unit), `"seconds"` (its wall time) and
///   `"sha256"` (the line's checksum, which covers those; `tests/sweep.rs` checks it).
///
/// Binary files (`.npy`) are compared unmasked.
fn mask(path: &str, bytes: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bytes.to_vec();
    };
    let mut t = text.to_string();
    for key in ["version", "radex"] {
        t = mask_json_value(&t, key);
    }
    if path.ends_with("report.md") {
        t = mask_token(&t, "radex ", " · seed");
        t = mask_token(&t, "· ", " s in total");
    }
    if path.starts_with("out/reproduce") && path.ends_with(".stdout") {
        t = mask_token(&t, ", ", " s)");
    }
    if path.ends_with(".stderr") {
        t = mask_token(&t, "done in ", " s");
    }
    if path.ends_with("results.json") {
        t = mask_json_value(&t, "seconds");
    }
    if path.ends_with("manifest.json") {
        for file in ["\"results.json\",", "\"report.md\","] {
            t = mask_token(&t, file, "\n");
        }
    }
    if path.contains("/results/shard-") && path.ends_with(".jsonl") {
        for key in ["at", "host", "pid", "seconds", "sha256"] {
            t = mask_json_value(&t, key);
        }
    }
    t.into_bytes()
}

/// Masks the value of every `"key":` (string, number, or object/array with what it holds).
fn mask_json_value(text: &str, key: &str) -> String {
    let pat = format!("\"{key}\":");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&pat) {
        let (head, tail) = rest.split_at(at + pat.len());
        out.push_str(head);
        let spaces = tail.len() - tail.trim_start_matches(' ').len();
        out.push_str(&tail[..spaces]);
        let value = &tail[spaces..];
        let len = json_value_len(value);
        out.push('#');
        rest = &value[len..];
    }
    out.push_str(rest);
    out
}

/// The length of the JSON value at the start of `s`.
fn json_value_len(s: &str) -> usize {
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for (i, c) in s.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    in_str = false;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' | '[' => depth += 1,
            '}' | ']' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            ',' | '}' | ']' | '\n' | ' ' if depth == 0 => return i,
            _ => {}
        }
    }
    s.len()
}

/// Masks every word (a run without whitespace, after any spaces) between `before` and `after`.
fn mask_token(text: &str, before: &str, after: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(before) {
        let (head, tail) = rest.split_at(at + before.len());
        out.push_str(head);
        let lead = tail.len() - tail.trim_start().len();
        let word = tail[lead..]
            .find(char::is_whitespace)
            .unwrap_or(tail.len() - lead);
        if word > 0 && tail[lead + word..].starts_with(after) {
            out.push_str(&tail[..lead]);
            out.push('#');
            rest = &tail[lead + word..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Where `new` first differs from `old`, told for a person: the line (or byte, in a binary
/// file) of each around the difference.
fn first_difference(old: &[u8], new: &[u8]) -> String {
    let at = old
        .iter()
        .zip(new)
        .position(|(a, b)| a != b)
        .unwrap_or(old.len().min(new.len()));
    let (Ok(old_t), Ok(new_t)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
        return format!(
            "byte {at} (a binary file: {} bytes recorded, {} now)",
            old.len(),
            new.len()
        );
    };
    let line_start = old_t[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_no = old_t[..at].matches('\n').count() + 1;
    let col = at - line_start;
    let excerpt = |t: &str| {
        let line = t[line_start..].split('\n').next().unwrap_or("");
        // Long lines (JSONL records): the part around the difference.
        let from = char_boundary(line, col.saturating_sub(60));
        let to = char_boundary(line, col + 100);
        let dots = |b: bool| if b { "..." } else { "" };
        format!(
            "{}{}{}",
            dots(from > 0),
            &line[from..to],
            dots(to < line.len())
        )
    };
    let end = |t: &str| if t.len() <= at { " (file ends)" } else { "" };
    format!(
        "line {line_no}, column {}:\n    recorded: {}{}\n    now:      {}{}",
        col + 1,
        excerpt(old_t),
        end(old_t),
        excerpt(new_t),
        end(new_t)
    )
}

/// The largest char boundary of `s` at or before `i`.
fn char_boundary(s: &str, i: usize) -> usize {
    (0..=i.min(s.len()))
        .rev()
        .find(|&j| s.is_char_boundary(j))
        .unwrap_or(0)
}

/// Compares one group's outputs with the recording: a message per difference.
fn compare(group: &Group, threads: &str) -> Vec<String> {
    let old = recorded(group);
    let new = match run(group, threads) {
        Ok(new) => new,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    for path in old.keys().filter(|p| !new.contains_key(*p)) {
        errors.push(format!("{path}: recorded, but not written now"));
    }
    for path in new.keys().filter(|p| !old.contains_key(*p)) {
        errors.push(format!("{path}: written now, but not recorded"));
    }
    for (path, old_bytes) in &old {
        let Some(new_bytes) = new.get(path) else {
            continue;
        };
        let (a, b) = (mask(path, old_bytes), mask(path, new_bytes));
        if a != b {
            errors.push(format!(
                "{path} (run with --threads {threads}) differs from the recording at {}",
                first_difference(&a, &b)
            ));
        }
    }
    errors
}

/// Runs `groups` in parallel, a worker per core, and fails with every difference found.
fn check(groups: &[&Group], threads: &str) {
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(g) = groups.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let e = compare(g, threads);
                    errors.lock().unwrap().extend(e);
                }
            });
        }
    });
    let mut errors = errors.into_inner().unwrap();
    errors.sort();
    assert!(
        errors.is_empty(),
        "{} golden output(s) differ from tests/data/golden/v2 (recorded by the binary of \
         2b8a80d; if the change is intended, rerun tests/data/golden/record and commit it):\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn every_golden_command_prints_and_writes_the_recorded_bytes() {
    let groups = groups();
    // The longest group first, so that it does not start last.
    let mut order: Vec<&Group> = groups.iter().collect();
    order.sort_by_key(|g| g.name != "reproduce");
    assert!(order.iter().map(|g| g.cmds.len()).sum::<usize>() >= 40);
    check(&order, "1");
}

#[test]
fn golden_outputs_do_not_depend_on_the_thread_count() {
    let groups = groups();
    let chosen: Vec<&Group> = groups
        .iter()
        .filter(|g| THREAD_GROUPS.contains(&g.name.as_str()))
        .collect();
    assert_eq!(
        chosen.len(),
        THREAD_GROUPS.len(),
        "a THREAD_GROUPS name is not a group"
    );
    check(&chosen, "2");
}

#[test]
fn the_masks_hide_only_what_they_name() {
    let json =
        "{\n  \"version\": \"0.1.0\",\n  \"seconds\": {\n    \"a\": 1.5\n  },\n  \"x\": 2.5\n}";
    assert_eq!(
        mask("files/r/results.json", json.as_bytes()),
        b"{\n  \"version\": #,\n  \"seconds\": #,\n  \"x\": 2.5\n}"
    );
    let line = "{\"at\":17.5,\"event\":\"done\",\"host\":\"vm\",\"pid\":12,\"records\":[1.5],\"seconds\":0.01}";
    assert_eq!(
        mask("files/s/sw/results/shard-0.jsonl", line.as_bytes()),
        b"{\"at\":#,\"event\":\"done\",\"host\":#,\"pid\":#,\"records\":[1.5],\"seconds\":#}"
    );
    // Not outside a sweep's results: plan.json's "seconds" is the cost model, a result.
    assert_eq!(
        mask("files/s/sw/plan.json", line.as_bytes())[..9],
        *b"{\"at\":17."
    );
    assert_eq!(
        mask(
            "out/x.stderr",
            b"unit 1 done in 0.01 s\nunit 2 done in 3 units\n"
        ),
        b"unit 1 done in # s\nunit 2 done in 3 units\n"
    );
    assert_eq!(
        mask(
            "out/reproduce.quick.stdout",
            b"(mode Quick, seed 1, 24 s)\n1, 2 s"
        ),
        b"(mode Quick, seed 1, # s)\n1, 2 s"
    );
    let md = "radex 0.1.0 · seed 1 · mode Quick · 9.411 s in total · ok 2.5 s";
    assert_eq!(
        String::from_utf8(mask("files/r/report/report.md", md.as_bytes())).unwrap(),
        "radex # · seed 1 · mode Quick · # s in total · ok 2.5 s"
    );
    let manifest = "[\n  \"results.json\",\n  4150418\n],\n[\n  \"report.md\",\n  28604\n],\n[\n  \"a.svg\",\n  9128\n]";
    assert_eq!(
        String::from_utf8(mask("files/r/report/manifest.json", manifest.as_bytes())).unwrap(),
        "[\n  \"results.json\",\n  #\n],\n[\n  \"report.md\",\n  #\n],\n[\n  \"a.svg\",\n  9128\n]"
    );
}
