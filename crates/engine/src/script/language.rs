//! Which language a script is read as, and how to say so.
//!
//! BPMN marks the language where it has a place for it (`scriptFormat` on a script task,
//! `language` on a formal expression); the parser records that as a [`Language`]. Where it has
//! none (a ServerScript property, a job's or a webhook's code) the host detects: a leading
//! `// language: javascript` (or `rhai`) comment decides; otherwise rhai when the text compiles
//! as rhai, else JavaScript. rhai goes first so that every existing rhai script keeps its meaning
//! (`let status = "PAID";` is valid in both); the seeds' JavaScript (`var`, `new Error(..)`,
//! `return {..}`, `===`) does not compile as rhai, so it is read as JavaScript.

use super::{ScriptError, ScriptErrorKind, ScriptHost};
use crate::model::{Deployment, Language, ScriptId, Span};
use serde::Serialize;

/// The language a compiled script was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScriptLanguage {
    Rhai,
    JavaScript,
}

impl ScriptLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            ScriptLanguage::Rhai => "rhai",
            ScriptLanguage::JavaScript => "javascript",
        }
    }
}

impl std::fmt::Display for ScriptLanguage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScriptLanguage::Rhai => "rhai",
            ScriptLanguage::JavaScript => "JavaScript",
        })
    }
}

/// The language a leading `// language: NAME` comment names, if the text starts with one.
pub(super) fn marked(text: &str) -> Option<ScriptLanguage> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let rest = first.strip_prefix("//")?.trim();
    let (key, value) = rest.split_once(':')?;
    if !key.trim().eq_ignore_ascii_case("language") {
        return None;
    }
    match Language::from_marker(Some(value)) {
        Language::Rhai => Some(ScriptLanguage::Rhai),
        Language::JavaScript => Some(ScriptLanguage::JavaScript),
        _ => None,
    }
}

/// Words that only JavaScript has: when a text that compiles in neither language uses one, the
/// JavaScript error is the one worth showing.
const JS_ONLY: &[&str] = &[
    "var ",
    "function",
    "=>",
    "===",
    "!==",
    "new ",
    "typeof",
    "undefined",
    "console.",
    "return {",
];

/// The error for a detected script that compiles in neither language: the error of the one it
/// looks like, naming the other.
pub(super) fn neither(text: &str, rhai: ScriptError, js: ScriptError) -> ScriptError {
    let (mut first, other, name) = if JS_ONLY.iter().any(|w| text.contains(w)) {
        (js, rhai, "rhai")
    } else {
        (rhai, js, "JavaScript")
    };
    if first.kind == ScriptErrorKind::Compile {
        first.message = format!(
            "{} (read as {}: it does not compile as {name} either: {})",
            first.message,
            if name == "rhai" { "JavaScript" } else { "rhai" },
            other.message
        );
    }
    first
}

/// One script of a deployment and the language it was read as (what `baton lint` and
/// `simulate` print).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptRead {
    /// The file it is written in (as the deployment named it).
    pub file: String,
    /// The element (node or flow) the script belongs to.
    pub element: String,
    /// What the script is there: `script`, `condition`, `ServerScript`, `correlationKey`, ...
    pub what: &'static str,
    pub language: ScriptLanguage,
    /// Where the script is written.
    pub line: u32,
    pub column: u32,
}

/// Every script and expression of `deployment` that `host` compiled, with the language it was
/// read as, in source order. Timer texts and sources that did not compile are left out.
pub fn script_languages(deployment: &Deployment, host: &ScriptHost) -> Vec<ScriptRead> {
    let owners = crate::validate::source_owners(deployment);
    let mut out = Vec::new();
    for (i, src) in deployment.sources.iter().enumerate() {
        let id = i as ScriptId;
        let (Some((element, what, process)), Some(language)) = (owners.get(&id), host.language(id))
        else {
            continue;
        };
        let Span { line, column } = src.span;
        out.push(ScriptRead {
            file: deployment
                .files
                .get(*process as usize)
                .cloned()
                .unwrap_or_default(),
            element: element.clone(),
            what,
            language,
            line,
            column,
        });
    }
    out
}

/// [`script_languages`] for a parsed deployment without an engine: compiles its scripts once
/// (what `baton lint` and `simulate` print before anything runs).
pub fn languages_of(deployment: &Deployment) -> Vec<ScriptRead> {
    let mut host = ScriptHost::new();
    host.compile_with_languages(&deployment.sources, &deployment.source_languages);
    script_languages(deployment, &host)
}

/// One line per script saying what it was read as, in the `file:line:column:` form of `baton
/// lint`'s problems: `model.bpmn:12:5: note: the ServerScript of 'Task_Review' is read as
/// JavaScript`.
pub fn language_note(read: &ScriptRead) -> String {
    format!(
        "{}:{}:{}: note: the {} of '{}' is read as {}",
        read.file, read.line, read.column, read.what, read.element, read.language
    )
}
