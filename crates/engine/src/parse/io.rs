//! `camunda:inputOutput` (any prefix) under an element's `extensionElements`: its input and
//! output parameters, each a text (a constant, one `${...}` expression or words with
//! expressions in them), a `list`, a `map` or an inline `script`, nested as deep as written.

use super::positions::{closing_brace, Doc};
use super::process::{Builder, Raw};
use super::xml::El;
use crate::model::*;

/// How deep lists and maps may nest inside one parameter (the XML itself is bounded too).
const MAX_NESTING: u32 = 32;

impl Builder {
    /// The mapping of element `c`, if it has one.
    pub(super) fn io_mapping(&mut self, doc: &Doc, c: &El) -> Option<IoMapping> {
        let io = c.child("extensionElements")?.child("inputOutput")?;
        let mut mapping = IoMapping::default();
        for p in &io.children {
            let input = match p.name.as_str() {
                "inputParameter" => true,
                "outputParameter" => false,
                _ => continue,
            };
            let param = IoParam {
                name: p.attr("name").unwrap_or_default().trim().to_string(),
                value: self.io_value(doc, p, 0),
                span: doc.span(p.pos),
            };
            if input {
                mapping.inputs.push(param);
            } else {
                mapping.outputs.push(param);
            }
        }
        Some(mapping)
    }

    /// The value held by a parameter, a list's `value` or a map's `entry`: a nested `list`,
    /// `map` or `script`, else its text.
    fn io_value(&mut self, doc: &Doc, el: &El, depth: u32) -> IoValue {
        match el.children.iter().find(|x| is_item(x)) {
            Some(x) => self.io_item(doc, x, depth),
            None => self.io_text(doc, el),
        }
    }

    /// A `value`, `list`, `map` or `script` element.
    fn io_item(&mut self, doc: &Doc, x: &El, depth: u32) -> IoValue {
        if depth >= MAX_NESTING {
            return IoValue::Null;
        }
        match x.name.as_str() {
            "list" => IoValue::List(
                x.children
                    .iter()
                    .filter(|v| v.name == "value" || is_item(v))
                    .map(|v| self.io_item(doc, v, depth + 1))
                    .collect(),
            ),
            "map" => IoValue::Map(
                x.children
                    .iter()
                    .filter(|e| e.name == "entry")
                    .map(|e| {
                        let key = e.attr("key").unwrap_or_default();
                        let key = self.io_key(doc, e, key);
                        (key, self.io_value(doc, e, depth + 1))
                    })
                    .collect(),
            ),
            "script" => match x.attr("resource") {
                Some(r) => IoValue::Resource(r.to_string()),
                None => {
                    let script = self.content_source(doc, x, false);
                    self.mark_language(&script, Language::from_marker(x.attr("scriptFormat")));
                    script.map_or(IoValue::Null, IoValue::Script)
                }
            },
            _ => self.io_value(doc, x, depth + 1),
        }
    }

    /// A map entry's key: a constant, or an expression read when the map is.
    fn io_key(&mut self, doc: &Doc, e: &El, key: &str) -> IoValue {
        match split_template(key.trim()).as_slice() {
            [Piece::Expr(x)] => self
                .source(doc, x, Raw::Attr(e, "key"), doc.span(e.pos), true)
                .map_or(IoValue::Null, IoValue::Expr),
            _ => IoValue::Text(key.to_string()),
        }
    }

    /// A parameter's text: a constant, one expression, or words with expressions in them.
    fn io_text(&mut self, doc: &Doc, el: &El) -> IoValue {
        let text = el.text.trim();
        if text.is_empty() {
            return IoValue::Null;
        }
        let parts = split_template(text);
        match parts.as_slice() {
            [] => IoValue::Null,
            [Piece::Text(t)] => IoValue::Text(t.to_string()),
            [Piece::Expr(_)] => self
                .content_source(doc, el, true)
                .map_or(IoValue::Null, IoValue::Expr),
            _ => {
                let span = doc.span(el.pos);
                let mut out = Vec::new();
                for p in parts {
                    match p {
                        Piece::Text(t) => out.push(TemplatePart::Text(t.to_string())),
                        Piece::Expr(e) => {
                            if let Some(s) = self.source(doc, e, Raw::Content(el), span, true) {
                                out.push(TemplatePart::Expr(s));
                            }
                        }
                    }
                }
                IoValue::Template(out)
            }
        }
    }
}

/// A `list`, `map` or `script` element (any prefix).
fn is_item(x: &El) -> bool {
    matches!(x.name.as_str(), "list" | "map" | "script")
}

enum Piece<'t> {
    Text(&'t str),
    /// The expression inside `${` and `}`.
    Expr(&'t str),
}

/// Splits `words ${expr} words` into its pieces. A `${` without its closing `}` is text.
fn split_template(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    // The first opener, whichever it is.
    while let Some(open) = [rest.find("${"), rest.find("#{")]
        .into_iter()
        .flatten()
        .min()
    {
        let Some(close) = closing_brace(rest, open + 1) else {
            break;
        };
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        out.push(Piece::Expr(&rest[open + 2..close]));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<String> {
        split_template(text)
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => format!("t:{t}"),
                Piece::Expr(e) => format!("e:{e}"),
            })
            .collect()
    }

    #[test]
    fn templates_split_into_words_and_expressions() {
        assert_eq!(shape("${var}oque"), ["e:var", "t:oque"]);
        assert_eq!(
            shape("Dear ${name}, you owe ${a + b}."),
            ["t:Dear ", "e:name", "t:, you owe ", "e:a + b", "t:."]
        );
        assert_eq!(shape("${m[\"}\"]}"), ["e:m[\"}\"]"]);
        assert_eq!(shape("${#{a: 1}.a}"), ["e:#{a: 1}.a"]);
        assert_eq!(shape("no ${ end"), ["t:no ${ end"]);
        assert_eq!(shape("plain"), ["t:plain"]);
        // The first opener counts, whichever kind it is.
        assert_eq!(shape("#{a} and ${b}"), ["e:a", "t: and ", "e:b"]);
    }
}
