//! Errors on user input. Every message names the flag, the bad value and the fix, on one line.

/// Library error: bad input detected before any work starts, or an output that cannot be written.
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
        "'{flag}' {value}: the estimated peak memory {} exceeds the {} available ({limit_source}); use smaller widths or fewer trials, or raise the limit with '--max-memory <BYTES>'",
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
        limit_source: String,
    },
}

/// Result alias of the library.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error::InvalidFlag`].
pub fn invalid(flag: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidFlag {
        flag,
        value: value.into(),
        reason: reason.into(),
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
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}
