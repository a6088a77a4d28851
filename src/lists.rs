//! Comma-separated lists given to flags (`--ds`, `--ks`, `--eps`, `--radii`, `--depths`): every
//! entry parsed, the list sorted ascending and a repeated value refused (it would be counted
//! twice), so no result depends on the order a list was written in.

use crate::error::{Result, invalid};

/// Positive integers, e.g. `--ds 256,512,1024`.
pub fn counts(flag: &'static str, s: &str) -> Result<Vec<usize>> {
    parse(flag, s, "positive integers", |t| {
        t.parse::<usize>().ok().filter(|&n| n >= 1)
    })
}

/// Positive finite numbers, e.g. `--eps 0.01,0.02`.
pub fn positives(flag: &'static str, s: &str) -> Result<Vec<f64>> {
    parse(flag, s, "positive numbers", |t| {
        t.parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0)
    })
}

/// Finite numbers `>= 0`, e.g. `--sigma-b 0,0.1,0.5`.
pub fn nonnegatives(flag: &'static str, s: &str) -> Result<Vec<f64>> {
    parse(flag, s, "numbers >= 0", |t| {
        t.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            // -0 is 0.
            .map(|v| v + 0.0)
    })
}

fn parse<T: PartialOrd + Copy>(
    flag: &'static str,
    s: &str,
    what: &str,
    item: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>> {
    let mut v = Vec::new();
    for t in s.split(',') {
        match item(t.trim()) {
            Some(x) => v.push((x, t.trim())),
            None => {
                return Err(invalid(
                    flag,
                    s,
                    format!(
                        "expected {what} separated by commas, got '{}'",
                        crate::error::cut(t)
                    ),
                ));
            }
        }
    }
    v.sort_by(|a, b| a.0.partial_cmp(&b.0).expect("finite values"));
    if let Some(w) = v.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(invalid(
            flag,
            s,
            format!(
                "'{}' and '{}' are the same value; give each value once",
                w[0].1, w[1].1
            ),
        ));
    }
    Ok(v.into_iter().map(|(x, _)| x).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_and_repeats_refused() {
        assert_eq!(counts("--ds", "64, 16,32").unwrap(), vec![16, 32, 64]);
        assert!(counts("--ds", "16,16,32").is_err());
        assert!(positives("--eps", "0.1,1e-1").is_err());
        assert_eq!(positives("--eps", "0.3,0.1").unwrap(), vec![0.1, 0.3]);
        for bad in ["", "1,,2", "0", "-1", "x", "1.5"] {
            assert!(counts("--ds", bad).is_err(), "{bad}");
        }
        for bad in ["", "nan", "inf", "0", "-1e-3"] {
            assert!(positives("--eps", bad).is_err(), "{bad}");
        }
        assert_eq!(nonnegatives("--sigma-b", "0.5,0").unwrap(), vec![0.0, 0.5]);
        // -0 is 0: a repeat of 0, and never a negative zero in the output.
        assert!(nonnegatives("--sigma-b", "0,-0").is_err());
        assert!(nonnegatives("--sigma-b", "-0").unwrap()[0].is_sign_positive());
        for bad in ["", "nan", "inf", "-1e-3"] {
            assert!(nonnegatives("--sigma-b", bad).is_err(), "{bad}");
        }
    }
}
