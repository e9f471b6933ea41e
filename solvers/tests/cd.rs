//! Dual coordinate descent ([`solvers::cd`]) on small random sparse
//! problems: the same optimum as SMO on the explicit `Q̄ = YXXᵀY + D` (for
//! all three bias modes), `w = Σαᵢyᵢx̃ᵢ` recomputed from `α`, KKT measures
//! recomputed from `Q̄α − 1`, reproducibility, limits as statuses and setup
//! errors.

use solvers::{
    kkt, solve_cd, solve_smo, CdBias, CdProblem, CdSettings, CsrRef, DenseQ, Equality, QpProblem,
    RowMatrix, SetupError, SmoSettings, SparseRow, Status,
};

/// A random sparse problem.
struct Case {
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
    d: usize,
    y: Vec<f64>,
}

/// xorshift64*: a small deterministic generator for test data.
fn rng(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed | 1;
    move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn case(seed: u64, n: usize, d: usize) -> Case {
    let mut next = rng(seed);
    let mut c = Case {
        indptr: vec![0],
        indices: Vec::new(),
        values: Vec::new(),
        d,
        y: Vec::new(),
    };
    for _ in 0..n {
        for k in 0..d {
            if next() < 0.4 {
                c.indices.push(k as u32);
                c.values.push(2.0 * next() - 1.0);
            }
        }
        c.indptr.push(c.indices.len());
        c.y.push(if next() < 0.5 { 1.0 } else { -1.0 });
    }
    c
}

impl Case {
    fn x(&self) -> CsrRef<'_> {
        CsrRef::new(&self.indptr, &self.indices, &self.values, self.d).unwrap()
    }

    /// Row `i` densely, with the constant feature `b` appended.
    fn dense_row(&self, i: usize, b: f64) -> Vec<f64> {
        let mut r = vec![0.0; self.d + 1];
        for p in self.indptr[i]..self.indptr[i + 1] {
            r[self.indices[p] as usize] = self.values[p];
        }
        r[self.d] = b;
        r
    }

    /// `Q̄ = YX̃X̃ᵀY + diag(shift)` densely.
    fn q(&self, b: f64, shift: &[f64]) -> Vec<f64> {
        let n = self.y.len();
        let rows: Vec<Vec<f64>> = (0..n).map(|i| self.dense_row(i, b)).collect();
        let mut q = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let dot: f64 = rows[i].iter().zip(&rows[j]).map(|(a, c)| a * c).sum();
                q[i * n + j] = self.y[i] * self.y[j] * dot + if i == j { shift[i] } else { 0.0 };
            }
        }
        q
    }
}

/// (upper, shift) for the hinge (`C = 1`) or squared slack (`C = 2`).
fn loss(l1: bool, n: usize) -> (Vec<f64>, Vec<f64>) {
    if l1 {
        (vec![1.0; n], vec![0.0; n])
    } else {
        (vec![f64::INFINITY; n], vec![0.5; n])
    }
}

#[test]
fn matches_smo_on_explicit_q_for_every_bias_mode() {
    for seed in 1..9u64 {
        let c = case(seed, 40, 6);
        let n = c.y.len();
        for l1 in [true, false] {
            let (upper, shift) = loss(l1, n);
            for bias in [
                CdBias::None,
                CdBias::Regularized { value: 1.5 },
                CdBias::Unregularized,
            ] {
                let problem = CdProblem {
                    signs: &c.y,
                    upper: &upper,
                    shift: &shift,
                    bias,
                };
                let settings = CdSettings {
                    tol: 1e-10,
                    ..Default::default()
                };
                let s = solve_cd(&c.x(), &problem, &settings, None).unwrap();
                assert_eq!(s.status, Status::Converged);

                let b = match bias {
                    CdBias::Regularized { value } => value,
                    _ => 0.0,
                };
                let q = c.q(b, &shift);
                let dense = DenseQ::new(n, q.clone()).unwrap();
                let p = vec![-1.0; n];
                let lower = vec![0.0; n];
                let qp = QpProblem {
                    linear: &p,
                    equality: (bias == CdBias::Unregularized).then_some(Equality {
                        signs: &c.y,
                        rhs: 0.0,
                    }),
                    lower: &lower,
                    upper: &upper,
                    initial: None,
                };
                let smo_settings = SmoSettings {
                    tol: 1e-10,
                    ..Default::default()
                };
                let r = solve_smo(&dense, &qp, &smo_settings, None).unwrap();
                let scale = r.objective.abs().max(1.0);
                assert!(
                    (s.objective - r.objective).abs() <= 1e-8 * scale,
                    "seed {seed} l1 {l1} {bias:?}: cd {} smo {}",
                    s.objective,
                    r.objective
                );

                // Feasibility and the KKT measure from Q̄α − 1, not from the
                // solver's w.
                let grad: Vec<f64> = (0..n)
                    .map(|i| (0..n).map(|j| q[i * n + j] * s.alpha[j]).sum::<f64>() - 1.0)
                    .collect();
                assert!(s.alpha.iter().zip(&upper).all(|(a, u)| *a >= 0.0 && a <= u));
                let viol = kkt::max_violation(&qp, &s.alpha, &grad);
                assert!(viol <= 1e-8, "violation {viol}");
                if bias == CdBias::Unregularized {
                    let ya: f64 = s.alpha.iter().zip(&c.y).map(|(a, y)| a * y).sum();
                    assert!(ya.abs() <= 1e-9);
                    assert_eq!(s.measure, solvers::StopMeasure::MaximalViolatingPair);
                    assert!(s.max_violation <= 1e-10);
                }

                // The solver's w is Σ αᵢyᵢx̃ᵢ.
                let mut w = vec![0.0; c.d + 1];
                for i in 0..n {
                    let r = c.dense_row(i, b);
                    for k in 0..=c.d {
                        w[k] += s.alpha[i] * c.y[i] * r[k];
                    }
                }
                for k in 0..c.d {
                    assert!((w[k] - s.w[k]).abs() <= 1e-9, "w[{k}]");
                }
                match bias {
                    CdBias::Regularized { value } => {
                        let wb = s.bias_weight.unwrap();
                        assert!((w[c.d] - wb).abs() <= 1e-9);
                        assert_eq!(s.bias, value * wb);
                    }
                    _ => assert_eq!(s.bias_weight, None),
                }
            }
        }
    }
}

#[test]
fn gap_stopping_reaches_the_asked_gap() {
    let c = case(11, 60, 8);
    let n = c.y.len();
    for l1 in [true, false] {
        let (upper, shift) = loss(l1, n);
        for bias in [CdBias::None, CdBias::Unregularized] {
            let problem = CdProblem {
                signs: &c.y,
                upper: &upper,
                shift: &shift,
                bias,
            };
            let settings = CdSettings {
                gap_tol: Some(1e-9),
                ..Default::default()
            };
            let s = solve_cd(&c.x(), &problem, &settings, None).unwrap();
            assert_eq!(s.status, Status::Converged);
            let gap = s.relative_gap.unwrap();
            assert!((-1e-12..=1e-9).contains(&gap), "gap {gap}");
        }
    }
}

#[test]
fn same_seed_same_result_and_shrinking_agrees() {
    let c = case(5, 50, 5);
    let n = c.y.len();
    let (upper, shift) = loss(true, n);
    let problem = CdProblem {
        signs: &c.y,
        upper: &upper,
        shift: &shift,
        bias: CdBias::None,
    };
    let settings = CdSettings {
        tol: 1e-9,
        ..Default::default()
    };
    let a = solve_cd(&c.x(), &problem, &settings, None).unwrap();
    let b = solve_cd(&c.x(), &problem, &settings, None).unwrap();
    assert_eq!(a.alpha, b.alpha);
    assert_eq!(a.w, b.w);
    let other_seed = CdSettings {
        seed: 99,
        ..settings.clone()
    };
    let no_shrink = CdSettings {
        shrinking: false,
        ..settings.clone()
    };
    for s in [other_seed, no_shrink] {
        let r = solve_cd(&c.x(), &problem, &s, None).unwrap();
        assert!((r.objective - a.objective).abs() <= 1e-8 * a.objective.abs().max(1.0));
    }
}

#[test]
fn limits_are_statuses() {
    let c = case(3, 80, 10);
    let n = c.y.len();
    let (upper, shift) = loss(true, n);
    for bias in [CdBias::None, CdBias::Unregularized] {
        let problem = CdProblem {
            signs: &c.y,
            upper: &upper,
            shift: &shift,
            bias,
        };
        let settings = CdSettings {
            tol: 1e-12,
            max_passes: Some(1),
            ..Default::default()
        };
        let s = solve_cd(&c.x(), &problem, &settings, None).unwrap();
        assert_eq!(s.status, Status::MaxIterations);
        assert_eq!(s.passes, 1);
        assert!(s.alpha.iter().zip(&upper).all(|(a, u)| *a >= 0.0 && a <= u));
    }
}

#[test]
fn zero_row_without_upper_bound_is_unbounded() {
    // Row 1 is empty: with U = ∞ and no shift, f decreases along α₁.
    let indptr = [0, 1, 1];
    let indices = [0u32];
    let values = [1.0];
    let x = CsrRef::new(&indptr, &indices, &values, 1).unwrap();
    let y = [1.0, -1.0];
    let upper = [f64::INFINITY; 2];
    let shift = [0.0; 2];
    let problem = CdProblem {
        signs: &y,
        upper: &upper,
        shift: &shift,
        bias: CdBias::None,
    };
    let s = solve_cd(&x, &problem, &CdSettings::default(), None).unwrap();
    assert_eq!(s.status, Status::Unbounded);
}

#[test]
fn setup_errors() {
    let c = case(2, 5, 3);
    let (upper, shift) = loss(true, 5);
    let good = CdProblem {
        signs: &c.y,
        upper: &upper,
        shift: &shift,
        bias: CdBias::None,
    };
    let short = [1.0; 4];
    let bad_len = CdProblem {
        signs: &short,
        ..good
    };
    assert!(matches!(
        solve_cd(&c.x(), &bad_len, &CdSettings::default(), None),
        Err(SetupError::DimensionMismatch { .. })
    ));
    let signs = [1.0, 0.5, 1.0, 1.0, -1.0];
    let bad_sign = CdProblem {
        signs: &signs,
        ..good
    };
    assert!(matches!(
        solve_cd(&c.x(), &bad_sign, &CdSettings::default(), None),
        Err(SetupError::InvalidSign { index: 1, .. })
    ));
    let bad_tol = CdSettings {
        tol: 0.0,
        ..Default::default()
    };
    assert!(matches!(
        solve_cd(&c.x(), &good, &bad_tol, None),
        Err(SetupError::InvalidSetting { name: "tol", .. })
    ));
    // Column index out of range, and a broken indptr.
    assert!(CsrRef::new(&[0, 1], &[3], &[1.0], 3).is_err());
    assert!(CsrRef::new(&[0, 2], &[0], &[1.0], 3).is_err());
}

#[test]
fn a_set_cancellation_flag_interrupts_before_the_next_pass() {
    let c = case(5, 60, 8);
    let n = c.y.len();
    let (upper, shift) = loss(true, n);
    let flag = std::sync::atomic::AtomicBool::new(true);
    for bias in [CdBias::None, CdBias::Unregularized] {
        let problem = CdProblem {
            signs: &c.y,
            upper: &upper,
            shift: &shift,
            bias,
        };
        let settings = CdSettings::default();
        let s =
            solvers::solve_cd_cancellable(&c.x(), &problem, &settings, None, Some(&flag)).unwrap();
        assert_eq!(s.status, Status::Interrupted);
        assert_eq!(s.passes, 0);
        assert!(s.alpha.iter().zip(&upper).all(|(a, u)| *a >= 0.0 && a <= u));
        // Unset, the same call runs to convergence.
        let unset = std::sync::atomic::AtomicBool::new(false);
        let s =
            solvers::solve_cd_cancellable(&c.x(), &problem, &settings, None, Some(&unset)).unwrap();
        assert_eq!(s.status, Status::Converged);
    }
}

/// The same rows through a [`RowMatrix`] that keeps the trait's default
/// (no-op) prefetch hints.
struct NoHints<'a>(CsrRef<'a>);

impl RowMatrix for NoHints<'_> {
    fn n_rows(&self) -> usize {
        self.0.n_rows()
    }
    fn n_cols(&self) -> usize {
        self.0.n_cols()
    }
    fn row(&self, i: usize) -> SparseRow<'_> {
        self.0.row(i)
    }
}

#[test]
fn prefetch_hints_do_not_change_results() {
    // 300 rows (more than the look-ahead), some of them empty, so hints
    // reach the last rows and rows without entries.
    let mut c = case(17, 300, 4);
    for i in (0..300).step_by(37) {
        let (a, b) = (c.indptr[i], c.indptr[i + 1]);
        c.indices.drain(a..b);
        c.values.drain(a..b);
        for p in &mut c.indptr[i + 1..] {
            *p -= b - a;
        }
    }
    let n = c.y.len();
    for (l1, bias) in [
        (true, CdBias::None),
        (false, CdBias::Regularized { value: 1.0 }),
        (true, CdBias::Unregularized),
    ] {
        let (upper, shift) = loss(l1, n);
        let problem = CdProblem {
            signs: &c.y,
            upper: &upper,
            shift: &shift,
            bias,
        };
        let settings = CdSettings {
            tol: 1e-8,
            ..Default::default()
        };
        let hinted = solve_cd(&c.x(), &problem, &settings, None).unwrap();
        let plain = solve_cd(&NoHints(c.x()), &problem, &settings, None).unwrap();
        assert_eq!(hinted.status, Status::Converged);
        assert_eq!(hinted.alpha, plain.alpha, "{bias:?}");
        assert_eq!(hinted.w, plain.w, "{bias:?}");
        assert_eq!(hinted.passes, plain.passes, "{bias:?}");
    }
}

#[test]
fn a_tolerance_or_target_gap_below_rounding_ends_as_stalled() {
    // Both ask for less than rounding allows; a pass limit far above what
    // these solves need turns a loop into a failure instead of a hang.
    let guard = 1_000_000;
    let c = case(5, 80, 10);
    let n = c.y.len();
    for l1 in [true, false] {
        let (upper, shift) = loss(l1, n);
        for bias in [CdBias::None, CdBias::Unregularized] {
            let problem = CdProblem {
                signs: &c.y,
                upper: &upper,
                shift: &shift,
                bias,
            };
            let tight = CdSettings {
                tol: 1e-10,
                ..Default::default()
            };
            let reference = solve_cd(&c.x(), &problem, &tight, None).unwrap();
            assert_eq!(reference.status, Status::Converged);
            for settings in [
                CdSettings {
                    tol: 1e-300,
                    max_passes: Some(guard),
                    ..Default::default()
                },
                CdSettings {
                    gap_tol: Some(1e-300),
                    max_passes: Some(guard),
                    ..Default::default()
                },
            ] {
                let s = solve_cd(&c.x(), &problem, &settings, None).unwrap();
                let what = format!("l1 {l1}, {bias:?}, {settings:?}: {} passes", s.passes);
                assert!(
                    matches!(s.status, Status::Stalled | Status::Converged),
                    "{what}: {:?}",
                    s.status
                );
                assert!(s.passes < guard / 10, "{what}");
                let scale = reference.objective.abs().max(1.0);
                assert!(
                    (s.objective - reference.objective).abs() <= 1e-8 * scale,
                    "{what}: {} vs {}",
                    s.objective,
                    reference.objective
                );
            }
        }
    }
}

#[test]
fn without_a_pass_limit_the_default_one_ends_a_hopeless_solve() {
    // One point with labels +1, −1, +1 and C = 1e300: the steps move
    // w = Σαᵢyᵢ back and forth and raise the α towards a bound they will
    // never reach. Some passes see the same nonzero projected gradient at
    // every step, which LIBLINEAR's spread test (max − min) took for
    // convergence after 3 passes.
    let indptr = [0, 1, 2, 3];
    let indices = [0u32; 3];
    let values = [1.0; 3];
    let x = CsrRef::new(&indptr, &indices, &values, 1).unwrap();
    let y = [1.0, -1.0, 1.0];
    let upper = [1e300; 3];
    let shift = [0.0; 3];
    let problem = CdProblem {
        signs: &y,
        upper: &upper,
        shift: &shift,
        bias: CdBias::None,
    };
    let s = solve_cd(&x, &problem, &CdSettings::default(), None).unwrap();
    assert_eq!(s.status, Status::MaxIterations, "{} passes", s.passes);
    assert_eq!(s.passes, solvers::cd::DEFAULT_MAX_PASSES);
}
