//! Tasks and the callback registry.

use super::*;

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetTaskFormInput {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub instance_guid: Option<String>,
    /// Finds the instance by the `correlationId` it was started with.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub correlation_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub task_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TaskFormMetadata {
    pub instance_guid: String,
    pub task_name: Option<String>,
    pub responsible_user: Option<String>,
    pub responsible_team: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GetTaskFormOutput {
    /// `SUCCESS`.
    pub status: String,
    /// `userTask` or `receiveTask`.
    pub task_type: String,
    pub task_id: String,
    pub form_key: Option<String>,
    /// The form-js schema deployed for `formKey` (null when none).
    #[ts(as = "JsonAny")]
    pub form_json: Value,
    /// The instance's variables.
    #[ts(as = "JsonObject")]
    pub context: Map<String, Value>,
    pub metadata: TaskFormMetadata,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetTaskListInput {
    /// An administrator's view of what this user may work on.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub team: Option<String>,
    /// Only the tasks this user holds (seed 003's assignAction).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub assignee: Option<String>,
    #[serde(default, deserialize_with = "de::page_number")]
    pub page_number: Option<i64>,
    #[serde(default, deserialize_with = "de::page_size")]
    pub page_size: Option<i64>,
}

/// An open form task (userTask or form-mode receiveTask).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TaskItem {
    pub instance_guid: String,
    pub task_id: String,
    pub task_type: String,
    pub name: Option<String>,
    pub form_key: Option<String>,
    pub responsible_user: Option<String>,
    pub responsible_team: Option<String>,
    pub created_at: String,
    /// Who holds the task (seed 003's assignAction); null: nobody.
    pub assignee: Option<String>,
}

impl From<baton_store::UserTaskRow> for TaskItem {
    fn from(r: baton_store::UserTaskRow) -> Self {
        TaskItem {
            instance_guid: r.instance_guid,
            task_id: r.task_id,
            task_type: r.task_type,
            name: r.name,
            form_key: r.form_key,
            responsible_user: r.responsible_user,
            responsible_team: r.responsible_team,
            created_at: r.created_at,
            assignee: r.assignee,
        }
    }
}

pub type GetTaskListOutput = Page<TaskItem>;

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetCallbackRegistryListInput {
    #[serde(default, deserialize_with = "de::opt_text")]
    #[ts(as = "Option<CallbackStatus>")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub instance_guid: Option<String>,
    /// Rows whose correlation key contains this text (ASCII letters in either case).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub correlation_key: Option<String>,
    /// Rows of instances of any version of this process.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub process_key: Option<String>,
    /// With either of these the answer is a page, newest first (`{items, totalCount}`);
    /// without, every row, oldest first, as seed 002's clients read it.
    #[serde(default, deserialize_with = "de::page_number")]
    pub page_number: Option<i64>,
    #[serde(default, deserialize_with = "de::page_size")]
    pub page_size: Option<i64>,
}

/// A CallbackRegistry row, with the field names of seed 002.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackRegistryEntry {
    pub id: i64,
    pub parent_instance_id: String,
    pub callback_task_id: String,
    pub correlation_key: Option<String>,
    pub callback_type: String,
    #[ts(as = "CallbackStatus")]
    pub status: String,
    pub parent_process_state: Option<String>,
    pub result_data: Option<String>,
    pub completed_at: Option<String>,
    pub webhook_url: Option<String>,
    pub message_ref: Option<String>,
    pub timeout_minutes: Option<f64>,
    /// Set for a form-mode receive task; absent (null) in webhook mode.
    pub form_key: Option<String>,
    /// Duplicate callbacks with a result other than the applied one (none applied). Present
    /// only when there was one, with the newest's time and result (JSON text, as ResultData).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub conflict_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub last_conflict_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub conflicting_result: Option<String>,
}

impl From<baton_store::CallbackRow> for CallbackRegistryEntry {
    fn from(r: baton_store::CallbackRow) -> Self {
        CallbackRegistryEntry {
            id: r.id,
            parent_instance_id: r.parent_instance_id,
            callback_task_id: r.callback_task_id,
            correlation_key: r.correlation_key,
            callback_type: r.callback_type,
            status: r.status,
            parent_process_state: r.parent_process_state,
            result_data: r.result_data,
            completed_at: r.completed_at,
            webhook_url: r.webhook_url,
            message_ref: r.message_ref,
            timeout_minutes: r.timeout_minutes,
            form_key: r.form_key,
            conflict_count: None,
            last_conflict_at: None,
            conflicting_result: None,
        }
    }
}

/// Every row (no paging asked), or a page of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(untagged)]
pub enum GetCallbackRegistryListOutput {
    All(Vec<CallbackRegistryEntry>),
    Page(Page<CallbackRegistryEntry>),
}
