//! Projected gradient on random convex QPs: feasibility, the KKT measure
//! recomputed from `Qα + p`, agreement with SMO, every method, warm starts,
//! limits as statuses, unboundedness and setup errors.

use proptest::prelude::*;
use solvers::{
    kkt, solve_pg, solve_smo, DenseQ, Equality, PgMethod, PgSettings, QMatrix, QpProblem,
    SmoSettings, Status,
};

mod common;
use common::{case, check_solution, rbf_problem};

fn method() -> impl Strategy<Value = PgMethod> {
    prop_oneof![
        Just(PgMethod::Gvpm),
        Just(PgMethod::DaiFletcher),
        Just(PgMethod::Fista)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn pg_solves_random_qps(c in case(), method in method()) {
        let q = DenseQ::new(c.n, c.q.clone()).unwrap();
        let tol = 1e-8;
        let settings = PgSettings { tol, method, max_iter: Some(200_000), ..Default::default() };
        let sol = solve_pg(&q, &c.problem(), &settings, None).unwrap();
        prop_assert_eq!(sol.status, Status::Converged, "{:?} after {} iterations, violation {}", method, sol.iterations, sol.max_violation);
        let obj = check_solution(&c, &q, &sol, tol)?;
        let g = c.objective(&q, &sol.alpha).1;
        let viol = kkt::max_violation(&c.problem(), &sol.alpha, &g);
        prop_assert!((sol.max_violation - viol).abs() <= 1e-9);
        let smo = solve_smo(&q, &c.problem(), &SmoSettings { tol, ..Default::default() }, None).unwrap();
        prop_assert!(
            (obj - smo.objective).abs() <= 1e-6 * (1.0 + obj.abs()),
            "pg {} vs smo {}", obj, smo.objective
        );
        // The multiplier satisfies Gᵢ + νyᵢ ≈ 0 on free variables.
        if let (Some(s), Some(nu)) = (&c.signs, sol.equality_multiplier) {
            for i in 0..c.n {
                if c.lower[i] < sol.alpha[i] && sol.alpha[i] < c.upper[i] {
                    prop_assert!((g[i] + nu * s[i]).abs() <= 1e-6, "free {} off by {}", i, g[i] + nu * s[i]);
                }
            }
        }
    }

    #[test]
    fn warm_start_from_the_solution_stops_at_once(c in case()) {
        let q = DenseQ::new(c.n, c.q.clone()).unwrap();
        let settings = PgSettings { tol: 1e-8, max_iter: Some(200_000), ..Default::default() };
        let cold = solve_pg(&q, &c.problem(), &settings, None).unwrap();
        prop_assert_eq!(cold.status, Status::Converged);
        let warm_problem = QpProblem { initial: Some(&cold.alpha), ..c.problem() };
        let warm = solve_pg(&q, &warm_problem, &settings, None).unwrap();
        prop_assert_eq!(warm.status, Status::Converged);
        let moved = warm_problem.initial.unwrap().iter().zip(&warm.alpha).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        prop_assert_eq!(warm.iterations, 0, "moved by {}, violation {}", moved, warm.max_violation);
        prop_assert!((warm.objective - cold.objective).abs() <= 1e-12 * (1.0 + cold.objective.abs()));
    }
}

/// The RBF-like test problem of the SMO tests, `n = 300`.
#[test]
fn every_method_matches_smo_on_a_larger_problem() {
    let n = 300;
    let (q, y) = rbf_problem(n);
    let p = vec![-1.0; n];
    let (l, u) = (vec![0.0; n], vec![1.0; n]);
    let problem = QpProblem {
        linear: &p,
        equality: Some(Equality {
            signs: &y,
            rhs: 0.0,
        }),
        lower: &l,
        upper: &u,
        initial: None,
    };
    let tol = 1e-6;
    let smo = solve_smo(
        &q,
        &problem,
        &SmoSettings {
            tol,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    for method in [PgMethod::Gvpm, PgMethod::DaiFletcher, PgMethod::Fista] {
        let settings = PgSettings {
            tol,
            method,
            ..Default::default()
        };
        let sol = solve_pg(&q, &problem, &settings, None).unwrap();
        assert_eq!(sol.status, Status::Converged, "{method:?}");
        assert!(
            (sol.objective - smo.objective).abs() <= 1e-6 * smo.objective.abs(),
            "{method:?}: {} vs {}",
            sol.objective,
            smo.objective
        );
        let mut g = vec![0.0; n];
        q.matvec(&sol.alpha, &mut g);
        g.iter_mut().for_each(|g| *g -= 1.0);
        assert!(kkt::max_violation(&problem, &sol.alpha, &g) <= tol);
        let (a, b) = (
            sol.equality_multiplier.unwrap(),
            smo.equality_multiplier.unwrap(),
        );
        assert!(
            (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
            "{method:?}: ν {a} vs {b}"
        );
    }
}

#[test]
fn limits_are_statuses_and_points_stay_feasible() {
    let c = common::decaying_case(50);
    let q = DenseQ::new(c.n, c.q.clone()).unwrap();
    let problem = c.problem();
    let y = c.signs.as_deref().unwrap();
    for method in [PgMethod::Gvpm, PgMethod::DaiFletcher, PgMethod::Fista] {
        let settings = PgSettings {
            tol: 1e-14,
            max_iter: Some(3),
            method,
            ..Default::default()
        };
        let sol = solve_pg(&q, &problem, &settings, None).unwrap();
        assert_eq!(sol.status, Status::MaxIterations);
        assert_eq!(sol.iterations, 3);
        let r: f64 = y.iter().zip(&sol.alpha).map(|(y, a)| y * a).sum();
        assert!(r.abs() < 1e-12);
        assert!(sol.alpha.iter().all(|a| *a >= 0.0));
        let settings = PgSettings {
            time_limit: Some(std::time::Duration::ZERO),
            method,
            ..Default::default()
        };
        let sol = solve_pg(&q, &problem, &settings, None).unwrap();
        assert_eq!(sol.status, Status::TimeLimit);
    }
}

#[test]
fn progress_is_reported() {
    let n = 300;
    let (q, y) = rbf_problem(n);
    let p = vec![-1.0; n];
    let (l, u) = (vec![0.0; n], vec![10.0; n]);
    let problem = QpProblem {
        linear: &p,
        equality: Some(Equality {
            signs: &y,
            rhs: 0.0,
        }),
        lower: &l,
        upper: &u,
        initial: None,
    };
    let calls = std::sync::atomic::AtomicU64::new(0);
    let report = |pr: &solvers::Progress| {
        assert!(pr.max_violation >= 0.0);
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let settings = PgSettings {
        tol: 1e-12,
        max_iter: Some(50),
        progress_interval: std::time::Duration::ZERO,
        ..Default::default()
    };
    let sol = solve_pg(&q, &problem, &settings, Some(&report)).unwrap();
    assert_eq!(sol.status, Status::MaxIterations);
    assert!(calls.load(std::sync::atomic::Ordering::Relaxed) >= 50);
}

#[test]
fn unbounded_problem_is_a_status() {
    // Q = 0, p = −1, α ≥ 0 unbounded above, with and without the equality.
    let q = DenseQ::new(2, vec![0.0; 4]).unwrap();
    let p = [-1.0, -1.0];
    let (l, u) = ([0.0; 2], [f64::INFINITY; 2]);
    let y = [1.0, -1.0];
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
            lower: &l,
            upper: &u,
            initial: None,
        };
        for method in [PgMethod::Gvpm, PgMethod::DaiFletcher, PgMethod::Fista] {
            let settings = PgSettings {
                method,
                max_iter: Some(1000),
                ..Default::default()
            };
            let sol = solve_pg(&q, &problem, &settings, None).unwrap();
            assert_eq!(
                sol.status,
                Status::Unbounded,
                "{method:?} {:?}",
                equality.is_some()
            );
        }
    }
}

#[test]
fn a_bounded_linear_program_converges() {
    // Q = 0 with finite bounds: the minimiser is a vertex.
    let q = DenseQ::new(3, vec![0.0; 9]).unwrap();
    let p = [-1.0, 2.0, -0.5];
    let (l, u) = ([0.0; 3], [1.0, 1.0, 3.0]);
    let problem = QpProblem {
        linear: &p,
        equality: None,
        lower: &l,
        upper: &u,
        initial: None,
    };
    let sol = solve_pg(&q, &problem, &PgSettings::default(), None).unwrap();
    assert_eq!(sol.status, Status::Converged);
    assert_eq!(sol.alpha, vec![1.0, 0.0, 3.0]);
    assert_eq!(sol.objective, -2.5);
}

#[test]
fn setup_errors_are_errors() {
    let q = DenseQ::new(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
    let p = [-1.0, -1.0];
    let (l, u) = ([0.0; 2], [1.0; 2]);
    let y = [1.0, 1.0];
    let infeasible = QpProblem {
        linear: &p,
        equality: Some(Equality {
            signs: &y,
            rhs: 3.0,
        }),
        lower: &l,
        upper: &u,
        initial: None,
    };
    assert!(matches!(
        solve_pg(&q, &infeasible, &PgSettings::default(), None),
        Err(solvers::SetupError::InfeasibleEquality { .. })
    ));
    let ok = QpProblem {
        equality: None,
        ..infeasible
    };
    for bad in [
        PgSettings {
            tol: -1.0,
            ..Default::default()
        },
        PgSettings {
            tol: f64::NAN,
            ..Default::default()
        },
        PgSettings {
            max_iter: Some(0),
            ..Default::default()
        },
        PgSettings {
            gradient_refresh: 0,
            ..Default::default()
        },
    ] {
        assert!(matches!(
            solve_pg(&q, &ok, &bad, None),
            Err(solvers::SetupError::InvalidSetting { .. })
        ));
    }
    let short = [0.0];
    let mismatched = QpProblem {
        lower: &short,
        ..ok
    };
    assert!(solve_pg(&q, &mismatched, &PgSettings::default(), None).is_err());
}

/// The methods are not monotone, but a solve stopped early returns the best
/// iterate so far: along the same (deterministic) trajectory, a larger
/// iteration limit never returns a worse objective.
#[test]
fn a_solve_stopped_early_returns_the_best_iterate_so_far() {
    let c = common::decaying_case(60);
    let q = DenseQ::new(c.n, c.q.clone()).unwrap();
    let problem = c.problem();
    for method in [PgMethod::Gvpm, PgMethod::DaiFletcher, PgMethod::Fista] {
        let mut previous = f64::INFINITY;
        for m in 1..40 {
            let settings = PgSettings {
                tol: 1e-14,
                max_iter: Some(m),
                method,
                ..Default::default()
            };
            let sol = solve_pg(&q, &problem, &settings, None).unwrap();
            if sol.status != Status::MaxIterations {
                break;
            }
            assert!(
                sol.objective <= previous + 1e-12 * previous.abs().max(1.0),
                "{method:?}: limit {m} gives {} after {previous}",
                sol.objective
            );
            previous = sol.objective;
        }
    }
}
