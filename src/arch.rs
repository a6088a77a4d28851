//! Architectures (MATH 1, paper NN-DEF, and the general family of MATH 9): input dimension,
//! hidden widths and the law of the weights (activation, `sigma_w^2`, `sigma_b`, outputs);
//! parsing of `--arch` (with widths relative to `d` for sweeps), validation and the memory
//! estimate that is checked before any work starts.

use crate::act::Act;
use crate::choice::Choice;
use crate::error::{Result, invalid, num};

/// Weight initialisation (MATH 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// NN-DEF: `W_i` entries `N(0, 1/d_{i-1})`, output `N(0, 1/d_l)`.
    Nn,
    /// He: variance `2 / fan_in` for every matrix (paper Appendix B).
    He,
}

impl Choice for Init {
    const FLAG: &'static str = "--init";
    const ALL: &'static [(&'static str, Self)] = &[("nn", Init::Nn), ("he", Init::He)];
}

impl Init {
    /// Name as given to `--init`.
    pub fn name(self) -> &'static str {
        match self {
            Init::Nn => "nn",
            Init::He => "he",
        }
    }
}

impl Init {
    /// `sigma_w^2`: 1 for NN-DEF, 2 for He (MATH 9).
    pub fn sigma_w2(self) -> f64 {
        match self {
            Init::Nn => 1.0,
            Init::He => 2.0,
        }
    }
}

/// The law of the output weights `W_{l+1}` (MATH 9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputLaw {
    /// iid `N(0, sigma_w^2 / d_l)`, the paper's.
    #[default]
    Gauss,
    /// iid `+-sigma_w / sqrt(d_l)` (Bubeck, Cherapanamjeri, Gidel, Tachet des Combes 2021).
    Rademacher,
}

impl Choice for OutputLaw {
    const FLAG: &'static str = "--output-law";
    const ALL: &'static [(&'static str, Self)] = &[
        ("gauss", OutputLaw::Gauss),
        ("rademacher", OutputLaw::Rademacher),
    ];
}

/// The law of a random network beyond its shapes (MATH 9): the paper's network is
/// [`Family::paper`] (relu, `sigma_w^2 = 1`, no biases, one Gaussian output).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Family {
    /// Activation `phi`.
    pub act: Act,
    /// Weight variance times fan-in, `sigma_w^2` (1: NN-DEF, 2: He).
    pub sigma_w2: f64,
    /// Standard deviation of the biases (0: none, the paper's case).
    pub sigma_b: f64,
    /// Number of outputs `K`.
    pub outputs: usize,
    /// Law of the output weights.
    pub output_law: OutputLaw,
}

impl Default for Family {
    fn default() -> Self {
        Family::paper(Init::Nn)
    }
}

impl Family {
    /// The paper's network with initialisation `init` (MATH 1).
    pub fn paper(init: Init) -> Self {
        Family {
            act: Act::Relu,
            sigma_w2: init.sigma_w2(),
            sigma_b: 0.0,
            outputs: 1,
            output_law: OutputLaw::Gauss,
        }
    }

    /// The initialisation named by `sigma_w^2`, if it is 1 (`nn`) or 2 (`he`).
    pub fn init(&self) -> Option<Init> {
        if self.sigma_w2 == 1.0 {
            Some(Init::Nn)
        } else if self.sigma_w2 == 2.0 {
            Some(Init::He)
        } else {
            None
        }
    }

    /// The family as a table header says it: `init nn` for the paper's network, then every
    /// value that differs from it (`act tanh  sigma_w2 1.5  sigma_b 0.3  outputs 10`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.act != Act::Relu {
            parts.push(format!("act {}", self.act));
        }
        parts.push(match self.init() {
            Some(i) => format!("init {}", i.name()),
            None => format!("sigma_w2 {}", num(self.sigma_w2)),
        });
        if self.sigma_b != 0.0 {
            parts.push(format!("sigma_b {}", num(self.sigma_b)));
        }
        if self.outputs != 1 {
            parts.push(format!("outputs {}", self.outputs));
        }
        if self.output_law == OutputLaw::Rademacher {
            parts.push("output-law rademacher".into());
        }
        parts.join("  ")
    }

    /// [`Family::describe`], or for a given network (MATH 10), whose weights have no law: its
    /// activation, outputs and whether it has biases (`sigma_b` only marks that there are some).
    pub fn describe_for(&self, given: bool) -> String {
        if !given {
            return self.describe();
        }
        format!(
            "act {}  outputs {}  {} (given weights)",
            self.act,
            self.outputs,
            if self.sigma_b > 0.0 {
                "biases"
            } else {
                "no biases"
            }
        )
    }

    /// Whether the per-layer power-of-two rescaling of MATH 1 is exact: a positively
    /// homogeneous activation and no biases (MATH 9).
    pub fn rescalable(&self) -> bool {
        self.act.degree().is_some() && self.sigma_b == 0.0
    }

    /// Checks the values (errors name the flags).
    pub fn validate(&self) -> Result<()> {
        if !(self.sigma_w2.is_finite() && self.sigma_w2 > 0.0) {
            return Err(invalid(
                "--sigma-w2",
                num(self.sigma_w2),
                "expected a positive finite weight variance, e.g. 1 (NN-DEF) or 2 (He)",
            ));
        }
        if !(self.sigma_b.is_finite() && self.sigma_b >= 0.0) {
            return Err(invalid(
                "--sigma-b",
                num(self.sigma_b),
                "expected a finite bias standard deviation >= 0 (0: no biases)",
            ));
        }
        if self.outputs == 0 {
            return Err(invalid("--outputs", "0", "expected at least 1 output"));
        }
        Ok(())
    }
}

/// A concrete architecture `d_0, d_1, ..., d_l`, `K` outputs, and the law of its weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    /// Input dimension `d = d_0`.
    pub d: usize,
    /// Hidden widths `d_1..d_l` (at least one).
    pub widths: Vec<usize>,
    /// The law of the weights, biases and outputs (MATH 9).
    pub family: Family,
}

impl Arch {
    /// Validated constructor of the paper's network with initialisation `init`.
    pub fn new(d: usize, widths: Vec<usize>, init: Init) -> Result<Self> {
        Arch::with_family(d, widths, Family::paper(init))
    }

    /// Validated constructor of a network of the general family (MATH 9).
    pub fn with_family(d: usize, widths: Vec<usize>, family: Family) -> Result<Self> {
        family.validate()?;
        let a = Arch { d, widths, family };
        if a.widths.is_empty() {
            return Err(invalid(
                "--arch",
                a.spec(),
                "expected at least one hidden layer: 'D,W1[,W2...]', e.g. '1000,1000'",
            ));
        }
        if let Some(bad) = a.dims().iter().find(|&&w| w == 0) {
            return Err(invalid(
                "--arch",
                a.spec(),
                format!("expected every width >= 1, got {bad}"),
            ));
        }
        Ok(a)
    }

    /// Number of hidden layers `l`.
    pub fn depth(&self) -> usize {
        self.widths.len()
    }

    /// `d_0, d_1, ..., d_l`.
    pub fn dims(&self) -> Vec<usize> {
        let mut v = Vec::with_capacity(self.widths.len() + 1);
        v.push(self.d);
        v.extend_from_slice(&self.widths);
        v
    }

    /// The initialisation `sigma_w^2` names, if any (`nn` for 1, `he` for 2).
    pub fn init(&self) -> Option<Init> {
        self.family.init()
    }

    /// Number of outputs `K`.
    pub fn outputs(&self) -> usize {
        self.family.outputs
    }

    /// Width `d_i` for `i` in `0..=l+1` (`d_{l+1} = K`).
    pub fn width(&self, i: usize) -> usize {
        match i {
            0 => self.d,
            i if i <= self.depth() => self.widths[i - 1],
            i if i == self.depth() + 1 => self.family.outputs,
            _ => panic!("layer {i} out of range"),
        }
    }

    /// Shape `(d_i, d_{i-1})` of `W_i`, `i` in `1..=l+1`.
    pub fn shape(&self, i: usize) -> (usize, usize) {
        (self.width(i), self.width(i - 1))
    }

    /// Standard deviation of the entries of `W_i`, `sigma_w / sqrt(d_{i-1})` (MATH 1, 9).
    pub fn weight_std(&self, i: usize) -> f64 {
        (self.family.sigma_w2 / self.width(i - 1) as f64).sqrt()
    }

    /// Whether the network has biases (`sigma_b > 0`).
    pub fn has_bias(&self) -> bool {
        self.family.sigma_b > 0.0
    }

    /// Total number of weights, all layers.
    pub fn n_weights(&self) -> u128 {
        (1..=self.depth() + 1)
            .map(|i| {
                let (m, n) = self.shape(i);
                (m as u128).saturating_mul(n as u128)
            })
            .fold(0, u128::saturating_add)
    }

    /// Peak bytes of one dense network and a batch of `batch` inputs: the weights, the stored
    /// activations of every layer and three work buffers of the widest layer.
    pub fn dense_bytes(&self, elem_bytes: usize, batch: usize) -> u128 {
        let (sum, max) = self.width_sum_max();
        let activations = (batch as u128).saturating_mul(sum.saturating_add(3 * max));
        // Plus the f64 input and direction vectors of the trial.
        (self.n_weights().saturating_add(activations))
            .saturating_mul(elem_bytes as u128)
            .saturating_add(4 * 8 * self.d as u128)
    }

    /// Peak bytes of one lazy network (MATH 8) answering `queries` queries per layer, with
    /// batches of `batch` inputs: each reveal keeps two `f64` vectors, `8 (d_i + d_{i-1})` bytes
    /// (the output row stops revealing after one right and one left query), plus the
    /// activations of a batch as in [`Arch::dense_bytes`] and a few `f64` vectors of scratch.
    pub fn lazy_bytes(&self, elem_bytes: usize, queries: usize, batch: usize) -> u128 {
        let (sum, max) = self.width_sum_max();
        let revealed: u128 = (1..=self.depth() + 1)
            .map(|i| {
                let (m, n) = self.shape(i);
                let mn = m as u128 + n as u128;
                let k = if m == 1 {
                    queries.min(2) as u128
                } else {
                    (queries as u128).min(mn)
                };
                (8 * mn).saturating_mul(k)
            })
            .fold(0, u128::saturating_add);
        let activations = (batch as u128)
            .saturating_mul(sum + 3 * max)
            .saturating_mul(elem_bytes as u128);
        revealed
            .saturating_add(activations)
            .saturating_add(4 * 8 * max + 4 * 8 * self.d as u128)
    }

    /// `sum_i d_i` and `max_i d_i` over `d_0..d_l` (u128: no overflow).
    fn width_sum_max(&self) -> (u128, u128) {
        let d = self.d as u128;
        self.widths
            .iter()
            .fold((d, d), |(s, m), &w| (s + w as u128, m.max(w as u128)))
    }

    /// The architecture as `D,W1,...,WL`, with runs of four or more equal hidden widths
    /// written `WxN` (as `--arch` accepts them).
    pub fn spec(&self) -> String {
        let mut parts = vec![self.d.to_string()];
        let mut i = 0;
        while i < self.widths.len() {
            let w = self.widths[i];
            let run = self.widths[i..].iter().take_while(|&&v| v == w).count();
            if run >= 4 {
                parts.push(format!("{w}x{run}"));
            } else {
                parts.extend(std::iter::repeat_n(w.to_string(), run));
            }
            i += run;
        }
        parts.join(",")
    }
}

/// One entry of `--arch`: a fixed width or a width relative to the input dimension `d`,
/// `coef * d^exp / div`, rounded to the nearest integer and at least 1.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// A literal width.
    Fixed(usize),
    /// `coef * d^exp / div`.
    Relative { coef: f64, exp: f64, div: f64 },
}

impl Term {
    /// Parses one term: `500`, `d`, `2d`, `d/4`, `d^0.5`, `3d^1.5`, `0.5*d`.
    pub fn parse(flag: &'static str, s: &str) -> Result<Term> {
        let t = s.trim();
        let bad = |why: &str| invalid(flag, s, why.to_string());
        if t.is_empty() {
            return Err(bad(
                "expected a width, got an empty entry (check for stray commas)",
            ));
        }
        if let Ok(n) = t.parse::<u64>() {
            if n == 0 {
                return Err(bad("expected every width >= 1, got 0"));
            }
            return usize::try_from(n)
                .map(Term::Fixed)
                .map_err(|_| bad("width too large"));
        }
        let Some(pos) = t.find('d') else {
            return Err(bad(
                "expected a positive integer or a term in d such as 'd', '2d', 'd/4', 'd^0.5', '3d^1.5'",
            ));
        };
        let num = |x: &str, what: &str| -> Result<f64> {
            match x.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
                _ => Err(invalid(
                    flag,
                    s,
                    format!("expected a positive number as {what} in '{t}', got '{x}'"),
                )),
            }
        };
        let coef_str = t[..pos].trim().trim_end_matches('*');
        let coef = if coef_str.is_empty() {
            1.0
        } else {
            num(coef_str, "coefficient")?
        };
        let rest = &t[pos + 1..];
        let (pow_part, div) = match rest.split_once('/') {
            Some((p, q)) => (p, num(q, "divisor")?),
            None => (rest, 1.0),
        };
        let exp = if pow_part.is_empty() {
            1.0
        } else if let Some(e) = pow_part.strip_prefix('^') {
            num(e, "exponent")?
        } else {
            return Err(bad(
                "expected '^EXP' or '/DIV' after 'd', e.g. 'd^0.5' or 'd/4'",
            ));
        };
        Ok(Term::Relative { coef, exp, div })
    }

    /// The width for input dimension `d`.
    pub fn eval(&self, flag: &'static str, d: usize) -> Result<usize> {
        match *self {
            Term::Fixed(n) => Ok(n),
            Term::Relative { coef, exp, div } => {
                let v = (coef * (d as f64).powf(exp) / div).round().max(1.0);
                if !v.is_finite() || v > (1u64 << 52) as f64 {
                    return Err(invalid(
                        flag,
                        format!("{self}"),
                        format!("evaluates to {v:e} at d = {d}, too large for any machine"),
                    ));
                }
                Ok(v as usize)
            }
        }
    }

    /// True for the bare term `d`.
    pub fn is_d(&self) -> bool {
        matches!(*self, Term::Relative { coef, exp, div } if coef == 1.0 && exp == 1.0 && div == 1.0)
    }
}

impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Term::Fixed(n) => write!(f, "{n}"),
            Term::Relative { coef, exp, div } => {
                if coef != 1.0 {
                    write!(f, "{}", num(coef))?;
                }
                write!(f, "d")?;
                if exp != 1.0 {
                    write!(f, "^{}", num(exp))?;
                }
                if div != 1.0 {
                    write!(f, "/{}", num(div))?;
                }
                Ok(())
            }
        }
    }
}

/// Most layers one `TERMxN` entry may repeat.
pub const MAX_REPEAT: usize = 1_000_000;

/// Most hidden layers a network may have (a depth-10^6 network of width 32 holds 8 GB of
/// weights); checked while parsing, so validating a deep architecture costs no more memory.
pub const MAX_DEPTH: usize = 1_000_000;

/// A comma-separated list of terms, e.g. `--arch 1000,d,2d` or `--widths d,d/4`. An entry
/// `TERMxN` stands for `N` copies of `TERM` (`32x10000`: 10,000 layers of width 32).
pub fn parse_terms(flag: &'static str, s: &str) -> Result<Vec<Term>> {
    let mut out = Vec::new();
    for item in s.split(',') {
        match item.rsplit_once('x') {
            Some((t, n)) if n.trim().parse::<u64>().is_ok() => {
                let n = n.trim().parse::<u64>().unwrap_or(0) as usize;
                if !(1..=MAX_REPEAT).contains(&n) {
                    return Err(invalid(
                        flag,
                        s,
                        format!(
                            "expected a repeat count 1..={MAX_REPEAT} after 'x' in '{item}', e.g. '32x100'"
                        ),
                    ));
                }
                let term = Term::parse(flag, t)?;
                check_depth(flag, s, out.len() + n)?;
                out.extend(std::iter::repeat_n(term, n));
            }
            _ => {
                check_depth(flag, s, out.len() + 1)?;
                out.push(Term::parse(flag, item)?);
            }
        }
    }
    Ok(out)
}

fn check_depth(flag: &'static str, s: &str, terms: usize) -> Result<()> {
    // The input dimension is a term too.
    if terms > MAX_DEPTH + 1 {
        return Err(invalid(
            flag,
            s,
            format!("expected at most {MAX_DEPTH} hidden layers in all"),
        ));
    }
    Ok(())
}

/// Parses `--arch D,W1,...,WL` for a single architecture: `D` must be a number; widths may be
/// relative to it.
pub fn parse_arch(s: &str, family: Family) -> Result<Arch> {
    if s.split(',').next().is_some_and(|d| d.contains('x')) {
        return Err(invalid(
            "--arch",
            s,
            "expected the input dimension D (the first entry) to be a positive integer; 'WxN' repeats hidden widths only",
        ));
    }
    let terms = parse_terms("--arch", s)?;
    if terms.len() < 2 {
        return Err(invalid(
            "--arch",
            s,
            "expected the input dimension and at least one hidden width, 'D,W1[,W2...]', e.g. '1000,1000'",
        ));
    }
    let d = match terms[0] {
        Term::Fixed(d) => d,
        _ => {
            return Err(invalid(
                "--arch",
                s,
                "expected the input dimension D (the first entry) to be a positive integer",
            ));
        }
    };
    let widths = terms[1..]
        .iter()
        .map(|t| t.eval("--arch", d))
        .collect::<Result<Vec<_>>>()?;
    Arch::with_family(d, widths, family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_terms() {
        let w = |s: &str, d| Term::parse("--arch", s).unwrap().eval("--arch", d).unwrap();
        assert_eq!(w("d", 1000), 1000);
        assert_eq!(w("2d", 1000), 2000);
        assert_eq!(w("d/4", 1000), 250);
        assert_eq!(w("d^0.5", 10000), 100);
        assert_eq!(w("3d^1.5", 100), 3000);
        assert_eq!(w("0.5*d", 10), 5);
        assert_eq!(w("d/10000", 100), 1);
        assert_eq!(w("77", 5), 77);
    }

    #[test]
    fn bad_terms() {
        for s in ["0", "x", "", "-3", "2.5", "d^", "d/0", "d*2", "nand"] {
            assert!(Term::parse("--arch", s).is_err(), "{s}");
        }
    }

    #[test]
    fn arch_parsing() {
        let a = parse_arch("1000,d,d/2", Family::default()).unwrap();
        assert_eq!(a.dims(), vec![1000, 1000, 500]);
        assert!(parse_arch("1000", Family::default()).is_err());
        assert!(parse_arch("d,d", Family::default()).is_err());
        assert!(parse_arch("10,0,5", Family::default()).is_err());
        assert!(parse_arch("10,,5", Family::default()).is_err());
        let deep = parse_arch("32,64,32x3,d/2", Family::default()).unwrap();
        assert_eq!(deep.dims(), vec![32, 64, 32, 32, 32, 16]);
        assert_eq!(deep.spec(), "32,64,32,32,32,16");
        let deeper = parse_arch("32,64,32x300,16", Family::default()).unwrap();
        assert_eq!(deeper.spec(), "32,64,32x300,16");
        assert_eq!(
            parse_arch(&deeper.spec(), Family::default()).unwrap(),
            deeper
        );
        assert!(parse_arch("32,32x0", Family::default()).is_err());
        assert!(parse_arch("32,32xy", Family::default()).is_err());
        assert!(parse_arch("32x2,32", Family::default()).is_err());
    }
}
