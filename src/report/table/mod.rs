//! Readable tables for stdout: every measured figure beside its prediction and source, one
//! file per subcommand; the helpers they share are here.

mod attack;
mod bottleneck;
mod depth;
mod export;
mod linearity;
mod minpert;
mod phase;
mod scaling;

pub use attack::{SummaryRow, attack_comparison_table, attack_rows, attack_table};
pub use bottleneck::bottleneck_table;
pub use depth::depth_table;
pub use export::export_summary;
pub use linearity::linearity_table;
pub use minpert::minpert_table;
pub use phase::{phase_table, phase_verdict};
pub use scaling::scaling_table;

use crate::net::Sampler;
use crate::rng::InputLaw;

/// Formats a number compactly: 4 significant digits, scientific when very small or large.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "n/a".into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.3e}")
    } else {
        let digits = if a >= 100.0 {
            1
        } else if a >= 1.0 {
            3
        } else {
            4
        };
        format!("{v:.digits$}")
    }
}

/// Aligns rows of cells into columns separated by two spaces.
pub fn align(rows: &[Vec<String>]) -> String {
    let ncol = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncol)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| format!("{s:<w$}", w = widths[c]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn precision_name(p: crate::scalar::Precision) -> &'static str {
    match p {
        crate::scalar::Precision::F64 => "f64",
        crate::scalar::Precision::F32 => "f32",
    }
}

fn sampler_name(s: Sampler) -> &'static str {
    match s {
        Sampler::Dense => "dense",
        Sampler::Lazy => "lazy",
    }
}

/// Joins numbers as `a / b / c` (per-layer values).
fn per_layer(v: &[f64]) -> String {
    v.iter().map(|x| num(*x)).collect::<Vec<_>>().join(" / ")
}

/// What the general family (MATH 9) changes in how the linearity and bottleneck tables read.
fn neighbourhood_notes(outputs: usize, input: InputLaw) -> String {
    let mut notes = String::new();
    if outputs >= 2 {
        notes.push_str(&format!(
            "K = {outputs} outputs: f is the margin F_y - max_(j != y) F_j against the label y = argmax F(x), at x and at every y (MATH 9)\n"
        ));
    }
    match input {
        InputLaw::Sphere => {}
        InputLaw::Gauss => notes.push_str("inputs N(0, I_d) (MATH 9)\n"),
        InputLaw::Box => notes.push_str(
            "inputs uniform in [0,1]^d; the sampled y are not clipped to the box (the network around x, on R^d) (MATH 9)\n",
        ),
    }
    notes
}
