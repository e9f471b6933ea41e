//! SMO on random convex QPs: feasibility, the KKT measure recomputed from
//! `Qα + p` (not the solver's gradient), optimality against random feasible
//! points, shrinking on/off agreement, and limits reported as statuses.

use proptest::prelude::*;
use solvers::projection::project;
use solvers::{
    kkt, solve_smo, DenseQ, Equality, QMatrix, QpProblem, SetupError, SmoSettings, Status,
};

mod common;
use common::{case, check_solution, rbf_problem, svc_problem};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn smo_solves_random_qps(c in case(), seed in any::<u64>(), shrinking in any::<bool>()) {
        let q = DenseQ::new(c.n, c.q.clone()).unwrap();
        let tol = 1e-8;
        let settings = SmoSettings { tol, shrinking, ..Default::default() };
        let sol = solve_smo(&q, &c.problem(), &settings, None).unwrap();
        prop_assert_eq!(sol.status, Status::Converged);
        // Feasible, and KKT from a gradient recomputed here.
        let obj = check_solution(&c, &q, &sol, tol)?;
        // No random feasible point does better.
        let mut s = seed | 1;
        for _ in 0..20 {
            let v: Vec<f64> = (0..c.n).map(|i| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                let r = (s >> 11) as f64 / (1u64 << 53) as f64;
                let u = if c.upper[i].is_finite() { c.upper[i] } else { c.lower[i] + 5.0 };
                c.lower[i] + r * (u - c.lower[i])
            }).collect();
            let point = match &c.signs {
                Some(sg) => project(&v, sg, c.rhs, &c.lower, &c.upper).unwrap(),
                None => v,
            };
            let (other, _) = c.objective(&q, &point);
            // Suboptimality at tolerance tol is at most ~tol·(diameter); be generous.
            prop_assert!(obj <= other + 1e-6 * (1.0 + other.abs()), "{} > {}", obj, other);
        }
    }

    #[test]
    fn shrinking_does_not_change_the_optimum(c in case()) {
        let q = DenseQ::new(c.n, c.q.clone()).unwrap();
        let with = SmoSettings { tol: 1e-10, ..Default::default() };
        let without = SmoSettings { shrinking: false, ..with.clone() };
        let a = solve_smo(&q, &c.problem(), &with, None).unwrap();
        let b = solve_smo(&q, &c.problem(), &without, None).unwrap();
        prop_assert!((a.objective - b.objective).abs() <= 1e-7 * (1.0 + a.objective.abs()));
    }
}

#[test]
fn shrinking_with_a_tiny_cache_on_a_larger_problem() {
    // n = 300 with a cache of two columns: exercises eviction, prefix
    // extension, swaps and gradient reconstruction together.
    let n = 300;
    let (q, y) = rbf_problem(n);
    let p = vec![-1.0; n];
    let (l, u) = (vec![0.0; n], vec![1.0; n]);
    let problem = svc_problem(&p, &y, &l, &u);
    let tiny = SmoSettings {
        tol: 1e-9,
        cache_bytes: 0,
        ..Default::default()
    };
    let big = SmoSettings {
        tol: 1e-9,
        shrinking: false,
        ..Default::default()
    };
    let a = solve_smo(&q, &problem, &tiny, None).unwrap();
    let b = solve_smo(&q, &problem, &big, None).unwrap();
    assert_eq!(a.status, Status::Converged);
    assert!(
        (a.objective - b.objective).abs() <= 1e-8 * b.objective.abs(),
        "{} vs {}",
        a.objective,
        b.objective
    );
    let mut g = vec![0.0; n];
    q.matvec(&a.alpha, &mut g);
    g.iter_mut().for_each(|g| *g -= 1.0);
    assert!(kkt::max_violation(&problem, &a.alpha, &g) <= 1e-9 + 1e-12);
    // The cache only changes where columns come from: the same iterates
    // with a full cache from the start, after a warm-up of 50 iterations
    // (the budget raised mid-solve), or never.
    let full = solve_smo(
        &q,
        &problem,
        &SmoSettings {
            tol: 1e-9,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let warm = solve_smo(
        &q,
        &problem,
        &SmoSettings {
            tol: 1e-9,
            cache_warmup: 50,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    assert!(full.iterations > 50);
    assert_eq!(warm.alpha, full.alpha);
    assert_eq!(warm.iterations, full.iterations);
    assert_eq!(a.alpha, full.alpha);
}

#[test]
fn limits_are_statuses_and_points_stay_feasible() {
    let c = common::decaying_case(50);
    let q = DenseQ::new(c.n, c.q.clone()).unwrap();
    let problem = c.problem();
    let y = c.signs.as_deref().unwrap();
    let settings = SmoSettings {
        tol: 1e-12,
        max_iter: Some(3),
        ..Default::default()
    };
    let sol = solve_smo(&q, &problem, &settings, None).unwrap();
    assert_eq!(sol.status, Status::MaxIterations);
    assert_eq!(sol.iterations, 3);
    let r: f64 = y.iter().zip(&sol.alpha).map(|(y, a)| y * a).sum();
    assert!(r.abs() < 1e-12);
    let settings = SmoSettings {
        time_limit: Some(std::time::Duration::ZERO),
        ..Default::default()
    };
    let sol = solve_smo(&q, &problem, &settings, None).unwrap();
    assert_eq!(sol.status, Status::TimeLimit);
}

#[test]
fn unbounded_problem_is_a_status() {
    // Q = 0, p = −1, α ≥ 0 unbounded above: the objective has no minimum.
    let q = DenseQ::new(2, vec![0.0; 4]).unwrap();
    let p = [-1.0, -1.0];
    let (l, u) = ([0.0; 2], [f64::INFINITY; 2]);
    let problem = QpProblem {
        linear: &p,
        equality: None,
        lower: &l,
        upper: &u,
        initial: None,
    };
    let sol = solve_smo(&q, &problem, &SmoSettings::default(), None).unwrap();
    assert_eq!(sol.status, Status::Unbounded);
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
    assert!(solve_smo(&q, &infeasible, &SmoSettings::default(), None).is_err());
    let bad_tol = SmoSettings {
        tol: -1.0,
        ..Default::default()
    };
    let ok = QpProblem {
        equality: None,
        ..infeasible
    };
    assert!(solve_smo(&q, &ok, &bad_tol, None).is_err());
    let short = [0.0];
    let mismatched = QpProblem {
        lower: &short,
        ..ok
    };
    assert!(solve_smo(&q, &mismatched, &SmoSettings::default(), None).is_err());
    // A negative diagonal entry is named as such, with its value.
    let indefinite = DenseQ::new(2, vec![1.0, 0.0, 0.0, -0.5]).unwrap();
    let err = solve_smo(&indefinite, &ok, &SmoSettings::default(), None).unwrap_err();
    assert_eq!(
        err,
        SetupError::NegativeDiagonal {
            what: "diagonal of Q",
            index: 1,
            value: -0.5
        }
    );
    assert!(
        err.to_string().contains("is negative (-0.5) at index 1"),
        "{err}"
    );
    let not_finite = DenseQ::new(2, vec![f64::NAN, 0.0, 0.0, 1.0]).unwrap();
    assert!(matches!(
        solve_smo(&not_finite, &ok, &SmoSettings::default(), None),
        Err(SetupError::NonFinite { index: 0, .. })
    ));
}

/// `Q = diag(d) + V Vᵀ` with `V` of rank 3: positive definite, columns in
/// `O(1)` per entry, so that `n` can exceed the solver's parallel chunk.
struct LowRank {
    d: Vec<f64>,
    v: Vec<[f64; 3]>,
}

impl QMatrix for LowRank {
    fn dim(&self) -> usize {
        self.d.len()
    }
    fn diagonal(&self, out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.d[i] + self.v[i].iter().map(|x| x * x).sum::<f64>();
        }
    }
    fn column(&self, j: usize, rows: &[usize], out: &mut [f64]) {
        for (o, &i) in out.iter_mut().zip(rows) {
            let vij: f64 = (0..3).map(|k| self.v[i][k] * self.v[j][k]).sum();
            *o = vij + if i == j { self.d[i] } else { 0.0 };
        }
    }
}

#[test]
fn large_problems_do_not_depend_on_the_thread_count() {
    // n above twice the selection chunk (2¹³), so the working-set selection
    // and the gradient updates run over several chunks in parallel.
    let n = 17_000;
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut uniform = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let q = LowRank {
        d: (0..n).map(|_| 0.1 + uniform()).collect(),
        v: (0..n)
            .map(|_| [uniform() - 0.5, uniform() - 0.5, uniform() - 0.5])
            .collect(),
    };
    let signs: Vec<f64> = (0..n)
        .map(|_| if uniform() < 0.5 { 1.0 } else { -1.0 })
        .collect();
    let (linear, lower, upper) = (vec![-1.0; n], vec![0.0; n], vec![1.0; n]);
    let problem = QpProblem {
        linear: &linear,
        equality: Some(Equality {
            signs: &signs,
            rhs: 0.0,
        }),
        lower: &lower,
        upper: &upper,
        initial: None,
    };
    // Past the first shrinking round (every 1000 iterations), yet quick.
    let settings = SmoSettings {
        max_iter: Some(1_500),
        cache_bytes: 1 << 20,
        ..Default::default()
    };
    let solve = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| solve_smo(&q, &problem, &settings, None).unwrap())
    };
    let (one, two) = (solve(1), solve(2));
    assert_eq!(one.iterations, two.iterations);
    assert!(one.alpha.iter().any(|&a| a > 0.0));
    assert_eq!(one.alpha, two.alpha);
    assert_eq!(one.objective.to_bits(), two.objective.to_bits());
}

/// A dense `Q` that says whole columns cost no more than partial ones and
/// records the shortest column asked for.
struct WholeColumns {
    q: DenseQ,
    shortest: std::sync::atomic::AtomicUsize,
}

impl QMatrix for WholeColumns {
    fn dim(&self) -> usize {
        self.q.dim()
    }
    fn diagonal(&self, out: &mut [f64]) {
        self.q.diagonal(out)
    }
    fn column(&self, j: usize, rows: &[usize], out: &mut [f64]) {
        self.shortest
            .fetch_min(rows.len(), std::sync::atomic::Ordering::Relaxed);
        self.q.column(j, rows, out)
    }
    fn whole_columns_preferred(&self) -> bool {
        true
    }
}

#[test]
fn whole_columns_are_asked_for_whole_and_not_shrunk() {
    let n = 200;
    let (dense, y) = rbf_problem(n);
    let q = WholeColumns {
        q: dense.clone(),
        shortest: usize::MAX.into(),
    };
    let p = vec![-1.0; n];
    let (l, u) = (vec![0.0; n], vec![0.5; n]);
    let problem = svc_problem(&p, &y, &l, &u);
    let settings = |shrinking| SmoSettings {
        tol: 1e-8,
        cache_bytes: 20 * n * 8,
        shrinking,
        ..Default::default()
    };
    let shrinking = solve_smo(&q, &problem, &settings(true), None).unwrap();
    assert_eq!(q.shortest.load(std::sync::atomic::Ordering::Relaxed), n);
    let not = solve_smo(&q, &problem, &settings(false), None).unwrap();
    assert_eq!(shrinking.status, Status::Converged);
    // Shrinking allowed but not done: the same iterates as without it.
    assert_eq!(shrinking.alpha, not.alpha);
    assert_eq!(shrinking.iterations, not.iterations);
    // The same optimum as the plain dense Q (which shrinks).
    let plain = solve_smo(&dense, &problem, &settings(true), None).unwrap();
    assert!((plain.objective - not.objective).abs() <= 1e-9 * plain.objective.abs());
}
