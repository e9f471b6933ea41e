//! The LIBSVM data reader on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svm_dual::data::libsvm;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(d) = libsvm::parse_bytes(bytes, None) {
        svm_dual_fuzz::check_dataset(&d);
    }
});
