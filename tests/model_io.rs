//! Model files: LIBSVM's text format as `svm-train` writes it, our writer,
//! our JSON, and typed errors on bad files.
//!
//! Reference files are in `tests/fixtures/libsvm_models/`, written by
//! `scripts/libsvm_models.sh` (svm-train / svm-predict of LIBSVM 3.24); the
//! tests never run LIBSVM.

use std::path::{Path, PathBuf};

use svm_dual::data::{read_path, Dataset, Format};
use svm_dual::formulation::{Formulation, Loss};
use svm_dual::kernel::Kernel;
use svm_dual::model::Model;
use svm_dual::model_io::{
    parse_bytes, read_json, read_libsvm, read_path as read_model, write_json, write_libsvm,
    ModelErrorKind, ModelFormat,
};
use svm_dual::train::{default_gamma, train, TrainOptions};

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn fixture(name: &str) -> PathBuf {
    repo("tests/fixtures/libsvm_models").join(name)
}

fn dataset(name: &str) -> Dataset {
    read_path(&repo("datasets").join(name), &Format::Libsvm).expect("shipped dataset")
}

/// `svm-predict`'s output: one label a line.
fn svm_predict_labels(name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(fixture(&format!("{name}.predict"))).expect("fixture");
    text.lines()
        .map(|l| l.trim().parse().expect("a label"))
        .collect()
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture")
}

#[test]
fn svm_train_models_predict_as_svm_predict() {
    for name in ["heart_scale", "a1a"] {
        let loaded = read_model(&fixture(&format!("{name}.model")), None).expect("reads");
        assert_eq!(loaded.format, ModelFormat::Libsvm);
        let model = &loaded.model;
        assert_eq!(model.formulation, None);
        assert!(model.support_vectors.iter().all(|sv| sv.index.is_none()));
        let data = dataset(name);
        let ours = model.predict(&data.features);
        assert_eq!(ours, svm_predict_labels(name), "{name}");
    }
}

#[test]
fn header_values_follow_libsvm_conventions() {
    let m = read_model(&fixture("heart_scale.model"), None)
        .expect("reads")
        .model;
    // rho 0.42446205176771579, label 1 -1, nr_sv 64 68.
    assert_eq!(m.bias, -"0.42446205176771579".parse::<f64>().unwrap());
    assert_eq!((m.labels.positive, m.labels.negative), (1.0, -1.0));
    assert_eq!(m.kernel, Kernel::Rbf { gamma: 1.0 / 13.0 });
    assert_eq!(m.support_vectors.len(), 132);
    assert!(m.support_vectors[..64].iter().all(|sv| sv.coef > 0.0));
    assert!(m.support_vectors[64..].iter().all(|sv| sv.coef < 0.0));
    assert_eq!(m.n_features, 13);
    // a1a starts with a −1 row, but LIBSVM (and svm-dual) put +1 first.
    let a = read_model(&fixture("a1a.model"), None)
        .expect("reads")
        .model;
    assert_eq!((a.labels.positive, a.labels.negative), (1.0, -1.0));
}

#[test]
fn probability_lines_are_ignored() {
    let plain = read_model(&fixture("heart_scale.model"), None).expect("reads");
    let prob = read_model(&fixture("heart_scale_prob.model"), None).expect("reads");
    assert!(fixture_text("heart_scale_prob.model").contains("\nprobA "));
    assert_eq!(prob.model, plain.model);
}

#[test]
fn libsvm_text_round_trips_svm_train_models_exactly() {
    for name in ["heart_scale", "a1a"] {
        let original = read_model(&fixture(&format!("{name}.model")), None)
            .expect("reads")
            .model;
        let text = write_libsvm(&original).expect("integer labels");
        let back = read_libsvm(&text, None).expect("reads back").model;
        assert_eq!(back, original, "{name}");
        // The same header values as svm-train's file, to the last digit.
        let theirs = fixture_text(&format!("{name}.model"));
        for key in ["gamma", "rho", "total_sv", "nr_sv", "label"] {
            let line = |t: &str| {
                t.lines()
                    .find(|l| l.starts_with(&format!("{key} ")))
                    .map(|l| {
                        l.split_whitespace()
                            .skip(1)
                            .map(|v| v.parse::<f64>().unwrap())
                            .collect::<Vec<_>>()
                    })
            };
            assert_eq!(line(&text), line(&theirs), "{name}: {key}");
        }
    }
}

fn trained_heart(loss: Loss, kernel: Kernel) -> (Dataset, Model) {
    let data = dataset("heart_scale");
    let options = TrainOptions {
        formulation: Formulation {
            loss,
            c: 1.0,
            ..Default::default()
        },
        kernel,
        smo: Default::default(),
    };
    let trained = train(&data, &options, None).expect("trains");
    (data, trained.model)
}

#[test]
fn our_models_round_trip_through_both_formats() {
    let gamma = default_gamma(13);
    for (loss, kernel) in [
        (Loss::L1, Kernel::Rbf { gamma }),
        (Loss::L2, Kernel::Linear),
        (
            Loss::L2,
            Kernel::Poly {
                gamma,
                coef0: 0.5,
                degree: 2,
            },
        ),
        (
            Loss::L1,
            Kernel::Sigmoid {
                gamma: 0.01,
                coef0: 0.25,
            },
        ),
    ] {
        let (data, model) = trained_heart(loss, kernel);
        let labels = model.predict(&data.features);
        let values = model.decision_function(&data.features);

        let json = write_json(&model).expect("serialises");
        let from_json = read_json(&json, None).expect("reads back");
        assert_eq!(from_json, model);

        let text = write_libsvm(&model).expect("integer labels");
        let loaded = parse_bytes(text.as_bytes(), None, None).expect("reads back");
        assert_eq!(loaded.format, ModelFormat::Libsvm);
        let from_libsvm = loaded.model;
        assert_eq!(from_libsvm.kernel, model.kernel);
        assert_eq!(from_libsvm.bias, model.bias);
        assert_eq!(from_libsvm.labels, model.labels);
        assert_eq!(from_libsvm.formulation, None);
        assert_eq!(from_libsvm.predict(&data.features), labels, "{kernel:?}");
        // Support vectors are regrouped by class, so the sums run in
        // another order: equal up to rounding.
        for (a, b) in from_libsvm
            .decision_function(&data.features)
            .iter()
            .zip(&values)
        {
            assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
        }
        // Once grouped, the text form is a fixed point.
        assert_eq!(write_libsvm(&from_libsvm).expect("labels"), text);
    }
}

/// `text` with the first line starting with `prefix` replaced by `by`.
fn replace_line(text: &str, prefix: &str, by: &str) -> String {
    let mut done = false;
    text.lines()
        .map(|l| {
            if !done && l.starts_with(prefix) {
                done = true;
                by.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn error_of(text: &str) -> (Option<usize>, ModelErrorKind, String) {
    let e = parse_bytes(text.as_bytes(), None, Some(Path::new("bad.model"))).unwrap_err();
    let message = e.to_string();
    assert!(message.starts_with("bad.model"), "{message}");
    (e.line, e.kind, message)
}

#[test]
fn bad_libsvm_models_give_located_errors() {
    let good = fixture_text("heart_scale.model");

    // Truncated: the last 10 support vectors missing.
    let lines: Vec<&str> = good.lines().collect();
    let truncated = lines[..lines.len() - 10].join("\n");
    let (_, kind, message) = error_of(&truncated);
    assert_eq!(
        kind,
        ModelErrorKind::Truncated {
            expected: 132,
            got: 122
        }
    );
    assert!(message.contains("truncated"), "{message}");
    // Cut in the header.
    let (_, kind, _) = error_of(&lines[..5].join("\n"));
    assert_eq!(kind, ModelErrorKind::Missing("SV"));

    // A 3-class model where a binary one is needed.
    let (line, kind, message) = error_of(&fixture_text("iris3.model"));
    assert_eq!((line, kind), (Some(4), ModelErrorKind::Classes(3)));
    assert!(message.contains("multiclass"), "{message}");

    let (line, kind, _) = error_of(&replace_line(&good, "kernel_type", "kernel_type laplace"));
    assert_eq!(line, Some(2));
    assert_eq!(kind, ModelErrorKind::KernelType("laplace".into()));
    let (_, kind, _) = error_of(&replace_line(
        &good,
        "kernel_type",
        "kernel_type precomputed",
    ));
    assert_eq!(kind, ModelErrorKind::KernelType("precomputed".into()));

    // Line 10 is the first support vector.
    let sv = lines[9];
    let bad_coef = sv.replacen('1', "one", 1);
    let (line, kind, message) = error_of(&replace_line(&good, sv, &bad_coef));
    assert_eq!(line, Some(10));
    assert!(
        matches!(kind, ModelErrorKind::BadSupportVector(_)),
        "{kind:?}"
    );
    assert!(message.contains("coefficient \"one\""), "{message}");

    let (line, _, message) = error_of(&replace_line(&good, sv, "1 1:0.5 1:0.25"));
    assert_eq!(line, Some(10));
    assert!(message.contains("strictly increasing"), "{message}");
    let (_, _, message) = error_of(&replace_line(&good, sv, "1 0:0.5"));
    assert!(message.contains("feature index \"0\""), "{message}");
    let (_, _, message) = error_of(&replace_line(&good, sv, "1 3:abc"));
    assert!(message.contains("value \"abc\" of feature 3"), "{message}");

    let (_, kind, _) = error_of(&replace_line(&good, "svm_type", "svm_type nu_svc"));
    assert_eq!(kind, ModelErrorKind::SvmType("nu_svc".into()));
    let (line, kind, _) = error_of(&replace_line(&good, "gamma", "gama 0.1"));
    assert_eq!(
        (line, kind),
        (Some(3), ModelErrorKind::UnknownKey("gama".into()))
    );
    let (_, kind, _) = error_of(&replace_line(&good, "gamma", "gamma -1"));
    assert!(matches!(kind, ModelErrorKind::Inconsistent(_)), "{kind:?}");
    let (_, kind, _) = error_of(&replace_line(&good, "gamma", ""));
    assert_eq!(kind, ModelErrorKind::Missing("gamma"));
    let (_, kind, _) = error_of(&replace_line(&good, "nr_sv", "nr_sv 64 67"));
    assert!(matches!(kind, ModelErrorKind::Inconsistent(_)), "{kind:?}");
    let (line, kind, _) = error_of(&format!("{good}1 1:1\n"));
    assert_eq!((line, kind), (Some(142), ModelErrorKind::TrailingContent));
}

#[test]
fn bad_json_models_are_refused() {
    let (_, model) = trained_heart(Loss::L2, Kernel::Linear);
    let json = write_json(&model).expect("serialises");
    let (_, kind, message) =
        error_of(&json.replace("\"schema_version\": 1", "\"schema_version\": 2"));
    assert_eq!(kind, ModelErrorKind::SchemaVersion { found: Some(2) });
    assert!(
        message.contains("schema_version 2 is not supported"),
        "{message}"
    );
    let (_, kind, _) = error_of(&json.replace("\"schema_version\": 1,", ""));
    assert_eq!(kind, ModelErrorKind::SchemaVersion { found: None });
    let (_, kind, _) = error_of(&json.replace("\"bias\"", "\"biass\""));
    assert!(
        matches!(kind, ModelErrorKind::Json(ref m) if m.contains("bias")),
        "{kind:?}"
    );
    let (_, kind, _) = error_of(&json[..json.len() / 2]);
    assert!(matches!(kind, ModelErrorKind::Json(_)), "{kind:?}");
}

/// The linear kernel's `O(nnz)` decision values through `w` agree with the
/// sum over the support vectors, also on rows with features the support
/// vectors never use.
#[test]
fn linear_decision_values_through_w_match_the_kernel_sum() {
    let (data, model) = trained_heart(Loss::L1, Kernel::Linear);
    let w = model.linear_weights().expect("linear");
    assert!(w.len() <= data.features.n_cols());
    let fast = model.decision_function(&data.features);
    for (i, f) in fast.iter().enumerate() {
        let slow = model.decision_value(&data.features.row(i));
        assert!(
            (f - slow).abs() <= 1e-12 * (1.0 + slow.abs()),
            "row {i}: {f} vs {slow}"
        );
    }
    let wide = svm_dual::data::Features::from_dense(vec![0.5; 40], 2, 20);
    for (i, f) in model.decision_function(&wide).iter().enumerate() {
        let slow = model.decision_value(&wide.row(i));
        assert!(
            (f - slow).abs() <= 1e-12 * (1.0 + slow.abs()),
            "{f} vs {slow}"
        );
    }
    let (_, rbf) = trained_heart(Loss::L1, Kernel::Rbf { gamma: 0.1 });
    assert!(rbf.linear_weights().is_none());
}

// ---- Memory checks and untrusted counts (issue 7, item 5).

#[test]
fn a_model_file_too_large_for_the_memory_figure_is_refused() {
    use svm_dual::data::{MemoryLimit, MemoryShortfall};
    use svm_dual::model_io::{estimated_parsed_bytes, read_model_bytes, read_path_with};
    let path = fixture("heart_scale.model");
    let bytes = std::fs::read(&path).unwrap();
    let size = bytes.len() as u64;
    let needed = size + estimated_parsed_bytes(&bytes, None);
    for (limit, expected) in [(size - 1, size), (needed - 1, needed)] {
        let e = read_path_with(&path, None, MemoryLimit::Bytes(limit)).unwrap_err();
        assert_eq!(e.path.as_deref(), Some(path.as_path()));
        assert_eq!(
            e.kind,
            ModelErrorKind::TooLarge(MemoryShortfall {
                file_bytes: size,
                needed_bytes: expected,
                available_bytes: limit
            })
        );
        let message = e.to_string();
        assert!(
            message.contains("heart_scale.model") && message.contains("too large"),
            "{message}"
        );
    }
    assert_eq!(
        read_model_bytes(&path, None, MemoryLimit::Bytes(needed)).unwrap(),
        bytes
    );
    let json = write_json(&read_model(&path, None).unwrap().model).unwrap();
    assert!(estimated_parsed_bytes(json.as_bytes(), None) > json.len() as u64 / 4);
}

#[test]
fn header_counts_are_not_trusted_for_allocation() {
    let good = fixture_text("heart_scale.model");
    // nr_class 10^12: refused at its line.
    let (line, kind, _) = error_of(&replace_line(&good, "nr_class", "nr_class 1000000000000"));
    assert_eq!(line, Some(4));
    assert!(
        matches!(&kind, ModelErrorKind::BadValue { key, .. } if key == "nr_class"),
        "{kind:?}"
    );
    // total_sv 10^12 with two support vectors: truncated, not a 72 TB
    // allocation.
    let text = "svm_type c_svc\nkernel_type linear\nnr_class 2\ntotal_sv 1000000000000\n\
                rho 0\nlabel 1 -1\nSV\n1 1:1\n-1 2:1\n";
    let (_, kind, _) = error_of(text);
    assert_eq!(
        kind,
        ModelErrorKind::Truncated {
            expected: 1_000_000_000_000,
            got: 2
        }
    );
    let (_, kind, _) = error_of(&text.replace("1000000000000", "18446744073709551615"));
    assert!(matches!(kind, ModelErrorKind::Truncated { .. }), "{kind:?}");
}

#[test]
fn a_multiclass_json_listing_many_classes_is_refused_cheaply() {
    // 300 000 classes and no submodels: the pairs (4.5·10^10 of them) must
    // not be built, nor the classes compared pairwise.
    let classes: Vec<String> = (0..300_000).map(|i| i.to_string()).collect();
    let text = format!(
        "{{\"schema_version\": 1, \"strategy\": \"ovo\", \"classes\": [{}], \"submodels\": []}}",
        classes.join(",")
    );
    let e = svm_dual::multiclass::read_any_json(&text, None).unwrap_err();
    assert!(
        e.to_string()
            .contains("300000 classes with strategy ovo need 44999850000 submodels, got 0"),
        "{e}"
    );
    let dup = text.replace("[0,1,2,", "[0,1,1,");
    let e = svm_dual::multiclass::read_any_json(&dup, None).unwrap_err();
    assert!(e.to_string().contains("got 1 twice"), "{e}");
}

// ---- Regressions found by fuzzing (scripts/fuzz.sh).

/// fuzz/model_libsvm: a model read from LIBSVM text with `gamma
/// 0.039770626923076927` did not survive our JSON round trip: serde_json's
/// default number parser read the written `0.039770626923076924` back one
/// ulp off (as 0.03977062692307693). Fixed by serde_json's
/// `float_roundtrip`.
#[test]
fn json_models_round_trip_bit_for_bit() {
    let text = "svm_type c_svc\nkernel_type rbf\ngamma 0.039770626923076927\nnr_class 2\n\
                total_sv 2\nrho 0.42446205176771579\nlabel 1 -1\nnr_sv 1 1\nSV\n\
                0.51048321289851639 1:0.125 13:0.5\n-0.6177715104119776 2:-0.333333\n";
    let model = read_libsvm(text, None).unwrap().model;
    assert_eq!(
        model.kernel,
        Kernel::Rbf {
            gamma: 0.039770626923076924
        }
    );
    let json = write_json(&model).unwrap();
    assert!(json.contains("0.039770626923076924"), "{json}");
    let back = read_json(&json, None).unwrap();
    assert_eq!(back, model);
    // Other values near halfway cases of the fast path.
    for v in [
        f64::MIN_POSITIVE,
        9007199254740993.0,
        0.1 + 0.2,
        1e23,
        5e-324,
    ] {
        let mut m = model.clone();
        m.bias = v;
        assert_eq!(read_json(&write_json(&m).unwrap(), None).unwrap().bias, v);
    }
}

/// The non-linear kernels' decision values by panels of support vectors
/// (`Model::decision_function`) equal the per-row sums of
/// `Model::decision_value` to the bit: on the training rows, on dense rows
/// wider than any support vector, and on sparse rows with features the
/// support vectors never use.
#[test]
fn panel_decision_values_equal_the_per_row_sums_to_the_bit() {
    let gamma = default_gamma(13);
    let wide = svm_dual::data::Features::from_dense(
        (0..3 * 20).map(|k| (k % 7) as f64 * 0.25 - 0.5).collect(),
        3,
        20,
    );
    for kernel in [
        Kernel::Rbf { gamma },
        Kernel::Poly {
            gamma,
            coef0: 1.0,
            degree: 3,
        },
        Kernel::Sigmoid {
            gamma: 0.01,
            coef0: 0.25,
        },
    ] {
        let (data, model) = trained_heart(Loss::L1, kernel);
        assert!(model.support_vectors.len() > 64, "more than one panel");
        let shifted = shifted_features(&data.features, 5);
        for features in [&data.features, &wide, &shifted] {
            let fast = model.decision_function(features);
            assert_eq!(fast.len(), features.n_rows());
            for (i, f) in fast.iter().enumerate() {
                let slow = model.decision_value(&features.row(i));
                assert_eq!(
                    f.to_bits(),
                    slow.to_bits(),
                    "{kernel:?} row {i}: {f} vs {slow}"
                );
            }
        }
    }
}

/// `features` with every index moved up by `by` and a feature 0 added:
/// rows that share few features with the support vectors.
fn shifted_features(features: &svm_dual::data::Features, by: u32) -> svm_dual::data::Features {
    let rows: Vec<Vec<(u32, f64)>> = (0..features.n_rows())
        .map(|i| {
            let mut row = vec![(0, 0.5)];
            if let svm_dual::data::Row::Sparse { indices, values } = features.row(i) {
                row.extend(indices.iter().zip(values).map(|(&k, &v)| (k + by, v)));
            }
            row
        })
        .collect();
    svm_dual::data::Features::from_sparse_rows(&rows, features.n_cols() + by as usize)
}
