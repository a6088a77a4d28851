//! The report directory of `radex reproduce`: `report.md` (one section per claim: the claim,
//! its reference, the command, the measured-vs-predicted table, the verdict and the plots), one
//! SVG per plot and `results.json` (every number, the seed, the version). Written into a
//! temporary directory beside the target and renamed onto it, so the report is complete or
//! absent; a previous report at the same path is replaced in the same way.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Section;
use super::plan::Plan;
use crate::error::Result;
use crate::files::{self, Existing};
use crate::report::table::{align, num};

/// Everything `results.json` holds.
#[derive(Serialize)]
pub struct Results<'a> {
    /// `"reproduce"`.
    pub command: &'static str,
    /// radex version.
    pub version: &'static str,
    /// Seed of every experiment.
    pub seed: u64,
    /// The experiments run.
    pub plan: &'a Plan,
    /// Whether every verdict agrees.
    pub all_agree: bool,
    /// Wall-clock seconds per experiment and in total.
    pub seconds: &'a serde_json::Value,
    /// The claims with their verdicts.
    pub sections: &'a [Section],
    /// Every experiment's full report, by job name.
    pub experiments: &'a serde_json::Value,
}

/// The manifest of a report directory: every file radex wrote there, with its length. A
/// directory is replaced only when it holds exactly these files, unchanged in length.
pub const MANIFEST: &str = "manifest.json";

/// `manifest.json`.
#[derive(Serialize, serde::Deserialize)]
struct Manifest {
    command: String,
    version: String,
    /// `(name, bytes)` of every file but the manifest itself.
    files: Vec<(String, u64)>,
}

/// Whether `dir` holds exactly an earlier radex report (see [`MANIFEST`]); the error names
/// the first file radex did not write.
pub fn replaceable(dir: &Path) -> std::result::Result<(), String> {
    let manifest = std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|s| serde_json::from_str::<Manifest>(&s).ok())
        .filter(|m| m.command == "reproduce")
        .ok_or_else(|| {
            format!("the directory exists and holds no radex report manifest ('{MANIFEST}'); choose a new path or remove it yourself")
        })?;
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the directory: {e}"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        if name == MANIFEST {
            continue;
        }
        let listed = manifest.files.iter().find(|(n, _)| n == name);
        let meta = std::fs::symlink_metadata(dir.join(name));
        match (listed, meta) {
            (Some((_, len)), Ok(m)) if m.is_file() && m.len() == *len => {}
            (Some(_), _) => {
                return Err(format!(
                    "'{name}' in it was changed since radex wrote it; choose a new path or remove the directory yourself"
                ));
            }
            (None, _) => {
                return Err(format!(
                    "it holds '{name}', which radex did not write; move it away or choose a new path"
                ));
            }
        }
    }
    Ok(())
}

/// Checks before any work that `dir` can receive the report: a new or empty directory, or an
/// earlier radex report (replaced), with a writable parent.
pub fn check_out(dir: &Path) -> Result<()> {
    files::check_dir("--out", dir, Existing::Replace(&replaceable))
}

/// A Markdown table cell: a bare `|` (as in `|f(x)|`) would end the cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// `report.md`.
pub fn markdown(results: &Results<'_>, summary: &str) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "# radex reproduce: Bartlett, Bubeck & Cherapanamjeri (NeurIPS 2021), measured\n\n\
         radex {} · seed {} · mode {:?} · {} s in total · every verdict agrees: **{}**\n\n\
         Each section states a claim of the paper, the command that reproduces its numbers \
         (same seed, any thread count), the measurements beside the predictions of MATH.md, \
         the verdict with its tolerance, and the plots. All numbers are in `results.json`.\n\n\
         ## Summary\n\n```\n{}```\n",
        results.version,
        results.seed,
        results.plan.mode,
        num(results.seconds["total"].as_f64().unwrap_or(f64::NAN)),
        if results.all_agree { "yes" } else { "no" },
        summary
    ));
    for s in results.sections {
        md.push_str(&format!(
            "\n## {}\n\n**Claim** ({}): {}\n\n**Command:**\n\n```\n{}\n```\n\n",
            s.title,
            s.reference,
            s.claim,
            s.commands.join("\n")
        ));
        md.push_str(
            "| quantity | measured | predicted | rule | verdict |\n|---|---|---|---|---|\n",
        );
        for v in &s.verdicts {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&v.quantity),
                num(v.measured),
                num(v.predicted),
                cell(&v.rule()),
                if v.agrees { "agrees" } else { "**disagrees**" }
            ));
        }
        md.push_str(&format!(
            "\n**Verdict: {}.** Tolerances:\n\n",
            if s.agrees { "agrees" } else { "disagrees" }
        ));
        let mut whys: Vec<&str> = Vec::new();
        for v in &s.verdicts {
            if !whys.contains(&v.why.as_str()) {
                whys.push(&v.why);
            }
        }
        for w in whys {
            md.push_str(&format!("- {w}\n"));
        }
        for n in &s.notes {
            md.push_str(&format!("\n{n}\n"));
        }
        for f in &s.figures {
            md.push_str(&format!(
                "\n![{}]({})\n\n*{}*\n",
                f.caption, f.file, f.caption
            ));
        }
    }
    md
}

/// The summary table: one row per verdict (claim, measured, predicted, verdict).
pub fn summary(sections: &[Section]) -> String {
    let mut cells = vec![vec![
        "claim".to_string(),
        "quantity".into(),
        "measured".into(),
        "predicted".into(),
        "verdict".into(),
    ]];
    for s in sections {
        for v in &s.verdicts {
            cells.push(vec![
                s.id.clone(),
                v.quantity.clone(),
                num(v.measured),
                num(v.predicted),
                format!(
                    "{} ({})",
                    if v.agrees { "agrees" } else { "DISAGREES" },
                    v.rule()
                ),
            ]);
        }
    }
    align(&cells)
}

fn save(dir: &Path, name: &str, text: &str, written: &mut Vec<(String, u64)>) -> io::Result<()> {
    let mut f = std::fs::File::create_new(dir.join(name))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    written.push((name.to_string(), text.len() as u64));
    Ok(())
}

/// Writes the report into `dir` atomically (see [`files::write_dir`]) and returns where it
/// went: `dir`, or `dir-N` when `dir` gained files radex did not write during the run.
///
/// # Errors
/// Any I/O error, in which case nothing is left behind and `dir` is as before.
pub fn write(dir: &Path, results: &Results<'_>, summary: &str) -> io::Result<PathBuf> {
    let (path, ()) = files::write_dir(dir, Existing::Replace(&replaceable), |tmp| {
        let mut written = Vec::new();
        for s in results.sections {
            for f in &s.figures {
                save(tmp, &f.file, &f.svg, &mut written)?;
            }
        }
        let json = serde_json::to_string_pretty(results).map_err(io::Error::other)? + "\n";
        save(tmp, "results.json", &json, &mut written)?;
        save(tmp, "report.md", &markdown(results, summary), &mut written)?;
        let manifest = Manifest {
            command: "reproduce".into(),
            version: results.version.into(),
            files: written,
        };
        let text = serde_json::to_string_pretty(&manifest).map_err(io::Error::other)? + "\n";
        save(tmp, MANIFEST, &text, &mut Vec::new())
    })?;
    Ok(path)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::reproduce::plan::Mode;

    #[test]
    fn reproduce_out_replaces_only_its_own_report() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("report");
        let plan = Plan::of(Mode::Quick);
        let seconds = serde_json::json!({"total": 1.0});
        let experiments = serde_json::json!({});
        let results = Results {
            command: "reproduce",
            version: "test",
            seed: 3,
            plan: &plan,
            all_agree: true,
            seconds: &seconds,
            sections: &[],
            experiments: &experiments,
        };
        check_out(&dir).unwrap();
        write(&dir, &results, "summary\n").unwrap();
        // An earlier report may be replaced, as a whole.
        check_out(&dir).unwrap();
        write(&dir, &results, "summary\n").unwrap();
        std::fs::write(dir.join("stale.svg"), "<svg/>").unwrap();
        assert!(
            check_out(&dir).is_err(),
            "a file radex did not write is kept"
        );
        // A file that appears during the run: the new report goes beside it, nothing is lost.
        let went = write(&dir, &results, "summary\n").unwrap();
        assert_eq!(went, root.path().join("report-1"));
        assert!(dir.join("stale.svg").exists() && went.join(MANIFEST).exists());
        std::fs::remove_dir_all(&went).unwrap();
        std::fs::remove_file(dir.join("stale.svg")).unwrap();
        check_out(&dir).unwrap();
        assert!(dir.join("report.md").exists() && dir.join(MANIFEST).exists());
        let names: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary directories left behind");
        // A directory that is not a report, or a file, is refused.
        let other = root.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("data.csv"), "1").unwrap();
        assert!(check_out(&other).is_err());
        assert!(check_out(&other.join("data.csv")).is_err());
    }
}
