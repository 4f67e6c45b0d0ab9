//! PLACEHOLDER: model validation. Interface fixed here.
use crate::model::Deployment;
use crate::script::ScriptError;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong with a model, in words a business analyst understands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub severity: Severity,
    pub element_id: Option<String>,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Checks a parsed deployment. `script_errors` are the compile failures of its scripts
/// (index = ScriptId into `deployment.sources`).
pub fn validate(deployment: &Deployment, script_errors: &[(u32, ScriptError)]) -> Vec<Problem> {
    let _ = (deployment, script_errors);
    Vec::new()
}
