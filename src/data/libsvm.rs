//! Reader for the LIBSVM sparse text format.
//!
//! One sample a line: `label idx:val idx:val …` with 1-based, strictly
//! increasing feature indices (stored 0-based). `#` starts a comment (a whole
//! line or the rest of one); blank lines are skipped; tokens are separated by
//! any run of spaces or tabs; CRLF line ends, trailing blanks, a UTF-8 byte
//! order mark and a missing final newline are accepted. Labels are numbers as
//! written (`+1`, `-1`, `2.000000`, `0`). Zero values are checked like any
//! other but not stored; the column count is the largest index written.
//!
//! The whole file is read at once and parsed from bytes without a string per
//! line. Every error names the file, the 1-based line and the 1-based column
//! (character position) of the offending token.

use solvers::memory::with_capacity_huge;
use std::path::Path;

use super::{
    char_column, memory, parse_finite, read_file, DataError, DataErrorKind, Dataset, Features,
    MemoryLimit, Source, SparseRows, MAX_FEATURE_INDEX,
};

/// Reads a LIBSVM file: parses it ([`parse_bytes`]) and records its path and
/// SHA-256 in [`Dataset::source`]. A file too large for the memory the
/// system reports available is refused before it is read or parsed
/// ([`read_path_with`]).
pub fn read_path(path: &Path) -> Result<Dataset, DataError> {
    read_path_with(path, MemoryLimit::System)
}

/// [`read_path`] with the memory figure given by `limit`: the file size,
/// then the file plus [`estimated_parsed_bytes`], must fit (see
/// [`super::memory`]).
pub fn read_path_with(path: &Path, limit: MemoryLimit) -> Result<Dataset, DataError> {
    let file = read_file(path, limit)?;
    let counts = Counts::of(&file.bytes);
    file.check_parsed_size(path, counts.parsed_bytes())?;
    let mut data = parse_counted(&file.bytes, Some(path), counts)?;
    data.source = Some(Source::of_bytes(path, &file.bytes));
    Ok(data)
}

/// The estimated peak memory, in bytes, of the structures parsed from
/// LIBSVM text `bytes` (the bytes themselves not included): 12 bytes per
/// `:` (a `u32` index and an `f64` value), 16 per line (a row pointer and a
/// label), and the dense copy [`Features::compact`] may make (at most 20
/// bytes per pair, since it needs 40 % density, and at most 1 GiB).
pub fn estimated_parsed_bytes(bytes: &[u8]) -> u64 {
    Counts::of(bytes).parsed_bytes()
}

/// Separator counts: capacities of the CSR arrays and the memory estimate.
#[derive(Debug, Clone, Copy)]
struct Counts {
    /// `:` bytes: at least the number of pairs.
    colons: u64,
    /// Line ends plus one: at least the number of samples.
    lines: u64,
}

impl Counts {
    fn of(bytes: &[u8]) -> Self {
        Self {
            colons: memory::count_byte(bytes, b':'),
            lines: memory::count_byte(bytes, b'\n') + 1,
        }
    }

    fn parsed_bytes(self) -> u64 {
        let dense_copy = self.colons.saturating_mul(20).min(1 << 30);
        self.colons
            .saturating_mul(12)
            .saturating_add(self.lines.saturating_mul(16))
            .saturating_add(dense_copy)
    }
}

/// Parses LIBSVM text held in memory; `path` only names the data in errors.
///
/// The features are built in CSR form and then passed through
/// [`Features::compact`] (dense storage for dense data). `source` is left
/// empty.
pub fn parse_bytes(bytes: &[u8], path: Option<&Path>) -> Result<Dataset, DataError> {
    parse_counted(bytes, path, Counts::of(bytes))
}

fn parse_counted(bytes: &[u8], path: Option<&Path>, counts: Counts) -> Result<Dataset, DataError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let error = |line: &[u8], line_no: usize, offset: usize, kind: DataErrorKind| {
        DataError::new(path.map(Path::to_path_buf), Some(line_no), kind)
            .at_column(char_column(line, offset))
    };

    // Capacity hints: one pair per ':' and at most one sample per line
    // (counts of bytes held in memory, so the capacities are bounded by the
    // input's length); large arrays on huge pages, as solvers visit rows
    // in random order.
    let n_pairs = counts.colons as usize;
    let n_lines = counts.lines as usize;
    let mut rows = SparseRows {
        indptr: with_capacity_huge(n_lines + 1),
        indices: with_capacity_huge(n_pairs),
        values: with_capacity_huge(n_pairs),
        n_cols: 0,
    };
    rows.indptr.push(0);
    let mut labels = Vec::with_capacity(n_lines);
    let mut max_index = 0usize;

    for (line_index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = line_index + 1;
        let line = match raw.iter().position(|&b| b == b'#') {
            Some(p) => &raw[..p],
            None => raw,
        };
        let mut tokens = Tokens { line, pos: 0 };
        let Some((start, end)) = tokens.next() else {
            continue;
        };
        let label_token = &line[start..end];
        if label_token.contains(&b':') {
            return Err(error(line, line_no, start, DataErrorKind::MissingLabel));
        }
        let label = parse_finite(label_token).map_err(|k| error(line, line_no, start, k))?;

        let mut previous = 0usize;
        for (start, end) in tokens {
            let token = &line[start..end];
            let bad_pair = || error(line, line_no, start, DataErrorKind::BadPair(lossy(token)));
            let Some(colon) = token.iter().position(|&b| b == b':') else {
                return Err(bad_pair());
            };
            let (index_text, value_text) = (&token[..colon], &token[colon + 1..]);
            if index_text.is_empty() || value_text.is_empty() {
                return Err(bad_pair());
            }
            let index = match parse_index(index_text) {
                Some(i) => i,
                None => return Err(bad_pair()),
            };
            if index == 0 {
                return Err(error(line, line_no, start, DataErrorKind::IndexZero));
            }
            if index > MAX_FEATURE_INDEX {
                return Err(error(
                    line,
                    line_no,
                    start,
                    DataErrorKind::IndexTooLarge(index),
                ));
            }
            if index <= previous {
                return Err(error(
                    line,
                    line_no,
                    start,
                    DataErrorKind::NonIncreasingIndex { previous, index },
                ));
            }
            let value =
                parse_finite(value_text).map_err(|k| error(line, line_no, start + colon + 1, k))?;
            previous = index;
            if value != 0.0 {
                // index ≤ MAX_FEATURE_INDEX = 2^26, so index − 1 fits in u32.
                rows.indices.push((index - 1) as u32);
                rows.values.push(value);
            }
        }
        max_index = max_index.max(previous);
        rows.indptr.push(rows.indices.len());
        labels.push(label);
    }

    if labels.is_empty() {
        return Err(DataError::new(
            path.map(Path::to_path_buf),
            None,
            DataErrorKind::Empty,
        ));
    }
    rows.n_cols = max_index;
    Ok(Dataset {
        features: Features::Sparse(rows).compact(),
        labels,
        source: None,
    })
}

/// A feature index: ASCII digits only, representable as `usize`. `None` for
/// anything else (a sign, a letter, an overflowing digit string).
fn parse_index(text: &[u8]) -> Option<usize> {
    text.iter().try_fold(0usize, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(usize::from(b - b'0'))
        } else {
            None
        }
    })
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Byte ranges of the blank-separated tokens of one line.
struct Tokens<'a> {
    line: &'a [u8],
    pos: usize,
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

impl Iterator for Tokens<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let line = self.line;
        let mut p = self.pos;
        while p < line.len() && is_blank(line[p]) {
            p += 1;
        }
        if p == line.len() {
            self.pos = p;
            return None;
        }
        let start = p;
        while p < line.len() && !is_blank(line[p]) {
            p += 1;
        }
        self.pos = p;
        Some((start, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Row;

    fn parse(text: &str) -> Result<Dataset, DataError> {
        parse_bytes(text.as_bytes(), Some(Path::new("mem.svm")))
    }

    /// Parses `text`, expects an error and returns (line, column, kind).
    fn fails(text: &str) -> (usize, usize, DataErrorKind) {
        let e = parse(text).expect_err("the input is invalid");
        assert_eq!(e.path.as_deref(), Some(Path::new("mem.svm")));
        (e.line.expect("a line"), e.column.expect("a column"), e.kind)
    }

    #[test]
    fn parses_labels_pairs_comments_and_blank_lines() {
        let text = "# header comment\n\n+1 1:0.5 3:-2 # trailing\r\n-1\t2:1e-1   4:3  \n\n2.000000 1:0 4:7";
        let d = parse(text).unwrap();
        assert_eq!(d.labels, vec![1.0, -1.0, 2.0]);
        assert_eq!(d.features.n_rows(), 3);
        assert_eq!(d.features.n_cols(), 4);
        // 6 of 12 cells are written, 5 non-zero (≥ 40 %): dense after compact.
        assert_eq!(d.features.nnz(), 5);
        assert_eq!(d.features.row(0), Row::Dense(&[0.5, 0.0, -2.0, 0.0]));
        assert_eq!(d.features.row(1), Row::Dense(&[0.0, 0.1, 0.0, 3.0]));
        assert_eq!(d.features.row(2), Row::Dense(&[0.0, 0.0, 0.0, 7.0]));
        assert!(d.source.is_none());
    }

    #[test]
    fn sparse_rows_are_zero_based_and_drop_zeros() {
        let mut text = String::new();
        for i in 0..10 {
            text.push_str(&format!(
                "{} {}:1 {}:0\n",
                if i % 2 == 0 { 1 } else { -1 },
                i + 1,
                100
            ));
        }
        let d = parse(&text).unwrap();
        assert_eq!(d.features.n_cols(), 100);
        match &d.features {
            Features::Sparse(s) => {
                assert_eq!(s.indices, (0..10).collect::<Vec<u32>>());
                assert_eq!(s.values, vec![1.0; 10]);
                assert_eq!(s.indptr, (0..=10).collect::<Vec<usize>>());
            }
            Features::Dense(_) => panic!("10 of 1000 cells: should stay sparse"),
        }
    }

    #[test]
    fn integer_fast_path_agrees_with_the_float_parser() {
        let text = "1 1:123456789012345 2:0007 3:1234567890123456 4:-5 5:+6\n";
        let d = parse(text).unwrap();
        let mut dense = vec![0.0; 5];
        d.features.row(0).scatter_into(&mut dense);
        let expected: Vec<f64> = ["123456789012345", "0007", "1234567890123456", "-5", "+6"]
            .iter()
            .map(|t| t.parse::<f64>().unwrap())
            .collect();
        assert_eq!(dense, expected);
    }

    #[test]
    fn label_only_line_is_an_empty_row() {
        let d = parse("1\n-1 2:3\n").unwrap();
        assert_eq!(d.features.n_rows(), 2);
        assert_eq!(d.features.row(0).squared_norm(), 0.0);
    }

    #[test]
    fn non_numeric_label() {
        assert_eq!(
            fails("1 1:1\n  abc 1:2\n"),
            (2, 3, DataErrorKind::NotANumber("abc".into()))
        );
    }

    #[test]
    fn non_numeric_value() {
        assert_eq!(
            fails("1 1:1 2:x\n"),
            (1, 9, DataErrorKind::NotANumber("x".into()))
        );
        assert_eq!(
            fails("1 1:2:3\n"),
            (1, 5, DataErrorKind::NotANumber("2:3".into()))
        );
    }

    #[test]
    fn not_finite_value_or_label() {
        assert_eq!(
            fails("1 1:nan\n"),
            (1, 5, DataErrorKind::NotFinite("nan".into()))
        );
        assert_eq!(
            fails("1 1:1\n1 2:-inf"),
            (2, 5, DataErrorKind::NotFinite("-inf".into()))
        );
        assert_eq!(
            fails("1 1:1e999\n"),
            (1, 5, DataErrorKind::NotFinite("1e999".into()))
        );
        assert_eq!(
            fails("NaN 1:1\n"),
            (1, 1, DataErrorKind::NotFinite("NaN".into()))
        );
        assert_eq!(
            fails("\tinf 1:1\n"),
            (1, 2, DataErrorKind::NotFinite("inf".into()))
        );
    }

    #[test]
    fn index_zero() {
        assert_eq!(fails("1 0:1\n"), (1, 3, DataErrorKind::IndexZero));
    }

    #[test]
    fn non_increasing_index() {
        assert_eq!(
            fails("1 1:1\n-1 2:1  2:3\n"),
            (
                2,
                9,
                DataErrorKind::NonIncreasingIndex {
                    previous: 2,
                    index: 2
                }
            )
        );
        assert_eq!(
            fails("1 5:1 3:1\n"),
            (
                1,
                7,
                DataErrorKind::NonIncreasingIndex {
                    previous: 5,
                    index: 3
                }
            )
        );
    }

    #[test]
    fn missing_label() {
        assert_eq!(
            fails("1 1:1\n1:2 3:4\n"),
            (2, 1, DataErrorKind::MissingLabel)
        );
        assert_eq!(fails("  3:4\n"), (1, 3, DataErrorKind::MissingLabel));
    }

    #[test]
    fn malformed_pairs() {
        assert_eq!(fails("1 3:\n"), (1, 3, DataErrorKind::BadPair("3:".into())));
        assert_eq!(fails("1 :4\n"), (1, 3, DataErrorKind::BadPair(":4".into())));
        assert_eq!(fails("1 3 4\n"), (1, 3, DataErrorKind::BadPair("3".into())));
        assert_eq!(
            fails("1 +3:4\n"),
            (1, 3, DataErrorKind::BadPair("+3:4".into()))
        );
        assert_eq!(
            fails("1 a:4\n"),
            (1, 3, DataErrorKind::BadPair("a:4".into()))
        );
        let huge = "1 99999999999999999999999:1\n";
        assert_eq!(
            fails(huge).2,
            DataErrorKind::BadPair("99999999999999999999999:1".into())
        );
    }

    #[test]
    fn index_too_large() {
        let big = MAX_FEATURE_INDEX + 1;
        assert_eq!(
            fails(&format!("1 {big}:1\n")),
            (1, 3, DataErrorKind::IndexTooLarge(big))
        );
        // The limit itself is accepted.
        let d = parse(&format!("1 {MAX_FEATURE_INDEX}:1\n")).unwrap();
        assert_eq!(d.features.n_cols(), MAX_FEATURE_INDEX);
    }

    #[test]
    fn empty_inputs() {
        for text in ["", "\n\n", "# only a comment\n  \r\n", "\u{feff}"] {
            let e = parse(text).expect_err("no samples");
            assert_eq!(e.kind, DataErrorKind::Empty);
            assert_eq!(e.line, None);
        }
    }

    #[test]
    fn column_counts_characters_not_bytes() {
        // "é" is two bytes; the bad value starts at character 9.
        let (line, column, kind) = fails("1 1:1 #é\n1 1:é\n");
        assert_eq!((line, column), (2, 5));
        assert_eq!(kind, DataErrorKind::NotANumber("é".into()));
        let (_, column, _) = fails("1 1:1 \u{a0}x\n");
        assert_eq!(column, 7);
    }

    #[test]
    fn display_names_file_line_and_column() {
        let e = parse("1 1:1\n1 0:1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "mem.svm:2:3: feature index 0 (indices start at 1)"
        );
    }

    #[test]
    fn unreadable_file_is_io_error_with_os_text() {
        let path = Path::new("/nonexistent-dir-svm-dual/none.svm");
        let e = read_path(path).unwrap_err();
        assert_eq!(e.path.as_deref(), Some(path));
        match &e.kind {
            DataErrorKind::Io(text) => assert!(text.contains("os error"), "{text}"),
            other => panic!("expected Io, got {other:?}"),
        }
    }

    #[test]
    fn read_path_records_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc.svm");
        std::fs::write(&path, "1 1:1\n-1 2:1\n").unwrap();
        let d = read_path(&path).unwrap();
        let source = d.source.unwrap();
        assert_eq!(source.path, path);
        // `printf '1 1:1\n-1 2:1\n' | sha256sum`
        assert_eq!(
            source.sha256,
            "dd9cb84beee4338679e457238bb75ed993fe781117010c2d418a5ddb14dd8cf1"
        );
    }
}
