//! The CSV data reader on arbitrary bytes; the first byte picks the
//! options (delimiter, label column, header rule) so all are explored.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svm_dual::data::{csv, CsvOptions, Header};

fuzz_target!(|input: &[u8]| {
    let Some((&selector, bytes)) = input.split_first() else {
        return;
    };
    let options = CsvOptions {
        delimiter: [b',', b';', b'\t', b' '][usize::from(selector & 3)],
        label_column: usize::from((selector >> 2) & 7),
        header: [Header::Auto, Header::Present, Header::Absent, Header::Auto]
            [usize::from(selector >> 5 & 3)],
    };
    if let Ok(d) = csv::parse_bytes(bytes, None, &options) {
        svm_dual_fuzz::check_dataset(&d);
    }
});
