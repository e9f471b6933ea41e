//! Warm starts and interruption for `svm-dual solve`.
//!
//! **`--init FILE`.** A model fixes the dual point it came from: its
//! support vectors are the rows with `αᵢ > 0` and carry `αᵢyᵢ`
//! ([`svm_dual::model::Model::from_dual`]), every other row has `αᵢ = 0`.
//! So `α` over the training set is rebuilt by matching each support vector
//! to its row ([`super::verify_cmd::reconstruct_alpha`]: by the recorded
//! row index of our JSON models, else by content, as for LIBSVM's text
//! models) and handed to the solver, which projects it onto the feasible
//! set of the problem asked for (another `C` clips it to the new box). A
//! model saved at a limit or on Ctrl-C therefore resumes exactly where the
//! solve stopped (`α` is written with `float_roundtrip` precision).
//!
//! **Ctrl-C.** [`interrupt_flag`] registers (once per process) a SIGINT
//! handler with `signal-hook` that only sets an `AtomicBool`; the solvers
//! poll it between iterations and stop with status `interrupted`, and the
//! run then writes the report and model of the iterate reached, certified
//! like any other, and exits with [`super::EXIT_INTERRUPTED`]. The handler
//! registered first makes a second Ctrl-C exit at once with the same code.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use svm_dual::data::Dataset;
use svm_dual::multiclass::{sub_dataset, subproblem_rows, AnyModel, MulticlassStrategy};

use super::predict::load_any_model;
use super::verify_cmd::{reconstruct_alpha, signs};
use super::{CliError, EXIT_INTERRUPTED};

/// A starting point read from `--init`.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmStart {
    /// `α`, one entry per row of the data.
    pub alpha: Vec<f64>,
    /// Support vectors in the model (all matched to rows).
    pub support_vectors: usize,
}

/// Reads `path` (a binary model, JSON or LIBSVM text) and rebuilds its `α`
/// on the rows of `data` (for multiclass data see
/// [`warm_start_multiclass`]). A multiclass model, a support vector whose
/// recorded row is beyond the data, or one that is not a row of the data
/// is an error naming both files.
pub fn warm_start(path: &Path, data: &Dataset, data_path: &Path) -> Result<WarmStart, CliError> {
    let data_name = data_path.display().to_string();
    let model = match load_any_model(path, None)? {
        AnyModel::Binary(m) => m,
        AnyModel::Multiclass(m) => {
            return Err(CliError::Argument(format!(
                "invalid value for --init: {} is a multiclass model ({} classes); \
                 warm starts take a binary model",
                path.display(),
                m.classes.len()
            )))
        }
        AnyModel::Joint(m) => {
            return Err(CliError::Argument(format!(
                "invalid value for --init: {} is a {} model ({} classes); \
                 warm starts take a binary model",
                path.display(),
                m.method.name(),
                m.classes.len()
            )))
        }
    };
    let n = data.len();
    if let Some((k, row)) = model
        .support_vectors
        .iter()
        .enumerate()
        .find_map(|(k, sv)| sv.index.filter(|&i| i >= n).map(|i| (k, i)))
    {
        return Err(CliError::Argument(format!(
            "invalid value for --init: {} does not match {data_name}: its support vector {} \
             is row {} of its training set, but {data_name} has {n} rows",
            path.display(),
            k + 1,
            row + 1
        )));
    }
    let y = signs(data, &model.labels, &data_name).map_err(|e| {
        CliError::Argument(format!(
            "invalid value for --init: {} does not match the data: {e}",
            path.display()
        ))
    })?;
    let model_name = path.display().to_string();
    let rebuilt = reconstruct_alpha(&model, data, &y, &data_name, |k| {
        let row = model.support_vectors[k]
            .index
            .map(|i| format!(" (row {} of its training set)", i + 1))
            .unwrap_or_default();
        format!("support vector {}{row} of {model_name}", k + 1)
    })
    .map_err(|e| CliError::Argument(format!("invalid value for --init: {e}")))?;
    Ok(WarmStart {
        alpha: rebuilt.alpha,
        support_vectors: model.support_vectors.len(),
    })
}

/// Reads `path` (a multiclass JSON model) and rebuilds the `α` of each of
/// its sub-problems on the rows of `data` that `strategy` gives it
/// ([`subproblem_rows`]). The model must have the data's classes, in the
/// same order, and the same strategy; its support vectors must be rows of
/// the sub-problem.
pub fn warm_start_multiclass(
    path: &Path,
    data: &Dataset,
    data_path: &Path,
    strategy: MulticlassStrategy,
) -> Result<Vec<Vec<f64>>, CliError> {
    let data_name = data_path.display().to_string();
    let refuse = |why: String| {
        CliError::Argument(format!(
            "invalid value for --init: {} does not match {data_name}: {why}",
            path.display()
        ))
    };
    let model = match load_any_model(path, None)? {
        AnyModel::Multiclass(m) => m,
        AnyModel::Binary(_) => {
            return Err(refuse(format!(
                "it is a binary model and the data has {} labels",
                data.classes().len()
            )))
        }
        AnyModel::Joint(m) => {
            return Err(refuse(format!(
                "it is a {} model and --multiclass asks for {}",
                m.method.name(),
                strategy.name()
            )))
        }
    };
    let classes = data.classes();
    if model.classes != classes {
        return Err(refuse(format!(
            "its classes are {:?}, the data's (in order of first appearance) {:?}",
            model.classes, classes
        )));
    }
    if model.strategy != strategy {
        return Err(refuse(format!(
            "it is {} and --multiclass asks for {}",
            model.strategy.name(),
            strategy.name()
        )));
    }
    let n = data.len();
    let model_name = path.display().to_string();
    subproblem_rows(data, strategy)
        .into_iter()
        .zip(&model.submodels)
        .enumerate()
        .map(|(k, ((rows, y), sub_model))| {
            // Recorded indices are rows of the whole data: make them rows
            // of the sub-problem (or unknown, matched by content).
            let mut local = sub_model.clone();
            for sv in &mut local.support_vectors {
                if let Some(r) = sv.index {
                    if r >= n {
                        return Err(refuse(format!(
                            "a support vector of sub-problem {} is row {} of its training set, \
                             beyond the data's {n} rows",
                            k + 1,
                            r + 1
                        )));
                    }
                }
                sv.index = sv.index.and_then(|r| rows.binary_search(&r).ok());
            }
            let labels = rows.iter().map(|&r| data.labels[r]).collect();
            let sub = sub_dataset(data, &rows, labels)?;
            let rebuilt = reconstruct_alpha(&local, &sub, &y, &data_name, |s| {
                format!(
                    "support vector {} of sub-problem {} ({} vs {}) of {model_name}",
                    s + 1,
                    k + 1,
                    sub_model.labels.positive,
                    sub_model.labels.negative
                )
            })
            .map_err(|e| CliError::Argument(format!("invalid value for --init: {e}")))?;
            Ok(rebuilt.alpha)
        })
        .collect()
}

/// The process-wide flag set by Ctrl-C (SIGINT), registered on first use.
/// A second Ctrl-C terminates the process at once with
/// [`EXIT_INTERRUPTED`]. When the handler cannot be installed the solve
/// runs without it (Ctrl-C then ends the process as usual) and the reason
/// is returned as `Err` for a warning.
pub fn interrupt_flag() -> Result<Arc<AtomicBool>, String> {
    static FLAG: OnceLock<Result<Arc<AtomicBool>, String>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let sigint = signal_hook::consts::SIGINT;
        // Order matters: the shutdown action sees the flag as it was before
        // this signal, so only a second Ctrl-C exits.
        signal_hook::flag::register_conditional_shutdown(
            sigint,
            i32::from(EXIT_INTERRUPTED),
            Arc::clone(&flag),
        )
        .and_then(|_| signal_hook::flag::register(sigint, Arc::clone(&flag)))
        .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
        Ok(flag)
    })
    .clone()
}
