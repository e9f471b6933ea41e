//! Typed errors for bad input, each naming the file, line and column.

use std::fmt;
use std::path::PathBuf;

/// What is wrong with the input.
#[derive(Debug, Clone, PartialEq)]
pub enum DataErrorKind {
    /// The file could not be read.
    Io(String),
    /// The file holds no samples.
    Empty,
    /// A line has no label.
    MissingLabel,
    /// A label or value is not a number.
    NotANumber(String),
    /// A label or value is NaN or infinite.
    NotFinite(String),
    /// A LIBSVM `index:value` pair is malformed.
    BadPair(String),
    /// A feature index of 0 (LIBSVM indices are 1-based).
    IndexZero,
    /// A feature index not larger than the one before it on the line.
    NonIncreasingIndex {
        /// The previous index.
        previous: usize,
        /// This index.
        index: usize,
    },
    /// A feature index above [`super::MAX_FEATURE_INDEX`].
    IndexTooLarge(usize),
    /// A CSV row with another number of fields than the first row.
    FieldCount {
        /// Fields expected.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// The CSV label column does not exist.
    NoSuchColumn(usize),
    /// Under `--csv-header auto`, a first row that mixes numbers and text:
    /// neither a header (all text) nor a sample (all numbers). Holds the
    /// first field that is not a number.
    MixedFirstRow(String),
    /// Under `--csv-header auto`, the first row was taken as a header and
    /// the first sample has another number of fields.
    HeaderFieldCount {
        /// Fields in the header.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// Only one distinct label where two are needed.
    SingleClass(f64),
    /// More than two distinct labels for a binary problem.
    TooManyClasses(usize),
    /// Features and labels (or other parts) do not fit together.
    Shape(String),
    /// The file needs more memory than is available (refused before
    /// allocating, see [`super::memory`]).
    TooLarge(super::MemoryShortfall),
}

impl fmt::Display for DataErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            DataErrorKind::Empty => write!(f, "no samples: the file is empty"),
            DataErrorKind::MissingLabel => write!(f, "missing label"),
            DataErrorKind::NotANumber(t) => write!(f, "not a number: {t:?}"),
            DataErrorKind::NotFinite(t) => write!(f, "value is not finite (NaN or infinity): {t:?}"),
            DataErrorKind::BadPair(t) => write!(f, "expected index:value, found {t:?}"),
            DataErrorKind::IndexZero => write!(f, "feature index 0 (indices start at 1)"),
            DataErrorKind::NonIncreasingIndex { previous, index } => write!(
                f,
                "feature index {index} is not larger than the previous index {previous} (indices must be strictly increasing)"
            ),
            DataErrorKind::IndexTooLarge(i) => write!(
                f,
                "feature index {i} is above the limit {}",
                super::MAX_FEATURE_INDEX
            ),
            DataErrorKind::FieldCount { expected, found } => {
                write!(f, "expected {expected} fields, found {found}")
            }
            DataErrorKind::NoSuchColumn(c) => write!(f, "label column {c} does not exist"),
            DataErrorKind::MixedFirstRow(t) => write!(
                f,
                "the first row mixes numbers and text ({t:?} is not a number), so it is \
                 neither a header nor a sample; if it is a header, pass --csv-header yes"
            ),
            DataErrorKind::HeaderFieldCount { expected, found } => write!(
                f,
                "expected {expected} fields as in the first row, taken as a header \
                 (--csv-header auto: none of its fields is a number), found {found}; \
                 comment lines are not supported"
            ),
            DataErrorKind::SingleClass(l) => {
                write!(f, "only one class (label {l}): a binary SVM needs two")
            }
            DataErrorKind::TooManyClasses(k) => {
                write!(f, "{k} distinct labels: a binary SVM needs exactly two")
            }
            DataErrorKind::Shape(s) => write!(f, "{s}"),
            DataErrorKind::TooLarge(m) => write!(f, "{m}"),
        }
    }
}

/// Bad input: where (file, 1-based line and column, when known) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    /// The file, when the data came from one.
    pub path: Option<PathBuf>,
    /// 1-based line number.
    pub line: Option<usize>,
    /// 1-based column (character position) of the offending token.
    pub column: Option<usize>,
    /// What is wrong.
    pub kind: DataErrorKind,
}

impl DataError {
    /// An error at `path`, `line` (1-based).
    pub fn new(path: Option<PathBuf>, line: Option<usize>, kind: DataErrorKind) -> Self {
        Self {
            path,
            line,
            column: None,
            kind,
        }
    }

    /// The same error at a 1-based column.
    pub fn at_column(mut self, column: usize) -> Self {
        self.column = Some(column);
        self
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Data built in memory (no file) names no file: the caller says
        // what the data is (e.g. a fold), no placeholder does.
        match (&self.path, self.line) {
            (Some(p), _) => write!(f, "{}", p.display())?,
            (None, Some(_)) => write!(f, "line ")?,
            (None, None) => return write!(f, "{}", self.kind),
        }
        if let Some(l) = self.line {
            if self.path.is_some() {
                write!(f, ":")?;
            }
            write!(f, "{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for DataError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_without_a_file_name_no_placeholder() {
        let e = DataError::new(None, None, DataErrorKind::SingleClass(1.0));
        assert_eq!(
            e.to_string(),
            "only one class (label 1): a binary SVM needs two"
        );
        let e = DataError::new(None, Some(3), DataErrorKind::MissingLabel).at_column(2);
        assert_eq!(e.to_string(), "line 3:2: missing label");
        let e = DataError::new(Some("d.txt".into()), Some(3), DataErrorKind::MissingLabel);
        assert_eq!(e.to_string(), "d.txt:3: missing label");
    }
}
