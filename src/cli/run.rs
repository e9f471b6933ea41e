//! The work of `svm-dual solve`: on a rayon pool of `--threads` threads,
//! load the data, map `--weight` labels and resolve `γ`, train, certify,
//! and assemble the report. Each phase is timed on its own. Binary outcomes
//! are written by [`super::output`]; data with more than two labels is
//! trained as a multiclass model ([`svm_dual::multiclass`], `--multiclass`)
//! and written by [`deliver_multiclass`].

use std::io::Write;
use std::time::{Duration, Instant};

use std::sync::atomic::AtomicBool;
use svm_dual::data::{read_path, BinaryLabels, Dataset};
use svm_dual::formulation::Formulation;
use svm_dual::linear::{self, LinearBias, LinearOptions};
use svm_dual::model::Model;
use svm_dual::multiclass::{
    train_multiclass_cancellable, AnyModel, MulticlassModel, MulticlassStrategy,
};
use svm_dual::multiclass_dual::{
    train_joint, JointModel, JointOptions, JointReport, JointSolver, MulticlassChoice,
};
use svm_dual::report::{
    MulticlassReport, Report, SolverReport, TestEvaluation, Timings, WarmStartReport,
};
use svm_dual::solvers::CdSettings;
use svm_dual::solvers::Progress;
use svm_dual::train::{
    default_gamma, train_controlled, train_to_gap, SolveControl, SolverChoice, SolverKind,
    TrainOptions,
};
use svm_dual::verify_joint::JointMethod;

use super::args::{LabelWeight, SolveOptions};
use super::output::{model_text, report_json, write_outputs};
use super::{status_exit_code, CliError};

/// The result of a solve, ready to be written.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report (status, certificate, timings, …).
    pub report: Report,
    /// The trained model.
    pub model: Model,
}

/// The result of a multiclass solve, ready to be written.
#[derive(Debug, Clone)]
pub struct MulticlassOutcome {
    /// The report (every sub-problem's status and certificate, …).
    pub report: MulticlassReport,
    /// The trained model.
    pub model: MulticlassModel,
}

/// A binary or a multiclass outcome.
#[derive(Debug, Clone)]
pub enum Solved {
    /// Two labels: one binary SVM.
    Binary(Box<Outcome>),
    /// More than two labels: one-vs-one or one-vs-rest.
    Multiclass(Box<MulticlassOutcome>),
    /// A joint multiclass dual (Crammer–Singer or Weston–Watkins).
    Joint(Box<JointOutcome>),
}

/// The result of a joint multiclass solve, ready to be written.
#[derive(Debug, Clone)]
pub struct JointOutcome {
    /// The report (status, certificate, timings).
    pub report: JointReport,
    /// The trained model.
    pub model: JointModel,
}

/// Solves, writes the outputs and returns the exit code of the run (3 when
/// any (sub-)problem stopped at a limit).
pub fn solve_and_deliver(options: &SolveOptions) -> Result<u8, CliError> {
    // The test file is read first: a bad one stops the run before training.
    let test_data = match &options.test {
        Some(path) => Some(read_path(path, &options.format)?),
        None => None,
    };
    solve_and_deliver_tested(options, test_data)
}

/// [`solve_and_deliver`] with the `--test` data already read (by a caller
/// that reads it before its own work, as `grid` does before the grid).
pub fn solve_and_deliver_tested(
    options: &SolveOptions,
    test_data: Option<Dataset>,
) -> Result<u8, CliError> {
    let solved = solve(options, test_data.as_ref())?;
    let test = test_data.map(|data| evaluate(options, &solved, &data));
    let test = test.as_ref();
    let status = match &solved {
        Solved::Binary(outcome) => {
            super::output::deliver(options, outcome, test)?;
            outcome.report.status
        }
        Solved::Multiclass(outcome) => {
            deliver_multiclass(options, outcome, test)?;
            outcome.report.status
        }
        Solved::Joint(outcome) => {
            deliver_joint(options, outcome, test)?;
            outcome.report.status
        }
    };
    if let (Some(t), false) = (test, options.quiet) {
        let _ = writeln!(
            std::io::stderr(),
            "test: {}",
            super::predict::accuracy_line(t.correct, t.input.n_samples)
        );
    }
    Ok(status_exit_code(status))
}

/// The trained model's predictions on the `--test` data, scored.
fn evaluate(options: &SolveOptions, solved: &Solved, data: &Dataset) -> TestEvaluation {
    let start = Instant::now();
    let predicted = match solved {
        Solved::Binary(o) => o.model.predict(&data.features),
        Solved::Multiclass(o) => o.model.predict(&data.features),
        Solved::Joint(o) => o.model.predict(&data.features),
    };
    TestEvaluation::new(
        data,
        options.input_format(),
        &predicted,
        start.elapsed().as_secs_f64(),
    )
}

/// Writes the report and the model of a joint run (as
/// [`deliver_multiclass`]) and prints the summary line unless `--quiet`.
pub fn deliver_joint(
    options: &SolveOptions,
    outcome: &JointOutcome,
    test: Option<&TestEvaluation>,
) -> Result<(), CliError> {
    let report = report_json(options, &outcome.report, test)?;
    let model = model_text(options, &AnyModel::Joint(outcome.model.clone()))?;
    write_outputs(options, report.as_deref(), model.as_deref())?;
    if !options.quiet {
        let r = &outcome.report;
        let c = &r.certificate;
        let _ = writeln!(
            std::io::stderr(),
            "{}: {} dual {:.10e} primal {:.10e} relative gap {:.3e}, training accuracy {:.4}, \
             {} iterations, {:.3} s",
            r.status.as_str(),
            r.multiclass.name(),
            c.dual_objective,
            c.primal_objective,
            c.relative_gap,
            c.training_accuracy,
            r.iterations,
            r.timings_seconds.total
        );
        if let Some(note) = super::output::gap_note(r.status, c.relative_gap) {
            let _ = writeln!(std::io::stderr(), "{note}");
        }
    }
    Ok(())
}

/// Writes the report and the model of a multiclass run as `options` ask
/// (files atomically, as [`super::output::deliver`]) and prints the
/// summary line unless `--quiet`.
pub fn deliver_multiclass(
    options: &SolveOptions,
    outcome: &MulticlassOutcome,
    test: Option<&TestEvaluation>,
) -> Result<(), CliError> {
    let report = report_json(options, &outcome.report, test)?;
    let model = model_text(options, &AnyModel::Multiclass(outcome.model.clone()))?;
    write_outputs(options, report.as_deref(), model.as_deref())?;
    if !options.quiet {
        let r = &outcome.report;
        let _ = writeln!(
            std::io::stderr(),
            "{}: {} {} sub-problems, worst relative gap {:.3e}, training accuracy {:.4}, \
             {} iterations, {:.3} s",
            r.status.as_str(),
            r.subproblems.len(),
            r.multiclass.name(),
            r.worst_relative_gap,
            r.training_accuracy,
            r.total_iterations,
            r.timings_seconds.total
        );
        if let Some(note) = super::output::gap_note(r.status, r.worst_relative_gap) {
            let _ = writeln!(std::io::stderr(), "{note}");
        }
    }
    Ok(())
}

/// Trains, certifies and reports a multiclass model on `data` (more than
/// two labels). `--weight` is refused. With the linear kernel, one-vs-rest
/// runs dual CD per class (LIBLINEAR's scheme; `--solver smo|pg` forces the
/// kernel path) and one-vs-one runs SMO (`cd` is refused there, and so is
/// CD's `-B`).
fn solve_multiclass(
    options: &SolveOptions,
    data: Dataset,
    load: std::time::Duration,
    start: Instant,
    cancel: Option<&AtomicBool>,
) -> Result<Solved, CliError> {
    if options.target_gap.is_some() {
        return Err(CliError::Argument(format!(
            "invalid value for --target-gap: applies to binary problems only ({} has {} labels)",
            options.data.display(),
            data.classes().len()
        )));
    }
    if !options.weights.is_empty() {
        return Err(CliError::Argument(format!(
            "invalid value for --weight: class weights are not supported for multiclass data \
             ({} has {} labels)",
            options.data.display(),
            data.classes().len()
        )));
    }
    options.formulation.validate().map_err(CliError::Argument)?;
    let kernel = options
        .kernel
        .resolve(default_gamma(data.features.n_cols()));
    kernel.validate().map_err(CliError::Argument)?;
    let train_options = TrainOptions {
        formulation: options.formulation,
        kernel,
        smo: options.smo.clone(),
    };
    let t = Instant::now();
    let strategy = match options.multiclass {
        MulticlassChoice::Split(s) => s,
        MulticlassChoice::Joint(_) => {
            return Err(CliError::Argument(
                "internal: a joint method reached the one-vs-one/one-vs-rest path".into(),
            ))
        }
    };
    // One-vs-rest with the linear kernel is LIBLINEAR's scheme: dual CD per
    // class (parallel over classes), unless --solver asks for smo or pg.
    let linear_cd = kernel == svm_dual::kernel::Kernel::Linear
        && strategy == MulticlassStrategy::Ovr
        && matches!(
            options.solver,
            SolverChoice::Auto | SolverChoice::Exactly(SolverKind::Cd)
        );
    let solver = match options.solver {
        _ if linear_cd => SolverKind::Cd,
        SolverChoice::Auto => SolverKind::Smo,
        SolverChoice::Exactly(kind) => kind,
    };
    // -B is CD's constant feature: the kernel solvers have nothing to
    // apply it to, so it is refused rather than ignored (as for binary data
    // with smo or pg).
    if options.bias_feature.is_some() && !linear_cd {
        return Err(CliError::Argument(format!(
            "invalid value for -B/--bias-feature: applies to the cd solver only, which trains \
             multiclass data only as --multiclass ovr with --kernel linear ({} has {} labels, \
             --multiclass {})",
            options.data.display(),
            data.classes().len(),
            strategy.name()
        )));
    }
    let initial = match &options.init {
        Some(path) => Some(super::init::warm_start_multiclass(
            path,
            &data,
            &options.data,
            strategy,
        )?),
        None => None,
    };
    let trained = if linear_cd {
        let linear_options = LinearOptions {
            formulation: options.formulation,
            bias: LinearBias::for_formulation(&options.formulation, options.bias_feature)?,
            cd: cd_settings(options),
        };
        linear::train_one_vs_rest(&data, &linear_options)?.to_multiclass(&data)
    } else {
        train_multiclass_cancellable(
            &data,
            &train_options,
            strategy,
            solver,
            initial.as_deref(),
            cancel,
        )?
    };
    let solve = t.elapsed();
    let t = Instant::now();
    let predicted = trained.model.predict(&data.features);
    let correct = data.count_correct(&predicted);
    let training_accuracy = correct as f64 / data.len().max(1) as f64;
    let verify = t.elapsed();
    let timings = Timings {
        load,
        solve,
        verify,
        total: start.elapsed(),
    };
    let report = MulticlassReport::new(
        &data,
        options.input_format(),
        &train_options,
        solver,
        &trained,
        training_accuracy,
        timings,
        rayon::current_num_threads(),
    );
    Ok(Solved::Multiclass(Box::new(MulticlassOutcome {
        report,
        model: trained.model,
    })))
}

/// Trains, certifies and reports a joint multiclass model (Crammer–Singer
/// or Weston–Watkins) on `data` (two labels or more) with `solver`
/// (resolved from `--solver` with the options).
fn solve_joint(
    options: &SolveOptions,
    method: JointMethod,
    solver: JointSolver,
    data: Dataset,
    load: std::time::Duration,
    start: Instant,
) -> Result<Solved, CliError> {
    for (given, option) in [
        (options.init.is_some(), "--init"),
        (options.target_gap.is_some(), "--target-gap"),
    ] {
        if given {
            return Err(CliError::Argument(format!(
                "invalid value for {option}: not available with --multiclass {}",
                method.name()
            )));
        }
    }
    let kernel = options
        .kernel
        .resolve(default_gamma(data.features.n_cols()));
    kernel.validate().map_err(CliError::Argument)?;
    let joint_options = JointOptions {
        method,
        c: options.formulation.c,
        kernel,
        solver,
        settings: options.smo.clone(),
    };
    let progress: Option<&(dyn Fn(&Progress) + Sync)> = if options.quiet {
        None
    } else {
        Some(&print_progress)
    };
    let t = Instant::now();
    let trained = train_joint(&data, &joint_options, progress)?;
    let solve = t.elapsed();
    let t = Instant::now();
    let certificate = trained.certify(&data.features);
    let verify = t.elapsed();
    let timings = Timings {
        load,
        solve,
        verify,
        total: start.elapsed(),
    };
    let report = JointReport::new(
        &data,
        options.input_format(),
        &joint_options,
        &trained,
        certificate,
        timings.into(),
        rayon::current_num_threads(),
    );
    Ok(Solved::Joint(Box::new(JointOutcome {
        report,
        model: trained.model,
    })))
}

/// Sets the class weights of `formulation` from `--weight` entries, matching
/// raw labels numerically. A label that is not one of the two classes is an
/// error naming the data file and its labels.
pub fn apply_weights(
    formulation: &mut Formulation,
    weights: &[LabelWeight],
    labels: &BinaryLabels,
    data_name: &str,
) -> Result<(), CliError> {
    for w in weights {
        if w.label == labels.positive {
            formulation.weight_positive = w.weight;
        } else if w.label == labels.negative {
            formulation.weight_negative = w.weight;
        } else {
            return Err(CliError::Argument(format!(
                "invalid value for --weight: label {} does not occur in {data_name} \
                 (its labels are {} and {})",
                w.label, labels.positive, labels.negative
            )));
        }
    }
    Ok(())
}

/// Prints one progress line on stderr.
fn print_progress(p: &Progress) {
    // A closed stderr must not stop the solve.
    let _ = writeln!(
        std::io::stderr(),
        "  iter {:>12}  max violation {:>10.3e}  active {:>9}  {:>8.1} s",
        p.iterations,
        p.max_violation,
        p.active,
        p.elapsed.as_secs_f64()
    );
}

/// CD settings from the shared tolerance and limits (`--max-iter` counts
/// passes over the data for CD).
pub fn cd_settings(options: &SolveOptions) -> CdSettings {
    CdSettings {
        tol: options.smo.tol,
        gap_tol: options.target_gap,
        max_passes: options.smo.max_iter,
        time_limit: options.smo.time_limit,
        shrinking: options.smo.shrinking,
        progress_interval: options.smo.progress_interval,
        ..CdSettings::default()
    }
}

/// Loads, trains and certifies as `options` say, on a pool of
/// `options.threads` threads (all cores by default): a binary SVM for two
/// labels, a multiclass model (`--multiclass`) for more. The `--test` data,
/// when given, is checked against the training data before training (a CSV
/// file must have as many feature columns).
pub fn solve(options: &SolveOptions, test: Option<&Dataset>) -> Result<Solved, CliError> {
    let start = Instant::now();
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = options.threads {
        builder = builder.num_threads(n);
    }
    let pool = builder
        .build()
        .map_err(|e| CliError::Threads(e.to_string()))?;
    let interrupt = match super::init::interrupt_flag() {
        Ok(flag) => Some(flag),
        Err(warning) => {
            if !options.quiet {
                let _ = writeln!(std::io::stderr(), "warning: {warning}");
            }
            None
        }
    };
    pool.install(|| solve_in_pool(options, test, start, interrupt.as_deref()))
}

/// The body of [`solve`], run inside the pool; `cancel` stops the solver
/// (Ctrl-C).
fn solve_in_pool(
    options: &SolveOptions,
    test: Option<&Dataset>,
    start: Instant,
    cancel: Option<&AtomicBool>,
) -> Result<Solved, CliError> {
    let t = Instant::now();
    let data: Dataset = read_path(&options.data, &options.format)?;
    let load = t.elapsed();
    if let (Some(test), Some(path)) = (test, &options.test) {
        super::predict::check_feature_count(
            "--test",
            path,
            &options.format,
            test,
            Some(data.features.n_cols()),
            &format!("the training data {} has", options.data.display()),
        )?;
    }
    if let (MulticlassChoice::Joint(method), Some(solver)) =
        (options.multiclass, options.joint_solver)
    {
        return solve_joint(options, method, solver, data, load, start);
    }
    if data.classes().len() > 2 {
        return solve_multiclass(options, data, load, start, cancel);
    }
    let warm = match &options.init {
        Some(path) => Some(super::init::warm_start(path, &data, &options.data)?),
        None => None,
    };
    if let (Some(w), false) = (&warm, options.quiet) {
        let _ = writeln!(
            std::io::stderr(),
            "warm start from {} ({} support vectors)",
            options
                .init
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string()),
            w.support_vectors
        );
    }

    let labels = data.binary_labels()?;
    let mut formulation = options.formulation;
    apply_weights(
        &mut formulation,
        &options.weights,
        &labels,
        &options.data.display().to_string(),
    )?;
    formulation.validate().map_err(CliError::Argument)?;
    let kernel = options
        .kernel
        .resolve(default_gamma(data.features.n_cols()));
    kernel.validate().map_err(CliError::Argument)?;
    let train_options = TrainOptions {
        formulation,
        kernel,
        smo: options.smo.clone(),
    };

    let t = Instant::now();
    let progress: Option<&(dyn Fn(&Progress) + Sync)> = if options.quiet {
        None
    } else {
        Some(&print_progress)
    };
    let solver = options.solver.resolve(&kernel);
    let (trained, certificate, linear_info, solve, verify) = match solver {
        SolverKind::Smo | SolverKind::Pg => {
            let control = SolveControl {
                initial: warm.as_ref().map(|w| w.alpha.as_slice()),
                progress,
                cancel,
            };
            match options.target_gap {
                None => {
                    let trained = train_controlled(&data, &train_options, solver, control)?;
                    let solve = t.elapsed();
                    let t = Instant::now();
                    let certificate = svm_dual::certify(&data.features, &trained);
                    (trained, certificate, None, solve, t.elapsed())
                }
                Some(gap) => {
                    // The certificate comes out of the loop that needed it;
                    // its time is part of the solve.
                    let c = train_to_gap(&data, &train_options, solver, gap, control)?;
                    (c.trained, c.certificate, None, t.elapsed(), Duration::ZERO)
                }
            }
        }
        SolverKind::Cd => {
            let linear_options = LinearOptions {
                formulation,
                bias: LinearBias::for_formulation(&formulation, options.bias_feature)?,
                cd: cd_settings(options),
            };
            let lt = linear::train_linear_cancellable(&data, &linear_options, progress, cancel)?;
            let solve = t.elapsed();
            let t = Instant::now();
            let certificate = linear::certify(&data.features, &lt);
            let verify = t.elapsed();
            (
                lt.to_trained(&data.features),
                certificate,
                Some(lt.info),
                solve,
                verify,
            )
        }
    };

    let timings = Timings {
        load,
        solve,
        verify,
        total: start.elapsed(),
    };
    let mut report = Report::new(
        &data,
        options.input_format(),
        &train_options,
        &trained,
        &certificate,
        timings,
        rayon::current_num_threads(),
    );
    report.solver = SolverReport::new(solver, &options.smo);
    report.linear = linear_info;
    report.warm_start = match (&options.init, &warm) {
        (Some(path), Some(w)) => Some(WarmStartReport {
            path: path.display().to_string(),
            support_vectors: w.support_vectors,
        }),
        _ => None,
    };
    Ok(Solved::Binary(Box::new(Outcome {
        report,
        model: trained.model,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_map_by_numeric_label() {
        let labels = BinaryLabels {
            positive: 1.0,
            negative: -1.0,
            y: vec![1.0, -1.0],
        };
        let mut f = Formulation::default();
        let w = [
            LabelWeight {
                label: -1.0,
                weight: 4.0,
            },
            LabelWeight {
                label: 1.0,
                weight: 0.5,
            },
        ];
        apply_weights(&mut f, &w, &labels, "d").unwrap();
        assert_eq!((f.weight_positive, f.weight_negative), (0.5, 4.0));

        let mut f = Formulation::default();
        let e = apply_weights(
            &mut f,
            &[LabelWeight {
                label: 2.0,
                weight: 1.0,
            }],
            &labels,
            "d.txt",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("label 2 does not occur in d.txt"), "{e}");
        assert!(e.contains("--weight"), "{e}");
    }
}
