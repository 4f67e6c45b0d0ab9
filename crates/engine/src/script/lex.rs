//! A small lexical pass over script text, run once per script at deployment time.
//!
//! It does two jobs in one walk so that strings and comments are recognised the same way for both:
//!
//! 1. Translate the JUEL spellings that Camunda expressions use (`and`, `eq`, `'text'`, `null`, ...)
//!    into rhai. Replacements are padded with spaces to keep the text's length, so the line and
//!    column rhai reports still point into what the modeller wrote.
//! 2. List the free identifiers the script may read, with a hint whether it may change them. The
//!    host pushes only those variables into the rhai `Scope` (looking up every instance variable for
//!    every script would dominate the cost of a one-line script) and compares only the ones that may
//!    have changed. Over-approximating is harmless (a wasted lookup); missing one is not, so when in
//!    doubt a name is listed and marked as possibly changed.

/// An identifier the script names that is not declared by the script itself right there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FreeIdent {
    pub name: String,
    /// Assigned directly (`x = ..`, `x += ..`): the host pushes `()` when no such variable exists
    /// so that, as in Camunda's JavaScript, a plain assignment creates the variable.
    pub assigned: bool,
    /// May be changed in place: assigned, or used with `.`/`[..]` followed by an assignment or a
    /// method call (`list.push(x)`, `order.total = 3`).
    pub mutated: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Scanned {
    /// The text rhai compiles.
    pub text: String,
    pub free: Vec<FreeIdent>,
}

/// Words that are rhai syntax (or handled by the host), never instance variables.
const KEYWORDS: &[&str] = &[
    "let",
    "const",
    "if",
    "else",
    "switch",
    "do",
    "while",
    "until",
    "loop",
    "for",
    "in",
    "break",
    "continue",
    "return",
    "throw",
    "try",
    "catch",
    "fn",
    "private",
    "import",
    "export",
    "as",
    "true",
    "false",
    "this",
    "global",
    "Fn",
    "call",
    "curry",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "type_of",
    "print",
    "debug",
    "eval",
    "is",
    "static",
    "shared",
    "var",
    "with",
    "module",
    "package",
    "super",
    "thread",
    "spawn",
    "go",
    "sync",
    "async",
    "await",
    "yield",
    "use",
    "new",
    "default",
    "void",
    "null",
    "match",
    "case",
    "public",
    "protected",
    "goto",
    "exit",
];

/// JUEL word operators and their rhai spelling, each padded to the word's length.
fn juel_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "and" => "&& ",
        "or" => "||",
        "not" => "!  ",
        "eq" => "==",
        "ne" => "!=",
        "lt" => "< ",
        "gt" => "> ",
        "le" => "<=",
        "ge" => ">=",
        "div" => "/  ",
        "mod" => "%  ",
        "null" => "()  ",
        _ => return None,
    })
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Removes a `${ ... }` wrapper around the whole text (the parser normally does it already),
/// replacing it with spaces so positions stay put. `#{` is left alone: in rhai it opens a map.
pub(crate) fn strip_wrapper(text: &str) -> String {
    let trimmed = text.trim();
    if !(trimmed.starts_with("${") && trimmed.ends_with('}')) {
        return text.to_string();
    }
    // The wrapper's closing brace must be the last character: `${a} + ${b}` is not wrapped.
    let inner = &trimmed[2..];
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' => depth += 1,
            '}' if depth == 0 && i + 1 != inner.len() => return text.to_string(),
            '}' if depth == 0 => {}
            '}' => depth -= 1,
            _ => {}
        }
    }
    let start = text.len() - text.trim_start().len();
    let end = start + trimmed.len();
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.push_str("  ");
    out.push_str(&text[start + 2..end - 1]);
    out.push(' ');
    out.push_str(&text[end..]);
    out
}

fn skip_ws(chars: &[char], mut j: usize) -> usize {
    while j < chars.len() && chars[j].is_whitespace() {
        j += 1;
    }
    j
}

/// Is there an assignment operator at `j`? (`=`, `+=`, `**=`, `??=`, ... but not `==`, `=>`,
/// `<=`, `>=`, `!=`.)
fn assignment_at(chars: &[char], j: usize) -> bool {
    let at = |k: usize| chars.get(j + k).copied().unwrap_or('\0');
    match at(0) {
        '=' => at(1) != '=' && at(1) != '>',
        '+' | '-' | '/' | '%' | '&' | '|' | '^' => at(1) == '=',
        '*' => at(1) == '=' || (at(1) == '*' && at(2) == '='),
        '<' => at(1) == '<' && at(2) == '=',
        '>' => at(1) == '>' && at(2) == '=',
        '?' => at(1) == '?' && at(2) == '=',
        _ => false,
    }
}

#[derive(Default)]
struct After {
    call: bool,
    map_key: bool,
    assigned: bool,
    mutated: bool,
}

/// Looks at what follows an identifier ending just before `j`.
fn classify_after(chars: &[char], j: usize) -> After {
    let mut a = After::default();
    let mut j = skip_ws(chars, j);
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
    match at(j) {
        '(' => {
            a.call = true;
            return a;
        }
        ':' if at(j + 1) != ':' => {
            a.map_key = true;
            return a;
        }
        _ => {}
    }
    if assignment_at(chars, j) {
        a.assigned = true;
        a.mutated = true;
        return a;
    }
    // A postfix chain: `.name`, `?.name`, `[..]`, repeated.
    let mut chained = false;
    loop {
        let dot = if at(j) == '.' && at(j + 1) != '.' {
            1
        } else if at(j) == '?' && at(j + 1) == '.' {
            2
        } else {
            0
        };
        if dot > 0 {
            j = skip_ws(chars, j + dot);
            while j < chars.len() && is_ident_char(chars[j]) {
                j += 1;
            }
            j = skip_ws(chars, j);
            if at(j) == '(' {
                // A method call may change its receiver (`push`, `remove`, a script `fn` on `this`).
                a.mutated = true;
                return a;
            }
            chained = true;
            continue;
        }
        if at(j) == '[' {
            let mut depth = 0usize;
            while j < chars.len() {
                match chars[j] {
                    '[' => depth += 1,
                    ']' => {
                        depth -= 1;
                        if depth == 0 {
                            j += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            j = skip_ws(chars, j);
            chained = true;
            continue;
        }
        break;
    }
    if chained && assignment_at(chars, j) {
        a.mutated = true;
    }
    a
}

enum Mode {
    Code,
    Backtick,
}

/// Translates JUEL spellings and lists free identifiers (see the module comment).
pub(crate) fn scan(source: &str) -> Scanned {
    let chars: Vec<char> = strip_wrapper(source).chars().collect();
    let n = chars.len();
    let mut out = String::with_capacity(n + 8);
    let mut free: Vec<FreeIdent> = Vec::new();
    let mut mode = Mode::Code;
    // Brace depth inside each open `${ .. }` of a backtick string.
    let mut interp: Vec<usize> = Vec::new();
    // Last significant token: a character, or the word that ended there.
    let mut prev_char: char = '\0';
    let mut prev_prev_char: char = '\0';
    let mut prev_word: Option<String> = None;
    let mut i = 0;
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');

    while i < n {
        let c = chars[i];
        if let Mode::Backtick = mode {
            if c == '`' {
                mode = Mode::Code;
                prev_char = '`';
                prev_word = None;
            } else if c == '$' && at(i + 1) == '{' {
                out.push('$');
                i += 1;
                interp.push(0);
                mode = Mode::Code;
                prev_char = '{';
                prev_word = None;
                out.push('{');
                i += 1;
                continue;
            }
            out.push(c);
            i += 1;
            continue;
        }
        // Code.
        if c.is_whitespace() {
            out.push(c);
            i += 1;
            continue;
        }
        if c == '/' && at(i + 1) == '/' {
            while i < n && chars[i] != '\n' {
                out.push(chars[i]);
                i += 1;
            }
            continue;
        }
        if c == '/' && at(i + 1) == '*' {
            // rhai block comments nest.
            let mut depth = 0usize;
            while i < n {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    out.push_str("/*");
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    out.push_str("*/");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            continue;
        }
        if c == '"' {
            out.push(c);
            i += 1;
            while i < n {
                let d = chars[i];
                out.push(d);
                i += 1;
                if d == '\\' && i < n {
                    out.push(chars[i]);
                    i += 1;
                } else if d == '"' {
                    break;
                }
            }
            prev_prev_char = prev_char;
            prev_char = '"';
            prev_word = None;
            continue;
        }
        if c == '\'' {
            // JUEL strings are single-quoted; in rhai `'x'` is a char, which never equals the
            // string "x". Always make it a double-quoted string.
            out.push('"');
            i += 1;
            while i < n {
                let d = chars[i];
                i += 1;
                if d == '\\' && i < n {
                    let e = chars[i];
                    i += 1;
                    if e == '\'' {
                        out.push('\'');
                    } else {
                        out.push('\\');
                        out.push(e);
                    }
                } else if d == '\'' {
                    break;
                } else if d == '"' {
                    out.push_str("\\\"");
                } else {
                    out.push(d);
                }
            }
            out.push('"');
            prev_prev_char = prev_char;
            prev_char = '"';
            prev_word = None;
            continue;
        }
        if c == '`' {
            out.push(c);
            i += 1;
            mode = Mode::Backtick;
            continue;
        }
        if c.is_ascii_digit() {
            // A number, including `1_000`, `0x1F`, `1e6` and `1.5` (but not the range `1..5`).
            while i < n
                && (is_ident_char(chars[i])
                    || (chars[i] == '.' && at(i + 1).is_ascii_digit() && at(i - 1) != '.'))
            {
                out.push(chars[i]);
                i += 1;
            }
            prev_prev_char = prev_char;
            prev_char = '0';
            prev_word = None;
            continue;
        }
        if is_ident_start(c) {
            let start = i;
            while i < n && is_ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // JavaScript habit from the seed documents: `throw new Error("msg")` means
            // `throw "msg"` here. Blank out `new Error` (same width, so positions stay right).
            if word == "new" && prev_word.as_deref() == Some("throw") {
                let j = skip_ws(&chars, i);
                let mut k = j;
                while k < n && is_ident_char(chars[k]) {
                    k += 1;
                }
                let next: String = chars[j..k].iter().collect();
                if next.ends_with("Error") && at(skip_ws(&chars, k)) == '(' {
                    for _ in start..k {
                        out.push(' ');
                    }
                    i = k;
                    prev_word = None;
                    prev_char = ' ';
                    continue;
                }
            }
            let after_dot = prev_char == '.' && prev_prev_char != '.' && prev_word.is_none();
            let is_path = prev_char == ':' && prev_prev_char == ':' && prev_word.is_none();
            let declared = matches!(prev_word.as_deref(), Some("let" | "const" | "for" | "fn"));
            let after = classify_after(&chars, i);
            let mut emitted = false;
            if !after_dot && !is_path && !declared && !after.map_key && !after.assigned {
                if let Some(rep) = juel_word(&word) {
                    if !after.call || word == "not" {
                        out.push_str(rep);
                        emitted = true;
                    }
                }
            }
            if !emitted {
                out.push_str(&word);
                let is_free = !after_dot
                    && !is_path
                    && !declared
                    && !after.call
                    && !after.map_key
                    && !KEYWORDS.contains(&word.as_str())
                    && juel_word(&word).is_none();
                if is_free {
                    match free.iter_mut().find(|f| f.name == word) {
                        Some(f) => {
                            f.assigned |= after.assigned;
                            f.mutated |= after.mutated;
                        }
                        None => free.push(FreeIdent {
                            name: word.clone(),
                            assigned: after.assigned,
                            mutated: after.mutated,
                        }),
                    }
                }
            }
            prev_prev_char = prev_char;
            prev_char = 'a';
            prev_word = if emitted { None } else { Some(word) };
            continue;
        }
        // Punctuation. JavaScript's strict (in)equality reads as rhai's `==` / `!=`.
        if (c == '=' || c == '!') && at(i + 1) == '=' && at(i + 2) == '=' {
            out.push(c);
            out.push_str("= ");
            prev_prev_char = '=';
            prev_char = '=';
            prev_word = None;
            i += 3;
            continue;
        }
        if !interp.is_empty() {
            if c == '{' {
                if let Some(d) = interp.last_mut() {
                    *d += 1;
                }
            } else if c == '}' {
                if interp.last() == Some(&0) {
                    interp.pop();
                    out.push(c);
                    i += 1;
                    mode = Mode::Backtick;
                    continue;
                } else if let Some(d) = interp.last_mut() {
                    *d -= 1;
                }
            }
        }
        out.push(c);
        // Track the character right before this one too, to tell `.x` from `..x` and `::x`.
        prev_prev_char = if i > 0 { chars[i - 1] } else { '\0' };
        prev_char = c;
        prev_word = None;
        i += 1;
    }
    Scanned { text: out, free }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Scanned) -> Vec<&str> {
        s.free.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn juel_words_and_quotes() {
        let s = scan("${status eq 'ok' and amount gt 10}");
        assert_eq!(s.text, "  status == \"ok\" &&  amount >  10 ");
        assert_eq!(names(&s), ["status", "amount"]);
    }

    #[test]
    fn strings_comments_and_properties_are_not_free() {
        let s = scan(
            "let x = order.total; // and y\n/* or z */ \"and\" + x + a..b + global::C + #{ k: v }",
        );
        assert_eq!(
            s.text,
            "let x = order.total; // and y\n/* or z */ \"and\" + x + a..b + global::C + #{ k: v }"
        );
        assert_eq!(names(&s), ["order", "x", "a", "b", "v"]);
        assert!(!s.free[0].mutated);
    }

    #[test]
    fn mutation_hints() {
        let s =
            scan("counter = counter + 1; seen.push(1); o.a[1].b = 2; total += 1; r = x.y; f(q)");
        let get = |n: &str| s.free.iter().find(|f| f.name == n).cloned().unwrap();
        assert!(get("counter").assigned && get("counter").mutated);
        assert!(get("seen").mutated && !get("seen").assigned);
        assert!(get("o").mutated);
        assert!(get("total").assigned);
        assert!(!get("x").mutated);
        assert!(!get("q").mutated);
        assert!(!names(&s).contains(&"f"));
    }

    #[test]
    fn backtick_interpolation() {
        let s = scan("`total ${total} and {x}`");
        assert_eq!(s.text, "`total ${total} and {x}`");
        assert_eq!(names(&s), ["total"]);
    }

    #[test]
    fn javascript_habits_from_the_seeds() {
        let s = scan("if (x === 'a' && y !== 2) { throw new Error('Decision is required'); }");
        assert_eq!(
            s.text,
            "if (x ==  \"a\" && y !=  2) { throw          (\"Decision is required\"); }"
        );
        assert_eq!(scan("let e = new Error(1);").text, "let e = new Error(1);");
    }

    #[test]
    fn wrapper() {
        assert_eq!(strip_wrapper("${a}"), "  a ");
        assert_eq!(strip_wrapper("${a} + ${b}"), "${a} + ${b}");
        assert_eq!(strip_wrapper("#{a: 1}"), "#{a: 1}");
    }
}
