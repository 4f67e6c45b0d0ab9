//! Process definitions: deploy, lists, one definition, validation.

use super::*;

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct DeployProcessDefinitionInput {
    #[serde(deserialize_with = "de::text")]
    pub bpmn_xml: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// `{formKey: formJson}`: the forms the model's FormKeys name.
    #[serde(default, deserialize_with = "de::forms")]
    #[ts(as = "Option<JsonObject>")]
    pub forms: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeployProcessDefinitionOutput {
    pub process_definition_id: i64,
    pub process_key: String,
    pub version: i64,
    pub warnings: Vec<Problem>,
}

/// The `data` of a deploy or a validation that failed: every problem, with its element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ProblemsData {
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ValidateProcessDefinitionInput {
    #[serde(deserialize_with = "de::text")]
    pub bpmn_xml: String,
}

/// A process of a model and its size (flow nodes and sequence flows at every depth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessSummary {
    pub id: String,
    pub flow_nodes: u32,
    pub sequence_flows: u32,
}

/// What `baton lint --json` prints and ValidateProcessDefinitionQuery answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ValidateProcessDefinitionOutput {
    pub processes: Vec<ProcessSummary>,
    pub problems: Vec<Problem>,
}

/// Lints one model text: its processes and every problem (errors and warnings). `file` names
/// the text in the parse error. A text that cannot be read as BPMN answers the parse error.
/// Under the default limits; see [`lint_with`].
pub fn lint(
    file: &str,
    xml: &str,
) -> Result<ValidateProcessDefinitionOutput, baton_engine::ParseError> {
    lint_with(file, xml, &baton_engine::Limits::default())
}

/// [`lint`] against `limits` (what a runtime or `baton lint --limits` is configured with), so
/// that what lint accepts is what a deploy under the same limits accepts.
pub fn lint_with(
    file: &str,
    xml: &str,
    limits: &baton_engine::Limits,
) -> Result<ValidateProcessDefinitionOutput, baton_engine::ParseError> {
    let dep = baton_engine::parse(&[(file, xml)])?;
    let processes = dep
        .processes
        .iter()
        .map(|p| ProcessSummary {
            id: p.id.clone(),
            flow_nodes: p.all_nodes.len() as u32,
            sequence_flows: p.all_flows.len() as u32,
        })
        .collect();
    let problems = match baton_engine::Engine::with_limits(dep, limits.clone()) {
        Ok((_, warnings)) => warnings,
        Err(problems) => problems,
    };
    Ok(ValidateProcessDefinitionOutput {
        processes,
        problems: problems.iter().map(Problem::from).collect(),
    })
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetProcessDefinitionListInput {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub process_key: Option<String>,
    #[serde(default, deserialize_with = "de::page_number")]
    pub page_number: Option<i64>,
    #[serde(default, deserialize_with = "de::page_size")]
    pub page_size: Option<i64>,
}

/// A deployed definition in a list (without its XML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessDefinitionSummary {
    pub process_definition_id: i64,
    pub process_key: String,
    pub version: i64,
    pub name: Option<String>,
    /// `{formKey: formJson}` as deployed.
    #[ts(as = "JsonObject")]
    pub forms: Value,
    pub deployed_at: String,
}

impl From<baton_store::Definition> for ProcessDefinitionSummary {
    fn from(d: baton_store::Definition) -> Self {
        ProcessDefinitionSummary {
            process_definition_id: d.process_definition_id,
            process_key: d.process_key,
            version: d.version,
            name: d.name,
            forms: d.forms,
            deployed_at: d.deployed_at,
        }
    }
}

pub type GetProcessDefinitionListOutput = Page<ProcessDefinitionSummary>;

/// A definition by `processDefinitionId`, or the newest version of `processKey`.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct DefinitionRef {
    #[serde(default, deserialize_with = "de::opt_integer")]
    pub process_definition_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub process_key: Option<String>,
}

pub type GetProcessDefinitionByIdInput = DefinitionRef;

/// A deployed definition with its XML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessDefinition {
    pub process_definition_id: i64,
    pub process_key: String,
    pub version: i64,
    pub name: Option<String>,
    pub bpmn_xml: String,
    #[ts(as = "JsonObject")]
    pub forms: Value,
    pub deployed_at: String,
}

impl From<baton_store::Definition> for ProcessDefinition {
    fn from(d: baton_store::Definition) -> Self {
        ProcessDefinition {
            process_definition_id: d.process_definition_id,
            process_key: d.process_key,
            version: d.version,
            name: d.name,
            bpmn_xml: d.bpmn_xml.unwrap_or_default(),
            forms: d.forms,
            deployed_at: d.deployed_at,
        }
    }
}

pub type GetProcessDefinitionByIdOutput = ProcessDefinition;
