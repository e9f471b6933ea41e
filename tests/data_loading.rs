//! Loads every shared dataset (`../shared/datasets`, see its PROVENANCE.md)
//! and checks row, column and non-zero counts, label parsing, storage
//! choice, line-end quirks and the ±1 label mapping.
//!
//! When the shared folder is absent the tests print a note and pass.

use std::path::{Path, PathBuf};

use svm_dual::data::{self, libsvm, Features, Format, MemoryLimit};

/// The shared dataset folder, or `None` (with a note) when it is absent.
fn datasets() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "note: {} is absent; shared-dataset test skipped",
            dir.display()
        );
        None
    }
}

/// One row of PROVENANCE.md.
struct Expected {
    file: &'static str,
    rows: usize,
    max_index: usize,
    /// `index:value` pairs written in the file (PROVENANCE's nnz).
    pairs: usize,
    /// Pairs written with a zero value (not stored by the reader); counted
    /// with awk, independently of this crate.
    explicit_zeros: usize,
    sha256: &'static str,
}

const fn e(
    file: &'static str,
    rows: usize,
    max_index: usize,
    pairs: usize,
    explicit_zeros: usize,
    sha256: &'static str,
) -> Expected {
    Expected {
        file,
        rows,
        max_index,
        pairs,
        explicit_zeros,
        sha256,
    }
}

const EXPECTED: &[Expected] = &[
    e(
        "heart_scale",
        270,
        13,
        3378,
        0,
        "5defa0a4c4c5bdaf3f55ae3828310252e8565c13ee37ce279e0b86d82e7f4ce9",
    ),
    e(
        "a1a",
        1605,
        119,
        22249,
        0,
        "eb54c45f1bdb51286f803dd092eb8202b44637a858fc6c4e533a2d64a0d94b4e",
    ),
    e(
        "a1a.t",
        30956,
        123,
        429343,
        0,
        "0212d0c4a3996fe6fb6a0ab54033d9f4fa4b60369b6e3bb141821d9ffc40c04d",
    ),
    e(
        "a9a",
        32561,
        123,
        451592,
        0,
        "f5d5ffd8d865ff41328e7ee043e4b020816914ff6843ff15b98905ddbedce906",
    ),
    e(
        "a9a.t",
        16281,
        122,
        225731,
        0,
        "1f448a153f0320399a7e40836eb207655b0bde0f21fc941cc472193daa9f5de9",
    ),
    e(
        "svmguide1",
        3089,
        4,
        12356,
        37,
        "2b9ab55b6236f62cee6b7739b52f9e7cb033771f39b9c22c1f1790d80ef14d7f",
    ),
    e(
        "svmguide1.t",
        4000,
        4,
        16000,
        15,
        "f9c2fd4c725172aeb4476fc1e2327d537f7fbc2f53f49dfd073f80efbe1ba8f7",
    ),
    e(
        "australian_scale",
        690,
        14,
        8447,
        0,
        "86799bcc4dbcd41929a514fa181d1c1a40e01f009dee139d4141a194d7ecd9e3",
    ),
    e(
        "breast-cancer_scale",
        683,
        10,
        6830,
        0,
        "3c90cd8f884810a0ff2eaf2cc7aabf09073f33c2dfcf113d826a13ca60b257ad",
    ),
    e(
        "breast-cancer",
        683,
        10,
        6830,
        0,
        "445505b580a88e9e19b533b4f126d3dda1883bc7551e46907041ca263aa3c5d9",
    ),
    e(
        "iris.scale",
        150,
        4,
        587,
        0,
        "c03bd66fd6c48fb954d237fa0bf808ace2b9e0149bcba5fd1058d80fc117f92a",
    ),
    e(
        "glass.scale",
        214,
        9,
        1923,
        0,
        "7c847cf67bc3dceda40890c37044cc569b2603c2ca4508e01faeaa0d521e52e5",
    ),
    e(
        "svmguide2",
        391,
        20,
        7820,
        131,
        "31087ba93efedc3604187e306f2c9f819f3dc10502c1eb5f92a5736a3edd1523",
    ),
    e(
        "svmguide4",
        300,
        10,
        3000,
        0,
        "7dc2209e8453447c39b58ffc8c1f0ce1aaa8b29caa13c6871eb4a6ec3838212f",
    ),
    e(
        "svmguide4.t",
        312,
        10,
        3120,
        0,
        "f5a5839d955f3eb6e379f5b226869b79bf8245bcda891649105858e4cdc61695",
    ),
    e(
        "pendigits",
        7494,
        15,
        97041,
        0,
        "c2d77d1f463deaa8b933adf0d7499033d48b0053c4742f316c694a49ec778af8",
    ),
    e(
        "pendigits.t",
        3498,
        15,
        45275,
        0,
        "af9567cc27cca19238e43b6feb5dc3f70e1f55d6ae34bf5ffbd5ebf9bb618a5f",
    ),
    e(
        "news20",
        15935,
        62061,
        1272569,
        0,
        "1d6eb77c42e1c78e86f36af834268de933da3607f38e3703aef15f7a9f11e506",
    ),
    e(
        "news20.t",
        3993,
        62060,
        321123,
        0,
        "657c08b093f826cb5271689b0c2dc6fca7f4b8c6e57b03efbb7cddf56287e2c9",
    ),
    e(
        "breast_cancer",
        569,
        30,
        16992,
        0,
        "22ca1901a963e8ace2da3fba8eda883c8ee3724caf392b1ad1448e375e0fd315",
    ),
    e(
        "iris",
        150,
        4,
        600,
        0,
        "918c0fbfee07e0ee1259e36b14b0fd24c677b1e12568e18d82603cea83419a8d",
    ),
    e(
        "wine",
        178,
        13,
        2314,
        0,
        "f7d83cc46e04e3b29055a53a718aaabc2bd9e6e45f07f343afa000fd85ac8ce8",
    ),
    e(
        "digits",
        1797,
        64,
        58736,
        0,
        "b82d89c2691202b8add34b5bf633e936062defcf92753a8db0ff078f68214ee0",
    ),
];

fn load(dir: &Path, file: &str) -> data::Dataset {
    libsvm::read_path(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn every_shared_dataset_loads_with_the_published_counts() {
    let Some(dir) = datasets() else { return };
    for x in EXPECTED {
        let d = load(&dir, x.file);
        assert_eq!(d.len(), x.rows, "{}: rows", x.file);
        assert_eq!(d.features.n_rows(), x.rows, "{}: feature rows", x.file);
        assert_eq!(d.features.n_cols(), x.max_index, "{}: columns", x.file);
        assert_eq!(
            d.features.nnz() + x.explicit_zeros,
            x.pairs,
            "{}: nnz",
            x.file
        );
        let source = d.source.as_ref().expect("read_path records the source");
        assert_eq!(source.sha256, x.sha256, "{}: sha256", x.file);
        assert_eq!(source.path, dir.join(x.file));
        // Every label is a whole number in these files.
        assert!(
            d.labels.iter().all(|l| l.fract() == 0.0),
            "{}: labels",
            x.file
        );
    }
    // Every file in the folder is covered by the table above.
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("readable folder")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name != "PROVENANCE.md")
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = EXPECTED.iter().map(|x| x.file.to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn label_counts_match_provenance() {
    let Some(dir) = datasets() else { return };
    let count = |d: &data::Dataset, l: f64| d.labels.iter().filter(|&&x| x == l).count();
    // `2.000000` / `4.000000` parse to 2 and 4, like breast-cancer_scale's `2` / `4`.
    let bc = load(&dir, "breast-cancer");
    assert_eq!(bc.classes(), load(&dir, "breast-cancer_scale").classes());
    assert_eq!((count(&bc, 2.0), count(&bc, 4.0)), (444, 239));
    assert_eq!(bc.labels, load(&dir, "breast-cancer_scale").labels);
    // `+1` / `-1`.
    let heart = load(&dir, "heart_scale");
    assert_eq!((count(&heart, 1.0), count(&heart, -1.0)), (120, 150));
    // `0` / `1`.
    let g1 = load(&dir, "svmguide1");
    assert_eq!((count(&g1, 0.0), count(&g1, 1.0)), (1089, 2000));
    // `+1`, `+2`, `+3` after several spaces.
    let g2 = load(&dir, "svmguide2");
    assert_eq!(g2.classes(), vec![1.0, 2.0, 3.0]);
    assert_eq!(
        (count(&g2, 1.0), count(&g2, 2.0), count(&g2, 3.0)),
        (221, 117, 53)
    );
    // Negative multiclass labels.
    let g4 = load(&dir, "svmguide4");
    assert_eq!((count(&g4, -3.0), count(&g4, 3.0)), (53, 47));
}

#[test]
fn storage_follows_density() {
    let Some(dir) = datasets() else { return };
    assert!(matches!(
        load(&dir, "heart_scale").features,
        Features::Dense(_)
    ));
    assert!(matches!(load(&dir, "a9a").features, Features::Sparse(_)));
    assert!(matches!(
        load(&dir, "news20.t").features,
        Features::Sparse(_)
    ));
}

#[test]
fn crlf_and_missing_final_newline_files_load() {
    let Some(dir) = datasets() else { return };
    let pendigits = std::fs::read(dir.join("pendigits")).expect("readable");
    assert!(
        pendigits.windows(2).any(|w| w == b"\r\n"),
        "pendigits uses CRLF"
    );
    let d = load(&dir, "pendigits");
    assert_eq!((d.len(), d.features.n_cols()), (7494, 15));
    assert_eq!(d.classes().len(), 10);

    let guide2 = std::fs::read(dir.join("svmguide2")).expect("readable");
    assert_ne!(
        guide2.last(),
        Some(&b'\n'),
        "svmguide2 has no final newline"
    );
    let d = load(&dir, "svmguide2");
    assert_eq!(d.len(), 391);
    // The last line is complete: its last pair is feature 20.
    let last = d.features.row(d.len() - 1);
    let mut dense = vec![0.0; d.features.n_cols()];
    last.scatter_into(&mut dense);
    assert!(dense[19] != 0.0);
}

#[test]
fn first_seen_label_is_positive() {
    let Some(dir) = datasets() else { return };
    // heart_scale starts with `+1`; svmguide1 starts with `1`; breast-cancer with `2.000000`.
    for (file, positive, negative) in [
        ("heart_scale", 1.0, -1.0),
        ("svmguide1", 1.0, 0.0),
        ("breast-cancer", 2.0, 4.0),
    ] {
        let d = load(&dir, file);
        let b = d.binary_labels().unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((b.positive, b.negative), (positive, negative), "{file}");
        assert_eq!(b.y[0], 1.0);
        for (y, l) in b.y.iter().zip(&d.labels) {
            assert_eq!(*y, if *l == positive { 1.0 } else { -1.0 });
        }
    }
    // Labels ±1 keep their sign whatever comes first (LIBSVM's swap): a1a
    // starts with a `-1` row.
    let a1a = load(&dir, "a1a");
    assert_eq!(a1a.labels[0], -1.0);
    let b = a1a.binary_labels().unwrap();
    assert_eq!((b.positive, b.negative), (1.0, -1.0));
    assert!(b.y.iter().zip(&a1a.labels).all(|(y, l)| y == l));
    let multi = load(&dir, "iris.scale").binary_labels().unwrap_err();
    assert!(matches!(multi.kind, data::DataErrorKind::TooManyClasses(3)));
}

#[test]
fn format_dispatch_reads_libsvm_and_csv() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let svm = dir.path().join("d.svm");
    let csv = dir.path().join("d.csv");
    std::fs::write(&svm, "+1 1:1 2:2\n-1 2:3\n").expect("writable");
    std::fs::write(&csv, "y,a,b\n+1,1,2\n-1,0,3\n").expect("writable");
    let a = data::read_path(&svm, &Format::from_extension(&svm)).expect("libsvm loads");
    let b = data::read_path(&csv, &Format::from_extension(&csv)).expect("csv loads");
    assert_eq!(Format::from_extension(&svm), Format::Libsvm);
    assert_eq!(a.features, b.features);
    assert_eq!(a.labels, b.labels);
    assert_ne!(a.source, b.source);
}

// ---- Memory checks (issue 7, item 5): files too large are refused with a
// typed error before allocation; the figure is faked with `MemoryLimit`.

fn local(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(file)
}

fn shortfall(e: &data::DataError) -> data::MemoryShortfall {
    match e.kind {
        data::DataErrorKind::TooLarge(m) => m,
        ref other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn a_file_larger_than_the_available_memory_is_refused_before_reading() {
    let path = local("heart_scale");
    let size = std::fs::metadata(&path).unwrap().len();
    let e = data::read_path_with(&path, &Format::Libsvm, MemoryLimit::Bytes(size - 1))
        .expect_err("one byte short");
    assert_eq!(e.path.as_deref(), Some(path.as_path()));
    assert_eq!(
        shortfall(&e),
        data::MemoryShortfall {
            file_bytes: size,
            needed_bytes: size,
            available_bytes: size - 1
        }
    );
    let message = e.to_string();
    assert!(
        message.contains("heart_scale")
            && message.contains(&format!("({size} bytes)"))
            && message.contains("too large for the available memory"),
        "{message}"
    );
}

#[test]
fn the_parsed_size_estimate_must_fit_too() {
    let path = local("heart_scale");
    let bytes = std::fs::read(&path).unwrap();
    let size = bytes.len() as u64;
    let needed = size + libsvm::estimated_parsed_bytes(&bytes);
    // 270 lines and 3 378 pairs: the structures are larger than the text.
    assert!(needed > 2 * size, "{needed} vs {size}");
    let e = data::read_path_with(&path, &Format::Libsvm, MemoryLimit::Bytes(needed - 1))
        .expect_err("the parsed form does not fit");
    assert_eq!(
        shortfall(&e),
        data::MemoryShortfall {
            file_bytes: size,
            needed_bytes: needed,
            available_bytes: needed - 1
        }
    );
    let d = data::read_path_with(&path, &Format::Libsvm, MemoryLimit::Bytes(needed)).unwrap();
    assert_eq!(d.len(), 270);
    // The system figure (or none) reads this small file.
    assert_eq!(data::read_path(&path, &Format::Libsvm).unwrap(), d);
}

#[test]
fn csv_files_are_checked_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv");
    let text = b"y,a,b\n1,2,3\n-1,4,5\n";
    std::fs::write(&path, text).unwrap();
    let options = data::CsvOptions::default();
    let size = text.len() as u64;
    let needed = size + data::csv::estimated_parsed_bytes(text, &options);
    for (limit, fails) in [(size - 1, true), (needed - 1, true), (needed, false)] {
        let r = data::read_path_with(&path, &Format::Csv(options), MemoryLimit::Bytes(limit));
        assert_eq!(r.is_err(), fails, "limit {limit}");
        if let Err(e) = r {
            assert_eq!(shortfall(&e).available_bytes, limit);
            assert_eq!(e.path.as_deref(), Some(path.as_path()));
        }
    }
}

#[test]
fn unlimited_skips_the_check_and_io_errors_still_name_the_file() {
    let path = local("iris.scale");
    assert!(data::read_path_with(&path, &Format::Libsvm, MemoryLimit::Unlimited).is_ok());
    let missing = local("no-such-file");
    let e = data::read_path_with(&missing, &Format::Libsvm, MemoryLimit::Bytes(0)).unwrap_err();
    assert!(matches!(e.kind, data::DataErrorKind::Io(_)), "{e}");
}

#[test]
fn huge_feature_indices_are_refused_without_a_dense_allocation() {
    // 4e9 columns of f64 would be 32 GB: refused as a format error at once.
    let e = libsvm::parse_bytes(b"1 1:0.5 4000000000:1\n", None).unwrap_err();
    assert_eq!(e.kind, data::DataErrorKind::IndexTooLarge(4_000_000_000));
    assert_eq!((e.line, e.column), (Some(1), Some(9)));
    // Above usize: a malformed pair, not an overflow.
    let e = libsvm::parse_bytes(b"1 184467440737095516160:1\n", None).unwrap_err();
    assert!(matches!(e.kind, data::DataErrorKind::BadPair(_)), "{e}");
}

#[test]
fn many_distinct_labels_are_counted_in_linear_time() {
    // 200 000 distinct labels: a pairwise scan would take 2·10^10 steps.
    let n = 200_000;
    let text: String = (0..n).map(|i| format!("{i} 1:1\n")).collect();
    let d = libsvm::parse_bytes(text.as_bytes(), None).unwrap();
    let classes = d.classes();
    assert_eq!(classes.len(), n);
    assert_eq!(classes[..3], [0.0, 1.0, 2.0]);
    assert!(matches!(
        d.binary_labels().unwrap_err().kind,
        data::DataErrorKind::TooManyClasses(200_000)
    ));
    // -0 and 0 are one class, kept as first written.
    let d = libsvm::parse_bytes(b"-0 1:1\n0 1:2\n1 1:3\n", None).unwrap();
    assert_eq!(d.classes().len(), 2);
    assert!(d.classes()[0].is_sign_negative());
}
