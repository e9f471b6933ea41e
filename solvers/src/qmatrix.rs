//! The view of the Hessian `Q` that the solvers need.
//!
//! SMO touches `Q` one column at a time and only on the rows that are still
//! active after shrinking; projected-gradient methods need whole products
//! `Qv`. [`QMatrix`] offers exactly these three operations, so the solvers
//! never see kernels, features or labels.

use rayon::prelude::*;

/// A symmetric positive-semidefinite matrix `Q` of size `n × n`, seen through
/// the three operations the solvers need. Implementations must be
/// deterministic: the same call gives bit-identical output for any number of
/// rayon threads.
pub trait QMatrix: Sync {
    /// The dimension `n`.
    fn dim(&self) -> usize;

    /// Writes the diagonal `Qᵢᵢ` into `out` (length `n`).
    fn diagonal(&self, out: &mut [f64]);

    /// Writes `out[k] = Q[rows[k], j]` for every `k`.
    fn column(&self, j: usize, rows: &[usize], out: &mut [f64]);

    /// Whether a column over all `n` rows costs about as much as over any
    /// subset of them (as when it is formed through the transposed
    /// features). A solver that needs a column on part of the rows now and
    /// on all of them later should then ask for all of them at once. The
    /// default is `false`: the cost grows with the number of rows.
    fn whole_columns_preferred(&self) -> bool {
        false
    }

    /// Writes `out = Q v` (both of length `n`).
    ///
    /// The default implementation assembles `Q` column by column over the
    /// non-zeros of `v`; implementations with structure (a low-rank
    /// factor, a dense matrix) should override it.
    fn matvec(&self, v: &[f64], out: &mut [f64]) {
        let n = self.dim();
        let rows: Vec<usize> = (0..n).collect();
        out.iter_mut().for_each(|o| *o = 0.0);
        let mut col = vec![0.0; n];
        for (j, &vj) in v.iter().enumerate() {
            if vj != 0.0 {
                self.column(j, &rows, &mut col);
                out.iter_mut().zip(&col).for_each(|(o, c)| *o += vj * c);
            }
        }
    }
}

/// A dense symmetric matrix stored row-major; the reference implementation
/// of [`QMatrix`] for tests and small problems.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseQ {
    n: usize,
    values: Vec<f64>,
}

impl DenseQ {
    /// Wraps `values` (row-major, `n × n`). Returns `None` when the length is
    /// not `n²` or the matrix is not symmetric to the bit.
    pub fn new(n: usize, values: Vec<f64>) -> Option<Self> {
        if values.len() != n * n {
            return None;
        }
        for i in 0..n {
            for j in 0..i {
                if values[i * n + j] != values[j * n + i] {
                    return None;
                }
            }
        }
        Some(Self { n, values })
    }

    /// The entry `Q[i, j]`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.n + j]
    }
}

impl QMatrix for DenseQ {
    fn dim(&self) -> usize {
        self.n
    }

    fn diagonal(&self, out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.get(i, i);
        }
    }

    fn column(&self, j: usize, rows: &[usize], out: &mut [f64]) {
        for (o, &i) in out.iter_mut().zip(rows) {
            *o = self.values[j * self.n + i];
        }
    }

    fn matvec(&self, v: &[f64], out: &mut [f64]) {
        out.par_iter_mut().enumerate().for_each(|(i, o)| {
            let row = &self.values[i * self.n..(i + 1) * self.n];
            *o = row.iter().zip(v).map(|(a, b)| a * b).sum();
        });
    }
}
