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
///
/// The budget bounds the memory held: the capacities of the stored
/// columns' buffers plus those of spare buffers. A dropped column's buffer
/// is kept as a spare and handed to the next column that fits in it, so a
/// long run recycles the same memory instead of returning it to the
/// allocator and faulting fresh pages in for every new column (which, for
/// columns of hundreds of kilobytes, cost more than computing them: page
/// clearing and, with several threads, TLB shoot-downs).
#[derive(Debug, Clone)]
pub struct ColumnCache {
    budget: usize,
    /// `Σ capacity` over `data` and `spare`.
    held: usize,
    /// The buffers by position; only the first `valid[pos]` entries of
    /// each hold the column (a reused buffer keeps its old contents past
    /// that, so that growing a column into it writes no zeros first).
    data: Vec<Vec<f64>>,
    valid: Vec<usize>,
    /// Buffers of dropped columns, kept for reuse.
    spare: Vec<Vec<f64>>,
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
            held: 0,
            data: vec![Vec::new(); n],
            valid: vec![0; n],
            spare: Vec::new(),
            prev: vec![NIL; n],
            next: vec![NIL; n],
            head: NIL,
            tail: NIL,
        }
    }

    /// Raises the budget to `budget_bytes` (never below what it was).
    pub fn raise_budget(&mut self, budget_bytes: usize) {
        self.budget = self.budget.max(budget_bytes / std::mem::size_of::<f64>());
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

    /// Drops the column at `pos` (linked in the LRU list); its buffer
    /// becomes a spare.
    fn drop_column(&mut self, pos: usize) {
        self.unlink(pos);
        self.valid[pos] = 0;
        let buffer = std::mem::take(&mut self.data[pos]);
        self.spare.push(buffer);
    }

    /// Gives the (unlinked) column at `pos` a buffer of capacity at least
    /// `len`: a spare that fits, or the buffer of an evicted column that
    /// fits, or memory within the budget after freeing spares and evicting
    /// least-recently-used columns other than `protect`.
    fn make_room(&mut self, pos: usize, len: usize, protect: Option<usize>) {
        let empty = self.valid[pos] == 0;
        if empty {
            if let Some(k) = self.spare.iter().position(|b| b.capacity() >= len) {
                self.data[pos] = self.spare.swap_remove(k);
                return;
            }
        }
        let extra = len - self.data[pos].capacity();
        let mut victim = self.head;
        while self.held + extra > self.budget {
            if let Some(b) = self.spare.pop() {
                self.held -= b.capacity();
                continue;
            }
            if victim == NIL {
                break;
            }
            let following = self.next[victim];
            if Some(victim) != protect {
                self.unlink(victim);
                self.valid[victim] = 0;
                let buffer = std::mem::take(&mut self.data[victim]);
                if empty && buffer.capacity() >= len {
                    self.data[pos] = buffer;
                    return;
                }
                self.held -= buffer.capacity();
            }
            victim = following;
        }
        let before = self.data[pos].capacity();
        let have = self.data[pos].len().min(len);
        self.data[pos].reserve_exact(len - have);
        self.held += self.data[pos].capacity() - before;
    }

    /// Makes room for the column at `pos` to hold `len` rows, evicting
    /// least-recently-used columns other than `protect`, and marks it most
    /// recently used. Returns the first row the caller must fill: rows
    /// `start..len` of [`ColumnCache::column_mut`] are not yet computed.
    pub fn prepare(&mut self, pos: usize, len: usize, protect: Option<usize>) -> usize {
        let have = self.valid[pos];
        if have > 0 {
            self.unlink(pos);
        }
        if have < len {
            if self.data[pos].capacity() < len {
                self.make_room(pos, len, protect);
            }
            if self.data[pos].len() < len {
                self.data[pos].resize(len, 0.0);
            }
            self.valid[pos] = len;
        }
        self.push_back(pos);
        have.min(len)
    }

    /// The stored prefix of the column at `pos`.
    pub fn column(&self, pos: usize) -> &[f64] {
        &self.data[pos][..self.valid[pos]]
    }

    /// The stored prefix of the column at `pos`, for filling.
    pub fn column_mut(&mut self, pos: usize) -> &mut [f64] {
        &mut self.data[pos][..self.valid[pos]]
    }

    /// Swaps positions `i` and `j` (`i < j`): the columns trade places and
    /// every cached column swaps rows `i` and `j`.
    pub fn swap(&mut self, i: usize, j: usize) {
        self.swap_many(&[(i, j)]);
    }

    /// [`ColumnCache::swap`] for each pair in order (`i < j` in each), with
    /// the rows of each cached column swapped in one pass over that column
    /// (in parallel over columns) instead of one pass over all columns per
    /// pair: a shrinking step moves thousands of positions, and touching
    /// two rows of every cached column per move misses the processor cache
    /// twice per column. A column holding row `i` but not row `j` of some
    /// pair is dropped, as one pair at a time would drop it.
    pub fn swap_many(&mut self, pairs: &[(usize, usize)]) {
        use rayon::prelude::*;
        for &(i, j) in pairs {
            debug_assert!(i < j);
            let (had_i, had_j) = (self.valid[i] > 0, self.valid[j] > 0);
            if had_i {
                self.unlink(i);
            }
            if had_j {
                self.unlink(j);
            }
            self.data.swap(i, j);
            self.valid.swap(i, j);
            if self.valid[i] > 0 {
                self.push_back(i);
            }
            if self.valid[j] > 0 {
                self.push_back(j);
            }
        }
        let mut pos = self.head;
        while pos != NIL {
            let following = self.next[pos];
            let len = self.valid[pos];
            if pairs.iter().any(|&(i, j)| len > i && len <= j) {
                self.drop_column(pos);
            }
            pos = following;
        }
        self.data
            .par_iter_mut()
            .zip(self.valid.par_iter())
            .for_each(|(column, &len)| {
                for &(i, j) in pairs {
                    if len > j {
                        column.swap(i, j);
                    }
                }
            });
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

    /// `held` is the memory of the stored and spare buffers.
    fn held_matches(c: &ColumnCache) -> bool {
        let stored: usize = c.data.iter().map(Vec::capacity).sum();
        let spare: usize = c.spare.iter().map(Vec::capacity).sum();
        c.held == stored + spare
    }

    #[test]
    fn buffers_are_reused_within_the_budget_and_values_kept() {
        let n = 40;
        // Room for five full columns.
        let mut c = ColumnCache::new(n, 5 * n * 8);
        let value = |pos: usize, row: usize| (pos * 1000 + row) as f64;
        let mut s: u64 = 7;
        let mut next = |m: usize| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as usize) % m
        };
        for step in 0..5000 {
            let pos = next(n);
            let len = 1 + next(n);
            let protect = (step % 3 == 0).then(|| next(n)).filter(|&p| p != pos);
            let protected_len = protect.map(|p| c.column(p).len());
            let start = c.prepare(pos, len, protect);
            for (row, v) in c.column_mut(pos)[start..len].iter_mut().enumerate() {
                *v = value(pos, start + row);
            }
            assert!(c.column(pos).len() >= len);
            for (row, &v) in c.column(pos)[..len].iter().enumerate() {
                assert_eq!(v, value(pos, row), "step {step}");
            }
            if let (Some(p), Some(l)) = (protect, protected_len) {
                assert_eq!(c.column(p).len(), l, "protected column {p} touched");
            }
            assert!(held_matches(&c), "step {step}");
            assert!(c.held <= c.budget, "step {step}: {} > {}", c.held, c.budget);
        }
    }

    #[test]
    fn many_swaps_at_once_equal_one_at_a_time() {
        let n = 12;
        let mut c = ColumnCache::new(n, 1 << 20);
        // The reference: the columns by position, swapped pair by pair.
        let mut model: Vec<Option<Vec<f64>>> = vec![None; n];
        for (pos, len) in [(0, 12), (2, 5), (3, 9), (5, 12), (7, 3), (11, 8)] {
            c.prepare(pos, len, None);
            let values: Vec<f64> = (0..len).map(|r| (100 * pos + r) as f64).collect();
            c.column_mut(pos).copy_from_slice(&values);
            model[pos] = Some(values);
        }
        let pairs = [(1, 10), (0, 5), (2, 7), (4, 8), (3, 11), (6, 9)];
        for &(i, j) in &pairs {
            model.swap(i, j);
            for column in model.iter_mut() {
                let len = column.as_ref().map_or(0, Vec::len);
                if len > j {
                    column.as_mut().unwrap().swap(i, j);
                } else if len > i {
                    *column = None;
                }
            }
        }
        c.swap_many(&pairs);
        for (pos, want) in model.iter().enumerate() {
            match want {
                Some(v) => assert_eq!(c.column(pos), v.as_slice(), "position {pos}"),
                None => assert!(c.column(pos).is_empty(), "position {pos}"),
            }
        }
        assert!(held_matches(&c));
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
