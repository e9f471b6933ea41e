//! The interior-point block solver against the block coordinate solver on
//! generated problems, its limits and its thread independence.

use solvers::rng::SplitMix64;
use solvers::{
    solve_block, solve_block_ip, BlockProblem, BlockSolution, DenseQ, SetupError, SmoSettings,
    Status, IP_MAX_SAMPLES,
};

/// `K = XXᵀ` for `n` random rows of `d` features, feature `j` scaled by
/// `scales[j]`, and Crammer–Singer-shaped data (`p`, `l`, `u`); with
/// `fixed`, every third sample has its last non-label entry fixed at 0.
struct Generated {
    q: DenseQ,
    k: usize,
    p: Vec<f64>,
    l: Vec<f64>,
    u: Vec<f64>,
}

fn generate(n: usize, scales: &[f64], k: usize, seed: u64, fixed: bool) -> Generated {
    let d = scales.len();
    let mut rng = SplitMix64::new(seed);
    let x: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            scales
                .iter()
                .map(|s| s * (rng.uniform() * 2.0 - 1.0))
                .collect()
        })
        .collect();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            v[i * n + j] = (0..d).map(|c| x[i][c] * x[j][c]).sum();
        }
    }
    let (mut p, mut l, mut u) = (vec![0.0; n * k], vec![0.0; n * k], vec![0.0; n * k]);
    let c = 1.5;
    for i in 0..n {
        let y = rng.below(k);
        for m in 0..k {
            let e = i * k + m;
            p[e] = if m == y { 0.0 } else { 1.0 };
            (l[e], u[e]) = if m == y { (0.0, c) } else { (-c, 0.0) };
        }
        if fixed && i % 3 == 0 {
            let m = if y == k - 1 { k - 2 } else { k - 1 };
            (l[i * k + m], u[i * k + m]) = (0.0, 0.0);
        }
    }
    Generated {
        q: DenseQ::new(n, v).unwrap(),
        k,
        p,
        l,
        u,
    }
}

impl Generated {
    fn problem(&self) -> BlockProblem<'_> {
        BlockProblem {
            block_size: self.k,
            linear: &self.p,
            lower: &self.l,
            upper: &self.u,
        }
    }

    fn assert_feasible(&self, s: &BlockSolution) {
        for (i, blk) in s.alpha.chunks(self.k).enumerate() {
            assert!(blk.iter().sum::<f64>().abs() < 1e-12, "block {i}: {blk:?}");
        }
        for (e, v) in s.alpha.iter().enumerate() {
            assert!(self.l[e] <= *v && *v <= self.u[e], "entry {e}: {v}");
        }
    }
}

fn tight(tol: f64) -> SmoSettings {
    SmoSettings {
        tol,
        ..SmoSettings::default()
    }
}

#[test]
fn equals_block_coordinate_descent_on_generated_problems() {
    for (seed, n, scales, k, fixed) in [
        (1, 30, vec![1.0, 1.0, 1.0], 3, false),
        (2, 50, vec![1.0, 0.5, 2.0, 1.0], 4, true),
        (3, 80, vec![1.0; 10], 5, false),
        (4, 40, vec![10.0, 0.1, 1.0], 3, true),
        (5, 25, vec![1.0, 1.0], 2, false),
    ] {
        let g = generate(n, &scales, k, seed, fixed);
        let reference = solve_block(&g.q, &g.problem(), &tight(1e-11), None).unwrap();
        assert_eq!(reference.status, Status::Converged);
        let ip = solve_block_ip(&g.q, &g.problem(), &tight(1e-9), None).unwrap();
        assert_eq!(ip.status, Status::Converged, "seed {seed}");
        g.assert_feasible(&ip);
        let rel = (ip.objective - reference.objective).abs() / reference.objective.abs().max(1.0);
        assert!(
            rel <= 1e-9,
            "seed {seed}: {} vs {} ({rel:.1e})",
            ip.objective,
            reference.objective
        );
        // The rounding puts the active entries on their bounds.
        assert!(
            ip.max_violation <= 1e-6,
            "seed {seed}: {}",
            ip.max_violation
        );
        // Fixed entries stay at 0.
        for e in 0..g.l.len() {
            if g.l[e] == g.u[e] {
                assert_eq!(ip.alpha[e], 0.0);
            }
        }
    }
}

#[test]
fn badly_scaled_features_are_solved_in_few_iterations() {
    // Feature scales over four orders of magnitude: K's diagonal spans
    // eight. The block solver crawls here; the interior point converges in
    // a few dozen iterations to an objective at least as low.
    for (seed, n) in [(9, 60), (10, 20)] {
        let g = generate(n, &[1000.0, 1.0, 0.1, 10.0], 3, seed, false);
        // tol 1e-7: with K's diagonal over eight orders of magnitude the
        // dual residual bottoms out near 1e-9 in floating point.
        let ip = solve_block_ip(&g.q, &g.problem(), &tight(1e-7), None).unwrap();
        assert_eq!(ip.status, Status::Converged, "seed {seed}");
        assert!(ip.iterations <= 60, "{} iterations", ip.iterations);
        g.assert_feasible(&ip);
        let settings = SmoSettings {
            tol: 1e-9,
            max_iter: Some(200_000),
            ..SmoSettings::default()
        };
        let bcd = solve_block(&g.q, &g.problem(), &settings, None).unwrap();
        assert!(
            ip.objective <= bcd.objective + 1e-9 * bcd.objective.abs(),
            "seed {seed}: {} vs {} ({:?})",
            ip.objective,
            bcd.objective,
            bcd.status
        );
        // Weak lower bound: f ≥ Σᵢ min over the block of ⟨pᵢ, aᵢ⟩ = −C·n
        // (K ⪰ 0, and ⟨pᵢ, aᵢ⟩ = −aᵢ,yᵢ ≥ −C on this set).
        assert!(ip.objective >= -1.5 * n as f64 - 1e-9);
    }
}

#[test]
fn the_iteration_limit_is_a_status_with_a_feasible_point() {
    let g = generate(30, &[1.0, 1.0, 1.0], 3, 1, true);
    let settings = SmoSettings {
        tol: 1e-9,
        max_iter: Some(3),
        ..SmoSettings::default()
    };
    let s = solve_block_ip(&g.q, &g.problem(), &settings, None).unwrap();
    assert_eq!(s.status, Status::MaxIterations);
    assert_eq!(s.iterations, 3);
    g.assert_feasible(&s);
}

#[test]
fn too_many_samples_are_refused_before_any_work() {
    let n = IP_MAX_SAMPLES + 1;
    // A diagonal K, cheap to build.
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let q = DenseQ::new(n, v).unwrap();
    let (p, l, u) = (vec![1.0; 2 * n], vec![-1.0; 2 * n], vec![1.0; 2 * n]);
    let problem = BlockProblem {
        block_size: 2,
        linear: &p,
        lower: &l,
        upper: &u,
    };
    let err = solve_block_ip(&q, &problem, &SmoSettings::default(), None).unwrap_err();
    assert!(matches!(
        err,
        SetupError::InvalidSetting { name: "solver", .. }
    ));
    assert!(err.to_string().contains("1000"), "{err}");
}

#[test]
fn the_answer_does_not_depend_on_the_thread_count() {
    let g = generate(70, &[1.0, 2.0, 0.5], 4, 3, true);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| solve_block_ip(&g.q, &g.problem(), &tight(1e-9), None).unwrap())
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.alpha, b.alpha);
    assert_eq!(a.objective.to_bits(), b.objective.to_bits());
    assert_eq!(a.iterations, b.iterations);
}
