//! `radex export`: the files written and radex's `f(x)` and `||grad f(x)||` (MATH 1).

use super::*;
use crate::export_net::{MANIFEST, Manifest};

/// What `radex export` prints: the directory, its files with their shapes, and radex's `f(x)`
/// and `||grad f(x)||` in full precision (to compare with a recomputation).
pub fn export_summary(m: &Manifest, dir: &std::path::Path) -> String {
    let mut out = format!(
        "radex export ({})\narch {}  {}  precision {}  seed {}  trial {}\n\nwrote {}\n",
        m.run.math,
        m.net.arch,
        m.net.family.describe(),
        precision_name(m.precision),
        m.seed,
        m.trial,
        dir.display()
    );
    let shape = |v: &[usize]| match v {
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = v.iter().map(|n| n.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    };
    let n = m.files.len();
    for (k, f) in m.files.iter().enumerate() {
        // Deep networks: the first and last files only.
        if n > 8 && (3..n - 3).contains(&k) {
            if k == 3 {
                out.push_str(&format!("  ... {} more\n", n - 6));
            }
            continue;
        }
        out.push_str(&format!("  {:<14} {}\n", f.name, shape(&f.shape)));
    }
    out.push_str(&format!("  {MANIFEST}\n\n"));
    if m.dead {
        out.push_str("dead network at x (some h_i(x) = 0): f(x) = 0, grad f(x) = 0 (MATH 2)\n");
    } else {
        out.push_str(&format!(
            "f(x)          = {}  (log2 |f(x)| = {:.4})\n||grad f(x)|| = {}  (log2 = {:.4})\n",
            m.f, m.log2_abs_f, m.grad_norm, m.log2_grad_norm
        ));
    }
    out
}
