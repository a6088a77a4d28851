//! One shard's results file: JSON lines appended by a single writer, each written
//! whole, then flushed and fsynced before the next unit starts. A killed writer therefore loses
//! at most the unit it was running. It may leave a torn last line (no newline), which the next
//! writer detects and truncates and which is never read as a result. Each line ends with the
//! SHA-256 of the rest of it (`"sha256"`, the object's last field, over the line's bytes before
//! it with the closing brace), checked when it is read. A complete line that is not a JSON
//! object, or whose checksum is missing or does not match, is corruption: it is reported with
//! its line number, never skipped. A lock file beside the results, holding the owner's pid and
//! host and its run's number of shards, keeps a second writer off a running shard.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::{Error, io_at};

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

    /// The owner written in a lock file's text.
    pub fn parse(text: &str) -> Option<Owner> {
        parse_lock(text).map(|(owner, _)| owner)
    }
}

/// A lock file's text, `pid host N`: its owner, and the number of shards its run deals the
/// units to (absent in a lock written by hand as `pid host`).
pub fn parse_lock(text: &str) -> Option<(Owner, Option<usize>)> {
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    let host = words.next()?.to_string();
    let shards = match words.next() {
        None => None,
        Some(n) => Some(n.parse().ok()?),
    };
    if words.next().is_some() {
        return None;
    }
    Some((Owner { pid, host }, shards))
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
    /// Takes the lock file `path` (created exclusively, holding `pid host shards`, `shards`
    /// the number of shards of the run taking it). A lock whose owner has exited on this host
    /// is stale and taken over; a live owner, or one on another host, is refused.
    pub fn acquire(path: &Path, shards: usize) -> Result<Lock, Error> {
        for _ in 0..2 {
            // Removed by the front end's signal handler too (SIGTERM at a time limit), so a
            // rerun elsewhere is not refused; only SIGKILL leaves it (taken over on this host).
            let created = crate::files::create_pending(path, || {
                OpenOptions::new().write(true).create_new(true).open(path)
            });
            match created {
                Ok(mut f) => {
                    let me = Owner::this();
                    writeln!(f, "{} {} {shards}", me.pid, me.host).map_err(io_at(path))?;
                    f.sync_all().map_err(io_at(path))?;
                    return Ok(Lock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(path).map_err(io_at(path))?;
                    match Owner::parse(&text) {
                        Some(owner) if !owner.is_gone() => {
                            return Err(Error::Locked {
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

/// The name of a line's checksum field.
const SHA256: &str = "sha256";
/// What follows a line's payload: `,"sha256":"` 64 hex digits `"}`.
const SEAL_LEN: usize = 11 + 64 + 2;

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `object` (a JSON object's text, not empty, without a `sha256` field) with its checksum as
/// its last field: the SHA-256 of `object` itself.
///
/// # Panics
///
/// If `object` is not the text of a non-empty JSON object (the caller's bug).
pub fn seal(object: &str) -> String {
    assert!(
        object.starts_with('{') && object.ends_with('}') && object.len() > 2,
        "a results line is a non-empty JSON object"
    );
    let sum = sha256_hex(&[object.as_bytes()]);
    format!("{},\"{SHA256}\":\"{sum}\"}}", &object[..object.len() - 1])
}

/// Checks a line's checksum (a line written by [`seal`], without its newline).
fn check_seal(line: &[u8]) -> Result<(), String> {
    let missing =
        || format!("no checksum (a last field \"{SHA256}\"); it was not written by radex");
    if line.len() < SEAL_LEN + 2 {
        return Err(missing());
    }
    let (payload, tail) = line.split_at(line.len() - SEAL_LEN);
    let head = format!(",\"{SHA256}\":\"");
    let sum = &tail[head.len()..SEAL_LEN - 2];
    if !tail.starts_with(head.as_bytes())
        || !tail.ends_with(b"\"}")
        || !sum
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err(missing());
    }
    if sha256_hex(&[payload, b"}"]).as_bytes() != sum {
        return Err(
            "its checksum does not match: the line was changed after it was written".into(),
        );
    }
    Ok(())
}

/// A results file as read: its complete lines, the corrupt ones, and the byte offset of a
/// torn tail, if any.
#[derive(Debug, Default)]
pub struct Contents {
    /// Every complete line that is a JSON object with a matching checksum, in order, with
    /// its 1-based line number (the checksum field removed).
    pub lines: Vec<(usize, Map<String, Value>)>,
    /// Complete lines that are not (a [`Error::Corrupt`] each).
    pub corrupt: Vec<Error>,
    /// Where an unterminated last line starts (it is not a result).
    pub torn_at: Option<u64>,
}

/// Reads a results file (a missing file is empty), corrupt lines apart.
pub fn read(path: &Path) -> Result<Contents, Error> {
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
        let corrupt = |reason: String| Error::Corrupt {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        let line = &chunk[..chunk.len() - 1];
        match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(mut m)) => match check_seal(line) {
                Ok(()) => {
                    m.remove(SHA256);
                    out.lines.push((i + 1, m));
                }
                Err(reason) => out.corrupt.push(corrupt(reason)),
            },
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
    pub fn open(path: &Path, lock: Lock) -> Result<(Writer, Contents), Error> {
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

    /// Appends `record` (which must serialise to a non-empty JSON object without a `sha256`
    /// field) as one line with its checksum ([`seal`]), then flushes and fsyncs it.
    pub fn append(&mut self, record: &impl Serialize) -> Result<(), Error> {
        let text =
            serde_json::to_string(record).map_err(|e| io_at(&self.path)(io::Error::other(e)))?;
        let mut line = seal(&text);
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
        let (mut w, c) = Writer::open(&data, Lock::acquire(&lock, 1).unwrap()).unwrap();
        assert!(c.lines.is_empty() && c.torn_at.is_none());
        for u in 0..3 {
            w.append(&json!({"unit": u, "x": [1.5, null]})).unwrap();
        }
        let c = read(&data).unwrap();
        let units: Vec<(usize, i64)> = c
            .lines
            .iter()
            .map(|(n, m)| {
                assert!(
                    !m.contains_key("sha256"),
                    "the checksum is not a field read"
                );
                (*n, m["unit"].as_i64().unwrap())
            })
            .collect();
        assert_eq!(units, [(1, 0), (2, 1), (3, 2)]);
        assert!(c.torn_at.is_none());
    }

    #[test]
    fn a_torn_last_line_is_never_read_and_is_truncated_by_the_next_writer() {
        let (_dir, data, lock) = files();
        // A complete line, then a writer killed in the middle of its next one: the torn part
        // happens to parse, but it has no newline, so it is not a result.
        let (zero, one) = (seal("{\"unit\":0}"), seal("{\"unit\":1}"));
        fs::write(&data, format!("{zero}\n{one}")).unwrap();
        let c = read(&data).unwrap();
        assert_eq!(c.lines.len(), 1);
        assert_eq!(c.torn_at, Some(zero.len() as u64 + 1));
        let (mut w, c) = Writer::open(&data, Lock::acquire(&lock, 1).unwrap()).unwrap();
        assert_eq!(c.lines.len(), 1);
        w.append(&json!({"unit": 1})).unwrap();
        assert_eq!(
            fs::read_to_string(&data).unwrap(),
            format!("{zero}\n{one}\n")
        );
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_reported_with_its_number() {
        let (_dir, data, lock) = files();
        let (zero, two) = (seal("{\"unit\":0}"), seal("{\"unit\":2}"));
        for bad in ["{\"unit\":0\n", "[1, 2]\n"] {
            fs::write(&data, format!("{zero}\n{bad}{two}\n")).unwrap();
            let c = read(&data).unwrap();
            assert_eq!(c.lines.len(), 2, "the lines around it are read");
            let e = &c.corrupt[0];
            assert!(matches!(e, Error::Corrupt { line: 2, .. }), "{e}");
            assert!(e.to_string().contains("line 2"), "{e}");
            let e = Writer::open(&data, Lock::acquire(&lock, 1).unwrap()).unwrap_err();
            assert!(matches!(e, Error::Corrupt { line: 2, .. }));
        }
    }

    #[test]
    fn a_held_lock_refuses_a_second_writer_and_a_dead_owners_lock_is_taken_over() {
        let (_dir, _data, lock) = files();
        let held = Lock::acquire(&lock, 1).unwrap();
        let e = Lock::acquire(&lock, 1).unwrap_err();
        let me = Owner::this();
        assert!(
            matches!(&e, Error::Locked { owner, .. } if *owner == me),
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
        let taken = Lock::acquire(&lock, 1).unwrap();
        assert_eq!(
            fs::read_to_string(&lock).unwrap(),
            format!("{} {} 1\n", me.pid, me.host)
        );
        drop(taken);
        // One on another host cannot be checked: refused.
        fs::write(&lock, format!("{pid} some-other-host\n")).unwrap();
        assert!(matches!(Lock::acquire(&lock, 1), Err(Error::Locked { .. })));
    }

    #[test]
    fn a_line_changed_or_without_its_checksum_is_corrupt() {
        let (_dir, data, _lock) = files();
        let good = seal("{\"unit\":\"a\",\"records\":[0.5,1.25]}");
        assert!(good.ends_with("\"}"), "{good}");
        let changed = good.replace("1.25", "1.5");
        let bare = "{\"unit\":\"a\",\"records\":[0.5,1.25]}";
        let moved = good
            .replacen("{\"unit\":\"a\",", "{", 1)
            .replace("\"}", "\",\"unit\":\"a\"}");
        for (bad, why) in [
            (changed.as_str(), "does not match"),
            (bare, "no checksum"),
            (moved.as_str(), "no checksum"),
        ] {
            fs::write(&data, format!("{good}\n{bad}\n{good}\n")).unwrap();
            let c = read(&data).unwrap();
            assert_eq!(
                c.lines.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                [1, 3],
                "{bad}"
            );
            let e = &c.corrupt[0];
            assert!(matches!(e, Error::Corrupt { line: 2, .. }), "{e}");
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn the_lock_holds_the_number_of_shards_and_a_hand_written_one_reads() {
        let (_dir, _data, lock) = files();
        let held = Lock::acquire(&lock, 7).unwrap();
        let me = Owner::this();
        let text = fs::read_to_string(&lock).unwrap();
        assert_eq!(parse_lock(&text), Some((me.clone(), Some(7))));
        drop(held);
        assert_eq!(
            parse_lock(&format!("{} {}\n", me.pid, me.host)),
            Some((me, None))
        );
        for bad in ["", "12", "x host 2", "12 host x", "12 host 2 3"] {
            assert_eq!(parse_lock(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_io_error_names_its_cause_once_in_the_chain() {
        // What a writer gets on a full disk: the chain printed as `{:#}` prints it (the
        // message, then each source's) names the cause once.
        let (_dir, data, lock) = files();
        let (mut w, _) = Writer::open(&data, Lock::acquire(&lock, 1).unwrap()).unwrap();
        w.file = OpenOptions::new().write(true).open("/dev/full").unwrap();
        let e = w.append(&json!({"unit": 0})).unwrap_err();
        let mut chain = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            chain.push_str(&format!(": {s}"));
            source = s.source();
        }
        assert_eq!(
            chain.matches("No space left on device").count(),
            1,
            "{chain}"
        );
        assert!(chain.contains("shard-0.jsonl"), "{chain}");
    }
}
