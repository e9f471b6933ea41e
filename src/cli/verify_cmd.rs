//! `svm-dual verify`: certify a model (ours or `svm-train`'s) on its
//! training data, without training.
//!
//! 1. Read the model and the training file.
//! 2. `yᵢ` from the model's label mapping (a row with another label is an
//!    error).
//! 3. Rebuild `α`: each support vector is matched to a training row with
//!    exactly the same sparse features (a hash map from row content to row
//!    indices). Among equal rows the one the model recorded
//!    ([`svm_dual::model::SupportVector::index`], JSON models) is taken if
//!    free, else the first free row whose label agrees with the sign of the
//!    coefficient, else the first free row; `αᵢ = coefᵢ·yᵢ`. A support
//!    vector with no such row is an error naming it (and its line in a
//!    LIBSVM model).
//! 4. The formulation: the model's (JSON) or LIBSVM's C-SVC defaults
//!    (`--loss l1 -C 1`, as `svm-train`) when the model has none; `--loss`,
//!    `-C`, `--weight` and `--no-bias` override either.
//! 5. [`svm_dual::verify::try_verify_detailed`] and the JSON report
//!    ([`VerifyReport`], documented in `docs/report.md`), plus a summary
//!    line on stderr.
//!
//! Exit 0 whenever the certificate was computed, whatever the gap; 2 on bad
//! arguments or input.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde::{Deserialize, Serialize};
use svm_dual::data::{Dataset, Row};
use svm_dual::formulation::{Formulation, Loss};
use svm_dual::kernel::Kernel;
use svm_dual::model::{LabelMapping, Model};
use svm_dual::report::{ClassWeight, DataSummary, FormulationReport, InputReport, LabelsReport};
use svm_dual::verify::{try_verify_detailed, Certificate};

use super::args::{check_output_path, input_format, DataFormatArgs, LossArg};
use super::output::{is_stdout, significant, write_all_atomically, write_stdout};
use super::predict::{
    check_feature_count, check_not_input, load_data, load_model, recorded_features, ModelFormatArg,
};
use super::CliError;

/// The version of the `verify` report layout written by this build.
pub const VERIFY_SCHEMA_VERSION: u32 = 1;

/// The arguments of `svm-dual verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The model file: our JSON or LIBSVM's text format.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The model's format [default: json when the file starts with `{`,
    /// libsvm otherwise].
    #[arg(long, value_enum)]
    pub model_format: Option<ModelFormatArg>,
    /// The training data the model was trained on.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// How to read --data, as for `solve`.
    #[command(flatten)]
    pub input: DataFormatArgs,
    /// The loss [default: the model's; l1 (LIBSVM's C-SVC) for a LIBSVM
    /// model].
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// The cost C > 0 [default: the model's; 1 (as svm-train) for a LIBSVM
    /// model].
    #[arg(
        short = 'C',
        long = "cost",
        value_name = "C",
        allow_negative_numbers = true
    )]
    pub cost: Option<f64>,
    /// Multiply C by W for the class with raw label LABEL (as LIBSVM's
    /// -wi) [default: the model's weights, or 1]. Repeatable.
    #[arg(long = "weight", value_name = "LABEL=W", allow_hyphen_values = true)]
    pub weights: Vec<String>,
    /// Certify the formulation without the bias b.
    #[arg(long)]
    pub no_bias: bool,
    /// Write the JSON report to FILE, or to stdout with `-` [default: only
    /// the summary line].
    #[arg(long, value_name = "FILE|-")]
    pub report: Option<PathBuf>,
    /// No summary line on stderr (errors are still shown).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The model file, as described in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelReport {
    /// The path as given.
    pub path: String,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
    /// `json` or `libsvm`.
    pub format: String,
    /// Whether the model recorded its formulation (JSON models do, LIBSVM
    /// models do not).
    pub has_formulation: bool,
    /// The kernel.
    pub kernel: Kernel,
    /// The model's bias `b` (LIBSVM's `−rho`).
    pub bias: f64,
    /// The label mapping.
    pub labels: LabelsReport,
}

/// How the support vectors were matched to training rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchingReport {
    /// Support vectors in the model (all were matched).
    pub support_vectors: usize,
    /// Matched to the row the model recorded (JSON models).
    pub by_recorded_index: usize,
    /// Support vectors whose coefficient's sign disagrees with the label of
    /// their row (`αᵢ < 0`: infeasible, see `certificate.kkt.bound_violation`).
    pub label_mismatches: usize,
}

/// One training row named by the worst residuals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RowReport {
    /// 0-based row of the training file.
    pub row: usize,
    /// Its raw label.
    pub label: f64,
    /// `yᵢ` (±1).
    pub y: f64,
    /// `αᵢ`.
    pub alpha: f64,
    /// `f(xᵢ)` with the bias the certificate used.
    pub decision_value: f64,
    /// `yᵢ f(xᵢ)`.
    pub margin: f64,
}

/// The rows behind the worst residuals (the verifier's `Detailed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorstReport {
    /// `[i, j]` attaining `kkt.max_violation` (`[i, i]` without bias).
    pub max_violating_pair: Option<[usize; 2]>,
    /// The row attaining `kkt.complementarity`.
    pub worst_complementarity: Option<usize>,
    /// The bias the certificate evaluated `f` with.
    pub bias_used: f64,
    /// Those rows, each once, in the order named above.
    pub rows: Vec<RowReport>,
}

/// Wall times of the phases, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VerifyTimings {
    /// Reading the model and the data.
    pub load: f64,
    /// Matching support vectors to rows.
    pub matching: f64,
    /// Computing the certificate.
    pub verify: f64,
    /// The whole run.
    pub total: f64,
}

/// The report of `svm-dual verify`; fields in `docs/report.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// [`VERIFY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The model.
    pub model: ModelReport,
    /// The training data.
    pub input: InputReport,
    /// The formulation certified.
    pub formulation: FormulationReport,
    /// How `α` was rebuilt.
    pub matching: MatchingReport,
    /// The certificate.
    pub certificate: Certificate,
    /// The rows behind the worst residuals.
    pub worst: WorstReport,
    /// Wall times.
    pub timings_seconds: VerifyTimings,
    /// Threads in the pool.
    pub threads: usize,
}

/// `α` rebuilt from a model's coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconstruction {
    /// One entry per training row.
    pub alpha: Vec<f64>,
    /// Matching statistics.
    pub matching: MatchingReport,
}

/// The content of a row as a hash key: its non-zero `(index, value bits)`.
fn row_key(row: &Row<'_>) -> Vec<(u32, u64)> {
    match row {
        Row::Sparse { indices, values } => indices
            .iter()
            .zip(values.iter())
            .filter(|(_, v)| **v != 0.0)
            .map(|(&k, v)| (k, v.to_bits()))
            .collect(),
        Row::Dense(v) => v
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(k, v)| (k as u32, v.to_bits()))
            .collect(),
    }
}

/// `yᵢ` from the model's label mapping; a row with another label is an
/// error.
pub fn signs(data: &Dataset, labels: &LabelMapping, data_name: &str) -> Result<Vec<f64>, CliError> {
    data.labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            if l == labels.positive {
                Ok(1.0)
            } else if l == labels.negative {
                Ok(-1.0)
            } else {
                Err(CliError::Argument(format!(
                    "{data_name}: row {} has label {l}, not one of the model's labels {} and {}",
                    i + 1,
                    labels.positive,
                    labels.negative
                )))
            }
        })
        .collect()
}

/// Matches each support vector to a training row (see the module doc) and
/// returns `α`. `describe(k)` names support vector `k` in errors.
pub fn reconstruct_alpha(
    model: &Model,
    data: &Dataset,
    y: &[f64],
    data_name: &str,
    describe: impl Fn(usize) -> String,
) -> Result<Reconstruction, CliError> {
    let n = data.len();
    let mut rows: HashMap<Vec<(u32, u64)>, Vec<usize>> = HashMap::new();
    for i in 0..n {
        rows.entry(row_key(&data.features.row(i)))
            .or_default()
            .push(i);
    }
    let mut alpha = vec![0.0; n];
    let mut used = vec![false; n];
    let mut matching = MatchingReport {
        support_vectors: model.support_vectors.len(),
        by_recorded_index: 0,
        label_mismatches: 0,
    };
    for (k, sv) in model.support_vectors.iter().enumerate() {
        let Some(candidates) = rows.get(&row_key(&sv.row())) else {
            return Err(CliError::Argument(format!(
                "{} not found in {data_name}",
                describe(k)
            )));
        };
        let agrees = |i: usize| sv.coef * y[i] >= 0.0;
        let recorded = sv
            .index
            .filter(|&i| i < n && !used[i] && candidates.contains(&i));
        let chosen = recorded
            .or_else(|| candidates.iter().copied().find(|&i| !used[i] && agrees(i)))
            .or_else(|| candidates.iter().copied().find(|&i| !used[i]));
        let Some(i) = chosen else {
            return Err(CliError::Argument(format!(
                "{} matches {} row(s) of {data_name}, all taken by earlier support vectors",
                describe(k),
                candidates.len()
            )));
        };
        if recorded.is_some() {
            matching.by_recorded_index += 1;
        }
        if !agrees(i) {
            matching.label_mismatches += 1;
        }
        used[i] = true;
        alpha[i] = sv.coef * y[i];
    }
    Ok(Reconstruction { alpha, matching })
}

/// Parses `LABEL=W`.
fn parse_weight(text: &str) -> Result<(f64, f64), CliError> {
    let bad = |m: String| CliError::Argument(format!("invalid value for --weight: {m}"));
    let (label, weight) = text
        .split_once('=')
        .ok_or_else(|| bad(format!("expected LABEL=W, got {text:?}")))?;
    let label: f64 = label
        .trim()
        .parse()
        .ok()
        .filter(|l: &f64| l.is_finite())
        .ok_or_else(|| bad(format!("label {label:?} is not a finite number")))?;
    let weight: f64 = weight
        .trim()
        .parse()
        .ok()
        .filter(|w: &f64| w.is_finite() && *w > 0.0)
        .ok_or_else(|| bad(format!("weight {weight:?} is not a positive finite number")))?;
    Ok((label, weight))
}

/// The formulation to certify: the model's, or LIBSVM's C-SVC defaults
/// (L1, `C = 1`), with the command line's overrides.
pub fn resolve_formulation(args: &VerifyArgs, model: &Model) -> Result<Formulation, CliError> {
    let mut f = model.formulation.unwrap_or(Formulation {
        loss: Loss::L1,
        c: 1.0,
        weight_positive: 1.0,
        weight_negative: 1.0,
        bias: true,
    });
    if let Some(loss) = args.loss {
        f.loss = match loss {
            LossArg::L1 => Loss::L1,
            LossArg::L2 => Loss::L2,
        };
    }
    if let Some(c) = args.cost {
        f.c = c;
    }
    for text in &args.weights {
        let (label, weight) = parse_weight(text)?;
        if label == model.labels.positive {
            f.weight_positive = weight;
        } else if label == model.labels.negative {
            f.weight_negative = weight;
        } else {
            return Err(CliError::Argument(format!(
                "invalid value for --weight: label {label} is not one of the model's labels \
                 ({} and {})",
                model.labels.positive, model.labels.negative
            )));
        }
    }
    if args.no_bias {
        f.bias = false;
    }
    f.validate().map_err(CliError::Argument)?;
    Ok(f)
}

/// The one-line summary printed on stderr.
pub fn summary_line(report: &VerifyReport) -> String {
    let c = &report.certificate;
    let pair = match report.worst.max_violating_pair {
        Some([i, j]) => format!(" (rows {i}, {j})"),
        None => String::new(),
    };
    format!(
        "verified: dual {}, primal {}, relative gap {:.3e}, max violation {:.3e}{pair}, \
         bound violation {:.3e}, equality violation {:.3e}, {} support vectors, {:.3} s",
        significant(c.dual_objective),
        significant(c.primal_objective_best_bias),
        c.relative_gap,
        c.kkt.max_violation,
        c.kkt.bound_violation,
        c.kkt.equality_violation,
        report.matching.support_vectors,
        report.timings_seconds.total
    )
}

/// Runs `svm-dual verify`.
pub fn run(args: VerifyArgs) -> Result<(), CliError> {
    let start = Instant::now();
    let format = args.input.resolve(&args.data)?;
    let report_target = match &args.report {
        Some(p) if is_stdout(p) => None,
        Some(p) => {
            check_output_path("--report", p)?;
            check_not_input("--report", p, &[&args.model, &args.data])?;
            Some(p.clone())
        }
        None => None,
    };
    let input = load_model(&args.model, args.model_format)?;
    let model = &input.loaded.model;
    let formulation = resolve_formulation(&args, model)?;
    let data = load_data(&args.data, &format)?;
    check_feature_count(
        "--data",
        &args.data,
        &format,
        &data,
        recorded_features(input.loaded.format, model.n_features),
        &format!("the model {} was trained on", args.model.display()),
    )?;
    let load = start.elapsed();
    let data_name = args.data.display().to_string();

    let t = Instant::now();
    let y = signs(&data, &model.labels, &data_name)?;
    let rec = reconstruct_alpha(model, &data, &y, &data_name, |k| {
        input.loaded.describe_sv(k)
    })?;
    let matching = t.elapsed();

    let t = Instant::now();
    let detailed = try_verify_detailed(
        &data.features,
        &y,
        &formulation,
        model.kernel,
        &rec.alpha,
        model.bias,
    )
    .map_err(|e| CliError::Argument(e.to_string()))?;
    let verify = t.elapsed();

    let mut named: Vec<usize> = Vec::new();
    let pair = detailed
        .max_violating_pair
        .map(|p| p.to_vec())
        .unwrap_or_default();
    for i in pair.into_iter().chain(detailed.worst_complementarity) {
        if !named.contains(&i) {
            named.push(i);
        }
    }
    let rows = named
        .into_iter()
        .map(|i| {
            let f = model.decision_value(&data.features.row(i)) - model.bias + detailed.bias_used;
            RowReport {
                row: i,
                label: data.labels[i],
                y: y[i],
                alpha: rec.alpha[i],
                decision_value: f,
                margin: y[i] * f,
            }
        })
        .collect();

    let weights = vec![
        ClassWeight {
            label: model.labels.positive,
            weight: formulation.weight_positive,
        },
        ClassWeight {
            label: model.labels.negative,
            weight: formulation.weight_negative,
        },
    ];
    let labels = LabelsReport {
        positive: model.labels.positive,
        negative: model.labels.negative,
    };
    let report = VerifyReport {
        schema_version: VERIFY_SCHEMA_VERSION,
        model: ModelReport {
            path: args.model.display().to_string(),
            sha256: input.sha256.clone(),
            format: input.loaded.format.name().into(),
            has_formulation: model.formulation.is_some(),
            kernel: model.kernel,
            bias: model.bias,
            labels,
        },
        input: InputReport {
            data: DataSummary::of(&data, input_format(&format)),
            labels,
        },
        formulation: FormulationReport {
            loss: formulation.loss,
            c: formulation.c,
            weights,
            bias: formulation.bias,
        },
        matching: rec.matching,
        certificate: detailed.certificate,
        worst: WorstReport {
            max_violating_pair: detailed.max_violating_pair,
            worst_complementarity: detailed.worst_complementarity,
            bias_used: detailed.bias_used,
            rows,
        },
        timings_seconds: VerifyTimings {
            load: load.as_secs_f64(),
            matching: matching.as_secs_f64(),
            verify: verify.as_secs_f64(),
            total: start.elapsed().as_secs_f64(),
        },
        threads: rayon::current_num_threads(),
    };

    if let Some(target) = &args.report {
        let mut json = serde_json::to_string_pretty(&report).map_err(|e| CliError::Output {
            path: target.clone(),
            source: std::io::Error::other(e),
        })?;
        json.push('\n');
        match &report_target {
            Some(p) => write_all_atomically(&[(p.as_path(), json.as_bytes())])?,
            None => write_stdout(json.as_bytes())?,
        }
    }
    if !args.quiet {
        let _ = writeln!(std::io::stderr(), "{}", summary_line(&report));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use svm_dual::data::Features;
    use svm_dual::model::{SupportVector, MODEL_SCHEMA_VERSION};

    fn sv(index: Option<usize>, coef: f64, x: f64) -> SupportVector {
        SupportVector {
            index,
            coef,
            indices: vec![0],
            values: vec![x],
        }
    }

    fn model(svs: Vec<SupportVector>) -> Model {
        Model {
            schema_version: MODEL_SCHEMA_VERSION,
            formulation: None,
            kernel: Kernel::Linear,
            labels: LabelMapping {
                positive: 1.0,
                negative: -1.0,
            },
            n_features: 1,
            bias: 0.0,
            support_vectors: svs,
        }
    }

    #[test]
    fn duplicates_are_assigned_by_label_then_order() {
        // Rows 0 and 1 are equal with different labels, rows 2 and 3 equal
        // with the same label.
        let x = Features::from_sparse_rows(
            &[
                vec![(0, 1.0)],
                vec![(0, 1.0)],
                vec![(0, 2.0)],
                vec![(0, 2.0)],
            ],
            1,
        );
        let data = Dataset::new(x, vec![1.0, -1.0, -1.0, -1.0]).unwrap();
        let y = signs(&data, &model(vec![]).labels, "d").unwrap();
        let m = model(vec![
            sv(None, -0.5, 1.0),
            sv(None, -0.25, 2.0),
            sv(None, -0.125, 2.0),
        ]);
        let r = reconstruct_alpha(&m, &data, &y, "d", |k| format!("sv {k}")).unwrap();
        assert_eq!(r.alpha, vec![0.0, 0.5, 0.25, 0.125]);
        assert_eq!(r.matching.label_mismatches, 0);

        let m = model(vec![sv(Some(3), -0.25, 2.0)]);
        let r = reconstruct_alpha(&m, &data, &y, "d", |k| format!("sv {k}")).unwrap();
        assert_eq!(r.alpha, vec![0.0, 0.0, 0.0, 0.25]);
        assert_eq!(r.matching.by_recorded_index, 1);

        let m = model(vec![sv(None, 1.0, 3.0)]);
        let e = reconstruct_alpha(&m, &data, &y, "d", |k| format!("sv {k}")).unwrap_err();
        assert_eq!(e.to_string(), "sv 0 not found in d");
        let m = model(vec![
            sv(None, 1.0, 1.0),
            sv(None, 1.0, 1.0),
            sv(None, 1.0, 1.0),
        ]);
        let e = reconstruct_alpha(&m, &data, &y, "d", |k| format!("sv {k}")).unwrap_err();
        assert!(
            e.to_string()
                .contains("sv 2 matches 2 row(s) of d, all taken"),
            "{e}"
        );
    }

    #[test]
    fn foreign_labels_are_refused() {
        let x = Features::from_sparse_rows(&[vec![(0, 1.0)], vec![(0, 2.0)]], 1);
        let data = Dataset::new(x, vec![1.0, 3.0]).unwrap();
        let e = signs(&data, &model(vec![]).labels, "d").unwrap_err();
        assert!(e.to_string().contains("row 2 has label 3"), "{e}");
    }
}
