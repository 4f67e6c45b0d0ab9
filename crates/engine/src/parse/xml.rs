//! The XML reader: quick-xml events of one file gathered into a small element tree (local
//! names, attributes, unescaped text, byte positions), with nesting limited to `MAX_DEPTH`.

use super::positions::Doc;
use super::{ParseError, MAX_DEPTH};

#[derive(Debug, Default)]
pub(super) struct El {
    /// Local name (prefix removed).
    pub(super) name: String,
    /// (qualified name, local name, unescaped value)
    pub(super) attrs: Vec<(String, String, String)>,
    pub(super) children: Vec<El>,
    /// Text and CDATA directly inside, unescaped, line ends normalised.
    pub(super) text: String,
    /// Byte position of the start tag's `<`.
    pub(super) pos: usize,
    /// Byte position just after the start tag's `>` (where the text content begins).
    pub(super) content_pos: usize,
}

impl El {
    pub(super) fn attr(&self, local: &str) -> Option<&str> {
        // Unprefixed attributes first (BPMN's own), then any prefixed one.
        self.attrs
            .iter()
            .find(|(q, l, _)| l == local && !q.contains(':'))
            .or_else(|| self.attrs.iter().find(|(_, l, _)| l == local))
            .map(|(_, _, v)| v.as_str())
    }
    /// A vendor extension attribute by local name, e.g. `camunda:formKey`. XML's own prefixes
    /// (`xsi:type`, `xmlns:x`) are not extensions.
    pub(super) fn ext_attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(q, l, _)| {
                l == local
                    && q.split_once(':')
                        .is_some_and(|(prefix, _)| !matches!(prefix, "xsi" | "xmlns" | "xml"))
            })
            .map(|(_, _, v)| v.as_str())
    }
    pub(super) fn child(&self, local: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == local)
    }
    /// A boolean attribute; anything but a literal `true`/`false` keeps the BPMN default.
    pub(super) fn flag(&self, local: &str, default: bool) -> bool {
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

pub(super) fn read_tree(doc: &Doc) -> Result<El, ParseError> {
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

pub(super) fn predefined_entity(name: &[u8]) -> Option<char> {
    match name {
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"amp" => Some('&'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        _ => None,
    }
}
