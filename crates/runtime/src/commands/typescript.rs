//! The TypeScript the UI codes against, rendered from the command types.

use super::*;

/// Lists every command the UI calls with its input and output types, and every type the
/// generated file declares.
macro_rules! typescript_table {
    (commands { $($name:literal => $input:ty, $output:ty;)* } types { $($ty:ty),* $(,)? }) => {
        /// The commands with typed input and output, in the order the generated file lists them.
        pub const TYPED_COMMANDS: &[&str] = &[$($name),*];

        fn command_entries(cfg: &Config) -> Vec<(&'static str, String, String)> {
            vec![$(($name, <$input as TS>::name(cfg), <$output as TS>::name(cfg))),*]
        }

        fn declarations(cfg: &Config) -> Vec<(String, Option<String>, String)> {
            vec![$((<$ty as TS>::ident(cfg), <$ty as TS>::docs(), <$ty as TS>::decl(cfg))),*]
        }
    };
}

typescript_table! {
    commands {
        "DeployProcessDefinitionCommand" => DeployProcessDefinitionInput, DeployProcessDefinitionOutput;
        "ValidateProcessDefinitionQuery" => ValidateProcessDefinitionInput, ValidateProcessDefinitionOutput;
        "GetProcessDefinitionListQuery" => GetProcessDefinitionListInput, Page<ProcessDefinitionSummary>;
        "GetProcessDefinitionByIdQuery" => DefinitionRef, ProcessDefinition;
        "StartProcessInstanceCommand" => StartProcessInstanceInput, StartProcessInstanceOutput;
        "SignalProcessInstanceCommand" => SignalProcessInstanceInput, SignalProcessInstanceOutput;
        "ReturnCallbackCommand" => ReturnCallbackInput, ReturnCallbackOutput;
        "CorrelateMessageCommand" => CorrelateMessageInput, CorrelateMessageOutput;
        "BroadcastSignalCommand" => BroadcastSignalInput, BroadcastSignalOutput;
        "CancelProcessInstanceCommand" => CancelProcessInstanceInput, CancelProcessInstanceOutput;
        "RetryIncidentCommand" => RetryIncidentInput, RetryIncidentOutput;
        "GetProcessInstanceByIdQuery" => InstanceRef, ProcessInstance;
        "GetProcessInstanceListQuery" => GetProcessInstanceListInput, Page<ProcessInstanceSummary>;
        "GetInstanceHistoryQuery" => InstanceRef, GetInstanceHistoryOutput;
        "GetTaskFormQuery" => GetTaskFormInput, GetTaskFormOutput;
        "GetTaskListQuery" => GetTaskListInput, Page<TaskItem>;
        "GetCallbackRegistryListQuery" => GetCallbackRegistryListInput, GetCallbackRegistryListOutput;
        "GetCronPreviewQuery" => GetCronPreviewInput, GetCronPreviewOutput;
    }
    types {
        Envelope<()>, crate::Code, FieldError, Problem, Severity, ProblemsData, InstanceChange, crate::WebhookRequestEvent, crate::JobRunEvent, InstanceStatus,
        CallbackStatus, WaitingTask, Incident, Page<()>,
        DeployProcessDefinitionInput, DeployProcessDefinitionOutput,
        ValidateProcessDefinitionInput, ProcessSummary, ValidateProcessDefinitionOutput,
        GetProcessDefinitionListInput, ProcessDefinitionSummary, DefinitionRef, ProcessDefinition,
        InstanceSubscription, StartConfig, StartProcessInstanceInput, StartProcessInstanceOutput,
        SignalProcessInstanceInput, SignalProcessInstanceOutput,
        ReturnCallbackInput, ReturnCallbackOutput, CorrelateMessageInput, CorrelateMessageOutput,
        BroadcastSignalInput, BroadcastSignalOutput,
        CancelProcessInstanceInput, CancelProcessInstanceOutput,
        RetryIncidentInput, RetryIncidentOutput,
        InstanceRef, ProcessInstance, GetProcessInstanceListInput, ProcessInstanceSummary,
        HistoryEntry, GetInstanceHistoryOutput,
        GetTaskFormInput, TaskFormMetadata, GetTaskFormOutput, GetTaskListInput, TaskItem,
        GetCallbackRegistryListInput, CallbackRegistryEntry, GetCallbackRegistryListOutput,
        GetCronPreviewInput, GetCronPreviewOutput,
    }
}

/// Where the generated file lives, relative to the repository root.
pub const TYPESCRIPT_PATH: &str = "ui/src/generated/commands.ts";

/// The text of `ui/src/generated/commands.ts`: every input and output type, the envelope, the
/// problem and change types, `CommandName` and the `Commands` map from a command's name to its
/// input and output.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut out = String::new();
    out.push_str(
        "// Generated from crates/runtime/src/commands.rs by ts-rs: do not edit.\n\
         // Regenerate with: BATON_UPDATE_TYPES=1 cargo test -p baton-runtime --test ts_types\n\n",
    );
    for (_, docs, decl) in declarations(&cfg) {
        if let Some(docs) = docs {
            out.push_str(&docs);
        }
        out.push_str("export ");
        out.push_str(&pretty(decl.trim()));
        out.push_str("\n\n");
    }
    let entries = command_entries(&cfg);
    out.push_str("/** The name of every command with typed input and output. */\n");
    out.push_str("export type CommandName =\n");
    for (i, (name, _, _)) in entries.iter().enumerate() {
        let end = if i + 1 == entries.len() { ";" } else { "" };
        out.push_str(&format!("  | \"{name}\"{end}\n"));
    }
    out.push_str("\n/** Each command's `data` (input) and its answer's `data` (output). */\n");
    out.push_str("export interface Commands {\n");
    for (name, input, output) in &entries {
        out.push_str(&format!(
            "  \"{name}\": {{ input: {input}; output: {output} }};\n"
        ));
    }
    out.push_str("}\n");
    out
}

/// Puts each member of an object type on its own line: `type X = { a: A, /** doc */ b: B, };`
/// becomes one member (and its doc comment) per line.
fn pretty(decl: &str) -> String {
    let Some((head, body)) = decl.split_once(" = ") else {
        return decl.to_string();
    };
    let body = body.trim_end_matches(';').trim();
    let Some(inner) = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) else {
        return decl.to_string();
    };
    let mut members = Vec::new();
    let (mut depth, mut start, mut in_comment, mut in_string) = (0i32, 0, false, false);
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &inner[i..];
        if in_comment {
            if rest.starts_with("*/") {
                in_comment = false;
                i += 1;
            }
        } else if in_string {
            if bytes[i] == b'"' {
                in_string = false;
            }
        } else if rest.starts_with("/*") {
            in_comment = true;
        } else {
            match bytes[i] {
                b'"' => in_string = true,
                b'{' | b'<' | b'[' | b'(' => depth += 1,
                b'}' | b'>' | b']' | b')' => depth -= 1,
                b',' if depth == 0 => {
                    members.push(inner[start..i].trim());
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    members.push(inner[start..].trim());
    let mut out = format!("{head} = {{\n");
    for m in members.into_iter().filter(|m| !m.is_empty()) {
        let (doc, member) = match m.find("*/") {
            Some(end) if m.starts_with("/**") => (Some(&m[..end + 2]), m[end + 2..].trim()),
            _ => (None, m),
        };
        if let Some(doc) = doc {
            for line in doc.lines() {
                let line = line.trim();
                let line = if line.starts_with('*') {
                    format!(" {line}")
                } else {
                    line.to_string()
                };
                out.push_str(&format!("  {line}\n"));
            }
        }
        out.push_str(&format!("  {member};\n"));
    }
    out.push_str("};");
    out
}
