//! Refusing input files that do not fit in memory, before allocating for
//! them, with a typed error instead of the out-of-memory killer.
//!
//! The readers take a whole file into memory and then build their
//! structures from it. Both steps are checked against the memory available
//! when reading starts (Linux: `MemAvailable` of `/proc/meminfo`, the
//! kernel's estimate of what can be allocated without swapping, see
//! `proc(5)`; elsewhere no check is made):
//!
//! 1. before reading, the file size (from its metadata) must fit;
//! 2. after reading, before parsing, the file plus an estimate of the peak
//!    size of the parsed structures must fit. Each reader estimates from
//!    counts of separators in the bytes (e.g. `:` for LIBSVM pairs, line
//!    ends for rows), never from numbers written in the file.
//!
//! The figure can be fixed by a [`MemoryLimit`] parameter (tests use this
//! to refuse a small file without needing a huge one).

use std::fmt;

/// How much memory a reader may assume it can allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemoryLimit {
    /// The memory the system reports available when reading starts
    /// (`MemAvailable` on Linux); no check where there is no such figure.
    #[default]
    System,
    /// This many bytes, whatever the system reports.
    Bytes(u64),
    /// No check.
    Unlimited,
}

impl MemoryLimit {
    /// The figure in bytes, or `None` when nothing is checked.
    pub fn available_bytes(self) -> Option<u64> {
        match self {
            MemoryLimit::System => system_available_bytes(),
            MemoryLimit::Bytes(b) => Some(b),
            MemoryLimit::Unlimited => None,
        }
    }
}

/// `MemAvailable` of `/proc/meminfo` in bytes (Linux), `None` when the
/// file or the line is missing (other systems, kernels before 3.14).
pub fn system_available_bytes() -> Option<u64> {
    if cfg!(target_os = "linux") {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        mem_available_from(&text)
    } else {
        None
    }
}

/// The `MemAvailable:  N kB` line of a `/proc/meminfo` text, in bytes.
pub fn mem_available_from(meminfo: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?;
    let mut words = line.split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => n.checked_mul(1024),
        None => Some(n),
        Some(_) => None,
    }
}

/// A file refused because reading it would need more memory than is
/// available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryShortfall {
    /// The size of the file.
    pub file_bytes: u64,
    /// The estimated peak memory of reading it: the file itself plus the
    /// parsed structures (just the file size when refused before reading).
    pub needed_bytes: u64,
    /// The memory available ([`MemoryLimit::available_bytes`]).
    pub available_bytes: u64,
}

impl MemoryShortfall {
    /// `Err` when `needed_bytes` exceeds `available` (no check when
    /// `available` is `None`).
    pub fn check(file_bytes: u64, needed_bytes: u64, available: Option<u64>) -> Result<(), Self> {
        match available {
            Some(available_bytes) if needed_bytes > available_bytes => Err(Self {
                file_bytes,
                needed_bytes,
                available_bytes,
            }),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for MemoryShortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.needed_bytes == self.file_bytes {
            // Refused before reading: the file alone does not fit.
            write!(
                f,
                "too large for the available memory: the file is {}, but only {} is available",
                Size(self.file_bytes),
                Size(self.available_bytes)
            )
        } else {
            write!(
                f,
                "too large for the available memory: the file is {} and reading it needs about \
                 {}, but only {} is available",
                Size(self.file_bytes),
                Size(self.needed_bytes),
                Size(self.available_bytes)
            )
        }
    }
}

/// A byte count for people: `27670 bytes`, `3.2 MiB (3355443 bytes)`.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        let mut value = self.0 as f64;
        let mut unit = None;
        for u in UNITS {
            if value < 1024.0 {
                break;
            }
            value /= 1024.0;
            unit = Some(u);
        }
        match unit {
            None => write!(f, "{} bytes", self.0),
            Some(u) => write!(f, "{value:.1} {u} ({} bytes)", self.0),
        }
    }
}

/// The size of a file from its metadata, `None` when it cannot be had (the
/// read that follows then reports the problem).
pub(crate) fn file_size(path: &std::path::Path) -> Option<u64> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// Occurrences of `byte` in `bytes`, as a `u64`.
pub(crate) fn count_byte(bytes: &[u8], byte: u8) -> u64 {
    bytes.iter().filter(|&&b| b == byte).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mem_available_in_bytes() {
        let text = "MemTotal:       24576000 kB\nMemFree:         1000 kB\n\
                    MemAvailable:   12288000 kB\nBuffers: 0 kB\n";
        assert_eq!(mem_available_from(text), Some(12_288_000 * 1024));
        assert_eq!(mem_available_from("MemTotal: 5 kB\n"), None);
        assert_eq!(mem_available_from("MemAvailable: x kB\n"), None);
        assert_eq!(mem_available_from("MemAvailable: 7 MB\n"), None);
    }

    #[test]
    fn system_figure_exists_on_linux() {
        if cfg!(target_os = "linux") && std::path::Path::new("/proc/meminfo").exists() {
            assert!(system_available_bytes().is_some_and(|b| b > 0));
        }
    }

    #[test]
    fn check_and_message() {
        assert_eq!(MemoryShortfall::check(10, 100, None), Ok(()));
        assert_eq!(MemoryShortfall::check(10, 100, Some(100)), Ok(()));
        let e = MemoryShortfall::check(27_670, 5 << 30, Some(3 << 20)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "too large for the available memory: the file is 27.0 KiB (27670 bytes) and \
             reading it needs about 5.0 GiB (5368709120 bytes), but only 3.0 MiB \
             (3145728 bytes) is available"
        );
        assert_eq!(Size(1023).to_string(), "1023 bytes");
        let before_reading = MemoryShortfall::check(1 << 40, 1 << 40, Some(1 << 34)).unwrap_err();
        assert_eq!(
            before_reading.to_string(),
            "too large for the available memory: the file is 1.0 TiB (1099511627776 bytes), \
             but only 16.0 GiB (17179869184 bytes) is available"
        );
    }
}
