//! SMO (being written).
use crate::{Progress, QMatrix, QpProblem, SetupError, SmoSettings, Solution};
/// Solves the QP.
pub fn solve_smo(
    q: &dyn QMatrix,
    problem: &QpProblem<'_>,
    settings: &SmoSettings,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> Result<Solution, SetupError> {
    let _ = (q, problem, settings, progress);
    unimplemented!()
}
