//! The UI's TypeScript types are generated from the command structs (crates/runtime/src/commands.rs)
//! and committed as ui/src/generated/commands.ts. This test fails when the committed file is
//! stale; `BATON_UPDATE_TYPES=1 cargo test -p baton-runtime --test ts_types` rewrites it.

use baton_runtime::commands::{typescript, TYPED_COMMANDS, TYPESCRIPT_PATH};
use std::path::PathBuf;

fn generated_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(TYPESCRIPT_PATH)
}

#[test]
fn the_generated_typescript_is_current() {
    let path = generated_file();
    let fresh = typescript();
    if std::env::var("BATON_UPDATE_TYPES").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale: the command types in crates/runtime/src/commands.rs changed.\n\
         Regenerate it with:\n\n    BATON_UPDATE_TYPES=1 cargo test -p baton-runtime --test ts_types\n\n\
         and commit the result.",
        TYPESCRIPT_PATH
    );
}

#[test]
fn the_typescript_declares_every_type_it_uses() {
    let text = typescript();
    assert!(text.starts_with("// Generated"), "header first");
    assert!(text.contains("do not edit"));
    // Every exported name is declared once.
    let mut declared = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line
            .strip_prefix("export type ")
            .or_else(|| line.strip_prefix("export interface "))
        {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            assert!(!declared.contains(&name), "{name} is declared twice");
            declared.push(name);
        }
    }
    for needed in [
        "Envelope",
        "FieldError",
        "Problem",
        "InstanceChange",
        "CommandName",
        "Commands",
        "ValidateProcessDefinitionInput",
        "ValidateProcessDefinitionOutput",
    ] {
        assert!(
            declared.iter().any(|d| d == needed),
            "{needed} is not exported"
        );
    }
    // Every capitalised identifier used in a type position is declared (or a TS built-in).
    let builtins = ["Array", "Record", "Partial"];
    let mut word = String::new();
    let mut in_string = false;
    let code: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            !l.starts_with("//") && !l.starts_with("/**") && !l.starts_with('*')
        })
        .collect();
    for c in code
        .iter()
        .flat_map(|l| l.chars().chain(std::iter::once('\n')))
    {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        // (a word followed by `:` or `?:` is a field name: CallbackRegistry's are PascalCase)
        if !in_string
            && c != ':'
            && c != '?'
            && word.chars().next().is_some_and(|f| f.is_ascii_uppercase())
            && word.chars().any(|c| c.is_ascii_lowercase())
            && word.len() > 1
        {
            assert!(
                declared.contains(&word) || builtins.contains(&word.as_str()),
                "{word} is used but not declared"
            );
        }
        word.clear();
        if c == '"' {
            in_string = !in_string;
        }
    }
    for name in TYPED_COMMANDS {
        assert!(
            text.contains(&format!("\"{name}\": {{ input: ")),
            "{name} is missing from Commands"
        );
    }
}
