//! Statistics of per-trial measurements: quantiles, Wilson intervals, log-log regression with
//! a bootstrap interval, and the normal quantiles behind MATH 3's predictions.

/// Quantile `q` in `[0, 1]` of `v` by linear interpolation between order statistics (type 7,
/// numpy's default). NaN for an empty sample.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    quantile_sorted(&s, q)
}

/// [`quantile`] of an already sorted sample.
pub fn quantile_sorted(s: &[f64], q: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let h = (s.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// Arithmetic mean (NaN for an empty sample).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (denominator `n - 1`); NaN for fewer than two values.
pub fn sample_sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return f64::NAN;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Median, mean, 10th and 90th percentiles of a sample.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Median.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub median: f64,
    /// Mean.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub mean: f64,
    /// 10th percentile.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub p10: f64,
    /// 90th percentile.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub p90: f64,
}

impl Summary {
    /// Summary of `v` (NaN fields when empty).
    pub fn of(v: &[f64]) -> Summary {
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        Summary {
            median: quantile_sorted(&s, 0.5),
            mean: mean(&s),
            p10: quantile_sorted(&s, 0.1),
            p90: quantile_sorted(&s, 0.9),
        }
    }
}

/// Median with the 10th and 90th percentiles.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct Band {
    /// Median over networks.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub median: f64,
    /// 10th percentile.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub p10: f64,
    /// 90th percentile.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub p90: f64,
}

impl Band {
    /// Median, 10th and 90th percentiles of `v`.
    pub fn of(v: &[f64]) -> Band {
        Band {
            median: quantile(v, 0.5),
            p10: quantile(v, 0.1),
            p90: quantile(v, 0.9),
        }
    }
}

/// Standard normal quantile `Phi^{-1}(p)` (Acklam's rational approximation refined by one
/// Halley step on `erfc`; absolute error below 1e-12 on `(0, 1)`).
pub fn normal_quantile(p: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0, "p = {p}");
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let plow = 0.02425;
    let x = if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step against the exact CDF.
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Standard normal CDF `Phi(x)`.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function: the Taylor series of `erf` for `|x| < 2` and Laplace's
/// continued fraction (Lentz's method) beyond; relative error up to 2.3e-13.
///
/// `libm::erfc` (used by [`crate::act::normal_cdf`]) is more accurate, but the predictions
/// every report prints come from this one: replacing it moves them in the 16th digit
/// (2 Phi^{-1}(3/4) prints 1.348979500392164 instead of 1.3489795003921634), so the switch is
/// left to a change that announces new outputs.
pub fn erfc(x: f64) -> f64 {
    let ax = x.abs();
    let r = if ax < 2.0 {
        // erf(x) = 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let mut term = ax;
        let mut sum = ax;
        let x2 = ax * ax;
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= -x2 / n;
            sum += term / (2.0 * n + 1.0);
        }
        1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        // Lentz continued fraction: erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
        let tiny = 1e-300;
        let mut f = ax;
        let mut c = ax;
        let mut d = 0.0;
        for k in 1..300 {
            let a = k as f64 / 2.0;
            d = ax + a * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = ax + a / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-ax * ax).exp() / std::f64::consts::PI.sqrt() / f
    };
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Wilson score interval for `k` successes in `n` trials at 95% confidence.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let z = normal_quantile(0.975);
    let n = n as f64;
    let p = k as f64 / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    // At k = 0 or k = n one end is exactly 0 or 1; computed, it carries rounding.
    let lo = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if k as f64 == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lo, hi)
}

/// Least-squares slope of `y` against `x`.
pub fn ols_slope(x: &[f64], y: &[f64]) -> f64 {
    let mx = mean(x);
    let my = mean(y);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// The Kolmogorov distribution's survival function `Q(lambda) = P(K > lambda)`,
/// `K = sup |B(t)|` of a Brownian bridge: `2 sum_{j>=1} (-1)^{j-1} exp(-2 j^2 lambda^2)`, or for
/// `lambda < 1.18`, where that series converges slowly, one minus the Jacobi-theta form
/// `sqrt(2 pi) / lambda sum_{j>=1} exp(-(2j-1)^2 pi^2 / (8 lambda^2))`.
pub fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    if lambda < 1.18 {
        let w = std::f64::consts::PI.powi(2) / (8.0 * lambda * lambda);
        let cdf: f64 = (1..=8)
            .map(|j| (-((2 * j - 1) as f64).powi(2) * w).exp())
            .sum::<f64>()
            * (2.0 * std::f64::consts::PI).sqrt()
            / lambda;
        (1.0 - cdf).clamp(0.0, 1.0)
    } else {
        let q: f64 = (1..=100)
            .map(|j| {
                let sign = if j % 2 == 1 { 1.0 } else { -1.0 };
                sign * (-2.0 * (j * j) as f64 * lambda * lambda).exp()
            })
            .sum::<f64>()
            * 2.0;
        q.clamp(0.0, 1.0)
    }
}

/// Two-sample Kolmogorov-Smirnov test: the statistic `D = sup |F_a - F_b|` of the empirical
/// CDFs and its asymptotic p-value `Q(sqrt(n m / (n + m)) D)` ([`kolmogorov_sf`]). NaNs are
/// not allowed.
///
/// # Panics
/// If a sample is empty or holds a NaN.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> (f64, f64) {
    assert!(!a.is_empty() && !b.is_empty(), "empty sample");
    let sorted = |v: &[f64]| {
        let mut s = v.to_vec();
        assert!(s.iter().all(|x| !x.is_nan()), "NaN in a sample");
        s.sort_by(|x, y| x.total_cmp(y));
        s
    };
    let (a, b) = (sorted(a), sorted(b));
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        // Step past every copy of the smaller value in both samples (ties move together).
        let t = a[i].min(b[j]);
        while i < a.len() && a[i] <= t {
            i += 1;
        }
        while j < b.len() && b[j] <= t {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    (d, kolmogorov_sf((n * m / (n + m)).sqrt() * d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kolmogorov_distribution_and_ks_test() {
        // scipy.special.kolmogorov at 0.2, 0.5, 1, 1.36, 2.
        let want = [
            (0.2, 0.999_999_999_999_495),
            (0.5, 0.963_945_243_664_875_1),
            (1.0, 0.269_999_671_677_354_56),
            (1.36, 0.049_485_876_755_377_876),
            (2.0, 0.000_670_925_255_779_695_3),
        ];
        for (l, q) in want {
            assert!(
                (kolmogorov_sf(l) - q).abs() < 1e-12,
                "{l}: {}",
                kolmogorov_sf(l)
            );
        }
        // D = 3/7 at 2.2; p = kolmogorov(sqrt(42/13) 3/7) = 0.5930795499453455.
        let a = [0.1, 0.5, 0.9, 1.3, 2.0, 2.2];
        let b = [0.3, 0.4, 1.0, 1.1, 3.0, 3.5, 4.0];
        let (d, p) = ks_two_sample(&a, &b);
        assert!((d - 3.0 / 7.0).abs() < 1e-15, "{d}");
        assert!((p - 0.593_079_549_945_345_5).abs() < 1e-12, "{p}");
        assert_eq!(ks_two_sample(&a, &a), (0.0, 1.0));
    }

    #[test]
    fn quantiles_match_numpy_type7() {
        let v = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        // numpy.quantile(v, [0.1, 0.5, 0.9]) = [1.0, 3.5, 6.9]
        assert!((quantile(&v, 0.1) - 1.0).abs() < 1e-12);
        assert!((quantile(&v, 0.5) - 3.5).abs() < 1e-12);
        assert!((quantile(&v, 0.9) - 6.9).abs() < 1e-12);
    }

    #[test]
    fn normal_functions() {
        assert!((normal_quantile(0.75) - 0.674_489_750_196_081_7).abs() < 1e-12);
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((normal_quantile(0.001) + 3.090_232_306_167_813).abs() < 1e-10);
        assert!((normal_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-14);
        assert!((erfc(3.0) - 2.209_049_699_858_544e-5).abs() < 1e-18);
    }

    #[test]
    fn wilson_interval() {
        // Reference values (statsmodels proportion_confint method='wilson').
        let (lo, hi) = wilson(90, 100);
        assert!((lo - 0.825_634_338_5).abs() < 1e-9, "{lo}");
        assert!((hi - 0.944_770_862_9).abs() < 1e-9, "{hi}");
        let (lo, hi) = wilson(10, 10);
        assert!(
            (hi - 1.0).abs() < 1e-12 && (lo - 0.722_467_200_1).abs() < 1e-9,
            "{lo}"
        );
    }

    #[test]
    fn slope_of_exact_power_law() {
        let x: Vec<f64> = [1.0f64, 2.0, 4.0, 8.0].iter().map(|v| v.ln()).collect();
        let y: Vec<f64> = x.iter().map(|v| 3.0 - 0.5 * v).collect();
        assert!((ols_slope(&x, &y) + 0.5).abs() < 1e-14);
    }
}
