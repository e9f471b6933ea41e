//! Reading and writing [`Model`] files: our JSON and LIBSVM's text format.
//!
//! # JSON
//! [`Model`] serialised by serde ([`write_json`], [`read_json`]), pretty
//! printed; numbers use the shortest representation that reads back to the
//! same `f64`. The reader checks `schema_version` first and refuses any
//! version but [`MODEL_SCHEMA_VERSION`] with a clear message.
//!
//! # LIBSVM text format (C-SVC)
//! As written by `svm-train` (LIBSVM 3.x) and read by `svm-predict`:
//! ```text
//! svm_type c_svc
//! kernel_type rbf                 (linear | polynomial | rbf | sigmoid)
//! degree 3                        (polynomial only)
//! gamma 0.076923076923076927      (polynomial, rbf, sigmoid)
//! coef0 0                         (polynomial, sigmoid)
//! nr_class 2
//! total_sv 132
//! rho 0.42446205176771579
//! label 1 -1
//! nr_sv 64 68
//! SV
//! 1 1:0.166667 2:1 3:-0.333333 …  (coef, then 1-based idx:val)
//! ```
//! Conventions (Chang & Lin, *LIBSVM*, ACM TIST 2011, and its README):
//! - `rho = −b`: the decision value is `Σ coefᵢ K(xᵢ, x) − rho`;
//! - the first label of `label` is the class predicted when the decision
//!   value is positive, i.e. our [`LabelMapping::positive`];
//! - each coefficient is `αᵢyᵢ` with `yᵢ = +1` for that first class, i.e.
//!   our [`crate::model::SupportVector::coef`]; the support vectors are
//!   grouped by class, `nr_sv` giving the size of each group.
//!
//! Labels are integers in LIBSVM's files: a model whose labels are not
//! integers cannot be written ([`LibsvmWriteError`]). The writer uses Rust's
//! `{}` for every number (the shortest decimal that reads back to the same
//! `f64`), so `svm-predict` reads the exact coefficients, `rho` and `γ`.
//!
//! What LIBSVM's format does not hold, and so a model read from it lacks:
//! the formulation ([`Model::formulation`] is `None`: LIBSVM's C-SVC is our
//! L1 loss, but `C` and the class weights are not recorded), the training
//! row of each support vector ([`crate::model::SupportVector::index`] is
//! `None`) and the number of features ([`Model::n_features`] is the largest
//! feature index among the support vectors). `probA`/`probB` (from
//! `svm-train -b 1`) and `prob_density_marks` lines are read and ignored.
//! [`parse_libsvm`] reads files with any number of classes ([`LibsvmFile`]
//! states the one-vs-one layout); [`read_libsvm`] wants a binary one, and
//! [`crate::multiclass`] turns the others into one-vs-one models and writes
//! them.
//!
//! Every reading error is a [`ModelError`] naming the file, the 1-based
//! line (when there is one) and the problem.
//!
//! # Memory
//! A model file larger than the available memory, or whose parsed form is
//! estimated not to fit ([`estimated_parsed_bytes`]), is refused before it
//! is read or parsed ([`read_model_bytes`], [`crate::data::memory`]). No
//! capacity is taken from a number written in the file (`total_sv`,
//! `nr_sv`): every allocation is bounded by the file's length.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::memory::{self, MemoryLimit, MemoryShortfall};
use crate::data::MAX_FEATURE_INDEX;
use crate::kernel::Kernel;
use crate::model::{LabelMapping, Model, SupportVector, MODEL_SCHEMA_VERSION};

/// The two model file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFormat {
    /// Our JSON ([`Model`] through serde).
    Json,
    /// LIBSVM's text format (binary `c_svc`).
    Libsvm,
}

impl ModelFormat {
    /// The format of a file's content: JSON when the first character that
    /// is not white space (after an optional UTF-8 byte order mark) is `{`,
    /// LIBSVM otherwise.
    pub fn detect(bytes: &[u8]) -> Self {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => ModelFormat::Json,
            _ => ModelFormat::Libsvm,
        }
    }

    /// `json` or `libsvm`.
    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::Json => "json",
            ModelFormat::Libsvm => "libsvm",
        }
    }
}

/// What is wrong with a model file.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelErrorKind {
    /// The file could not be read.
    Io(String),
    /// The file needs more memory than is available (refused before
    /// reading or parsing it).
    TooLarge(MemoryShortfall),
    /// The file is not valid UTF-8.
    NotUtf8,
    /// The JSON does not parse or does not match the [`Model`] schema
    /// (serde's message, which names line and column).
    Json(String),
    /// `schema_version` is missing or not the one this build reads.
    SchemaVersion {
        /// The version found (`None`: missing).
        found: Option<u64>,
    },
    /// A LIBSVM model with another `svm_type` than `c_svc`.
    SvmType(String),
    /// An unknown or unsupported `kernel_type`.
    KernelType(String),
    /// `nr_class` other than 2 where a binary model is needed.
    Classes(u64),
    /// A header line this reader does not know.
    UnknownKey(String),
    /// A header key given twice.
    Duplicate(String),
    /// A required header line is missing.
    Missing(&'static str),
    /// A header value is not what the key needs.
    BadValue {
        /// The key.
        key: String,
        /// What was found and what was expected.
        problem: String,
    },
    /// A support-vector line is malformed.
    BadSupportVector(String),
    /// The file ends before `total_sv` support vectors were read.
    Truncated {
        /// `total_sv`.
        expected: usize,
        /// Support vectors read.
        got: usize,
    },
    /// Non-blank content after the last support vector.
    TrailingContent,
    /// The header contradicts itself or the support vectors, or a value is
    /// out of range (message says which).
    Inconsistent(String),
}

impl fmt::Display for ModelErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelErrorKind::Io(e) => write!(f, "cannot read the model: {e}"),
            ModelErrorKind::TooLarge(m) => write!(f, "{m}"),
            ModelErrorKind::NotUtf8 => write!(f, "the model file is not UTF-8 text"),
            ModelErrorKind::Json(e) => write!(f, "not a valid JSON model: {e}"),
            ModelErrorKind::SchemaVersion { found: Some(v) } => write!(
                f,
                "JSON model schema_version {v} is not supported (this build reads version \
                 {MODEL_SCHEMA_VERSION})"
            ),
            ModelErrorKind::SchemaVersion { found: None } => write!(
                f,
                "JSON model without a numeric schema_version (this build reads version \
                 {MODEL_SCHEMA_VERSION})"
            ),
            ModelErrorKind::SvmType(t) => write!(
                f,
                "svm_type {t} is not supported: only c_svc models can be read"
            ),
            ModelErrorKind::KernelType(t) => write!(
                f,
                "unknown kernel_type {t} (expected linear, polynomial, rbf or sigmoid)"
            ),
            ModelErrorKind::Classes(n) => write!(
                f,
                "nr_class {n}: a multiclass model where a binary one (nr_class 2) is needed"
            ),
            ModelErrorKind::UnknownKey(k) => write!(f, "unknown header line {k:?}"),
            ModelErrorKind::Duplicate(k) => write!(f, "header key {k} given twice"),
            ModelErrorKind::Missing(k) => write!(f, "the header has no {k} line"),
            ModelErrorKind::BadValue { key, problem } => write!(f, "bad {key}: {problem}"),
            ModelErrorKind::BadSupportVector(m) => write!(f, "bad support vector: {m}"),
            ModelErrorKind::Truncated { expected, got } => write!(
                f,
                "truncated: total_sv is {expected} but the file ends after {got} support vectors"
            ),
            ModelErrorKind::TrailingContent => write!(
                f,
                "more support-vector lines than total_sv (or other text after them)"
            ),
            ModelErrorKind::Inconsistent(m) => write!(f, "{m}"),
        }
    }
}

/// A model file that cannot be used: the file, the 1-based line (when the
/// problem has one) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    /// The file (`None` for text held in memory).
    pub path: Option<PathBuf>,
    /// 1-based line.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: ModelErrorKind,
}

impl ModelError {
    fn new(path: Option<&Path>, line: Option<usize>, kind: ModelErrorKind) -> Self {
        Self {
            path: path.map(Path::to_path_buf),
            line,
            kind,
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}", p.display())?,
            None => write!(f, "<model>")?,
        }
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ModelError {}

/// A model as read from a file, with where its support vectors were.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedModel {
    /// The model.
    pub model: Model,
    /// The format it was read as.
    pub format: ModelFormat,
    /// LIBSVM format: the 1-based line of each support vector, in order.
    /// `None` for JSON (a support vector is then named by its position in
    /// `support_vectors`).
    pub sv_lines: Option<Vec<usize>>,
}

impl LoadedModel {
    /// Names support vector `k` (0-based) for messages: `support vector 3
    /// (line 14 of the model)` or `support vector 3 (support_vectors[2] of
    /// the model)`.
    pub fn describe_sv(&self, k: usize) -> String {
        match self.sv_lines.as_ref().and_then(|l| l.get(k)) {
            Some(line) => format!("support vector {} (line {line} of the model)", k + 1),
            None => format!(
                "support vector {} (support_vectors[{k}] of the model)",
                k + 1
            ),
        }
    }
}

/// Reads a model file in the given format, or the one detected from its
/// content ([`ModelFormat::detect`]) when `format` is `None`; a file too
/// large for the memory the system reports available is refused
/// ([`read_model_bytes`]).
pub fn read_path(path: &Path, format: Option<ModelFormat>) -> Result<LoadedModel, ModelError> {
    read_path_with(path, format, MemoryLimit::System)
}

/// [`read_path`] with the memory figure given by `limit`.
pub fn read_path_with(
    path: &Path,
    format: Option<ModelFormat>,
    limit: MemoryLimit,
) -> Result<LoadedModel, ModelError> {
    let bytes = read_model_bytes(path, format, limit)?;
    parse_bytes(&bytes, format, Some(path))
}

/// The bytes of a model file, read only when the file fits in the memory
/// `limit` allows, and returned only when the file plus
/// [`estimated_parsed_bytes`] (for `format`, or the detected one) fits too;
/// otherwise [`ModelErrorKind::TooLarge`] naming the file and the sizes.
/// [`ModelErrorKind::Io`] when the file cannot be read.
pub fn read_model_bytes(
    path: &Path,
    format: Option<ModelFormat>,
    limit: MemoryLimit,
) -> Result<Vec<u8>, ModelError> {
    let too_large = |m| ModelError::new(Some(path), None, ModelErrorKind::TooLarge(m));
    let available = limit.available_bytes();
    if let Some(size) = memory::file_size(path) {
        MemoryShortfall::check(size, size, available).map_err(too_large)?;
    }
    let bytes = std::fs::read(path)
        .map_err(|e| ModelError::new(Some(path), None, ModelErrorKind::Io(e.to_string())))?;
    let file = bytes.len() as u64;
    let parsed = estimated_parsed_bytes(&bytes, format);
    MemoryShortfall::check(file, file.saturating_add(parsed), available).map_err(too_large)?;
    Ok(bytes)
}

/// The estimated peak memory, in bytes, of the model parsed from `bytes`
/// (the bytes themselves not included), read as `format` or the detected
/// one. LIBSVM text: 24 bytes per `:` (a `u32` index and an `f64` value,
/// twice for vector growth) and 80 per line (a support vector and its line
/// number). JSON: 16 bytes per `,` or `[` (each array element, field or
/// support vector is preceded by one; 16 covers an `f64` element with
/// growth, and a support vector's 72 bytes over its five separators).
pub fn estimated_parsed_bytes(bytes: &[u8], format: Option<ModelFormat>) -> u64 {
    match format.unwrap_or_else(|| ModelFormat::detect(bytes)) {
        ModelFormat::Libsvm => memory::count_byte(bytes, b':')
            .saturating_mul(24)
            .saturating_add((memory::count_byte(bytes, b'\n') + 1).saturating_mul(80)),
        ModelFormat::Json => {
            (memory::count_byte(bytes, b',') + memory::count_byte(bytes, b'[') + 1)
                .saturating_mul(16)
        }
    }
}

/// [`read_path`] on bytes held in memory; `path` only names them in errors.
pub fn parse_bytes(
    bytes: &[u8],
    format: Option<ModelFormat>,
    path: Option<&Path>,
) -> Result<LoadedModel, ModelError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ModelError::new(path, None, ModelErrorKind::NotUtf8))?;
    match format.unwrap_or_else(|| ModelFormat::detect(bytes)) {
        ModelFormat::Json => read_json(text, path).map(|model| LoadedModel {
            model,
            format: ModelFormat::Json,
            sv_lines: None,
        }),
        ModelFormat::Libsvm => read_libsvm(text, path),
    }
}

/// The model as pretty JSON with a final newline.
pub fn write_json(model: &Model) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(model)?;
    s.push('\n');
    Ok(s)
}

/// Only the version, read before the rest so that a file of another schema
/// gets a message about its version rather than about a missing field.
#[derive(Deserialize)]
struct VersionProbe {
    schema_version: Option<serde_json::Value>,
}

/// Parses our JSON model: checks `schema_version`, then the schema, then
/// the values ([`check_model`]).
pub fn read_json(text: &str, path: Option<&Path>) -> Result<Model, ModelError> {
    let err = |kind| ModelError::new(path, None, kind);
    let probe: VersionProbe =
        serde_json::from_str(text).map_err(|e| err(ModelErrorKind::Json(e.to_string())))?;
    let version = probe.schema_version.as_ref().and_then(|v| v.as_u64());
    if version != Some(u64::from(MODEL_SCHEMA_VERSION)) {
        return Err(err(ModelErrorKind::SchemaVersion { found: version }));
    }
    let model: Model =
        serde_json::from_str(text).map_err(|e| err(ModelErrorKind::Json(e.to_string())))?;
    check_model(&model).map_err(|m| err(ModelErrorKind::Inconsistent(m)))?;
    Ok(model)
}

/// Checks the values of a model: kernel parameters, finite bias and
/// coefficients, distinct finite labels, a valid formulation when there is
/// one, and support vectors with as many values as indices, indices
/// strictly increasing.
pub fn check_model(model: &Model) -> Result<(), String> {
    model.kernel.validate()?;
    if let Some(f) = &model.formulation {
        f.validate()?;
    }
    let LabelMapping { positive, negative } = model.labels;
    if !positive.is_finite() || !negative.is_finite() || positive == negative {
        return Err(format!(
            "the labels must be two distinct finite numbers, got {positive} and {negative}"
        ));
    }
    if !model.bias.is_finite() {
        return Err(format!("the bias must be finite, got {}", model.bias));
    }
    for (k, sv) in model.support_vectors.iter().enumerate() {
        if !sv.coef.is_finite() {
            return Err(format!(
                "support vector {}: coefficient {} is not finite",
                k + 1,
                sv.coef
            ));
        }
        if sv.indices.len() != sv.values.len() {
            return Err(format!(
                "support vector {}: {} indices but {} values",
                k + 1,
                sv.indices.len(),
                sv.values.len()
            ));
        }
        if sv.indices.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!(
                "support vector {}: feature indices are not strictly increasing",
                k + 1
            ));
        }
        if let Some(v) = sv.values.iter().find(|v| !v.is_finite()) {
            return Err(format!("support vector {}: value {v} is not finite", k + 1));
        }
    }
    Ok(())
}

/// Why a model cannot be written in LIBSVM's format.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LibsvmWriteError {
    /// LIBSVM's files hold integer labels (`%d`).
    #[error("LIBSVM model files hold integer labels; label {0} is not an integer")]
    NonIntegerLabel(f64),
    /// An integer label outside C's `int` range, which LIBSVM reads labels
    /// into.
    #[error(
        "LIBSVM model files hold labels as C ints; label {0} is an integer but outside \
         LIBSVM's int range {min}..={max}",
        min = i32::MIN,
        max = i32::MAX
    )]
    LabelOutOfRange(f64),
    /// LIBSVM's files hold binary and one-vs-one models only.
    #[error("LIBSVM model files hold binary and one-vs-one models, not {0}")]
    Strategy(&'static str),
    /// The sub-models of a one-vs-one model use different kernels.
    #[error("the sub-models use different kernels, which LIBSVM's format cannot hold")]
    MixedKernels,
}

/// The model in LIBSVM's text format (see the module documentation):
/// support vectors of the positive class (`coef ≥ 0`) first, then the
/// others, each group in the model's order.
pub fn write_libsvm(model: &Model) -> Result<String, LibsvmWriteError> {
    use std::fmt::Write;
    let LabelMapping { positive, negative } = model.labels;
    check_libsvm_label(positive)?;
    check_libsvm_label(negative)?;
    let (pos, neg): (Vec<&SupportVector>, Vec<&SupportVector>) =
        model.support_vectors.iter().partition(|sv| sv.coef >= 0.0);
    // Writing to a String cannot fail: the results of writeln! are ignored.
    let mut s = libsvm_header(model.kernel);
    // `0.0 - b` rather than `-b`: no `-0` for a zero bias.
    let rho = 0.0 - model.bias;
    let _ = writeln!(s, "nr_class 2\ntotal_sv {}", pos.len() + neg.len());
    let _ = writeln!(s, "rho {rho}\nlabel {positive} {negative}");
    let _ = writeln!(s, "nr_sv {} {}\nSV", pos.len(), neg.len());
    for sv in pos.iter().chain(&neg) {
        let _ = write!(s, "{}", sv.coef);
        write_features(&mut s, &sv.indices, &sv.values);
    }
    Ok(s)
}

/// Checks that a label can be written in LIBSVM's format (an integer in
/// C's `int` range).
pub fn check_libsvm_label(label: f64) -> Result<(), LibsvmWriteError> {
    if label.fract() != 0.0 || !label.is_finite() {
        Err(LibsvmWriteError::NonIntegerLabel(label))
    } else if label < f64::from(i32::MIN) || label > f64::from(i32::MAX) {
        Err(LibsvmWriteError::LabelOutOfRange(label))
    } else {
        Ok(())
    }
}

/// ` idx:val …` (1-based indices) and the line's newline.
pub fn write_features(s: &mut String, indices: &[u32], values: &[f64]) {
    use std::fmt::Write;
    for (&k, &v) in indices.iter().zip(values) {
        let _ = write!(s, " {}:{v}", u64::from(k) + 1);
    }
    s.push('\n');
}

/// The `svm_type` and kernel lines of a LIBSVM model file.
pub fn libsvm_header(kernel: Kernel) -> String {
    use std::fmt::Write;
    // Writing to a String cannot fail: the results of writeln! are ignored.
    let mut s = String::new();
    let _ = writeln!(s, "svm_type c_svc");
    match kernel {
        Kernel::Linear => {
            let _ = writeln!(s, "kernel_type linear");
        }
        Kernel::Rbf { gamma } => {
            let _ = writeln!(s, "kernel_type rbf\ngamma {gamma}");
        }
        Kernel::Poly {
            gamma,
            coef0,
            degree,
        } => {
            let _ = writeln!(
                s,
                "kernel_type polynomial\ndegree {degree}\ngamma {gamma}\ncoef0 {coef0}"
            );
        }
        Kernel::Sigmoid { gamma, coef0 } => {
            let _ = writeln!(s, "kernel_type sigmoid\ngamma {gamma}\ncoef0 {coef0}");
        }
    }
    s
}

/// The header values read so far.
#[derive(Default)]
struct Header {
    svm_type: Option<String>,
    kernel_type: Option<String>,
    degree: Option<u32>,
    gamma: Option<f64>,
    coef0: Option<f64>,
    /// `nr_class` and its line.
    nr_class: Option<(usize, usize)>,
    total_sv: Option<usize>,
    rho: Option<Vec<f64>>,
    label: Option<Vec<f64>>,
    nr_sv: Option<Vec<usize>>,
}

/// The largest `nr_class` read: a header claiming more is refused before
/// anything is allocated for it.
pub const MAX_CLASSES: usize = 1 << 16;

/// One support-vector line of a LIBSVM model file.
#[derive(Debug, Clone, PartialEq)]
pub struct LibsvmSupportVector {
    /// The `k − 1` coefficients (see [`LibsvmFile`]).
    pub coefs: Vec<f64>,
    /// 0-based feature indices, strictly increasing (zero values dropped).
    pub indices: Vec<u32>,
    /// Feature values.
    pub values: Vec<f64>,
    /// The 1-based line it was read from.
    pub line: usize,
}

/// A LIBSVM `c_svc` model file with `k ≥ 2` classes, as read (LIBSVM's
/// one-vs-one layout, `svm.cpp`'s `svm_save_model`): the support vectors
/// are grouped by class in the order of `labels`, `nr_sv[c]` of class `c`;
/// a support vector of class `c` has `k − 1` coefficients, the one for the
/// pair of `c` with class `j` at position `j` if `j < c`, else `j − 1`;
/// `rho` holds one value per pair `(i, j)`, `i < j`, in the order
/// `(0,1), (0,2), …, (1,2), …`. For `k = 2` this is the binary file of the
/// module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct LibsvmFile {
    /// The kernel.
    pub kernel: Kernel,
    /// The class labels, `k` of them.
    pub labels: Vec<f64>,
    /// `rho` per pair, `k(k−1)/2` of them.
    pub rho: Vec<f64>,
    /// Support vectors per class (`None`: no `nr_sv` line, allowed when
    /// `k = 2`).
    pub nr_sv: Option<Vec<usize>>,
    /// The support vectors in file order.
    pub support_vectors: Vec<LibsvmSupportVector>,
    /// The largest feature index among the support vectors.
    pub max_index: usize,
    /// The line of `nr_class`.
    pub nr_class_line: usize,
}

/// Parses LIBSVM's text format with any number of classes (see
/// [`LibsvmFile`]).
pub fn parse_libsvm(text: &str, path: Option<&Path>) -> Result<LibsvmFile, ModelError> {
    let err = |line: Option<usize>, kind| ModelError::new(path, line, kind);
    let mut header = Header::default();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let mut sv_start = None;
    for (line_no, line) in lines.by_ref() {
        let at = |kind| err(Some(line_no), kind);
        let mut tokens = line.split_ascii_whitespace();
        let Some(key) = tokens.next() else { continue };
        let values: Vec<&str> = tokens.collect();
        let bad = |problem: String| {
            at(ModelErrorKind::BadValue {
                key: key.to_string(),
                problem,
            })
        };
        let one = || match values.as_slice() {
            [v] => Ok(*v),
            _ => Err(bad(format!("expected one value, got {}", values.len()))),
        };
        let finite = |v: &str| v.parse::<f64>().ok().filter(|x| x.is_finite());
        let number = || {
            let v = one()?;
            finite(v).ok_or_else(|| bad(format!("{v:?} is not a finite number")))
        };
        let count = || {
            let v = one()?;
            v.parse::<u64>()
                .map_err(|_| bad(format!("{v:?} is not a non-negative integer")))
        };
        let list = |parse: &dyn Fn(&str) -> Option<f64>, what: &str| {
            if values.is_empty() {
                return Err(bad(format!("expected {what}, got nothing")));
            }
            values
                .iter()
                .map(|v| parse(v).ok_or_else(|| bad(format!("{v:?} is not {what}"))))
                .collect::<Result<Vec<f64>, ModelError>>()
        };
        fn set<T>(
            slot: &mut Option<T>,
            v: T,
            dup: impl FnOnce() -> ModelError,
        ) -> Result<(), ModelError> {
            if slot.is_some() {
                return Err(dup());
            }
            *slot = Some(v);
            Ok(())
        }
        let dup = || at(ModelErrorKind::Duplicate(key.to_string()));
        match key {
            "svm_type" => {
                let v = one()?;
                if v != "c_svc" {
                    return Err(at(ModelErrorKind::SvmType(v.to_string())));
                }
                set(&mut header.svm_type, v.to_string(), dup)?;
            }
            "kernel_type" => {
                let v = one()?;
                if !matches!(v, "linear" | "polynomial" | "rbf" | "sigmoid") {
                    return Err(at(ModelErrorKind::KernelType(v.to_string())));
                }
                set(&mut header.kernel_type, v.to_string(), dup)?;
            }
            "degree" => {
                let d = count()?;
                let d = u32::try_from(d)
                    .ok()
                    .filter(|&d| d >= 1)
                    .ok_or_else(|| bad(format!("{d} is not a degree of at least 1")))?;
                set(&mut header.degree, d, dup)?;
            }
            "gamma" => set(&mut header.gamma, number()?, dup)?,
            "coef0" => set(&mut header.coef0, number()?, dup)?,
            "nr_class" => {
                let n = count()?;
                let n = usize::try_from(n)
                    .ok()
                    .filter(|n| (2..=MAX_CLASSES).contains(n))
                    .ok_or_else(|| bad(format!("{n} is not a class count in 2..={MAX_CLASSES}")))?;
                set(&mut header.nr_class, (n, line_no), dup)?;
            }
            "total_sv" => {
                let n = count()?;
                let n = usize::try_from(n).map_err(|_| bad(format!("{n} is too large")))?;
                set(&mut header.total_sv, n, dup)?;
            }
            "rho" => set(&mut header.rho, list(&finite, "a finite number")?, dup)?,
            "label" => {
                let l = list(&finite, "a finite number")?;
                // Sorted, so that a long line costs O(k log k), not O(k²).
                let mut sorted = l.clone();
                sorted.sort_by(f64::total_cmp);
                if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                    return Err(bad(format!("label {} is given twice", w[0])));
                }
                set(&mut header.label, l, dup)?;
            }
            "nr_sv" => {
                let n = list(&|v| v.parse::<u32>().ok().map(f64::from), "a count")?;
                set(
                    &mut header.nr_sv,
                    n.iter().map(|&x| x as usize).collect(),
                    dup,
                )?;
            }
            "probA" | "probB" | "prob_density_marks" => {}
            "SV" => {
                if !values.is_empty() {
                    return Err(bad("expected nothing after SV".into()));
                }
                sv_start = Some(line_no);
                break;
            }
            other => return Err(at(ModelErrorKind::UnknownKey(other.to_string()))),
        }
    }

    let Some(sv_line) = sv_start else {
        return Err(err(None, ModelErrorKind::Missing("SV")));
    };
    let header_err = |kind| err(Some(sv_line), kind);
    let missing = |what| header_err(ModelErrorKind::Missing(what));
    header
        .svm_type
        .as_ref()
        .ok_or_else(|| missing("svm_type"))?;
    let kernel_type = header
        .kernel_type
        .clone()
        .ok_or_else(|| missing("kernel_type"))?;
    let (k, nr_class_line) = header.nr_class.ok_or_else(|| missing("nr_class"))?;
    let total_sv = header.total_sv.ok_or_else(|| missing("total_sv"))?;
    let rho = header.rho.take().ok_or_else(|| missing("rho"))?;
    let labels = header.label.take().ok_or_else(|| missing("label"))?;
    let gamma = || header.gamma.ok_or_else(|| missing("gamma"));
    let coef0 = || header.coef0.ok_or_else(|| missing("coef0"));
    let kernel = match kernel_type.as_str() {
        "linear" => Kernel::Linear,
        "rbf" => Kernel::Rbf { gamma: gamma()? },
        "polynomial" => Kernel::Poly {
            gamma: gamma()?,
            coef0: coef0()?,
            degree: header.degree.ok_or_else(|| missing("degree"))?,
        },
        _ => Kernel::Sigmoid {
            gamma: gamma()?,
            coef0: coef0()?,
        },
    };
    let inconsistent = |m: String| header_err(ModelErrorKind::Inconsistent(m));
    kernel.validate().map_err(inconsistent)?;
    if labels.len() != k {
        return Err(inconsistent(format!(
            "nr_class {k} but {} labels",
            labels.len()
        )));
    }
    if rho.len() != k * (k - 1) / 2 {
        return Err(inconsistent(format!(
            "nr_class {k} needs {} rho values (one per pair of classes), got {}",
            k * (k - 1) / 2,
            rho.len()
        )));
    }
    match &header.nr_sv {
        Some(n) if n.len() != k => {
            return Err(inconsistent(format!(
                "nr_class {k} but {} nr_sv values",
                n.len()
            )))
        }
        Some(n) if n.iter().try_fold(0usize, |a, &b| a.checked_add(b)) != Some(total_sv) => {
            let n: Vec<String> = n.iter().map(|x| x.to_string()).collect();
            return Err(inconsistent(format!(
                "nr_sv {} does not add up to total_sv {total_sv}",
                n.join(" ")
            )));
        }
        None if k > 2 => return Err(missing("nr_sv")),
        _ => {}
    }

    // `total_sv` is a number from the file: the capacity is also bounded by
    // the lines left, so that a header claiming 10^12 vectors allocates
    // nothing beyond what the file holds.
    let lines_left = text.bytes().filter(|&b| b == b'\n').count() + 1;
    let capacity = total_sv.min(lines_left);
    let mut support_vectors = Vec::with_capacity(capacity);
    let mut max_index = 0usize;
    for (line_no, line) in lines {
        let mut tokens = line.split_ascii_whitespace().peekable();
        if tokens.peek().is_none() {
            continue;
        }
        let at = |m: String| err(Some(line_no), ModelErrorKind::BadSupportVector(m));
        if support_vectors.len() == total_sv {
            return Err(err(Some(line_no), ModelErrorKind::TrailingContent));
        }
        let mut coefs = Vec::with_capacity(k - 1);
        for _ in 0..k - 1 {
            let Some(text) = tokens.next() else {
                return Err(at(format!(
                    "expected {} coefficients, got {}",
                    k - 1,
                    coefs.len()
                )));
            };
            let coef = text
                .parse::<f64>()
                .ok()
                .filter(|c| c.is_finite())
                .ok_or_else(|| at(format!("coefficient {text:?} is not a finite number")))?;
            coefs.push(coef);
        }
        let mut indices = Vec::new();
        let mut values = Vec::new();
        let mut previous = 0usize;
        for token in tokens {
            let (i, v) = token
                .split_once(':')
                .ok_or_else(|| at(format!("expected index:value, got {token:?}")))?;
            let index = i
                .parse::<usize>()
                .ok()
                .filter(|&i| (1..=MAX_FEATURE_INDEX).contains(&i))
                .ok_or_else(|| {
                    at(format!(
                        "feature index {i:?} is not an integer in 1..={MAX_FEATURE_INDEX}"
                    ))
                })?;
            if index <= previous {
                return Err(at(format!(
                    "feature index {index} after {previous}: indices must be strictly increasing"
                )));
            }
            previous = index;
            let value = v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    at(format!(
                        "value {v:?} of feature {index} is not a finite number"
                    ))
                })?;
            if value != 0.0 {
                indices.push((index - 1) as u32);
                values.push(value);
            }
        }
        max_index = max_index.max(previous);
        support_vectors.push(LibsvmSupportVector {
            coefs,
            indices,
            values,
            line: line_no,
        });
    }
    if support_vectors.len() < total_sv {
        return Err(err(
            None,
            ModelErrorKind::Truncated {
                expected: total_sv,
                got: support_vectors.len(),
            },
        ));
    }
    Ok(LibsvmFile {
        kernel,
        labels,
        rho,
        nr_sv: header.nr_sv,
        support_vectors,
        max_index,
        nr_class_line,
    })
}

/// Parses a binary LIBSVM model (see the module documentation); a file
/// with more classes is refused ([`ModelErrorKind::Classes`]; read it with
/// [`crate::multiclass::parse_any_bytes`]).
pub fn read_libsvm(text: &str, path: Option<&Path>) -> Result<LoadedModel, ModelError> {
    binary_from_libsvm(parse_libsvm(text, path)?, path)
}

/// The binary model of a parsed LIBSVM file; a file with more classes is
/// refused ([`ModelErrorKind::Classes`]).
pub fn binary_from_libsvm(
    file: LibsvmFile,
    path: Option<&Path>,
) -> Result<LoadedModel, ModelError> {
    if file.labels.len() != 2 {
        return Err(ModelError::new(
            path,
            Some(file.nr_class_line),
            ModelErrorKind::Classes(file.labels.len() as u64),
        ));
    }
    let sv_lines = file.support_vectors.iter().map(|sv| sv.line).collect();
    let support_vectors = file
        .support_vectors
        .into_iter()
        .map(|sv| SupportVector {
            index: None,
            coef: sv.coefs[0],
            indices: sv.indices,
            values: sv.values,
        })
        .collect();
    Ok(LoadedModel {
        model: Model {
            schema_version: MODEL_SCHEMA_VERSION,
            formulation: None,
            kernel: file.kernel,
            labels: LabelMapping {
                positive: file.labels[0],
                negative: file.labels[1],
            },
            n_features: file.max_index,
            bias: 0.0 - file.rho[0],
            support_vectors,
        },
        format: ModelFormat::Libsvm,
        sv_lines: Some(sv_lines),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formulation::Formulation;

    fn model() -> Model {
        Model {
            schema_version: MODEL_SCHEMA_VERSION,
            formulation: Some(Formulation::default()),
            kernel: Kernel::Poly {
                gamma: 0.1,
                coef0: 0.3,
                degree: 2,
            },
            labels: LabelMapping {
                positive: 2.0,
                negative: -7.0,
            },
            n_features: 4,
            bias: -0.1,
            support_vectors: vec![
                SupportVector {
                    index: Some(3),
                    coef: -0.25,
                    indices: vec![0, 3],
                    values: vec![1.0 / 3.0, -2.0],
                },
                SupportVector {
                    index: Some(5),
                    coef: 1.0,
                    indices: vec![1],
                    values: vec![1e-300],
                },
            ],
        }
    }

    #[test]
    fn libsvm_text_round_trips_exactly() {
        let m = model();
        let text = write_libsvm(&m).unwrap();
        assert!(text.contains("kernel_type polynomial\ndegree 2\ngamma 0.1\ncoef0 0.3\n"));
        assert!(
            text.contains("rho 0.1\nlabel 2 -7\nnr_sv 1 1\nSV\n1 2:"),
            "{text}"
        );
        let back = read_libsvm(&text, None).unwrap();
        assert_eq!(back.sv_lines, Some(vec![12, 13]));
        let b = back.model;
        assert_eq!(b.formulation, None);
        assert_eq!((b.kernel, b.labels, b.bias), (m.kernel, m.labels, m.bias));
        // Grouped by class: the positive coefficient first.
        assert_eq!(b.support_vectors[0].coef, 1.0);
        assert_eq!(b.support_vectors[0].values, vec![1e-300]);
        assert_eq!(b.support_vectors[1].values, m.support_vectors[0].values);
        assert_eq!(b.support_vectors[1].indices, vec![0, 3]);
        assert_eq!(b.n_features, 4);
        assert_eq!(write_libsvm(&b).unwrap(), text);
    }

    #[test]
    fn zero_bias_is_written_without_sign() {
        let mut m = model();
        m.bias = 0.0;
        assert!(write_libsvm(&m).unwrap().contains("\nrho 0\n"));
    }

    #[test]
    fn non_integer_labels_are_refused() {
        let mut m = model();
        m.labels.negative = 0.5;
        assert_eq!(
            write_libsvm(&m),
            Err(LibsvmWriteError::NonIntegerLabel(0.5))
        );
    }

    #[test]
    fn integer_labels_outside_int_are_refused_as_such() {
        assert_eq!(check_libsvm_label(-2_147_483_648.0), Ok(()));
        assert_eq!(check_libsvm_label(2_147_483_647.0), Ok(()));
        for big in [3_000_000_000.0, -3_000_000_000.0, 2_147_483_648.0] {
            let e = check_libsvm_label(big).unwrap_err();
            assert_eq!(e, LibsvmWriteError::LabelOutOfRange(big));
            let text = e.to_string();
            assert!(
                text.contains("is an integer") && text.contains("2147483647"),
                "{text}"
            );
        }
        let mut m = model();
        m.labels.positive = 3_000_000_000.0;
        assert_eq!(
            write_libsvm(&m),
            Err(LibsvmWriteError::LabelOutOfRange(3_000_000_000.0))
        );
        assert_eq!(
            check_libsvm_label(f64::INFINITY),
            Err(LibsvmWriteError::NonIntegerLabel(f64::INFINITY))
        );
    }

    #[test]
    fn json_round_trips_and_checks_the_version() {
        let m = model();
        let text = write_json(&m).unwrap();
        assert_eq!(ModelFormat::detect(text.as_bytes()), ModelFormat::Json);
        assert_eq!(read_json(&text, None).unwrap(), m);
        let other = text.replace("\"schema_version\": 1", "\"schema_version\": 9");
        let e = read_json(&other, Some(Path::new("m.json"))).unwrap_err();
        assert_eq!(e.kind, ModelErrorKind::SchemaVersion { found: Some(9) });
        assert!(
            e.to_string()
                .starts_with("m.json: JSON model schema_version 9"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let text = write_libsvm(&model()).unwrap();
        let e =
            read_libsvm(&text.replace("polynomial", "cubic"), Some(Path::new("m"))).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(
            e.to_string().starts_with("m:2: unknown kernel_type cubic"),
            "{e}"
        );
        let e = read_libsvm(&text.replace("\n1 2:", "\nx 2:"), None).unwrap_err();
        assert_eq!(e.line, Some(12));
        let e = read_libsvm(&text.replace("nr_class 2", "nr_class 3"), None).unwrap_err();
        assert_eq!(
            e.kind,
            ModelErrorKind::Inconsistent("nr_class 3 but 2 labels".into())
        );
        let e = read_libsvm(&text.replace("nr_class 2", "nr_class 99999999"), None).unwrap_err();
        assert_eq!(e.line, Some(6));
        assert!(e.to_string().contains("class count"), "{e}");
    }
}
