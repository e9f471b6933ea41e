//! `svm-dual predict`: apply a model (our JSON or LIBSVM's text format) to
//! a data file.
//!
//! Output, LIBSVM style: one predicted raw label a line, in the shortest
//! form that reads back to the same number (`1`, `-1`, `2`), and with
//! `--decision-values` the decision value `f(x)` as a second column
//! (space-separated, shortest round-trip form); for a multiclass JSON model
//! (`svm-dual solve` on data with more than two labels) the predicted label
//! is the vote or the largest value ([`svm_dual::multiclass`]) and
//! `--decision-values` adds one column per sub-model, in sub-model order.
//! It goes to `--output FILE`
//! (written atomically, see [`super::output`]) or to standard output. The
//! accuracy against the file's labels is printed on stderr as `svm-predict`
//! prints it: `Accuracy = 85.1852% (230/270)` (every supported data format
//! has a label column, so it is always printed, unless `--quiet`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use svm_dual::data::{read_path, Dataset, Format, MemoryLimit};
use svm_dual::model_io::{self, LoadedModel, ModelFormat};
use svm_dual::multiclass::{parse_any_bytes, AnyModel};

use super::args::{check_output_path, DataFormatArgs};
use super::output::{is_stdout, write_all_atomically, write_stdout};
use super::CliError;

/// `--model-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelFormatArg {
    /// Our JSON model (`svm-dual solve --model`).
    Json,
    /// LIBSVM's text model (`svm-train`): binary or one-vs-one c_svc.
    Libsvm,
}

impl From<ModelFormatArg> for ModelFormat {
    fn from(f: ModelFormatArg) -> Self {
        match f {
            ModelFormatArg::Json => ModelFormat::Json,
            ModelFormatArg::Libsvm => ModelFormat::Libsvm,
        }
    }
}

/// The arguments of `svm-dual predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model file: our JSON or LIBSVM's text format.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The model's format [default: json when the file starts with `{`,
    /// libsvm otherwise].
    #[arg(long, value_enum)]
    pub model_format: Option<ModelFormatArg>,
    /// The data to predict (labels are compared with the predictions).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// How to read --data, as for `solve`.
    #[command(flatten)]
    pub input: DataFormatArgs,
    /// Write the predictions to FILE (atomically); `-` or none: stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Add the decision value f(x) as a second column.
    #[arg(long)]
    pub decision_values: bool,
    /// Do not print the accuracy on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// A model file read, with its bytes' SHA-256 (for reports).
#[derive(Debug, Clone)]
pub struct ModelInput {
    /// The model and where its support vectors were.
    pub loaded: LoadedModel,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
}

/// Reads a model file; a bad file is an argument error (exit 2) naming the
/// file, the line and the problem.
pub fn load_model(path: &Path, format: Option<ModelFormatArg>) -> Result<ModelInput, CliError> {
    let format = format.map(ModelFormat::from);
    let bytes = model_io::read_model_bytes(path, format, MemoryLimit::System)
        .map_err(|e| CliError::Argument(e.to_string()))?;
    let loaded = model_io::parse_bytes(&bytes, format, Some(path)).map_err(|e| {
        match parse_any_bytes(&bytes, format, Some(path)) {
            Ok(AnyModel::Multiclass(_) | AnyModel::Joint(_)) => CliError::Argument(format!(
                "{} is a multiclass model; only binary models can be certified here \
                 (solve's report certifies every sub-problem of a multiclass model)",
                path.display()
            )),
            _ => CliError::Argument(e.to_string()),
        }
    })?;
    let sha256 = svm_dual::data::Source::of_bytes(path, &bytes).sha256;
    Ok(ModelInput { loaded, sha256 })
}

/// Reads a model file of either kind (binary or multiclass JSON, binary
/// LIBSVM text); a bad file is an argument error (exit 2).
pub fn load_any_model(path: &Path, format: Option<ModelFormatArg>) -> Result<AnyModel, CliError> {
    load_any_model_with_format(path, format).map(|(model, _)| model)
}

/// [`load_any_model`], with the format the file was read in (`format`, or
/// the one its content shows).
pub fn load_any_model_with_format(
    path: &Path,
    format: Option<ModelFormatArg>,
) -> Result<(AnyModel, ModelFormat), CliError> {
    let format = format.map(ModelFormat::from);
    let bytes = model_io::read_model_bytes(path, format, MemoryLimit::System)
        .map_err(|e| CliError::Argument(e.to_string()))?;
    let model = parse_any_bytes(&bytes, format, Some(path))
        .map_err(|e| CliError::Argument(e.to_string()))?;
    Ok((model, format.unwrap_or_else(|| ModelFormat::detect(&bytes))))
}

/// Reads the data file in `format` (from [`DataFormatArgs::resolve`]).
pub fn load_data(path: &Path, format: &Format) -> Result<Dataset, CliError> {
    Ok(read_path(path, format)?)
}

/// The number of features a model was trained on, when its file records
/// it: our JSON models do; LIBSVM's text format does not (a model read from
/// it has the largest index among its support vectors as `n_features`), so
/// `None`.
pub fn recorded_features(format: ModelFormat, n_features: usize) -> Option<usize> {
    (format == ModelFormat::Json).then_some(n_features)
}

/// The `n_features` of a model of any kind.
fn any_n_features(model: &AnyModel) -> usize {
    match model {
        AnyModel::Binary(m) => m.n_features,
        // Every sub-model keeps the columns of the whole training set.
        AnyModel::Multiclass(m) => m.submodels.iter().map(|s| s.n_features).max().unwrap_or(0),
        AnyModel::Joint(m) => m.n_features,
    }
}

/// Refuses dense (CSV) data whose number of feature columns differs from
/// `expected`, as scikit-learn does ("X has 3 features, but SVC is
/// expecting 4"): a model applied to shifted columns predicts garbage
/// without a word. `expected_by` completes "but … `expected`" (e.g. "the
/// model m.json was trained on"). LIBSVM-format (sparse) data is not
/// checked: as for `svm-predict`, a missing index is a zero and an index
/// beyond the model's features meets only zeros.
pub fn check_feature_count(
    option: &str,
    path: &Path,
    format: &Format,
    data: &Dataset,
    expected: Option<usize>,
    expected_by: &str,
) -> Result<(), CliError> {
    let (Format::Csv(_), Some(expected)) = (format, expected) else {
        return Ok(());
    };
    let found = data.features.n_cols();
    if found == expected {
        return Ok(());
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    Err(CliError::Argument(format!(
        "invalid value for {option}: {} has {found} feature column{} (besides the label), \
         but {expected_by} {expected} feature{}",
        path.display(),
        plural(found),
        plural(expected),
    )))
}

/// Whether two paths name the same existing file (or are spelled alike).
pub fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Refuses an output path that would overwrite an input.
pub fn check_not_input(option: &str, out: &Path, inputs: &[&Path]) -> Result<(), CliError> {
    if out.as_os_str().is_empty() || out.is_dir() {
        return Err(CliError::Argument(format!(
            "invalid value for {option}: {} is not a file name",
            out.display()
        )));
    }
    if inputs.iter().any(|i| same_file(out, i)) {
        return Err(CliError::Argument(format!(
            "invalid value for {option}: would overwrite an input file"
        )));
    }
    Ok(())
}

/// `x` as C's `printf("%g", x)`: six significant digits, trailing zeros
/// removed, scientific notation below `1e-4` or from `1e6`.
pub fn format_g(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let sci = format!("{x:.5e}");
    // `{:e}` always writes an exponent; the fallback is never taken.
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: &str| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..6).contains(&exponent) {
        let decimals = (5 - exponent) as usize;
        trim(&format!("{x:.decimals$}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    }
}

/// `Accuracy = 85.1852% (230/270)`, as `svm-predict` prints it.
pub fn accuracy_line(correct: usize, total: usize) -> String {
    let percent = if total == 0 {
        0.0
    } else {
        100.0 * correct as f64 / total as f64
    };
    format!("Accuracy = {}% ({correct}/{total})", format_g(percent))
}

/// Runs `svm-dual predict`.
pub fn run(args: PredictArgs) -> Result<(), CliError> {
    // `-` is standard output, as for `--report -`.
    let output = args.output.as_deref().filter(|p| !is_stdout(p));
    let format = args.input.resolve(&args.data)?;
    if let Some(out) = output {
        check_output_path("--output", out)?;
        check_not_input("--output", out, &[&args.model, &args.data])?;
    }
    let (model, model_format) = load_any_model_with_format(&args.model, args.model_format)?;
    let data = load_data(&args.data, &format)?;
    check_feature_count(
        "--data",
        &args.data,
        &format,
        &data,
        recorded_features(model_format, any_n_features(&model)),
        &format!("the model {} was trained on", args.model.display()),
    )?;
    let (predicted, values): (Vec<f64>, Vec<Vec<f64>>) = match &model {
        AnyModel::Binary(model) => model
            .decision_function(&data.features)
            .into_iter()
            .map(|f| {
                let p = if f > 0.0 {
                    model.labels.positive
                } else {
                    model.labels.negative
                };
                (p, vec![f])
            })
            .unzip(),
        AnyModel::Multiclass(model) => {
            let values = model.decision_values(&data.features);
            let predicted = values
                .iter()
                .map(|v| model.classes[model.predict_index(v)])
                .collect();
            (predicted, values)
        }
        AnyModel::Joint(model) => {
            let values = model.decision_values(&data.features);
            let predicted = values
                .iter()
                .map(|v| model.classes[svm_dual::verify_joint::argmax(v)])
                .collect();
            (predicted, values)
        }
    };

    let mut text = String::with_capacity(predicted.len() * 24);
    let mut correct = 0usize;
    for ((&p, v), &label) in predicted.iter().zip(&values).zip(&data.labels) {
        if p == label {
            correct += 1;
        }
        text.push_str(&p.to_string());
        if args.decision_values {
            for f in v {
                text.push(' ');
                text.push_str(&f.to_string());
            }
        }
        text.push('\n');
    }

    match output {
        Some(p) => write_all_atomically(&[(p, text.as_bytes())])?,
        None => write_stdout(text.as_bytes())?,
    }
    if !args.quiet {
        let _ = writeln!(
            std::io::stderr(),
            "{}",
            accuracy_line(correct, data.labels.len())
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_g_matches_printf() {
        assert_eq!(format_g(100.0 * 230.0 / 270.0), "85.1852");
        assert_eq!(format_g(100.0 * 1340.0 / 1605.0), "83.4891");
        assert_eq!(format_g(100.0), "100");
        assert_eq!(format_g(50.0), "50");
        assert_eq!(format_g(0.0), "0");
        assert_eq!(format_g(1e-5), "1e-05");
        assert_eq!(format_g(1234567.0), "1.23457e+06");
        assert_eq!(format_g(0.000123456789), "0.000123457");
        assert_eq!(accuracy_line(234, 270), "Accuracy = 86.6667% (234/270)");
    }
}
