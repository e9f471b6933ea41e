//! An independent reference for small SVM duals: the Clarabel
//! interior-point solver (the Rust crate, pinned as a dev-dependency) on
//!
//! ```text
//!     min ½αᵀQα − 1ᵀα   s.t.  yᵀα = 0 (if bias),  α ≥ 0,  α ≤ u (finite u only)
//! ```
//!
//! written as Clarabel's conic form `Ax + s = b`, `s ∈ K`: one `ZeroCone` row
//! `yᵀα = 0`, `NonnegativeCone` rows `−α + s = 0` and `α + s = u`. `Q` is
//! built by the caller from its own kernel code, not from `svm_dual`.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettings, DefaultSolver, IPSolver, SolverStatus, SupportedConeT};

/// What Clarabel returned.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// `1ᵀα − ½αᵀQα` at the optimum (maximisation form).
    pub dual_objective: f64,
    /// Clarabel's dual bound of the same quantity, for the caller's sanity checks.
    pub dual_objective_bound: f64,
    /// Interior-point iterations.
    pub iterations: u32,
}

/// Settings tried in order until Clarabel reports `Solved` (its defaults can
/// stop with `InsufficientProgress` at these tight tolerances).
fn settings(attempt: usize) -> DefaultSettings<f64> {
    let base = DefaultSettings::<f64> {
        verbose: false,
        tol_gap_abs: 1e-11,
        tol_gap_rel: 1e-11,
        tol_feas: 1e-11,
        max_iter: 200,
        ..DefaultSettings::default()
    };
    match attempt {
        0 => base,
        1 => DefaultSettings {
            equilibrate_enable: false,
            ..base
        },
        _ => DefaultSettings {
            static_regularization_constant: 1e-10,
            ..base
        },
    }
}

/// Solves the dual with `Q` dense row-major (`n × n`, symmetric), upper bounds
/// `upper` (`f64::INFINITY` for none) and labels `y` (±1). Panics if Clarabel
/// does not reach `Solved` under any of its settings.
pub fn solve_dual(q: &[f64], n: usize, y: &[f64], upper: &[f64], bias: bool) -> Reference {
    assert_eq!(q.len(), n * n);
    // P: upper triangle of Q, as triplets.
    let (mut pi, mut pj, mut pv) = (Vec::new(), Vec::new(), Vec::new());
    for j in 0..n {
        for i in 0..=j {
            let v = q[i * n + j];
            if v != 0.0 {
                pi.push(i);
                pj.push(j);
                pv.push(v);
            }
        }
    }
    let p = CscMatrix::new_from_triplets(n, n, pi, pj, pv);
    let lin = vec![-1.0; n];

    let (mut ai, mut aj, mut av, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut cones = Vec::new();
    let mut row = 0;
    if bias {
        for (j, &yj) in y.iter().enumerate() {
            ai.push(row);
            aj.push(j);
            av.push(yj);
        }
        b.push(0.0);
        row += 1;
        cones.push(SupportedConeT::ZeroConeT(1));
    }
    for j in 0..n {
        ai.push(row + j);
        aj.push(j);
        av.push(-1.0);
        b.push(0.0);
    }
    row += n;
    cones.push(SupportedConeT::NonnegativeConeT(n));
    let finite: Vec<usize> = (0..n).filter(|&j| upper[j].is_finite()).collect();
    for (k, &j) in finite.iter().enumerate() {
        ai.push(row + k);
        aj.push(j);
        av.push(1.0);
        b.push(upper[j]);
    }
    row += finite.len();
    if !finite.is_empty() {
        cones.push(SupportedConeT::NonnegativeConeT(finite.len()));
    }
    let a = CscMatrix::new_from_triplets(row, n, ai, aj, av);

    let mut last = None;
    for attempt in 0..3 {
        let mut solver = DefaultSolver::new(&p, &lin, &a, &b, &cones, settings(attempt))
            .expect("Clarabel refused the problem");
        solver.solve();
        let s = &solver.solution;
        if s.status == SolverStatus::Solved {
            return Reference {
                dual_objective: -s.obj_val,
                dual_objective_bound: -s.obj_val_dual,
                iterations: s.iterations,
            };
        }
        last = Some(s.status);
    }
    panic!("Clarabel did not solve the reference problem: last status {last:?}");
}
