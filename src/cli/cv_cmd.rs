//! `svm-dual cv` and `svm-dual grid`: cross-validation at one point and
//! over a log₂ grid of `C` and `γ` ([`svm_dual::cv`]), taking every training
//! option of `solve` (its clap struct is flattened in, and validated the same
//! way). Output: a readable table on stdout (on stderr when the JSON report
//! goes to stdout with `--report -`), the JSON report of `docs/cv.md`, and
//! for `grid --model FILE` the model trained on all the data at the best
//! point (scored on `grid --test FILE`, which is read before the grid).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use svm_dual::cv::{
    grid_search, log2_range, BestPoint, CvPoint, CvReport, CvSettings, Grid, GridOutcome, Learner,
    CV_REPORT_SCHEMA_VERSION,
};
use svm_dual::data::{read_path, Dataset};
use svm_dual::kernel::Kernel;
use svm_dual::linear::LinearBias;
use svm_dual::model_io::{check_libsvm_label, LibsvmWriteError, ModelFormat};
use svm_dual::multiclass::MulticlassStrategy;
use svm_dual::multiclass_dual::MulticlassChoice;
use svm_dual::report::DataSummary;
use svm_dual::train::{
    deadline_after, default_gamma, time_left, SolverChoice, SolverKind, TrainOptions,
};

use super::args::{non_negative, ReportTarget, SolveArgs, SolveOptions};
use super::output::{write_all_atomically, write_stdout};
use super::run::{apply_weights, cd_settings};
use super::{CliError, EXIT_LIMIT, EXIT_SUCCESS};

/// The arguments of `svm-dual cv`.
#[derive(Debug, Args)]
pub struct CvArgs {
    /// Training options, as for `solve` (`--model`, `--test` and `--init`
    /// aside).
    #[command(flatten)]
    pub train: SolveArgs,
    /// The number of folds (stratified by label).
    #[arg(
        long,
        value_name = "K",
        default_value_t = 5,
        allow_negative_numbers = true,
        value_parser = non_negative::<usize>
    )]
    pub folds: usize,
    /// The seed of the shuffle that deals rows to folds.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true,
        value_parser = non_negative::<u64>
    )]
    pub seed: u64,
}

/// The arguments of `svm-dual grid`.
#[derive(Debug, Args)]
pub struct GridArgs {
    /// Training options, folds and seed, as for `cv`; `--model FILE` writes
    /// the model trained on all the data at the best point, and `--test
    /// FILE` (read before the grid) scores it.
    #[command(flatten)]
    pub cv: CvArgs,
    /// log₂ C from BEGIN to END (inclusive) by STEP, as LIBSVM's grid.py
    /// [default: -5,15,2 unless --c-values; none with -C, which fixes C].
    #[arg(long, value_name = "BEGIN,END,STEP", allow_hyphen_values = true)]
    pub log2c: Option<String>,
    /// log₂ γ from BEGIN to END (inclusive) by STEP [default: 3,-15,-2
    /// unless --gamma-values; none for the linear kernel].
    #[arg(long, value_name = "BEGIN,END,STEP", allow_hyphen_values = true)]
    pub log2g: Option<String>,
    /// Explicit C values, comma-separated (instead of --log2c).
    #[arg(
        long,
        value_name = "C,...",
        conflicts_with = "log2c",
        allow_hyphen_values = true
    )]
    pub c_values: Option<String>,
    /// Explicit γ values, comma-separated (instead of --log2g).
    #[arg(
        long,
        value_name = "G,...",
        conflicts_with = "log2g",
        allow_hyphen_values = true
    )]
    pub gamma_values: Option<String>,
    /// Solve every C from scratch instead of from the previous C's solution.
    #[arg(long)]
    pub no_warm_start: bool,
}

/// Checked options of `cv` / `grid`.
#[derive(Debug, Clone, PartialEq)]
struct CvOptions {
    solve: SolveOptions,
    settings: CvSettings,
}

fn bad(option: &str, message: impl std::fmt::Display) -> CliError {
    CliError::Argument(format!("invalid value for {option}: {message}"))
}

impl CvArgs {
    fn validate(self, command: &str) -> Result<CvOptions, CliError> {
        let solve = self.train.validate()?;
        if solve.init.is_some() {
            return Err(bad(
                "--init",
                format_args!("{command} solves from scratch; --init applies to solve"),
            ));
        }
        if solve.model.is_some() && command == "cv" {
            return Err(bad(
                "--model",
                "cv trains one model per fold and writes none (grid --model writes the best)",
            ));
        }
        if solve.test.is_some() && command == "cv" {
            return Err(bad(
                "--test",
                "cv trains one model per fold and keeps none to test (grid --test scores \
                 the model trained at the best point)",
            ));
        }
        if self.folds < 2 {
            return Err(bad("--folds", "at least 2 folds are needed"));
        }
        Ok(CvOptions {
            solve,
            settings: CvSettings {
                folds: self.folds,
                seed: self.seed,
                warm_start: true,
            },
        })
    }
}

/// Parses `BEGIN,END,STEP` into `2^e` values.
fn parse_range(option: &str, text: &str) -> Result<Vec<f64>, CliError> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let nums: Vec<f64> = parts
        .iter()
        .map(|p| p.parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            bad(
                option,
                format_args!("expected BEGIN,END,STEP, got {text:?}"),
            )
        })?;
    let [b, e, s] = nums.as_slice() else {
        return Err(bad(
            option,
            format_args!("expected BEGIN,END,STEP, got {text:?}"),
        ));
    };
    let values = log2_range(*b, *e, *s).map_err(|m| bad(option, m))?;
    // 2^e overflows to infinity from e = 1024, and underflows to 0 below
    // e = -1074: refused here, naming the option (not the data file).
    for (k, v) in values.iter().enumerate() {
        if !(v.is_finite() && *v > 0.0) {
            let exponent = b + k as f64 * s;
            return Err(bad(
                option,
                format_args!(
                    "2^{exponent} is {v}, not a positive finite number (log2 values must \
                     lie within -1074..1024)"
                ),
            ));
        }
    }
    check_distinct(option, &values)?;
    Ok(values)
}

/// Parses a comma-separated list of distinct positive finite numbers.
fn parse_list(option: &str, text: &str) -> Result<Vec<f64>, CliError> {
    let values = text
        .split(',')
        .map(str::trim)
        .map(|p| {
            p.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| {
                    bad(
                        option,
                        format_args!("{p:?} is not a positive finite number"),
                    )
                })
        })
        .collect::<Result<Vec<f64>, CliError>>()?;
    check_distinct(option, &values)?;
    Ok(values)
}

/// Refuses a value given twice (each grid point is cross-validated once).
fn check_distinct(option: &str, values: &[f64]) -> Result<(), CliError> {
    for (k, v) in values.iter().enumerate() {
        if values[..k].contains(v) {
            return Err(bad(option, format_args!("value {v} is given twice")));
        }
    }
    Ok(())
}

/// Runs `svm-dual cv`; the exit code is 0, or 3 when some fold's solve
/// stopped at a limit.
pub fn run_cv(args: CvArgs) -> Result<u8, CliError> {
    let options = args.validate("cv")?;
    let c = options.solve.formulation.c;
    let grid = Grid {
        c: vec![c],
        gamma: Vec::new(),
    };
    execute("cv", &options, &grid)
}

/// Runs `svm-dual grid`; the exit code is 0, or 3 when some solve stopped
/// at a limit.
pub fn run_grid(args: GridArgs) -> Result<u8, CliError> {
    // -C given: C is fixed (as --gamma fixes γ), so the grid is over γ.
    let fixed_c = args.cv.train.cost.is_some();
    let mut options = args.cv.validate("grid")?;
    options.settings.warm_start = !args.no_warm_start;
    let linear = options.solve.kernel.kind == super::args::KernelArg::Linear;
    if linear && (args.log2g.is_some() || args.gamma_values.is_some()) {
        return Err(bad(
            "--log2g/--gamma-values",
            "the linear kernel has no gamma",
        ));
    }
    if options.solve.kernel.gamma.is_some() && (args.log2g.is_some() || args.gamma_values.is_some())
    {
        return Err(CliError::Argument(
            "--gamma fixes γ; give either it or --log2g/--gamma-values".into(),
        ));
    }
    if fixed_c && (args.log2c.is_some() || args.c_values.is_some()) {
        return Err(CliError::Argument(
            "-C fixes C; give either it or --log2c/--c-values".into(),
        ));
    }
    let c = match (&args.log2c, &args.c_values) {
        _ if fixed_c => vec![options.solve.formulation.c],
        (_, Some(list)) => parse_list("--c-values", list)?,
        (Some(r), None) => parse_range("--log2c", r)?,
        (None, None) => log2_range(-5.0, 15.0, 2.0).map_err(CliError::Argument)?,
    };
    let gamma = if linear || options.solve.kernel.gamma.is_some() {
        Vec::new()
    } else {
        match (&args.log2g, &args.gamma_values) {
            (_, Some(list)) => parse_list("--gamma-values", list)?,
            (Some(r), None) => parse_range("--log2g", r)?,
            (None, None) => log2_range(3.0, -15.0, -2.0).map_err(CliError::Argument)?,
        }
    };
    execute("grid", &options, &Grid { c, gamma })
}

/// The learner of `options` for `data`: class weights mapped, `γ`'s default
/// resolved, the solver chosen as `solve` does.
fn learner(options: &SolveOptions, data: &Dataset) -> Result<Learner, CliError> {
    let classes = data.classes().len();
    let mut formulation = options.formulation;
    if classes == 2 {
        let labels = data.binary_labels()?;
        apply_weights(
            &mut formulation,
            &options.weights,
            &labels,
            &options.data.display().to_string(),
        )?;
    } else if !options.weights.is_empty() {
        return Err(bad(
            "--weight",
            "class weights are not supported for multiclass data",
        ));
    }
    formulation.validate().map_err(CliError::Argument)?;
    let kernel = options
        .kernel
        .resolve(default_gamma(data.features.n_cols()));
    kernel.validate().map_err(CliError::Argument)?;
    let solver = match (options.solver, classes > 2) {
        (SolverChoice::Auto, true) => SolverKind::Smo,
        (choice, _) => choice.resolve(&kernel),
    };
    if solver == SolverKind::Cd && classes > 2 {
        return Err(bad(
            "--solver",
            "cd trains binary models only; multiclass data runs smo or pg",
        ));
    }
    if options.bias_feature.is_some() && solver != SolverKind::Cd {
        return Err(bad(
            "-B/--bias-feature",
            format_args!(
                "applies to the cd solver only, and cv and grid train the {classes} labels of \
                 {} with {}",
                options.data.display(),
                solver.name()
            ),
        ));
    }
    Ok(Learner {
        options: TrainOptions {
            formulation,
            kernel,
            smo: options.smo.clone(),
        },
        solver,
        multiclass: match options.multiclass {
            MulticlassChoice::Split(strategy) => strategy,
            MulticlassChoice::Joint(method) => {
                return Err(bad(
                    "--multiclass",
                    format_args!(
                        "cv and grid split multiclass data (ovo, ovr); {} is not available here",
                        method.name()
                    ),
                ))
            }
        },
        linear_bias: LinearBias::for_formulation(&formulation, options.bias_feature)?,
        cd: cd_settings(options),
    })
}

/// `grid --model FILE --model-format libsvm`: refuses, before the grid,
/// a best model that LIBSVM's format cannot hold (as `solve` refuses it
/// before writing): labels that are not integers, or one-vs-rest.
fn check_libsvm_model(
    options: &SolveOptions,
    data: &Dataset,
    learner: &Learner,
) -> Result<(), CliError> {
    let (Some(path), ModelFormat::Libsvm) = (&options.model, options.model_format) else {
        return Ok(());
    };
    let refuse = |e: LibsvmWriteError| {
        CliError::Argument(format!(
            "invalid value for --model-format: cannot write {} as a LIBSVM model: {e}",
            path.display()
        ))
    };
    let classes = data.classes();
    for &c in &classes {
        check_libsvm_label(c).map_err(refuse)?;
    }
    if classes.len() > 2 && learner.multiclass != MulticlassStrategy::Ovo {
        return Err(refuse(LibsvmWriteError::Strategy(
            learner.multiclass.name(),
        )));
    }
    Ok(())
}

/// Loads, cross-validates on a pool of `--threads` threads, prints the
/// table, writes the report (and for grid the best model).
fn execute(command: &str, options: &CvOptions, grid: &Grid) -> Result<u8, CliError> {
    let solve = &options.solve;
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = solve.threads {
        builder = builder.num_threads(n);
    }
    let pool = builder
        .build()
        .map_err(|e| CliError::Threads(e.to_string()))?;
    let (report, outcome, deadline, test_data) = pool.install(|| -> Result<_, CliError> {
        // grid --test is read before the grid (as solve reads it before
        // training): a bad file stops the run at once. (cv refuses --test.)
        let test_data = match (&solve.test, command) {
            (Some(path), "grid") => Some(read_path(path, &solve.format)?),
            _ => None,
        };
        let t = Instant::now();
        let data = read_path(&solve.data, &solve.format)?;
        let load_seconds = t.elapsed().as_secs_f64();
        let learner = learner(solve, &data)?;
        if command == "grid" {
            check_libsvm_model(solve, &data, &learner)?;
        }
        let t = Instant::now();
        // The deadline of --time-limit: the grid and the best model share it.
        let deadline = deadline_after(solve.smo.time_limit);
        let outcome = grid_search(&data, &learner, grid, &options.settings)
            .map_err(|e| CliError::Argument(format!("{}: {e}", solve.data.display())))?;
        let cv_seconds = t.elapsed().as_secs_f64();
        let best = &outcome.points[outcome.best];
        let kernel = match (learner.options.kernel, best.gamma) {
            (Kernel::Rbf { .. }, Some(g)) => Kernel::Rbf { gamma: g },
            (Kernel::Poly { coef0, degree, .. }, Some(g)) => Kernel::Poly {
                gamma: g,
                coef0,
                degree,
            },
            (Kernel::Sigmoid { coef0, .. }, Some(g)) => Kernel::Sigmoid { gamma: g, coef0 },
            (k, _) => k,
        };
        let classes = data.classes();
        let report = CvReport {
            schema_version: CV_REPORT_SCHEMA_VERSION,
            command: command.into(),
            input: DataSummary::of(&data, solve.input_format()),
            multiclass: (classes.len() > 2).then_some(learner.multiclass),
            classes,
            loss: learner.options.formulation.loss,
            bias: learner.options.formulation.bias,
            kernel,
            solver: learner.solver.name().into(),
            tol: solve.smo.tol,
            folds: options.settings.folds,
            seed: options.settings.seed,
            warm_start: options.settings.warm_start && command == "grid",
            fold_sizes: (0..options.settings.folds)
                .map(|k| outcome.fold_of.iter().filter(|&&f| f == k).count())
                .collect(),
            points: outcome.points.clone(),
            best: BestPoint {
                index: outcome.best,
                c: best.c,
                gamma: best.gamma,
                log2c: best.log2c,
                log2g: best.log2g,
                accuracy: best.accuracy,
            },
            threads: rayon::current_num_threads(),
            load_seconds,
            cv_seconds,
        };
        Ok((report, outcome, deadline, test_data))
    })?;

    let json = match &solve.report {
        Some(_) => Some(report.to_json().map_err(|e| CliError::Output {
            path: PathBuf::from("-"),
            source: std::io::Error::other(e),
        })?),
        None => None,
    };
    if let (Some(ReportTarget::File(p)), Some(j)) = (&solve.report, &json) {
        write_all_atomically(&[(p.as_path(), j.as_bytes())])?;
    }
    let table = if command == "cv" {
        cv_text(&report)
    } else {
        grid_table(&report, &outcome)
    };
    if let (Some(ReportTarget::Stdout), Some(j)) = (&solve.report, &json) {
        if !solve.quiet {
            let _ = std::io::stderr().write_all(table.as_bytes());
        }
        write_stdout(j.as_bytes())?;
    } else {
        write_stdout(table.as_bytes())?;
    }

    let mut code = if report.points.iter().all(|p| p.all_converged) {
        EXIT_SUCCESS
    } else {
        EXIT_LIMIT
    };
    if command == "grid" && (solve.model.is_some() || test_data.is_some()) {
        let mut best = solve.clone();
        best.formulation.c = report.best.c;
        if let Some(g) = report.best.gamma {
            best.kernel.gamma = Some(g);
        }
        best.report = None;
        // Only the time left: --time-limit bounds the whole run.
        best.smo.time_limit = time_left(deadline, best.smo.time_limit);
        let solved = super::run::solve_and_deliver_tested(&best, test_data)?;
        code = code.max(solved);
    }
    Ok(code)
}

/// A number as grid.py prints exponents: integers bare, others with three
/// decimals.
fn short(v: f64) -> String {
    if v == v.round() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// The `cv` summary: accuracy (as `svm-train -v` prints it) and the folds.
fn cv_text(report: &CvReport) -> String {
    let p = &report.points[report.best.index];
    let mut s = format!(
        "{}-fold cross-validation accuracy = {:.4}% ({}/{}), C = {}{}, {} iterations{}\n",
        report.folds,
        100.0 * p.accuracy,
        p.correct,
        p.n,
        p.c,
        gamma_text(&report.kernel),
        p.iterations,
        if p.all_converged {
            ""
        } else {
            " (some folds stopped at a limit)"
        }
    );
    for f in &p.folds {
        s.push_str(&format!(
            "  fold {:>2}: {:>6}/{:<6} {:>8.4}%  {:>9} iterations  {}\n",
            f.fold + 1,
            f.correct,
            f.n_test,
            100.0 * f.correct as f64 / f.n_test.max(1) as f64,
            f.iterations,
            f.status
        ));
    }
    s
}

fn gamma_text(kernel: &Kernel) -> String {
    match kernel {
        Kernel::Linear => String::new(),
        Kernel::Rbf { gamma } | Kernel::Poly { gamma, .. } | Kernel::Sigmoid { gamma, .. } => {
            format!(", gamma = {gamma}")
        }
    }
}

/// The `grid` table: one row per `C`, one column per `γ`, accuracy in
/// percent, the best cell marked `*`, then the best point.
fn grid_table(report: &CvReport, outcome: &GridOutcome) -> String {
    let points: &[CvPoint] = &outcome.points;
    let mut cs: Vec<f64> = Vec::new();
    let mut gs: Vec<Option<f64>> = Vec::new();
    for p in points {
        if !cs.contains(&p.c) {
            cs.push(p.c);
        }
        if !gs.contains(&p.gamma) {
            gs.push(p.gamma);
        }
    }
    let mut s = format!(
        "{}-fold cross-validation accuracy (%), seed {}; rows log2(C), columns log2(gamma)\n",
        report.folds, report.seed
    );
    s.push_str(&format!("{:>10}", "log2c"));
    for g in &gs {
        let head = g.map_or_else(|| "-".to_owned(), |g| short(g.log2()));
        s.push_str(&format!(" {head:>7}  "));
    }
    s.push('\n');
    for &c in &cs {
        s.push_str(&format!("{:>10}", short(c.log2())));
        for g in &gs {
            let i = points
                .iter()
                .position(|p| p.c == c && p.gamma == *g)
                .expect("every (C, gamma) pair is a point");
            let mark = if i == outcome.best { "*" } else { " " };
            let limit = if points[i].all_converged { " " } else { "!" };
            s.push_str(&format!(
                " {:>7.2}{mark}{limit}",
                100.0 * points[i].accuracy
            ));
        }
        s.push('\n');
    }
    let b = &points[outcome.best];
    s.push_str(&format!(
        "best: C = {} (log2 {}){}: accuracy {:.4}% ({}/{})\n",
        b.c,
        short(b.log2c),
        b.gamma
            .map(|g| format!(", gamma = {g} (log2 {})", short(g.log2())))
            .unwrap_or_default(),
        100.0 * b.accuracy,
        b.correct,
        b.n
    ));
    if points.iter().any(|p| !p.all_converged) {
        s.push_str("!: some folds stopped at an iteration or time limit\n");
    }
    s
}
