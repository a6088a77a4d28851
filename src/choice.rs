//! Values of a flag with a fixed set of names (`--init nn|he`, `--attack onestep|..`): the
//! name each value has on the command line, in Python and in reports, and the one message
//! that refuses another name.

use crate::error::{Result, invalid};

/// A value of a flag with a fixed set of names (`--init nn|he`, `--attack onestep|..`).
pub trait Choice: Copy + PartialEq + 'static {
    /// The flag it is given to.
    const FLAG: &'static str;
    /// Every name with its value.
    const ALL: &'static [(&'static str, Self)];

    /// The value named `s`, or an error naming the flag and the choices.
    fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|&(_, v)| v)
            .ok_or_else(|| {
                invalid(
                    Self::FLAG,
                    s,
                    format!("expected one of {}", Self::names().join(", ")),
                )
            })
    }

    /// Its name.
    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map(|(n, _)| *n)
            .expect("every value is named")
    }

    /// Every name, in order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|(n, _)| *n).collect()
    }
}
