//! The view of the Hessian `Q` that the solvers need.
//!
//! SMO touches `Q` one column at a time and only on the rows that are still
//! active after shrinking; projected-gradient methods need whole products
//! `Qv`. [`QMatrix`] offers exactly these three operations, so the solvers
//! never see kernels, features or labels.

use crate::error::SetupError;
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

    /// Whether `size` columns formed together ([`QMatrix::columns`]) cost
    /// clearly less than `size` single columns (as when a block of kernel
    /// columns of sparse data is one sparse × dense product). The default
    /// is `false`.
    fn blocks_preferred(&self, size: usize) -> bool {
        let _ = size;
        false
    }

    /// Writes the columns `cols` of `Q` on the rows `rows` as a row-major
    /// `rows.len() × cols.len()` block with row stride `ld ≥ cols.len()`:
    /// `out[r·ld + k] = Q[rows[r], cols[k]]` (`out` holds at least
    /// `(rows.len() − 1)·ld + cols.len()` entries; the others are left
    /// alone). For solvers that work on many columns at once
    /// ([`crate::batch`]).
    ///
    /// The default computes each column with [`QMatrix::column`] (in
    /// parallel) and transposes; implementations that can form a block of
    /// columns as one matrix product should override it.
    fn columns(&self, cols: &[usize], rows: &[usize], out: &mut [f64], ld: usize) {
        columns_one_by_one(self, cols, rows, out, ld);
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

/// [`QMatrix::columns`] by one [`QMatrix::column`] per column (in
/// parallel) on the rows asked for, then transposed into the row-major
/// block: the default, and the fallback of implementations whose block
/// product does not apply to every case.
pub fn columns_one_by_one<Q: QMatrix + ?Sized>(
    q: &Q,
    cols: &[usize],
    rows: &[usize],
    out: &mut [f64],
    ld: usize,
) {
    let (r, m) = (rows.len(), cols.len());
    assert!(m <= ld, "the stride must hold a row of the block");
    assert!(
        r == 0 || out.len() >= (r - 1) * ld + m,
        "out must hold a block row per row"
    );
    let mut by_columns = vec![0.0; m * r];
    by_columns
        .par_chunks_mut(r.max(1))
        .zip(cols)
        .for_each(|(col, &j)| q.column(j, rows, col));
    out.par_chunks_mut(ld)
        .take(r)
        .enumerate()
        .for_each(|(i, row)| {
            for (k, o) in row[..m].iter_mut().enumerate() {
                *o = by_columns[k * r + i];
            }
        });
}

/// `Q`'s diagonal, checked finite and non-negative (as a positive
/// semidefinite `Q` has it): the first thing every solver needs.
pub(crate) fn checked_diagonal(q: &dyn QMatrix) -> Result<Vec<f64>, SetupError> {
    let mut qd = vec![0.0; q.dim()];
    q.diagonal(&mut qd);
    diagonal_nonnegative("diagonal of Q", &qd)?;
    Ok(qd)
}

/// Checks that every entry of the diagonal `d` (named `what`) is finite
/// and nonnegative.
pub(crate) fn diagonal_nonnegative(what: &'static str, d: &[f64]) -> Result<(), SetupError> {
    match d.iter().position(|v| !v.is_finite() || *v < 0.0) {
        Some(index) if d[index].is_finite() => Err(SetupError::NegativeDiagonal {
            what,
            index,
            value: d[index],
        }),
        Some(index) => Err(SetupError::NonFinite { what, index }),
        None => Ok(()),
    }
}
