//! Reads BPMN 2.0 XML into the model arenas.
//!
//! Three steps: quick-xml events of every file are first gathered into a small element tree
//! (local names, attributes, text, source positions); then the root-level declarations of ALL
//! files (messages, signals, errors, escalations) are collected, so a `messageRef` may name a
//! message declared in another file of the same deployment; finally each `<process>` is walked
//! into `Deployment`. The tree makes forward references (a sequence flow before its target,
//! `attachedToRef`, `default`) simple to resolve, and models are small.
//!
//! Namespace prefixes are ignored: `bpmn:task`, `bpmn2:task`, `semantic:task` and a
//! default-namespace `task` all read the same, because vendors disagree on prefixes. Diagram
//! interchange, documentation, data objects, collaborations and unknown extensions are skipped,
//! never fatal.
//!
//! Positions are 1-based lines and columns, columns counted in characters (not bytes), pointing
//! at the `<` of the element's start tag. A leading byte-order mark is not counted.
//!
//! The parser never panics on input: every index into the text is bounds-checked, and element
//! nesting is limited (`MAX_DEPTH`) so hostile input cannot exhaust the stack.

mod io;
mod nodes;
mod positions;
mod process;
mod properties;
pub use properties::RETRY_CYCLE;
mod xml;

use crate::model::*;
use positions::{Doc, LineIndex};
use process::Builder;
use xml::read_tree;

/// A file that cannot be read as BPMN: malformed XML, not BPMN, a dangling reference, ...
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ParseError {
    /// The file name as given to [`parse`].
    pub file: String,
    /// 1-based line of the offending element (or of the XML syntax error).
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// What is wrong, in words an analyst understands.
    pub message: String,
}

/// Real BPMN nests a few levels of sub-processes; anything deeper than this is not a model, and
/// refusing it keeps the recursive walk (and dropping the tree) far from the stack limit.
const MAX_DEPTH: usize = 256;

/// Reads one or more BPMN files (name, text) into one deployment.
pub fn parse(files: &[(&str, &str)]) -> Result<Deployment, ParseError> {
    let mut docs = Vec::with_capacity(files.len());
    for (name, text) in files {
        // Editors do not show a byte-order mark, so columns are counted without it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let doc = Doc {
            file: name,
            text,
            lines: LineIndex::new(text),
        };
        let root = read_tree(&doc)?;
        if root.name != "definitions" {
            return Err(doc.error(
                root.pos,
                format!(
                    "not a BPMN file: the root element is <{}>, expected <definitions>",
                    root.name
                ),
            ));
        }
        docs.push((doc, root));
    }
    let mut b = Builder::default();
    for (_, root) in &docs {
        b.declarations(root);
    }
    for (doc, root) in &docs {
        for p in root.children.iter().filter(|c| c.name == "process") {
            b.process(doc, p)?;
        }
    }
    Ok(b.dep)
}
