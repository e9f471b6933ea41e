//! Helpers shared by the integration tests: the shipped datasets
//! ([`dataset_path`], [`load_dataset`]), the reference fixtures written by
//! `scripts/regenerate_fixtures.py` ([`fixtures`]) and an independent
//! reference solver for small dual QPs, Clarabel's interior-point method
//! ([`clarabel_ref`]).
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod clarabel_ref;
pub mod fixtures;

use sha2::{Digest, Sha256};
use std::path::PathBuf;
use svm_dual::data::Dataset;

/// `datasets/<name>` in this repository.
pub fn dataset_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(name)
}

/// A repository-relative path such as `datasets/heart_scale`, made absolute.
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// SHA-256 of a file, lower-case hex.
pub fn sha256_hex(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads a repository-relative LIBSVM file, first checking that its bytes
/// are the ones the fixture was computed from.
pub fn load_dataset(relative: &str, expected_sha256: &str) -> Dataset {
    let path = repo_path(relative);
    assert_eq!(
        sha256_hex(&path),
        expected_sha256,
        "{relative} differs from the file the fixture was computed from"
    );
    svm_dual::data::libsvm::read_path(&path).unwrap_or_else(|e| panic!("reading {relative}: {e}"))
}

/// `|a − b| ≤ rel · |b|` (`b` the reference).
pub fn rel_close(ours: f64, reference: f64, rel: f64) -> bool {
    (ours - reference).abs() <= rel * reference.abs()
}

/// LIBSVM text of `classes × per_class` rows with 8 features each, labels
/// `1..=classes` dealt round-robin and features drawn from a seeded
/// generator independently of the labels: a noisy problem whose
/// sub-problems (one-vs-one: `classes(classes−1)/2` of them) each take
/// many SMO iterations. For tests of time limits over a whole run.
pub fn noisy_multiclass_text(classes: usize, per_class: usize) -> String {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        // SplitMix64.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let mut text = String::new();
    for i in 0..classes * per_class {
        text.push_str(&format!("{}", i % classes + 1));
        for j in 1..=8 {
            text.push_str(&format!(" {j}:{:.6}", next()));
        }
        text.push('\n');
    }
    text
}
