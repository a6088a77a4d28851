//! Errors on user input. Every message names the flag, the bad value (cut to a readable
//! length) and the fix, on one line.

/// Library error: bad input detected before any work starts ([`Error::is_input`]), or an
/// output that cannot be written or drawn after it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A flag's value does not parse or is out of range.
    #[error("invalid value '{value}' for '{flag}': {reason}")]
    InvalidFlag {
        /// The flag as written on the command line, e.g. `--arch`.
        flag: &'static str,
        /// The offending value.
        value: String,
        /// What was expected and how to fix it.
        reason: String,
    },
    /// The run's estimated peak memory exceeds what is available.
    #[error(
        "'{flag}' {value}: the estimated peak memory {} exceeds the {} available ({limit_source}); {fix}",
        human_bytes(*.estimate),
        human_bytes(*.available)
    )]
    OutOfMemory {
        /// The flag whose value sets the size.
        flag: &'static str,
        /// Its value.
        value: String,
        /// Estimated peak bytes.
        estimate: u128,
        /// Bytes available.
        available: u128,
        /// Where the limit came from (`MemAvailable` or `--max-memory`).
        limit_source: &'static str,
        /// What to do about it.
        fix: Box<str>,
    },
    /// The run's estimated peak memory is more than this machine can reserve at all (a
    /// `--max-memory` above its physical memory).
    #[error(
        "'{flag}' {value}: the estimated peak memory {} cannot be reserved on this machine ('--max-memory' is above what it has); use smaller sizes",
        human_bytes(*.estimate)
    )]
    Unreservable {
        /// The flag whose value sets most of the size.
        flag: &'static str,
        /// Its value.
        value: String,
        /// Estimated peak bytes.
        estimate: u128,
    },
    /// An output that could not be written, after the work. The cause is part of the
    /// message, not a source of it, so a chain printed with `{:#}` names it once.
    #[error("{context}: {cause}")]
    Io {
        /// What was being written.
        context: String,
        /// Why it failed.
        cause: std::io::Error,
    },
    /// A figure that could not be drawn.
    #[error("could not draw a figure: {0}")]
    Plot(String),
}

impl Error {
    /// Whether the error is bad input, found before any work (the CLI exits with 2), rather
    /// than a failure after it.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidFlag { .. } | Error::OutOfMemory { .. } | Error::Unreservable { .. }
        )
    }
}

/// Result alias of the library.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error::InvalidFlag`] (the value cut to a readable length by [`cut`]).
pub fn invalid(flag: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidFlag {
        flag,
        value: cut(&value.into()),
        reason: reason.into(),
    }
}

/// Longest value an error message echoes whole.
const SHOWN_CHARS: usize = 64;

/// `value` as an error message shows it: whole up to 64 characters, else its first 48, an
/// ellipsis and its length, on one line.
pub fn cut(value: &str) -> String {
    let one_line = value.replace(['\n', '\r'], " ");
    let n = one_line.chars().count();
    if n <= SHOWN_CHARS {
        return one_line;
    }
    let head: String = one_line.chars().take(48).collect();
    format!("{head}... ({n} characters)")
}

/// A number as an error message shows it: plain when of moderate size, else in exponent form
/// (`1e308`, not 309 digits).
pub fn num(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e6).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

/// Formats a byte count with a binary unit, e.g. `1.50 GiB`.
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else if v >= 1e4 {
        format!("{:.2e} B", bytes as f64)
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output error names its cause once: in its message, with no source to print again
    /// (the CLI prints the chain with `{:#}`).
    #[test]
    fn an_output_error_names_its_cause_once() {
        let e = Error::Io {
            context: "could not write the report to 'r'".into(),
            cause: std::io::Error::from_raw_os_error(28),
        };
        assert!(std::error::Error::source(&e).is_none());
        let text = e.to_string();
        assert_eq!(text.matches("No space left on device").count(), 1, "{text}");
    }
}
