//! # svm-dual
//!
//! Certified solvers for the dual quadratic programs of support vector
//! machines. Every answer comes with a certificate: the primal objective,
//! the dual objective, their gap and the KKT residuals, computed by a code
//! path independent of the solver ([`verify`]).
//!
//! The flow, one module a step:
//! [`data`] (read LIBSVM or CSV files) → [`formulation`] (the dual QP of an
//! L2- or L1-loss SVM) → [`solvers`] (SMO on `min ½αᵀQα + pᵀα`) →
//! [`verify`] (the certificate) → [`report`] (JSON).
//!
//! ```
//! use svm_dual::data::{Dataset, Features};
//! use svm_dual::formulation::{Formulation, Loss};
//! use svm_dual::kernel::Kernel;
//! use svm_dual::train::{train, TrainOptions};
//!
//! // Four points in the plane, two classes.
//! let x = Features::from_dense(vec![0.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 3.0], 4, 2);
//! let data = Dataset::new(x, vec![-1.0, -1.0, 1.0, 1.0]).unwrap();
//! let options = TrainOptions {
//!     formulation: Formulation { loss: Loss::L2, c: 10.0, ..Default::default() },
//!     kernel: Kernel::Rbf { gamma: 0.5 },
//!     smo: Default::default(),
//! };
//! let trained = train(&data, &options, None).unwrap();
//! assert_eq!(trained.model.predict(&data.features), data.labels);
//!
//! let cert = svm_dual::certify(&data.features, &trained);
//! assert!(cert.relative_gap < 1e-3);
//! ```

pub mod cache_budget;
pub mod cv;
pub mod data;
pub mod formulation;
pub mod kernel;
pub mod linalg;
pub mod linear;
pub mod model;
pub mod model_io;
pub mod multiclass;
pub mod multiclass_dual;
pub mod report;
pub mod train;
pub mod verify;
pub mod verify_joint;

#[cfg(test)]
mod test_rng;

pub use solvers;

/// Certifies a trained model on its training features.
///
/// # Panics
/// When the model carries no formulation: a [`train::Trained`] always does
/// (only a model read from LIBSVM's text format lacks one, see
/// [`model::Model::formulation`]).
pub fn certify(features: &data::Features, trained: &train::Trained) -> verify::Certificate {
    let formulation = trained
        .model
        .formulation
        .as_ref()
        .expect("a trained model records its formulation");
    verify::verify(
        features,
        &trained.labels.y,
        formulation,
        trained.model.kernel,
        &trained.alpha,
        trained.model.bias,
    )
}
