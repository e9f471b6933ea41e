//! The JSON model readers (binary and multiclass) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svm_dual::model_io::{self, ModelFormat};
use svm_dual::multiclass;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(any) = multiclass::parse_any_bytes(bytes, Some(ModelFormat::Json), None) {
        svm_dual_fuzz::check_any_model(&any);
    }
    if let Ok(loaded) = model_io::parse_bytes(bytes, Some(ModelFormat::Json), None) {
        svm_dual_fuzz::check_binary_model(&loaded.model);
    }
});
