//! Output files and directories: checked before any work, written whole, and never replacing
//! what radex was not asked to replace.
//!
//! - A new path or an existing regular file is written to a temporary file beside it and
//!   renamed onto it, so it is complete or absent; an existing file keeps its permissions (a new
//!   one gets `0666` less the umask, as `>` would give it).
//! - A device, FIFO or socket is written through (`/dev/null`, `/dev/stdout`, a pipe), and a
//!   write error there (`/dev/full`) is reported.
//! - Symbolic links are followed to their target.
//! - Every temporary name is `.radex-KIND-HOST-PID-XXXXXX`: the process that made it removes it
//!   on SIGINT/SIGTERM ([`remove_pending`]), and a later run on the same host removes the ones
//!   whose process no longer exists (a SIGKILL leaves them behind).
//! - A directory (`reproduce --out`, `export --out`) is built under a temporary name and renamed
//!   into place; an existing one is replaced only when the caller's check says it may be.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::error::{Result, invalid};

/// Longest file name (one path component) in bytes, `NAME_MAX` on Linux and macOS.
pub const NAME_MAX: usize = 255;

/// Temporary paths this process is writing, removed by [`remove_pending`] on a signal.
/// Each with, for a directory moved aside, where it goes back if the signal comes before its
/// replacement is in place.
static PENDING: Mutex<Vec<(PathBuf, Option<PathBuf>)>> = Mutex::new(Vec::new());

fn pending() -> MutexGuard<'static, Vec<(PathBuf, Option<PathBuf>)>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// This host's name as it appears in temporary names: letters, digits and dots only, at most
/// 32 bytes (`-` separates the fields of the name).
fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let raw = hostname().unwrap_or_default();
        let s: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(32)
            .collect();
        if s.is_empty() { "host".into() } else { s }
    })
}

#[cfg(unix)]
fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

#[cfg(not(unix))]
fn hostname() -> Option<String> {
    std::env::var("COMPUTERNAME").ok()
}

/// The prefix of this process's temporary names of `kind`.
fn temp_prefix(kind: &str) -> String {
    format!(".radex-{kind}-{}-{}-", host(), std::process::id())
}

/// Whether process `pid` exists on this host.
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

/// Removes temporaries in `dir` left by radex processes of this host that no longer exist (a
/// run killed with SIGKILL). Best effort, and only what radex makes under each name: a regular
/// file named as a temporary file (`tmp`, `check`), a directory named as a directory being
/// filled (`dir`). Nothing else is touched: not a symlink, not a directory named like a
/// temporary file, and not an earlier report moved aside (`old`), which is the user's.
pub fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(".radex-")) else {
            continue;
        };
        let mut fields = rest.splitn(4, '-');
        let (Some(kind), Some(h), Some(pid), Some(_)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if h != host() || pid == std::process::id() || alive(pid) {
            continue;
        }
        // `file_type` does not follow symlinks: a link is neither a file nor a directory.
        let _ = match (kind, e.file_type()) {
            ("tmp" | "check", Ok(t)) if t.is_file() => fs::remove_file(e.path()),
            ("dir", Ok(t)) if t.is_dir() => fs::remove_dir_all(e.path()),
            _ => Ok(()),
        };
    }
}

/// Removes every temporary path this process is writing and then runs `then` (e.g. re-raises
/// the signal) while still holding the list, so no new temporary path appears in between.
/// For the signal handler of a front end.
pub fn remove_pending<R>(then: impl FnOnce() -> R) -> R {
    let list = pending();
    for (p, restore) in list.iter() {
        undo(p, restore.as_deref());
    }
    let r = then();
    drop(list);
    r
}

/// Undoes one pending path: removes a temporary, or moves an earlier directory that was moved
/// aside back to `restore` when its replacement is not in place yet.
fn undo(p: &Path, restore: Option<&Path>) {
    match restore {
        Some(to) if fs::symlink_metadata(to).is_err() => {
            let _ = fs::rename(p, to);
        }
        _ => {
            let _ = fs::remove_dir_all(p).or_else(|_| fs::remove_file(p));
        }
    }
}

/// Creates a temporary path with `make` while holding the list, and records it (to remove, or
/// with `restore`, to move back there).
fn register<T>(
    make: impl FnOnce() -> io::Result<T>,
    path: impl Fn(&T) -> PathBuf,
    restore: Option<&Path>,
) -> io::Result<T> {
    let mut list = pending();
    let t = make()?;
    list.push((path(&t), restore.map(Path::to_path_buf)));
    Ok(t)
}

fn unregister(p: &Path) {
    pending().retain(|(q, _)| q != p);
}

/// Creates the file `path` with `make` and marks it for removal by [`remove_pending`] (a
/// signal) until [`forget_pending`]: a lock file that must not outlive a run stopped by
/// SIGTERM (a Slurm time limit), to be taken by a rerun on another node.
pub fn create_pending<T>(path: &Path, make: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    register(make, |_| path.to_path_buf(), None)
}

/// Ends [`create_pending`]'s mark (the file is removed or kept by its owner).
pub fn forget_pending(path: &Path) {
    unregister(path);
}

/// The directory a file or directory `path` is created in (`.` for a bare name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Follows symbolic links at `path` to the path they finally name (which may not exist yet).
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p)?;
                p = if target.is_absolute() {
                    target
                } else {
                    parent_of(&p).join(target)
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// A value cut to a readable length for an error message.
fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Checks the components of `path`: none longer than [`NAME_MAX`] bytes.
fn check_names(flag: &'static str, path: &Path) -> Result<()> {
    for c in path.components() {
        if let Component::Normal(n) = c {
            let len = n.as_encoded_bytes().len();
            if len > NAME_MAX {
                return Err(invalid(
                    flag,
                    shown(path),
                    format!(
                        "a file name in it is {len} bytes long, more than the {NAME_MAX} a file system allows; use a shorter name"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn ends_with_slash(path: &Path) -> bool {
    let s = path.as_os_str().as_encoded_bytes();
    s.ends_with(b"/") || s.ends_with(b"/.") || s == b"." || s.ends_with(b"/..") || s == b".."
}

/// Checks that the directory `dir` exists and a file can be created in it.
fn check_creatable_in(flag: &'static str, path: &Path, dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(invalid(
            flag,
            shown(path),
            format!(
                "directory '{}' does not exist; create it first",
                dir.display()
            ),
        ));
    }
    // A probe file, registered like every temporary so a signal in between removes it too.
    let probe = register(
        || {
            tempfile::Builder::new()
                .prefix(&temp_prefix("check"))
                .tempfile_in(dir)
        },
        |t| t.path().to_path_buf(),
        None,
    )
    .map_err(|e| {
        invalid(
            flag,
            shown(path),
            format!("cannot write in '{}': {e}", dir.display()),
        )
    })?;
    let probe_path = probe.path().to_path_buf();
    drop(probe);
    unregister(&probe_path);
    Ok(())
}

#[cfg(unix)]
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

#[cfg(not(unix))]
fn writable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| !m.permissions().readonly())
}

/// Checks, before any work, that the file `path` given to `flag` can be written: `-` (stdout),
/// a new file in an existing writable directory, an existing file the user may write, or a
/// device or FIFO. A directory, a path ending in `/`, or a name longer than [`NAME_MAX`]
/// bytes is refused.
pub fn check_file(flag: &'static str, path: &Path) -> Result<()> {
    if path.as_os_str() == "-" {
        return check_stdout(flag);
    }
    if path.as_os_str().is_empty() {
        return Err(invalid(flag, "", "expected a file path, got an empty one"));
    }
    if ends_with_slash(path) {
        return Err(invalid(
            flag,
            shown(path),
            "expected a file path, got a directory path (it ends in '/' or '.'); name the file",
        ));
    }
    check_names(flag, path)?;
    let real = resolve(path).map_err(|e| invalid(flag, shown(path), e.to_string()))?;
    match fs::metadata(&real) {
        Ok(m) if m.is_dir() => Err(invalid(
            flag,
            shown(path),
            "expected a file path, got a directory",
        )),
        Ok(m) => {
            if !writable(&real) {
                return Err(invalid(
                    flag,
                    shown(path),
                    "the file exists and is not writable; choose another path or change its permissions",
                ));
            }
            if m.is_file() {
                check_creatable_in(flag, path, parent_of(&real))
            } else {
                Ok(())
            }
        }
        Err(_) => check_creatable_in(flag, path, parent_of(&real)),
    }
}

/// The absolute path `path` resolves to, for comparing two outputs.
fn identity(path: &Path) -> Option<PathBuf> {
    let real = resolve(path).ok()?;
    let dir = fs::canonicalize(parent_of(&real)).ok()?;
    Some(match real.file_name() {
        Some(n) => dir.join(n),
        None => dir,
    })
}

/// Checks that no two outputs name the same file (the later one would silently replace the
/// earlier). `outputs` lists `(flag, path)` in the order they are written.
pub fn check_distinct(outputs: &[(&'static str, &Path)]) -> Result<()> {
    for (i, (flag, p)) in outputs.iter().enumerate() {
        if p.as_os_str() == "-" {
            continue;
        }
        for (other, q) in &outputs[..i] {
            if q.as_os_str() != "-" && identity(p).is_some() && identity(p) == identity(q) {
                return Err(invalid(
                    flag,
                    shown(p),
                    format!("it names the same file as '{other}'; give each output its own path"),
                ));
            }
        }
    }
    Ok(())
}

/// Whether stdout was open for writing when [`hold_stdout`] ran.
static STDOUT_OPEN: OnceLock<bool> = OnceLock::new();

/// Whether stdout is open for writing. Rust's runtime puts `/dev/null` (opened read-write) on
/// a descriptor that was closed at start-up, so that is taken as closed too: a shell's
/// `> /dev/null` opens it write-only.
#[cfg(unix)]
fn stdout_writable() -> bool {
    // SAFETY: F_GETFL only reads the descriptor's flags.
    let fl = unsafe { libc::fcntl(1, libc::F_GETFL) };
    if fl == -1 || fl & libc::O_ACCMODE == libc::O_RDONLY {
        return false;
    }
    if fl & libc::O_ACCMODE == libc::O_RDWR {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: an all-zero stat is a valid value for fstat to fill.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is valid for writes.
        let is_null = unsafe { libc::fstat(1, &mut st) } == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFCHR
            && fs::metadata("/dev/null").is_ok_and(|m| m.rdev() == st.st_rdev as u64);
        return !is_null;
    }
    true
}

#[cfg(not(unix))]
fn stdout_writable() -> bool {
    true
}

/// Records whether stdout is open for writing and, if it is closed, puts `/dev/null` on its
/// descriptor, so that no file the process opens later takes descriptor 1 and receives the
/// output. A front end calls this first thing; [`check_stdout`] then reports the closed
/// stdout as an error.
pub fn hold_stdout() {
    let open = stdout_writable();
    let _ = STDOUT_OPEN.set(open);
    #[cfg(unix)]
    if !open {
        // SAFETY: F_GETFD only asks whether descriptor 1 exists; open returns the lowest free
        // descriptor, which is 1 when it does not.
        unsafe {
            if libc::fcntl(1, libc::F_GETFD) == -1 {
                libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            }
        }
    }
}

/// Checks, before any work, that stdout is open for writing (a closed stdout would lose the
/// output); `flag` names the way around it.
pub fn check_stdout(flag: &'static str) -> Result<()> {
    {
        if !STDOUT_OPEN.get().copied().unwrap_or_else(stdout_writable) {
            return Err(invalid(
                flag,
                "-",
                "standard output is closed or not writable, and the output would be lost; redirect it (e.g. '> FILE')",
            ));
        }
    }
    Ok(())
}

/// Writes `content` to stdout. A closed pipe (`radex ... | head`) is not an error; a closed or
/// unwritable stdout is (Rust's own `Stdout` would swallow that).
pub fn write_stdout(content: &[u8]) -> io::Result<()> {
    #[cfg(unix)]
    let r = {
        use std::os::fd::FromRawFd;
        // SAFETY: fd 1 stays open; ManuallyDrop keeps this handle from closing it.
        let mut f = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
        f.write_all(content).and_then(|_| f.flush())
    };
    #[cfg(not(unix))]
    let r = {
        let mut out = io::stdout().lock();
        out.write_all(content).and_then(|_| out.flush())
    };
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// Writes `content` to `out`: stdout for `None` or `-`, else the file, whole (see the module
/// documentation).
pub fn write(out: Option<&Path>, content: &[u8]) -> io::Result<()> {
    match out {
        None => write_stdout(content),
        Some(p) if p.as_os_str() == "-" => write_stdout(content),
        Some(p) => write_file(p, content),
    }
}

/// Writes `content` to the file `path` (see the module documentation).
pub fn write_file(path: &Path, content: &[u8]) -> io::Result<()> {
    let real = resolve(path)?;
    let existing = fs::metadata(&real).ok();
    if let Some(m) = &existing {
        if m.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        }
        if !m.is_file() {
            // A device, FIFO or socket: write through, never replace.
            let mut f = OpenOptions::new().write(true).open(&real)?;
            f.write_all(content)?;
            return f.flush();
        }
    }
    let dir = parent_of(&real);
    remove_stale(dir);
    let prefix = temp_prefix("tmp");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Passed to open(2), so the umask applies: 0666 less the umask, like a shell's `>`.
        b.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut tmp = register(|| b.tempfile_in(dir), |t| t.path().to_path_buf(), None)?;
    let tmp_path = tmp.path().to_path_buf();
    let r = (|| {
        // Through the file itself: the temporary's own name is no part of an error.
        tmp.as_file_mut().write_all(content)?;
        if let Some(m) = &existing {
            keep_owner_and_mode(tmp.as_file(), m)?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(&real).map_err(|e| e.error)?;
        sync_dir(dir);
        Ok(())
    })();
    unregister(&tmp_path);
    r
}

/// Gives the new file the mode (and, where allowed, the owner) of the file it replaces.
fn keep_owner_and_mode(f: &File, old: &fs::Metadata) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Only root may give a file away; for anyone else the file stays theirs.
        let _ = std::os::unix::fs::fchown(f, Some(old.uid()), Some(old.gid()));
    }
    f.set_permissions(old.permissions())
}

/// Makes a rename in `dir` durable (best effort: not every file system supports it).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Whether `dir` is the current directory or one of its ancestors (it could not be renamed
/// while in use as the working directory, and replacing it would pull the ground from under
/// the user's shell).
fn contains_cwd(dir: &Path) -> bool {
    match (
        fs::canonicalize(dir),
        std::env::current_dir().and_then(fs::canonicalize),
    ) {
        (Ok(d), Ok(cwd)) => cwd.starts_with(d),
        _ => false,
    }
}

/// What an existing output directory may be.
pub enum Existing<'a> {
    /// Only an empty directory may be used.
    Empty,
    /// A non-empty directory may be replaced when this check passes; its error says why not.
    Replace(&'a dyn Fn(&Path) -> std::result::Result<(), String>),
}

/// Checks, before any work, that the directory `dir` given to `flag` can be written: a new
/// path in an existing writable directory, or an existing directory that `existing` allows.
pub fn check_dir(flag: &'static str, dir: &Path, existing: Existing<'_>) -> Result<()> {
    if dir.as_os_str().is_empty() {
        return Err(invalid(
            flag,
            "",
            "expected a directory path, got an empty one",
        ));
    }
    check_names(flag, dir)?;
    let real = resolve(dir).map_err(|e| invalid(flag, shown(dir), e.to_string()))?;
    if real.file_name().is_none() || contains_cwd(&real) {
        return Err(invalid(
            flag,
            shown(dir),
            "it is the current directory or contains it; name a new directory, e.g. 'report-2'",
        ));
    }
    if fs::symlink_metadata(&real).is_ok() {
        if !real.is_dir() {
            return Err(invalid(
                flag,
                shown(dir),
                "expected a directory path, got an existing file",
            ));
        }
        let empty = fs::read_dir(&real)
            .map_err(|e| invalid(flag, shown(dir), format!("cannot read the directory: {e}")))?
            .next()
            .is_none();
        if !empty {
            match existing {
                Existing::Empty => {
                    return Err(invalid(
                        flag,
                        shown(dir),
                        "expected a new or empty directory, got one that is not empty; choose another path",
                    ));
                }
                Existing::Replace(ok) => {
                    ok(&real).map_err(|why| invalid(flag, shown(dir), why))?;
                }
            }
        }
    }
    check_creatable_in(flag, dir, parent_of(&real))
}

/// Builds a directory with `fill` under a temporary name beside `dir` and renames it onto
/// `dir`. An existing `dir` is first checked again with `existing` (it may have changed since
/// [`check_dir`]) and moved aside, then removed once the new one is in place. When the check
/// now fails, nothing is replaced: the new directory is kept at the first free `dir-N` and
/// that path is returned. On an I/O error nothing is left behind and `dir` is as it was.
pub fn write_dir<T>(
    dir: &Path,
    existing: Existing<'_>,
    fill: impl FnOnce(&Path) -> io::Result<T>,
) -> io::Result<(PathBuf, T)> {
    let real = resolve(dir)?;
    let parent = parent_of(&real).to_path_buf();
    remove_stale(&parent);
    let tmp = register(
        || {
            tempfile::Builder::new()
                .prefix(&temp_prefix("dir"))
                .tempdir_in(&parent)
        },
        |t| t.path().to_path_buf(),
        None,
    )?;
    let tmp_path = tmp.path().to_path_buf();
    let r = (|| {
        let value = fill(&tmp_path)?;
        let target = match fs::read_dir(&real) {
            Err(_) => real.clone(),
            Ok(mut it) => {
                let allowed = match existing {
                    _ if it.next().is_none() => true,
                    Existing::Empty => false,
                    Existing::Replace(ok) => ok(&real).is_ok(),
                };
                if allowed {
                    real.clone()
                } else {
                    free_sibling(&real)
                }
            }
        };
        let aside = if target.exists() {
            let aside = register(
                || {
                    let t = tempfile::Builder::new()
                        .prefix(&temp_prefix("old"))
                        .make_in(&parent, |p| fs::rename(&target, p))?;
                    let p = t.path().to_path_buf();
                    t.into_temp_path().keep().map_err(|e| e.error)?;
                    Ok(p)
                },
                |p| p.clone(),
                Some(&target),
            )?;
            Some(aside)
        } else {
            None
        };
        if let Err(e) = fs::rename(&tmp_path, &target) {
            if let Some(a) = &aside {
                let _ = fs::rename(a, &target);
                unregister(a);
            }
            return Err(e);
        }
        sync_dir(&parent);
        if let Some(a) = aside {
            fs::remove_dir_all(&a)?;
            unregister(&a);
        }
        Ok((target, value))
    })();
    match &r {
        Ok(_) => {
            let _ = tmp.keep();
        }
        Err(_) => drop(tmp),
    }
    unregister(&tmp_path);
    r
}

/// The first of `dir-1`, `dir-2`, ... that does not exist.
fn free_sibling(dir: &Path) -> PathBuf {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    (1..)
        .map(|n| dir.with_file_name(format!("{name}-{n}")))
        .find(|p| fs::symlink_metadata(p).is_err())
        .expect("some sibling is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed_and_others_kept() {
        let root = tempfile::tempdir().unwrap();
        let dead = format!(".radex-tmp-{}-{}-abc.tmp", host(), i32::MAX as u32 - 7);
        let mine = format!("{}abc.tmp", temp_prefix("tmp"));
        let other_host = format!(
            ".radex-tmp-elsewhere{}-{}-abc.tmp",
            host(),
            i32::MAX as u32 - 7
        );
        let dead_dir = format!(".radex-dir-{}-{}-xyz", host(), i32::MAX as u32 - 7);
        let dead_link = format!(".radex-tmp-{}-{}-lnk.tmp", host(), i32::MAX as u32 - 7);
        let file_named_dir = format!(".radex-tmp-{}-{}-d.tmp", host(), i32::MAX as u32 - 7);
        let old = format!(".radex-old-{}-{}-o", host(), i32::MAX as u32 - 7);
        for f in [&dead, &mine, &other_host, "notes.txt"] {
            fs::write(root.path().join(f), "x").unwrap();
        }
        // A dead process's directory being filled is removed; a directory named like a
        // temporary file, and an earlier report moved aside, are kept with their files.
        for d in [&dead_dir, &file_named_dir, &old] {
            fs::create_dir(root.path().join(d)).unwrap();
            fs::write(root.path().join(d).join("a"), "x").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("notes.txt", root.path().join(&dead_link)).unwrap();
        remove_stale(root.path());
        assert!(!root.path().join(&dead).exists());
        assert!(!root.path().join(&dead_dir).exists());
        for d in [&file_named_dir, &old] {
            assert!(root.path().join(d).join("a").exists(), "{d} removed");
        }
        #[cfg(unix)]
        assert!(
            fs::symlink_metadata(root.path().join(&dead_link)).is_ok(),
            "symlink removed"
        );
        for f in [&mine, &other_host, "notes.txt"] {
            assert!(root.path().join(f).exists(), "{f} removed");
        }
    }

    #[test]
    fn a_signal_puts_back_a_directory_moved_aside_and_removes_temporaries() {
        let root = tempfile::tempdir().unwrap();
        let (report, aside, tmp) = (
            root.path().join("report"),
            root.path().join(".radex-old-x"),
            root.path().join(".radex-dir-x"),
        );
        fs::create_dir(&aside).unwrap();
        fs::write(aside.join("report.md"), "earlier").unwrap();
        fs::create_dir(&tmp).unwrap();
        // Interrupted between the move aside and the move in: the earlier report comes back.
        undo(&aside, Some(&report));
        undo(&tmp, None);
        assert_eq!(
            fs::read_to_string(report.join("report.md")).unwrap(),
            "earlier"
        );
        assert!(!aside.exists() && !tmp.exists());
        // Interrupted after the move in: the new one stays and the old is removed.
        fs::create_dir(&aside).unwrap();
        undo(&aside, Some(&report));
        assert!(!aside.exists() && report.join("report.md").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_symlink_its_target() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let f = root.path().join("out.json");
        fs::write(&f, "old").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
        write_file(&f, b"new").unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "new");
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let link = root.path().join("link.json");
        std::os::unix::fs::symlink("out.json", &link).unwrap();
        write_file(&link, b"via link").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&f).unwrap(), "via link");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 2, "debris left");
    }
}
