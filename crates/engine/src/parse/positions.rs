//! Where things are in the source file: the per-file `Doc` with its line index (byte position
//! to line and column), the start of each line of a script or expression inside the raw markup,
//! attribute value positions in a start tag, and the `${...}` / `#{...}` wrapper around
//! expressions.

use super::xml::{predefined_entity, El};
use super::ParseError;
use crate::model::Span;

pub(super) struct Doc<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
    pub(super) lines: LineIndex,
}

impl Doc<'_> {
    pub(super) fn span(&self, pos: usize) -> Span {
        self.lines.span(self.text, pos)
    }
    pub(super) fn error(&self, pos: usize, message: String) -> ParseError {
        self.error_at(self.span(pos), message)
    }
    pub(super) fn error_at(&self, sp: Span, message: String) -> ParseError {
        ParseError {
            file: self.file.to_string(),
            line: sp.line,
            column: sp.column,
            message,
        }
    }
}

/// Byte offsets of line starts, so a byte position becomes a line by binary search.
pub(super) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(super) fn new(text: &str) -> Self {
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

/// Byte positions in `file` where each line of `sub` begins. `full` is the unescaped text that
/// the reader produced from the raw markup starting at `raw_start`, and `sub` is a slice of
/// `full`. The raw text is walked in step with `full`: an entity counts as the one character it
/// stands for, CDATA markers and comments count as nothing, `\r\n` as the `\n` it became. If the
/// two ever disagree the positions become approximate, never out of bounds.
pub(super) fn line_starts_in_file(
    file: &str,
    raw_start: usize,
    full: &str,
    sub: &str,
) -> Vec<usize> {
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
pub(super) fn attr_value_pos(text: &str, el: &El, local: &str) -> Option<usize> {
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
pub(super) fn strip_wrapper(text: &str, expression: bool) -> &str {
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
pub(super) fn closing_brace(t: &str, open: usize) -> Option<usize> {
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
