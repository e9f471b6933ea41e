//! Training data: feature rows (sparse CSR or dense), raw labels, and the
//! mapping of two labels to ±1.
//!
//! Readers: [`libsvm`] (the LIBSVM sparse text format) and [`csv`]. Both
//! produce a [`Dataset`]; features are stored in CSR and switched to dense
//! rows when the density makes dense kernel evaluation faster
//! ([`Features::compact`]).

pub mod csv;
mod error;
pub mod libsvm;
pub mod memory;

pub use csv::{CsvOptions, Header};
pub use error::{DataError, DataErrorKind};
pub use memory::{MemoryLimit, MemoryShortfall};

use std::path::{Path, PathBuf};

/// Feature indices above this are refused as a format error (LIBSVM files
/// use 1-based indices; a stray huge index would allocate a huge dense `w`).
pub const MAX_FEATURE_INDEX: usize = 1 << 26;

/// Rows stored in compressed sparse row form, 0-based column indices strictly
/// increasing within a row, zeros not stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparseRows {
    /// Row `i` occupies `indptr[i]..indptr[i + 1]` of `indices` and `values`.
    pub indptr: Vec<usize>,
    /// Column indices (0-based).
    pub indices: Vec<u32>,
    /// Values.
    pub values: Vec<f64>,
    /// Number of columns (at least one more than the largest index).
    pub n_cols: usize,
}

/// Rows stored densely, row-major.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DenseRows {
    /// `n_rows × n_cols` values, row-major.
    pub values: Vec<f64>,
    /// Number of rows.
    pub n_rows: usize,
    /// Number of columns.
    pub n_cols: usize,
}

/// One row of a feature matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Row<'a> {
    /// Sparse: 0-based indices (strictly increasing) and values.
    Sparse {
        /// Column indices.
        indices: &'a [u32],
        /// Values.
        values: &'a [f64],
    },
    /// Dense: every column.
    Dense(&'a [f64]),
}

impl Row<'_> {
    /// `Σ xₖ²`.
    pub fn squared_norm(&self) -> f64 {
        match self {
            Row::Sparse { values, .. } => values.iter().map(|v| v * v).sum(),
            Row::Dense(v) => v.iter().map(|v| v * v).sum(),
        }
    }

    /// Adds this row into the dense vector `out` (length ≥ n_cols).
    pub fn scatter_into(&self, out: &mut [f64]) {
        match self {
            Row::Sparse { indices, values } => {
                for (&k, &v) in indices.iter().zip(values.iter()) {
                    out[k as usize] += v;
                }
            }
            Row::Dense(v) => out[..v.len()]
                .iter_mut()
                .zip(v.iter())
                .for_each(|(o, x)| *o += x),
        }
    }

    /// Sets the entries this row touched in `out` back to zero (undoes
    /// [`Row::scatter_into`] on a zero vector without an O(d) clear).
    pub fn clear_from(&self, out: &mut [f64]) {
        match self {
            Row::Sparse { indices, .. } => indices.iter().for_each(|&k| out[k as usize] = 0.0),
            Row::Dense(v) => out[..v.len()].iter_mut().for_each(|o| *o = 0.0),
        }
    }

    /// `⟨self, dense⟩` where `dense` has length ≥ n_cols.
    pub fn dot_dense(&self, dense: &[f64]) -> f64 {
        match self {
            Row::Sparse { indices, values } => indices
                .iter()
                .zip(values.iter())
                .map(|(&k, &v)| v * dense[k as usize])
                .sum(),
            Row::Dense(v) => v.iter().zip(dense).map(|(a, b)| a * b).sum(),
        }
    }

    /// `⟨self, other⟩` (sparse–sparse by merging indices).
    pub fn dot(&self, other: &Row<'_>) -> f64 {
        match (self, other) {
            (Row::Dense(a), Row::Dense(b)) => a.iter().zip(b.iter()).map(|(x, y)| x * y).sum(),
            (Row::Dense(a), s @ Row::Sparse { .. }) | (s @ Row::Sparse { .. }, Row::Dense(a)) => {
                match s {
                    Row::Sparse { indices, values } => indices
                        .iter()
                        .zip(values.iter())
                        .filter(|(&k, _)| (k as usize) < a.len())
                        .map(|(&k, &v)| v * a[k as usize])
                        .sum(),
                    Row::Dense(_) => unreachable!("matched as sparse"),
                }
            }
            (
                Row::Sparse {
                    indices: ia,
                    values: va,
                },
                Row::Sparse {
                    indices: ib,
                    values: vb,
                },
            ) => {
                let (mut p, mut q, mut sum) = (0, 0, 0.0);
                while p < ia.len() && q < ib.len() {
                    match ia[p].cmp(&ib[q]) {
                        std::cmp::Ordering::Less => p += 1,
                        std::cmp::Ordering::Greater => q += 1,
                        std::cmp::Ordering::Equal => {
                            sum += va[p] * vb[q];
                            p += 1;
                            q += 1;
                        }
                    }
                }
                sum
            }
        }
    }
}

/// A feature matrix, one row per sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    /// Compressed sparse rows.
    Sparse(SparseRows),
    /// Dense row-major storage.
    Dense(DenseRows),
}

impl Features {
    /// Number of rows (samples).
    pub fn n_rows(&self) -> usize {
        match self {
            Features::Sparse(s) => s.indptr.len().saturating_sub(1),
            Features::Dense(d) => d.n_rows,
        }
    }

    /// Number of columns (features).
    pub fn n_cols(&self) -> usize {
        match self {
            Features::Sparse(s) => s.n_cols,
            Features::Dense(d) => d.n_cols,
        }
    }

    /// Number of stored non-zeros (for dense storage: the non-zero values).
    pub fn nnz(&self) -> usize {
        match self {
            Features::Sparse(s) => s.values.len(),
            Features::Dense(d) => d.values.iter().filter(|v| **v != 0.0).count(),
        }
    }

    /// Stored entries: non-zeros for sparse storage, every cell for dense
    /// storage (O(1), unlike [`Features::nnz`]).
    pub fn nnz_hint(&self) -> usize {
        match self {
            Features::Sparse(s) => s.values.len(),
            Features::Dense(d) => d.values.len(),
        }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> Row<'_> {
        match self {
            Features::Sparse(s) => {
                let r = s.indptr[i]..s.indptr[i + 1];
                Row::Sparse {
                    indices: &s.indices[r.clone()],
                    values: &s.values[r],
                }
            }
            Features::Dense(d) => Row::Dense(&d.values[i * d.n_cols..(i + 1) * d.n_cols]),
        }
    }

    /// Builds sparse features from rows of `(0-based index, value)` pairs
    /// (indices strictly increasing within a row; zeros are dropped).
    pub fn from_sparse_rows(rows: &[Vec<(u32, f64)>], n_cols: usize) -> Self {
        let mut s = SparseRows {
            indptr: vec![0],
            n_cols,
            ..Default::default()
        };
        for row in rows {
            for &(k, v) in row {
                if v != 0.0 {
                    s.indices.push(k);
                    s.values.push(v);
                }
            }
            s.indptr.push(s.indices.len());
        }
        Features::Sparse(s)
    }

    /// Builds dense features from a row-major slice.
    pub fn from_dense(values: Vec<f64>, n_rows: usize, n_cols: usize) -> Self {
        assert_eq!(
            values.len(),
            n_rows * n_cols,
            "dense features need n_rows × n_cols values"
        );
        Features::Dense(DenseRows {
            values,
            n_rows,
            n_cols,
        })
    }

    /// Widens the column count (e.g. to match a training set); never narrows.
    pub fn set_n_cols(&mut self, n_cols: usize) {
        match self {
            Features::Sparse(s) => s.n_cols = s.n_cols.max(n_cols),
            Features::Dense(d) if n_cols > d.n_cols => {
                let mut v = vec![0.0; d.n_rows * n_cols];
                for i in 0..d.n_rows {
                    v[i * n_cols..i * n_cols + d.n_cols]
                        .copy_from_slice(&d.values[i * d.n_cols..(i + 1) * d.n_cols]);
                }
                *d = DenseRows {
                    values: v,
                    n_rows: d.n_rows,
                    n_cols,
                };
            }
            Features::Dense(_) => {}
        }
    }

    /// Switches sparse storage to dense when at least 40 % of the entries are
    /// non-zero and the dense matrix takes at most 1 GiB: a dense dot product
    /// then costs less than the index gathers of a sparse one.
    pub fn compact(self) -> Self {
        match self {
            Features::Sparse(s) => {
                let n = s.indptr.len().saturating_sub(1);
                let cells = n.saturating_mul(s.n_cols);
                if cells > 0 && cells <= (1 << 27) && s.values.len() * 10 >= cells * 4 {
                    let mut values = solvers::memory::with_capacity_huge(cells);
                    values.resize(cells, 0.0);
                    for i in 0..n {
                        for p in s.indptr[i]..s.indptr[i + 1] {
                            values[i * s.n_cols + s.indices[p] as usize] = s.values[p];
                        }
                    }
                    Features::Dense(DenseRows {
                        values,
                        n_rows: n,
                        n_cols: s.n_cols,
                    })
                } else {
                    Features::Sparse(s)
                }
            }
            dense => dense,
        }
    }
}

/// Where a dataset was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The path as given.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub sha256: String,
}

/// Samples with their raw labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Feature rows.
    pub features: Features,
    /// The label of each row, as written in the file (parsed as a number).
    pub labels: Vec<f64>,
    /// The file it came from, if any.
    pub source: Option<Source>,
}

/// Two labels mapped to ±1, LIBSVM's way: the first label seen is `+1`,
/// except that labels `+1` and `−1` keep their sign (LIBSVM ≥ 3.18 swaps
/// its first two classes in that case, so `svm-train` on a file starting
/// with a `−1` row still calls `+1` the positive class).
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryLabels {
    /// The raw label mapped to `+1`.
    pub positive: f64,
    /// The raw label mapped to `−1`.
    pub negative: f64,
    /// `yᵢ ∈ {+1, −1}` for every row.
    pub y: Vec<f64>,
}

impl Dataset {
    /// Builds a dataset from features and labels held in memory.
    pub fn new(features: Features, labels: Vec<f64>) -> Result<Self, DataError> {
        if features.n_rows() != labels.len() {
            return Err(DataError::new(
                None,
                None,
                DataErrorKind::Shape(format!(
                    "{} feature rows but {} labels",
                    features.n_rows(),
                    labels.len()
                )),
            ));
        }
        if features.n_rows() == 0 {
            return Err(DataError::new(None, None, DataErrorKind::Empty));
        }
        Ok(Self {
            features,
            labels,
            source: None,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// How many of `predicted` (raw labels, one per row) equal the rows'
    /// labels.
    pub fn count_correct(&self, predicted: &[f64]) -> usize {
        predicted
            .iter()
            .zip(&self.labels)
            .filter(|(p, l)| p == l)
            .count()
    }

    /// The distinct labels (compared with `==`, so `-0` is `0`) in order of
    /// first appearance. O(n) expected time whatever the number of distinct
    /// labels (a hash set, not a scan of the classes seen).
    pub fn classes(&self) -> Vec<f64> {
        let mut seen: Vec<f64> = Vec::new();
        let mut bits = std::collections::HashSet::new();
        for &l in &self.labels {
            // `0.0 + l` maps -0 to +0; labels are finite, so no NaN.
            if bits.insert((0.0 + l).to_bits()) {
                seen.push(l);
            }
        }
        seen
    }

    /// Maps exactly two distinct labels to ±1 (see [`BinaryLabels`] for
    /// which is `+1`). One class or more than two is an error naming the
    /// file.
    pub fn binary_labels(&self) -> Result<BinaryLabels, DataError> {
        let mut classes = self.classes();
        if classes == [-1.0, 1.0] {
            classes.swap(0, 1);
        }
        let path = self.source.as_ref().map(|s| s.path.clone());
        match classes.as_slice() {
            [pos, neg] => Ok(BinaryLabels {
                positive: *pos,
                negative: *neg,
                y: self
                    .labels
                    .iter()
                    .map(|&l| if l == *pos { 1.0 } else { -1.0 })
                    .collect(),
            }),
            [only] => Err(DataError::new(
                path,
                None,
                DataErrorKind::SingleClass(*only),
            )),
            _ => Err(DataError::new(
                path,
                None,
                DataErrorKind::TooManyClasses(classes.len()),
            )),
        }
    }
}

/// The text format of a data file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Format {
    /// LIBSVM sparse text (`label idx:val …`), see [`libsvm`].
    #[default]
    Libsvm,
    /// Delimited text, one sample a row, see [`csv`].
    Csv(CsvOptions),
}

impl Format {
    /// Guesses the format from the file name: `.csv` (any case) is CSV with
    /// default options, `.tsv` is CSV with a tab delimiter, anything else is
    /// LIBSVM.
    pub fn from_extension(path: &Path) -> Self {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Format::Csv(CsvOptions::default()),
            Some("tsv") => Format::Csv(CsvOptions {
                delimiter: b'\t',
                ..CsvOptions::default()
            }),
            _ => Format::Libsvm,
        }
    }
}

/// Reads a data file in the given format (see [`libsvm::read_path`] and
/// [`csv::read_path`]), refusing a file too large for the memory the system
/// reports available ([`MemoryLimit::System`]).
pub fn read_path(path: &Path, format: &Format) -> Result<Dataset, DataError> {
    read_path_with(path, format, MemoryLimit::System)
}

/// [`read_path`] with the memory figure given by `limit` (see
/// [`memory`]).
pub fn read_path_with(
    path: &Path,
    format: &Format,
    limit: MemoryLimit,
) -> Result<Dataset, DataError> {
    match format {
        Format::Libsvm => libsvm::read_path_with(path, limit),
        Format::Csv(options) => csv::read_path_with(path, options, limit),
    }
}

/// A whole file read after checking that its size fits in the memory
/// `limit` allows, with that figure (for the reader's second check, on its
/// estimate of the parsed size).
pub(crate) struct FileBytes {
    /// The file's content.
    pub bytes: Vec<u8>,
    /// The available memory figure in force (`None`: no check).
    pub available: Option<u64>,
}

impl FileBytes {
    /// Refuses the file when the bytes plus `structures` (the reader's
    /// estimate of its parsed structures) exceed the available memory.
    pub fn check_parsed_size(&self, path: &Path, structures: u64) -> Result<(), DataError> {
        let file = self.bytes.len() as u64;
        MemoryShortfall::check(file, file.saturating_add(structures), self.available)
            .map_err(|m| DataError::new(Some(path.to_path_buf()), None, DataErrorKind::TooLarge(m)))
    }
}

/// Reads a whole file, mapping a failure to [`DataErrorKind::Io`] naming it
/// and a file larger than the available memory to
/// [`DataErrorKind::TooLarge`] (before reading it).
pub(crate) fn read_file(path: &Path, limit: MemoryLimit) -> Result<FileBytes, DataError> {
    let available = limit.available_bytes();
    if let Some(size) = memory::file_size(path) {
        MemoryShortfall::check(size, size, available).map_err(|m| {
            DataError::new(Some(path.to_path_buf()), None, DataErrorKind::TooLarge(m))
        })?;
    }
    let bytes = std::fs::read(path).map_err(|e| {
        DataError::new(
            Some(path.to_path_buf()),
            None,
            DataErrorKind::Io(e.to_string()),
        )
    })?;
    Ok(FileBytes { bytes, available })
}

impl Source {
    /// The source record of `bytes` read from `path` (SHA-256 in lower-case
    /// hex).
    pub fn of_bytes(path: &Path, bytes: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        use std::fmt::Write;
        let digest = Sha256::digest(bytes);
        let mut sha256 = String::with_capacity(64);
        for b in digest.iter() {
            // Writing to a String cannot fail.
            let _ = write!(sha256, "{b:02x}");
        }
        Self {
            path: path.to_path_buf(),
            sha256,
        }
    }
}

/// 1-based character column of byte offset `offset` in `line` (counts UTF-8
/// lead bytes, so multi-byte characters count once).
pub(crate) fn char_column(line: &[u8], offset: usize) -> usize {
    line[..offset.min(line.len())]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count()
        + 1
}

/// Parses a finite number from a token. `Err` holds the kind: not a number
/// (text not parseable as `f64`) or not finite (NaN, infinity, overflow).
pub(crate) fn parse_finite(token: &[u8]) -> Result<f64, DataErrorKind> {
    // Fast path for short unsigned integers (binary features such as `1`):
    // below 10^15 < 2^53 every integer is an exact f64.
    if !token.is_empty() && token.len() <= 15 && token.iter().all(u8::is_ascii_digit) {
        let n = token
            .iter()
            .fold(0u64, |acc, &b| acc * 10 + u64::from(b - b'0'));
        return Ok(n as f64);
    }
    let text = std::str::from_utf8(token)
        .map_err(|_| DataErrorKind::NotANumber(String::from_utf8_lossy(token).into_owned()))?;
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(DataErrorKind::NotFinite(text.to_owned())),
        Err(_) => Err(DataErrorKind::NotANumber(text.to_owned())),
    }
}
