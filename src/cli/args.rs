//! Command-line arguments (clap derive) and their validation into
//! [`SolveOptions`], once, before any work. Every rule on a value lives in
//! [`SolveArgs::validate`]; the rest of the program sees only typed, checked
//! options.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use svm_dual::data::{CsvOptions, Format, Header};
use svm_dual::formulation::{Formulation, Loss};
use svm_dual::kernel::Kernel;
use svm_dual::model_io::ModelFormat;
use svm_dual::multiclass::MulticlassStrategy;
use svm_dual::multiclass_dual::{JointSolver, MulticlassChoice};
use svm_dual::report::InputFormat;
use svm_dual::solvers::{SmoSettings, WorkingSet};
use svm_dual::train::{SolverChoice, SolverKind};
use svm_dual::verify_joint::JointMethod;

use super::predict::ModelFormatArg;
use super::CliError;

/// Bytes in one MiB (the unit of `--cache-mb`).
const MIB: f64 = (1u64 << 20) as f64;

/// Certified solvers for the dual quadratic programs of SVMs.
#[derive(Debug, Parser)]
#[command(name = "svm-dual", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a binary SVM by solving its dual QP, then certify the solution.
    ///
    /// Prints a one-line summary on stderr (status, dual and primal
    /// objectives, relative gap, time). The JSON report is written only when
    /// --report is given (`--report -` for stdout). Exit codes: 0 converged,
    /// 3 an iteration or time limit was reached (outputs still written),
    /// 130 interrupted by Ctrl-C (outputs of the iterate reached written),
    /// 2 bad arguments or bad input, 1 other failures.
    Solve(SolveArgs),
    /// Predict labels with a model (our JSON or LIBSVM's text format).
    ///
    /// Writes one predicted label a line (with --decision-values also f(x))
    /// to --output or stdout, and the accuracy on stderr. --data is read
    /// with the format options of `solve` (give the same ones as for
    /// training); a CSV file must have as many feature columns as the
    /// model has features (JSON models). Exit codes: 0 done, 2 bad
    /// arguments, model or data, 1 other failures.
    Predict(super::predict::PredictArgs),
    /// Certify a model (ours or svm-train's) on its training data.
    ///
    /// Rebuilds α by matching the support vectors to training rows, runs the
    /// verifier and prints a summary line; the JSON report only with
    /// --report. Exit codes: 0 the certificate was computed (whatever the
    /// gap), 2 bad arguments, model or data, 1 other failures.
    Verify(super::verify_cmd::VerifyArgs),
    /// Stratified K-fold cross-validation with the options of `solve`.
    ///
    /// Prints the accuracy (correct held-out predictions over all rows, as
    /// `svm-train -v K`) and each fold on stdout; the JSON report
    /// (docs/cv.md) only with --report. Exit codes: 0 done, 3 some fold's
    /// solve stopped at a limit, 2 bad arguments or data, 1 other failures.
    Cv(super::cv_cmd::CvArgs),
    /// Grid search over C and gamma (log2 ranges as LIBSVM's grid.py) by
    /// cross-validation, in parallel, warm-starting along increasing C.
    ///
    /// Prints a table of accuracies (rows log2 C, columns log2 gamma, the
    /// best marked `*`) on stdout; the JSON report (docs/cv.md) with
    /// --report; with --model the model trained on all the data at the best
    /// point. Exit codes as for cv.
    Grid(super::cv_cmd::GridArgs),
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// LIBSVM sparse text: `label index:value ...`, 1-based indices.
    Libsvm,
    /// Delimited numeric text, one sample a row.
    Csv,
}

/// `--csv-header`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeaderArg {
    /// A header when no field of the first row is a number, a sample when
    /// all are; a first row mixing both is an error.
    Auto,
    /// The first row is a header.
    Yes,
    /// There is no header.
    No,
}

/// `--loss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Squared hinge `(Cᵢ/2)ξᵢ²`.
    L2,
    /// Hinge `Cᵢξᵢ` (LIBSVM's C-SVC).
    L1,
}

/// `--kernel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelArg {
    /// `⟨a, b⟩`.
    Linear,
    /// `exp(−γ‖a − b‖²)`.
    Rbf,
    /// `(γ⟨a, b⟩ + coef0)^degree`.
    Poly,
    /// `tanh(γ⟨a, b⟩ + coef0)`.
    Sigmoid,
}

/// `--solver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SolverArg {
    /// CD for the linear kernel, SMO otherwise.
    Auto,
    /// Sequential minimal optimisation with second-order working sets.
    Smo,
    /// Projected gradient (Barzilai–Borwein steps, exact projection).
    Pg,
    /// Dual coordinate descent with w kept explicitly (linear kernel only).
    Cd,
    /// Interior point, dense (joint multiclass duals of at most 1000 samples).
    Ip,
}

/// `--multiclass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MulticlassArg {
    /// One-vs-one: one problem per pair of classes, prediction by voting.
    Ovo,
    /// One-vs-rest: one problem per class, prediction by the largest value.
    Ovr,
    /// Crammer–Singer: one joint dual, one slack per sample, no bias.
    CrammerSinger,
    /// Weston–Watkins: one joint dual, one slack per sample and wrong
    /// class, no bias.
    WestonWatkins,
}

impl From<MulticlassArg> for MulticlassChoice {
    fn from(m: MulticlassArg) -> Self {
        match m {
            MulticlassArg::Ovo => MulticlassChoice::Split(MulticlassStrategy::Ovo),
            MulticlassArg::Ovr => MulticlassChoice::Split(MulticlassStrategy::Ovr),
            MulticlassArg::CrammerSinger => MulticlassChoice::Joint(JointMethod::CrammerSinger),
            MulticlassArg::WestonWatkins => MulticlassChoice::Joint(JointMethod::WestonWatkins),
        }
    }
}

/// The data-format options shared by every subcommand that reads a data
/// file (`solve`, `cv`, `grid`, `predict`, `verify`), flattened into each;
/// [`DataFormatArgs::resolve`] checks them, so every subcommand reads a file
/// the same way and reports a bad value with the same message.
#[derive(Debug, Clone, Default, Args)]
pub struct DataFormatArgs {
    /// The data file's format [default: csv for *.csv and *.tsv
    /// (tab-separated), libsvm otherwise].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// CSV only: the 0-based column holding the labels [default: 0, the
    /// first column].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        value_parser = non_negative::<usize>
    )]
    pub label_column: Option<usize>,
    /// CSV only: whether the first row is a header [default: auto].
    #[arg(long, value_enum, value_name = "WHEN")]
    pub csv_header: Option<HeaderArg>,
    /// CSV only: the field delimiter, one ASCII character (not a digit,
    /// `.`, `-`, `+`, `e` or `E`) or `tab`
    /// [default: `,`; tab for *.tsv].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
}

impl DataFormatArgs {
    /// The format to read `data` with: `--format`, or the one its extension
    /// implies, with the CSV options applied. The CSV options with LIBSVM
    /// input, or a bad `--delimiter`, are argument errors naming the option.
    pub fn resolve(&self, data: &Path) -> Result<Format, CliError> {
        let csv_given =
            self.label_column.is_some() || self.csv_header.is_some() || self.delimiter.is_some();
        let format = match self.format {
            Some(FormatArg::Libsvm) => Format::Libsvm,
            Some(FormatArg::Csv) => Format::Csv(CsvOptions::default()),
            None => Format::from_extension(data),
        };
        match format {
            Format::Libsvm if csv_given => Err(CliError::Argument(
                "--label-column, --csv-header and --delimiter apply only to CSV input \
                 (use --format csv)"
                    .into(),
            )),
            Format::Csv(mut csv) => {
                if let Some(c) = self.label_column {
                    csv.label_column = c;
                }
                if let Some(h) = self.csv_header {
                    csv.header = match h {
                        HeaderArg::Auto => Header::Auto,
                        HeaderArg::Yes => Header::Present,
                        HeaderArg::No => Header::Absent,
                    };
                }
                if let Some(d) = &self.delimiter {
                    csv.delimiter = parse_delimiter(d)?;
                }
                Ok(Format::Csv(csv))
            }
            other => Ok(other),
        }
    }
}

/// The format as named in reports.
pub fn input_format(format: &Format) -> InputFormat {
    match format {
        Format::Libsvm => InputFormat::Libsvm,
        Format::Csv(_) => InputFormat::Csv,
    }
}

/// The arguments of `svm-dual solve`, as clap parsed them (unchecked).
#[derive(Debug, Args)]
pub struct SolveArgs {
    /// The training data file.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// How to read --data (and --test).
    #[command(flatten)]
    pub input: DataFormatArgs,
    /// The loss on the slack [default: l2] (binary, ovo and ovr only).
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// The cost C > 0 [default: 1].
    // An Option, not a default value: grid tells a given -C apart (it fixes
    // C, and conflicts with --log2c/--c-values).
    #[arg(
        short = 'C',
        long = "cost",
        value_name = "C",
        allow_negative_numbers = true
    )]
    pub cost: Option<f64>,
    /// Multiply C by W for the class with raw label LABEL (as LIBSVM's -wi);
    /// labels are compared as numbers. Repeatable.
    #[arg(long = "weight", value_name = "LABEL=W", allow_hyphen_values = true)]
    pub weights: Vec<String>,
    /// The kernel.
    #[arg(long, value_enum, default_value_t = KernelArg::Rbf)]
    pub kernel: KernelArg,
    /// γ > 0 of the rbf, poly and sigmoid kernels [default: 1/number of
    /// features].
    #[arg(long, value_name = "G", allow_negative_numbers = true)]
    pub gamma: Option<f64>,
    /// The degree of the poly kernel (at least 1).
    #[arg(long, value_name = "D", default_value_t = 3, allow_negative_numbers = true, value_parser = non_negative::<u32>)]
    pub degree: u32,
    /// The constant term of the poly and sigmoid kernels.
    #[arg(
        long,
        value_name = "R",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub coef0: f64,
    /// Drop the bias b (and the dual's equality constraint).
    #[arg(long)]
    pub no_bias: bool,
    /// The dual solver.
    #[arg(long, value_enum, default_value_t = SolverArg::Auto)]
    pub solver: SolverArg,
    /// Data with more than two labels: how to split it into binary
    /// problems (ovo, ovr), or one joint multiclass dual (crammer-singer,
    /// weston-watkins; these also apply to two labels).
    #[arg(long, value_enum, default_value_t = MulticlassArg::Ovo)]
    pub multiclass: MulticlassArg,
    /// CD only: append a constant feature B whose weight is regularised
    /// (LIBLINEAR's -B), instead of the unregularised bias; needs
    /// --no-bias.
    #[arg(short = 'B', long, value_name = "B", allow_negative_numbers = true)]
    pub bias_feature: Option<f64>,
    /// Stop when the certified relative duality gap is at most G: CD tests
    /// the gap as it goes; SMO and PG divide --tol by 10 and resume from
    /// the last solution until the verifier's gap is at most G (binary
    /// problems only).
    #[arg(long, value_name = "G", allow_negative_numbers = true)]
    pub target_gap: Option<f64>,
    /// Stopping tolerance on the maximal KKT violation.
    #[arg(
        long,
        value_name = "T",
        default_value_t = 1e-3,
        allow_negative_numbers = true
    )]
    pub tol: f64,
    /// Stop after N iterations (exit code 3): SMO pair steps, PG
    /// iterations, CD passes [default: LIBSVM's max(10⁷, 100·n) SMO steps
    /// for n variables; 100 000 PG iterations or CD passes].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        value_parser = non_negative::<u64>
    )]
    pub max_iter: Option<u64>,
    /// Stop after this wall time of training (exit code 3), for the whole
    /// run: the sub-problems of a multiclass model, and the folds and grid
    /// points of cv and grid (with grid's best model), share one deadline
    /// [default: no limit].
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub time_limit: Option<f64>,
    /// Memory for Q in MiB: SMO in batches keeps its block of 8·n·size
    /// bytes within it; SMO with pairs (and PG) stores all of Q when its
    /// 8n² bytes fit, otherwise caches kernel columns within this budget
    /// [default: a quarter of the memory this process may use (MemTotal,
    /// or the cgroup's limit if lower), at most 200]
    #[arg(long, value_name = "MB", allow_negative_numbers = true)]
    pub cache_mb: Option<f64>,
    /// Turn shrinking off.
    #[arg(long)]
    pub no_shrinking: bool,
    /// SMO's working sets: 2 takes one pair per iteration (LIBSVM); an
    /// even number N ≥ 4 takes N variables at once, forms their kernel
    /// columns as one block and solves the sub-problem on it (ThunderSVM's
    /// scheme; the block of 8·n·N bytes kept within --cache-mb); auto takes
    /// batches of 256 when the block is one matrix product (the d × 256
    /// matrix of the columns' rows within 32 MiB) and n ≥ 1024, pairs
    /// otherwise.
    #[arg(long, value_name = "auto|2|N", default_value = "auto", value_parser = parse_working_set)]
    pub working_set: WorkingSet,
    /// Worker threads [default: all cores].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        value_parser = non_negative::<usize>
    )]
    pub threads: Option<usize>,
    /// Write the JSON report to FILE, or to stdout with `-` [default: no
    /// report, only the summary line].
    #[arg(long, value_name = "FILE|-")]
    pub report: Option<PathBuf>,
    /// Write the trained model to FILE.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Format of the --model file: json (ours: formulation, support-vector
    /// rows and certificate included) or libsvm (svm-train's text format,
    /// read by svm-predict: binary and one-vs-one models, integer labels).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "json")]
    pub model_format: ModelFormatArg,
    /// Start from the dual solution of this model (ours or LIBSVM's) instead
    /// of 0, projected onto the feasible set: resumes a run stopped by a
    /// limit or Ctrl-C, or warm-starts from another C. Its support vectors
    /// must be rows of --data. smo and pg only; multiclass data takes a
    /// multiclass model of the same classes and --multiclass.
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,
    /// Test data (same format options as --data): the trained model
    /// predicts it, and the accuracy goes in the report (`test`) and on
    /// stderr, as `svm-predict` prints it. Read before training, so a bad
    /// file stops the run at once (as does a CSV file with another number
    /// of feature columns than --data).
    #[arg(long, value_name = "FILE")]
    pub test: Option<PathBuf>,
    /// No progress lines and no summary on stderr (errors are still shown).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Where the report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportTarget {
    /// Standard output (`--report -`).
    Stdout,
    /// A file, written atomically.
    File(PathBuf),
}

/// A `--weight LABEL=W`: the weight for the class whose raw label equals
/// `label` numerically.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelWeight {
    /// The raw label.
    pub label: f64,
    /// The factor on `C`.
    pub weight: f64,
}

/// The kernel as asked for, before `γ`'s default (which needs the number of
/// features) is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelSpec {
    /// Which kernel.
    pub kind: KernelArg,
    /// `--gamma`, when given.
    pub gamma: Option<f64>,
    /// `--degree`.
    pub degree: u32,
    /// `--coef0`.
    pub coef0: f64,
}

impl KernelSpec {
    /// The kernel with `γ` resolved: `--gamma` or `default_gamma`.
    pub fn resolve(&self, default_gamma: f64) -> Kernel {
        let gamma = self.gamma.unwrap_or(default_gamma);
        match self.kind {
            KernelArg::Linear => Kernel::Linear,
            KernelArg::Rbf => Kernel::Rbf { gamma },
            KernelArg::Poly => Kernel::Poly {
                gamma,
                coef0: self.coef0,
                degree: self.degree,
            },
            KernelArg::Sigmoid => Kernel::Sigmoid {
                gamma,
                coef0: self.coef0,
            },
        }
    }
}

/// Checked options of `svm-dual solve`.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveOptions {
    /// The training data file.
    pub data: PathBuf,
    /// How to parse it.
    pub format: Format,
    /// The formulation; the class weights are 1 here and set from
    /// [`SolveOptions::weights`] once the labels are known.
    pub formulation: Formulation,
    /// `--weight` entries, labels distinct.
    pub weights: Vec<LabelWeight>,
    /// The kernel as asked for.
    pub kernel: KernelSpec,
    /// The solver asked for.
    pub solver: SolverChoice,
    /// The solver of the joint multiclass dual; `Some` exactly when
    /// `multiclass` is a joint method.
    pub joint_solver: Option<JointSolver>,
    /// How data with more than two labels is split, or which joint
    /// multiclass dual is solved (`--multiclass`).
    pub multiclass: MulticlassChoice,
    /// CD only: the regularised constant feature (`-B`).
    pub bias_feature: Option<f64>,
    /// Stop on this certified relative duality gap (binary problems).
    pub target_gap: Option<f64>,
    /// Tolerance, limits, cache and shrinking (shared by all solvers).
    pub smo: SmoSettings,
    /// Worker threads; `None`: all cores.
    pub threads: Option<usize>,
    /// Where the report goes, if anywhere.
    pub report: Option<ReportTarget>,
    /// Where the model goes, if anywhere.
    pub model: Option<PathBuf>,
    /// The model file's format.
    pub model_format: ModelFormat,
    /// `--init`: the model whose `α` starts the solve.
    pub init: Option<PathBuf>,
    /// `--test`: data the trained model is evaluated on.
    pub test: Option<PathBuf>,
    /// Suppress progress and summary.
    pub quiet: bool,
}

impl SolveOptions {
    /// The format as named in the report.
    pub fn input_format(&self) -> InputFormat {
        input_format(&self.format)
    }
}

/// Parses the value of an integer option that cannot be negative. With
/// `allow_negative_numbers` a negative number reaches it (instead of being
/// taken for a flag, clap's "unexpected argument"), and is refused by value
/// as the options taking real numbers refuse one; clap names the option.
pub fn non_negative<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map_err(|e| match text.strip_prefix('-').map(str::parse::<f64>) {
            Some(Ok(_)) => format!("must be a non-negative integer, got {text}"),
            _ => e.to_string(),
        })
}

/// An argument error naming the option.
fn bad(option: &str, message: impl std::fmt::Display) -> CliError {
    CliError::Argument(format!("invalid value for {option}: {message}"))
}

/// A positive finite number, or an error naming `option`.
fn positive(option: &str, v: f64) -> Result<f64, CliError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(bad(
            option,
            format_args!("must be a positive finite number, got {v}"),
        ))
    }
}

/// Parses `LABEL=W`.
fn parse_weight(text: &str) -> Result<LabelWeight, CliError> {
    let (label, weight) = text
        .split_once('=')
        .ok_or_else(|| bad("--weight", format_args!("expected LABEL=W, got {text:?}")))?;
    let label: f64 = label
        .trim()
        .parse()
        .ok()
        .filter(|l: &f64| l.is_finite())
        .ok_or_else(|| {
            bad(
                "--weight",
                format_args!("label {label:?} is not a finite number"),
            )
        })?;
    let weight: f64 = weight.trim().parse().map_err(|_| {
        bad(
            "--weight",
            format_args!("weight {weight:?} is not a number"),
        )
    })?;
    let weight = positive(&format!("--weight {text}"), weight)?;
    Ok(LabelWeight { label, weight })
}

/// Parses `--delimiter`: one ASCII character that cannot be part of a
/// number, or `tab` / `\t`.
fn parse_delimiter(text: &str) -> Result<u8, CliError> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ => match text.as_bytes() {
            [b] if b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E') => Err(bad(
                "--delimiter",
                format_args!(
                    "{text:?} can be part of a number (digits, '.', '-', '+', 'e', 'E'), \
                         so it cannot separate fields"
                ),
            )),
            [b] if b.is_ascii() && !matches!(b, b'\n' | b'\r' | b'"') => Ok(*b),
            _ => Err(bad(
                "--delimiter",
                format_args!("expected one ASCII character or `tab`, got {text:?}"),
            )),
        },
    }
}

/// Checks that an output file can be created at `path`: its directory
/// exists and it is not itself a directory.
pub fn check_output_path(option: &str, path: &Path) -> Result<(), CliError> {
    if path.as_os_str().is_empty() {
        return Err(bad(option, "empty path"));
    }
    if path.is_dir() {
        return Err(bad(
            option,
            format_args!("{} is a directory", path.display()),
        ));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        let problem = if dir.exists() {
            format!("{} is not a directory", dir.display())
        } else {
            format!("directory {} does not exist", dir.display())
        };
        return Err(bad(option, problem));
    }
    Ok(())
}

impl SolveArgs {
    /// Checks every value and combination once; the error names the option.
    pub fn validate(self) -> Result<SolveOptions, CliError> {
        let format = self.input.resolve(&self.data)?;

        let c = positive("-C/--cost", self.cost.unwrap_or(1.0))?;
        let formulation = Formulation {
            loss: match self.loss.unwrap_or(LossArg::L2) {
                LossArg::L2 => Loss::L2,
                LossArg::L1 => Loss::L1,
            },
            c,
            weight_positive: 1.0,
            weight_negative: 1.0,
            bias: !self.no_bias,
        };
        let mut weights: Vec<LabelWeight> = Vec::with_capacity(self.weights.len());
        for text in &self.weights {
            let w = parse_weight(text)?;
            if weights.iter().any(|o| o.label == w.label) {
                return Err(bad(
                    "--weight",
                    format_args!("label {} given twice", w.label),
                ));
            }
            if !(c * w.weight).is_normal() {
                return Err(bad(
                    "--weight",
                    format_args!(
                        "C times the weight of label {} is not a normal number",
                        w.label
                    ),
                ));
            }
            weights.push(w);
        }
        if !formulation.c.is_normal() {
            return Err(bad("-C/--cost", format_args!("{c} is too small")));
        }

        if let Some(g) = self.gamma {
            positive("--gamma", g)?;
        }
        if self.degree == 0 {
            return Err(bad("--degree", "must be at least 1"));
        }
        if !self.coef0.is_finite() {
            return Err(bad(
                "--coef0",
                format_args!("must be finite, got {}", self.coef0),
            ));
        }
        let kernel = KernelSpec {
            kind: self.kernel,
            gamma: self.gamma,
            degree: self.degree,
            coef0: self.coef0,
        };

        let tol = positive("--tol", self.tol)?;
        if self.max_iter == Some(0) {
            return Err(bad("--max-iter", "must be at least 1"));
        }
        let time_limit = match self.time_limit {
            None => None,
            Some(t) => {
                let t = positive("--time-limit", t)?;
                Some(Duration::try_from_secs_f64(t).map_err(|_| {
                    bad(
                        "--time-limit",
                        format_args!(
                            "{t:e} seconds is too large: the largest accepted value is \
                             just under 2^64 ≈ 1.8e19 seconds"
                        ),
                    )
                })?)
            }
        };
        let cache_bytes = match self.cache_mb {
            None => svm_dual::cache_budget::default_cache_bytes() as f64,
            Some(mb) => {
                let cache_mb = positive("--cache-mb", mb)?;
                let cache_bytes = cache_mb * MIB;
                if cache_bytes >= usize::MAX as f64 {
                    return Err(bad(
                        "--cache-mb",
                        format_args!("{cache_mb} MiB is too large"),
                    ));
                }
                cache_bytes
            }
        };
        let smo = SmoSettings {
            tol,
            max_iter: self.max_iter,
            time_limit,
            cache_bytes: cache_bytes as usize,
            shrinking: !self.no_shrinking,
            working_set: self.working_set,
            ..SmoSettings::default()
        };
        smo.validate()
            .map_err(|e| CliError::Argument(e.to_string()))?;

        let solver = match self.solver {
            SolverArg::Auto => SolverChoice::Auto,
            SolverArg::Smo => SolverChoice::Exactly(SolverKind::Smo),
            SolverArg::Pg => SolverChoice::Exactly(SolverKind::Pg),
            SolverArg::Cd => SolverChoice::Exactly(SolverKind::Cd),
            SolverArg::Ip => SolverChoice::Auto,
        };
        let linear = matches!(self.kernel, KernelArg::Linear);
        let multiclass = MulticlassChoice::from(self.multiclass);
        if let MulticlassChoice::Joint(method) = multiclass {
            let name = method.name();
            let not_for = |option: &str, why: &str| {
                Err(bad(
                    option,
                    format_args!("does not apply to --multiclass {name}: {why}"),
                ))
            };
            if self.loss.is_some() {
                return not_for("--loss", "its loss is the multiclass hinge loss");
            }
            if self.bias_feature.is_some() {
                return not_for("-B/--bias-feature", "the joint dual has no bias");
            }
            if self.target_gap.is_some() {
                return not_for("--target-gap", "it stops on --tol");
            }
            if !self.weights.is_empty() {
                return not_for("--weight", "class weights are not supported");
            }
            if matches!(self.solver, SolverArg::Pg) {
                return not_for(
                    "--solver",
                    "pg is not available; use auto, smo (block steps), cd (linear) or ip (interior point)",
                );
            }
        }
        // The joint duals' solver, resolved here once: `auto` is the
        // explicit-w block solver for the linear kernel and the kernel block
        // solver otherwise, `smo` the kernel one, `cd` the linear one, `ip`
        // the interior point (`pg` was refused above).
        let joint_solver = match (multiclass, self.solver) {
            (MulticlassChoice::Split(_), _) => None,
            (MulticlassChoice::Joint(_), SolverArg::Ip) => Some(JointSolver::InteriorPoint),
            (MulticlassChoice::Joint(_), SolverArg::Cd) => Some(JointSolver::BlockLinear),
            (MulticlassChoice::Joint(_), SolverArg::Auto) if linear => {
                Some(JointSolver::BlockLinear)
            }
            (MulticlassChoice::Joint(_), _) => Some(JointSolver::Block),
        };
        if matches!(self.solver, SolverArg::Ip) && joint_solver.is_none() {
            return Err(bad(
                "--solver",
                "ip solves the joint multiclass duals only (--multiclass crammer-singer or \
                 weston-watkins)",
            ));
        }
        if matches!(self.solver, SolverArg::Cd) && !linear {
            return Err(bad(
                "--solver",
                "cd solves the linear kernel only (--kernel linear)",
            ));
        }
        let cd = solver.resolve(&Kernel::Linear) == SolverKind::Cd && linear;
        if let Some(b) = self.bias_feature {
            if !cd {
                return Err(bad("-B/--bias-feature", "applies to the cd solver only"));
            }
            if !self.no_bias {
                return Err(bad(
                    "-B/--bias-feature",
                    "a regularised constant feature replaces the bias: add --no-bias",
                ));
            }
            if !(b.is_finite() && b >= 0.0) {
                return Err(bad(
                    "-B/--bias-feature",
                    format_args!("must be finite and ≥ 0, got {b}"),
                ));
            }
        }
        if let Some(g) = self.target_gap {
            positive("--target-gap", g)?;
        }

        if self.threads == Some(0) {
            return Err(bad("--threads", "must be at least 1"));
        }
        if let Some(init) = &self.init {
            if solver.resolve(&kernel.resolve(1.0)) == SolverKind::Cd {
                return Err(bad(
                    "--init",
                    "warm starts apply to the smo and pg solvers (add --solver smo)",
                ));
            }
            if !init.is_file() {
                return Err(bad(
                    "--init",
                    format_args!("{} is not a readable file", init.display()),
                ));
            }
        }

        let report = match self.report {
            None => None,
            Some(p) if super::output::is_stdout(&p) => Some(ReportTarget::Stdout),
            Some(p) => {
                check_output_path("--report", &p)?;
                Some(ReportTarget::File(p))
            }
        };
        if let Some(m) = &self.model {
            if super::output::is_stdout(m) {
                return Err(bad(
                    "--model",
                    "the model is written to a file only, not to `-`",
                ));
            }
            check_output_path("--model", m)?;
            if report == Some(ReportTarget::File(m.clone())) {
                return Err(CliError::Argument(
                    "--report and --model name the same file".into(),
                ));
            }
        }
        for (option, out) in [
            (
                "--report",
                match &report {
                    Some(ReportTarget::File(p)) => Some(p),
                    _ => None,
                },
            ),
            ("--model", self.model.as_ref()),
        ] {
            if out.is_some_and(|p| same_file(p, &self.data)) {
                return Err(bad(option, "would overwrite the input data"));
            }
            if out.is_some_and(|p| self.test.as_ref().is_some_and(|t| same_file(p, t))) {
                return Err(bad(option, "would overwrite the test data"));
            }
        }
        if let Some(test) = &self.test {
            if !test.is_file() {
                return Err(bad(
                    "--test",
                    format_args!("{} is not a readable file", test.display()),
                ));
            }
        }

        Ok(SolveOptions {
            data: self.data,
            format,
            formulation,
            weights,
            kernel,
            solver,
            joint_solver,
            multiclass,
            bias_feature: self.bias_feature,
            target_gap: self.target_gap,
            smo,
            threads: self.threads,
            report,
            model: self.model,
            model_format: self.model_format.into(),
            init: self.init,
            test: self.test,
            quiet: self.quiet,
        })
    }
}

/// Whether two paths name the same existing file (or are spelled alike).
fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// `--working-set`: `auto`, `2` (pairs) or an even batch size of at least 4.
fn parse_working_set(s: &str) -> Result<WorkingSet, String> {
    match s {
        "auto" => Ok(WorkingSet::Auto),
        "2" => Ok(WorkingSet::Pairs),
        _ => match s.parse::<usize>() {
            Ok(n) if n >= 4 && n % 2 == 0 => Ok(WorkingSet::Batched(n)),
            _ => Err(format!(
                "expected auto, 2 or an even number of at least 4, got {s:?}"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<SolveOptions, CliError> {
        let mut argv = vec!["svm-dual", "solve", "--data", "train.txt"];
        argv.extend_from_slice(extra);
        let cli = Cli::try_parse_from(argv).map_err(|e| CliError::Argument(e.to_string()))?;
        match cli.command {
            Command::Solve(a) => a.validate(),
            other => Err(CliError::Argument(format!("not solve: {other:?}"))),
        }
    }

    fn err(extra: &[&str]) -> String {
        match parse(extra) {
            Ok(o) => panic!("expected an error for {extra:?}, got {o:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_match_libsvm() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.format, Format::Libsvm);
        assert_eq!(o.formulation, Formulation::default());
        assert_eq!(o.kernel.kind, KernelArg::Rbf);
        assert_eq!(o.kernel.resolve(0.25), Kernel::Rbf { gamma: 0.25 });
        assert_eq!(o.smo, SmoSettings::default());
        assert_eq!(o.threads, None);
        assert_eq!(o.report, None);
        assert!(!o.quiet);
        assert_eq!(
            o.multiclass,
            MulticlassChoice::Split(MulticlassStrategy::Ovo)
        );
        let o = parse(&["--multiclass", "crammer-singer"]).unwrap();
        assert_eq!(
            o.multiclass,
            MulticlassChoice::Joint(JointMethod::CrammerSinger)
        );
    }

    #[test]
    fn values_are_carried_over() {
        let o = parse(&[
            "--loss",
            "l1",
            "-C",
            "2.5",
            "--weight",
            "-1=3",
            "--weight=+1=0.5",
            "--kernel",
            "poly",
            "--gamma",
            "0.1",
            "--degree",
            "2",
            "--coef0",
            "-1",
            "--no-bias",
            "--tol",
            "1e-6",
            "--max-iter",
            "10",
            "--time-limit",
            "1.5",
            "--cache-mb",
            "1",
            "--no-shrinking",
            "--threads",
            "2",
            "--report",
            "-",
            "--quiet",
        ])
        .unwrap();
        assert_eq!(o.formulation.loss, Loss::L1);
        assert_eq!(o.formulation.c, 2.5);
        assert!(!o.formulation.bias);
        assert_eq!(
            o.weights,
            vec![
                LabelWeight {
                    label: -1.0,
                    weight: 3.0
                },
                LabelWeight {
                    label: 1.0,
                    weight: 0.5
                }
            ]
        );
        assert_eq!(
            o.kernel.resolve(9.0),
            Kernel::Poly {
                gamma: 0.1,
                coef0: -1.0,
                degree: 2
            }
        );
        assert_eq!(o.smo.tol, 1e-6);
        assert_eq!(o.smo.max_iter, Some(10));
        assert_eq!(o.smo.time_limit, Some(Duration::from_millis(1500)));
        assert_eq!(o.smo.cache_bytes, 1 << 20);
        assert!(!o.smo.shrinking);
        assert_eq!(o.threads, Some(2));
        assert_eq!(o.report, Some(ReportTarget::Stdout));
        assert!(o.quiet);
    }

    #[test]
    fn csv_options() {
        let o = parse(&[
            "--format",
            "csv",
            "--label-column",
            "3",
            "--csv-header",
            "no",
            "--delimiter",
            ";",
        ])
        .unwrap();
        assert_eq!(
            o.format,
            Format::Csv(CsvOptions {
                label_column: 3,
                header: Header::Absent,
                delimiter: b';'
            })
        );
        assert_eq!(o.input_format(), InputFormat::Csv);
        assert!(err(&["--label-column", "1"]).contains("only to CSV"));
        assert!(err(&["--format", "csv", "--delimiter", "ab"]).contains("--delimiter"));
        for d in [".", "-", "+", "e", "E", "0", "7"] {
            let e = err(&["--format", "csv", "--delimiter", d]);
            assert!(
                e.contains("--delimiter") && e.contains("part of a number"),
                "{d}: {e}"
            );
        }
        for (d, byte) in [(" ", b' '), ("|", b'|'), ("tab", b'\t'), (":", b':')] {
            let o = parse(&["--format", "csv", "--delimiter", d]).unwrap();
            assert!(
                matches!(o.format, Format::Csv(c) if c.delimiter == byte),
                "{d}"
            );
        }
    }

    #[test]
    fn huge_time_limit_names_the_largest_value() {
        for t in ["1e300", "1.8446744073709552e19"] {
            let e = err(&["--time-limit", t]);
            assert!(
                e.contains("--time-limit") && e.contains("largest accepted value"),
                "{e}"
            );
            assert!(!e.contains("Duration"), "{e}");
        }
        let o = parse(&["--time-limit", "1e19"]).unwrap();
        assert!(o.smo.time_limit.is_some());
    }

    #[test]
    fn output_under_a_file_is_not_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("afile");
        std::fs::write(&file, "x").unwrap();
        let report = file.join("r.json");
        let e = err(&["--report", report.to_str().unwrap()]);
        assert!(
            e.contains("--report") && e.contains("afile is not a directory"),
            "{e}"
        );
        assert!(!e.contains("does not exist"), "{e}");
    }

    #[test]
    fn bad_values_name_the_option() {
        for (args, needle) in [
            (&["-C", "-1"][..], "-C/--cost"),
            (&["-C", "0"], "-C/--cost"),
            (&["-C", "nan"], "-C/--cost"),
            (&["--gamma", "0"], "--gamma"),
            (&["--gamma", "inf"], "--gamma"),
            (&["--degree", "0"], "--degree"),
            (&["--coef0", "inf"], "--coef0"),
            (&["--tol", "0"], "--tol"),
            (&["--max-iter", "0"], "--max-iter"),
            (&["--time-limit", "-2"], "--time-limit"),
            (&["--cache-mb", "0"], "--cache-mb"),
            (&["--threads", "0"], "--threads"),
            (&["--weight", "1"], "--weight"),
            (&["--weight", "x=1"], "--weight"),
            (&["--weight", "1=-2"], "--weight"),
            (&["--weight", "1=2", "--weight", "1.0=3"], "twice"),
            (&["--model", "-"], "--model"),
            (&["--report", "/nonexistent-dir/r.json"], "does not exist"),
            (&["--report", "a.json", "--model", "a.json"], "same file"),
            (&["--report", "train.txt"], "overwrite"),
            (
                &["--multiclass", "crammer-singer", "--loss", "l1"],
                "--loss",
            ),
            (
                &[
                    "--multiclass",
                    "weston-watkins",
                    "--kernel",
                    "linear",
                    "--no-bias",
                    "-B",
                    "1",
                ],
                "-B/--bias-feature",
            ),
            (
                &["--multiclass", "crammer-singer", "--solver", "pg"],
                "--solver",
            ),
            (
                &["--multiclass", "weston-watkins", "--weight", "1=2"],
                "--weight",
            ),
        ] {
            let e = err(args);
            assert!(e.contains(needle), "{args:?}: {e}");
        }
    }
}
