//! SMO with batched working sets (`SmoSettings::working_set > 2`): the same
//! optima as one pair per iteration on random convex QPs, KKT checked from a
//! gradient recomputed here, the same iterates for any number of threads,
//! limits reported as statuses, shrinking (the true gradient handed back),
//! and the cases handed to pair SMO.

use proptest::prelude::*;
use solvers::batch::{batch_size, block_size};
use solvers::{solve_smo, DenseQ, QMatrix, QpProblem, SmoSettings, Solution, Status, WorkingSet};

mod common;
use common::{case, check_solution, svc_problem};

/// Batches of `size` variables; 2 is one pair per iteration.
fn batched(size: usize, tol: f64) -> SmoSettings {
    SmoSettings {
        tol,
        working_set: if size == 2 {
            WorkingSet::Pairs
        } else {
            WorkingSet::Batched(size)
        },
        ..Default::default()
    }
}

fn in_pool(threads: usize, f: impl FnOnce() -> Solution + Send) -> Solution {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn batched_smo_solves_random_qps(c in case(), half in 2usize..5) {
        let q = DenseQ::new(c.n, c.q.clone()).unwrap();
        let tol = 1e-9;
        let sol = solve_smo(&q, &c.problem(), &batched(2 * half, tol), None).unwrap();
        prop_assert_eq!(sol.status, Status::Converged);
        let obj = check_solution(&c, &q, &sol, tol)?;
        let pairs = solve_smo(&q, &c.problem(), &batched(2, tol), None).unwrap();
        prop_assert!(
            (obj - pairs.objective).abs() <= 1e-7 * (1.0 + obj.abs()),
            "batched {} against pairs {}", obj, pairs.objective
        );
    }
}

/// An RBF SVM dual on 600 distinct points of the line, labels by the sign
/// of `sin(7x)` with every eleventh flipped: L1 (`0 ≤ α ≤ 1`) or L2
/// (`α ≥ 0`, `Q + I`).
fn svm(l2: bool) -> (DenseQ, Vec<f64>, Vec<f64>) {
    let n = 600;
    let x: Vec<f64> = (0..n)
        .map(|i| ((i * 389) % n) as f64 / n as f64 * 2.0 - 1.0)
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| {
            let s = if (7.0 * x[i]).sin() >= 0.0 { 1.0 } else { -1.0 };
            if i % 11 == 0 {
                -s
            } else {
                s
            }
        })
        .collect();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            v[i * n + j] = y[i] * y[j] * (-20.0 * (x[i] - x[j]).powi(2)).exp();
        }
        if l2 {
            v[i * n + i] += 1.0;
        }
    }
    let upper = vec![if l2 { f64::INFINITY } else { 1.0 }; n];
    (DenseQ::new(n, v).unwrap(), y, upper)
}

#[test]
fn batched_smo_equals_pair_smo_on_svm_duals() {
    for l2 in [false, true] {
        let (q, y, upper) = svm(l2);
        let n = q.dim();
        let (p, lower) = (vec![-1.0; n], vec![0.0; n]);
        let problem = svc_problem(&p, &y, &lower, &upper);
        let tol = 1e-8;
        let pairs = solve_smo(&q, &problem, &batched(2, tol), None).unwrap();
        for ws in [8, 64, 128] {
            let sol = solve_smo(&q, &problem, &batched(ws, tol), None).unwrap();
            assert_eq!(sol.status, Status::Converged, "l2 {l2} ws {ws}");
            assert!(sol.max_violation <= tol);
            let rel = (sol.objective - pairs.objective).abs() / pairs.objective.abs();
            assert!(
                rel <= 1e-9,
                "l2 {l2} ws {ws}: {} vs {}",
                sol.objective,
                pairs.objective
            );
        }
    }
}

#[test]
fn batched_smo_is_the_same_for_any_number_of_threads() {
    let (q, y, upper) = svm(true);
    let n = q.dim();
    let (p, lower) = (vec![-1.0; n], vec![0.0; n]);
    let problem = svc_problem(&p, &y, &lower, &upper);
    let settings = batched(64, 1e-6);
    let one = in_pool(1, || solve_smo(&q, &problem, &settings, None).unwrap());
    let two = in_pool(2, || solve_smo(&q, &problem, &settings, None).unwrap());
    assert_eq!(one.alpha, two.alpha);
    assert_eq!(one.iterations, two.iterations);
    assert_eq!(one.objective.to_bits(), two.objective.to_bits());
}

#[test]
fn a_warm_start_from_the_optimum_stops_at_once() {
    let (q, y, upper) = svm(false);
    let n = q.dim();
    let (p, lower) = (vec![-1.0; n], vec![0.0; n]);
    let settings = batched(64, 1e-6);
    let cold = solve_smo(&q, &svc_problem(&p, &y, &lower, &upper), &settings, None).unwrap();
    let warm_problem = QpProblem {
        initial: Some(&cold.alpha),
        ..svc_problem(&p, &y, &lower, &upper)
    };
    let warm = solve_smo(&q, &warm_problem, &settings, None).unwrap();
    assert_eq!(warm.status, Status::Converged);
    assert_eq!(warm.iterations, 0);
    // (The start is projected onto the feasible set first: the last bits
    // may move.)
    assert!(warm
        .alpha
        .iter()
        .zip(&cold.alpha)
        .all(|(a, b)| (a - b).abs() <= 1e-12));
    // The gradient formed from the start's columns is the true one.
    let mut g = vec![0.0; n];
    q.matvec(&cold.alpha, &mut g);
    for i in 0..n {
        assert!((g[i] + p[i] - warm.gradient[i]).abs() <= 1e-9);
    }
}

#[test]
fn steps_below_the_rounding_end_with_stalled_not_a_loop() {
    // α = 3·2⁵⁶ (inside [2⁵⁷, 2⁵⁸): ulp 32), Q = I, G = (−32, 0, …): the
    // maximal violating pair asks for t = 16, half an ulp either way, so
    // no variable can move (ties round to the even 3·2⁵⁶) while the
    // violation stays 32.
    let n = 8;
    let big = 3.0 * 2f64.powi(56);
    let mut identity = vec![0.0; n * n];
    identity.iter_mut().step_by(n + 1).for_each(|d| *d = 1.0);
    let q = DenseQ::new(n, identity).unwrap();
    let y: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let mut p = vec![-big; n];
    p[0] -= 32.0;
    let (lower, upper, start) = (vec![0.0; n], vec![f64::INFINITY; n], vec![big; n]);
    let problem = QpProblem {
        initial: Some(&start),
        ..svc_problem(&p, &y, &lower, &upper)
    };
    // Batches and pairs alike (with max_iter, so that a solver that
    // loops fails the test instead of hanging it).
    for size in [4, 2] {
        let settings = SmoSettings {
            max_iter: Some(100_000),
            ..batched(size, 1e-3)
        };
        let sol = solve_smo(&q, &problem, &settings, None).unwrap();
        assert_eq!(sol.status, Status::Stalled, "working set {size}");
        assert_eq!(sol.alpha, start);
        assert_eq!(sol.max_violation, 32.0);
    }
}

#[test]
fn limits_end_batched_smo_with_a_feasible_point() {
    let (q, y, upper) = svm(false);
    let n = q.dim();
    let (p, lower) = (vec![-1.0; n], vec![0.0; n]);
    let problem = svc_problem(&p, &y, &lower, &upper);
    let settings = SmoSettings {
        max_iter: Some(50),
        ..batched(64, 1e-12)
    };
    let sol = solve_smo(&q, &problem, &settings, None).unwrap();
    assert_eq!(sol.status, Status::MaxIterations);
    assert_eq!(sol.iterations, 50);
    assert!(sol.alpha.iter().all(|&a| (0.0..=1.0).contains(&a)));
    let r: f64 = y.iter().zip(&sol.alpha).map(|(y, a)| y * a).sum();
    assert!(r.abs() <= 1e-12, "equality residual {r}");
    // The gradient handed back is the true one.
    let mut g = vec![0.0; n];
    q.matvec(&sol.alpha, &mut g);
    for i in 0..n {
        assert!((g[i] + p[i] - sol.gradient[i]).abs() <= 1e-9);
    }
}

#[test]
fn problems_without_the_equality_or_too_small_go_to_pair_smo() {
    let (q, y, upper) = svm(false);
    let n = q.dim();
    let (p, lower) = (vec![-1.0; n], vec![0.0; n]);
    let boxed = QpProblem {
        equality: None,
        ..svc_problem(&p, &y, &lower, &upper)
    };
    let tol = 1e-6;
    let a = solve_smo(&q, &boxed, &batched(2, tol), None).unwrap();
    let b = solve_smo(&q, &boxed, &batched(64, tol), None).unwrap();
    assert_eq!(a.alpha, b.alpha);
    // 600 variables cannot hold two halves of 400.
    let with_eq = svc_problem(&p, &y, &lower, &upper);
    let a = solve_smo(&q, &with_eq, &batched(2, tol), None).unwrap();
    let b = solve_smo(&q, &with_eq, &batched(400, tol), None).unwrap();
    assert_eq!(a.alpha, b.alpha);
}

#[test]
fn the_block_size_follows_the_settings_and_the_memory_budget() {
    assert_eq!(block_size(10_000, 512, 200 << 20), 512);
    // 8 · 10 000 · q ≤ 1 MiB: q ≤ 13, made even.
    assert_eq!(block_size(10_000, 512, 1 << 20), 12);
    assert_eq!(block_size(10_000, 512, 0), 4);
    assert_eq!(block_size(101, 512, 200 << 20), 100);
    // Auto: pairs for a Q without cheap blocks (`DenseQ`).
    let (q, y, upper) = svm(false);
    let n = q.dim();
    let (p, lower) = (vec![-1.0; n], vec![0.0; n]);
    let problem = svc_problem(&p, &y, &lower, &upper);
    let auto = SmoSettings::default();
    assert_eq!(auto.working_set, WorkingSet::Auto);
    assert_eq!(batch_size(&q, &problem, &auto), None);
    assert_eq!(batch_size(&q, &problem, &batched(64, 1e-3)), Some(64));
    assert_eq!(batch_size(&q, &problem, &batched(400, 1e-3)), None);
    let boxed = QpProblem {
        equality: None,
        ..problem
    };
    assert_eq!(batch_size(&q, &boxed, &batched(64, 1e-3)), None);
    // Auto batches a Q that forms blocks of columns cheaply, from 4·256
    // variables on.
    struct Whole(DenseQ);
    impl QMatrix for Whole {
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn diagonal(&self, out: &mut [f64]) {
            self.0.diagonal(out)
        }
        fn column(&self, j: usize, rows: &[usize], out: &mut [f64]) {
            self.0.column(j, rows, out)
        }
        fn blocks_preferred(&self, _size: usize) -> bool {
            true
        }
    }
    for (n, want) in [(1023, None), (1024, Some(256))] {
        let mut identity = vec![0.0; n * n];
        identity.iter_mut().step_by(n + 1).for_each(|d| *d = 1.0);
        let q = Whole(DenseQ::new(n, identity).unwrap());
        let y: Vec<f64> = (0..n)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let (p, lower, upper) = (vec![-1.0; n], vec![0.0; n], vec![1.0; n]);
        let problem = svc_problem(&p, &y, &lower, &upper);
        assert_eq!(batch_size(&q, &problem, &auto), want, "n = {n}");
    }
}

#[test]
fn odd_or_too_small_batches_are_refused() {
    for size in [0, 1, 3, 513] {
        let s = SmoSettings {
            working_set: WorkingSet::Batched(size),
            ..Default::default()
        };
        assert!(s.validate().is_err(), "{size}");
    }
    assert!(batched(4, 1e-3).validate().is_ok());
}

/// An L2-loss SVM dual (`Q = YKY + I/C`, `C = 100`) on noise-free labels
/// of 600 points on a line: most `αᵢ` are zero at the optimum.
fn clean_l2() -> (DenseQ, Vec<f64>) {
    let n = 600;
    let x: Vec<f64> = (0..n)
        .map(|i| ((i * 389) % n) as f64 / n as f64 * 2.0 - 1.0)
        .collect();
    let y: Vec<f64> = x
        .iter()
        .map(|&x| if (3.0 * x).sin() >= 0.0 { 1.0 } else { -1.0 })
        .collect();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            v[i * n + j] = y[i] * y[j] * (-20.0 * (x[i] - x[j]).powi(2)).exp();
        }
        v[i * n + i] += 0.01;
    }
    (DenseQ::new(n, v).unwrap(), y)
}

/// The smallest active count reported by a batched solve (progress after
/// every round), and the solution.
fn solve_watching_active(
    q: &DenseQ,
    problem: &QpProblem<'_>,
    settings: &SmoSettings,
) -> (Solution, usize) {
    let least = std::sync::atomic::AtomicUsize::new(usize::MAX);
    let settings = SmoSettings {
        progress_interval: std::time::Duration::ZERO,
        ..settings.clone()
    };
    let report = |p: &solvers::Progress| {
        least.fetch_min(p.active, std::sync::atomic::Ordering::Relaxed);
    };
    let sol = solve_smo(q, problem, &settings, Some(&report)).unwrap();
    (sol, least.into_inner())
}

#[test]
fn shrinking_batches_reach_the_same_optimum_with_the_true_gradient() {
    // The L2 dual (no upper bounds): batches shrink. Converged and stopped
    // by max_iter at several points, shrunk or not, the gradient handed
    // back is the true one on every variable.
    let (q, y) = clean_l2();
    let n = q.dim();
    let (p, lower, upper) = (vec![-1.0; n], vec![0.0; n], vec![f64::INFINITY; n]);
    let problem = svc_problem(&p, &y, &lower, &upper);
    let tol = 1e-8;
    let plain = solve_smo(
        &q,
        &problem,
        &SmoSettings {
            shrinking: false,
            ..batched(32, tol)
        },
        None,
    )
    .unwrap();
    let true_gradient = |sol: &Solution| {
        let mut g = vec![0.0; n];
        q.matvec(&sol.alpha, &mut g);
        for i in 0..n {
            let err = (g[i] + p[i] - sol.gradient[i]).abs();
            assert!(err <= 1e-9, "gradient {i}: {err}");
        }
    };
    let (sol, least) = solve_watching_active(&q, &problem, &batched(32, tol));
    assert!(
        least < n / 2,
        "shrinking should have set variables aside: {least} of {n}"
    );
    assert_eq!(sol.status, Status::Converged);
    assert!(sol.max_violation <= tol);
    let rel = (sol.objective - plain.objective).abs() / plain.objective.abs();
    assert!(rel <= 1e-9, "{} vs {}", sol.objective, plain.objective);
    true_gradient(&sol);
    let mut stopped_shrunk = false;
    for max_iter in (1..10).map(|k| k * sol.iterations / 10) {
        let settings = SmoSettings {
            max_iter: Some(max_iter),
            ..batched(32, tol)
        };
        let (sol, least) = solve_watching_active(&q, &problem, &settings);
        if sol.status == Status::MaxIterations {
            stopped_shrunk |= least < n;
        }
        true_gradient(&sol);
    }
    assert!(stopped_shrunk, "a limit should have ended a shrunk solve");
    // With finite upper bounds (the L1 dual) batches do not shrink.
    let (q1, y1, upper1) = svm(false);
    let l1 = svc_problem(&p, &y1, &lower, &upper1);
    let (sol, least) = solve_watching_active(&q1, &l1, &batched(32, tol));
    assert_eq!(sol.status, Status::Converged);
    assert_eq!(least, n);
}
