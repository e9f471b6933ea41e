//! The reference fixtures in `tests/fixtures/`, written by
//! `scripts/regenerate_fixtures.py` (see its header for how they are
//! computed). Only the fields the tests use are read.

use serde::Deserialize;

/// One `svm-train` run (`tests/fixtures/libsvm.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct LibsvmEntry {
    /// Repository-relative dataset path.
    pub dataset: String,
    /// SHA-256 of the dataset file.
    pub sha256: String,
    /// The exact command run.
    pub command: String,
    /// `C`.
    pub c: f64,
    /// `-e`.
    pub eps: f64,
    /// The gamma svm-train used (from its model file).
    pub gamma: f64,
    /// LIBSVM's printed `obj` (minimisation form).
    pub obj: f64,
    /// LIBSVM's `rho` from the model file (full precision).
    pub rho_model_file: f64,
    /// Support vectors.
    pub n_sv: usize,
    /// LIBSVM's label order (its `+1` class first).
    pub label_order: Vec<String>,
}

/// `tests/fixtures/libsvm.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct LibsvmFixture {
    /// The runs.
    pub entries: Vec<LibsvmEntry>,
}

/// One Clarabel solve (`tests/fixtures/interior_point.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct InteriorPointEntry {
    /// Repository-relative dataset path.
    pub dataset: String,
    /// SHA-256 of the dataset file.
    pub sha256: String,
    /// Features as seen by the script (largest index in the file).
    pub n_features: usize,
    /// `"l1"` or `"l2"`.
    pub loss: String,
    /// `"linear"` or `"rbf"`.
    pub kernel: String,
    /// RBF gamma (`None` for linear).
    pub gamma: Option<f64>,
    /// `C`.
    pub c: f64,
    /// Whether `yᵀα = 0` was imposed.
    pub bias: bool,
    /// The optimal dual objective (maximisation form).
    pub dual_objective: f64,
    /// Clarabel's status (the script only keeps `Solved`).
    pub clarabel_status: String,
}

/// `tests/fixtures/interior_point.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct InteriorPointFixture {
    /// The solves.
    pub entries: Vec<InteriorPointEntry>,
}

fn read<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = super::repo_path(&format!("tests/fixtures/{name}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads `tests/fixtures/libsvm.json`.
pub fn libsvm() -> LibsvmFixture {
    read("libsvm.json")
}

/// Reads `tests/fixtures/interior_point.json`.
pub fn interior_point() -> InteriorPointFixture {
    read("interior_point.json")
}
