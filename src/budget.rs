//! Memory estimates, checked before any work starts: a run's estimated peak is the sum of
//! parts, each set by one flag (`--arch` the network, `--trials` the records, `--bootstrap`
//! the resamples, ...). An estimate above the limit (`--max-memory`, else `MemAvailable`) is
//! refused naming the flag of the largest part, and so is one the machine cannot reserve at
//! all (a `--max-memory` above physical memory), so no run ends in an allocation abort.
//! Sizes use saturating `u128` arithmetic: an overflow is simply too large.

use crate::error::{Error, Result, cut, invalid};

/// Bytes available to this run: `--max-memory` if given, else `MemAvailable` from
/// `/proc/meminfo` (None when it cannot be read, and then no limit applies).
pub fn memory_limit(max_memory: Option<u128>) -> Option<(u128, &'static str)> {
    if let Some(m) = max_memory {
        return Some((m, "--max-memory"));
    }
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib * 1024, "MemAvailable"))
}

/// Parses a byte count for `--max-memory`: `1000000`, `512M`, `8G`, `1.5GiB`, `2T` (binary
/// units).
pub fn parse_bytes(s: &str) -> Result<u128> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u128 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(invalid(
                "--max-memory",
                s,
                "expected bytes with an optional unit K, M, G or T, e.g. '8G'",
            ));
        }
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 1.0 && v * (mult as f64) < 1e36 => {
            Ok((v * mult as f64) as u128)
        }
        _ => Err(invalid(
            "--max-memory",
            s,
            "expected a size of at least 1 byte, e.g. '8G' or '512M'",
        )),
    }
}

/// One part of an estimate.
#[derive(Clone, Debug)]
struct Part {
    flag: &'static str,
    value: String,
    bytes: u128,
}

/// A run's estimated peak memory, by the flags that set its parts.
#[derive(Clone, Debug, Default)]
pub struct Budget {
    parts: Vec<Part>,
    fix: Option<String>,
}

impl Budget {
    /// An empty estimate.
    pub fn new() -> Budget {
        Budget::default()
    }

    /// Adds `bytes` set by `flag` (given `value`).
    pub fn part(mut self, flag: &'static str, value: impl Into<String>, bytes: u128) -> Budget {
        self.parts.push(Part {
            flag,
            value: cut(&value.into()),
            bytes,
        });
        self
    }

    /// What to suggest when the estimate does not fit (default: smaller sizes or a higher
    /// limit).
    pub fn fix(mut self, fix: impl Into<String>) -> Budget {
        self.fix = Some(fix.into());
        self
    }

    /// The estimated peak, saturating.
    pub fn total(&self) -> u128 {
        self.parts
            .iter()
            .fold(0u128, |a, p| a.saturating_add(p.bytes))
    }

    /// Checks the estimate against the limit, then that the machine can reserve it at all.
    pub fn check(&self, max_memory: Option<u128>) -> Result<()> {
        // The first of the largest parts.
        let Some(big) = self
            .parts
            .iter()
            .reduce(|a, b| if b.bytes > a.bytes { b } else { a })
        else {
            return Ok(());
        };
        let total = self.total();
        let fix = self.fix.clone().unwrap_or_else(|| {
            format!(
                "use a smaller '{}' or raise the limit with '--max-memory <BYTES>'",
                big.flag
            )
        });
        if let Some((available, limit_source)) = memory_limit(max_memory) {
            if total > available {
                return Err(Error::OutOfMemory {
                    flag: big.flag,
                    value: big.value.clone(),
                    estimate: total,
                    available,
                    limit_source,
                    fix: fix.into(),
                });
            }
        }
        if !crate::mem::reservable(total) {
            return Err(Error::Unreservable {
                flag: big.flag,
                value: big.value.clone(),
                estimate: total,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(parse_bytes("8G").unwrap(), 8 << 30);
        assert_eq!(parse_bytes("1.5KiB").unwrap(), 1536);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("8X").is_err());
        assert!(parse_bytes("-1G").is_err());
        assert!(parse_bytes("0.5").is_err());
        assert!(parse_bytes("1e400").is_err());
    }

    #[test]
    fn the_largest_part_is_blamed_and_overflow_is_too_large() {
        let b = Budget::new()
            .part("--arch", "10,10", 1000)
            .part("--trials", "1000000000000", u128::MAX)
            .part("--bootstrap", "5", u128::MAX);
        assert_eq!(b.total(), u128::MAX);
        let e = b.check(Some(1 << 30)).unwrap_err().to_string();
        assert!(e.contains("'--trials'"), "{e}");
        // Above any machine: refused even under a limit that allows it.
        let e = Budget::new()
            .part("--arch", "x", 1 << 100)
            .check(Some(1 << 110))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be reserved"), "{e}");
        Budget::new()
            .part("--arch", "x", 1 << 20)
            .check(None)
            .unwrap();
    }
}
