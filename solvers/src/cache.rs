//! A least-recently-used cache of partial columns of `Q`.
//!
//! Columns are keyed by *position* in the solver's working order (the order
//! shrinking permutes), and hold `Q[perm[0..len], perm[pos]]` for some
//! prefix length `len`; a request for a longer prefix extends the stored
//! column. This is the design of LIBSVM's `Cache` (Chang & Lin, ACM TIST
//! 2011, §5.1): when the solver swaps two positions, every cached column
//! swaps the two rows, and a column that holds only one of the two rows is
//! dropped.

/// The end of the intrusive LRU list.
const NIL: usize = usize::MAX;

/// An LRU cache of column prefixes with a budget in `f64` entries.
#[derive(Debug, Clone)]
pub struct ColumnCache {
    budget: usize,
    used: usize,
    data: Vec<Vec<f64>>,
    prev: Vec<usize>,
    next: Vec<usize>,
    head: usize,
    tail: usize,
}

impl ColumnCache {
    /// A cache for `n` columns within `budget_bytes` (raised to two full
    /// columns, the least the solver needs at once).
    pub fn new(n: usize, budget_bytes: usize) -> Self {
        let budget = (budget_bytes / std::mem::size_of::<f64>()).max(2 * n);
        Self {
            budget,
            used: 0,
            data: vec![Vec::new(); n],
            prev: vec![NIL; n],
            next: vec![NIL; n],
            head: NIL,
            tail: NIL,
        }
    }

    fn unlink(&mut self, pos: usize) {
        let (p, n) = (self.prev[pos], self.next[pos]);
        if p == NIL {
            self.head = n;
        } else {
            self.next[p] = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.prev[n] = p;
        }
        self.prev[pos] = NIL;
        self.next[pos] = NIL;
    }

    fn push_back(&mut self, pos: usize) {
        self.prev[pos] = self.tail;
        self.next[pos] = NIL;
        if self.tail == NIL {
            self.head = pos;
        } else {
            self.next[self.tail] = pos;
        }
        self.tail = pos;
    }

    fn drop_column(&mut self, pos: usize) {
        self.unlink(pos);
        self.used -= self.data[pos].len();
        self.data[pos] = Vec::new();
    }

    /// Makes room for the column at `pos` to hold `len` rows, evicting
    /// least-recently-used columns other than `protect`, and marks it most
    /// recently used. Returns the first row the caller must fill: rows
    /// `start..len` of [`ColumnCache::column_mut`] are not yet computed.
    pub fn prepare(&mut self, pos: usize, len: usize, protect: Option<usize>) -> usize {
        let have = self.data[pos].len();
        if have > 0 {
            self.unlink(pos);
        }
        if have < len {
            let extra = len - have;
            let mut victim = self.head;
            while self.used + extra > self.budget && victim != NIL {
                let following = self.next[victim];
                if Some(victim) != protect {
                    self.drop_column(victim);
                }
                victim = following;
            }
            self.data[pos].resize(len, 0.0);
            self.used += extra;
        }
        self.push_back(pos);
        have.min(len)
    }

    /// The stored prefix of the column at `pos`.
    pub fn column(&self, pos: usize) -> &[f64] {
        &self.data[pos]
    }

    /// The stored prefix of the column at `pos`, for filling.
    pub fn column_mut(&mut self, pos: usize) -> &mut [f64] {
        &mut self.data[pos]
    }

    /// Swaps positions `i` and `j` (`i < j`): the columns trade places and
    /// every cached column swaps rows `i` and `j`.
    pub fn swap(&mut self, i: usize, j: usize) {
        debug_assert!(i < j);
        let (had_i, had_j) = (!self.data[i].is_empty(), !self.data[j].is_empty());
        if had_i {
            self.unlink(i);
        }
        if had_j {
            self.unlink(j);
        }
        self.data.swap(i, j);
        if !self.data[i].is_empty() {
            self.push_back(i);
        }
        if !self.data[j].is_empty() {
            self.push_back(j);
        }
        let mut pos = self.head;
        while pos != NIL {
            let following = self.next[pos];
            let len = self.data[pos].len();
            if len > j {
                self.data[pos].swap(i, j);
            } else if len > i {
                self.drop_column(pos);
            }
            pos = following;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_within_budget() {
        // Budget of 8 entries for n = 4 columns (minimum is 2 n = 8).
        let mut c = ColumnCache::new(4, 0);
        assert_eq!(c.prepare(0, 4, None), 0);
        c.column_mut(0).copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(c.prepare(1, 4, None), 0);
        // Column 0 is older: asking for a third full column evicts it.
        assert_eq!(c.prepare(2, 4, Some(1)), 0);
        assert!(c.column(0).is_empty());
        assert_eq!(c.column(1).len(), 4);
        // A cached column is not recomputed.
        assert_eq!(c.prepare(2, 4, None), 4);
    }

    #[test]
    fn extends_prefixes_and_swaps_rows() {
        let mut c = ColumnCache::new(4, 1 << 10);
        assert_eq!(c.prepare(3, 2, None), 0);
        c.column_mut(3).copy_from_slice(&[10.0, 11.0]);
        assert_eq!(c.prepare(3, 4, None), 2);
        c.column_mut(3)[2..].copy_from_slice(&[12.0, 13.0]);
        assert_eq!(c.prepare(0, 2, None), 0);
        c.column_mut(0).copy_from_slice(&[0.5, 0.6]);
        c.swap(1, 3);
        // Column 3 moved to position 1 and its rows 1 and 3 swapped.
        assert_eq!(c.column(1), &[10.0, 13.0, 12.0, 11.0]);
        // Column 0 held row 1 but not row 3: dropped.
        assert!(c.column(0).is_empty());
    }
}
