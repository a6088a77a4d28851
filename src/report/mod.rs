//! Rendering records as a table, JSON, CSV or SVG plot, and writing them whole; `.npy` arrays
//! for `radex export`.

pub mod figures;
pub mod npy;
pub mod progress;
pub mod rows;
pub mod svg;
pub mod table;

use std::io::Write;
use std::path::Path;

/// Output format (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table.
    Table,
    /// One JSON object.
    Json,
    /// Comma-separated values.
    Csv,
}

/// Serialises to pretty JSON with a trailing newline.
pub fn to_json<S: serde::Serialize>(value: &S) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("records serialise");
    s.push('\n');
    s
}

/// Serialises rows to CSV with a header.
pub fn to_csv<S: serde::Serialize>(rows: &[S]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).expect("rows serialise");
    }
    String::from_utf8(w.into_inner().expect("in-memory writer")).expect("utf-8")
}

/// The directory a file or directory `path` is created in (`.` for a bare name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Checks, before any work, that `path` (given to `flag`) can be created: its parent exists
/// and a file can be made in it. Errors name the flag, the value and the fix.
pub fn check_parent(flag: &'static str, path: &Path) -> crate::Result<()> {
    let shown = path.display().to_string();
    let dir = parent_of(path);
    if !dir.is_dir() {
        return Err(crate::error::invalid(
            flag,
            shown,
            format!(
                "directory '{}' does not exist; create it first",
                dir.display()
            ),
        ));
    }
    tempfile::Builder::new()
        .prefix(".radex-check-")
        .tempfile_in(dir)
        .map(|_| ())
        .map_err(|e| {
            crate::error::invalid(
                flag,
                shown,
                format!("cannot write in '{}': {e}", dir.display()),
            )
        })
}

/// Writes `content` to `out` (stdout when `None` or `-`). A file is written to a temporary
/// name in the same directory and renamed, so it is complete or absent.
pub fn emit(content: &str, out: Option<&Path>) -> std::io::Result<()> {
    match out {
        None => write_stdout(content),
        Some(p) if p.as_os_str() == "-" => write_stdout(content),
        Some(path) => {
            let dir = parent_of(path);
            let mut tmp = tempfile::Builder::new()
                .prefix(".radex-")
                .suffix(".tmp")
                .tempfile_in(dir)?;
            tmp.write_all(content.as_bytes())?;
            tmp.as_file().sync_all()?;
            tmp.persist(path).map_err(|e| e.error)?;
            Ok(())
        }
    }
}

fn write_stdout(content: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(content.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`radex ... | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
