//! What a solver returns: the point, how it ended, and its own optimality
//! measure.

use crate::kkt;
use crate::problem::QpProblem;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Whether the caller asked the solve to stop: the flag, when given, is
/// polled between iterations (cooperative cancellation; settings stay plain
/// data, the flag is passed beside them).
pub(crate) fn cancelled(cancel: Option<&AtomicBool>) -> bool {
    cancel.is_some_and(|c| c.load(Ordering::Relaxed))
}

/// How a solve ended. Reaching a limit is a status, not an error: the
/// solution is still feasible and can be certified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The optimality measure fell to the tolerance.
    Converged,
    /// The iteration limit was reached first.
    MaxIterations,
    /// The time limit was reached first.
    TimeLimit,
    /// The objective decreases without bound along a feasible ray (possible
    /// only when some `uᵢ = +∞` and `Q` is singular along that ray).
    Unbounded,
    /// The caller's cancellation flag was set (e.g. on Ctrl-C); the point
    /// returned is the last iterate, feasible.
    Interrupted,
    /// The method could make no further progress in floating point before
    /// reaching its tolerance (the interior-point solver's steps vanished,
    /// or it ran its internal iteration cap; SMO's steps fell below the
    /// iterate's rounding: two rounds of batches, two shrinking periods of
    /// pairs); the point returned is feasible.
    Stalled,
}

impl Status {
    /// A stable lower-case name, as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Converged => "converged",
            Status::MaxIterations => "max_iterations",
            Status::TimeLimit => "time_limit",
            Status::Unbounded => "unbounded",
            Status::Interrupted => "interrupted",
            Status::Stalled => "stalled",
        }
    }
}

/// The result of a solve.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The final point, feasible for the box and the equality.
    pub alpha: Vec<f64>,
    /// The gradient `Qα + p` at `alpha`, as maintained by the solver.
    pub gradient: Vec<f64>,
    /// The objective `½αᵀQα + pᵀα`, computed from `alpha` and `gradient`.
    pub objective: f64,
    /// The multiplier `ν` of the equality (with `Qα + p + νy` zero on free
    /// variables), or `None` without the equality. For an SVM dual this is
    /// the bias `b`.
    pub equality_multiplier: Option<f64>,
    /// The solver's own optimality measure at the end (see the crate docs).
    pub max_violation: f64,
    /// How the solve ended.
    pub status: Status,
    /// Iterations done (two-variable steps for SMO).
    pub iterations: u64,
    /// Wall time of the solve.
    pub elapsed: Duration,
}

impl Solution {
    /// The solution at `alpha` with its gradient `Qα + p`: the objective
    /// `Σ αᵢ(Gᵢ + pᵢ)/2`, the equality's multiplier and the optimality
    /// measure, all from the point and its gradient.
    pub(crate) fn at(
        problem: &QpProblem<'_>,
        alpha: Vec<f64>,
        gradient: Vec<f64>,
        status: Status,
        iterations: u64,
        start: Instant,
    ) -> Self {
        let equality_multiplier = problem.equality.map(|eq| {
            kkt::equality_multiplier(&alpha, &gradient, eq.signs, problem.lower, problem.upper)
        });
        let objective = alpha
            .iter()
            .zip(&gradient)
            .zip(problem.linear)
            .map(|((a, g), p)| 0.5 * a * (g + p))
            .sum();
        let max_violation = kkt::max_violation(problem, &alpha, &gradient);
        Solution {
            alpha,
            gradient,
            objective,
            equality_multiplier,
            max_violation,
            status,
            iterations,
            elapsed: start.elapsed(),
        }
    }
}

/// A snapshot passed to the progress callback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Iterations so far.
    pub iterations: u64,
    /// The current maximal violation.
    pub max_violation: f64,
    /// Variables still active (not shrunk).
    pub active: usize,
    /// Time since the solve started.
    pub elapsed: Duration,
}
