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

use crate::model::*;
use std::collections::HashMap;

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

// ----- one file ------------------------------------------------------------------------------

struct Doc<'a> {
    file: &'a str,
    text: &'a str,
    lines: LineIndex,
}

impl Doc<'_> {
    fn span(&self, pos: usize) -> Span {
        self.lines.span(self.text, pos)
    }
    fn error(&self, pos: usize, message: String) -> ParseError {
        self.error_at(self.span(pos), message)
    }
    fn error_at(&self, sp: Span, message: String) -> ParseError {
        ParseError {
            file: self.file.to_string(),
            line: sp.line,
            column: sp.column,
            message,
        }
    }
}

/// Byte offsets of line starts, so a byte position becomes a line by binary search.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }
    fn span(&self, text: &str, pos: usize) -> Span {
        let pos = pos.min(text.len());
        let line = self.starts.partition_point(|&s| s <= pos).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        // A position inside a multi-byte character (never produced by the reader, but cheap to
        // guard) falls back to counting bytes.
        let column = text
            .get(start..pos)
            .map(|s| s.chars().count())
            .unwrap_or(pos.saturating_sub(start))
            + 1;
        Span {
            line: line as u32,
            column: column as u32,
        }
    }
}

// ----- the element tree ----------------------------------------------------------------------

#[derive(Debug, Default)]
struct El {
    /// Local name (prefix removed).
    name: String,
    /// (qualified name, local name, unescaped value)
    attrs: Vec<(String, String, String)>,
    children: Vec<El>,
    /// Text and CDATA directly inside, unescaped, line ends normalised.
    text: String,
    /// Byte position of the start tag's `<`.
    pos: usize,
    /// Byte position just after the start tag's `>` (where the text content begins).
    content_pos: usize,
}

impl El {
    fn attr(&self, local: &str) -> Option<&str> {
        // Unprefixed attributes first (BPMN's own), then any prefixed one.
        self.attrs
            .iter()
            .find(|(q, l, _)| l == local && !q.contains(':'))
            .or_else(|| self.attrs.iter().find(|(_, l, _)| l == local))
            .map(|(_, _, v)| v.as_str())
    }
    /// A vendor extension attribute by local name, e.g. `camunda:formKey`. XML's own prefixes
    /// (`xsi:type`, `xmlns:x`) are not extensions.
    fn ext_attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(q, l, _)| {
                l == local
                    && q.split_once(':')
                        .is_some_and(|(prefix, _)| !matches!(prefix, "xsi" | "xmlns" | "xml"))
            })
            .map(|(_, _, v)| v.as_str())
    }
    fn child(&self, local: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == local)
    }
    /// A boolean attribute; anything but a literal `true`/`false` keeps the BPMN default.
    fn flag(&self, local: &str, default: bool) -> bool {
        match self.attr(local).map(str::trim) {
            Some("true") => true,
            Some("false") => false,
            _ => default,
        }
    }
}

fn local(q: &[u8]) -> String {
    let s = String::from_utf8_lossy(q);
    match s.rfind(':') {
        Some(i) => s[i + 1..].to_string(),
        None => s.into_owned(),
    }
}

fn read_tree(doc: &Doc) -> Result<El, ParseError> {
    use quick_xml::events::Event as X;
    let text = doc.text;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<El> = Vec::new();
    let mut root: Option<El> = None;
    let bytes = text.as_bytes();
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| {
            let pos = reader.error_position() as usize;
            doc.error(pos, format!("malformed XML: {e}"))
        })?;
        let after = reader.buffer_position() as usize;
        // Markup starts at the first '<' after where the previous event ended.
        let mut start = before;
        while start < bytes.len() && bytes[start] != b'<' {
            start += 1;
        }
        match ev {
            X::Start(ref e) | X::Empty(ref e) => {
                let mut el = El {
                    name: local(e.name().as_ref()),
                    pos: start,
                    content_pos: after,
                    ..Default::default()
                };
                for a in e.attributes().with_checks(false) {
                    let a = a.map_err(|e| doc.error(start, format!("malformed attribute: {e}")))?;
                    let q = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    let l = local(a.key.as_ref());
                    let v = a
                        .unescape_value()
                        .map_err(|e| {
                            doc.error(start, format!("bad value for attribute '{q}': {e}"))
                        })?
                        .into_owned();
                    el.attrs.push((q, l, v));
                }
                if matches!(ev, X::Empty(_)) {
                    match stack.last_mut() {
                        Some(p) => p.children.push(el),
                        None => root = Some(el),
                    }
                } else {
                    if stack.len() >= MAX_DEPTH {
                        return Err(doc.error(
                            start,
                            format!("elements are nested more than {MAX_DEPTH} levels deep; this is not a BPMN model"),
                        ));
                    }
                    stack.push(el);
                }
            }
            X::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(doc.error(
                        start,
                        "malformed XML: a closing tag without an opening tag".into(),
                    ));
                };
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            X::Text(t) => {
                if let Some(p) = stack.last_mut() {
                    let s = t
                        .xml_content()
                        .map_err(|e| doc.error(before, format!("bad text: {e}")))?;
                    p.text.push_str(&s);
                }
            }
            X::CData(t) => {
                if let Some(p) = stack.last_mut() {
                    let s = t
                        .xml_content()
                        .map_err(|e| doc.error(start, format!("bad CDATA: {e}")))?;
                    p.text.push_str(&s);
                }
            }
            X::GeneralRef(r) => {
                if let Some(p) = stack.last_mut() {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        _ => predefined_entity(r.as_ref()),
                    };
                    match resolved {
                        Some(c) => p.text.push(c),
                        None => {
                            return Err(doc.error(
                                before,
                                format!(
                                    "malformed XML: unknown entity '&{};'",
                                    String::from_utf8_lossy(r.as_ref())
                                ),
                            ))
                        }
                    }
                }
            }
            X::Eof => break,
            _ => {}
        }
        if root.is_some() && stack.is_empty() {
            // Whatever follows the root element (comments, whitespace) is not the model.
            break;
        }
    }
    if let Some(open) = stack.last() {
        return Err(doc.error(
            open.pos,
            format!("malformed XML: the element <{}> is never closed", open.name),
        ));
    }
    root.ok_or_else(|| {
        doc.error(
            0,
            "not a BPMN file: the file is empty or holds no XML element".into(),
        )
    })
}

fn predefined_entity(name: &[u8]) -> Option<char> {
    match name {
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"amp" => Some('&'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        _ => None,
    }
}

// ----- where source text lives in the file ---------------------------------------------------

/// Byte positions in `file` where each line of `sub` begins. `full` is the unescaped text that
/// the reader produced from the raw markup starting at `raw_start`, and `sub` is a slice of
/// `full`. The raw text is walked in step with `full`: an entity counts as the one character it
/// stands for, CDATA markers and comments count as nothing, `\r\n` as the `\n` it became. If the
/// two ever disagree the positions become approximate, never out of bounds.
fn line_starts_in_file(file: &str, raw_start: usize, full: &str, sub: &str) -> Vec<usize> {
    let (fp, sp) = (full.as_ptr() as usize, sub.as_ptr() as usize);
    if sp < fp || sp + sub.len() > fp + full.len() {
        return Vec::new();
    }
    let off = sp - fp;
    let mut targets = vec![off];
    targets.extend(
        sub.bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| off + i + 1),
    );

    let fb = file.as_bytes();
    let ub = full.as_bytes();
    let (mut r, mut u) = (raw_start.min(fb.len()), 0usize);
    let mut in_cdata = false;
    let mut out = Vec::with_capacity(targets.len());
    let mut ti = 0;
    while ti < targets.len() && r < fb.len() {
        // Markup that produced no text is skipped before a position is recorded, so a line
        // start points at its first character, not at a CDATA marker.
        let rest = &fb[r..];
        if in_cdata {
            if rest.starts_with(b"]]>") {
                r += 3;
                in_cdata = false;
                continue;
            }
        } else if rest.starts_with(b"<![CDATA[") {
            r += 9;
            in_cdata = true;
            continue;
        } else if rest.starts_with(b"<!--") {
            r += find(rest, b"-->").map_or(rest.len(), |i| i + 3);
            continue;
        } else if rest.starts_with(b"<?") {
            r += find(rest, b"?>").map_or(rest.len(), |i| i + 2);
            continue;
        }
        while ti < targets.len() && targets[ti] <= u {
            out.push(r);
            ti += 1;
        }
        if ti == targets.len() || u >= ub.len() {
            break;
        }
        if !in_cdata && rest[0] == b'&' {
            if let Some(semi) = rest.iter().take(12).position(|&c| c == b';') {
                let name = &rest[1..semi];
                let ch = if let Some(num) = name
                    .strip_prefix(b"#x")
                    .or_else(|| name.strip_prefix(b"#X"))
                {
                    std::str::from_utf8(num)
                        .ok()
                        .and_then(|n| u32::from_str_radix(n, 16).ok())
                        .and_then(char::from_u32)
                } else if let Some(num) = name.strip_prefix(b"#") {
                    std::str::from_utf8(num)
                        .ok()
                        .and_then(|n| n.parse::<u32>().ok())
                        .and_then(char::from_u32)
                } else {
                    predefined_entity(name)
                };
                r += semi + 1;
                u += ch.map_or(1, char::len_utf8);
                continue;
            }
        }
        if rest[0] == b'\r' && ub[u] == b'\n' {
            r += if rest.starts_with(b"\r\n") { 2 } else { 1 };
            u += 1;
            continue;
        }
        let n = utf8_len(rest[0]);
        r += n;
        u += n;
    }
    let last = out.last().copied().unwrap_or(raw_start);
    out.resize(targets.len(), last);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Byte position just after the opening quote of attribute `local` (any prefix) in the start
/// tag at `el.pos`. quick-xml gives no attribute positions, so the raw tag is searched.
fn attr_value_pos(text: &str, el: &El, local: &str) -> Option<usize> {
    let tag = text.get(el.pos..el.content_pos.max(el.pos))?.as_bytes();
    let lb = local.as_bytes();
    let mut i = 1;
    while i + lb.len() < tag.len() {
        let before_ok = matches!(tag[i - 1], b' ' | b'\t' | b'\r' | b'\n' | b':');
        if before_ok && tag[i..].starts_with(lb) {
            let mut j = i + lb.len();
            while j < tag.len() && tag[j].is_ascii_whitespace() {
                j += 1;
            }
            if tag.get(j) == Some(&b'=') {
                j += 1;
                while j < tag.len() && tag[j].is_ascii_whitespace() {
                    j += 1;
                }
                if matches!(tag.get(j), Some(b'"' | b'\'')) {
                    return Some(el.pos + j + 1);
                }
            }
        }
        i += 1;
    }
    None
}

/// Removes a `${...}` or `#{...}` wrapping the WHOLE trimmed text (JUEL expression syntax that
/// Camunda models use), and returns the trimmed text otherwise. `#{` is only a wrapper for
/// expressions: a script body may legitimately be a rhai object map literal `#{ a: 1 }`.
/// The result is always a slice of `text`, so its position in the file can be found.
fn strip_wrapper(text: &str, expression: bool) -> &str {
    let t = text.trim();
    let opened = t.starts_with("${") || (expression && t.starts_with("#{"));
    if opened && t.ends_with('}') && closing_brace(t, 1) == Some(t.len() - 1) {
        t[2..t.len() - 1].trim()
    } else {
        t
    }
}

/// Index of the `}` matching the `{` at `open`, skipping braces inside quoted strings, so that
/// `${a} + ${b}` is not mistaken for one wrapper.
fn closing_brace(t: &str, open: usize) -> Option<usize> {
    let b = t.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = open;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

// ----- the walk into the model ---------------------------------------------------------------

#[derive(Default)]
struct Builder {
    dep: Deployment,
}

/// Where a piece of source text came from, so its lines can be placed in the file.
enum Raw<'e> {
    /// The text content of this element.
    Content(&'e El),
    /// The value of this attribute (local name) of this element.
    Attr(&'e El, &'static str),
}

/// Per-process state while walking.
struct ProcCtx<'a> {
    doc: &'a Doc<'a>,
    pidx: u32,
    /// Node ids of this process, any depth.
    ids: HashMap<String, NodeId>,
    /// Every id of this process (nodes and flows), with where it was first seen.
    seen: HashMap<String, Span>,
    flows: Vec<&'a El>,
    /// (boundary node, attachedToRef, element)
    boundaries: Vec<(NodeId, String, &'a El)>,
    /// (node, default flow id)
    defaults: Vec<(NodeId, String)>,
    /// `association` elements at any depth (they link compensation boundaries to handlers).
    associations: Vec<&'a El>,
}

impl ProcCtx<'_> {
    /// Records an id; a second element with the same id is an error, because references
    /// (sourceRef, default, attachedToRef) would be ambiguous.
    fn claim(&mut self, id: &str, span: Span) -> Result<(), ParseError> {
        if let Some(first) = self.seen.get(id) {
            return Err(self.doc.error_at(
                span,
                format!(
                    "the id '{id}' is used by two elements in this process (the first at line {}, column {}); ids must be unique",
                    first.line, first.column
                ),
            ));
        }
        self.seen.insert(id.to_string(), span);
        Ok(())
    }
}

impl Builder {
    /// Reads the definitions-level declarations (messages, signals, errors, escalations).
    fn declarations(&mut self, root: &El) {
        for c in &root.children {
            let Some(id) = c.attr("id").filter(|s| !s.is_empty()).map(str::to_string) else {
                continue;
            };
            let name = c.attr("name").map(str::to_string);
            match c.name.as_str() {
                "message" => {
                    self.dep.messages.insert(id.clone(), name.unwrap_or(id));
                }
                "signal" => {
                    self.dep.signals.insert(id.clone(), name.unwrap_or(id));
                }
                "error" => {
                    self.dep
                        .errors
                        .insert(id, (c.attr("errorCode").map(str::to_string), name));
                }
                "escalation" => {
                    self.dep
                        .escalations
                        .insert(id, (c.attr("escalationCode").map(str::to_string), name));
                }
                _ => {}
            }
        }
    }

    /// Turns a script or expression text into a `Source` with the next `ScriptId`.
    /// Empty or whitespace-only text is no source at all.
    fn source(
        &mut self,
        doc: &Doc,
        text: &str,
        raw: Raw,
        span: Span,
        expression: bool,
    ) -> Option<Source> {
        let t = strip_wrapper(text, expression);
        if t.is_empty() {
            return None;
        }
        let raw_start = match raw {
            Raw::Content(el) => Some(el.content_pos),
            Raw::Attr(el, name) => attr_value_pos(doc.text, el, name),
        };
        let lines = raw_start
            .map(|r| {
                line_starts_in_file(doc.text, r, text, t)
                    .into_iter()
                    .map(|p| doc.span(p))
                    .collect()
            })
            .unwrap_or_default();
        let id = self.dep.sources.len() as ScriptId;
        let s = Source {
            text: t.to_string(),
            id,
            span,
        };
        self.dep.sources.push(s.clone());
        self.dep.source_lines.push(lines);
        Some(s)
    }

    /// A source from the text content of `el`, spanned at `el`.
    fn content_source(&mut self, doc: &Doc, el: &El, expression: bool) -> Option<Source> {
        self.source(
            doc,
            &el.text,
            Raw::Content(el),
            doc.span(el.pos),
            expression,
        )
    }

    fn process(&mut self, doc: &Doc, p: &El) -> Result<(), ParseError> {
        let span = doc.span(p.pos);
        let pid = p.attr("id").unwrap_or_default().trim().to_string();
        if pid.is_empty() {
            // Call activities and deployments address a process by its id; without one it
            // cannot be started or versioned.
            return Err(doc.error_at(span, "a <process> has no id".into()));
        }
        let pidx = self.dep.processes.len() as u32;
        let mut lanes = Vec::new();
        collect_lanes(p, &mut lanes, 0);
        self.dep.processes.push(Process {
            id: pid,
            name: p.attr("name").map(str::to_string),
            is_executable: p.flag("isExecutable", true),
            file: doc.file.to_string(),
            span,
            children: Vec::new(),
            all_nodes: Vec::new(),
            all_flows: Vec::new(),
            lanes,
        });
        self.dep.files.push(doc.file.to_string());
        let mut cx = ProcCtx {
            doc,
            pidx,
            ids: HashMap::new(),
            seen: HashMap::new(),
            flows: Vec::new(),
            boundaries: Vec::new(),
            defaults: Vec::new(),
            associations: Vec::new(),
        };
        let children = self.container(&mut cx, p, None)?;
        self.dep.processes[pidx as usize].children = children;
        self.resolve_flows(&mut cx)?;
        self.resolve_boundaries(&mut cx)?;
        self.resolve_associations(&mut cx);
        // Default flows: resolved among the node's outgoing flows; validation reports misses.
        for (n, fid) in std::mem::take(&mut cx.defaults) {
            let found = self.dep.nodes[n as usize]
                .outgoing
                .iter()
                .copied()
                .find(|&f| self.dep.flows[f as usize].id == fid);
            self.dep.nodes[n as usize].default_flow = found;
            if found.is_none() {
                self.dep.unresolved_defaults.push((n, fid));
            }
        }
        Ok(())
    }

    fn resolve_flows(&mut self, cx: &mut ProcCtx) -> Result<(), ParseError> {
        let doc = cx.doc;
        for el in std::mem::take(&mut cx.flows) {
            let sp = doc.span(el.pos);
            let fid = match el.attr("id").map(str::trim).filter(|s| !s.is_empty()) {
                Some(id) => id.to_string(),
                // The schema makes ids optional; a stable one from the position keeps the flow
                // addressable in messages.
                None => format!("sequenceFlow_L{}C{}", sp.line, sp.column),
            };
            cx.claim(&fid, sp)?;
            let mut ends = [0 as NodeId; 2];
            for (i, attr) in ["sourceRef", "targetRef"].into_iter().enumerate() {
                let r = el.attr(attr).unwrap_or("").trim();
                if r.is_empty() {
                    return Err(doc.error_at(
                        sp,
                        format!(
                            "sequence flow '{fid}' has no {attr}: it must connect two elements"
                        ),
                    ));
                }
                ends[i] = *cx.ids.get(r).ok_or_else(|| {
                    doc.error_at(sp, format!("sequence flow '{fid}': its {attr} '{r}' names no flow node in this process"))
                })?;
            }
            let condition = el
                .child("conditionExpression")
                .and_then(|c| self.content_source(doc, c, true));
            let flow_idx = self.dep.flows.len() as FlowId;
            self.dep.flows.push(SequenceFlow {
                id: fid,
                name: el.attr("name").map(str::to_string),
                source: ends[0],
                target: ends[1],
                condition,
                span: sp,
            });
            self.dep.nodes[ends[0] as usize].outgoing.push(flow_idx);
            self.dep.nodes[ends[1] as usize].incoming.push(flow_idx);
            self.dep.processes[cx.pidx as usize]
                .all_flows
                .push(flow_idx);
        }
        Ok(())
    }

    fn resolve_boundaries(&mut self, cx: &mut ProcCtx) -> Result<(), ParseError> {
        for (bn, attached, el) in std::mem::take(&mut cx.boundaries) {
            let sp = cx.doc.span(el.pos);
            let bid = self.dep.nodes[bn as usize].id.clone();
            if attached.is_empty() {
                return Err(cx.doc.error_at(sp, format!("boundary event '{bid}' has no attachedToRef: it must sit on a task or sub-process")));
            }
            let Some(&act) = cx.ids.get(&attached) else {
                return Err(cx.doc.error_at(
                    sp,
                    format!("boundary event '{bid}': its attachedToRef '{attached}' names no element in this process"),
                ));
            };
            if let NodeKind::Boundary { attached_to, .. } = &mut self.dep.nodes[bn as usize].kind {
                *attached_to = act;
            }
            self.dep.nodes[act as usize].boundaries.push(bn);
        }
        Ok(())
    }

    /// Links each compensation boundary event to the handler its association points to.
    /// Associations also connect text annotations and data, so one that names no flow node, or
    /// does not touch a compensation boundary, is simply not a compensation link. A link drawn
    /// the other way round (handler to boundary) is accepted too.
    fn resolve_associations(&mut self, cx: &mut ProcCtx) {
        let is_comp_boundary = |n: &FlowNode| {
            matches!(
                n.kind,
                NodeKind::Boundary {
                    trigger: Trigger::Compensate { .. },
                    ..
                }
            )
        };
        for el in std::mem::take(&mut cx.associations) {
            let end = |attr: &str| {
                el.attr(attr)
                    .map(str::trim)
                    .and_then(|r| cx.ids.get(r).copied())
            };
            let (Some(src), Some(dst)) = (end("sourceRef"), end("targetRef")) else {
                continue;
            };
            let (boundary, handler) = if is_comp_boundary(&self.dep.nodes[src as usize]) {
                (src, dst)
            } else if is_comp_boundary(&self.dep.nodes[dst as usize])
                && self.dep.nodes[src as usize].for_compensation
            {
                (dst, src)
            } else {
                continue;
            };
            let b = &mut self.dep.nodes[boundary as usize];
            if b.compensation_handler.is_none() {
                b.compensation_handler = Some(handler);
            }
        }
    }

    /// Walks the flow elements directly inside a process or sub-process; returns the nodes.
    fn container<'a>(
        &mut self,
        cx: &mut ProcCtx<'a>,
        el: &'a El,
        container: Option<NodeId>,
    ) -> Result<Vec<NodeId>, ParseError> {
        let doc = cx.doc;
        let mut direct = Vec::new();
        for c in &el.children {
            let kind = match c.name.as_str() {
                "sequenceFlow" => {
                    cx.flows.push(c);
                    continue;
                }
                "association" => {
                    cx.associations.push(c);
                    continue;
                }
                "startEvent" => NodeKind::StartEvent {
                    trigger: self.trigger(doc, c),
                    interrupting: c.flag("isInterrupting", true),
                },
                "endEvent" => NodeKind::EndEvent {
                    trigger: self.trigger(doc, c),
                },
                "intermediateCatchEvent" => NodeKind::IntermediateCatch {
                    trigger: self.trigger(doc, c),
                },
                "intermediateThrowEvent" => NodeKind::IntermediateThrow {
                    trigger: self.trigger(doc, c),
                },
                "boundaryEvent" => NodeKind::Boundary {
                    attached_to: NodeId::MAX,
                    trigger: self.trigger(doc, c),
                    cancel_activity: c.flag("cancelActivity", true),
                },
                "task" => NodeKind::Task(TaskKind::Task),
                "userTask" => NodeKind::Task(TaskKind::User),
                "manualTask" => NodeKind::Task(TaskKind::Manual),
                "serviceTask" => NodeKind::Task(TaskKind::Service),
                "sendTask" => NodeKind::Task(TaskKind::Send),
                "receiveTask" => NodeKind::Task(TaskKind::Receive),
                "businessRuleTask" => NodeKind::Task(TaskKind::BusinessRule),
                "scriptTask" => {
                    // A script body keeps a leading `#{` (a rhai map literal), see strip_wrapper.
                    let script = c
                        .child("script")
                        .and_then(|s| self.content_source(doc, s, false));
                    NodeKind::Task(TaskKind::Script {
                        format: c.attr("scriptFormat").map(str::to_string),
                        script,
                    })
                }
                "subProcess" | "transaction" | "adHocSubProcess" => {
                    NodeKind::SubProcess(SubProcess {
                        triggered_by_event: c.flag("triggeredByEvent", false),
                        transaction: c.name == "transaction",
                        children: Vec::new(),
                    })
                }
                "callActivity" => NodeKind::CallActivity {
                    called_element: c
                        .attr("calledElement")
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                },
                "exclusiveGateway" => NodeKind::Gateway(GatewayKind::Exclusive),
                "parallelGateway" => NodeKind::Gateway(GatewayKind::Parallel),
                "inclusiveGateway" => NodeKind::Gateway(GatewayKind::Inclusive),
                "eventBasedGateway" => NodeKind::Gateway(GatewayKind::EventBased),
                "complexGateway" => NodeKind::Gateway(GatewayKind::Complex),
                _ => continue,
            };
            let span = doc.span(c.pos);
            let id = match c.attr("id").map(str::trim).filter(|s| !s.is_empty()) {
                Some(id) => id.to_string(),
                // The schema makes ids optional; give it a stable one from its position.
                None => format!("{}_L{}C{}", c.name, span.line, span.column),
            };
            cx.claim(&id, span)?;
            let nid = self.dep.nodes.len() as NodeId;
            let (properties, property_els) = properties(c);
            let mut node = FlowNode {
                id: id.clone(),
                name: c.attr("name").map(str::to_string),
                kind,
                process: cx.pidx,
                parent: container,
                incoming: Vec::new(),
                outgoing: Vec::new(),
                boundaries: Vec::new(),
                default_flow: None,
                looping: None,
                properties,
                correlation_key: None,
                server_script: None,
                spec: TaskSpec::default(),
                for_compensation: c.flag("isForCompensation", false),
                compensation_handler: None,
                span,
            };
            // receiveTask / sendTask messageRef: exposed as the `message` property, so the
            // executor reads a message name from one place whichever way it was drawn.
            if matches!(
                node.kind,
                NodeKind::Task(TaskKind::Receive | TaskKind::Send)
            ) && node.property("message").is_none()
            {
                if let Some(r) = c
                    .attr("messageRef")
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                {
                    let name = self
                        .dep
                        .messages
                        .get(r)
                        .cloned()
                        .unwrap_or_else(|| r.to_string());
                    node.properties.push(("message".into(), name));
                }
            }
            let timeout_span = property_els
                .iter()
                .find(|(name, _)| *name == "TimeoutMinutes")
                .map_or(span, |(_, el)| doc.span(el.pos));
            node.spec = TaskSpec::resolve(&node, timeout_span);
            for (name, el) in property_els {
                let value = el.attr("value").unwrap_or_default();
                let raw = Raw::Attr(el, "value");
                let sp = doc.span(el.pos);
                match name {
                    "correlationKey" if node.correlation_key.is_none() => {
                        node.correlation_key = self.source(doc, value, raw, sp, true);
                    }
                    "ServerScript" if node.server_script.is_none() => {
                        node.server_script = self.source(doc, value, raw, sp, false);
                    }
                    _ => {}
                }
            }
            node.looping = self.looping(doc, c);
            if let Some(d) = c.attr("default").map(str::trim).filter(|d| !d.is_empty()) {
                cx.defaults.push((nid, d.to_string()));
            }
            cx.ids.insert(id, nid);
            self.dep.nodes.push(node);
            self.dep.processes[cx.pidx as usize].all_nodes.push(nid);
            if c.name == "boundaryEvent" {
                cx.boundaries.push((
                    nid,
                    c.attr("attachedToRef")
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                    c,
                ));
            }
            direct.push(nid);
            if matches!(self.dep.nodes[nid as usize].kind, NodeKind::SubProcess(_)) {
                let inner = self.container(cx, c, Some(nid))?;
                if let NodeKind::SubProcess(sp) = &mut self.dep.nodes[nid as usize].kind {
                    sp.children = inner;
                }
            }
        }
        Ok(direct)
    }

    fn looping(&mut self, doc: &Doc, c: &El) -> Option<Looping> {
        if let Some(m) = c.child("multiInstanceLoopCharacteristics") {
            let cardinality = m
                .child("loopCardinality")
                .and_then(|e| self.content_source(doc, e, true));
            let completion_condition = m
                .child("completionCondition")
                .and_then(|e| self.content_source(doc, e, true));
            // camunda:collection (any prefix), else the standard loopDataInputRef.
            let collection = match m.ext_attr("collection") {
                Some(v) => self.source(doc, v, Raw::Attr(m, "collection"), doc.span(m.pos), true),
                None => m
                    .child("loopDataInputRef")
                    .and_then(|e| self.content_source(doc, e, true)),
            };
            let element_variable = m
                .ext_attr("elementVariable")
                .map(str::to_string)
                .or_else(|| {
                    m.child("inputDataItem")
                        .and_then(|e| e.attr("name").or(e.attr("id")).map(str::to_string))
                })
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            return Some(Looping::Multi(MultiInstance {
                sequential: m.flag("isSequential", false),
                cardinality,
                collection,
                element_variable,
                completion_condition,
            }));
        }
        if let Some(s) = c.child("standardLoopCharacteristics") {
            let condition = s
                .child("loopCondition")
                .and_then(|e| self.content_source(doc, e, true));
            return Some(Looping::Standard {
                condition,
                test_before: s.flag("testBefore", false),
                maximum: s.attr("loopMaximum").and_then(|v| v.trim().parse().ok()),
            });
        }
        None
    }

    fn trigger(&mut self, doc: &Doc, c: &El) -> Trigger {
        let mut defs = c
            .children
            .iter()
            .filter(|x| x.name.ends_with("EventDefinition"));
        let (Some(d), None) = (defs.next(), defs.next()) else {
            // Zero definitions: a none event. Two or more: BPMN's "multiple" event.
            return if c
                .children
                .iter()
                .any(|x| x.name.ends_with("EventDefinition"))
            {
                Trigger::Multiple
            } else {
                Trigger::None
            };
        };
        let reference = |attr: &str| d.attr(attr).map(str::trim).filter(|r| !r.is_empty());
        match d.name.as_str() {
            "messageEventDefinition" => Trigger::Message(reference("messageRef").map(|r| {
                self.dep
                    .messages
                    .get(r)
                    .cloned()
                    .unwrap_or_else(|| r.to_string())
            })),
            "signalEventDefinition" => Trigger::Signal(reference("signalRef").map(|r| {
                self.dep
                    .signals
                    .get(r)
                    .cloned()
                    .unwrap_or_else(|| r.to_string())
            })),
            // Errors and escalations match by code; a declaration without a code (or an
            // undeclared ref) is matched by the ref itself, the same on the throw and catch side.
            "errorEventDefinition" => Trigger::Error(reference("errorRef").map(|r| {
                self.dep
                    .errors
                    .get(r)
                    .and_then(|(code, _)| code.clone())
                    .unwrap_or_else(|| r.to_string())
            })),
            "escalationEventDefinition" => {
                Trigger::Escalation(reference("escalationRef").map(|r| {
                    self.dep
                        .escalations
                        .get(r)
                        .and_then(|(code, _)| code.clone())
                        .unwrap_or_else(|| r.to_string())
                }))
            }
            "timerEventDefinition" => {
                let def = if let Some(e) = d.child("timeDate") {
                    self.content_source(doc, e, true).map(TimerDef::Date)
                } else if let Some(e) = d.child("timeDuration") {
                    self.content_source(doc, e, true).map(TimerDef::Duration)
                } else if let Some(e) = d.child("timeCycle") {
                    self.content_source(doc, e, true).map(TimerDef::Cycle)
                } else {
                    None
                };
                Trigger::Timer(def.unwrap_or(TimerDef::Missing))
            }
            "conditionalEventDefinition" => Trigger::Conditional(
                d.child("condition")
                    .and_then(|e| self.content_source(doc, e, true)),
            ),
            "linkEventDefinition" => {
                Trigger::Link(d.attr("name").unwrap_or_default().trim().to_string())
            }
            "terminateEventDefinition" => Trigger::Terminate,
            "compensateEventDefinition" => Trigger::Compensate {
                activity: reference("activityRef").map(str::to_string),
                wait: d.flag("waitForCompletion", true),
            },
            "cancelEventDefinition" => Trigger::Cancel,
            _ => Trigger::None,
        }
    }
}

fn collect_lanes(el: &El, out: &mut Vec<(String, Vec<String>)>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for c in &el.children {
        if c.name == "laneSet" || c.name == "childLaneSet" {
            collect_lanes(c, out, depth + 1);
        } else if c.name == "lane" {
            let refs = c
                .children
                .iter()
                .filter(|r| r.name == "flowNodeRef")
                .map(|r| r.text.trim().to_string())
                .collect();
            out.push((
                c.attr("name")
                    .or(c.attr("id"))
                    .unwrap_or_default()
                    .to_string(),
                refs,
            ));
            collect_lanes(c, out, depth + 1);
        }
    }
}

/// An extension property's name and its `<X:property>` element.
type PropertyEl<'e> = (&'e str, &'e El);

/// Extension properties from any `X:properties/X:property`, plus the Camunda attributes Baton
/// understands under Baton's names. Also returns the property elements by name, so sources made
/// from them (ServerScript, correlationKey) point at the property rather than the task.
fn properties(c: &El) -> (Vec<(String, String)>, Vec<PropertyEl<'_>>) {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut els: Vec<PropertyEl> = Vec::new();
    if let Some(ext) = c.child("extensionElements") {
        for ps in ext.children.iter().filter(|x| x.name == "properties") {
            for p in ps.children.iter().filter(|x| x.name == "property") {
                if let Some(n) = p.attr("name") {
                    let v = p
                        .attr("value")
                        .map(str::to_string)
                        .unwrap_or_else(|| p.text.trim().to_string());
                    out.push((n.to_string(), v));
                    els.push((n, p));
                }
            }
        }
    }
    // Explicit properties win over the vendor attributes that mean the same thing.
    let map = [
        ("formKey", "FormKey"),
        ("assignee", "ResponsibleUser"),
        ("candidateGroups", "ResponsibleTeam"),
        ("candidateUsers", "CandidateUsers"),
        ("resultVariable", "resultVariable"),
    ];
    for (attr, prop) in map {
        if let Some(v) = c.ext_attr(attr) {
            if !out.iter().any(|(k, _)| k == prop) {
                out.push((prop.to_string(), v.to_string()));
            }
        }
    }
    // A Java/expression implementation cannot run in Baton; recorded so validation can say so.
    if matches!(
        c.name.as_str(),
        "serviceTask" | "sendTask" | "businessRuleTask"
    ) {
        for attr in [
            "class",
            "expression",
            "delegateExpression",
            "type",
            "topic",
            "decisionRef",
        ] {
            if let Some(v) = c.ext_attr(attr) {
                out.push(("camunda:implementation".into(), format!("{attr}={v}")));
                break;
            }
        }
    }
    (out, els)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapper_is_removed_only_around_the_whole_text() {
        assert_eq!(strip_wrapper(" ${ a > 1 } ", true), "a > 1");
        assert_eq!(strip_wrapper("#{a}", true), "a");
        assert_eq!(strip_wrapper("#{a: 1}", false), "#{a: 1}");
        assert_eq!(strip_wrapper("${a} + {b}", true), "${a} + {b}");
        assert_eq!(strip_wrapper("${a} && ${b}", true), "${a} && ${b}");
        assert_eq!(strip_wrapper("${x == '}'}", true), "x == '}'");
        assert_eq!(strip_wrapper("${m[\"k\"]}", true), "m[\"k\"]");
        assert_eq!(strip_wrapper("${", true), "${");
        assert_eq!(strip_wrapper("   ", true), "");
    }

    #[test]
    fn line_starts_follow_entities_cdata_and_crlf() {
        let file = "<s><![CDATA[a\r\nb]]>&lt;\nc</s>";
        let full = "a\nb<\nc";
        let pos = line_starts_in_file(file, 3, full, full);
        assert_eq!(pos, vec![12, 15, 24]);
        let file = "<p value=\"x&#10;y\"/>";
        let full = "x\ny";
        assert_eq!(line_starts_in_file(file, 10, full, full), vec![10, 16]);
    }

    #[test]
    fn attribute_value_is_found_in_the_raw_tag() {
        let text = "<x:property name=\"value\"\n   value = 'v'/>";
        let el = El {
            pos: 0,
            content_pos: text.len(),
            ..Default::default()
        };
        assert_eq!(
            attr_value_pos(text, &el, "value"),
            Some(
                text.find('v')
                    .map(|_| text.rfind("'v").unwrap() + 1)
                    .unwrap()
            )
        );
    }
}
