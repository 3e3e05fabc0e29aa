//! The Universal Scalability Law (Gunther): throughput with `N` workers
//!
//! ```text
//! X(N) = λN / (1 + σ(N−1) + κN(N−1))
//! ```
//!
//! where λ is the throughput of one worker, σ the contention (the serial
//! share) and κ the coherency cost (crosstalk between every pair of
//! workers). [`fit`] fits it to measured `(N, X)` points by nonlinear least
//! squares on the throughput residuals, with σ, κ ≥ 0 and λ > 0.
//!
//! The fit starts from the linearized model: `N / X(N) = (1 + σ(N−1) +
//! κN(N−1)) / λ` is linear in `(1/λ, σ/λ, κ/λ)`, so ordinary least squares
//! on `N/X` gives the first guess. A bounded Levenberg–Marquardt then
//! minimizes the squared error of `X` itself (the linearized fit weighs the
//! points unevenly: it minimizes errors in `N/X`).
//!
//! Why not a crate: the `levenberg-marquardt` crate (0.15, on `nalgebra`) has
//! no bounds, and reparametrizing σ = s², κ = k² to impose them stalls at
//! exactly the boundary that linear scaling sits on (the gradient in `s`
//! vanishes at 0); `argmin` offers Gauss–Newton without bounds either. With
//! three parameters the normal equations are a 3×3 system, so a projected
//! Levenberg–Marquardt (an active set for the bounds, Marquardt's diagonal
//! scaling) is about a hundred lines and brings in no dependency.

use serde::{Deserialize, Serialize};

/// A fitted Universal Scalability Law.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UslFit {
    /// Contention σ (≥ 0): the serial share of the work.
    pub sigma: f64,
    /// Coherency κ (≥ 0): the cost of keeping every pair of workers in step.
    pub kappa: f64,
    /// Throughput of one worker λ (> 0), in the unit of the measured `X`
    /// (requests per second).
    pub lambda: f64,
    /// Coefficient of determination of the fit on `X`: 1 − SSE/SST (1 when
    /// every point lies on the curve).
    pub r2: f64,
    /// Measured minus fitted `X`, in the order of the points given.
    pub residuals: Vec<f64>,
    /// The `N` at which throughput peaks, √((1−σ)/κ) (at least 1); `null`
    /// when κ = 0, where throughput grows with every worker (towards λ/σ when
    /// σ > 0).
    pub peak_n: Option<f64>,
}

/// Why a fit failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UslError {
    /// Fewer than three distinct worker counts: three parameters need three.
    #[error("a scalability fit needs at least 3 distinct worker counts, got {distinct}")]
    TooFewPoints {
        /// Distinct worker counts among the points.
        distinct: usize,
    },
    /// A worker count or throughput that is zero, negative or not finite.
    #[error("a scalability fit needs positive, finite workers and throughput, got N={n}, X={x}")]
    NonPositive {
        /// The point's worker count.
        n: f64,
        /// The point's throughput.
        x: f64,
    },
    /// The least-squares iteration did not settle.
    #[error("the scalability fit did not converge in {iterations} iterations")]
    NoConvergence {
        /// Iterations run.
        iterations: usize,
    },
}

const MAX_ITERATIONS: usize = 500;

impl UslFit {
    /// The model's throughput with `n` workers.
    pub fn predict(&self, n: f64) -> f64 {
        model(&[self.lambda, self.sigma, self.kappa], n)
    }

    /// The most throughput the model allows: at [`UslFit::peak_n`] when κ >
    /// 0, the asymptote λ/σ when only 0 < σ < 1, λ at one worker when σ ≥ 1
    /// (each worker added then costs more than it brings), infinite under
    /// linear scaling.
    pub fn max_throughput(&self) -> f64 {
        match self.peak_n {
            Some(n) => self.predict(n),
            None if self.sigma > 0.0 => self.lambda / self.sigma.min(1.0),
            None => f64::INFINITY,
        }
    }

    /// The smallest whole number of workers whose modelled throughput
    /// reaches `target`; `None` when no number of workers reaches it (the
    /// target is at or beyond [`UslFit::max_throughput`]).
    pub fn workers_for(&self, target: f64) -> Option<u64> {
        if !target.is_finite() {
            return None;
        }
        if target <= self.predict(1.0) {
            return Some(1);
        }
        // The largest N worth trying: the peak, or (κ = 0) where the closed
        // form of λN / (1 + σ(N−1)) = target puts it.
        let hi = match self.peak_n {
            Some(peak) => peak.floor().max(1.0),
            None => {
                let denominator = self.lambda - target * self.sigma;
                if denominator <= 0.0 {
                    return None;
                }
                (target * (1.0 - self.sigma) / denominator).ceil() + 1.0
            }
        };
        if !hi.is_finite() || hi > 1e15 {
            return None;
        }
        let (mut lo, mut hi) = (1u64, hi as u64);
        if self.predict(hi as f64) < target {
            // At a peak between two whole numbers, the next one may be
            // higher.
            return (self.predict((hi + 1) as f64) >= target).then_some(hi + 1);
        }
        // X is increasing on [1, hi]: the smallest N with X(N) ≥ target.
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.predict(mid as f64) >= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }
}

/// X(N) for parameters `[λ, σ, κ]`.
fn model(p: &[f64; 3], n: f64) -> f64 {
    p[0] * n / (1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0))
}

/// The model's partial derivatives in `[λ, σ, κ]` at `n`.
fn gradient(p: &[f64; 3], n: f64) -> [f64; 3] {
    let d = 1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0);
    let x = p[0] * n / (d * d);
    [n / d, -x * (n - 1.0), -x * n * (n - 1.0)]
}

fn sse(p: &[f64; 3], points: &[(f64, f64)]) -> f64 {
    points.iter().map(|&(n, x)| (x - model(p, n)).powi(2)).sum()
}

/// Fit the Universal Scalability Law to `(N, X)` points: `N` workers
/// measured `X` throughput. Repeated `N` are allowed (each point counts).
///
/// # Errors
///
/// [`UslError::TooFewPoints`] with fewer than three distinct `N`;
/// [`UslError::NonPositive`] for a point that is not positive and finite;
/// [`UslError::NoConvergence`] when the iteration does not settle.
pub fn fit(points: &[(f64, f64)]) -> Result<UslFit, UslError> {
    for &(n, x) in points {
        if !(n.is_finite() && x.is_finite() && n > 0.0 && x > 0.0) {
            return Err(UslError::NonPositive { n, x });
        }
    }
    let mut ns: Vec<f64> = points.iter().map(|p| p.0).collect();
    ns.sort_by(f64::total_cmp);
    ns.dedup();
    if ns.len() < 3 {
        return Err(UslError::TooFewPoints { distinct: ns.len() });
    }
    let n_max = ns[ns.len() - 1];

    let mut p = initial_guess(points);
    let mut cost = sse(&p, points);
    let mut mu = 1e-3;
    let mut converged = false;
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS {
        iterations += 1;
        // Normal equations JᵀJ δ = Jᵀr on the residuals r = X − model.
        let mut jtj = [[0.0; 3]; 3];
        let mut jtr = [0.0; 3];
        for &(n, x) in points {
            let g = gradient(&p, n);
            let r = x - model(&p, n);
            for i in 0..3 {
                jtr[i] += g[i] * r;
                for j in 0..3 {
                    jtj[i][j] += g[i] * g[j];
                }
            }
        }
        // Active set: σ or κ on its bound with the descent pushing it below.
        let free = [
            true,
            !(p[1] <= 0.0 && jtr[1] < 0.0),
            !(p[2] <= 0.0 && jtr[2] < 0.0),
        ];
        let gradient_norm: f64 = (0..3)
            .filter(|&i| free[i])
            .map(|i| jtr[i] * jtr[i] / jtj[i][i].max(f64::MIN_POSITIVE))
            .sum();
        if gradient_norm <= 1e-24 * cost.max(f64::MIN_POSITIVE) || cost == 0.0 {
            converged = true;
            break;
        }
        let mut improved = false;
        while mu < 1e16 {
            let Some(step) = solve_damped(&jtj, &jtr, free, mu) else {
                mu *= 10.0;
                continue;
            };
            let candidate = [
                (p[0] + step[0]).max(f64::MIN_POSITIVE),
                (p[1] + step[1]).max(0.0),
                (p[2] + step[2]).max(0.0),
            ];
            let candidate_cost = sse(&candidate, points);
            if candidate_cost.is_finite() && candidate_cost <= cost {
                let change = cost - candidate_cost;
                let moved = (0..3).all(|i| (candidate[i] - p[i]).abs() <= 1e-12 * p[i].abs());
                p = candidate;
                cost = candidate_cost;
                mu = (mu / 10.0).max(1e-12);
                improved = true;
                if change <= 1e-15 * cost || moved {
                    converged = true;
                }
                break;
            }
            mu *= 10.0;
        }
        if !improved {
            // No damped step lowers the error: a minimum to working
            // precision.
            converged = true;
        }
        if converged {
            break;
        }
    }
    if !converged || !p.iter().all(|v| v.is_finite()) || p[0] <= 0.0 {
        return Err(UslError::NoConvergence { iterations });
    }
    // A σ or κ whose whole effect over the measured range is below working
    // precision is zero (so exact linear scaling reports no peak).
    if p[1] * (n_max - 1.0) < 1e-9 {
        p[1] = 0.0;
    }
    if p[2] * n_max * (n_max - 1.0) < 1e-9 {
        p[2] = 0.0;
    }
    let residuals: Vec<f64> = points.iter().map(|&(n, x)| x - model(&p, n)).collect();
    let sse: f64 = residuals.iter().map(|r| r * r).sum();
    let mean = points.iter().map(|q| q.1).sum::<f64>() / points.len() as f64;
    let sst: f64 = points.iter().map(|q| (q.1 - mean).powi(2)).sum();
    let r2 = if sst > 0.0 {
        1.0 - sse / sst
    } else if sse <= 1e-24 * mean * mean {
        1.0
    } else {
        0.0
    };
    let peak_n = (p[2] > 0.0).then(|| ((1.0 - p[1]) / p[2]).max(0.0).sqrt().max(1.0));
    Ok(UslFit {
        sigma: p[1],
        kappa: p[2],
        lambda: p[0],
        r2,
        residuals,
        peak_n,
    })
}

/// `[λ, σ, κ]` from ordinary least squares on `N/X = a + b(N−1) +
/// cN(N−1)` (λ = 1/a, σ = b/a, κ = c/a), clamped into the bounds; when that
/// fails, one worker's throughput and no contention.
fn initial_guess(points: &[(f64, f64)]) -> [f64; 3] {
    let mut ata = [[0.0; 3]; 3];
    let mut aty = [0.0; 3];
    for &(n, x) in points {
        let row = [1.0, n - 1.0, n * (n - 1.0)];
        let y = n / x;
        for i in 0..3 {
            aty[i] += row[i] * y;
            for j in 0..3 {
                ata[i][j] += row[i] * row[j];
            }
        }
    }
    let fallback = {
        let &(n, x) = points
            .iter()
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or(&(1.0, 1.0));
        [x / n, 0.0, 0.0]
    };
    match solve_damped(&ata, &aty, [true; 3], 0.0) {
        Some([a, b, c]) if a > 0.0 && a.is_finite() && b.is_finite() && c.is_finite() => {
            [1.0 / a, (b / a).max(0.0), (c / a).max(0.0)]
        }
        _ => fallback,
    }
}

/// Solve `(A + μ·diag(A)) δ = g` over the free parameters (the others' δ is
/// 0), by Gaussian elimination with partial pivoting; `None` when singular.
fn solve_damped(a: &[[f64; 3]; 3], g: &[f64; 3], free: [bool; 3], mu: f64) -> Option<[f64; 3]> {
    let index: Vec<usize> = (0..3).filter(|&i| free[i]).collect();
    let k = index.len();
    let mut m = [[0.0; 4]; 3];
    for (r, &i) in index.iter().enumerate() {
        for (c, &j) in index.iter().enumerate() {
            m[r][c] = a[i][j];
        }
        m[r][r] += mu * a[i][i];
        m[r][3] = g[i];
    }
    for col in 0..k {
        let pivot = (col..k).max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 {
            return None;
        }
        m.swap(col, pivot);
        let pivot_row = m[col];
        for (row, values) in m.iter_mut().enumerate().take(k) {
            if row != col {
                let f = values[col] / pivot_row[col];
                for (v, p) in values.iter_mut().zip(pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    let mut step = [0.0; 3];
    for (r, &i) in index.iter().enumerate() {
        step[i] = m[r][3] / m[r][r];
        if !step[i].is_finite() {
            return None;
        }
    }
    Some(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGMA: f64 = 0.05;
    const KAPPA: f64 = 0.001;
    const LAMBDA: f64 = 1000.0;

    fn truth() -> UslFit {
        UslFit {
            sigma: SIGMA,
            kappa: KAPPA,
            lambda: LAMBDA,
            r2: 1.0,
            residuals: Vec::new(),
            peak_n: None,
        }
    }

    fn synthetic(noise: f64) -> Vec<(f64, f64)> {
        (1..=32)
            .map(|n| {
                let n = n as f64;
                // Deterministic ±noise: a fixed pattern of signs and sizes.
                let wiggle = [1.0, -0.5, -1.0, 0.5, 0.0, 0.75, -0.75][n as usize % 7];
                (n, truth().predict(n) * (1.0 + noise * wiggle))
            })
            .collect()
    }

    #[test]
    fn recovers_known_parameters_from_exact_data() {
        let f = fit(&synthetic(0.0)).expect("fit");
        assert!((f.sigma - SIGMA).abs() < 1e-6, "{f:?}");
        assert!((f.kappa - KAPPA).abs() < 1e-8, "{f:?}");
        assert!((f.lambda - LAMBDA).abs() < 1e-4, "{f:?}");
        assert!(f.r2 > 1.0 - 1e-12, "{f:?}");
        assert_eq!(f.residuals.len(), 32);
        assert!(f.residuals.iter().all(|r| r.abs() < 1e-6), "{f:?}");
        let peak = ((1.0 - SIGMA) / KAPPA).sqrt();
        let got = f.peak_n.expect("a peak");
        assert!((got - peak).abs() < 1e-3, "{got} vs {peak}");
    }

    #[test]
    fn recovers_known_parameters_through_two_percent_noise() {
        let f = fit(&synthetic(0.02)).expect("fit");
        assert!((f.sigma - SIGMA).abs() < 0.005, "{f:?}");
        assert!((f.kappa - KAPPA).abs() < 0.00005, "{f:?}");
        assert!((f.lambda - LAMBDA).abs() < 10.0, "{f:?}");
        assert!(f.r2 > 0.95 && f.r2 < 1.0, "{f:?}");
        let peak = ((1.0 - f.sigma) / f.kappa).sqrt();
        assert_eq!(f.peak_n, Some(peak));
        assert!((peak - 30.82).abs() < 1.0, "{peak}");
    }

    #[test]
    fn least_squares_beats_the_linearized_start() {
        let points = synthetic(0.02);
        let f = fit(&points).expect("fit");
        let start = initial_guess(&points);
        let fitted = sse(&[f.lambda, f.sigma, f.kappa], &points);
        assert!(fitted <= sse(&start, &points), "{fitted} vs {start:?}");
    }

    #[test]
    fn contention_above_one_makes_one_worker_the_most() {
        // σ 1.5, κ 0: X(2) = 2λ / 2.5 < λ; throughput falls toward λ/σ.
        let f = UslFit {
            sigma: 1.5,
            kappa: 0.0,
            lambda: 1000.0,
            r2: 1.0,
            residuals: vec![],
            peak_n: None,
        };
        assert!(f.predict(2.0) < f.predict(1.0));
        assert_eq!(f.max_throughput(), 1000.0);
        assert_eq!(f.workers_for(1000.0), Some(1));
        assert_eq!(f.workers_for(1001.0), None);
    }

    #[test]
    fn linear_scaling_has_no_contention_and_no_peak() {
        let points: Vec<(f64, f64)> = (1..=16).map(|n| (n as f64, 2500.0 * n as f64)).collect();
        let f = fit(&points).expect("fit");
        assert_eq!(f.sigma, 0.0, "{f:?}");
        assert_eq!(f.kappa, 0.0, "{f:?}");
        assert!((f.lambda - 2500.0).abs() < 1e-6, "{f:?}");
        assert_eq!(f.peak_n, None);
        assert_eq!(f.max_throughput(), f64::INFINITY);
        assert_eq!(f.workers_for(1_000_000.0), Some(400));
        let json = serde_json::to_value(&f).expect("json");
        assert!(json["peak_n"].is_null());
    }

    #[test]
    fn contention_only_data_has_an_asymptote() {
        let model = UslFit {
            sigma: 0.1,
            kappa: 0.0,
            ..truth()
        };
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0]
            .iter()
            .map(|&n| (n, model.predict(n)))
            .collect();
        let f = fit(&points).expect("fit");
        assert!((f.sigma - 0.1).abs() < 1e-6 && f.kappa == 0.0, "{f:?}");
        assert_eq!(f.peak_n, None);
        assert!((f.max_throughput() - 10_000.0).abs() < 1e-2);
        assert_eq!(f.workers_for(10_000.0), None);
        // 1000N / (1 + 0.1(N−1)): 4706 at N = 8, 5000 at N = 9.
        assert_eq!(f.workers_for(4990.0), Some(9));
    }

    #[test]
    fn workers_for_stops_at_the_peak() {
        let mut f = truth();
        f.peak_n = Some(((1.0 - SIGMA) / KAPPA).sqrt());
        let top = f.max_throughput();
        assert!(f.workers_for(top * 1.01).is_none());
        let n = f.workers_for(8000.0).expect("reachable");
        assert!(f.predict(n as f64) >= 8000.0 && f.predict(n as f64 - 1.0) < 8000.0);
        assert_eq!(f.workers_for(10.0), Some(1));
        assert_eq!(f.workers_for(f64::NAN), None);
    }

    #[test]
    fn refuses_too_few_or_bad_points() {
        assert_eq!(
            fit(&[(1.0, 10.0), (2.0, 19.0)]),
            Err(UslError::TooFewPoints { distinct: 2 })
        );
        assert_eq!(
            fit(&[(1.0, 10.0), (1.0, 11.0), (2.0, 19.0), (2.0, 18.0)]),
            Err(UslError::TooFewPoints { distinct: 2 })
        );
        assert_eq!(fit(&[]), Err(UslError::TooFewPoints { distinct: 0 }));
        assert!(matches!(
            fit(&[(1.0, 10.0), (2.0, 0.0), (3.0, 25.0)]),
            Err(UslError::NonPositive { .. })
        ));
        assert!(matches!(
            fit(&[(1.0, 10.0), (2.0, f64::NAN), (3.0, 25.0)]),
            Err(UslError::NonPositive { .. })
        ));
        assert!(matches!(
            fit(&[(0.0, 10.0), (2.0, 19.0), (3.0, 25.0)]),
            Err(UslError::NonPositive { .. })
        ));
    }

    #[test]
    fn retrograde_and_flat_data_fit() {
        // Throughput falling from the start: σ near 1 or above, peak at 1.
        let points = [(1.0, 1000.0), (2.0, 900.0), (4.0, 700.0), (8.0, 400.0)];
        let f = fit(&points).expect("fit");
        assert!(f.peak_n.is_some_and(|p| p < 2.0), "{f:?}");
        let flat = [(1.0, 1000.0), (2.0, 1000.0), (3.0, 1000.0)];
        let f = fit(&flat).expect("fit");
        assert!((f.predict(3.0) - 1000.0).abs() < 1e-3, "{f:?}");
        assert_eq!(f.r2, 1.0);
    }
}
