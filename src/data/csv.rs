//! Reader for delimited numeric text (CSV): one sample a row, one column of
//! labels, every other column a feature.
//!
//! Rules: every row has as many fields as the first one (header included);
//! fields are trimmed of surrounding blanks and of one pair of enclosing
//! double quotes (quoted fields holding the delimiter are not supported);
//! an empty field, text that is not a number, NaN and infinities are errors;
//! blank lines are skipped; CRLF line ends, a UTF-8 byte order mark and a
//! missing final newline are accepted. Whether the first row is a header is
//! set by [`Header`]; comment lines are not supported. Features are gathered sparsely (zeros dropped) and then
//! passed through [`Features::compact`], which stores dense data densely.

use std::path::Path;

use super::{
    char_column, memory, parse_finite, read_file, DataError, DataErrorKind, Dataset, Features,
    MemoryLimit, Source, SparseRows, MAX_FEATURE_INDEX,
};

/// Whether the first row holds column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    /// A header if no field of the first row (the label's included) is a
    /// number, a sample if every field is; a first row mixing both is an
    /// error (a typo in the first sample is not silently dropped).
    #[default]
    Auto,
    /// The first row is a header.
    Present,
    /// There is no header: the first row is a sample.
    Absent,
}

/// How to read a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOptions {
    /// The 0-based column holding the labels (default 0).
    pub label_column: usize,
    /// Whether the first row is a header (default [`Header::Auto`]).
    pub header: Header,
    /// The field separator (default `b','`).
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            label_column: 0,
            header: Header::Auto,
            delimiter: b',',
        }
    }
}

/// Reads a CSV file: parses it ([`parse_bytes`]) and records its path and
/// SHA-256 in [`Dataset::source`]. A file too large for the memory the
/// system reports available is refused before it is read or parsed
/// ([`read_path_with`]).
pub fn read_path(path: &Path, options: &CsvOptions) -> Result<Dataset, DataError> {
    read_path_with(path, options, MemoryLimit::System)
}

/// [`read_path`] with the memory figure given by `limit`: the file size,
/// then the file plus [`estimated_parsed_bytes`], must fit (see
/// [`super::memory`]).
pub fn read_path_with(
    path: &Path,
    options: &CsvOptions,
    limit: MemoryLimit,
) -> Result<Dataset, DataError> {
    let file = read_file(path, limit)?;
    file.check_parsed_size(path, estimated_parsed_bytes(&file.bytes, options))?;
    let mut data = parse_bytes(&file.bytes, Some(path), options)?;
    data.source = Some(Source::of_bytes(path, &file.bytes));
    Ok(data)
}

/// The estimated peak memory, in bytes, of the structures parsed from CSV
/// text `bytes` (the bytes themselves not included): 12 bytes per
/// delimiter (a feature's `u32` index and `f64` value), 16 per line (a row
/// pointer and a label), and the dense copy [`Features::compact`] may make
/// (at most 20 bytes per feature, at most 1 GiB).
pub fn estimated_parsed_bytes(bytes: &[u8], options: &CsvOptions) -> u64 {
    let fields = memory::count_byte(bytes, options.delimiter);
    let lines = memory::count_byte(bytes, b'\n') + 1;
    fields
        .saturating_mul(12)
        .saturating_add(lines.saturating_mul(16))
        .saturating_add(fields.saturating_mul(20).min(1 << 30))
}

/// Parses CSV text held in memory; `path` only names the data in errors.
/// `source` is left empty.
pub fn parse_bytes(
    bytes: &[u8],
    path: Option<&Path>,
    options: &CsvOptions,
) -> Result<Dataset, DataError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let at = |line_no: usize, kind: DataErrorKind| {
        DataError::new(path.map(Path::to_path_buf), Some(line_no), kind)
    };

    let mut expected: Option<usize> = None;
    // Whether `Header::Auto` took the first row as a header.
    let mut auto_header_taken = false;
    let mut labels = Vec::new();
    let mut rows = SparseRows {
        indptr: vec![0],
        ..Default::default()
    };
    // (byte offset in the line, trimmed field) of the current row, reused.
    let mut fields: Vec<(usize, &[u8])> = Vec::new();

    for (line_index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = line_index + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(|&b| is_blank(b)) {
            continue;
        }
        split_fields(line, options.delimiter, &mut fields);

        let n_fields = match expected {
            Some(n) => n,
            None => {
                let n = fields.len();
                if options.label_column >= n {
                    return Err(
                        at(line_no, DataErrorKind::NoSuchColumn(options.label_column)).at_column(1),
                    );
                }
                if n - 1 > MAX_FEATURE_INDEX {
                    return Err(at(line_no, DataErrorKind::IndexTooLarge(n - 1)).at_column(1));
                }
                expected = Some(n);
                rows.n_cols = n - 1;
                let header = match options.header {
                    Header::Present => true,
                    Header::Absent => false,
                    Header::Auto => auto_header(&fields).map_err(|(offset, kind)| {
                        at(line_no, kind).at_column(char_column(line, offset))
                    })?,
                };
                auto_header_taken = header && options.header == Header::Auto;
                if header {
                    continue;
                }
                n
            }
        };
        if fields.len() != n_fields {
            // Point at the first surplus field, or just past the row's end.
            let offset = fields.get(n_fields).map_or(line.len(), |&(o, _)| o);
            let (expected, found) = (n_fields, fields.len());
            let kind = if auto_header_taken && labels.is_empty() {
                DataErrorKind::HeaderFieldCount { expected, found }
            } else {
                DataErrorKind::FieldCount { expected, found }
            };
            return Err(at(line_no, kind).at_column(char_column(line, offset)));
        }

        for (column, &(offset, field)) in fields.iter().enumerate() {
            let value = parse_finite(field)
                .map_err(|k| at(line_no, k).at_column(char_column(line, offset)))?;
            if column == options.label_column {
                labels.push(value);
            } else if value != 0.0 {
                let feature = if column < options.label_column {
                    column
                } else {
                    column - 1
                };
                // feature < n_cols ≤ MAX_FEATURE_INDEX = 2^26 fits in u32.
                rows.indices.push(feature as u32);
                rows.values.push(value);
            }
        }
        rows.indptr.push(rows.indices.len());
    }

    if labels.is_empty() {
        return Err(DataError::new(
            path.map(Path::to_path_buf),
            None,
            DataErrorKind::Empty,
        ));
    }
    Ok(Dataset {
        features: Features::Sparse(rows).compact(),
        labels,
        source: None,
    })
}

/// [`Header::Auto`]'s decision on the first row's `fields`: a
/// header when none of its fields (the label's included) is a number, a
/// sample when all are; a row mixing both is an error at the first field
/// that is not a number (offset in the line, kind). NaN and infinities
/// count as numbers here: they are spelled as numbers, and the row is then
/// refused as a sample, naming the value.
fn auto_header(fields: &[(usize, &[u8])]) -> Result<bool, (usize, DataErrorKind)> {
    let text = |f: &[u8]| parse_finite(f).is_err_and(|k| matches!(k, DataErrorKind::NotANumber(_)));
    match fields.iter().find(|(_, f)| text(f)) {
        None => Ok(false),
        Some(_) if fields.iter().all(|(_, f)| text(f)) => Ok(true),
        Some(&(offset, f)) => Err((
            offset,
            DataErrorKind::MixedFirstRow(String::from_utf8_lossy(f).into_owned()),
        )),
    }
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// Splits `line` at `delimiter` into `out` as (offset of the trimmed field,
/// trimmed field), dropping one pair of enclosing double quotes.
fn split_fields<'a>(line: &'a [u8], delimiter: u8, out: &mut Vec<(usize, &'a [u8])>) {
    out.clear();
    let mut start = 0;
    for piece in line.split(|&b| b == delimiter) {
        let lead = piece.iter().take_while(|&&b| is_blank(b)).count();
        let trail = piece[lead..]
            .iter()
            .rev()
            .take_while(|&&b| is_blank(b))
            .count();
        let mut offset = start + lead;
        let mut field = &piece[lead..piece.len() - trail];
        if field.len() >= 2 && field[0] == b'"' && field[field.len() - 1] == b'"' {
            field = &field[1..field.len() - 1];
            offset += 1;
        }
        out.push((offset, field));
        start += piece.len() + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Row;

    fn parse_with(text: &str, options: &CsvOptions) -> Result<Dataset, DataError> {
        parse_bytes(text.as_bytes(), Some(Path::new("mem.csv")), options)
    }

    fn parse(text: &str) -> Result<Dataset, DataError> {
        parse_with(text, &CsvOptions::default())
    }

    /// Parses `text`, expects an error and returns (line, column, kind).
    fn fails_with(text: &str, options: &CsvOptions) -> (usize, usize, DataErrorKind) {
        let e = parse_with(text, options).expect_err("the input is invalid");
        assert_eq!(e.path.as_deref(), Some(Path::new("mem.csv")));
        (e.line.expect("a line"), e.column.expect("a column"), e.kind)
    }

    fn fails(text: &str) -> (usize, usize, DataErrorKind) {
        fails_with(text, &CsvOptions::default())
    }

    #[test]
    fn auto_header_crlf_and_no_final_newline() {
        let d = parse("label,a,b\r\n1,0.5,0\r\n\r\n-1, 2 ,\"3\"").unwrap();
        assert_eq!(d.labels, vec![1.0, -1.0]);
        assert_eq!(d.features.n_cols(), 2);
        assert_eq!(d.features.row(0), Row::Dense(&[0.5, 0.0]));
        assert_eq!(d.features.row(1), Row::Dense(&[2.0, 3.0]));
    }

    #[test]
    fn numeric_first_row_is_data_under_auto() {
        let d = parse("1,2\n-1,3\n").unwrap();
        assert_eq!(d.labels, vec![1.0, -1.0]);
    }

    #[test]
    fn auto_first_row_mixing_numbers_and_text_is_an_error() {
        // A typo in the first sample is not taken for a header.
        assert_eq!(
            fails("1,0.5,abc\n-1,2,3\n"),
            (1, 7, DataErrorKind::MixedFirstRow("abc".into()))
        );
        // A header whose label column is named by a number is not a header.
        assert_eq!(
            fails("0,a,b\n1,2,3\n"),
            (1, 3, DataErrorKind::MixedFirstRow("a".into()))
        );
        let e = parse("1,0.5,abc\n").unwrap_err().to_string();
        assert!(e.starts_with("mem.csv:1:7: "), "{e}");
        assert!(
            e.contains("\"abc\"") && e.contains("--csv-header yes"),
            "{e}"
        );
        // NaN is spelled as a number: the row is a sample, refused by value.
        assert_eq!(
            fails("y,NaN\n1,2\n"),
            (1, 1, DataErrorKind::MixedFirstRow("y".into()))
        );
        assert_eq!(
            fails("1,NaN\n1,2\n"),
            (1, 3, DataErrorKind::NotFinite("NaN".into()))
        );
        // --csv-header yes still takes such a row as a header.
        let present = CsvOptions {
            header: Header::Present,
            ..CsvOptions::default()
        };
        let d = parse_with("1,0.5,abc\n-1,2,3\n", &present).unwrap();
        assert_eq!(d.labels, vec![-1.0]);
    }

    #[test]
    fn auto_header_of_another_width_is_named() {
        // A comment line is all text: taken as a header, the first sample
        // then has another width, and the error says why.
        let (line, column, kind) = fails("# comment\n1,2,3\n");
        assert_eq!(
            (line, column, kind.clone()),
            (
                2,
                3,
                DataErrorKind::HeaderFieldCount {
                    expected: 1,
                    found: 3
                }
            )
        );
        assert!(kind.to_string().contains("header"), "{kind}");
    }

    #[test]
    fn header_present_and_absent() {
        let present = CsvOptions {
            header: Header::Present,
            ..CsvOptions::default()
        };
        let d = parse_with("7,8\n1,2\n", &present).unwrap();
        assert_eq!(d.labels, vec![1.0]);
        let absent = CsvOptions {
            header: Header::Absent,
            ..CsvOptions::default()
        };
        assert_eq!(
            fails_with("y,x\n1,2\n", &absent),
            (1, 1, DataErrorKind::NotANumber("y".into()))
        );
    }

    #[test]
    fn label_column_and_delimiter() {
        let options = CsvOptions {
            label_column: 2,
            header: Header::Auto,
            delimiter: b';',
        };
        let d = parse_with("a;b;y\n1;0;-1\n0;4;1\n", &options).unwrap();
        assert_eq!(d.labels, vec![-1.0, 1.0]);
        assert_eq!(d.features.row(0), Row::Dense(&[1.0, 0.0]));
        assert_eq!(d.features.row(1), Row::Dense(&[0.0, 4.0]));
        let middle = CsvOptions {
            label_column: 1,
            ..CsvOptions::default()
        };
        let d = parse_with("5,1,6\n", &middle).unwrap();
        assert_eq!(d.labels, vec![1.0]);
        assert_eq!(d.features.row(0), Row::Dense(&[5.0, 6.0]));
    }

    #[test]
    fn sparse_when_mostly_zero() {
        let mut text = String::new();
        for i in 0..20 {
            text.push_str(&format!("{},{},0,0,0,0,0,0,0,0,0\n", i % 2, i));
        }
        let d = parse(&text).unwrap();
        assert!(matches!(d.features, Features::Sparse(_)));
        assert_eq!(d.features.n_cols(), 10);
        assert_eq!(d.features.nnz(), 19);
    }

    #[test]
    fn field_count() {
        assert_eq!(
            fails("1,2,3\n4,5\n"),
            (
                2,
                4,
                DataErrorKind::FieldCount {
                    expected: 3,
                    found: 2
                }
            )
        );
        assert_eq!(
            fails("y,a\n1,2\n1,2,3\n"),
            (
                3,
                5,
                DataErrorKind::FieldCount {
                    expected: 2,
                    found: 3
                }
            )
        );
    }

    #[test]
    fn no_such_column() {
        let options = CsvOptions {
            label_column: 3,
            ..CsvOptions::default()
        };
        assert_eq!(
            fails_with("1,2,3\n", &options),
            (1, 1, DataErrorKind::NoSuchColumn(3))
        );
    }

    #[test]
    fn empty_field() {
        assert_eq!(
            fails("y,a,b\n1,,2\n"),
            (2, 3, DataErrorKind::NotANumber(String::new()))
        );
        assert_eq!(
            fails("1,2,3\n1,2,\r\n"),
            (2, 5, DataErrorKind::NotANumber(String::new()))
        );
    }

    #[test]
    fn not_a_number() {
        assert_eq!(
            fails("1,2\n1, abc\n"),
            (2, 4, DataErrorKind::NotANumber("abc".into()))
        );
    }

    #[test]
    fn not_finite() {
        assert_eq!(
            fails("1,2\n1,NaN\n"),
            (2, 3, DataErrorKind::NotFinite("NaN".into()))
        );
        assert_eq!(
            fails("1,2\ninf,1\n"),
            (2, 1, DataErrorKind::NotFinite("inf".into()))
        );
    }

    #[test]
    fn empty_inputs() {
        for text in ["", "\n \n", "a,b\n"] {
            let e = parse(text).expect_err("no samples");
            assert_eq!(e.kind, DataErrorKind::Empty);
        }
    }

    #[test]
    fn read_path_records_source_and_io_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "y,x\n1,2\n-1,3\n").unwrap();
        let d = read_path(&path, &CsvOptions::default()).unwrap();
        assert_eq!(
            d.source.as_ref().map(|s| s.path.clone()),
            Some(path.clone())
        );
        let e = read_path(&dir.path().join("missing.csv"), &CsvOptions::default()).unwrap_err();
        assert!(
            matches!(&e.kind, DataErrorKind::Io(t) if t.contains("os error")),
            "{e}"
        );
    }
}
