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
use crate::error::{Result, invalid};
use crate::report::parent_of;
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

/// The marker that identifies a directory as a radex report (so it may be replaced).
const MARKER: &str = "results.json";

fn is_report(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(MARKER))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .is_some_and(|v| v["command"] == "reproduce")
}

/// Checks before any work that `dir` can receive the report: new, empty, or a previous radex
/// report (replaced), with a writable parent.
pub fn check_out(dir: &Path) -> Result<()> {
    let shown = dir.display().to_string();
    if dir.exists() {
        if !dir.is_dir() {
            return Err(invalid(
                "--out",
                shown,
                "expected a directory path, got an existing file",
            ));
        }
        let empty = std::fs::read_dir(dir).is_ok_and(|mut it| it.next().is_none());
        if !empty && !is_report(dir) {
            return Err(invalid(
                "--out",
                shown,
                "the directory exists and is not a radex report; choose a new path",
            ));
        }
    }
    crate::report::check_parent("--out", dir)
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

fn save(path: &Path, text: &str) -> io::Result<()> {
    let mut f = std::fs::File::create_new(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Writes the report into `dir` atomically.
///
/// # Errors
/// Any I/O error, in which case the temporary directory is removed and `dir` is as before.
pub fn write(dir: &Path, results: &Results<'_>, summary: &str) -> io::Result<PathBuf> {
    let parent = parent_of(dir);
    let tmp = tempfile::Builder::new()
        .prefix(".radex-report-")
        .tempdir_in(parent)?;
    for s in results.sections {
        for f in &s.figures {
            save(&tmp.path().join(&f.file), &f.svg)?;
        }
    }
    let json = serde_json::to_string_pretty(results).map_err(io::Error::other)?;
    save(&tmp.path().join(MARKER), &(json + "\n"))?;
    save(&tmp.path().join("report.md"), &markdown(results, summary))?;
    // Replace a previous report: move it aside, move the new one in, then delete the old.
    let old = if dir.exists() {
        let aside = tempfile::Builder::new()
            .prefix(".radex-old-")
            .tempdir_in(parent)?;
        let aside_path = aside.keep();
        std::fs::remove_dir(&aside_path)?;
        std::fs::rename(dir, &aside_path)?;
        Some(aside_path)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(tmp.path(), dir) {
        if let Some(old) = &old {
            let _ = std::fs::rename(old, dir);
        }
        return Err(e);
    }
    let _ = tmp.keep();
    if let Some(old) = old {
        std::fs::remove_dir_all(old)?;
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reproduce::plan::Mode;

    #[test]
    fn a_previous_report_is_replaced_and_anything_else_refused() {
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
        std::fs::write(dir.join("stale.svg"), "<svg/>").unwrap();
        // An earlier report may be replaced, as a whole.
        check_out(&dir).unwrap();
        write(&dir, &results, "summary\n").unwrap();
        assert!(!dir.join("stale.svg").exists());
        assert!(dir.join("report.md").exists() && dir.join(MARKER).exists());
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
