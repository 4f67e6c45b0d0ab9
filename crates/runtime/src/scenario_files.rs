//! Which scenario files on disk go with which diagram: the one rule `baton test` and the
//! desktop app's Check scenarios share (docs/scenarios.md).
//!
//! A scenario names its models in `model`, relative to its own folder. Without `model`,
//! `X.scenario.json` and `X.NAME.scenario.json` run against `X.bpmn` in the same folder, the
//! longest stem first: `a.b.v.scenario.json` finds `a.b.bpmn` before `a.bpmn`.

use baton_engine::sim::Scenario;
use std::path::{Path, PathBuf};

/// What a scenario file name ends with.
pub const SUFFIX: &str = ".scenario.json";

/// The largest scenario file read for a diagram (a recorded run is a few KiB).
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The models the scenario at `path` runs against: its `model` entries, or the `.bpmn` of the
/// longest stem that exists beside it.
pub fn models_of(path: &Path, sc: &Scenario) -> Result<Vec<PathBuf>, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !sc.model.is_empty() {
        return Ok(sc.model.iter().map(|m| dir.join(m)).collect());
    }
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = file.strip_suffix(SUFFIX).unwrap_or(&file);
    let found = stems(stem)
        .map(|c| dir.join(format!("{c}.bpmn")))
        .find(|p| p.is_file());
    found.map(|p| vec![p]).ok_or_else(|| {
        format!("no model: add \"model\": \"file.bpmn\" or put {stem}.bpmn beside it")
    })
}

/// `a.b.v`, then `a.b`, then `a`.
fn stems(stem: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(stem), |s| s.rsplit_once('.').map(|(base, _)| base))
}

/// A scenario file that goes with a diagram: its file name, and its text or why it cannot be
/// read (too large, not UTF-8, not a scenario).
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
pub struct Beside {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The scenario files in the diagram's folder that run against it, by name. A file that cannot
/// be read as a scenario is listed with its error when its name says it belongs to the
/// diagram, so the user hears of it instead of missing it.
pub fn beside(diagram: &Path) -> Result<Vec<Beside>, String> {
    let shown = diagram.display();
    let target = diagram
        .canonicalize()
        .map_err(|e| format!("{shown}: {e}"))?;
    let dir = target
        .parent()
        .ok_or_else(|| format!("{shown} has no folder"))?;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(SUFFIX) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let same = |models: &[PathBuf]| {
            models
                .iter()
                .any(|m| m.canonicalize().is_ok_and(|m| m == target))
        };
        match read(&path) {
            Ok((text, sc)) => {
                if models_of(&path, &sc).is_ok_and(|m| same(&m)) {
                    out.push(Beside {
                        name,
                        text: Some(text),
                        error: None,
                    });
                }
            }
            Err(error) => {
                if models_of(&path, &Scenario::default()).is_ok_and(|m| same(&m)) {
                    out.push(Beside {
                        name,
                        text: None,
                        error: Some(error),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn read(path: &Path) -> Result<(String, Scenario), String> {
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > MAX_BYTES {
        return Err(format!(
            "{size} bytes, more than the {MAX_BYTES} read for a scenario"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let sc = Scenario::from_json_text(&text)?;
    Ok((text, sc))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &str = r#"{"steps": []}"#;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn names(found: &[Beside]) -> Vec<&str> {
        found.iter().map(|b| b.name.as_str()).collect()
    }

    #[test]
    fn a_diagram_gets_the_scenarios_of_its_stem_and_those_that_name_it() {
        let dir = folder(&[
            ("Order.bpmn", "<x/>"),
            ("Order.b.bpmn", "<x/>"),
            ("Other.bpmn", "<x/>"),
            ("Order.scenario.json", STEPS),
            ("Order.happy.scenario.json", STEPS),
            // The longest stem wins: this one is Order.b.bpmn's.
            ("Order.b.late.scenario.json", STEPS),
            ("Other.fast.scenario.json", STEPS),
            (
                "shared.scenario.json",
                r#"{"model": "Order.bpmn", "steps": []}"#,
            ),
            ("Order.notes.json", "{}"),
        ]);
        let found = beside(&dir.path().join("Order.bpmn")).unwrap();
        assert_eq!(
            names(&found),
            [
                "Order.happy.scenario.json",
                "Order.scenario.json",
                "shared.scenario.json"
            ]
        );
        assert_eq!(found[0].text.as_deref(), Some(STEPS));
        assert_eq!(
            names(&beside(&dir.path().join("Order.b.bpmn")).unwrap()),
            ["Order.b.late.scenario.json"]
        );
    }

    #[test]
    fn a_file_that_is_not_a_scenario_is_listed_with_why() {
        let big = format!(
            r#"{{"steps": [], "pad": "{}"}}"#,
            "x".repeat(MAX_BYTES as usize)
        );
        let dir = folder(&[
            ("Order.bpmn", "<x/>"),
            ("Order.broken.scenario.json", "{\"steps\": ["),
            ("Order.big.scenario.json", &big),
            // Broken and named for another diagram: not this one's business.
            ("Other.broken.scenario.json", "{"),
        ]);
        let found = beside(&dir.path().join("Order.bpmn")).unwrap();
        assert_eq!(
            names(&found),
            ["Order.big.scenario.json", "Order.broken.scenario.json"]
        );
        assert!(found.iter().all(|b| b.text.is_none()));
        assert!(found[0]
            .error
            .as_deref()
            .unwrap()
            .contains("more than the 1048576"));
        assert!(
            found[1].error.as_deref().unwrap().contains("line 1"),
            "{found:?}"
        );
    }

    #[test]
    fn a_diagram_that_does_not_exist_is_an_error_naming_it() {
        let dir = folder(&[]);
        let err = beside(&dir.path().join("Gone.bpmn")).unwrap_err();
        assert!(err.contains("Gone.bpmn"), "{err}");
    }

    #[test]
    fn stems_go_from_the_longest_to_the_shortest() {
        assert_eq!(stems("a.b.v").collect::<Vec<_>>(), ["a.b.v", "a.b", "a"]);
        assert_eq!(stems("a").collect::<Vec<_>>(), ["a"]);
    }
}
