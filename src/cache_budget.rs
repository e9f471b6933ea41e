//! The default memory budget for `Q` (`--cache-mb`), chosen from the
//! machine's memory.
//!
//! The budget is a quarter of the memory this process may use, at most
//! [`MAX_DEFAULT_CACHE_BYTES`] (200 MiB, scikit-learn's `cache_size`):
//!
//! `budget = min(200 MiB, ¼ · min(MemTotal, cgroup limit))`
//!
//! where `MemTotal` is read from `/proc/meminfo` and the cgroup limit is
//! the smallest `memory.max` (cgroup v2) or `memory.limit_in_bytes`
//! (cgroup v1) on the process's cgroup path — the limit a container sets.
//! A quarter leaves the rest to the data (`O(nnz)`), the verifier and the
//! rest of the machine. Where neither can be read (systems other than
//! Linux), the budget is 200 MiB.
//!
//! Why no more than 200 MiB on a large machine: measured on a9a
//! (n = 32 561, RBF, 2 threads), more memory for `Q` made the solve slower,
//! never faster.
//! - SMO with pairs and an LRU column cache: 2000 and 6000 MiB took longer
//!   than 200 (with the L2 loss SMO cycles through about 20 000 columns,
//!   so a cache smaller than all of them hardly ever hits: 66 920 columns
//!   computed with 2000 MiB against 68 616 with 200), and the whole `Q`
//!   (9000 MiB) took 20 s against 5 s.
//! - SMO in batches with every formed column kept for later rounds (a
//!   store of `n`-entry columns, least recently used evicted; tried at
//!   this module's commit and not kept): with 6000 MiB it formed 20 547
//!   columns instead of 83 733, but copying a column out of the store
//!   (2.57 s for 63 677 columns, 40 µs each) cost as much as forming it
//!   (3.61 s for 83 733 columns without the store, 43 µs each), and
//!   copying the formed ones into it, faulting in 5.3 GB, took 16 s more:
//!   the run took 25.5 s against 7.5 s without the store, and 12.6 s with
//!   one of 200 MiB (too small to hit, so only the copies).
//!
//! A kernel value costs about as much to form by the block products of
//! [`crate::kernel`] as to read back from memory, so memory beyond the
//! working set's block buys nothing here; the budget protects small
//! machines and containers instead.

/// The largest default budget: 200 MiB.
pub const MAX_DEFAULT_CACHE_BYTES: usize = 200 << 20;

/// The default budget for `Q`: [`default_cache_bytes_for`] of this
/// process's memory ([`memory_limit`]).
pub fn default_cache_bytes() -> usize {
    default_cache_bytes_for(memory_limit())
}

/// The smallest default budget: 1 MiB (a limit under 4 MiB is not a
/// machine this runs on, but a misread one must not give 0).
pub const MIN_DEFAULT_CACHE_BYTES: usize = 1 << 20;

/// `min(200 MiB, limit / 4)`, at least 1 MiB; 200 MiB when the limit is
/// unknown.
pub fn default_cache_bytes_for(limit: Option<u64>) -> usize {
    match limit {
        Some(bytes) => usize::try_from(bytes / 4)
            .unwrap_or(usize::MAX)
            .clamp(MIN_DEFAULT_CACHE_BYTES, MAX_DEFAULT_CACHE_BYTES),
        None => MAX_DEFAULT_CACHE_BYTES,
    }
}

/// The memory this process may use, in bytes: the smaller of the
/// machine's (`MemTotal`) and its cgroup's limit, whichever can be read;
/// `None` when neither can.
pub fn memory_limit() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total(&text));
    let cgroup = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|text| cgroup_limit(&text, |path| std::fs::read_to_string(path).ok()));
    match (total, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
pub fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut fields = line["MemTotal:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    let scale = match fields.next() {
        Some("kB") => 1024,
        None => 1,
        Some(_) => return None,
    };
    value.checked_mul(scale)
}

/// The smallest memory limit on the cgroup paths of a `/proc/self/cgroup`
/// text, each limit file read by `read` (its path under `/sys/fs/cgroup`):
/// `memory.max` in the unified hierarchy (line `0::<path>`) and
/// `memory.limit_in_bytes` in the v1 memory controller (line
/// `<id>:memory:<path>`, or a list of controllers containing `memory`),
/// on the path and each of its ancestors. `max`, unreadable files and
/// v1's "no limit" (a value of 2⁶² or more) are no limit.
pub fn cgroup_limit(cgroup: &str, read: impl Fn(&str) -> Option<String>) -> Option<u64> {
    let mut limit: Option<u64> = None;
    for line in cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (root, file) = if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")
        } else {
            continue;
        };
        let mut dir = path.trim_end_matches('/');
        loop {
            let value = read(&format!("{root}{dir}/{file}"))
                .and_then(|text| text.trim().parse::<u64>().ok())
                .filter(|&v| v < 1 << 62);
            if let Some(v) = value {
                limit = Some(limit.map_or(v, |l| l.min(v)));
            }
            match dir.rfind('/') {
                Some(cut) => dir = &dir[..cut],
                None => break,
            }
        }
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const MIB: u64 = 1 << 20;

    #[test]
    fn a_quarter_of_the_memory_at_most_200_mib() {
        assert_eq!(default_cache_bytes_for(None), 200 << 20);
        assert_eq!(default_cache_bytes_for(Some(24 << 30)), 200 << 20);
        assert_eq!(default_cache_bytes_for(Some(512 * MIB)), 128 << 20);
        assert_eq!(default_cache_bytes_for(Some(800 * MIB)), 200 << 20);
        assert_eq!(default_cache_bytes_for(Some(0)), 1 << 20);
    }

    #[test]
    fn mem_total_is_read_in_bytes() {
        let text = "MemFree:  100 kB\nMemTotal:       24576000 kB\nMemAvailable: 3 kB\n";
        assert_eq!(mem_total(text), Some(24_576_000 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
        assert_eq!(mem_total("MemTotal: lots kB\n"), None);
        assert_eq!(mem_total("MemTotal: 5 MB\n"), None);
    }

    fn files(entries: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = entries
            .iter()
            .map(|(p, v)| (p.to_string(), v.to_string()))
            .collect();
        move |path| map.get(path).cloned()
    }

    #[test]
    fn the_smallest_limit_on_the_path_counts() {
        let read = files(&[
            ("/sys/fs/cgroup/memory.max", "max\n"),
            ("/sys/fs/cgroup/jobs/memory.max", "1073741824\n"),
            ("/sys/fs/cgroup/jobs/svm/memory.max", "max\n"),
        ]);
        assert_eq!(cgroup_limit("0::/jobs/svm\n", &read), Some(1 << 30));
        assert_eq!(cgroup_limit("0::/\n", &read), None);
        assert_eq!(cgroup_limit("0::/other\n", &read), None);
    }

    #[test]
    fn cgroup_v1_memory_controller_and_its_no_limit_value() {
        let read = files(&[
            (
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
            (
                "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes",
                "536870912\n",
            ),
        ]);
        let text = "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n";
        assert_eq!(cgroup_limit(text, &read), Some(512 * MIB));
        assert_eq!(cgroup_limit("4:memory:/\n", &read), None);
        assert_eq!(cgroup_limit("garbage\n", &read), None);
    }

    #[test]
    fn this_machine_gives_a_positive_budget_within_the_cap() {
        let budget = default_cache_bytes();
        assert!(budget > 0 && budget <= MAX_DEFAULT_CACHE_BYTES);
        if let Some(limit) = memory_limit() {
            assert_eq!(budget as u64, (limit / 4).clamp(MIB, 200 * MIB));
        }
    }
}
