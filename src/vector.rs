//! Plain vector helpers in `f64`, each with one fixed summation order (so the bits of a result
//! never depend on where it is computed): the Euclidean norm and the dot product.

use crate::scalar::Real;

/// Euclidean norm accumulated in `f64`, left to right.
pub fn norm<T: Real>(v: &[T]) -> f64 {
    v.iter()
        .map(|x| {
            let x = x.to_f64();
            x * x
        })
        .sum::<f64>()
        .sqrt()
}

/// Dot product, left to right.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `||a - b||`, left to right.
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}
