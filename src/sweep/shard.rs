//! One shard's results file (issue 15): JSON lines appended by a single writer, each written
//! whole, then flushed and fsynced before the next unit starts. A killed writer therefore loses
//! at most the unit it was running. It may leave a torn last line (no newline), which the next
//! writer detects and truncates and which is never read as a result. A complete line that is not
//! a JSON object is corruption: it is reported with its line number, never skipped. A lock file
//! beside the results, holding the owner's pid and host, keeps a second writer off a running
//! shard.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

/// What can go wrong with a shard's files.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A complete line that is not a JSON object.
    #[error("{path}: line {line} is corrupt ({reason}); the shard needs repair by hand")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Its 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Another live process holds the shard.
    #[error(
        "{path}: shard is being written by pid {} on {}; wait for it or stop it (if it was killed with SIGKILL on another host, remove this lock file)",
        .owner.pid, .owner.host
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Who holds it.
        owner: Owner,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> ShardError + '_ {
    move |source| ShardError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The process holding a lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Its process id.
    pub pid: u32,
    /// Its host name.
    pub host: String,
}

impl Owner {
    /// This process.
    pub fn this() -> Owner {
        Owner {
            pid: std::process::id(),
            host: host_name(),
        }
    }

    /// Whether the owner is known to have exited: only decidable on its own host (where
    /// `/proc/<pid>` is absent once it has).
    pub fn is_gone(&self) -> bool {
        self.host == host_name() && !Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    pub fn parse(text: &str) -> Option<Owner> {
        let (pid, host) = text.trim_end().split_once(' ')?;
        Some(Owner {
            pid: pid.parse().ok()?,
            host: host.to_string(),
        })
    }
}

/// This machine's host name (Linux: the kernel's; "unknown" elsewhere).
fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// A held shard lock; the file is removed when it is dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock file `path` (created exclusively, holding `pid host`). A lock whose
    /// owner has exited on this host is stale and taken over; a live owner, or one on another
    /// host, is refused.
    pub fn acquire(path: &Path) -> Result<Lock, ShardError> {
        for _ in 0..2 {
            // Removed by the front end's signal handler too (SIGTERM at a time limit), so a
            // rerun elsewhere is not refused; only SIGKILL leaves it (taken over on this host).
            let created = crate::files::create_pending(path, || {
                OpenOptions::new().write(true).create_new(true).open(path)
            });
            match created {
                Ok(mut f) => {
                    let me = Owner::this();
                    writeln!(f, "{} {}", me.pid, me.host).map_err(io_at(path))?;
                    f.sync_all().map_err(io_at(path))?;
                    return Ok(Lock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(path).map_err(io_at(path))?;
                    match Owner::parse(&text) {
                        Some(owner) if !owner.is_gone() => {
                            return Err(ShardError::Locked {
                                path: path.to_path_buf(),
                                owner,
                            });
                        }
                        // Stale (or written only in part by an owner killed at once).
                        _ => fs::remove_file(path).map_err(io_at(path))?,
                    }
                }
                Err(e) => return Err(io_at(path)(e)),
            }
        }
        Err(io_at(path)(io::Error::other("the lock kept reappearing")))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        crate::files::forget_pending(&self.path);
    }
}

/// A results file as read: its complete lines, the corrupt ones, and the byte offset of a
/// torn tail, if any.
#[derive(Debug, Default)]
pub struct Contents {
    /// Every complete line that is a JSON object, in order.
    pub lines: Vec<Map<String, Value>>,
    /// Complete lines that are not (a [`ShardError::Corrupt`] each).
    pub corrupt: Vec<ShardError>,
    /// Where an unterminated last line starts (it is not a result).
    pub torn_at: Option<u64>,
}

/// Reads a results file (a missing file is empty), corrupt lines apart.
pub fn read(path: &Path) -> Result<Contents, ShardError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Contents::default()),
        Err(e) => return Err(io_at(path)(e)),
    };
    let mut out = Contents::default();
    let mut start = 0;
    for (i, chunk) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        if chunk.last() != Some(&b'\n') {
            out.torn_at = Some(start as u64);
            break;
        }
        let corrupt = |reason: String| ShardError::Corrupt {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        match serde_json::from_slice::<Value>(&chunk[..chunk.len() - 1]) {
            Ok(Value::Object(m)) => out.lines.push(m),
            Ok(_) => out.corrupt.push(corrupt("not a JSON object".into())),
            Err(e) => out.corrupt.push(corrupt(e.to_string())),
        }
        start += chunk.len();
    }
    Ok(out)
}

/// The single writer of a results file, holding its lock.
#[derive(Debug)]
pub struct Writer {
    file: File,
    path: PathBuf,
    _lock: Lock,
}

impl Writer {
    /// Opens `path` for appending under `lock`: reads what is there (refusing a corrupt file),
    /// and truncates a torn tail so the next line starts clean.
    pub fn open(path: &Path, lock: Lock) -> Result<(Writer, Contents), ShardError> {
        let mut contents = read(path)?;
        if !contents.corrupt.is_empty() {
            return Err(contents.corrupt.swap_remove(0));
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_at(path))?;
        if let Some(at) = contents.torn_at {
            file.set_len(at).map_err(io_at(path))?;
            file.sync_all().map_err(io_at(path))?;
        }
        Ok((
            Writer {
                file,
                path: path.to_path_buf(),
                _lock: lock,
            },
            contents,
        ))
    }

    /// Appends `record` (which must serialise to a JSON object) as one line, then flushes
    /// and fsyncs it.
    pub fn append(&mut self, record: &impl Serialize) -> Result<(), ShardError> {
        let mut line =
            serde_json::to_string(record).map_err(|e| io_at(&self.path)(io::Error::other(e)))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(io_at(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn files() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (data, lock) = (
            dir.path().join("shard-0.jsonl"),
            dir.path().join("shard-0.lock"),
        );
        (dir, data, lock)
    }

    #[test]
    fn appended_lines_read_back_in_order() {
        let (_dir, data, lock) = files();
        let (mut w, c) = Writer::open(&data, Lock::acquire(&lock).unwrap()).unwrap();
        assert!(c.lines.is_empty() && c.torn_at.is_none());
        for u in 0..3 {
            w.append(&json!({"unit": u, "x": [1.5, null]})).unwrap();
        }
        let c = read(&data).unwrap();
        let units: Vec<i64> = c
            .lines
            .iter()
            .map(|m| m["unit"].as_i64().unwrap())
            .collect();
        assert_eq!(units, [0, 1, 2]);
        assert!(c.torn_at.is_none());
    }

    #[test]
    fn a_torn_last_line_is_never_read_and_is_truncated_by_the_next_writer() {
        let (_dir, data, lock) = files();
        // A complete line, then a writer killed in the middle of its next one: the torn part
        // happens to parse, but it has no newline, so it is not a result.
        fs::write(&data, "{\"unit\":0}\n{\"unit\":1}").unwrap();
        let c = read(&data).unwrap();
        assert_eq!(c.lines.len(), 1);
        assert_eq!(c.torn_at, Some(11));
        let (mut w, c) = Writer::open(&data, Lock::acquire(&lock).unwrap()).unwrap();
        assert_eq!(c.lines.len(), 1);
        w.append(&json!({"unit": 1})).unwrap();
        assert_eq!(
            fs::read_to_string(&data).unwrap(),
            "{\"unit\":0}\n{\"unit\":1}\n"
        );
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_reported_with_its_number() {
        let (_dir, data, lock) = files();
        for bad in ["{\"unit\":0\n", "[1, 2]\n"] {
            fs::write(&data, format!("{{\"unit\":0}}\n{bad}{{\"unit\":2}}\n")).unwrap();
            let c = read(&data).unwrap();
            assert_eq!(c.lines.len(), 2, "the lines around it are read");
            let e = &c.corrupt[0];
            assert!(matches!(e, ShardError::Corrupt { line: 2, .. }), "{e}");
            assert!(e.to_string().contains("line 2"), "{e}");
            let e = Writer::open(&data, Lock::acquire(&lock).unwrap()).unwrap_err();
            assert!(matches!(e, ShardError::Corrupt { line: 2, .. }));
        }
    }

    #[test]
    fn a_held_lock_refuses_a_second_writer_and_a_dead_owners_lock_is_taken_over() {
        let (_dir, _data, lock) = files();
        let held = Lock::acquire(&lock).unwrap();
        let e = Lock::acquire(&lock).unwrap_err();
        let me = Owner::this();
        assert!(
            matches!(&e, ShardError::Locked { owner, .. } if *owner == me),
            "{e}"
        );
        assert!(e.to_string().contains(&format!("pid {}", me.pid)));
        drop(held);
        assert!(!lock.exists(), "dropping the lock removes its file");
        // A lock left by a process that has exited on this host is stale.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        fs::write(&lock, format!("{pid} {}\n", Owner::this().host)).unwrap();
        let taken = Lock::acquire(&lock).unwrap();
        assert_eq!(
            fs::read_to_string(&lock).unwrap(),
            format!("{} {}\n", me.pid, me.host)
        );
        drop(taken);
        // One on another host cannot be checked: refused.
        fs::write(&lock, format!("{pid} some-other-host\n")).unwrap();
        assert!(matches!(
            Lock::acquire(&lock),
            Err(ShardError::Locked { .. })
        ));
    }
}
