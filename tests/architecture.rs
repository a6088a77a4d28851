//! The library's layering (docs/ARCHITECTURE.md): each module imports only modules below it in
//! the data flow, and the module map of `src/lib.rs` names every module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The library's modules, lowest first: a module may name (`crate::m`) only modules before it.
/// Comments (doc links) and `#[cfg(test)]` code are not imports and are not checked.
const ORDER: &[&str] = &[
    // foundations
    "error",
    "choice",
    "scalar",
    "vector",
    "lists",
    "mem",
    "progress",
    "npy",
    "files",
    "budget",
    "rng",
    // the network family
    "act",
    "arch",
    "record",
    "infinite_width",
    // the engine
    "brought",
    "net",
    // attacks and measurements
    "attack",
    "measure",
    // experiments
    "export_net",
    "experiment",
    // rendering
    "report",
    // library fronts
    "reproduce",
    "sweep",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file of a module (its file, or every file under its directory).
fn files_of(module: &str) -> Vec<PathBuf> {
    let file = src().join(format!("{module}.rs"));
    if file.is_file() {
        return vec![file];
    }
    let mut out = Vec::new();
    let mut stack = vec![src().join(module)];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

/// The modules `crate::NAME` names in the code of `text` (comments and test code left out).
fn named(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

#[test]
fn no_module_imports_a_module_above_it() {
    let rank: BTreeMap<&str, usize> = ORDER.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut wrong = Vec::new();
    for (i, module) in ORDER.iter().enumerate() {
        for file in files_of(module) {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in named(&text) {
                // `crate::with_real!` is a macro exported at the crate root by `scalar`.
                let r = if name == "with_real" {
                    Some(rank["scalar"])
                } else {
                    rank.get(name.as_str()).copied()
                };
                match r {
                    Some(r) if r <= i => {}
                    _ => wrong.push(format!(
                        "{} ({module}) names crate::{name}",
                        file.strip_prefix(src()).unwrap().display()
                    )),
                }
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the layering (docs/ARCHITECTURE.md):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_module_map_names_every_module_and_the_order_lists_them() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let mut a = declared.clone();
    a.sort();
    let mut b = ORDER.to_vec();
    b.sort();
    assert_eq!(a, b, "src/lib.rs's modules and this test's ORDER differ");
    for m in declared {
        assert!(
            lib.contains(&format!("[`{m}`]")),
            "the module map of src/lib.rs does not name `{m}`"
        );
    }
}
