//! The `svm-dual` command line, in three steps like hyperfine's:
//!
//! 1. [`args`]: clap's view of the command line, checked once into typed
//!    [`args::SolveOptions`] (a bad value is an error before any work);
//! 2. [`run`]: load, train and verify on a rayon pool of `--threads`
//!    threads, timing each phase, and assemble the [`svm_dual::report::Report`];
//! 3. [`output`]: write the report and the model atomically and print the
//!    one-line summary.
//!
//! Exit codes: 0 converged; 3 stopped before converging (a limit was
//! reached, or the dual is unbounded; outputs still written); 130
//! interrupted by Ctrl-C (outputs of the iterate reached still written);
//! 2 bad arguments or bad input; 1 any other failure (e.g. an output file
//! could not be written).

pub mod args;
pub mod cv_cmd;
pub mod init;
pub mod output;
pub mod predict;
pub mod run;
pub mod verify_cmd;

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use svm_dual::data::DataError;
use svm_dual::report::ReportStatus;
use svm_dual::train::TrainError;

/// Exit status: the solver converged.
pub const EXIT_CONVERGED: u8 = 0;
/// Exit status: `predict` or `verify` finished (same value as
/// [`EXIT_CONVERGED`]).
pub const EXIT_SUCCESS: u8 = 0;
/// Exit status: another failure (writing an output, starting threads).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: bad arguments or bad input data.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status: the solve stopped before converging (an iteration or time
/// limit was reached, or the dual was found unbounded); the outputs are
/// still written.
pub const EXIT_LIMIT: u8 = 3;
/// Exit status: the solve was interrupted by Ctrl-C (SIGINT), 128 + 2 as
/// shells report a process killed by SIGINT; the outputs of the iterate
/// reached are still written. A second Ctrl-C exits at once, with the same
/// code, writing nothing.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Everything that stops a run, with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// An argument value is out of range or inconsistent (exit 2).
    Argument(String),
    /// The data file cannot be read or parsed (exit 2).
    Data(DataError),
    /// Training refused the data or the options (exit 2).
    Train(TrainError),
    /// An output could not be written (exit 1).
    Output {
        /// The file (or `-` for standard output).
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The thread pool could not be started (exit 1).
    Threads(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Argument(_) | CliError::Data(_) | CliError::Train(_) => EXIT_BAD_INPUT,
            CliError::Output { .. } | CliError::Threads(_) => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Argument(m) => write!(f, "{m}"),
            CliError::Data(e) => write!(f, "{e}"),
            CliError::Train(e) => write!(f, "{e}"),
            CliError::Output { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
            CliError::Threads(m) => write!(f, "cannot start the thread pool: {m}"),
        }
    }
}

impl std::error::Error for CliError {}

impl From<DataError> for CliError {
    fn from(e: DataError) -> Self {
        CliError::Data(e)
    }
}

impl From<TrainError> for CliError {
    fn from(e: TrainError) -> Self {
        match e {
            TrainError::Data(d) => CliError::Data(d),
            other => CliError::Train(other),
        }
    }
}

/// The exit code of a finished solve.
pub fn status_exit_code(status: ReportStatus) -> u8 {
    match status {
        ReportStatus::Converged => EXIT_CONVERGED,
        ReportStatus::MaxIterations
        | ReportStatus::TimeLimit
        | ReportStatus::Unbounded
        | ReportStatus::Stalled => EXIT_LIMIT,
        ReportStatus::Interrupted => EXIT_INTERRUPTED,
    }
}

/// Parses the command line, runs the command and maps the outcome to an
/// exit code. clap's own usage errors exit with 2, `--help` with 0.
pub fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Solve(raw) => raw
            .validate()
            .and_then(|options| run::solve_and_deliver(&options)),
        args::Command::Predict(raw) => predict::run(raw).map(|()| EXIT_SUCCESS),
        args::Command::Verify(raw) => verify_cmd::run(raw).map(|()| EXIT_SUCCESS),
        args::Command::Cv(raw) => cv_cmd::run_cv(raw),
        args::Command::Grid(raw) => cv_cmd::run_grid(raw),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Nothing sensible is left to do if stderr itself is closed.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
