//! The model readers on arbitrary bytes read as LIBSVM text, and through
//! the format detection of `multiclass::parse_any_bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svm_dual::model_io::{self, ModelFormat};
use svm_dual::multiclass;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(loaded) = model_io::parse_bytes(bytes, Some(ModelFormat::Libsvm), None) {
        let lines = loaded.sv_lines.as_ref().expect("LIBSVM text records lines");
        assert_eq!(lines.len(), loaded.model.support_vectors.len());
        svm_dual_fuzz::check_binary_model(&loaded.model);
    }
    if let Ok(any) = multiclass::parse_any_bytes(bytes, None, None) {
        svm_dual_fuzz::check_any_model(&any);
    }
});
