//! Every solve ends without a limit: an objective unbounded below through
//! finite steps ends as `Unbounded`, a tolerance below rounding as
//! `Stalled`. Each solve carries an iteration limit only so that a solver
//! that loops fails the test instead of hanging it.

use solvers::{
    solve_pg, solve_smo, DenseQ, Equality, PgMethod, PgSettings, QMatrix, QpProblem, SmoSettings,
    Solution, Status, WorkingSet,
};

mod common;
use common::rbf_problem;

/// The guard: far more iterations than any of these solves needs.
const GUARD: u64 = 2_000_000;

/// `n × n`, `Qᵢᵢ = 1`, `Qᵢⱼ = −c`: eigenvalues `1 + c` and `1 − (n−1)c`
/// (along the all-ones vector), so indefinite for `c > 1/(n−1)`, while
/// every pair direction `eᵢ ± eⱼ` has curvature `2 ± 2c > 0` for `c < 1`
/// and every coordinate curvature 1: each SMO or PG step is finite.
fn indefinite(n: usize, c: f64) -> DenseQ {
    let v = (0..n * n)
        .map(|e| if e / n == e % n { 1.0 } else { -c })
        .collect();
    DenseQ::new(n, v).unwrap()
}

fn smo(q: &dyn QMatrix, problem: &QpProblem<'_>, working_set: WorkingSet, tol: f64) -> Solution {
    let settings = SmoSettings {
        tol,
        working_set,
        max_iter: Some(GUARD),
        ..Default::default()
    };
    solve_smo(q, problem, &settings, None).unwrap()
}

fn pg(q: &dyn QMatrix, problem: &QpProblem<'_>, method: PgMethod, tol: f64) -> Solution {
    let settings = PgSettings {
        tol,
        method,
        max_iter: Some(GUARD),
        ..Default::default()
    };
    solve_pg(q, problem, &settings, None).unwrap()
}

const METHODS: [PgMethod; 3] = [PgMethod::Gvpm, PgMethod::DaiFletcher, PgMethod::Fista];

#[test]
fn an_objective_unbounded_through_finite_steps_is_unbounded() {
    // The squared-slack SVM dual's shape (p = −1, 0 ≤ α, no upper bound)
    // with an indefinite Q; the all-ones ray is feasible (balanced signs).
    let n = 16;
    let q = indefinite(n, 0.2);
    let p = vec![-1.0; n];
    let (lower, upper) = (vec![0.0; n], vec![f64::INFINITY; n]);
    let y: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    for equality in [
        None,
        Some(Equality {
            signs: &y,
            rhs: 0.0,
        }),
    ] {
        let problem = QpProblem {
            linear: &p,
            equality,
            lower: &lower,
            upper: &upper,
            initial: None,
        };
        let mut runs = vec![
            ("pairs", smo(&q, &problem, WorkingSet::Pairs, 1e-3)),
            ("batches", smo(&q, &problem, WorkingSet::Batched(4), 1e-3)),
        ];
        for method in METHODS {
            runs.push(("pg", pg(&q, &problem, method, 1e-3)));
        }
        for (name, sol) in runs {
            assert_eq!(
                sol.status,
                Status::Unbounded,
                "{name}, equality {}: {} iterations, violation {}",
                equality.is_some(),
                sol.iterations,
                sol.max_violation
            );
        }
    }
}

#[test]
fn an_indefinite_q_with_finite_bounds_still_converges() {
    // The same Q under a box: no ray exists, the solve ends normally.
    let n = 16;
    let q = indefinite(n, 0.2);
    let p = vec![-1.0; n];
    let (lower, upper) = (vec![0.0; n], vec![1.0; n]);
    let problem = QpProblem {
        linear: &p,
        equality: None,
        lower: &lower,
        upper: &upper,
        initial: None,
    };
    let sol = smo(&q, &problem, WorkingSet::Pairs, 1e-6);
    assert_eq!(sol.status, Status::Converged);
}

#[test]
fn a_tolerance_below_rounding_ends_as_stalled() {
    // An RBF SVM dual with the squared slack: the violation cannot go below
    // ~1e-16 in floating point, and 1e-300 asks for far less.
    let n = 60;
    let (q, y) = rbf_problem(n);
    let mut shifted = vec![0.0; n * n];
    for i in 0..n {
        let mut col = vec![0.0; n];
        q.column(i, &(0..n).collect::<Vec<_>>(), &mut col);
        for j in 0..n {
            shifted[j * n + i] = col[j] + if i == j { 0.5 } else { 0.0 };
        }
    }
    let q = DenseQ::new(n, shifted).unwrap();
    let p = vec![-1.0; n];
    let (lower, upper) = (vec![0.0; n], vec![f64::INFINITY; n]);
    let problem = QpProblem {
        linear: &p,
        equality: Some(Equality {
            signs: &y,
            rhs: 0.0,
        }),
        lower: &lower,
        upper: &upper,
        initial: None,
    };
    let tight = smo(&q, &problem, WorkingSet::Pairs, 1e-12);
    assert_eq!(tight.status, Status::Converged);
    let mut runs = vec![
        ("pairs", smo(&q, &problem, WorkingSet::Pairs, 1e-300)),
        ("batches", smo(&q, &problem, WorkingSet::Batched(4), 1e-300)),
    ];
    for method in METHODS {
        runs.push(("pg", pg(&q, &problem, method, 1e-300)));
    }
    for (name, sol) in runs {
        // Exactly zero violation would be a legitimate convergence.
        assert!(
            matches!(sol.status, Status::Stalled | Status::Converged),
            "{name}: {:?} after {} iterations, violation {}",
            sol.status,
            sol.iterations,
            sol.max_violation
        );
        assert!(sol.iterations < GUARD / 10, "{name}: {}", sol.iterations);
        // A stall is declared only at rounding level, next to the optimum.
        assert!(sol.max_violation <= 1e-9, "{name}: {}", sol.max_violation);
        assert!(
            (sol.objective - tight.objective).abs() <= 1e-12 * tight.objective.abs(),
            "{name}: {} vs {}",
            sol.objective,
            tight.objective
        );
    }
}
