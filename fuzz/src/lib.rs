//! Oracles shared by the fuzz targets: what must hold for any input a
//! reader accepts. A reader may refuse any input with an error; it must
//! never panic, abort, hang or allocate without bound, and what it accepts
//! must be well formed.

use svm_dual::data::{Dataset, Features, Row, SparseRows, MAX_FEATURE_INDEX};
use svm_dual::model::Model;
use svm_dual::model_io::{self, ModelFormat};
use svm_dual::multiclass::AnyModel;

/// Checks the structure of a dataset a reader accepted: as many labels as
/// rows, at least one row, finite values, CSR indices strictly increasing
/// and below the column count, no stored zero.
pub fn check_dataset(d: &Dataset) {
    assert!(!d.labels.is_empty(), "an accepted dataset has a sample");
    assert_eq!(d.features.n_rows(), d.labels.len());
    assert!(d.labels.iter().all(|l| l.is_finite()));
    let n_cols = d.features.n_cols();
    assert!(n_cols <= MAX_FEATURE_INDEX);
    match &d.features {
        Features::Sparse(SparseRows {
            indptr,
            indices,
            values,
            ..
        }) => {
            assert_eq!(indptr.first(), Some(&0));
            assert_eq!(indptr.last(), Some(&indices.len()));
            assert_eq!(indices.len(), values.len());
            assert!(indptr.windows(2).all(|w| w[0] <= w[1]));
        }
        Features::Dense(dense) => {
            assert_eq!(dense.values.len(), dense.n_rows * dense.n_cols);
        }
    }
    for i in 0..d.features.n_rows() {
        match d.features.row(i) {
            Row::Sparse { indices, values } => {
                assert!(indices.windows(2).all(|w| w[0] < w[1]));
                assert!(indices.iter().all(|&k| (k as usize) < n_cols));
                assert!(values.iter().all(|v| v.is_finite() && *v != 0.0));
            }
            Row::Dense(v) => assert!(v.iter().all(|x| x.is_finite())),
        }
    }
}

/// A small fixed dataset to predict on: a dense row, a sparse row with an
/// index beyond any model's width and an empty row.
pub fn probe_features() -> Features {
    Features::from_sparse_rows(
        &[
            vec![(0, 0.5), (1, -1.0), (2, 2.0)],
            vec![(3, 1.0), (1000, -3.0)],
            vec![],
        ],
        1001,
    )
}

/// Checks an accepted binary model: valid values, and writing it back and
/// reading it again gives the same model (JSON) or the same text (LIBSVM).
pub fn check_binary_model(m: &Model) {
    model_io::check_model(m).expect("an accepted model passes check_model");
    let json = model_io::write_json(m).expect("a checked model serialises");
    let back = model_io::read_json(&json, None).expect("our own JSON reads back");
    assert_eq!(&back, m, "JSON round trip");
    if let Ok(text) = model_io::write_libsvm(m) {
        let read = model_io::parse_bytes(text.as_bytes(), Some(ModelFormat::Libsvm), None)
            .expect("our own LIBSVM text reads back");
        let again = model_io::write_libsvm(&read.model).expect("labels stay integers");
        assert_eq!(again, text, "LIBSVM text round trip");
    }
    let predicted = m.predict(&probe_features());
    assert_eq!(predicted.len(), 3);
}

/// [`check_binary_model`] for each sub-model, and prediction on the probe.
pub fn check_any_model(m: &AnyModel) {
    match m {
        AnyModel::Binary(b) => check_binary_model(b),
        AnyModel::Multiclass(mc) => {
            mc.check()
                .expect("an accepted multiclass model passes check");
            for s in &mc.submodels {
                model_io::check_model(s).expect("sub-model passes check_model");
            }
            let predicted = mc.predict(&probe_features());
            assert!(predicted.iter().all(|p| mc.classes.contains(p)));
            // One-vs-one in LIBSVM's text: what is written reads back as a
            // model that writes the same lines (the order within a class
            // may change: the training rows are not in that format).
            if let Ok(text) = svm_dual::multiclass::write_libsvm_ovo(mc) {
                let back = svm_dual::multiclass::parse_any_bytes(
                    text.as_bytes(),
                    Some(ModelFormat::Libsvm),
                    None,
                )
                .expect("our own LIBSVM text reads back");
                let again =
                    svm_dual::multiclass::write_any_libsvm(&back).expect("labels stay integers");
                let sorted = |t: &str| {
                    let mut l: Vec<String> = t.lines().map(str::to_owned).collect();
                    l.sort();
                    l
                };
                assert_eq!(sorted(&again), sorted(&text), "LIBSVM text round trip");
            }
        }
        AnyModel::Joint(j) => {
            j.check().expect("an accepted joint model passes check");
            let json = svm_dual::multiclass::write_any_json(m).expect("serialises");
            let back =
                svm_dual::multiclass::read_any_json(&json, None).expect("our own JSON reads back");
            assert_eq!(&back, m, "JSON round trip");
            let predicted = j.predict(&probe_features());
            assert!(predicted.iter().all(|p| j.classes.contains(p)));
        }
    }
}
