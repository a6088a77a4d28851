//! `radex minpert`: Min-Pert against `k` (MATH 7, Figure 1).

use super::*;
use crate::experiment::minpert::MinPertReport;

/// The Min-Pert summary as a table.
pub fn minpert_table(r: &MinPertReport) -> String {
    let mut out = format!(
        "radex minpert ({})\nd {}  seed {}  method {:?}\n\n",
        r.run.math, r.d, r.seed, r.method
    );
    let mut cells = vec![vec![
        "k".to_string(),
        "runs".into(),
        "mean ||delta*||/||x||".into(),
        "sd".into(),
        "sqrt(min(k,d)/d)".into(),
        "exact E (Beta)".into(),
        "(mean - E) / SE".into(),
    ]];
    for row in &r.rows {
        let z = if row.beta_standard_error > 0.0 {
            num((row.mean - row.beta_expectation) / row.beta_standard_error)
        } else {
            "-".into()
        };
        cells.push(vec![
            row.k.to_string(),
            row.runs.to_string(),
            num(row.mean),
            num(row.sd),
            num(row.sqrt_k_over_d),
            num(row.beta_expectation),
            z,
        ]);
    }
    out.push_str(&align(&cells));
    out
}
