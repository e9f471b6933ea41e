//! Writing the results: the report (JSON) and the model (JSON or LIBSVM's
//! text format) as files, atomically,
//! the report to stdout for `--report -`, and the one-line summary.
//!
//! Atomic means: each file is first written to a temporary file in the
//! target's directory and flushed to disk (`fsync`); only when every output
//! is staged are they renamed into place (and the directory synced). On any
//! error the temporary files are removed, and an output already renamed in
//! this run is removed again, so a failed run leaves nothing behind.
//!
//! A target that exists and is neither a regular file nor a directory — a
//! device such as `/dev/null`, `/dev/stdout` (a pipe or a terminal), a
//! named pipe — is not a file to replace: renaming onto it would replace
//! the device node itself (`/dev/null` becoming a regular file, for a
//! process allowed to write in `/dev`). Such a target is opened and written
//! in place, after the files are renamed (a failed write removes them
//! again). A symbolic link to a regular file is followed: the file it
//! points to is replaced, and the link stays.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use svm_dual::model_io::ModelFormat;
use svm_dual::multiclass::{write_any_json, write_any_libsvm, AnyModel};
use svm_dual::report::{Report, ReportStatus, TestEvaluation};

use super::args::{ReportTarget, SolveOptions};
use super::run::Outcome;
use super::CliError;

/// Whether `path` is `-`, the name of standard output on the command line
/// (`--report -`, `predict --output -`).
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Writes `bytes` to standard output and flushes it; a failure is an
/// output error on `-`.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Output {
            path: PathBuf::from("-"),
            source,
        })
}

/// A file written to a temporary name next to its target, not yet renamed.
/// Dropping it removes the temporary file.
#[derive(Debug)]
pub struct StagedFile {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedFile {
    /// Writes `bytes` to a new temporary file in `target`'s directory and
    /// syncs it to disk.
    pub fn write(target: &Path, bytes: &[u8]) -> io::Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_else(|| "output".into());
        let pid = std::process::id();
        let mut attempt = 0u32;
        let (temp, mut file) = loop {
            let temp = dir.join(format!(".{name}.{pid}.{attempt}.tmp"));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(f) => break (temp, f),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(e),
            }
        };
        // From here on the guard removes the temporary file on failure.
        let staged = Self {
            temp,
            target: target.to_path_buf(),
            committed: false,
        };
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(staged)
    }

    /// Renames the temporary file onto the target.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        sync_parent(&self.target);
        Ok(self.target.clone())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the file may already be gone.
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Syncs the directory holding `path`, so that a rename survives a crash
/// (best effort: not every platform can open a directory).
fn sync_parent(path: &Path) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// How an output reaches its target (see the module documentation).
#[derive(Debug, PartialEq)]
enum Target {
    /// A regular file, or a path that does not exist yet: staged next to
    /// this path (the file a symbolic link points to) and renamed onto it.
    File(PathBuf),
    /// A device, pipe or socket: written in place.
    Stream,
}

/// The [`Target`] kind of `path`, following symbolic links.
fn target_kind(path: &Path) -> Target {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => {
            let is_link = fs::symlink_metadata(path).is_ok_and(|l| l.file_type().is_symlink());
            let real = if is_link {
                fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
            } else {
                path.to_path_buf()
            };
            Target::File(real)
        }
        Ok(m) if !m.is_dir() => Target::Stream,
        _ => Target::File(path.to_path_buf()),
    }
}

/// Writes `bytes` to an existing device or pipe, in place.
fn write_in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// Writes every `(target, bytes)` atomically, all or nothing: all files are
/// staged before any is renamed, and on a failed rename the ones already
/// renamed are removed. Devices and pipes are written in place once the
/// files are renamed; a failed write removes the renamed files too.
pub fn write_all_atomically(files: &[(&Path, &[u8])]) -> Result<(), CliError> {
    let output_error = |path: &Path, source| CliError::Output {
        path: path.to_path_buf(),
        source,
    };
    let mut staged = Vec::with_capacity(files.len());
    let mut streams = Vec::new();
    for &(target, bytes) in files {
        match target_kind(target) {
            Target::File(real) => {
                let s = StagedFile::write(&real, bytes).map_err(|e| output_error(target, e))?;
                staged.push((target, s));
            }
            Target::Stream => streams.push((target, bytes)),
        }
    }
    let mut done: Vec<PathBuf> = Vec::with_capacity(staged.len());
    let undo = |done: &[PathBuf]| {
        for p in done {
            let _ = fs::remove_file(p);
        }
    };
    for (target, s) in staged {
        match s.commit() {
            Ok(p) => done.push(p),
            Err(source) => {
                undo(&done);
                return Err(output_error(target, source));
            }
        }
    }
    for (target, bytes) in streams {
        if let Err(source) = write_in_place(target, bytes) {
            undo(&done);
            return Err(output_error(target, source));
        }
    }
    Ok(())
}

/// The one-line summary: status, dual and primal objectives, relative gap
/// and total time. The primal is the certificate's
/// `primal_objective_best_bias`, the value the gap is measured against.
pub fn summary_line(report: &Report) -> String {
    let c = &report.certificate;
    format!(
        "{}: dual {}, primal {}, relative gap {:.3e}, {} iterations, {:.3} s",
        report.status.as_str(),
        significant(c.dual_objective),
        significant(c.primal_objective_best_bias),
        c.relative_gap,
        report.iterations,
        report.timings_seconds.total
    )
}

/// Above this certified relative gap a `converged` solve gets a note.
const GAP_NOTE: f64 = 1e-2;

/// A note for after the summary line when a solve met its tolerance but
/// its certificate is poor (or missing): the tolerance bounds the KKT
/// violation, not the gap, and at large C or on badly scaled data the two
/// part ways — as for LIBSVM's own solutions, which the verifier shows.
pub fn gap_note(status: ReportStatus, relative_gap: f64) -> Option<String> {
    let poor = relative_gap.is_nan() || relative_gap > GAP_NOTE;
    (status == ReportStatus::Converged && poor).then(|| {
        format!(
            "note: converged to --tol, but the certified relative gap is {relative_gap:.3e}: \
             a smaller --tol tightens it (binary problems: --target-gap stops on the gap)"
        )
    })
}

/// `x` with ten significant digits: fixed-point for moderate magnitudes,
/// scientific otherwise.
pub(crate) fn significant(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let exponent = x.abs().log10().floor() as i32;
    if (-3..9).contains(&exponent) {
        let decimals = (9 - exponent) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.9e}")
    }
}

/// Serialises a value to pretty JSON with a final newline.
fn to_json<T: serde::Serialize>(value: &T, what: &Path) -> Result<String, CliError> {
    let mut s = serde_json::to_string_pretty(value).map_err(|e| CliError::Output {
        path: what.to_path_buf(),
        source: io::Error::other(e),
    })?;
    s.push('\n');
    Ok(s)
}

/// The model file's text in the format `options` ask for, or `None`
/// without `--model`. A model LIBSVM's format cannot hold is an argument
/// error (exit 2), reported before anything is written. A model with a
/// number that is not finite (an unbounded or overflowing solve, whose
/// status says so) is not written, with a warning: it would predict
/// nothing and could not be read back.
pub fn model_text(options: &SolveOptions, model: &AnyModel) -> Result<Option<String>, CliError> {
    let Some(path) = &options.model else {
        return Ok(None);
    };
    if !model.is_finite() {
        let _ = writeln!(
            io::stderr(),
            "warning: no model written to {}: its bias or coefficients are not finite numbers",
            path.display()
        );
        return Ok(None);
    }
    let text = match options.model_format {
        ModelFormat::Json => write_any_json(model).map_err(|e| CliError::Output {
            path: path.clone(),
            source: io::Error::other(e),
        })?,
        ModelFormat::Libsvm => write_any_libsvm(model).map_err(|e| {
            CliError::Argument(format!(
                "invalid value for --model-format: cannot write {} as a LIBSVM model: {e}",
                path.display()
            ))
        })?,
    };
    Ok(Some(text))
}

/// Writes the report (a JSON text) and the model text where `options`
/// say: the files atomically, together or not at all, then the report to
/// stdout for `--report -`.
pub fn write_outputs(
    options: &SolveOptions,
    report_json: Option<&str>,
    model_text: Option<&str>,
) -> Result<(), CliError> {
    let mut files: Vec<(&Path, &[u8])> = Vec::new();
    if let (Some(ReportTarget::File(p)), Some(j)) = (&options.report, report_json) {
        files.push((p.as_path(), j.as_bytes()));
    }
    if let (Some(p), Some(m)) = (&options.model, model_text) {
        files.push((p.as_path(), m.as_bytes()));
    }
    write_all_atomically(&files)?;
    if let (Some(ReportTarget::Stdout), Some(j)) = (&options.report, report_json) {
        write_stdout(j.as_bytes())?;
    }
    Ok(())
}

/// The report as JSON when `options` ask for one.
pub fn report_json<T: serde::Serialize>(
    options: &SolveOptions,
    report: &T,
    test: Option<&TestEvaluation>,
) -> Result<Option<String>, CliError> {
    let report = WithTest { report, test };
    match &options.report {
        Some(ReportTarget::File(p)) => to_json(&report, p).map(Some),
        Some(ReportTarget::Stdout) => to_json(&report, Path::new("-")).map(Some),
        None => Ok(None),
    }
}

/// A report with the `--test` evaluation as its last section (`test`,
/// absent without `--test`).
#[derive(serde::Serialize)]
struct WithTest<'a, T: serde::Serialize> {
    #[serde(flatten)]
    report: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    test: Option<&'a TestEvaluation>,
}

/// Writes the outputs `options` ask for and prints the summary (unless
/// `--quiet`).
pub fn deliver(
    options: &SolveOptions,
    outcome: &Outcome,
    test: Option<&TestEvaluation>,
) -> Result<(), CliError> {
    let report = report_json(options, &outcome.report, test)?;
    let model = model_text(options, &AnyModel::Binary(outcome.model.clone()))?;
    write_outputs(options, report.as_deref(), model.as_deref())?;
    if !options.quiet {
        let _ = writeln!(io::stderr(), "{}", summary_line(&outcome.report));
        let r = &outcome.report;
        if let Some(note) = gap_note(r.status, r.certificate.relative_gap) {
            let _ = writeln!(io::stderr(), "{note}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_poor_certificate_of_a_converged_solve_gets_a_note() {
        assert!(gap_note(ReportStatus::Converged, 1e-4).is_none());
        assert!(gap_note(ReportStatus::Converged, 0.5).is_some());
        assert!(gap_note(ReportStatus::Converged, f64::NAN).is_some());
        // Other statuses already say the solve did not finish.
        assert!(gap_note(ReportStatus::MaxIterations, 0.5).is_none());
    }

    #[test]
    fn significant_digits() {
        assert_eq!(significant(57.941849111664), "57.94184911");
        assert_eq!(significant(-0.00123456789012), "-0.001234567890");
        assert_eq!(significant(1.5e12), "1.500000000e12");
        assert_eq!(significant(0.0), "0");
    }

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        fs::write(&a, "old").unwrap();
        write_all_atomically(&[(&a, b"new a"), (&b, b"new b")]).unwrap();
        assert_eq!(fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(fs::read_to_string(&b).unwrap(), "new b");
        assert_eq!(entries(dir.path()), ["a.json", "b.json"]);
    }

    #[test]
    fn a_failed_stage_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let missing = dir.path().join("no-such-dir").join("b.json");
        let e = write_all_atomically(&[(&a, b"a"), (&missing, b"b")]).unwrap_err();
        assert!(e.to_string().contains("b.json"), "{e}");
        assert_eq!(e.exit_code(), super::super::EXIT_FAILURE);
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }

    /// A link to a device is written through, in place: neither the link
    /// nor the device is replaced by a file. (The link lives in a
    /// temporary directory, so a regression replaces the link, never
    /// `/dev/null` itself.)
    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("report.json");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        let file = dir.path().join("model.json");
        write_all_atomically(&[(&link, b"{}"), (&file, b"model")]).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::metadata(&link).unwrap().file_type().is_char_device());
        assert_eq!(fs::read_to_string(&file).unwrap(), "model");
        assert_eq!(entries(dir.path()), ["model.json", "report.json"]);
    }

    /// A link to a regular file: the file is replaced, the link stays.
    #[cfg(unix)]
    #[test]
    fn links_to_files_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "old").unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let link = sub.join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_all_atomically(&[(&link, b"new")]).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(entries(dir.path()), ["real.json", "sub"]);
        assert_eq!(entries(&sub), ["link.json"]);
    }

    #[test]
    fn target_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        assert_eq!(target_kind(&new), Target::File(new.clone()));
        assert_eq!(
            target_kind(dir.path()),
            Target::File(dir.path().to_path_buf())
        );
        #[cfg(unix)]
        assert_eq!(target_kind(Path::new("/dev/null")), Target::Stream);
    }

    #[test]
    fn a_failed_rename_undoes_earlier_renames() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        // A non-empty directory as the second target: staging works, the
        // rename fails.
        let b = dir.path().join("b");
        fs::create_dir(&b).unwrap();
        fs::write(b.join("keep"), "x").unwrap();
        assert!(write_all_atomically(&[(&a, b"a"), (&b, b"b")]).is_err());
        assert_eq!(entries(dir.path()), ["b"]);
    }
}
